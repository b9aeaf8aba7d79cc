"""Generative adversarial networks: generators, discriminators, losses, one training loop.

A generator G maps noise z to a sample; a discriminator D scores samples as real or
fake. They are trained against each other ("Generative Adversarial Nets",
Goodfellow et al., 2014). This module holds:

    MLPGenerator / MLPDiscriminator   for 2-D toy data (optionally conditional, packed,
                                      spectrally normalised)
    DCGenerator / DCDiscriminator     small convolutional nets for 8x8 digits
                                      ("Unsupervised Representation Learning with Deep
                                      Convolutional GANs", Radford et al., 2015)
    discriminator_loss / generator_loss   minimax, non-saturating, Wasserstein, hinge
    gradient_penalty                  WGAN-GP ("Improved Training of Wasserstein GANs",
                                      Gulrajani et al., 2017)
    train_gan                         alternating updates, Adam, cosine learning-rate decay

Packing ("PacGAN", Lin et al., 2018): the discriminator sees ``pack`` samples at once
(concatenated), so a generator that repeats itself is easy to spot. Spectral
normalisation ("Spectral Normalization for GANs", Miyato et al., 2018) caps each
layer's Lipschitz constant. The conditional discriminator uses a projection
("cGANs with Projection Discriminator", Miyato and Koyama, 2018).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gencourse.train import History, fit

LOSSES = ("minimax", "non_saturating", "wasserstein", "hinge")


def _sn(layer: nn.Module, enabled: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if enabled else layer


# --------------------------------------------------------------------------- MLPs (2-D data)
@dataclass(frozen=True)
class MLPGANConfig:
    data_dim: int = 2
    latent_dim: int = 2
    hidden_dim: int = 128
    n_hidden: int = 3          # hidden layers in each network
    n_classes: int = 0         # > 0: both networks are conditioned on a class label
    pack: int = 1              # PacGAN packing degree of the discriminator
    spectral_norm: bool = False
    minibatch_std: bool = False  # D also sees the batch's feature spread (Karras et al., 2018)


class MLPGenerator(nn.Module):
    """(N, latent_dim) noise [+ (N,) labels] -> (N, data_dim) samples."""

    def __init__(self, config: MLPGANConfig = MLPGANConfig()):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.n_classes, c.latent_dim) if c.n_classes else None
        in_dim = c.latent_dim * (2 if c.n_classes else 1)
        layers: list[nn.Module] = []
        for i in range(c.n_hidden):
            layers += [nn.Linear(in_dim if i == 0 else c.hidden_dim, c.hidden_dim), nn.ReLU()]
        layers.append(nn.Linear(c.hidden_dim, c.data_dim))
        self.net = nn.Sequential(*layers)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(_with_label(z, y, self.embed, self.config.latent_dim))


class MLPDiscriminator(nn.Module):
    """(N, data_dim) samples [+ (N,) labels] -> (N // pack,) real-vs-fake logits."""

    def __init__(self, config: MLPGANConfig = MLPGANConfig()):
        super().__init__()
        self.config = c = config
        in_dim = c.data_dim * c.pack
        layers: list[nn.Module] = []
        for i in range(c.n_hidden):
            layers += [_sn(nn.Linear(in_dim if i == 0 else c.hidden_dim, c.hidden_dim),
                           c.spectral_norm), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = _sn(nn.Linear(c.hidden_dim, 1), c.spectral_norm)
        self.spread_weight = nn.Parameter(torch.zeros(c.hidden_dim)) if c.minibatch_std else None
        self.embed = (_sn(nn.Embedding(c.n_classes, c.hidden_dim), c.spectral_norm)
                      if c.n_classes else None)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        c = self.config
        if x.ndim != 2 or x.shape[1] != c.data_dim:
            raise ValueError(f"x must have shape (N, {c.data_dim}), got {tuple(x.shape)}")
        if len(x) % c.pack:
            raise ValueError(f"batch of {len(x)} is not a multiple of pack={c.pack}")
        h = self.body(x.reshape(len(x) // c.pack, c.pack * c.data_dim))
        if c.minibatch_std:
            # One number per batch: how varied the batch's features are. A collapsed
            # generator's batches are less varied than real ones, which D can now see.
            spread = h.std(dim=0).mean()
            h = h + self.spread_weight * spread
        logits = self.head(h).squeeze(1)
        if self.embed is not None:  # projection: <embed(y), h>, labels of packed groups' first item
            y = _require_labels(y, len(x))[:: c.pack]
            logits = logits + (self.embed(y) * h).sum(dim=1)
        return logits


# ------------------------------------------------------------------ DCGAN (8x8 digits)
@dataclass(frozen=True)
class DCGANConfig:
    latent_dim: int = 32
    channels: int = 64         # width of the first (generator: last) convolution
    n_classes: int = 0
    spectral_norm: bool = False


class DCGenerator(nn.Module):
    """(N, latent_dim) noise [+ (N,) labels] -> (N, 1, 8, 8) images in [0, 1]."""

    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.n_classes, c.latent_dim) if c.n_classes else None
        in_dim = c.latent_dim * (2 if c.n_classes else 1)
        self.project = nn.Sequential(nn.Linear(in_dim, 2 * c.channels * 2 * 2),
                                     nn.BatchNorm1d(2 * c.channels * 4), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * c.channels, c.channels, 4, 2, 1),  # 2x2 -> 4x4
            nn.BatchNorm2d(c.channels), nn.ReLU(),
            nn.ConvTranspose2d(c.channels, 1, 4, 2, 1),               # 4x4 -> 8x8
            nn.Sigmoid(),
        )

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.project(_with_label(z, y, self.embed, self.config.latent_dim))
        h = h.reshape(len(z), 2 * self.config.channels, 2, 2)
        return self.net(h)


class DCDiscriminator(nn.Module):
    """(N, 1, 8, 8) images [+ (N,) labels] -> (N,) logits; conditional by projection."""

    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__()
        self.config = c = config
        sn = c.spectral_norm
        self.body = nn.Sequential(
            _sn(nn.Conv2d(1, c.channels, 4, 2, 1), sn), nn.LeakyReLU(0.2),           # 8 -> 4
            _sn(nn.Conv2d(c.channels, 2 * c.channels, 4, 2, 1), sn), nn.LeakyReLU(0.2),  # 4 -> 2
            nn.Flatten(),
        )
        feat = 2 * c.channels * 4
        self.head = _sn(nn.Linear(feat, 1), sn)
        self.embed = _sn(nn.Embedding(c.n_classes, feat), sn) if c.n_classes else None

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if x.ndim == 2 and x.shape[1] == 64:
            x = x.reshape(len(x), 1, 8, 8)
        if x.shape[1:] != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8) or (N, 64), got {tuple(x.shape)}")
        h = self.body(x)
        logits = self.head(h).squeeze(1)
        if self.embed is not None:
            logits = logits + (self.embed(_require_labels(y, len(x))) * h).sum(dim=1)
        return logits


# ------------------------------------------------------------------------------ losses
def discriminator_loss(kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's loss (to minimise) for real and fake logits.

    minimax / non_saturating: −log D(x) − log(1 − D(G(z))), with D = sigmoid(logit)
    wasserstein: E[D(G(z))] − E[D(x)] (add a gradient penalty);  hinge: E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]
    """
    _check_kind(kind)
    if kind in ("minimax", "non_saturating"):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "wasserstein":
        return fake_logits.mean() - real_logits.mean()
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def generator_loss(kind: str, fake_logits: Tensor) -> Tensor:
    """The generator's loss (to minimise).

    minimax: log(1 − D(G(z)))  (the original game; its gradient vanishes when D wins)
    non_saturating: −log D(G(z));  wasserstein and hinge: −E[D(G(z))]
    """
    _check_kind(kind)
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()       # log(1 − sigmoid(l)) = −softplus(l)
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()       # −log sigmoid(l) = softplus(−l)
    return -fake_logits.mean()


def gradient_penalty(discriminator: nn.Module, real: Tensor, fake: Tensor,
                     y: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    """E[(‖∇ₓ D(x̂)‖ − 1)²] at random points x̂ on lines between real and fake samples."""
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must match")
    eps_shape = (len(real),) + (1,) * (real.ndim - 1)
    eps = torch.rand(eps_shape, device=real.device, generator=generator)
    mixed = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    out = _call(discriminator, mixed, y)
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    return ((grad.reshape(len(grad), -1).norm(dim=1) - 1) ** 2).mean()


# ------------------------------------------------------------------------------ training
@dataclass
class GANTrainConfig:
    steps: int = 5000
    batch_size: int = 256
    loss: str = "non_saturating"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1            # discriminator updates per generator update
    gp_weight: float = 0.0      # > 0 adds the WGAN-GP gradient penalty
    r1_weight: float = 0.0      # > 0 adds the R1 penalty (γ/2)·E‖∇D(x_real)‖² ("Which Training
                                # Methods for GANs do actually Converge?", Mescheder et al., 2018)
    cosine_decay: bool = True   # learning rates decay to 0 along a cosine
    ema_decay: float = 0.0      # > 0: the generator ends with an exponential moving average
                                # of its weights ("The Unusual Effectiveness of Averaging in
                                # GAN Training", Yazıcı et al., 2019)
    log_every: int = 25
    snapshots: tuple[int, ...] = field(default_factory=tuple)  # steps at which to call `on_snapshot`


RealSampler = Callable[[int], "tuple[Tensor, Tensor | None]"]


def train_gan(generator: nn.Module, discriminator: nn.Module, sample_real: RealSampler,
              config: GANTrainConfig = GANTrainConfig(), seed: int = 0, progress: bool = True,
              plot: bool = True, title: str = "GAN losses",
              on_snapshot: Callable[[int], None] | None = None) -> History:
    """Alternate discriminator and generator updates for ``config.steps`` steps.

    sample_real(n) -> (x (n, ...), labels (n,) or None) on the models' device. With
    labels, both networks are conditioned on them (fake samples reuse the real labels).
    """
    _check_kind(config.loss)
    device = next(generator.parameters()).device
    torch.manual_seed(seed)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=config.betas)
    scheds = ([torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=config.steps)
               for o in (opt_g, opt_d)] if config.cosine_decay else [])
    latent_dim = generator.latent_dim
    snapshots = set(config.snapshots)
    if not 0.0 <= config.ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie in [0, 1), got {config.ema_decay}")
    live_params = list(generator.parameters())
    ema_params = [p.detach().clone() for p in live_params] if config.ema_decay else []

    def step(i: int) -> dict[str, Tensor]:
        for _ in range(config.d_steps):
            real, y = sample_real(config.batch_size)
            z = torch.randn(config.batch_size, latent_dim, device=device)
            with torch.no_grad():
                fake = _call(generator, z, y)
            if config.r1_weight > 0:
                real = real.detach().requires_grad_(True)
            d_real = _call(discriminator, real, y)
            d_fake = _call(discriminator, fake, y)
            loss_d = discriminator_loss(config.loss, d_real, d_fake)
            if config.gp_weight > 0:
                loss_d = loss_d + config.gp_weight * gradient_penalty(discriminator, real, fake, y)
            if config.r1_weight > 0:
                (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
                loss_d = loss_d + 0.5 * config.r1_weight * grad.pow(2).reshape(len(grad), -1).sum(1).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        z = torch.randn(config.batch_size, latent_dim, device=device)
        fake = _call(generator, z, y)
        d_fake = _call(discriminator, fake, y)
        loss_g = generator_loss(config.loss, d_fake)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            for avg, p in zip(ema_params, live_params):
                avg.lerp_(p, 1.0 - config.ema_decay)
        for s in scheds:
            s.step()
        if on_snapshot is not None and i + 1 in snapshots:
            on_snapshot(i + 1)
        return {"discriminator": loss_d.detach(), "generator": loss_g.detach()}

    generator.train()
    discriminator.train()
    history = fit(step, config.steps, seed=seed, progress=progress, plot=plot,
                  log_every=config.log_every, title=title)
    with torch.no_grad():
        for avg, p in zip(ema_params, live_params):
            p.copy_(avg)
    generator.eval()
    discriminator.eval()
    return history


@torch.no_grad()
def generate(generator: nn.Module, n: int, labels: Tensor | None = None, seed: int = 0,
             batch_size: int = 4096) -> Tensor:
    """n samples from a trained generator (in eval mode), repeatable under ``seed``."""
    device = next(generator.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    was_training = generator.training
    generator.eval()
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        z = torch.randn(m, generator.latent_dim, device=device, generator=g)
        y = labels[start:start + m].to(device) if labels is not None else None
        out.append(_call(generator, z, y))
    generator.train(was_training)
    return torch.cat(out)


# ------------------------------------------------------------------------------ helpers
def _call(net: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    """net(x, y) for a conditional call, net(x) otherwise (so plain modules work too)."""
    return net(x) if y is None else net(x, y)


def _check_kind(kind: str) -> None:
    if kind not in LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(LOSSES)}")


def _check_latent(z: Tensor, latent_dim: int) -> None:
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (N, {latent_dim}), got {tuple(z.shape)}")


def _with_label(z: Tensor, y: Tensor | None, embed: nn.Embedding | None, latent_dim: int) -> Tensor:
    """Check z (N, latent_dim); for a conditional generator append the label embedding."""
    _check_latent(z, latent_dim)
    if embed is None:
        return z
    return torch.cat([z, embed(_require_labels(y, len(z)))], dim=1)


def _require_labels(y: Tensor | None, n: int) -> Tensor:
    if y is None:
        raise ValueError("this network is conditional: pass class labels y of shape (N,)")
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(y.shape)}")
    return y
