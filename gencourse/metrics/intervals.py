"""How sure a measured figure is: intervals over seeds, for proportions, by bootstrap; agreement.

Every generative metric is computed from random samples, so it comes with noise: report an
interval, not a single number. ``mean_interval`` uses Student's t over independent runs (seeds);
``wilson_interval`` is for a proportion such as a win rate ("Probable Inference, the Law of
Succession, and Statistical Inference", Wilson, 1927), which unlike the textbook Wald interval
p ± z√(p(1−p)/n) stays inside [0, 1] and does not collapse to zero width at 0 or n successes;
``bootstrap_interval`` resamples the data when no formula is at hand (percentile bootstrap).
``cohens_kappa`` measures how much two raters agree beyond chance ("A Coefficient of Agreement
for Nominal Scales", Cohen, 1960): 1 for perfect agreement, 0 for what chance alone gives.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample std / √n; 0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("mean_and_stderr needs at least one value")
    stderr = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else 0.0
    return float(arr.mean()), stderr


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): a Student-t interval for the mean of independent runs (≥ 2 values)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size < 2 or not np.isfinite(arr).all():
        raise ValueError(f"mean_interval needs at least 2 finite values (one per run), got {values!r}")
    _check_confidence(confidence)
    mean, stderr = mean_and_stderr(arr)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=arr.size - 1)) * stderr
    return mean, mean - half, mean + half


def _check_confidence(confidence: float) -> None:
    if not isinstance(confidence, float) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a float strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (low, high) for a proportion after ``successes`` out of ``n`` trials.

    With p̂ = k/n and z the normal quantile: (p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
    """
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (successes, n)) \
            or n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need integer counts with 0 ≤ successes ≤ n and n ≥ 1, got successes={successes!r}, n={n!r}")
    _check_confidence(confidence)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(values: Sequence[float], statistic: Callable[[np.ndarray], float] = np.mean,
                       confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval (low, high) of ``statistic`` over ``values`` (N,)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"bootstrap_interval needs a 1-D sequence of at least 2 values, got shape {arr.shape}")
    _check_confidence(confidence)
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(arr[rng.integers(0, arr.size, arr.size)]) for _ in range(resamples)])
    return float(np.quantile(draws, 0.5 - confidence / 2)), float(np.quantile(draws, 0.5 + confidence / 2))


def cohens_kappa(rater1: Sequence, rater2: Sequence) -> float:
    """Cohen's κ = (p_o − p_e) / (1 − p_e) for two raters' labels of the same N items.

    p_o is the share of items they label alike, p_e the share expected by chance from each
    rater's label frequencies. 1 means perfect agreement, 0 chance level, below 0 worse than chance.
    """
    a, b = np.asarray(rater1), np.asarray(rater2)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"the two raters must label the same N items: got shapes {a.shape} and {b.shape}")
    labels = np.union1d(a, b)
    p_o = float((a == b).mean())
    p_e = float(sum((a == c).mean() * (b == c).mean() for c in labels))
    if p_e == 1.0:
        return 1.0 if p_o == 1.0 else 0.0     # both raters always gave one label: κ is undefined, report 1 (agreement)
    return (p_o - p_e) / (1 - p_e)
