"""Copied substrings and the loss-threshold membership attack, on cases with known answers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gencourse.ethics.membership import copied_runs, copied_share, loss_threshold_attack, substrings


def test_copied_share_counts_samples_with_a_long_training_run():
    training = "the quick brown fox jumps over the lazy dog"
    runs = substrings(training, 10)
    samples = ["a quick brown fox!", "nothing in common here", "lazy dog"]
    assert copied_runs(samples[0], runs, 10) == [" quick bro", "quick brow", "uick brown", "ick brown ", "ck brown f",
                                                 "k brown fo", " brown fox"]
    assert copied_share(samples, runs, 10) == pytest.approx(1 / 3)
    assert copied_share(samples, substrings(training, 8), 8) == pytest.approx(2 / 3)


def test_membership_is_at_chance_for_two_samples_of_one_distribution():
    g = torch.Generator().manual_seed(0)
    attack = loss_threshold_attack(torch.randn(5000, generator=g), torch.randn(5000, generator=g))
    assert abs(attack.auc - 0.5) < 0.02
    assert attack.tpr[0.01] < 0.025 and attack.tpr[0.001] < 0.005
    assert attack.advantage < 0.05


def test_membership_attack_matches_scikit_learn_and_a_known_gap():
    from sklearn.metrics import roc_auc_score
    g = torch.Generator().manual_seed(1)
    members, others = torch.randn(2000, generator=g) - 1.0, torch.randn(2000, generator=g)
    attack = loss_threshold_attack(members, others)
    expected = roc_auc_score(np.r_[np.ones(2000), np.zeros(2000)], -np.r_[members.numpy(), others.numpy()])
    assert attack.auc == pytest.approx(expected)
    from scipy.stats import norm
    assert attack.auc == pytest.approx(norm.cdf(1 / np.sqrt(2)), abs=0.02)            # two unit Gaussians 1 apart
    assert attack.tpr[0.01] == pytest.approx(norm.sf(norm.isf(0.01) - 1.0), abs=0.03)  # TPR at 1% FPR, in closed form


def test_a_perfect_attack_and_bad_input():
    attack = loss_threshold_attack([0.1, 0.2], [1.0, 2.0, 3.0])
    assert attack.auc == 1.0 and attack.tpr[0.01] == 1.0 and attack.advantage == 1.0
    with pytest.raises(ValueError, match="finite loss"):
        loss_threshold_attack([float("nan")], [1.0])


def test_the_tpr_at_a_fixed_fpr_may_use_exactly_that_many_false_positives():
    # 100 outsiders at f = 1%: exactly one may be flagged, and here that buys two more members
    outsiders = torch.arange(1.0, 101.0)              # losses 1 ... 100
    members = torch.tensor([0.5, 1.5, 1.6, 50.0])
    attack = loss_threshold_attack(members, outsiders, fprs=(0.01, 0.001))
    assert attack.tpr[0.01] == pytest.approx(0.75) and attack.tpr[0.001] == pytest.approx(0.25)
