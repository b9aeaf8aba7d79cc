import math

import numpy as np
import pytest
import scipy.linalg
import torch

from gencourse.data import grid, ring
from gencourse.metrics import (
    frechet_distance, frechet_distance_from_features, mean_and_stderr, mode_coverage,
)


def test_real_samples_score_perfectly():
    g = grid()
    cov = mode_coverage(g.sample(2500, seed=0), g)
    assert cov.modes == 25 and cov.high_quality > 0.97 and cov.kl < 0.02


def test_all_samples_on_one_mode_is_full_collapse():
    r = ring()
    cov = mode_coverage(r.centers[3].repeat(2500, 1), r)
    assert cov.modes == 1 and cov.high_quality == 1.0
    assert cov.kl == pytest.approx(math.log(8))


def test_a_handful_of_samples_per_mode_does_not_look_good():
    # Every mode touched once, the rest piled on mode 0: covered, but very uneven.
    g = grid()
    x = torch.cat([g.centers, g.centers[0].repeat(2475, 1)])
    cov = mode_coverage(x, g)
    assert cov.modes == 25
    assert cov.kl > 2.5


def test_samples_far_from_every_mode_cover_nothing():
    r = ring()
    cov = mode_coverage(torch.full((100, 2), 10.0), r)
    assert cov.modes == 0 and cov.high_quality == 0.0 and cov.kl == math.inf


