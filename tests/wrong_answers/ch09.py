"""Chapter 09 (evaluation): plausible wrong answers to exercises 09.1–09.5 and the feedback each must get."""
from __future__ import annotations

import math

import numpy as np
import torch

from gencourse.metrics import frechet_distance
from wrong_answers import WrongAnswer, one


def _fd(f1, f2, ddof=1, diagonal=False, mean_term=True, cov_term=True, std=False, as_tensor=False):
    a, b = f1.numpy(), f2.numpy()
    def cov(x):
        if std:
            return np.diag(x.std(0, ddof=1))
        c = np.cov(x, rowvar=False, ddof=ddof)
        return np.diag(np.diag(c)) if diagonal else c
    m1, m2 = a.mean(0), (b.mean(0) if mean_term else a.mean(0))
    if not cov_term:
        return float(((m1 - m2) ** 2).sum())
    value = frechet_distance(m1, cov(a), m2, cov(b))
    return torch.tensor([value]) * torch.ones(2) if as_tensor else value


def _fd_formula(f1, f2, mistake):
    a, b = f1.numpy(), f2.numpy()
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    mean_term = float(((m1 - m2) ** 2).sum())
    if mistake == "elementwise":
        return mean_term + float(np.trace(c1) + np.trace(c2) - 2 * np.trace(np.sqrt(np.abs(c1 @ c2))))
    w1, v1 = np.linalg.eigh(c1)
    w2, v2 = np.linalg.eigh(c2)
    r1, r2 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T, (v2 * np.sqrt(np.clip(w2, 0, None))) @ v2.T
    return mean_term + float(np.trace(c1) + np.trace(c2) - 2 * np.trace(r1 @ r2))    # "commuting" roots


def _is(p, exp=True, reverse=False, uniform=False, exp_each=False, naive_zero=False, marginal_dim=0):
    m = p.mean(marginal_dim, keepdim=True)
    if uniform:
        m = torch.full_like(m, 1 / p.shape[1])
    if naive_zero:
        kl = (p * (p.log() - m.log())).sum(1)
    elif reverse:
        kl = (torch.xlogy(m, m) - torch.xlogy(m, p.clamp_min(1e-300))).sum(1)
    else:
        kl = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(1)
    if exp_each:
        return float(kl.exp().mean())
    return float(kl.mean().exp()) if exp else float(kl.mean())


def _pr(real, fake, k, self_counts=False, swap=False, other_balls=False, as_tensors=False, strict=False,
        coverage=False):
    def radius(f):
        return torch.cdist(f, f).kthvalue(k if self_counts else k + 1, dim=1).values
    cross = torch.cdist(fake, real)
    if other_balls:
        r_real, r_fake = torch.cdist(real, fake).kthvalue(k, dim=1).values, torch.cdist(fake, real).kthvalue(k, dim=1).values
    else:
        r_real, r_fake = radius(real), radius(fake)
    inside = (lambda d, rad: d < rad) if strict else (lambda d, rad: d <= rad)    # noqa: E731
    p = inside(cross, r_real[None, :]).any(1).double().mean()
    r = inside(cross, r_real[None, :] if coverage else r_fake[:, None]).any(0).double().mean()
    if as_tensors:
        return torch.stack([p, r])
    return (float(r), float(p)) if swap else (float(p), float(r))


def _bpd(log_p, dims, sign=1, ln2=True, per_dim=True, base10=False, total=False, times_ln2=False):
    nll = -(log_p.sum() if total else log_p.mean())
    if base10:
        return float(sign * nll / (dims * math.log(10)))
    if times_ln2:
        return float(sign * nll * math.log(2) / dims)
    return float(sign * nll / ((dims if per_dim else 1) * (math.log(2) if ln2 else 1)))


Z = 1.959963984540054


def _wilson(wins, n, z=Z, wald=False, centred=False, percent=False, no_quarter=False):
    p = wins / n
    if wald:
        half = z * math.sqrt(p * (1 - p) / n)
        return p - half, p + half
    centre = p if centred else (p + z * z / (2 * n)) / (1 + z * z / n)
    extra = 0 if no_quarter else z * z / (4 * n * n)
    half = z * math.sqrt(p * (1 - p) / n + extra) / (1 + z * z / n)
    scale = 100 if percent else 1
    return scale * (centre - half), scale * (centre + half)


