"""Measures of generated samples: mode coverage on toy mixtures, the Fréchet distance.

Mode coverage follows the synthetic benchmark of "VEEGAN" (Srivastava et al., 2017)
and "PacGAN" (Lin et al., 2018): a generated sample is *high-quality* if it lies
within 3 standard deviations of its nearest mode; a mode is *covered* if it is the
nearest mode of at least one high-quality sample. Coverage alone rewards a
generator that puts one stray sample on each mode, so we also report how evenly
the high-quality samples spread over the modes: the KL divergence of their mode
histogram p from the uniform distribution u, KL(p ‖ u) = Σ_k p_k log(K p_k)
(0 for a perfectly even spread, log K when every sample sits on one mode).

The Fréchet distance ("GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", Heusel et al., 2017) between Gaussians fitted to two
feature sets: ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½).
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
