"""Checks for chapter 09 (evaluation): the Fréchet distance from two feature sets, the
Inception-score analogue, k-NN precision and recall, bits per dimension from log-likelihoods and the
Wilson interval of a win rate. Each answer is compared with ``gencourse.metrics`` and with the
outputs of the usual mistakes, on small inputs whose mistakes give different numbers."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from gencourse.exercises.ch03 import frechet_mistakes
from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close, finite_number, matches
from gencourse.exercises.feedback import diagnose as _diagnose
from gencourse.metrics import (
    bits_per_dim, frechet_distance, frechet_distance_from_features, inception_score, precision_recall,
    wilson_interval,
)


def diagnose(got, mistakes: dict, expected, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Name the first known mistake that ``got`` reproduces, skipping mistakes that give the right
    answer on these inputs."""
    _diagnose(got, {m: wrong for m, wrong in mistakes.items() if not matches(wrong, expected, atol, rtol)}, atol, rtol)


def _number(name: str, got) -> float:
    """A Python number or a one-element tensor, finite, as a float."""
    return finite_number(name, got, "look for a log of 0 (0 · log 0 is NaN in floating point) or a division by 0")


def _features(seed: int, n: int, d: int, shift: float = 0.0, scale: float = 1.0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g) / math.sqrt(d)
    return (torch.randn(n, d, generator=g, dtype=torch.float64) @ mix.double()) * scale + shift


# --------------------------------------------------------------------- 09.1
@exercise("09.1", "the Fréchet distance from two feature sets")
def check_frechet_features(fd) -> None:
    for n, d in ((12, 4), (30, 6)):
        f1, f2 = _features(1, n, d), _features(2, n + 5, d, shift=0.3, scale=1.4)
        saved = (f1.clone(), f2.clone())
        got = call(fd, f1, f2, what=f"fd(features1 {tuple(f1.shape)}, features2 {tuple(f2.shape)})")
        if not (torch.equal(f1, saved[0]) and torch.equal(f2, saved[1])):
            raise ExerciseFailed("you changed the features in place: compute new tensors instead")
        value = _number("the Fréchet distance", got)
        expected = frechet_distance_from_features(f1, f2)
        a, b = f1.numpy(), f2.numpy()
        m1, m2 = a.mean(0), b.mean(0)
        c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        diagnose(value, {
            "the covariance divides by N (the biased estimate): divide by N − 1, as torch.cov and np.cov do":
                frechet_distance(m1, np.cov(a, rowvar=False, ddof=0), m2, np.cov(b, rowvar=False, ddof=0)),
            "only the variances are used (a diagonal covariance): the Fréchet distance needs the full covariance "
            "matrix, torch.cov(features.T)": frechet_distance(m1, np.diag(np.diag(c1)), m2, np.diag(np.diag(c2))),
            "the mean term is missing: FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½)": frechet_distance(m1, c1, m1, c2),
            "the covariance term is missing: FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½)":
                float(((m1 - m2) ** 2).sum()),
            "standard deviations were used where the covariance belongs (Σ is a matrix of variances and "
            "covariances, not their square roots)": frechet_distance(m1, np.diag(a.std(0, ddof=1)), m2,
                                                                     np.diag(b.std(0, ddof=1))),
            **frechet_mistakes(m1, c1, m2, c2),
        }, expected, atol=1e-6, rtol=1e-5)
        expect_close(f"the Fréchet distance for {n} and {n + 5} samples in {d}-D", value, expected, atol=1e-6, rtol=1e-5)
    same = _features(3, 20, 5)
    expect_close("the Fréchet distance of a feature set with itself", _number(
        "the Fréchet distance", call(fd, same, same.clone(), what="fd(features, features)")), 0.0, atol=1e-6)


# --------------------------------------------------------------------- 09.2
def _probs(seed: int, n: int, c: int, zeros: bool) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    p = torch.softmax(3 * torch.randn(n, c, generator=g, dtype=torch.float64), dim=1)
    if zeros:                                   # confident classifiers give exact zeros
        p[torch.arange(n), (torch.arange(n) + 1) % c] = 0.0
        p = p / p.sum(dim=1, keepdim=True)
    return p


