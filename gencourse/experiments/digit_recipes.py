"""The course's digit generators as recipes: a small picklable spec in, trained weights out.

Chapter 04 compares a VAE with the GAN of chapter 03 on the same digits. Both are
trained by :func:`train` from a :class:`Recipe`, a plain function of picklable
arguments, so a lesson can train the GANs in a background process while it works
on the VAE, and a benchmark can repeat any run. The GAN recipe is chapter 03's
DCGAN (32-D noise, 32 channels, batch 128, Adam β = (0, 0.9), learning rate
``GAN_LR`` = 2e-3 with cosine decay; the chapters train it for 1,000 steps). At 1e-3
the conditional GAN needed 2,000 steps to reach about the Fréchet distance (chapter 03's,
360 digits per set) that 2e-3 reaches in 1,000: about 15 and 16, against 23 for 1,000
steps at 1e-3.

Every run keeps samples at its ``checkpoints`` (the same noise each time), so the
caller can score how quality evolves during training (its *stability*), and it
times itself on one CPU thread.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor

from gencourse.data import load_digits
from gencourse.models.autoencoder import Autoencoder, AutoencoderConfig, train_autoencoder
from gencourse.models.gan import DCDiscriminator, DCGANConfig, DCGenerator, GANTrainConfig, train_gan
from gencourse.models.vae import VAE, VAEConfig, train_vae
from gencourse.train import History

FAMILIES = ("vae", "gan", "ae")


@dataclass(frozen=True)
class Recipe:
    family: str                       # "vae", "gan" or "ae" (the plain autoencoder of chapter 01)
    conditional: bool = False         # vae / gan: condition on the digit's label
    steps: int = 2000
    latent_dim: int | None = None     # None: the family's default (vae / ae 16, gan 32 as in chapter 03)
    hidden_dim: int = 256             # vae / ae: width of the hidden layers
    beta: float = 1.0                 # vae: weight of the KL term (β-VAE)
    held_out: int | None = None       # train without this digit (anomaly detection)
    checkpoints: tuple[int, ...] = field(default_factory=tuple)
    n_checkpoint_samples: int = 1000
    seed: int = 0
    threads: int = 1                  # torch threads while training (timings are per thread)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; choose one of {', '.join(FAMILIES)}")
        if self.family == "ae" and self.conditional:
            raise ValueError("the plain autoencoder has no conditional version")
        if any(not 0 < c <= self.steps for c in self.checkpoints):
            raise ValueError(f"checkpoints {self.checkpoints} must lie in 1..steps={self.steps}")


@dataclass
class Trained:
    """What a run returns: rebuild the model with :func:`rebuild`.

    seconds: training wall time; checkpoint_samples: step -> (n, 1, 8, 8) images in [0, 1]
    (labels 0..9 repeated when conditional); history: the losses logged during training.
    """

    recipe: Recipe
    config: dict
    state: dict[str, Tensor]
    seconds: float
    checkpoint_samples: dict[int, Tensor]
    history: History


DEFAULT_LATENT = {"vae": 16, "gan": 32, "ae": 16}
GAN_LR = 2e-3   # both networks; chapter 03 trains its conditional DCGAN with the same settings


def rebuild(trained: Trained) -> torch.nn.Module:
    """The trained model (VAE, DCGenerator or Autoencoder) in eval mode, on the CPU."""
    family = trained.recipe.family
    if family == "vae":
        model = VAE(VAEConfig(**trained.config))
    elif family == "gan":
        model = DCGenerator(DCGANConfig(**trained.config))
    else:
        model = Autoencoder(AutoencoderConfig(**trained.config))
    model.load_state_dict(trained.state)
    return model.eval()


def train(recipe: Recipe) -> Trained:
    """Train the model a recipe describes on the digits' training split (one process, CPU)."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        return _train(recipe)
    finally:
        torch.set_num_threads(previous_threads)


def _train(recipe: Recipe) -> Trained:
    digits = load_digits()
    keep = (digits.y_train != recipe.held_out) if recipe.held_out is not None else slice(None)
    x, y = digits.x_train[keep], digits.y_train[keep]
    labels = torch.arange(10).repeat(recipe.n_checkpoint_samples // 10 + 1)[:recipe.n_checkpoint_samples]
    noise = torch.Generator().manual_seed(10_000 + recipe.seed)
    samples: dict[int, Tensor] = {}
    latent_dim = recipe.latent_dim or DEFAULT_LATENT[recipe.family]
    torch.manual_seed(recipe.seed)
    start = time.perf_counter()
    pause = 0.0   # time spent drawing checkpoint samples, not counted as training

    if recipe.family == "vae":
        config = VAEConfig(latent_dim=latent_dim, hidden_dim=recipe.hidden_dim,
                           n_classes=10 if recipe.conditional else 0)
        model = VAE(config)
        z = torch.randn(recipe.n_checkpoint_samples, config.latent_dim, generator=noise)

        def snapshot(step: int) -> None:
            nonlocal pause
            t = time.perf_counter()
            with torch.no_grad():
                samples[step] = model.decode(z, labels if recipe.conditional else None).reshape(-1, 1, 8, 8)
            pause += time.perf_counter() - t

        history = train_vae(model, x, y if recipe.conditional else None, steps=recipe.steps,
                            beta=recipe.beta, seed=recipe.seed, progress=False, plot=False,
                            snapshots=recipe.checkpoints, on_snapshot=snapshot)
    elif recipe.family == "gan":
        config = DCGANConfig(latent_dim=latent_dim, channels=32, n_classes=10 if recipe.conditional else 0)
        model, critic = DCGenerator(config), DCDiscriminator(config)
        z = torch.randn(recipe.n_checkpoint_samples, config.latent_dim, generator=noise)
        draw = torch.Generator().manual_seed(recipe.seed)

        def real(n: int) -> tuple[Tensor, Tensor | None]:
            idx = torch.randint(len(x), (n,), generator=draw)
            return x[idx], (y[idx] if recipe.conditional else None)

        def snapshot(step: int) -> None:
            nonlocal pause
            t = time.perf_counter()
            model.eval()   # BatchNorm: use running statistics, not this batch's
            with torch.no_grad():
                samples[step] = model(z, labels) if recipe.conditional else model(z)
            model.train()
            pause += time.perf_counter() - t

        history = train_gan(model, critic, real,
                            GANTrainConfig(steps=recipe.steps, batch_size=128, lr_g=GAN_LR, lr_d=GAN_LR,
                                           betas=(0.0, 0.9), snapshots=recipe.checkpoints),
                            seed=recipe.seed, progress=False, plot=False, on_snapshot=snapshot)
    else:
        config = AutoencoderConfig(latent_dim=latent_dim, hidden_dim=recipe.hidden_dim)
        model = Autoencoder(config)
        history = train_autoencoder(model, x, n_steps=recipe.steps, seed=recipe.seed,
                                    progress=False, plot=False)
    seconds = time.perf_counter() - start - pause
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return Trained(recipe, asdict(config), state, seconds, samples, history)
