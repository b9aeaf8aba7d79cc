"""Does a model remember its training data? Copied substrings, and a loss-threshold membership test.

**Copying.** A language model that reproduces long stretches of its training text verbatim can leak
what that text contains (licences, keys, personal data). ``copied_share`` counts the samples that
contain any run of ``length`` characters found in the training text; the same count on held-out
text written by people is the baseline (common boilerplate is shared by both).

**Membership inference** ("Privacy Risk in Machine Learning: Analyzing the Connection to
Overfitting", Yeom et al., 2018): a model's loss is lower on examples it was trained on, so
"loss below a threshold" guesses membership. Its success is read off the ROC curve of −loss as a
score for "member". "Membership Inference Attacks From First Principles" (Carlini et al., 2022)
argued that the area under that curve hides what matters, the attacks that are confident about a
few examples, and that the true-positive rate at a low false-positive rate (1%, 0.1%) should be
reported as well; with two samples from one distribution both are at chance (AUC 0.5, TPR ≈ FPR).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


def substrings(text: str, length: int) -> set[str]:
    """Every run of ``length`` characters in ``text``."""
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    return {text[i:i + length] for i in range(len(text) - length + 1)}


def copied_runs(sample: str, training_runs: set[str], length: int) -> list[str]:
    """The runs of ``length`` characters of ``sample`` that occur in the training text (their set)."""
    return [sample[i:i + length] for i in range(len(sample) - length + 1) if sample[i:i + length] in training_runs]


def copied_share(samples: Iterable[str], training_runs: set[str], length: int) -> float:
    """Share of ``samples`` that contain at least one training run of ``length`` characters."""
    samples = list(samples)
    if not samples:
        raise ValueError("give at least one sample")
    return sum(bool(copied_runs(s, training_runs, length)) for s in samples) / len(samples)


@dataclass(frozen=True)
class MembershipAttack:
    """auc: ROC AUC of −loss as a membership score; tpr: {fpr: true-positive rate at that false-positive
    rate}; advantage: max over thresholds of TPR − FPR (Yeom et al.'s membership advantage)."""

    auc: float
    tpr: dict[float, float]
    advantage: float


def loss_threshold_attack(member_losses: Sequence[float] | Tensor, nonmember_losses: Sequence[float] | Tensor,
                          fprs: tuple[float, ...] = (0.01, 0.001)) -> MembershipAttack:
    """Guess "member" when an example's loss is below a threshold; sweep every threshold.

    member_losses (N,), nonmember_losses (M,): per-example losses on training and held-out examples.
    The TPR at a false-positive rate f is the largest TPR of a threshold whose FPR is at most f (so
    with M held-out examples, f below 1/M cannot be met except by flagging nothing: TPR 0).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    members = torch.as_tensor(member_losses, dtype=torch.float64).reshape(-1).numpy()
    others = torch.as_tensor(nonmember_losses, dtype=torch.float64).reshape(-1).numpy()
    if len(members) < 1 or len(others) < 1 or not (np.isfinite(members).all() and np.isfinite(others).all()):
        raise ValueError("need at least one finite loss for members and for non-members")
    labels = np.r_[np.ones(len(members)), np.zeros(len(others))]
    scores = -np.r_[members, others]
    fpr, tpr, _ = roc_curve(labels, scores)
    at = {f: float(tpr[fpr <= f].max()) if (fpr <= f).any() else 0.0 for f in fprs}
    return MembershipAttack(float(roc_auc_score(labels, scores)), at, float((tpr - fpr).max()))
