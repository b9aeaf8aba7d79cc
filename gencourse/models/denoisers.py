"""Noise-prediction networks ε_θ(x_t, t, label) for vectors: 2-D points, VAE codes, flattened digits.

The step t enters as a sinusoidal embedding (the transformer's position code, "Attention Is All You
Need", Vaswani et al., 2017, as DDPM uses it), turned by a small MLP into a vector that every
residual block adds to its hidden state; an optional label embedding (with one extra *null* label,
index ``n_classes``, for classifier-free guidance) is added the same way. Image models usually use a
convolutional U-Net; on 64-pixel digits this small MLP keeps sampling over hundreds of steps within
a lesson's time on a CPU (we did not compare the two).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


def time_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """(N,) steps -> (N, dim) sinusoids [cos(t ω_k), sin(t ω_k)], ω_k = max_period^(-k / (dim/2))."""
    if dim % 2:
        raise ValueError(f"the time-embedding size must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([angles.cos(), angles.sin()], dim=1)


@dataclass(frozen=True)
class DenoiserConfig:
    dim: int = 2                # size of a data vector (2 for points, 64 for 8x8 digits)
    hidden: int = 256
    blocks: int = 3             # residual blocks
    time_dim: int = 64          # sinusoidal embedding size
    n_classes: int | None = None  # labels 0..n_classes-1, plus the null label n_classes


class _Block(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.net = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        return h + self.net(self.norm(h + emb))


class MLPDenoiser(nn.Module):
    """ε_θ for vectors: x_t (N, dim) or images (N, C, H, W) with C·H·W = dim, t (N,), labels (N,) or None.

    Returns ε̂ shaped like x_t. With ``n_classes`` set, labels None means "no condition" (all null).
    """

    def __init__(self, config: DenoiserConfig = DenoiserConfig()):
        super().__init__()
        self.config = c = config
        self.time = nn.Sequential(nn.Linear(c.time_dim, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden))
        self.label = None if c.n_classes is None else nn.Embedding(c.n_classes + 1, c.hidden)
        self.inp = nn.Linear(c.dim, c.hidden)
        self.blocks = nn.ModuleList(_Block(c.hidden) for _ in range(c.blocks))
        self.out = nn.Sequential(nn.LayerNorm(c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.dim))
        nn.init.zeros_(self.out[-1].weight)   # start by predicting ε̂ = bias ≈ 0, the mean of the noise
        nn.init.zeros_(self.out[-1].bias)

    @property
    def null_label(self) -> int | None:
        """The label that means "no condition" (classifier-free guidance), or None if unconditional."""
        return self.config.n_classes

    def forward(self, x_t: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        flat = x_t.reshape(len(x_t), -1)
        if flat.shape[1] != self.config.dim:
            raise ValueError(f"expected inputs of {self.config.dim} values each, got shape {tuple(x_t.shape)}")
        emb = self.time(time_embedding(t, self.config.time_dim))
        if self.label is not None:
            if labels is None:
                labels = torch.full((len(x_t),), self.config.n_classes, dtype=torch.long, device=x_t.device)
            emb = emb + self.label(labels)
        elif labels is not None:
            raise ValueError("this denoiser is unconditional (n_classes=None): pass labels=None")
        h = self.inp(flat)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h).reshape(x_t.shape)
