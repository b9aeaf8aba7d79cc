"""Measures of generated samples: mode coverage on toy mixtures, precision and recall, the
Fréchet distance and the kernel distance.

Mode coverage follows the synthetic benchmark of "VEEGAN" (Srivastava et al., 2017)
and "PacGAN" (Lin et al., 2018): a generated sample is *high-quality* if it lies
within 3 standard deviations of its nearest mode; a mode is *covered* if it is the
nearest mode of at least one high-quality sample. Coverage alone rewards a
generator that puts one stray sample on each mode, so we also report how evenly
the high-quality samples spread over the modes: the KL divergence of their mode
histogram p from the uniform distribution u, KL(p ‖ u) = Σ_k p_k log(K p_k)
(0 for a perfectly even spread, log K when every sample sits on one mode).

Improved precision and recall (Kynkäänniemi et al., 2019) split quality from coverage
using k-nearest-neighbour balls in a feature space.

The Fréchet distance ("GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", Heusel et al., 2017) between Gaussians fitted to two
feature sets: ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½). Its plug-in estimate is biased
upwards, and the bias grows as N shrinks and as the feature dimension grows: compare
scores only at the same N, next to a real-vs-real baseline at that N.

The kernel distance ("Demystifying MMD GANs", Bińkowski et al., 2018; KID when the
features are Inception's): the unbiased estimate of the squared maximum mean
discrepancy with the cubic polynomial kernel k(x, y) = (x·y / D + 1)³. Its expectation
is exactly 0 when both sets come from one distribution, whatever N.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gencourse.data.toy2d import Toy2D


@dataclass(frozen=True)
class ModeCoverage:
    """modes: covered modes; high_quality: fraction of samples within n_std of a mode;
    kl: KL(histogram of high-quality samples over modes ‖ uniform), inf if none is high-quality."""

    modes: int
    n_modes: int
    high_quality: float
    kl: float
    counts: tuple[int, ...]


def mode_coverage(samples: Tensor, dist: Toy2D, n_std: float = 3.0) -> ModeCoverage:
    """Score generated samples (N, 2) against the known modes of ``dist``."""
    assignment = dist.assign(samples, n_std=n_std)
    counts = assignment.counts().double()
    total = counts.sum()
    if total == 0:
        kl = math.inf
    else:
        p = counts / total
        nz = p > 0
        kl = float((p[nz] * torch.log(p[nz] * dist.n_modes)).sum())
    return ModeCoverage(assignment.modes_covered, dist.n_modes,
                        assignment.high_quality_fraction, kl,
                        tuple(int(c) for c in counts.tolist()))


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample std / √n; 0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("mean_and_stderr needs at least one value")
    stderr = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else 0.0
    return float(arr.mean()), stderr


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
class PrecisionRecall:
    """precision: share of generated samples inside the real data's k-NN manifold (are they
    realistic?); recall: share of real samples inside the generated manifold (is the data covered?)."""

    precision: float
    recall: float


def _knn_radii(features: Tensor, k: int) -> Tensor:
    """Distance from each row (N, D) to its k-th nearest other row: (N,)."""
    dist = torch.cdist(features, features)
    return dist.kthvalue(k + 1, dim=1).values   # the 1st smallest is the point itself (0)


def precision_recall(real_features: Tensor, fake_features: Tensor, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall ("Improved Precision and Recall Metric for Assessing
    Generative Models", Kynkäänniemi et al., 2019) on features (N, D) and (M, D).

    Each set's manifold is the union of balls around its points, each ball reaching the point's
    k-th nearest neighbour in the same set. A generated sample counts towards precision if it
    falls in some real ball; a real sample counts towards recall if it falls in some generated ball.
    """
    real = torch.as_tensor(real_features).detach().double().cpu()
    fake = torch.as_tensor(fake_features).detach().double().cpu()
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, D) with the same D, got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    if not isinstance(k, int) or k < 1 or k >= min(len(real), len(fake)):
        raise ValueError(f"k must be an int with 1 ≤ k < the smaller set's size "
                         f"({min(len(real), len(fake))}), got {k!r}")
    cross = torch.cdist(fake, real)                                    # (M, N)
    precision = (cross <= _knn_radii(real, k)[None, :]).any(dim=1).double().mean()
    recall = (cross <= _knn_radii(fake, k)[:, None]).any(dim=0).double().mean()
    return PrecisionRecall(float(precision), float(recall))