def _agresti_coull(w, n, z=Z):
    n_t = n + z * z
    p_t = (w + z * z / 2) / n_t
    half = z * math.sqrt(p_t * (1 - p_t) / n_t)
    return p_t - half, p_t + half


def _clopper_pearson(w, n):
    from scipy.stats import binomtest
    ci = binomtest(w, n).proportion_ci(confidence_level=0.95)         # scipy's default method: "exact"
    return float(ci.low), float(ci.high)


WRONG = [
    # 09.1 — the Fréchet distance from features
    WrongAnswer("09.1", "classic", "biased covariance (divide by N)", one(lambda a, b: _fd(a, b, ddof=0)),
                r"divides by N|N − 1"),
    WrongAnswer("09.1", "other", "diagonal covariance only", one(lambda a, b: _fd(a, b, diagonal=True)),
                r"full covariance"),
    WrongAnswer("09.1", "other", "mean term forgotten", one(lambda a, b: _fd(a, b, mean_term=False)),
                r"mean term is missing"),
    WrongAnswer("09.1", "other", "only the mean term", one(lambda a, b: _fd(a, b, cov_term=False)),
                r"covariance term is missing"),
    WrongAnswer("09.1", "other", "standard deviations as the covariance", one(lambda a, b: _fd(a, b, std=True)),
                r"standard deviations"),
    WrongAnswer("09.1", "other", "covariance over the wrong axis (N x N)",
                one(lambda a, b: float(np.trace(np.cov(a.numpy())))), r"wrong value|raised"),
    WrongAnswer("09.1", "other", "element-wise square root of Σ₁Σ₂", one(lambda a, b: _fd_formula(a, b, "elementwise")),
                r"element-wise square root"),
    WrongAnswer("09.1", "other", "Σ₁^½ Σ₂^½ as if they commuted", one(lambda a, b: _fd_formula(a, b, "commute")),
                r"commute"),
    WrongAnswer("09.1", "type", "a tensor of two numbers", one(lambda a, b: _fd(a, b, as_tensor=True)),
                r"single number"),
    WrongAnswer("09.1", "type", "a string", one(lambda a, b: f"{_fd(a, b):.3f}"), r"should be a number"),
    WrongAnswer("09.1", "nan", "NaN", one(lambda a, b: float("nan")), r"not a finite number"),
    # 09.2 — the Inception-score analogue
    WrongAnswer("09.2", "classic", "the mean KL without exp", one(lambda p: _is(p, exp=False)), r"exp is missing"),
    WrongAnswer("09.2", "other", "KL the wrong way round", one(lambda p: _is(p, reverse=True)), r"wrong way round"),
    WrongAnswer("09.2", "other", "uniform p(y)", one(lambda p: _is(p, uniform=True)), r"uniform"),
    WrongAnswer("09.2", "other", "exp per sample, then the mean", one(lambda p: _is(p, exp_each=True)),
                r"exp was taken per sample"),
    WrongAnswer("09.2", "other", "marginal averaged over classes", one(lambda p: _is(p, marginal_dim=1)),
                r"dim=1"),
    WrongAnswer("09.2", "other", "softmax applied to the probabilities again",
                one(lambda p: _is(torch.softmax(p, dim=1))), r"softmax was applied"),
    WrongAnswer("09.2", "other", "only the entropy of the marginal", one(
        lambda p: float(torch.exp(-torch.xlogy(p.mean(0), p.mean(0)).sum()))), r"marginal's entropy"),
    WrongAnswer("09.2", "nan", "0 · log 0 gives NaN", one(lambda p: _is(p, naive_zero=True)), r"0 · log 0"),
    WrongAnswer("09.2", "type", "the per-sample KL tensor", one(lambda p: (torch.xlogy(p, p) - torch.xlogy(
        p, p.mean(0, keepdim=True))).sum(1).exp()), r"single number"),
    # 09.3 — precision and recall
    WrongAnswer("09.3", "classic", "the k-th neighbour is the point itself", one(
        lambda r, f, k: _pr(r, f, k, self_counts=True)), r"counts the point itself"),
    WrongAnswer("09.3", "other", "precision and recall swapped", one(lambda r, f, k: _pr(r, f, k, swap=True)),
                r"swapped"),
    WrongAnswer("09.3", "other", "radii measured to the other set", one(
        lambda r, f, k: _pr(r, f, k, other_balls=True)), r"other set"),
    WrongAnswer("09.3", "other", "a strict < leaves boundary points out", one(lambda r, f, k: _pr(r, f, k, strict=True)),
                r"boundary"),
    WrongAnswer("09.3", "other", "recall from the real balls (coverage)", one(lambda r, f, k: _pr(r, f, k, coverage=True)),
                r"coverage"),
    WrongAnswer("09.3", "type", "one tensor of two values", one(lambda r, f, k: _pr(r, f, k, as_tensors=True)),
                r"tuple \(precision, recall\)"),
    WrongAnswer("09.3", "nan", "NaN precision", one(lambda r, f, k: (float("nan"), _pr(r, f, k)[1])),
                r"not a finite number"),
    # 09.4 — bits per dimension
    WrongAnswer("09.4", "classic", "nats per dimension (no ln 2)", one(lambda lp, d: _bpd(lp, d, ln2=False)),
                r"nats per dimension"),
    WrongAnswer("09.4", "other", "the sign of log p kept", one(lambda lp, d: _bpd(lp, d, sign=-1)), r"sign is wrong"),
    WrongAnswer("09.4", "other", "bits per image", one(lambda lp, d: _bpd(lp, d, per_dim=False)), r"bits per image"),
    WrongAnswer("09.4", "other", "log base 10", one(lambda lp, d: _bpd(lp, d, base10=True)), r"base 10"),
    WrongAnswer("09.4", "other", "summed over images", one(lambda lp, d: _bpd(lp, d, total=True)), r"summed"),
    WrongAnswer("09.4", "other", "multiplied by ln 2", one(lambda lp, d: _bpd(lp, d, times_ln2=True)), r"multiplied by ln 2"),
    WrongAnswer("09.4", "other", "divided by N instead of D", one(lambda lp, d: float(-lp.mean() / (len(lp) * math.log(2)))),
                r"number of images N"),
    WrongAnswer("09.4", "type", "truncated to an int", one(lambda lp, d: int(_bpd(lp, d))), r"int"),
    WrongAnswer("09.4", "type", "per-image bits/dim tensor", one(lambda lp, d: -lp / (d * math.log(2))), r"single number"),
    WrongAnswer("09.4", "nan", "NaN", one(lambda lp, d: float("nan")), r"not a finite number"),
    # 09.5 — the Wilson interval
    WrongAnswer("09.5", "classic", "the Wald interval", one(lambda w, n: _wilson(w, n, wald=True)), r"Wald interval"),
    WrongAnswer("09.5", "other", "centred on p-hat", one(lambda w, n: _wilson(w, n, centred=True)), r"centred on p̂"),
    WrongAnswer("09.5", "other", "z = 1.645", one(lambda w, n: _wilson(w, n, z=1.6448536269514722)), r"90% interval"),
    WrongAnswer("09.5", "other", "missing z²/4n²", one(lambda w, n: _wilson(w, n, no_quarter=True)), r"z²/4n²"),
    WrongAnswer("09.5", "other", "Agresti–Coull", one(_agresti_coull), r"Agresti–Coull"),
    WrongAnswer("09.5", "other", "Clopper–Pearson (scipy's default)", one(_clopper_pearson), r"Clopper–Pearson"),
    WrongAnswer("09.5", "other", "ends swapped", one(lambda w, n: _wilson(w, n)[::-1]), r"swapped"),
    WrongAnswer("09.5", "other", "z = 2", one(lambda w, n: _wilson(w, n, z=2.0)), r"z = 2"),
    WrongAnswer("09.5", "type", "percentages", one(lambda w, n: _wilson(w, n, percent=True)), r"percentages"),
    WrongAnswer("09.5", "type", "a list", one(lambda w, n: list(_wilson(w, n))), r"tuple \(low, high\)"),
    WrongAnswer("09.5", "nan", "NaN ends", one(lambda w, n: (float("nan"), float("nan"))), r"not a finite number"),
]
