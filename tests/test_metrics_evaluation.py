"""Chapter 09's metrics against closed forms, independent implementations (torchmetrics, scipy,
scikit-learn) and constructed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gencourse.metrics import (
    bits_per_dim, bootstrap_interval, cohens_kappa, density_coverage, frechet_distance, frechet_distance_at_infinity,
    frechet_distance_from_features, inception_score, kernel_distance, mean_interval, perplexity, realism_score,
    wilson_interval,
)


class _Identity(torch.nn.Module):
    """Features are the inputs themselves; ``num_features`` is what torchmetrics asks for."""

    def __init__(self, d: int):
        super().__init__()
        self.num_features = d

    def forward(self, x):
        return x


def _pair(seed=0, n=200, m=150, d=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), 1.3 * torch.randn(m, d, generator=g, dtype=torch.float64) + 0.4


# ---------------------------------------------------------------- torchmetrics as the oracle
def test_frechet_distance_equals_torchmetrics_fid_with_the_same_features():
    from torchmetrics.image.fid import FrechetInceptionDistance
    real, fake = _pair()
    fid = FrechetInceptionDistance(feature=_Identity(5))
    fid.update(real, real=True)
    fid.update(fake, real=False)
    assert frechet_distance_from_features(fake, real) == pytest.approx(float(fid.compute()), rel=1e-6)


def test_kernel_distance_equals_torchmetrics_kid_on_one_full_subset():
    from torchmetrics.image.kid import KernelInceptionDistance
    real, fake = _pair(m=200)
    kid = KernelInceptionDistance(feature=_Identity(5), subsets=1, subset_size=200)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    assert kernel_distance(fake, real) == pytest.approx(float(kid.compute()[0]), rel=1e-6)


def test_inception_score_equals_torchmetrics_with_one_split():
    from torchmetrics.image.inception import InceptionScore
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(300, 10, generator=g, dtype=torch.float64)
    metric = InceptionScore(feature=_Identity(10), splits=1)
    metric.update(logits)                                           # torchmetrics applies the softmax itself
    assert inception_score(logits.softmax(dim=1)) == pytest.approx(float(metric.compute()[0]), rel=1e-6)


def test_judge_wrappers_plug_into_torchmetrics():
    from torchmetrics.image.fid import FrechetInceptionDistance

    from gencourse.experiments.evaluation import JudgeFeatures, JudgeLogits
    from gencourse.models.judge import DigitsJudge
    judge = DigitsJudge().eval()
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(40, 1, 8, 8, generator=g), torch.rand(40, 1, 8, 8, generator=g) ** 2
    fid = FrechetInceptionDistance(feature=JudgeFeatures(judge))
    fid.update(a, real=True)
    fid.update(b, real=False)
    with torch.no_grad():
        ours = frechet_distance_from_features(judge.features(b), judge.features(a))
        assert JudgeLogits(judge)(a).shape == (40, 10)
    assert ours == pytest.approx(float(fid.compute()), rel=1e-4)


# ---------------------------------------------------------------- Inception score: closed forms
def test_inception_score_closed_forms():
    one_hot = torch.eye(4, dtype=torch.float64).repeat(3, 1)          # every class equally, each sample certain
    assert inception_score(one_hot) == pytest.approx(4.0)
    same = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64).repeat(10, 1)
    assert inception_score(same) == pytest.approx(1.0)               # all samples alike: p(y|x) = p(y)
    uniform = torch.full((5, 3), 1 / 3, dtype=torch.float64)
    assert inception_score(uniform) == pytest.approx(1.0)
    # two certain classes used 3:1 -> exp(entropy of (3/4, 1/4))
    mixed = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]], dtype=torch.float64)
    assert inception_score(mixed) == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))


def test_inception_score_splits_average_their_scores():
    p = torch.cat([torch.eye(2, dtype=torch.float64).repeat(4, 1), torch.tensor([[1.0, 0.0]] * 8, dtype=torch.float64)])
    assert inception_score(p, splits=2) == pytest.approx((2.0 + 1.0) / 2)


def test_inception_score_rejects_logits_and_bad_splits():
    with pytest.raises(ValueError, match="softmax"):
        inception_score(torch.randn(5, 3))
    with pytest.raises(ValueError, match="splits"):
        inception_score(torch.eye(3), splits=4)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        inception_score(torch.ones(4))


# ---------------------------------------------------------------- density, coverage, realism
def _brute_density_coverage(real, fake, k):
    from sklearn.neighbors import NearestNeighbors
    radius = NearestNeighbors(n_neighbors=k + 1).fit(real).kneighbors(real)[0][:, -1]
    d = torch.cdist(fake.double(), real.double()).numpy()
    inside = [[d[j, i] <= radius[i] for i in range(len(real))] for j in range(len(fake))]
    density = sum(sum(row) for row in inside) / (k * len(fake))
    coverage = sum(any(inside[j][i] for j in range(len(fake))) for i in range(len(real))) / len(real)
    return density, coverage


@pytest.mark.parametrize("k", [1, 5])
def test_density_and_coverage_match_a_brute_force_count(k):
    real, fake = _pair(seed=3, n=60, m=45, d=3)
    got = density_coverage(real, fake, k=k)
    density, coverage = _brute_density_coverage(real, fake, k)
    assert got.density == pytest.approx(density) and got.coverage == pytest.approx(coverage)


def test_density_and_coverage_on_separable_clusters():
    g = torch.Generator().manual_seed(0)
    real = torch.cat([torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g) + 30])
    half = torch.randn(400, 2, generator=g)                           # covers only the first cluster
    dc = density_coverage(real, half, k=5)
    assert 0.4 < dc.coverage <= 0.55 and 0.8 < dc.density < 1.25    # realistic samples, half the data missing
    collapsed = density_coverage(real, 0.05 * torch.randn(400, 2, generator=g), k=5)
    assert collapsed.coverage < 0.1                                   # every sample at one point
    same = density_coverage(real, torch.cat([torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g) + 30]))
    assert 0.8 < same.density < 1.25 and same.coverage > 0.9


def test_realism_score_is_high_inside_and_low_outside_the_real_manifold():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(300, 2, generator=g)
    score = realism_score(real, torch.tensor([[0.0, 0.0], [8.0, 8.0]]))
    assert score[0] > 1.0 and score[1] < 0.2
    # against a loop over the kept real points (the half with the smallest radii)
    from sklearn.neighbors import NearestNeighbors
    radius = NearestNeighbors(n_neighbors=4).fit(real).kneighbors(real)[0][:, -1]
    kept = radius <= np.quantile(radius, 0.5)
    y = np.array([8.0, 8.0])
    expected = max(radius[i] / np.linalg.norm(y - real[i].numpy()) for i in np.flatnonzero(kept))
    assert float(score[1]) == pytest.approx(expected)


def test_a_point_on_a_balls_boundary_counts_as_inside():
    from gencourse.metrics import precision_recall
    real = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [6.0, 0.0]], dtype=torch.float64)
    fake = torch.tensor([[2.0, 0.0], [3.5, 0.0], [7.0, 0.0]], dtype=torch.float64)
    # k = 1: every real radius is 1; the fakes at 2 and 7 sit exactly on a ball's boundary, 3.5 is outside
    assert precision_recall(real, fake, k=1).precision == pytest.approx(2 / 3)
    dc = density_coverage(real, fake, k=1)
    assert dc.coverage == pytest.approx(2 / 4) and dc.density == pytest.approx(2 / 3)


def test_manifold_metrics_reject_nan_features():
    with pytest.raises(ValueError, match="NaN"):
        density_coverage(torch.randn(10, 2), torch.full((10, 2), float("nan")))


# ---------------------------------------------------------------- Fréchet distance's bias
def test_frechet_distance_at_infinity_removes_most_of_the_small_sample_bias():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2000, 8, generator=g), torch.randn(2000, 8, generator=g)
    plain = frechet_distance_from_features(a[:200], b[:200])
    fit = frechet_distance_at_infinity(a, b, sizes=(200, 400, 1000, 2000), repeats=3, both=True)
    assert plain > 0.3 and abs(fit.value) < 0.15 * plain
    # the fitted line goes through the measured means, and the slope is the bias at n = 1
    for n, mean in zip(fit.sizes, fit.means):
        assert fit.value + fit.slope / n == pytest.approx(mean, abs=0.05 * plain)
    assert fit.slope == pytest.approx(200 * (plain - fit.value), rel=0.3)
    # against a fixed reference of 200 rows, that reference's own bias remains
    fixed = frechet_distance_at_infinity(a, b[:200], sizes=(200, 400, 1000, 2000), repeats=3)
    assert fixed.value > 3 * abs(fit.value)
    with pytest.raises(ValueError, match="subset sizes"):
        frechet_distance_at_infinity(a, b, sizes=(10,))


def test_frechet_distance_of_two_gaussians_in_closed_form():
    # 1-D: (μ1 − μ2)² + (σ1 − σ2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[1.0]])) == \
        pytest.approx(4.0 + 1.0)


# ---------------------------------------------------------------- likelihood units
def test_bits_per_dim_and_perplexity_by_hand():
    assert bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0)
    assert bits_per_dim(torch.tensor([2.0, 4.0]) * math.log(2), 1) == pytest.approx(3.0)
    assert perplexity(math.log(17)) == pytest.approx(17.0)
    assert perplexity(torch.full((5,), math.log(3))) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="infinite bits/dim"):
        bits_per_dim(float("inf"), 64)
    with pytest.raises(ValueError, match="dims"):
        bits_per_dim(1.0, 0)


# ---------------------------------------------------------------- intervals and agreement
@pytest.mark.parametrize("wins,n", [(7, 20), (0, 12), (50, 50), (140, 400)])
def test_wilson_interval_equals_scipy(wins, n):
    from scipy.stats import binomtest
    expected = binomtest(wins, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(wins, n)
    assert low == pytest.approx(expected.low, abs=1e-9) and high == pytest.approx(expected.high, abs=1e-9)


def test_wilson_interval_rejects_bad_counts():
    for wins, n in ((3, 2), (-1, 5), (1.5, 4), (True, 3), (0, 0)):
        with pytest.raises(ValueError, match="successes"):
            wilson_interval(wins, n)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(3, 5, confidence=95)


def test_mean_interval_equals_scipys_t_interval():
    from scipy import stats
    values = [10.2, 11.0, 9.4, 10.8, 12.1]
    mean, low, high = mean_interval(values)
    lo, hi = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values)) and low == pytest.approx(lo) and high == pytest.approx(hi)
    with pytest.raises(ValueError, match="at least 2"):
        mean_interval([1.0])


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    small, large = rng.normal(size=30), rng.normal(size=3000)
    lo_s, hi_s = bootstrap_interval(small)
    lo_l, hi_l = bootstrap_interval(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5


def test_cohens_kappa_equals_scikit_learn():
    from sklearn.metrics import cohen_kappa_score
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 3, 200))
    assert cohens_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohens_kappa([1, 0, 1], [1, 0, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same N items"):
        cohens_kappa([1, 0], [1])
