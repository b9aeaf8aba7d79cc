"""Denoising diffusion: noise schedules, the noise-prediction loss, and the DDPM and DDIM samplers.

"Denoising Diffusion Probabilistic Models" (Ho et al., 2020) destroys data x_0 with T small
Gaussian steps, q(x_t | x_{t-1}) = N(√(1-β_t) x_{t-1}, β_t I), which compose into one closed form

    q(x_t | x_0) = N(√ᾱ_t x_0, (1 - ᾱ_t) I),    ᾱ_t = Π_{s ≤ t} (1 - β_s),

and trains a network ε_θ(x_t, t) to predict the noise ε that produced x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε.
Sampling runs the chain backwards from pure noise. Two samplers:

* ancestral (DDPM): x_{t-1} ~ N(μ̃_t(x_t, x̂_0), β̃_t I), the Gaussian posterior q(x_{t-1} | x_t, x_0)
  with the network's estimate x̂_0 plugged in; one network call per step, T steps;
* DDIM ("Denoising Diffusion Implicit Models", Song et al., 2021): a deterministic (η = 0) update
  that can jump between any two steps t > t', so 20-50 network calls replace T.

Classifier-free guidance ("Classifier-Free Diffusion Guidance", Ho and Salimans, 2021) trains one
network both with and without the label and mixes its two predictions at sampling time:
ε̂ = ε_uncond + s (ε_cond - ε_uncond). We use the scale s of the Stable Diffusion code and
Hugging Face ``diffusers`` (s = 1 is the plain conditional model, s = 0 the unconditional one);
the paper writes the same rule with w = s - 1.

Steps are indexed t = 0 .. T-1, as in ``diffusers`` (the paper's t = 1 .. T shifted by one):
t = 0 is the least noisy step, and a sampler's last update returns its x̂_0 estimate.

A denoiser is any callable ``model(x_t, t, labels) -> ε̂`` with x_t (N, ...), t (N,) int64 and
labels (N,) int64 or None, returning a tensor shaped like x_t.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

Denoiser = Callable[[Tensor, Tensor, "Tensor | None"], Tensor]


class NoiseSchedule:
    """A variance schedule β_0 .. β_{T-1} and the quantities derived from it (each (T,) float32).

    betas β_t, alphas α_t = 1 - β_t, alpha_bars ᾱ_t = Π_{s≤t} α_s (the signal kept by step t).
    """

    def __init__(self, betas: Tensor, name: str = "custom"):
        betas = torch.as_tensor(betas, dtype=torch.float64)
        if betas.ndim != 1 or len(betas) < 2:
            raise ValueError(f"betas must be a 1-D tensor of at least 2 steps, got shape {tuple(betas.shape)}")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("every beta must lie strictly between 0 and 1 (a variance per step)")
        self.name = name
        self.betas = betas.float()
        self.alphas = (1 - betas).float()
        self.alpha_bars = torch.cumprod(1 - betas, dim=0).float()

    @property
    def steps(self) -> int:
        """T, the number of noising steps."""
        return len(self.betas)

    def snr(self) -> Tensor:
        """(T,) signal-to-noise ratio ᾱ_t / (1 - ᾱ_t) of x_t about x_0."""
        return self.alpha_bars / (1 - self.alpha_bars)

    def check_step(self, t: Tensor | int) -> Tensor:
        """t as an int64 tensor, after checking every entry lies in 0 .. T-1."""
        t = torch.as_tensor(t)
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ValueError(f"steps t must be integers in 0..{self.steps - 1}, got dtype {t.dtype}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.steps):
            raise ValueError(f"steps t must lie in 0..{self.steps - 1} (T = {self.steps}), got "
                             f"{int(t.min())}..{int(t.max())}")
        return t.long()

    def _at(self, values: Tensor, t: Tensor, like: Tensor) -> Tensor:
        """values[t] shaped (N, 1, 1, ...) to broadcast against ``like`` (N, ...)."""
        v = values.to(like.device)[self.check_step(t).to(like.device)]
        return v.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)

    def q_sample(self, x0: Tensor, t: Tensor | int, noise: Tensor) -> Tensor:
        """x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε for x0 and noise (N, ...) and t (N,) or one int."""
        if noise.shape != x0.shape:
            raise ValueError(f"noise must have the shape of x0 {tuple(x0.shape)}, got {tuple(noise.shape)}")
        t = self.check_step(t).expand(len(x0)) if torch.as_tensor(t).ndim == 0 else self.check_step(t)
        a = self._at(self.alpha_bars, t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def __repr__(self) -> str:
        return (f"NoiseSchedule({self.name!r}, T={self.steps}, β {float(self.betas[0]):.2e}.."
                f"{float(self.betas[-1]):.2e}, ᾱ_T-1={float(self.alpha_bars[-1]):.2e})")


def _steps(steps: int) -> int:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 2:
        raise ValueError(f"steps must be an int ≥ 2 (e.g. 1000), got {steps!r}")
    return steps


def linear_schedule(steps: int = 1000, beta_start: float | None = None,
                    beta_end: float | None = None) -> NoiseSchedule:
    """DDPM's schedule: β rises linearly from 1e-4 to 0.02 over T = 1000 steps.

    For another T the default range is scaled by 1000/T, as "Improved Denoising Diffusion
    Probabilistic Models" (Nichol and Dhariwal, 2021) does, so the chain still ends in noise (DDPM's
    range over T = 200 would leave ᾱ_{T-1} ≈ 0.13). Explicit ``beta_start``/``beta_end`` are used as given.
    """
    steps = _steps(steps)
    default = beta_end is None
    beta_start = 1e-4 * 1000 / steps if beta_start is None else beta_start
    beta_end = 0.02 * 1000 / steps if beta_end is None else beta_end
    if not 0 < beta_start < beta_end < 1:
        hint = " (the default range grows as 1000/T; for a chain this short pass beta_end)" if default else ""
        raise ValueError(f"need 0 < beta_start < beta_end < 1, got {beta_start:g} and {beta_end:g}{hint}")
    return NoiseSchedule(torch.linspace(beta_start, beta_end, steps, dtype=torch.float64), "linear")


def cosine_schedule(steps: int = 1000, offset: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:
    """"Improved Denoising Diffusion Probabilistic Models" (Nichol and Dhariwal, 2021): ᾱ follows
    cos²((t/T + s) / (1 + s) · π/2), so the signal fades evenly instead of being gone well before T;
    β_t = 1 - ᾱ(t+1)/ᾱ(t), capped at ``max_beta`` near the end."""
    steps = _steps(steps)
    grid = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((grid + offset) / (1 + offset) * math.pi / 2) ** 2
    return NoiseSchedule((1 - f[1:] / f[:-1]).clamp(max=max_beta), "cosine")


# --- training -------------------------------------------------------------------------------------

def noise_prediction_loss(model: Denoiser, x0: Tensor, schedule: NoiseSchedule, labels: Tensor | None = None,
                          generator: torch.Generator | None = None) -> Tensor:
    """DDPM's simple loss: E_{t, ε} ‖ε - ε_θ(√ᾱ_t x_0 + √(1-ᾱ_t) ε, t)‖², t uniform on 0..T-1.

    x0 (N, ...); labels (N,) or None. Returns the mean squared error over every entry (a scalar).
    For classifier-free guidance, pass labels with some entries replaced by the null label.
    """
    t = torch.randint(schedule.steps, (len(x0),), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
    return ((model(schedule.q_sample(x0, t, noise), t, labels) - noise) ** 2).mean()


def drop_labels(labels: Tensor, null_label: int, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Replace each label by ``null_label`` with probability p (classifier-free guidance's training)."""
    if not 0 <= p <= 1:
        raise ValueError(f"the drop probability must lie in [0, 1], got {p}")
    drop = torch.rand(labels.shape, generator=generator).to(labels.device) < p
    return torch.where(drop, torch.full_like(labels, null_label), labels)


