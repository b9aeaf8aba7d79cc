"""Variational autoencoders: a probabilistic encoder, a decoder that is a likelihood, two bounds.

"Auto-Encoding Variational Bayes" (Kingma and Welling, 2013) and "Stochastic
Backpropagation and Approximate Inference in Deep Generative Models" (Rezende et
al., 2014). The encoder maps x to a Gaussian q(z|x) = N(μ, diag σ²); the decoder
maps a code z to the parameters of p(x|z); the prior is p(z) = N(0, I). Training
maximises the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))  ≤  log p(x),

and the importance-weighted bound ("Importance Weighted Autoencoders", Burda et al.,
2015) with k samples z_i ~ q(z|x),

    L_k(x) = E[log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)],   L_1 = ELBO ≤ L_k ≤ L_{k+1} ≤ log p(x),

measures log p(x) ever more tightly as k grows. For a VAE with a 1-D or 2-D code, log p(x)
itself can be computed by quadrature over a grid of codes (``log_marginal_by_quadrature``),
the ground truth the bounds are tested against. A conditional VAE ("Learning
Structured Output Representation using Deep Conditional Generative Models", Sohn
et al., 2015) gives both networks the class label.

Likelihoods (``VAEConfig.likelihood``):

    binomial     x ∈ {0, 1/n, ..., 1} per value: n·x ~ Binomial(n, p). The course's digits
                 are exactly this with n = 16 (each pixel counts the inked cells of a 4×4
                 block), so log p(x) is a true log-probability in nats. n = 1 is Bernoulli.
    categorical  x is one-hot over ``categories`` symbols at each of input_dim/categories
                 positions (strings); the decoder gives a softmax per position.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gencourse.train import History, fit, minibatches

LIKELIHOODS = ("binomial", "categorical")


@dataclass(frozen=True)
class VAEConfig:
    input_dim: int = 64        # 8x8 digits, flattened
    latent_dim: int = 8
    hidden_dim: int = 256
    n_classes: int = 0         # > 0: a conditional VAE, both networks see the label (one-hot)
    likelihood: str = "binomial"
    binomial_n: int = 16       # binomial: the number of grey levels minus one (16 for the digits)
    categories: int = 0        # categorical: the alphabet size


class VAE(nn.Module):
    """encode: x (N, input_dim) or (N, 1, H, W) [+ y (N,)] -> μ, log σ² (N, latent_dim) each;
    decode_logits: z (N, latent_dim) [+ y] -> (N, input_dim) logits of p(x|z);
    decode: z [+ y] -> (N, input_dim) the mean of p(x|z) (pixels in [0, 1] / symbol probabilities).
    """

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__()
        c = config
        if c.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {c.likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
        if c.likelihood == "binomial" and c.binomial_n < 1:
            raise ValueError(f"binomial_n must be at least 1 (1 = Bernoulli), got {c.binomial_n}")
        if c.likelihood == "categorical" and (c.categories < 2 or c.input_dim % c.categories):
            raise ValueError(f"categorical likelihood: input_dim={c.input_dim} must be a multiple of "
                             f"categories={c.categories} (≥ 2): one one-hot block per position")
        self.config = c
        self.encoder = nn.Sequential(
            nn.Linear(c.input_dim + c.n_classes, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, 2 * c.latent_dim),           # μ and log σ², side by side
        )
        self.decoder = nn.Sequential(
            nn.Linear(c.latent_dim + c.n_classes, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.input_dim),
        )

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = self._flat(x)
        h = self.encoder(self._with_label(x, y))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)   # keeps exp(logvar) finite early in training

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(self._with_label(z, y))

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        logits = self.decode_logits(z, y)
        if self.config.likelihood == "binomial":
            return torch.sigmoid(logits)
        return logits.reshape(len(z), -1, self.config.categories).softmax(-1).reshape(len(z), -1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The mean reconstruction of x from its mean code (no sampling): (N, input_dim)."""
        return self.decode(self.encode(x, y)[0], y)

    def log_likelihood(self, x: Tensor, logits: Tensor, validate: bool = True) -> Tensor:
        """log p(x|z) for data x (N, input_dim) and decoder logits (..., N, input_dim) -> (..., N).

        Leading dimensions of ``logits`` broadcast over x (k codes per image, say). Pass
        ``validate=False`` for data already checked with :meth:`check_data` (training loops).
        """
        x = self._flat(x)
        if logits.shape[-2:] != x.shape:
            raise ValueError(f"logits {tuple(logits.shape)} and x {tuple(x.shape)} must have the same shape")
        if validate:
            self.check_data(x)
        if self.config.likelihood == "binomial":
            return binomial_log_likelihood(x, logits, self.config.binomial_n, validate=False)
        k = self.config.categories
        logp = logits.reshape(*logits.shape[:-1], -1, k).log_softmax(-1)
        return (x.reshape(len(x), -1, k) * logp).sum(dim=(-2, -1))

    def check_data(self, x: Tensor) -> None:
        """Raise a ValueError if x (N, ...) is not data this VAE's likelihood can score."""
        if self.config.likelihood == "binomial":
            _check_grey_levels(self._flat(x), self.config.binomial_n)

    # -------------------------------------------------------------------------- helpers
    def _flat(self, x: Tensor) -> Tensor:
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.config.input_dim:
            raise ValueError(f"x has {x.shape[1]} values per sample but the VAE expects "
                             f"input_dim={self.config.input_dim}")
        return x

    def _with_label(self, h: Tensor, y: Tensor | None) -> Tensor:
        n_classes = self.config.n_classes
        if n_classes == 0:
            if y is not None:
                raise ValueError("this VAE is not conditional (n_classes=0): do not pass labels")
            return h
        if y is None:
            raise ValueError("this VAE is conditional: pass class labels y of shape (N,)")
        if y.shape != (len(h),):
            raise ValueError(f"labels must have shape ({len(h)},), got {tuple(y.shape)}")
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {int(y.min())}..{int(y.max())}")
        return torch.cat([h, F.one_hot(y, n_classes).to(h.dtype)], dim=1)


