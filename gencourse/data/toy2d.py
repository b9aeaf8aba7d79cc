"""2-D distributions whose modes are known, so that a model's samples can be scored.

Each distribution is a set of *modes*. A mode is a small set of anchor points
(one point for a Gaussian blob, many points along a curve for a moon) and a
sample is drawn by picking a mode uniformly, an anchor in it uniformly, and
adding isotropic Gaussian noise of standard deviation ``std``. Because the
generating process is known, ``assign`` can tell for any point which mode it
belongs to and whether it lies within ``n_std`` standard deviations of it.

The ring and the grid follow the synthetic benchmark of "VEEGAN" (Srivastava et
al., 2017) and "PacGAN" (Lin et al., 2018): ring means (cos 2πk/8, sin 2πk/8)
with std 0.01, grid means in {-4,-2,0,2,4}² with std 0.05.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ModeAssignment:
    """Which mode each sample is nearest to, and whether it is close enough.

    mode:         (N,) int64, index of the nearest mode
    distance:     (N,) float, distance to that mode's nearest anchor
    high_quality: (N,) bool, distance <= n_std * std
    """

    mode: Tensor
    distance: Tensor
    high_quality: Tensor
    n_modes: int

    def counts(self, high_quality_only: bool = True) -> Tensor:
        """(n_modes,) int64: how many samples fall on each mode."""
        modes = self.mode[self.high_quality] if high_quality_only else self.mode
        return torch.bincount(modes, minlength=self.n_modes)

    @property
    def modes_covered(self) -> int:
        """Modes that are the nearest mode of at least one high-quality sample."""
        return int((self.counts() > 0).sum())

    @property
    def high_quality_fraction(self) -> float:
        return float(self.high_quality.float().mean()) if len(self.high_quality) else 0.0


class Toy2D:
    """A 2-D distribution made of ``n_modes`` modes with known anchor points.

    anchors: (A, 2) float32 anchor points; anchor_mode: (A,) int64 mode of each anchor.
    """

    def __init__(self, name: str, anchors: Tensor, anchor_mode: Tensor, std: float):
        if anchors.ndim != 2 or anchors.shape[1] != 2:
            raise ValueError(f"anchors must have shape (A, 2), got {tuple(anchors.shape)}")
        if std <= 0:
            raise ValueError(f"std must be positive, got {std}")
        self.name = name
        self.anchors = anchors.float()
        self.anchor_mode = anchor_mode.long()
        self.std = float(std)
        self.n_modes = int(self.anchor_mode.max()) + 1
        # Start index and size of each mode's anchors (anchors are stored mode by mode).
        self._sizes = torch.bincount(self.anchor_mode, minlength=self.n_modes)
        self._starts = torch.cumsum(self._sizes, 0) - self._sizes

    @property
    def centers(self) -> Tensor:
        """(n_modes, 2): the mean of each mode's anchors (the mode centre for blobs)."""
        sums = torch.zeros(self.n_modes, 2).index_add_(0, self.anchor_mode, self.anchors)
        return sums / self._sizes[:, None]

    def sample(self, n: int, seed: int | None = None, generator: torch.Generator | None = None,
               return_modes: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Draw ``n`` points, shape (n, 2); with ``return_modes`` also their (n,) mode labels."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else seed)
        modes = torch.randint(self.n_modes, (n,), generator=generator)
        offsets = (torch.rand(n, generator=generator) * self._sizes[modes]).long()
        points = self.anchors[self._starts[modes] + offsets]
        points = points + self.std * torch.randn(n, 2, generator=generator)
        return (points, modes) if return_modes else points

    def assign(self, x: Tensor, n_std: float = 3.0) -> ModeAssignment:
        """Nearest mode of each point of ``x`` (N, 2) and whether it is within ``n_std`` std."""
        x = torch.as_tensor(x).detach().float().cpu()
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"x must have shape (N, 2), got {tuple(x.shape)}")
        d_anchor = torch.cdist(x, self.anchors)                   # (N, A)
        per_mode = torch.full((len(x), self.n_modes), float("inf"))
        per_mode = per_mode.scatter_reduce(1, self.anchor_mode.expand(len(x), -1), d_anchor,
                                           reduce="amin")        # (N, n_modes)
        distance, mode = per_mode.min(dim=1)
        return ModeAssignment(mode, distance, distance <= n_std * self.std, self.n_modes)

    def __repr__(self) -> str:
        return f"Toy2D({self.name!r}, n_modes={self.n_modes}, std={self.std})"


def _positive_int(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> Toy2D:
    """``n_modes`` Gaussians evenly on a circle; angle 2πk/n_modes for k = 0..n_modes-1.

    (The endpoint is excluded: a linspace over [0, 2π] that includes it would put
    two modes on top of each other.)
    """
    _positive_int("n_modes", n_modes)
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return Toy2D(f"ring{n_modes}", centers, torch.arange(n_modes), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Toy2D:
    """side² Gaussians on a square grid centred on 0 (default: means in {-4,-2,0,2,4}²)."""
    _positive_int("side", side)
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    centers = torch.stack([xs.flatten(), ys.flatten()], dim=1)
    return Toy2D(f"grid{side * side}", centers, torch.arange(side * side), std)


def moons(std: float = 0.1, points_per_moon: int = 400) -> Toy2D:
    """Two interleaved half circles (two modes), as in scikit-learn's make_moons."""
    _positive_int("points_per_moon", points_per_moon)
    t = torch.linspace(0, math.pi, points_per_moon, dtype=torch.float64)
    upper = torch.stack([t.cos(), t.sin()], dim=1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
    anchors = torch.cat([upper, lower])
    labels = torch.arange(2).repeat_interleave(points_per_moon)
    return Toy2D("moons", anchors, labels, std)


def spiral(n_modes: int = 20, turns: float = 1.5, std: float = 0.05) -> Toy2D:
    """``n_modes`` Gaussians placed at equal arc steps along an Archimedean spiral."""
    _positive_int("n_modes", n_modes)
    # Spiral r = a·θ; spread the modes evenly in θ² (≈ arc length) from the start.
    theta_max = 2 * math.pi * turns
    theta = torch.sqrt(torch.linspace(0.15, 1.0, n_modes, dtype=torch.float64)) * theta_max
    r = theta / theta_max * 2.0
    centers = torch.stack([r * theta.cos(), r * theta.sin()], dim=1)
    return Toy2D(f"spiral{n_modes}", centers, torch.arange(n_modes), std)


_FACTORIES = {"ring": ring, "grid": grid, "moons": moons, "spiral": spiral}


def toy2d(name: str, **kwargs) -> Toy2D:
    """Build a toy distribution by name: one of ring, grid, moons, spiral."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown toy distribution {name!r}; choose one of {', '.join(_FACTORIES)}")
    return _FACTORIES[name](**kwargs)
