"""Class-conditional diffusion on the 8x8 digits, in pixel space or in the code space of a VAE.

Pixel space: the 64 pixels are mapped from [0, 1] to [-1, 1] (the range the noise schedule
expects). Latent space ("High-Resolution
Image Synthesis with Latent Diffusion Models", Rombach et al., 2022): the digits are encoded once
by chapter 04's VAE (the posterior means μ(x), 16 numbers per digit), each code dimension is
standardised, a denoiser learns that 16-D distribution, and its samples are decoded back to
images. Both use one residual-MLP denoiser recipe, DDPM's loss and a 10% label drop for
classifier-free guidance.

Sampling clamps each estimate x̂_0 to the range of the training data ([-1, 1] for pixels, the largest
standardised code value for codes). The clamp matters at the first step: the cosine schedule's
last β is capped at 0.999, so ᾱ_{T-1} ≈ 6e-8 and x̂_0 = (x_t - √(1-ᾱ) ε̂) / √ᾱ multiplies any error in
ε̂ by about 4,000 there ("Common Diffusion Noise Schedules and Sample Steps are Flawed", Lin et al.,
2024, discusses this end of the schedule). ``generate(..., clamp=False)`` shows what happens without it.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from gencourse.data import load_digits
from gencourse.models.denoisers import DenoiserConfig, MLPDenoiser
from gencourse.models.diffusion import NoiseSchedule, cosine_schedule, sample
from gencourse.models.diffusion_train import DiffusionTrainConfig, train_denoiser

SPACES = ("pixels", "latent")


@dataclass(frozen=True)
class DigitDiffusionRecipe:
    space: str = "pixels"          # "pixels" (64 values in [-1, 1]) or "latent" (the VAE's 16-D codes)
    steps: int = 4000
    batch_size: int = 128
    lr: float = 2e-3
    hidden: int = 256
    blocks: int = 3
    T: int = 200                   # cosine schedule
    p_uncond: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {', '.join(SPACES)}, got {self.space!r}")


@dataclass
class DigitDiffusion:
    """A trained class-conditional digit diffusion model, ready to sample.

    model: the EMA denoiser (eval mode); schedule: its noise schedule; decoder: the VAE for
    latent models (None in pixel space); shift, scale: (D,) standardisation of the latent codes;
    seconds: training time on one thread (latent: the denoiser only; the VAE's own time is
    ``vae_seconds``); losses: the loss every 20 steps; bound: the clamp on x̂_0 (see the module).
    """

    recipe: DigitDiffusionRecipe
    model: nn.Module
    schedule: NoiseSchedule
    seconds: float
    losses: list[float]
    decoder: nn.Module | None = None
    shift: Tensor | None = None
    scale: Tensor | None = None
    vae_seconds: float = 0.0
    bound: float = 1.0            # x̂_0 is clamped to [-bound, bound]: the training data's range

    @property
    def null_label(self) -> int:
        return self.model.null_label

    def to_images(self, x: Tensor) -> Tensor:
        """Sampler outputs (N, D) -> images (N, 1, 8, 8) in [0, 1]."""
        if self.decoder is None:
            return ((x + 1) / 2).clamp(0, 1).reshape(-1, 1, 8, 8)
        with torch.no_grad():
            return self.decoder.decode(x * self.scale + self.shift).reshape(-1, 1, 8, 8)

    def generate(self, labels: Tensor, guidance: float = 1.0, method: str = "ddpm", steps: int | None = None,
                 seed: int = 0, eta: float = 0.0, keep: tuple[int, ...] = (),
                 clamp: bool = True) -> Tensor | tuple[Tensor, dict[int, Tensor]]:
        """Images (N, 1, 8, 8) in [0, 1] of the digits ``labels`` (N,), with classifier-free guidance
        scale ``guidance``; ``keep`` also returns {t: image of x_t} along the chain; ``clamp=False``
        leaves x̂_0 unclamped (an ablation)."""
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.ndim != 1 or (len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9)):
            raise ValueError("labels must be a 1-D tensor of digits 0..9")
        out = sample(self.model, self.schedule, (len(labels), self.model.config.dim), method=method, steps=steps,
                     eta=eta, labels=labels, guidance=guidance, null_label=self.null_label,
                     clip=self.bound if clamp else None,
                     generator=torch.Generator().manual_seed(seed), keep=keep)
        if keep:
            x, kept = out
            return self.to_images(x), {t: self.to_images(v) for t, v in kept.items()}
        return self.to_images(out)


def build(recipe: DigitDiffusionRecipe, dim: int) -> MLPDenoiser:
    return MLPDenoiser(DenoiserConfig(dim=dim, hidden=recipe.hidden, blocks=recipe.blocks, n_classes=10))


def _posterior_means(vae: nn.Module, x: Tensor) -> Tensor:
    with torch.no_grad():
        return vae.encode(x)[0]


def latent_codes(vae: nn.Module, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The VAE's posterior means μ(x) (N, D), standardised per dimension; and the shift and scale (D,)."""
    mu = _posterior_means(vae, x)
    shift, scale = mu.mean(0), mu.std(0)
    return (mu - shift) / scale, shift, scale