# ------------------------------------------------------------------------- the pieces
def _check_grey_levels(x: Tensor, n: int) -> None:
    k = x * n
    if (k - k.round()).abs().max() > 1e-4 or x.min() < 0 or x.max() > 1:
        raise ValueError(f"the binomial likelihood needs values in {{0, 1/{n}, ..., 1}}; got values "
                         f"that are not multiples of 1/{n} in [0, 1] (check the data's scaling)")


def binomial_log_likelihood(x: Tensor, logits: Tensor, n: int, validate: bool = True) -> Tensor:
    """Σ over values of log Binomial(n·x; n, sigmoid(logits)); x (N, D), logits (..., N, D) -> (..., N).

    x must hold multiples of 1/n in [0, 1] (the digits: n = 16); ``validate=False`` skips that
    check for data checked before. With k = n·x:
    log C(n, k) + k·log p + (n − k)·log(1 − p), written with softplus for stability.
    """
    if validate:
        _check_grey_levels(x, n)
    k = (x * n).round()
    log_choose = math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    # k log p + (n−k) log(1−p) with p = sigmoid(l):  −k·softplus(−l) − (n−k)·softplus(l)
    return (log_choose - k * F.softplus(-logits) - (n - k) * F.softplus(logits)).sum(dim=-1)


def reparameterise(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z = μ + σ·ε with ε ~ N(0, I): a sample of N(μ, σ²) through which gradients flow to μ, σ."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape")
    eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) in closed form, summed over dimensions: (N, D) -> (N,).

    Per dimension: ½ (σ² + μ² − 1 − log σ²).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape")
    return 0.5 * (logvar.exp() + mu ** 2 - 1.0 - logvar).sum(dim=-1)


def log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; μ, diag σ²) summed over the last dimension: (..., D) -> (...)."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()).sum(dim=-1)


@dataclass(frozen=True)
class ELBOTerms:
    """Per-sample terms (N,) in nats: reconstruction E_q[log p(x|z)] (one sample of z) and
    kl KL(q(z|x) ‖ p(z)); elbo = reconstruction − kl."""

    reconstruction: Tensor
    kl: Tensor

    @property
    def elbo(self) -> Tensor:
        return self.reconstruction - self.kl