# --- one reverse step -----------------------------------------------------------------------------

def predict_x0(schedule: NoiseSchedule, x_t: Tensor, t: int, eps: Tensor) -> Tensor:
    """x̂_0 = (x_t - √(1-ᾱ_t) ε̂) / √ᾱ_t: the clean sample implied by a noise estimate."""
    a = float(schedule.alpha_bars[int(schedule.check_step(t))])
    return (x_t - math.sqrt(1 - a) * eps) / math.sqrt(a)


def _noise_like(x: Tensor, noise: Tensor | None, generator: torch.Generator | None) -> Tensor:
    if noise is None:
        return torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
    if noise.shape != x.shape:
        raise ValueError(f"noise must have the shape of x_t {tuple(x.shape)}, got {tuple(noise.shape)}")
    return noise


def ddpm_step(schedule: NoiseSchedule, x_t: Tensor, t: int, eps: Tensor, noise: Tensor | None = None,
              generator: torch.Generator | None = None, clip: float | None = None) -> Tensor:
    """One ancestral step x_t -> x_{t-1} (DDPM's Algorithm 2, written with x̂_0).

    x̂_0 from ε̂ (clamped to [-clip, clip] if ``clip``), then the posterior q(x_{t-1} | x_t, x̂_0):
    mean μ̃ = √ᾱ_{t-1} β_t/(1-ᾱ_t) x̂_0 + √α_t (1-ᾱ_{t-1})/(1-ᾱ_t) x_t and variance
    β̃_t = (1-ᾱ_{t-1})/(1-ᾱ_t) β_t; at t = 0 it returns x̂_0 (no noise is added).
    """
    t = int(schedule.check_step(t))
    x0 = predict_x0(schedule, x_t, t, eps)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
    if t == 0:
        return x0
    a_bar, a_bar_prev = float(schedule.alpha_bars[t]), float(schedule.alpha_bars[t - 1])
    beta, alpha = float(schedule.betas[t]), float(schedule.alphas[t])
    mean = (math.sqrt(a_bar_prev) * beta / (1 - a_bar)) * x0 + (math.sqrt(alpha) * (1 - a_bar_prev) / (1 - a_bar)) * x_t
    variance = (1 - a_bar_prev) / (1 - a_bar) * beta
    return mean + math.sqrt(variance) * _noise_like(x_t, noise, generator)


