"""A blind two-alternative forced-choice (2AFC) study: which of two images looks real?

Human evaluation of a generator, in the form most papers use: each trial shows one real and one
generated image side by side, in random order, and the rater picks the one that looks written by
a person. The generator's **win rate** is the share of trials where its image was picked. 50%
means the raters cannot tell the two apart; 0% means they always can. Because the order is
random and hidden, a rater who guesses scores 50% whatever they guess, and a left-right habit
cannot help either side.

What makes such a study trustworthy: the raters do not know which side is which (blind), the
order is randomised per trial, the win rate comes with a confidence interval (Wilson), and when
several raters answer the same trials their agreement beyond chance is reported (Cohen's κ):
a win rate near 50% with κ near 0 means "indistinguishable", while the same rate with high κ can
hide raters who agree on which images are fake but disagree with the label.

``PairwiseStudy`` holds the trials and the answers. ``simulated_rater`` answers without a person:
it picks between two images by a realism score, such as the one ``detector_score`` learns from
examples of real and generated images (a logistic regression on pixels, whose log-odds make the
rater's choice a Bradley–Terry comparison).
The widget is in ``gencourse.widgets.preference``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gencourse.metrics.intervals import cohens_kappa, wilson_interval

CHOICES = ("left", "right")


@dataclass(frozen=True)
class Trial:
    """One pair: index of the real and of the generated image, and whether the generated one is on the left."""

    real: int
    generated: int
    generated_left: bool


@dataclass(frozen=True)
class WinRate:
    """wins: trials where the generated image was picked as real, out of n; rate = wins / n; (low, high)
    is the Wilson interval."""

    wins: int
    n: int
    rate: float
    low: float
    high: float


class PairwiseStudy:
    """``n_trials`` blind trials pairing ``real`` (N, ...) with ``generated`` (M, ...) images.

    Each trial draws a real and a generated image without replacement and flips a fair coin for
    the side of the generated one. Raters answer trials in order with ``answer(rater, choice)``.
    """

    def __init__(self, real: Tensor, generated: Tensor, n_trials: int = 20, seed: int = 0):
        if not isinstance(n_trials, int) or isinstance(n_trials, bool) or not 1 <= n_trials <= min(len(real), len(generated)):
            raise ValueError(f"n_trials must be an int between 1 and the smaller image set's size "
                             f"({min(len(real), len(generated))}), got {n_trials!r}")
        self.real, self.generated = real, generated
        g = torch.Generator().manual_seed(seed)
        reals = torch.randperm(len(real), generator=g)[:n_trials].tolist()
        fakes = torch.randperm(len(generated), generator=g)[:n_trials].tolist()
        sides = (torch.rand(n_trials, generator=g) < 0.5).tolist()
        self.trials = [Trial(r, f, s) for r, f, s in zip(reals, fakes, sides)]
        self.answers: dict[str, list[str]] = {}

    def pair(self, index: int) -> tuple[Tensor, Tensor]:
        """(left image, right image) of trial ``index``, as the rater sees them."""
        trial = self.trials[index]
        fake, real = self.generated[trial.generated], self.real[trial.real]
        return (fake, real) if trial.generated_left else (real, fake)

    def next_trial(self, rater: str) -> int | None:
        """Index of the rater's next unanswered trial, or None when they are done."""
        done = len(self.answers.get(rater, []))
        return done if done < len(self.trials) else None

    def answer(self, rater: str, choice: str) -> None:
        """Record that ``rater`` picked the ``choice`` ("left" or "right") image as real on their next trial."""
        if choice not in CHOICES:
            raise ValueError(f"choice must be 'left' or 'right', got {choice!r}")
        if not isinstance(rater, str) or not rater.strip():
            raise ValueError(f"rater must be a non-empty name, got {rater!r}")
        if self.next_trial(rater) is None:
            raise ValueError(f"rater {rater!r} has answered all {len(self.trials)} trials")
        self.answers.setdefault(rater, []).append(choice)

    def picked_generated(self, rater: str) -> list[bool]:
        """For each trial the rater answered: did they pick the generated image as real?"""
        return [(c == "left") == t.generated_left for c, t in zip(self.answers.get(rater, []), self.trials)]

    def win_rate(self, rater: str | None = None, confidence: float = 0.95) -> WinRate:
        """The generator's win rate over one rater's answers, or over every answer of every rater."""
        raters = [rater] if rater is not None else list(self.answers)
        picks = [p for r in raters for p in self.picked_generated(r)]
        if not picks:
            raise ValueError("no answers yet: answer some trials first")
        wins = int(sum(picks))
        low, high = wilson_interval(wins, len(picks), confidence)
        return WinRate(wins, len(picks), wins / len(picks), low, high)

    def agreement(self, raters: list[str] | None = None) -> float:
        """Mean Cohen's κ over pairs of ``raters`` (default: all who answered), on the trials both answered."""
        raters = [r for r in (raters if raters is not None else self.answers) if self.answers.get(r)]
        if len(raters) < 2:
            raise ValueError("agreement needs answers from at least two raters")
        kappas = []
        for i, a in enumerate(raters):
            for b in raters[i + 1:]:
                n = min(len(self.answers[a]), len(self.answers[b]))
                kappas.append(cohens_kappa(self.picked_generated(a)[:n], self.picked_generated(b)[:n]))
        return float(np.mean(kappas))


def simulated_rater(score: Callable[[Tensor], Tensor], sharpness: float = 1.0,
                    seed: int = 0) -> Callable[[Tensor, Tensor], str]:
    """A stand-in rater: given (left, right) images, picks left with probability
    sigmoid(sharpness · (score(left) − score(right))), where ``score`` maps images (N, ...) to (N,)
    realism scores (e.g. a classifier's top probability). sharpness = 0 is a coin-flipping rater."""
    g = torch.Generator().manual_seed(seed)

    def rate(left: Tensor, right: Tensor) -> str:
        s = score(torch.stack([left, right]))
        p_left = torch.sigmoid(sharpness * (s[0] - s[1]))
        return "left" if float(torch.rand((), generator=g)) < float(p_left) else "right"
    return rate


def detector_score(real: Tensor, generated: Tensor, c: float = 1.0) -> Callable[[Tensor], Tensor]:
    """Train a logistic regression (L2 penalty ``c``) on pixels to tell ``real`` (N, ...) from
    ``generated`` (M, ...) images; return a score: images (K, ...) -> (K,) log-odds of "real"."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = torch.cat([real.reshape(len(real), -1), generated.reshape(len(generated), -1)]).double().numpy()
    y = np.r_[np.ones(len(real)), np.zeros(len(generated))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=c, max_iter=500).fit(x, y)
    return lambda images: torch.as_tensor(model.decision_function(images.reshape(len(images), -1).double().numpy()))


def run_rater(study: PairwiseStudy, name: str, rate: Callable[[Tensor, Tensor], str]) -> WinRate:
    """Let ``rate`` answer every remaining trial of ``study`` as rater ``name``; return its win rate."""
    while (index := study.next_trial(name)) is not None:
        study.answer(name, rate(*study.pair(index)))
    return study.win_rate(name)