@exercise("09.2", "the Inception-score analogue")
def check_inception(score) -> None:
    for n, c, zeros in ((8, 3, False), (12, 5, True)):
        p = _probs(n, n, c, zeros)
        saved = p.clone()
        got = call(score, p, what=f"inception_score(probs {tuple(p.shape)})")
        if not torch.equal(p, saved):
            raise ExerciseFailed("you changed probs in place: compute new tensors instead")
        if zeros and isinstance(got, (Tensor, float)) and not math.isfinite(float(got)):
            raise ExerciseFailed("the score is NaN when some probabilities are exactly 0: 0 · log 0 is NaN in "
                                 "floating point; the term p · log p is 0 when p = 0 (e.g. torch.where(p > 0, ..., 0) "
                                 "or torch.xlogy)")
        value = _number("the Inception-score analogue", got)
        expected = inception_score(p)
        q = p.clamp_min(1e-300)
        marginal = p.mean(0, keepdim=True)
        kl = (p * (q.log() - marginal.log())).sum(1)
        diagnose(value, {
            "the exp is missing: the score is exp(E_x KL(p(y|x) ‖ p(y))), not the mean KL itself":
                float(kl.mean()),
            "the KL is the wrong way round: KL(p(y|x) ‖ p(y)) = Σ_y p(y|x) log(p(y|x) / p(y))":
                float((marginal * (marginal.log() - q.log())).sum(1).mean().exp()),
            "p(y) should be the average over the samples (dim=0) of their class probabilities, not the uniform 1/C "
            "(averaging a row over its classes, dim=1, always gives 1/C)":
                float((p * (q.log() + math.log(c))).sum(1).mean().exp()),
            "the exp was taken per sample before averaging: exp of the mean KL, not the mean of exp(KL)":
                float(kl.exp().mean()),
            "softmax was applied to probs again: they are already probabilities (rows sum to 1)":
                inception_score(torch.softmax(p, dim=1)),
            "only the marginal's entropy: the score is exp(H(p(y)) − E_x H(p(y|x))); the second term is missing":
                float(torch.exp(-(torch.xlogy(marginal, marginal)).sum())),
            "only the per-sample entropy: the score is exp(H(p(y)) − E_x H(p(y|x))); the marginal's entropy "
            "H(p(y)) is missing": float(torch.exp((torch.xlogy(p, p)).sum(1).mean())),
            "the KL was summed over the samples: average it (E_x), then take exp": float(kl.sum().exp())
            if float(kl.sum()) < 700 else math.inf,
            "the KL is in bits (log base 2) but exp undoes natural logs: use natural logs throughout (or 2**)":
                float((kl / math.log(2)).mean().exp()),
        }, expected)
        expect_close(f"the Inception-score analogue of {n} samples over {c} classes", value, expected)
    one_class = torch.zeros(6, 4, dtype=torch.float64)
    one_class[:, 2] = 1.0
    expect_close("the score when every sample is certainly class 2 (it must be 1)",
                 _number("the score", call(score, one_class, what="inception_score(all one class)")), 1.0)