def ddim_step(schedule: NoiseSchedule, x_t: Tensor, t: int, t_prev: int, eps: Tensor, eta: float = 0.0,
              noise: Tensor | None = None, generator: torch.Generator | None = None,
              clip: float | None = None) -> Tensor:
    """One DDIM step x_t -> x_{t_prev} for any t > t_prev (t_prev = -1 means "to clean data", ᾱ = 1).

    x_{t'} = √ᾱ_{t'} x̂_0 + √(1-ᾱ_{t'}-σ²) ε̂ + σ z with σ = η √((1-ᾱ_{t'})/(1-ᾱ_t)) √(1-ᾱ_t/ᾱ_{t'});
    η = 0 is deterministic; η = 1 with t' = t-1 has DDPM's variance.
    """
    t = int(schedule.check_step(t))
    if not isinstance(t_prev, int) or not -1 <= t_prev < t:
        raise ValueError(f"t_prev must be an int with -1 ≤ t_prev < t = {t}, got {t_prev!r}")
    if not 0 <= eta <= 1:
        raise ValueError(f"eta must lie in [0, 1] (0: deterministic DDIM, 1: DDPM's noise), got {eta}")
    a_bar = float(schedule.alpha_bars[t])
    a_prev = 1.0 if t_prev < 0 else float(schedule.alpha_bars[t_prev])
    x0 = predict_x0(schedule, x_t, t, eps)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
        eps = (x_t - math.sqrt(a_bar) * x0) / math.sqrt(1 - a_bar)   # the noise consistent with the clamped x̂_0
    sigma = eta * math.sqrt((1 - a_prev) / (1 - a_bar) * (1 - a_bar / a_prev))
    out = math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - sigma ** 2, 0.0)) * eps
    return out + sigma * _noise_like(x_t, noise, generator) if sigma > 0 else out


