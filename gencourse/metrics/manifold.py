"""Fidelity and diversity from k-nearest-neighbour balls in a feature space.

Improved precision and recall ("Improved Precision and Recall Metric for Assessing Generative
Models", Kynkäänniemi et al., 2019) split quality from coverage: each set's manifold is the
union of balls around its points, each reaching the point's k-th nearest neighbour in the same
set. Both lie in [0, 1]. Known weakness: a single outlier in the generated set makes a huge
ball that swallows many real points, so recall overestimates; one real outlier does the same
for precision.

Density and coverage ("Reliable Fidelity and Diversity Metrics for Generative Models", Naeem et
al., 2020) use only the real balls, which are less prone to outliers: density counts how many
real balls hold each generated sample (divided by k, so about 1 when the two sets come from one
distribution, above 1 when samples crowd where real data is dense, unbounded); coverage is the
share of real points whose ball holds at least one generated sample ([0, 1]; about
1 − (1/2)^k for identical distributions of equal size).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


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


def _feature_pair(real_features: Tensor, fake_features: Tensor, k: int,
                  fake_balls: bool = True) -> tuple[Tensor, Tensor]:
    """Both feature sets as float64 (N, D), (M, D), checked; k must be below the size of each set
    that gets balls (the real set, and the generated one unless ``fake_balls`` is False)."""
    real = torch.as_tensor(real_features).detach().double().cpu()
    fake = torch.as_tensor(fake_features).detach().double().cpu()
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, D) with the same D, got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    limit = min(len(real), len(fake)) if fake_balls else len(real)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k >= limit:
        raise ValueError(f"k must be an int with 1 ≤ k < {limit} (the size of the smallest set with k-NN balls), "
                         f"got {k!r}")
    if not (torch.isfinite(real).all() and torch.isfinite(fake).all()):
        raise ValueError("features contain NaN or inf: check the generator's output before scoring it")
    return real, fake


def precision_recall(real_features: Tensor, fake_features: Tensor, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al., 2019) on features (N, D) and (M, D).

    A generated sample counts towards precision if it falls in some real ball; a real sample
    counts towards recall if it falls in some generated ball. The paper uses k = 3.
    """
    real, fake = _feature_pair(real_features, fake_features, k)
    cross = torch.cdist(fake, real)                                    # (M, N)
    precision = (cross <= _knn_radii(real, k)[None, :]).any(dim=1).double().mean()
    recall = (cross <= _knn_radii(fake, k)[:, None]).any(dim=0).double().mean()
    return PrecisionRecall(float(precision), float(recall))


@dataclass(frozen=True)
class DensityCoverage:
    """density: mean number of real k-NN balls holding a generated sample, divided by k (≈ 1 for
    matching distributions); coverage: share of real points whose ball holds a generated sample."""

    density: float
    coverage: float


def density_coverage(real_features: Tensor, fake_features: Tensor, k: int = 5) -> DensityCoverage:
    """Density and coverage (Naeem et al., 2020; the paper uses k = 5) on features (N, D), (M, D).

    density  = (1 / kM) Σ_j Σ_i 1[y_j ∈ B(x_i, r_k(x_i))]
    coverage = (1 / N) Σ_i 1[∃ j: y_j ∈ B(x_i, r_k(x_i))]
    with x real, y generated and r_k(x_i) the distance from x_i to its k-th nearest real neighbour.
    """
    real, fake = _feature_pair(real_features, fake_features, k, fake_balls=False)
    inside = torch.cdist(real, fake) <= _knn_radii(real, k)[:, None]   # (N, M)
    return DensityCoverage(float(inside.double().sum(dim=0).mean() / k),
                           float(inside.any(dim=1).double().mean()))


def realism_score(real_features: Tensor, fake_features: Tensor, k: int = 3, keep: float = 0.5) -> Tensor:
    """The realism score of each generated sample (Kynkäänniemi et al., 2019): (M,) values, ≥ 1 inside
    the real manifold, towards 0 far from it.

    R(y) = max_i r_k(x_i) / ‖y − x_i‖ over real points x_i, with r_k(x_i) the k-NN radius of x_i.
    As in the paper, only the ``keep`` share of real points with the smallest radii is used, so a few
    outliers with huge balls cannot make everything look real.
    """
    real, fake = _feature_pair(real_features, fake_features, k, fake_balls=False)
    if not 0 < keep <= 1:
        raise ValueError(f"keep must lie in (0, 1], got {keep!r}")
    radii = _knn_radii(real, k)
    kept = radii <= torch.quantile(radii, keep)
    ratio = radii[kept][None, :] / torch.cdist(fake, real[kept]).clamp_min(1e-12)    # (M, N kept)
    return ratio.max(dim=1).values