def elbo(model: VAE, x: Tensor, y: Tensor | None = None,
         generator: torch.Generator | None = None, validate: bool = True) -> ELBOTerms:
    """A one-sample estimate of the ELBO's two terms for each x (N, ...), differentiable."""
    mu, logvar = model.encode(x, y)
    z = reparameterise(mu, logvar, generator)
    return ELBOTerms(model.log_likelihood(x, model.decode_logits(z, y), validate=validate),
                     gaussian_kl(mu, logvar))


@torch.no_grad()
def importance_weighted_bound(model: VAE, x: Tensor, y: Tensor | None = None, k: int = 100,
                              seed: int = 0, chunk: int = 100_000) -> Tensor:
    """L_k (N,) in nats: log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x); k = 1 is the ELBO.

    Runs in chunks of about ``chunk`` decoder evaluations, so k = 1000 fits in little memory.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int (the number of importance samples), got {k!r}")
    flat = model._flat(x)
    model.check_data(flat)
    g = torch.Generator(device=flat.device).manual_seed(seed)
    per = max(1, chunk // k)
    out = []
    for start in range(0, len(flat), per):
        xb = flat[start:start + per]
        yb = None if y is None else y[start:start + per]
        mu, logvar = model.encode(xb, yb)
        n, d = mu.shape
        z = reparameterise(mu.expand(k, n, d), logvar.expand(k, n, d), g)          # (k, n, d)
        yk = None if yb is None else yb.repeat(k)
        logits = model.decode_logits(z.reshape(k * n, d), yk).reshape(k, n, -1)
        log_px = model.log_likelihood(xb, logits, validate=False)                  # (k, n)
        log_prior = -0.5 * (z ** 2 + math.log(2 * math.pi)).sum(dim=-1)            # log N(z; 0, I)
        log_w = log_px + log_prior - log_normal(z, mu, logvar)
        out.append(torch.logsumexp(log_w, dim=0) - math.log(k))
    return torch.cat(out)


@torch.no_grad()
def log_marginal_by_quadrature(model: VAE, x: Tensor, limit: float = 6.0, points: int = 301,
                               chunk: int = 20_000) -> Tensor:
    """log p(x) = log ∫ p(x|z) p(z) dz (N,) in nats, by summing over a grid of codes (latent_dim ≤ 2).

    The rectangle rule on ``points``^d codes z_j spaced h apart over [−limit, limit]^d:
    log p(x) ≈ logsumexp_j [log p(x|z_j) + log N(z_j; 0, I)] + d·log h. The prior puts less than
    1e-8 of its mass outside [−6, 6]^2; the grid must be fine compared with the posterior's width
    (compare two values of ``points``). No encoder is involved, so this is the ground truth that
    the ELBO and L_k lower-bound. log p(x|z) is linear in the data's statistics (k and n − k for
    the binomial, the one-hot x for the categorical), so all N × grid terms are matrix products.
    """
    d = model.latent_dim
    if d > 2:
        raise ValueError(f"quadrature needs a grid of points^latent_dim codes: use it for latent_dim "
                         f"1 or 2, not {d} (use importance_weighted_bound instead)")
    if model.config.n_classes:
        raise ValueError("log_marginal_by_quadrature supports unconditional VAEs (n_classes=0)")
    if points < 2 or limit <= 0:
        raise ValueError(f"need points ≥ 2 and limit > 0, got points={points}, limit={limit}")
    flat = model._flat(x)
    model.check_data(flat)
    device = flat.device
    axis = torch.linspace(-limit, limit, points, device=device)
    h = 2 * limit / (points - 1)
    grid = torch.stack(torch.meshgrid(*[axis] * d, indexing="ij"), dim=-1).reshape(-1, d)  # (points^d, d)
    c = model.config
    if c.likelihood == "binomial":
        k = (flat * c.binomial_n).round()                                                # (N, D)
        log_choose = (math.lgamma(c.binomial_n + 1) - torch.lgamma(k + 1)
                      - torch.lgamma(c.binomial_n - k + 1)).sum(1, keepdim=True)       # (N, 1)
    per_chunk = []
    for start in range(0, len(grid), chunk):
        z = grid[start:start + chunk]                                                    # (M, d)
        logits = model.decode_logits(z)                                                  # (M, D)
        if c.likelihood == "binomial":
            log_px = log_choose + k @ -F.softplus(-logits).T + (c.binomial_n - k) @ -F.softplus(logits).T
        else:
            logp = logits.reshape(len(z), -1, c.categories).log_softmax(-1).reshape(len(z), -1)
            log_px = flat @ logp.T                                                       # (N, M)
        log_prior = -0.5 * (z ** 2 + math.log(2 * math.pi)).sum(dim=-1)                 # (M,)
        per_chunk.append(torch.logsumexp(log_px + log_prior, dim=1))
    return torch.logsumexp(torch.stack(per_chunk), dim=0) + d * math.log(h)


# ------------------------------------------------------------------------- training, sampling
def train_vae(model: VAE, x_train: Tensor, y_train: Tensor | None = None, steps: int = 3000,
              batch_size: int = 128, lr: float = 2e-3, beta: float = 1.0, warmup: int = 0,
              seed: int = 0, progress: bool = True, plot: bool = True, title: str = "VAE",
              snapshots: tuple[int, ...] = (), on_snapshot: Callable[[int], None] | None = None) -> History:
    """Maximise the (β-weighted) ELBO on x_train (N, ...) with Adam and cosine learning-rate decay.

    Minimises −E[log p(x|z)] + β·w·KL per sample, where w rises linearly from 0 to 1 over the
    first ``warmup`` steps (KL annealing, "Generating Sentences from a Continuous Space",
    Bowman et al., 2016). β = 1 is the VAE; β ≠ 1 the β-VAE (Higgins et al., 2017).
    Logs the loss, the reconstruction term and the KL (all in nats per sample). After each step
    listed in ``snapshots``, calls ``on_snapshot(step)`` (the model is in train mode then).
    """
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got {beta}")
    device = next(model.parameters()).device
    x = model._flat(x_train).to(device)
    model.check_data(x)   # once here, not at every step
    if model.config.n_classes and y_train is None:
        raise ValueError("this VAE is conditional: pass y_train")
    y = None if y_train is None else y_train.to(device)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    batches = minibatches(len(x), batch_size, torch.Generator().manual_seed(seed), device)
    snapshot_steps = set(snapshots)

    def step(i: int) -> dict[str, Tensor]:
        idx = next(batches)
        terms = elbo(model, x[idx], None if y is None else y[idx], validate=False)
        weight = beta * min(1.0, (i + 1) / warmup) if warmup else beta
        loss = (weight * terms.kl - terms.reconstruction).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if on_snapshot is not None and i + 1 in snapshot_steps:
            on_snapshot(i + 1)
        return {"loss": loss.detach(), "reconstruction": terms.reconstruction.mean().detach(),
                "kl": terms.kl.mean().detach()}

    model.train()
    history = fit(step, steps, seed=seed, progress=progress, plot=plot, title=title)
    model.eval()
    return history


def trained_weights(model: VAE, x_train: Tensor, y_train: Tensor | None = None, **options) -> dict[str, Tensor]:
    """Train ``model`` with :func:`train_vae` (no progress bar or plot) and return its weights.

    The weights are a picklable result, so a lesson can hand this to a worker process and load
    the returned state into its own copy of the model: the same seed gives the same weights
    in either process.
    """
    train_vae(model, x_train, y_train, **{**options, "progress": False, "plot": False})
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@torch.no_grad()
def sample(model: VAE, n: int, labels: Tensor | None = None, seed: int = 0) -> Tensor:
    """n samples z ~ N(0, I) decoded to the mean of p(x|z): (n, input_dim)."""
    device = next(model.parameters()).device
    z = torch.randn(n, model.latent_dim, device=device, generator=torch.Generator(device=device).manual_seed(seed))
    return model.decode(z, None if labels is None else labels.to(device))
