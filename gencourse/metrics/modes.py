"""Mode coverage on toy mixtures with known modes (chapters 02, 03, 08).

The synthetic benchmark of "VEEGAN" (Srivastava et al., 2017) and "PacGAN" (Lin et al., 2018):
a generated sample is *high-quality* if it lies within 3 standard deviations of its nearest
mode; a mode is *covered* if it is the nearest mode of at least one high-quality sample.
Coverage alone rewards a generator that puts one stray sample on each mode, so we also report
how evenly the high-quality samples spread over the modes: the KL divergence of their mode
histogram p from the uniform distribution u, KL(p ‖ u) = Σ_k p_k log(K p_k) (0 for a perfectly
even spread, log K when every sample sits on one mode). Only possible where the modes are
known: on real data the feature-space metrics (``frechet``, ``manifold``) take over.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

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