def train_digit_diffusion(recipe: DigitDiffusionRecipe, vae: nn.Module | None = None) -> tuple[dict[str, Tensor], dict]:
    """Train the recipe on the digits' training split (one thread); return the EMA weights and a
    record (recipe, seconds, losses, and for latent models the standardisation)."""
    if (recipe.space == "latent") != (vae is not None):
        raise ValueError("a latent recipe needs the VAE (and a pixel recipe must not get one)")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        digits = load_digits()
        record: dict = {"recipe": asdict(recipe)}
        if vae is None:
            x = digits.x_train.reshape(len(digits.x_train), -1) * 2 - 1
        else:
            x, shift, scale = latent_codes(vae, digits.x_train)
            record.update(shift=shift.tolist(), scale=scale.tolist())
        torch.manual_seed(recipe.seed)
        model = build(recipe, x.shape[1])
        start = time.perf_counter()
        ema, history = train_denoiser(
            model, x, cosine_schedule(recipe.T),
            DiffusionTrainConfig(steps=recipe.steps, batch_size=recipe.batch_size, lr=recipe.lr,
                                 p_uncond=recipe.p_uncond),
            labels=digits.y_train, seed=recipe.seed)
        record.update(seconds=round(time.perf_counter() - start, 2),
                      losses=[round(v, 4) for v in history.values["loss"]], dim=x.shape[1])
        return {k: v.detach().clone() for k, v in ema.state_dict().items()}, record
    finally:
        torch.set_num_threads(previous)


def rebuild(recipe: DigitDiffusionRecipe, state: dict[str, Tensor], record: dict,
            vae: nn.Module | None = None, vae_seconds: float = 0.0) -> DigitDiffusion:
    """The trained model from its weights and record."""
    model = build(recipe, record["dim"])
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    run = DigitDiffusion(recipe, model, cosine_schedule(recipe.T), record["seconds"], record["losses"])
    if vae is not None:
        run.decoder, run.vae_seconds = vae.eval(), vae_seconds
        run.shift, run.scale = torch.tensor(record["shift"]), torch.tensor(record["scale"])
        codes = (_posterior_means(vae, load_digits().x_train) - run.shift) / run.scale
        run.bound = float(codes.abs().max())       # the largest standardised training code value
    return run


NUMBER_WORDS = {word: digit for digit, word in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))}


def prompt_digits(prompt: str) -> list[int]:
    """The digits a tiny text prompt names, e.g. "a three" -> [3], "a zero or a one" -> [0, 1].

    The smallest honest analogue of a text encoder: a fixed word list, no learning, no grammar
    ("not a three" still gives [3]). Words and the characters 0-9 both count.
    """
    if not isinstance(prompt, str):
        raise ValueError(f"the prompt must be a string such as 'a three', got {type(prompt).__name__}")
    words = prompt.lower().replace(",", " ").split()
    digits = sorted({NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS} | {int(w) for w in words if len(w) == 1 and w.isdigit()})
    if not digits:
        raise ValueError(f"no digit named in {prompt!r}: name one or more of {', '.join(NUMBER_WORDS)}")
    return digits


def prompt_labels(prompt: str, n: int, seed: int = 0) -> Tensor:
    """(n,) labels drawn uniformly from the digits that ``prompt`` names."""
    choices = torch.tensor(prompt_digits(prompt))
    return choices[torch.randint(len(choices), (n,), generator=torch.Generator().manual_seed(seed))]