def test_mean_and_stderr():
    mean, se = mean_and_stderr([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    assert mean_and_stderr([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError):
        mean_and_stderr([])


def _scipy_frechet(mu1, c1, mu2, c2):
    covmean = scipy.linalg.sqrtm(c1 @ c2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_scipy_on_random_covariances(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    c1, c2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    assert frechet_distance(mu1, c1, mu2, c2) == pytest.approx(_scipy_frechet(mu1, c1, mu2, c2), rel=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    f = torch.randn(500, 4, generator=torch.Generator().manual_seed(0))
    assert frechet_distance_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    # A pure shift by s adds ‖s‖².
    assert frechet_distance_from_features(f, f + 2.0) == pytest.approx(16.0, rel=1e-6)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance_from_features(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_precision_recall_on_known_cases():
    from gencourse.metrics import precision_recall
    g = torch.Generator().manual_seed(0)
    real = torch.randn(400, 2, generator=g)
    same = precision_recall(real, torch.randn(400, 2, generator=g))
    assert same.precision > 0.9 and same.recall > 0.9
    collapsed = precision_recall(real, torch.randn(400, 2, generator=g) * 0.05)  # all near the centre
    assert collapsed.precision > 0.95 and collapsed.recall < 0.3
    far = precision_recall(real, torch.randn(400, 2, generator=g) + 20)
    assert far.precision == 0.0 and far.recall == 0.0


def test_precision_recall_matches_a_brute_force_count():
    from sklearn.neighbors import NearestNeighbors

    from gencourse.metrics import precision_recall
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(60, 3, generator=g), torch.randn(50, 3, generator=g) * 1.3
    k = 3
    radius_real = NearestNeighbors(n_neighbors=k + 1).fit(real).kneighbors(real)[0][:, -1]
    radius_fake = NearestNeighbors(n_neighbors=k + 1).fit(fake).kneighbors(fake)[0][:, -1]
    d = torch.cdist(fake.double(), real.double()).numpy()
    precision = sum(any(d[i, j] <= radius_real[j] for j in range(60)) for i in range(50)) / 50
    recall = sum(any(d[i, j] <= radius_fake[i] for i in range(50)) for j in range(60)) / 60
    got = precision_recall(real, fake, k=k)
    assert got.precision == pytest.approx(precision) and got.recall == pytest.approx(recall)


def test_precision_recall_rejects_bad_input():
    from gencourse.metrics import precision_recall
    with pytest.raises(ValueError, match="same D"):
        precision_recall(torch.zeros(10, 2), torch.zeros(10, 3))
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(torch.randn(5, 2), torch.randn(5, 2), k=5)


def _brute_force_kernel_distance(x, y):
    """Unbiased MMD² with k(a, b) = (a·b / D + 1)³, one pair at a time."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_distance_matches_a_pair_by_pair_computation(seed):
    from gencourse.metrics import kernel_distance
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(25, 5)) * 1.2 + 0.3   # unequal sizes
    assert kernel_distance(x, y) == pytest.approx(_brute_force_kernel_distance(x, y), rel=1e-9)
    assert kernel_distance(torch.tensor(x), torch.tensor(y)) == pytest.approx(kernel_distance(x, y))


def test_kernel_distance_is_unbiased_for_one_distribution_and_positive_for_two():
    from gencourse.metrics import kernel_distance
    g = torch.Generator().manual_seed(0)
    same = [kernel_distance(torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g))
            for _ in range(200)]
    mean, se = mean_and_stderr(same)
    assert abs(mean) < 3 * se, f"mean {mean:.4g} ± {se:.2g}: the estimate should be unbiased"
    assert min(same) < 0 < max(same)   # an unbiased estimate of 0 must sometimes be negative
    # The biased version (diagonal kept) would sit clearly above 0 at this N.
    shifted = [kernel_distance(torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g) + 0.5)
               for _ in range(20)]
    assert min(shifted) > max(same)


def test_kernel_distance_rejects_bad_input():
    from gencourse.metrics import kernel_distance
    with pytest.raises(ValueError, match="same D"):
        kernel_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="at least 2"):
        kernel_distance(torch.zeros(1, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        kernel_distance(torch.zeros(5), torch.zeros(5, 1))


def _brute_force_precision_recall(real, fake, k):
    """Sort each point's distances to its own set (itself first, at 0) and take the k-th after it."""
    real, fake = np.asarray(real, float), np.asarray(fake, float)

    def radii(a):
        return np.array([sorted(np.linalg.norm(a - p, axis=1))[k] for p in a])

    r_real, r_fake = radii(real), radii(fake)
    precision = np.mean([any(np.linalg.norm(f - q) <= r for q, r in zip(real, r_real)) for f in fake])
    recall = np.mean([any(np.linalg.norm(q - f) <= r for f, r in zip(fake, r_fake)) for q in real])
    return precision, recall


@pytest.mark.parametrize("k", [2, 3])
def test_precision_recall_uses_exactly_the_kth_neighbour(k):
    # Unsaturated data: a shifted generator and few points in 4-D, so precision and recall
    # both move with k -- the (k-1)-th or (k+1)-th neighbour gives other values.
    from gencourse.metrics import precision_recall
    rng = np.random.default_rng(0)
    real = rng.normal(size=(80, 4))
    fake = rng.normal(size=(70, 4)) + 1.5
    expected = _brute_force_precision_recall(real, fake, k)
    for other in (k - 1, k + 1):
        neighbour = _brute_force_precision_recall(real, fake, other)
        assert neighbour[0] != expected[0] and neighbour[1] != expected[1], "data not sensitive to k"
    assert 0.05 < min(expected) and max(expected) < 0.95, f"saturated: {expected}"
    got = precision_recall(torch.tensor(real), torch.tensor(fake), k=k)
    assert (got.precision, got.recall) == pytest.approx(expected)


def test_mode_coverage_kl_is_over_the_high_quality_samples_only():
    # Half the samples on modes 0 and 1 (3:1), half far from every mode: the KL is that of
    # (3/4, 1/4, 0, ...) from uniform, normalised over the high-quality samples, not all samples.
    r = ring()
    x = torch.cat([r.centers[0].repeat(30, 1), r.centers[1].repeat(10, 1), torch.full((40, 2), 10.0)])
    cov = mode_coverage(x, r)
    assert cov.high_quality == 0.5 and cov.counts[:2] == (30, 10)
    expected = 0.75 * math.log(8 * 0.75) + 0.25 * math.log(8 * 0.25)
    assert cov.kl == pytest.approx(expected, rel=1e-9)


def test_mode_coverage_radius_follows_n_std():
    # Samples 2 std from a mode are high-quality at 3 std and not at 1 std.
    r = ring()
    x = r.centers[:4] + torch.tensor([2.0 * r.std, 0.0])
    assert mode_coverage(x, r).high_quality == 1.0
    narrow = mode_coverage(x, r, n_std=1.0)
    assert narrow.high_quality == 0.0 and narrow.modes == 0


def test_frechet_distance_from_features_uses_the_unbiased_covariance():
    # At small N, np.cov's N − 1 and bias=True's N differ enough to tell apart.
    rng = np.random.default_rng(4)
    f1, f2 = rng.normal(size=(6, 3)), rng.normal(size=(5, 3)) + 0.5
    expected = frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))
    biased = frechet_distance(f1.mean(0), np.cov(f1, rowvar=False, bias=True),
                              f2.mean(0), np.cov(f2, rowvar=False, bias=True))
    assert abs(expected - biased) > 1e-3 * expected
    assert frechet_distance_from_features(f1, f2) == pytest.approx(expected, rel=1e-9)