def guided_noise(model: Denoiser, x_t: Tensor, t: Tensor, labels: Tensor | None, scale: float,
                 null_label: int | None) -> Tensor:
    """Classifier-free guidance: ε_u + s (ε_c - ε_u), both predictions from one batched call.

    scale s = 1 (or no labels) calls the model once, with the labels as given."""
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale < 0:
        raise ValueError(f"the guidance scale must be a finite number ≥ 0 (1 = no guidance), got {scale!r}")
    if labels is None or scale == 1:
        return model(x_t, t, labels)
    if null_label is None:
        raise ValueError("guidance needs the model's null label (the label it was trained with when "
                         "the condition was dropped)")
    both = model(torch.cat([x_t, x_t]), torch.cat([t, t]),
                 torch.cat([labels, torch.full_like(labels, null_label)]))
    cond, uncond = both.chunk(2)
    return uncond + scale * (cond - uncond)


# --- samplers -------------------------------------------------------------------------------------

def sampling_steps(total: int, n: int) -> list[int]:
    """``n`` evenly spaced steps from T-1 down ("trailing" spacing in ``diffusers``): round(T - k T/n) - 1
    for k = 0..n-1, so the last is T/n - 1 (the sampler's final update then goes to clean data);
    n = T gives every step T-1, ..., 0."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= total:
        raise ValueError(f"the number of sampling steps must be an int in 1..{total} (T), got {n!r}")
    return [int(round(total - k * total / n)) - 1 for k in range(n)]


@torch.no_grad()
def sample(model: Denoiser, schedule: NoiseSchedule, shape: tuple[int, ...], *, steps: int | None = None,
           method: str = "ddpm", eta: float = 0.0, labels: Tensor | None = None, guidance: float = 1.0,
           null_label: int | None = None, clip: float | None = None, generator: torch.Generator | None = None,
           device: torch.device | str = "cpu", keep: tuple[int, ...] = ()) -> Tensor | tuple[Tensor, dict[int, Tensor]]:
    """Draw samples of ``shape`` (N, ...) by running the reverse chain from x_{T-1} ~ N(0, I).

    method "ddpm": ancestral sampling over all T steps (``steps`` must be None or T);
    method "ddim": ``steps`` DDIM updates (default 50) with noise level ``eta``.
    labels (N,) and ``guidance`` select classifier-free guidance (see :func:`guided_noise`).
    ``keep``: steps t whose x_t is also returned, as {t: x_t} (for pictures of the chain).
    """
    if method not in ("ddpm", "ddim"):
        raise ValueError(f"method must be 'ddpm' or 'ddim', got {method!r}")
    if method == "ddpm":
        if steps not in (None, schedule.steps):
            raise ValueError(f"ancestral sampling runs all T = {schedule.steps} steps; for fewer, use "
                             f"method='ddim' (got steps={steps})")
        times = list(range(schedule.steps - 1, -1, -1))
    else:
        times = sampling_steps(schedule.steps, 50 if steps is None else steps)
    if labels is not None and len(labels) != shape[0]:
        raise ValueError(f"need one label per sample: {shape[0]} samples, {len(labels)} labels")
    x = torch.randn(shape, generator=generator).to(device)
    labels = None if labels is None else labels.to(device)
    kept: dict[int, Tensor] = {}
    for i, t in enumerate(times):
        t_batch = torch.full((shape[0],), t, dtype=torch.long, device=device)
        eps = guided_noise(model, x, t_batch, labels, guidance, null_label)
        if t in keep:
            kept[t] = x.cpu()
        if method == "ddpm":
            x = ddpm_step(schedule, x, t, eps, generator=generator, clip=clip)
        else:
            t_prev = times[i + 1] if i + 1 < len(times) else -1
            x = ddim_step(schedule, x, t, t_prev, eps, eta=eta, generator=generator, clip=clip)
    return (x, kept) if keep else x
