"""The bias audit: shares with intervals, the correction for the auditor's errors, distances."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gencourse.ethics.bias import (
    confusion_matrix, corrected_shares, group_shares, kl_divergence, total_variation,
)


def test_group_shares_count_and_bracket():
    shares = group_shares(["a", "a", "b", "a"], ["a", "b", "c"])
    assert shares["a"].share == 0.75 and shares["c"].count == 0
    assert shares["a"].low < 0.75 < shares["a"].high and shares["c"].low == 0.0
    with pytest.raises(ValueError, match="not among the groups"):
        group_shares(["d"], ["a", "b"])


def test_the_correction_recovers_known_shares_through_a_noisy_auditor():
    rng = np.random.default_rng(0)
    groups = ["a", "b", "c"]
    truth = np.array([0.6, 0.3, 0.1])
    confusion = np.array([[0.8, 0.15, 0.05], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    true_labels = rng.choice(3, size=200_000, p=truth)
    predicted = np.array([rng.choice(3, p=confusion[t]) for t in true_labels[:20_000]])
    observed = np.bincount(predicted, minlength=3) / len(predicted)
    assert total_variation(observed, truth[:]) > 0.05                      # the raw audit is off
    corrected = corrected_shares(observed, confusion)
    assert np.allclose(corrected, truth, atol=0.015)
    # the confusion matrix estimated from labelled examples
    est = confusion_matrix([groups[t] for t in true_labels[:20_000]], [groups[p] for p in predicted], groups)
    assert np.allclose(est, confusion, atol=0.02)


def test_the_correction_keeps_shares_valid_and_exact_without_errors():
    assert np.allclose(corrected_shares([0.2, 0.8], np.eye(2)), [0.2, 0.8])
    p = corrected_shares([0.05, 0.95], np.array([[0.5, 0.5], [0.0, 1.0]]))    # would need a negative share
    assert (p >= 0).all() and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows summing to 1"):
        corrected_shares([0.5, 0.5], np.ones((2, 2)))


def test_distances_between_shares():
    assert total_variation([0.5, 0.5], [0.5, 0.5]) == 0.0 and total_variation([1, 0], [0, 1]) == 1.0
    assert kl_divergence([0.7, 0.3], [0.5, 0.5]) == pytest.approx(0.7 * math.log(1.4) + 0.3 * math.log(0.6))
    assert kl_divergence([0.0, 1.0], [0.5, 0.5]) == pytest.approx(math.log(2))


def test_group_shares_use_the_wilson_interval():
    z = 1.959963984540054
    n, k = 20, 1
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    share = group_shares(["a"] + ["b"] * 19, ["a", "b"])["a"]
    assert share.low == pytest.approx(centre - half, abs=1e-9) and share.high == pytest.approx(centre + half, abs=1e-9)


def test_the_bootstrap_interval_of_corrected_shares_covers_the_truth_and_widens_with_a_small_calibration_set():
    from gencourse.ethics.bias import bootstrap_corrected_shares
    rng = np.random.default_rng(0)
    groups = ["a", "b"]
    confusion = np.array([[0.8, 0.2], [0.3, 0.7]])

    def label(true):                                    # the auditor: right with probability C[i, i]
        return [t if rng.random() < confusion[groups.index(t), groups.index(t)] else groups[1 - groups.index(t)]
                for t in true]
    truth = ["a"] * 700 + ["b"] * 300                   # true shares 0.7 / 0.3
    audited = label(truth)
    small_true, big_true = ["a"] * 30 + ["b"] * 30, ["a"] * 600 + ["b"] * 600
    small = bootstrap_corrected_shares(audited, small_true, label(small_true), groups, reps=300)
    big = bootstrap_corrected_shares(audited, big_true, label(big_true), groups, reps=300)
    low, high = np.percentile(big[:, 0], [2.5, 97.5])
    assert low < 0.7 < high
    assert np.ptp(np.percentile(small[:, 0], [2.5, 97.5])) > 1.5 * (high - low), "a small calibration set is less sure"
    with pytest.raises(ValueError, match="every group"):
        bootstrap_corrected_shares(["a"], ["a"], ["a"], groups)
