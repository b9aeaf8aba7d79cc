"""Scores read off a classifier's predicted class probabilities: the Inception score's analogue.

The Inception score ("Improved Techniques for Training GANs", Salimans et al., 2016) is
IS = exp(E_x KL(p(y|x) ‖ p(y))), with p(y|x) a classifier's class probabilities for a generated
sample x and p(y) = E_x p(y|x) their average over the samples. It is high when each sample is
classified confidently (low-entropy p(y|x): "recognisable") and the classes are used evenly
(high-entropy p(y): "varied"). Range [1, C] for C classes: 1 when every sample gets the same
p(y|x), C when each sample is certain and the classes are equally used.

Known biases: it never looks at real data (a generator that outputs one perfect image per class
scores the maximum C, however little of each class's variety it covers); it depends entirely on
the classifier (the course uses its digits judge instead of the Inception network); and the
plug-in estimate of p(y) from few samples is biased, so papers report it at a fixed N in splits.
"""
from __future__ import annotations

import torch
from torch import Tensor


def inception_score(probs: Tensor, splits: int = 1) -> float:
    """exp(E_x KL(p(y|x) ‖ p(y))) for class probabilities ``probs`` (N, C); rows sum to 1.

    With ``splits`` > 1 the samples are cut into that many consecutive groups, each scored on
    its own, and the mean is returned (the protocol of Salimans et al.: 10 splits of 5,000).
    """
    p = torch.as_tensor(probs).detach().double().cpu()
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (N, C) class probabilities with C ≥ 2, got shape {tuple(p.shape)}")
    if not torch.isfinite(p).all() or (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype),
                                                                            atol=1e-4):
        raise ValueError("probs must be probabilities (non-negative rows that sum to 1): "
                         "apply softmax to the classifier's logits first")
    if not isinstance(splits, int) or splits < 1 or len(p) < splits:
        raise ValueError(f"splits must be an int between 1 and N = {len(p)}, got {splits!r}")
    scores = []
    for part in p.chunk(splits):
        marginal = part.mean(dim=0, keepdim=True)
        kl = torch.where(part > 0, part * (part.log() - marginal.log()), torch.zeros_like(part)).sum(dim=1)
        scores.append(kl.mean().exp())
    return float(torch.stack(scores).mean())
