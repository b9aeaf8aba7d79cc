"""Distances between two feature sets: the Fréchet distance and the kernel distance.

The Fréchet distance ("GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", Heusel et al., 2017; FID when the features are Inception's) between Gaussians
fitted to two feature sets: ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½). Range [0, ∞), 0 only for
equal means and covariances; it sees only the first two moments of the features. Its plug-in
estimate is biased upwards, and the bias grows as N shrinks and as the feature dimension
grows, roughly as c/N ("Effectively Unbiased FID and Inception Score and where to find them",
Chong and Forsyth, 2020): compare scores only at the same N, next to a real-vs-real baseline
at that N, or extrapolate to N = ∞ (``frechet_distance_at_infinity``).

The kernel distance ("Demystifying MMD GANs", Bińkowski et al., 2018; KID when the features
are Inception's): the unbiased estimate of the squared maximum mean discrepancy with the cubic
polynomial kernel k(x, y) = (x·y / D + 1)³. Its expectation is exactly 0 when both sets come
from one distribution, whatever N, so small samples do not inflate it (they only make it noisier).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


def _sqrtm_psd_product_trace(cov1: np.ndarray, cov2: np.ndarray) -> float:
    """Tr((Σ₁ Σ₂)^½) for symmetric PSD Σ₁, Σ₂, via the symmetric form Σ₁^½ Σ₂ Σ₁^½."""
    w1, v1 = np.linalg.eigh(cov1)
    root1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    inner = root1 @ cov2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    return float(np.sqrt(np.clip(eig, 0, None)).sum())


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2); means (D,), covariances (D, D)."""
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    cov1, cov2 = np.asarray(cov1, dtype=np.float64), np.asarray(cov2, dtype=np.float64)
    d = mu1.shape[0]
    if mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"shapes do not match: mu1 {mu1.shape}, cov1 {cov1.shape}, "
                         f"mu2 {mu2.shape}, cov2 {cov2.shape}; expected (D,) and (D, D)")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * _sqrtm_psd_product_trace(cov1, cov2)
    return float(max(value, 0.0))


def frechet_distance_from_features(features1: Tensor | np.ndarray,
                                   features2: Tensor | np.ndarray) -> float:
    """Fit a Gaussian to each feature set (N, D) and return their Fréchet distance."""
    f1 = features1.detach().cpu().double().numpy() if isinstance(features1, Tensor) else np.asarray(features1, float)
    f2 = features2.detach().cpu().double().numpy() if isinstance(features2, Tensor) else np.asarray(features2, float)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"features must be (N, D) with the same D, got {f1.shape} and {f2.shape}")
    if len(f1) < 2 or len(f2) < 2:
        raise ValueError("need at least 2 samples in each feature set to estimate a covariance")
    return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False),
                            f2.mean(0), np.cov(f2, rowvar=False))


def _features(x: Tensor | np.ndarray, name: str) -> Tensor:
    t = torch.as_tensor(x).detach().double().cpu()
    if t.ndim != 2:
        raise ValueError(f"{name} must be (N, D), got shape {tuple(t.shape)}")
    return t


def kernel_distance(features1: Tensor | np.ndarray, features2: Tensor | np.ndarray) -> float:
    """Unbiased MMD² between feature sets (N, D) and (M, D) with the cubic polynomial kernel
    k(x, y) = (x·y / D + 1)³ ("Demystifying MMD GANs", Bińkowski et al., 2018).

    The within-set averages leave out the diagonal (a point with itself), which makes the
    estimate unbiased: about 0 (and sometimes slightly negative) for two samples of one
    distribution, positive when they differ. N, M ≥ 2.
    """
    x, y = _features(features1, "features1"), _features(features2, "features2")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"features must be (N, D) with the same D, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    n, m, d = len(x), len(y), x.shape[1]
    if n < 2 or m < 2:
        raise ValueError(f"need at least 2 samples in each feature set, got {n} and {m}")
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


@dataclass(frozen=True)
class FrechetAtInfinity:
    """FD ≈ value + slope / n fitted to the mean FD at each subset size n (``sizes``, ``means``)."""

    value: float
    slope: float
    sizes: tuple[int, ...]
    means: tuple[float, ...]


def frechet_distance_at_infinity(features1: Tensor | np.ndarray, features2: Tensor | np.ndarray,
                                 sizes: tuple[int, ...] | None = None, repeats: int = 3, seed: int = 0,
                                 both: bool = False) -> FrechetAtInfinity:
    """The Fréchet distance extrapolated to infinitely many samples (Chong and Forsyth, 2020).

    FD is computed on random subsets of n rows of ``features1`` (N, D), against all of
    ``features2`` (M, D) or, with ``both``, against random subsets of n of its rows too; a line
    FD = a + b / n is fitted to the means over ``repeats`` subsets, and a estimates the distance at
    n = ∞. Only the subsampled sets' bias is removed: against a fixed ``features2`` its own bias,
    about c / M, remains in a, so use as large a reference as you have, or ``both`` when the two
    sets are equally large. ``sizes`` defaults to 5 sizes from N/5 to N (to min(N, M) with ``both``).
    """
    f1 = torch.as_tensor(features1).detach().double().cpu()
    f2 = torch.as_tensor(features2).detach().double().cpu()
    n = min(len(f1), len(f2)) if both else len(f1)
    sizes = tuple(sizes or (int(n * f) for f in (0.2, 0.4, 0.6, 0.8, 1.0)))
    if len(sizes) < 2 or min(sizes) < 2 or max(sizes) > n:
        raise ValueError(f"need at least 2 subset sizes in 2..{n} (the rows available), got {sizes}")
    g = torch.Generator().manual_seed(seed)

    def subset(f: Tensor, m: int) -> Tensor:
        return f[torch.randperm(len(f), generator=g)[:m]]

    means = tuple(float(np.mean([frechet_distance_from_features(subset(f1, m), subset(f2, m) if both else f2)
                                 for _ in range(repeats)])) for m in sizes)
    slope, intercept = np.polyfit(1.0 / np.asarray(sizes, dtype=float), means, 1)
    return FrechetAtInfinity(float(intercept), float(slope), sizes, means)