# --------------------------------------------------------------------- 09.3
def _clusters(seed: int) -> tuple[Tensor, Tensor]:
    """Real points in three clusters, generated points that cover two of them and stray a little."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]], dtype=torch.float64)
    real = centres.repeat_interleave(10, 0) + torch.randn(30, 2, generator=g, dtype=torch.float64)
    fake = torch.cat([centres[:2].repeat_interleave(9, 0) + 1.3 * torch.randn(18, 2, generator=g, dtype=torch.float64),
                      torch.tensor([[3.0, 3.0], [9.0, 9.0]], dtype=torch.float64)])
    return real, fake


def _ties() -> tuple[Tensor, Tensor]:
    """Points on a line, each real ball of radius 1 (k = 1); two generated points sit exactly on a boundary."""
    real = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [6.0, 0.0]], dtype=torch.float64)
    fake = torch.tensor([[2.0, 0.0], [3.5, 0.0], [7.0, 0.0], [7.5, 0.0]], dtype=torch.float64)
    return real, fake


def _pr_variant(real: Tensor, fake: Tensor, k: int, self_counts: bool = False, balls_from: str = "own",
                strict: bool = False, recall_balls: str = "fake", radius_rule: str = "kth") -> tuple:
    def radius(f: Tensor) -> Tensor:
        d = torch.cdist(f, f)
        if radius_rule == "mean":                 # the mean distance to the k nearest others
            return d.topk(k + 1, dim=1, largest=False).values[:, 1:].mean(dim=1)
        if radius_rule == "k+2":
            return d.kthvalue(min(k + 2, len(f)), dim=1).values
        return d.kthvalue(k if self_counts else k + 1, dim=1).values
    cross = torch.cdist(fake, real)
    if balls_from == "own":
        r_real, r_fake = radius(real), radius(fake)
    else:                                       # each set's balls sized by the other set
        r_real, r_fake = torch.cdist(real, fake).kthvalue(k, dim=1).values, torch.cdist(fake, real).kthvalue(k, dim=1).values
    inside = (lambda d, r: d < r) if strict else (lambda d, r: d <= r)    # noqa: E731
    precision = inside(cross, r_real[None, :]).any(1).double().mean()
    if recall_balls == "real":                     # that is coverage, not recall
        recall = inside(cross, r_real[None, :]).any(0).double().mean()
    else:
        recall = inside(cross, r_fake[:, None]).any(0).double().mean()
    return float(precision), float(recall)


@exercise("09.3", "k-NN precision and recall")
def check_precision_recall(pr) -> None:
    for seed, k in ((0, 3), (1, 2), (None, 1)):
        real, fake = _clusters(seed) if seed is not None else _ties()
        got = call(pr, real.clone(), fake.clone(), k, what=f"precision_recall(real {tuple(real.shape)}, "
                                                          f"fake {tuple(fake.shape)}, k={k})")
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseFailed(f"return a tuple (precision, recall), got {type(got).__name__}"
                                 + (f" of length {len(got)}" if isinstance(got, tuple) else ""))
        p, r = _number("precision", got[0]), _number("recall", got[1])
        ref = precision_recall(real, fake, k)
        expected = (ref.precision, ref.recall)
        if math.isclose(p, expected[1], abs_tol=1e-9) and math.isclose(r, expected[0], abs_tol=1e-9) \
                and not math.isclose(p, r, abs_tol=1e-9):
            raise ExerciseFailed("precision and recall are swapped: precision asks how many *generated* points fall "
                                 "inside the real balls; recall asks how many *real* points fall inside the generated balls")
        for mistake, wrong in {
            "the k-th neighbour counts the point itself (its distance 0 is the smallest): the radius is the distance "
            "to the k-th *other* point, so take the (k+1)-th smallest distance":
                _pr_variant(real, fake, k, self_counts=True),
            "each ball's radius was measured to the other set: a real point's radius is its distance to its k-th "
            "nearest *real* neighbour (and likewise for generated points)": _pr_variant(real, fake, k, balls_from="other"),
            "a point exactly on a ball's boundary was left out: use <= (distance ≤ radius counts as inside)":
                _pr_variant(real, fake, k, strict=True),
            "recall used the real balls (that is coverage): recall asks how many real points fall inside the "
            "*generated* points' balls": _pr_variant(real, fake, k, recall_balls="real"),
            "the radius is the mean distance to the k nearest others: it is the distance to the k-th nearest":
                _pr_variant(real, fake, k, radius_rule="mean"),
            "the radius reaches the (k+1)-th other point: skip only the point itself, then take the k-th":
                _pr_variant(real, fake, k, radius_rule="k+2"),
        }.items():
            if wrong != expected and math.isclose(p, wrong[0], abs_tol=1e-9) and math.isclose(r, wrong[1], abs_tol=1e-9):
                raise ExerciseFailed(mistake)
        where = "points exactly on a ball's boundary" if seed is None else f"clusters, k = {k}"
        expect_close(f"precision ({where})", p, expected[0], atol=1e-9)
        expect_close(f"recall ({where})", r, expected[1], atol=1e-9)


# --------------------------------------------------------------------- 09.4
@exercise("09.4", "bits per dimension from log-likelihoods")
def check_bits_per_dim(bpd) -> None:
    for n, dims, seed in ((5, 64, 0), (7, 3, 1)):
        g = torch.Generator().manual_seed(seed)
        log_p = -(dims * (1 + 3 * torch.rand(n, generator=g, dtype=torch.float64)))      # (N,) nats, negative
        saved = log_p.clone()
        got = call(bpd, log_p, dims, what=f"bits_per_dim(log_p {tuple(log_p.shape)}, dims={dims})")
        if not torch.equal(log_p, saved):
            raise ExerciseFailed("you changed log_p in place: compute new tensors instead")
        value = _number("bits per dimension", got)
        expected = bits_per_dim(-log_p, dims)
        mean = float(log_p.mean())
        diagnose(value, {
            "the sign is wrong: log p(x) is negative, bits/dim = −log p(x) / (D ln 2) is positive": -expected,
            "the answer is in nats per dimension: divide by ln 2 to get bits (log₂ e ≈ 1.44 bits per nat)":
                -mean / dims,
            "the answer is bits per image: divide by the number of dimensions D": -mean / math.log(2),
            "log base 10 was used: bits are log base 2, so divide nats by ln 2 (not by ln 10)": -mean / (dims * math.log(10)),
            "the log-likelihoods were summed over the images: average them (bits/dim is per image, per dimension)":
                -float(log_p.sum()) / (dims * math.log(2)),
            "you multiplied by ln 2: nats → bits divides by ln 2": -mean * math.log(2) / dims,
            "you divided by the number of images N instead of the number of dimensions D":
                -mean / (n * math.log(2)),
            "you returned 2 ** (bits/dim): bits/dim is already the answer (2 ** it is a per-dimension perplexity)":
                2 ** expected,
        }, expected)
        if isinstance(got, (int, np.integer)) and not isinstance(got, bool):
            raise ExerciseFailed("you returned an int: keep the fractional part (return a float)")
        expect_close(f"bits/dim of {n} images of {dims} values", value, expected)


# --------------------------------------------------------------------- 09.5
# The Wilson interval and its usual look-alikes, for the checks of 09.5 and 10.4
def wilson_with(wins: int, n: int, z: float) -> tuple[float, float]:
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def agresti_coull(wins: int, n: int, z: float) -> tuple[float, float]:
    n_t = n + z * z
    p_t = (wins + z * z / 2) / n_t
    half = z * math.sqrt(p_t * (1 - p_t) / n_t)
    return p_t - half, p_t + half


def clopper_pearson(wins: int, n: int) -> tuple[float, float]:
    from scipy.stats import beta
    low = 0.0 if wins == 0 else float(beta.ppf(0.025, wins, n - wins + 1))
    high = 1.0 if wins == n else float(beta.ppf(0.975, wins + 1, n - wins))
    return low, high


@exercise("09.5", "the Wilson interval of a win rate")
def check_wilson(interval) -> None:
    z = 1.959963984540054
    for wins, n in ((7, 20), (0, 12), (45, 50)):
        got = call(interval, wins, n, what=f"wilson(wins={wins}, n={n})")
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseFailed(f"return a tuple (low, high), got {type(got).__name__}"
                                 + (f" of length {len(got)}" if isinstance(got, tuple) else ""))
        low, high = _number("low", got[0]), _number("high", got[1])
        if low > 1 or high > 1:
            raise ExerciseFailed(f"({low:.4g}, {high:.4g}) is not a proportion: return shares in [0, 1], not percentages")
        expected = wilson_interval(wins, n)
        p = wins / n
        half_wald = z * math.sqrt(p * (1 - p) / n)
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        z90 = 1.6448536269514722
        c90 = (p + z90 * z90 / (2 * n)) / (1 + z90 * z90 / n)
        h90 = z90 * math.sqrt(p * (1 - p) / n + z90 * z90 / (4 * n * n)) / (1 + z90 * z90 / n)
        mistakes = {
            "that is the Wald interval p̂ ± z√(p̂(1−p̂)/n), which collapses to zero width at 0 or n wins and can leave "
            "[0, 1]: the Wilson interval re-centres at (p̂ + z²/2n)/(1 + z²/n)": (p - half_wald, p + half_wald),
            "the interval is centred on p̂: the Wilson interval's centre is (p̂ + z²/2n) / (1 + z²/n)": (p - half, p + half),
            "z = 1.645 gives a 90% interval: for 95% use z ≈ 1.96": (c90 - h90, c90 + h90),
            "the z²/4n² term under the square root is missing": (
                centre - z * math.sqrt(p * (1 - p) / n) / (1 + z * z / n),
                centre + z * math.sqrt(p * (1 - p) / n) / (1 + z * z / n)),
            "the half-width is not divided by (1 + z²/n)": (centre - half * (1 + z * z / n),
                                                             centre + half * (1 + z * z / n)),
            "the ends are swapped: return (low, high)": (centre + half, centre - half),
            "z = 2 is a rounding: use z = 1.959963984540054 for 95%": wilson_with(wins, n, 2.0),
            "that is the Agresti–Coull interval (add z²/2 successes and z² trials, then Wald): the Wilson interval's "
            "half-width uses p̂ itself": agresti_coull(wins, n, z),
            "that is the Clopper–Pearson ('exact') interval, e.g. scipy's proportion_ci default: the exercise asks "
            "for the Wilson score interval": clopper_pearson(wins, n),
        }
        for mistake, (wl, wh) in mistakes.items():
            if not (math.isclose(wl, expected[0], abs_tol=1e-6) and math.isclose(wh, expected[1], abs_tol=1e-6)) \
                    and math.isclose(low, wl, abs_tol=1e-6) and math.isclose(high, wh, abs_tol=1e-6):
                raise ExerciseFailed(mistake)
        expect_close(f"the lower end for {wins} wins in {n}", low, expected[0], atol=1e-6)
        expect_close(f"the upper end for {wins} wins in {n}", high, expected[1], atol=1e-6)
