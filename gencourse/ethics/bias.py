"""Auditing who a generator represents: group shares with intervals, corrected for the auditor's errors.

An audit labels each generated sample with a group (here by a classifier, as real audits often
do), counts the shares and compares them with the training data and with a target. Three things
make that honest:

- **intervals**: a share measured on N samples has a Wilson interval;
- **the auditor's own errors**: if the classifier labels a sample of group i as j with probability
  C_ij (its confusion matrix, rows summing to 1, measured on held-out labelled data), the observed
  shares are q = Cᵀ p for true shares p. ``corrected_shares`` solves for p (least squares with p ≥ 0,
  Σ p = 1: the multi-class form of the Rogan–Gladen correction, "Estimating prevalence from the
  results of a screening test", Rogan and Gladen, 1978);
- **a distance between distributions**: the total variation distance ½ Σ |p − q| (the largest gap
  in the share of any set of groups) and the KL divergence.

Amplification is a generated share further from balance than the training share it came from.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gencourse.metrics.intervals import wilson_interval


@dataclass(frozen=True)
class Share:
    """count of the group among n; share = count / n with its Wilson interval (low, high)."""

    count: int
    n: int
    share: float
    low: float
    high: float


def group_shares(labels: Sequence[str], groups: Sequence[str]) -> dict[str, Share]:
    """Share of each of ``groups`` among ``labels`` (one group label per sample), with 95% intervals."""
    counts, n = Counter(labels), len(labels)
    if n == 0:
        raise ValueError("no labels to count: audit at least one sample")
    unknown = set(counts) - set(groups)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the groups {list(groups)}")
    return {g: Share(counts[g], n, counts[g] / n, *wilson_interval(counts[g], n)) for g in groups}


def confusion_matrix(true: Sequence[str], predicted: Sequence[str], groups: Sequence[str]) -> np.ndarray:
    """(G, G) row-normalised: entry (i, j) = P(predicted group j | true group i), from labelled examples."""
    index = {g: i for i, g in enumerate(groups)}
    counts = np.zeros((len(groups), len(groups)))
    for t, p in zip(true, predicted):
        counts[index[t], index[p]] += 1
    if (counts.sum(axis=1) == 0).any():
        raise ValueError("every group needs at least one labelled example to estimate its row of the confusion matrix")
    return counts / counts.sum(axis=1, keepdims=True)


def corrected_shares(observed: Sequence[float], confusion: np.ndarray) -> np.ndarray:
    """True shares p (G,) ≥ 0 summing to 1 that best explain the ``observed`` shares (G,) = Cᵀ p."""
    from scipy.optimize import nnls

    q = np.asarray(observed, dtype=float)
    c = np.asarray(confusion, dtype=float)
    if c.shape != (len(q), len(q)) or not np.allclose(c.sum(axis=1), 1):
        raise ValueError(f"confusion must be ({len(q)}, {len(q)}) with rows summing to 1 (P(predicted | true))")
    # Σ p = 1 is added as a heavily weighted extra equation
    a = np.vstack([c.T, 100 * np.ones(len(q))])
    b = np.r_[q, 100.0]
    p, _ = nnls(a, b)
    return p / p.sum()


def bootstrap_corrected_shares(labels: Sequence[str], calibration_true: Sequence[str],
                               calibration_predicted: Sequence[str], groups: Sequence[str], reps: int = 200,
                               seed: int = 0) -> np.ndarray:
    """(reps, G) corrected shares, each computed from a bootstrap resample of the audited ``labels``
    *and* of the auditor's labelled calibration set (its true and predicted groups), so that a
    percentile interval carries both the sampling error of the audit and the error of the estimated
    confusion matrix. Within each group the calibration examples are resampled with their group's size
    kept, so every row of the confusion matrix stays estimable."""
    index = {g: i for i, g in enumerate(groups)}
    k = len(groups)
    audited = np.array([index[g] for g in labels])
    true = np.array([index[g] for g in calibration_true])
    predicted = np.array([index[g] for g in calibration_predicted])
    by_group = [np.flatnonzero(true == i) for i in range(k)]
    if any(len(rows) == 0 for rows in by_group):
        raise ValueError("every group needs at least one labelled calibration example")
    rng = np.random.default_rng(seed)
    out = np.empty((reps, k))
    for r in range(reps):
        q = np.bincount(rng.choice(audited, len(audited)), minlength=k) / len(audited)
        confusion = np.stack([np.bincount(predicted[rng.choice(rows, len(rows))], minlength=k) / len(rows)
                              for rows in by_group])
        out[r] = corrected_shares(q, confusion)
    return out


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """½ Σ |p − q|: 0 for equal shares, 1 for disjoint ones."""
    return 0.5 * float(np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def kl_divergence(p: Sequence[float], q: Sequence[float]) -> float:
    """KL(p ‖ q) = Σ p log(p / q) in nats (terms with p = 0 count 0; inf where q = 0 < p)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    mask = p > 0
    with np.errstate(divide="ignore"):
        return float((p[mask] * np.log(p[mask] / q[mask])).sum())
