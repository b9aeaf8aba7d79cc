"""Chapter 08 (diffusion): plausible wrong answers to exercises 08.1–08.5 and the feedback each must get."""
from __future__ import annotations

import math

import torch

from wrong_answers import WrongAnswer, one


def _q(x0, a, noise, sqrt=True, swap=False, column=True, signal_sqrt=True, add_noise=True):
    a = a[:, None] if column else a
    s, n = (a, 1 - a) if not swap else (1 - a, a)
    signal = (s.sqrt() if sqrt and signal_sqrt else s) * x0
    return signal + ((n.sqrt() if sqrt else n) * noise if add_noise else 0)


def _loss(model, x0, t, noise, a, target="noise", reduce="mean", sqrt=True, first_step=False, as_float=False):
    ab = (a[0].expand(len(t)) if first_step else a[t])[:, None]
    x_t = (ab.sqrt() * x0 + (1 - ab).sqrt() * noise) if sqrt else ab * x0 + (1 - ab) * noise
    err = (model(x_t, t) - (noise if target == "noise" else x0)) ** 2
    out = err.mean() if reduce == "mean" else err.sum()
    return out.item() if as_float else out


def _ddpm(x, eps, t, betas, a_bar, z, var="posterior", noise_at_zero=False, eps_factor="sqrt", alpha="step",
          std=True):
    beta, ab = float(betas[t]), float(a_bar[t])
    factor = beta / (math.sqrt(1 - ab) if eps_factor == "sqrt" else (1 - ab))
    mean = (x - factor * eps) / math.sqrt(1 - beta if alpha == "step" else ab)
    if t == 0 and not noise_at_zero:
        return mean
    prev = float(a_bar[t - 1])           # at t = 0 this wraps to ᾱ_{T-1}: the bug of adding noise there
    v = beta if var == "beta" else (1 - prev) / (1 - ab) * beta
    return mean + (math.sqrt(v) if std else v) * z


def _ddim(x, eps, a_t, a_prev, form_x0=True, target="prev", sqrt=True):
    x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t) if form_x0 else x
    a = a_prev if target == "prev" else a_t
    return (math.sqrt(a) * x0 + math.sqrt(1 - a) * eps) if sqrt else a * x0 + (1 - a) * eps


WRONG = [
    # 08.1 — the closed form
    WrongAnswer("08.1", "classic", "no square roots", one(lambda x0, a, n: _q(x0, a, n, sqrt=False)),
                r"square roots are missing"),
    WrongAnswer("08.1", "other", "signal and noise factors swapped", one(lambda x0, a, n: _q(x0, a, n, swap=True)),
                r"roles are swapped"),
    WrongAnswer("08.1", "other", "only the noise factor has a root",
                one(lambda x0, a, n: _q(x0, a, n, signal_sqrt=False)), r"scaled by √ᾱ, not ᾱ"),
    WrongAnswer("08.1", "other", "alpha_bar broadcast along the last axis",
                one(lambda x0, a, n: _q(x0, a, n, column=False)), r"alpha_bar\[:, None\]|broadcast"),
    WrongAnswer("08.1", "other", "noise forgotten", one(lambda x0, a, n: _q(x0, a, n, add_noise=False)),
                r"noise is not added"),
    WrongAnswer("08.1", "type", "numpy array", one(lambda x0, a, n: _q(x0, a, n).numpy()), r"numpy array"),
    WrongAnswer("08.1", "nan", "NaN output", one(lambda x0, a, n: _q(x0, a, n) * float("nan")), r"NaN"),
    # 08.2 — the loss
    WrongAnswer("08.2", "classic", "regress x0 instead of the noise",
                one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a, target="x0")), r"predicts the noise"),
    WrongAnswer("08.2", "other", "summed, not averaged", one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a, reduce="sum")),
                r"summed"),
    WrongAnswer("08.2", "other", "x_t without square roots",
                one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a, sqrt=False)), r"without square roots"),
    WrongAnswer("08.2", "other", "alpha_bar of step 0 for everyone",
                one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a, first_step=True)), r"each example's t"),
    WrongAnswer("08.2", "other", "model sees x0", one(lambda m, x0, t, n, a: ((m(x0, t) - n) ** 2).mean()),
                r"saw x0"),
    WrongAnswer("08.2", "type", "loss returned with .item()",
                one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a, as_float=True)), r"plain number"),
    WrongAnswer("08.2", "other", "per-example losses, not averaged",
                one(lambda m, x0, t, n, a: ((m(_q(x0, a[t], n), t) - n) ** 2).mean(1)), r"one number"),
    WrongAnswer("08.2", "nan", "NaN loss", one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a) * float("nan")),
                r"not a finite number|nan"),
    # 08.3 — one ancestral step
    WrongAnswer("08.3", "classic", "variance β_t instead of the posterior's β̃_t",
                one(lambda *args: _ddpm(*args, var="beta")), r"variance β_t"),
    WrongAnswer("08.3", "other", "noise added at t = 0", one(lambda *args: _ddpm(*args, noise_at_zero=True)),
                r"at t = 0"),
    WrongAnswer("08.3", "other", "divide by ᾱ_t in the mean", one(lambda *args: _ddpm(*args, alpha="cumulative")),
                r"√ᾱ_t \(the product\)"),
    WrongAnswer("08.3", "other", "1-ᾱ_t without its root", one(lambda *args: _ddpm(*args, eps_factor="plain")),
                r"1-ᾱ_t, not √\(1-ᾱ_t\)"),
    WrongAnswer("08.3", "other", "noise scaled by the variance", one(lambda *args: _ddpm(*args, std=False)),
                r"square root √β̃_t"),
    WrongAnswer("08.3", "type", "a list", one(lambda *args: _ddpm(*args).tolist()), r"torch.Tensor, got list"),
    WrongAnswer("08.3", "nan", "NaN step", one(lambda *args: _ddpm(*args) * float("nan")), r"NaN"),
    # 08.4 — one DDIM step
    WrongAnswer("08.4", "classic", "x_t used in place of x̂_0",
                one(lambda x, e, a, p: _ddim(x, e, a, p, form_x0=False)), r"x̂_0 is missing"),
    WrongAnswer("08.4", "other", "lands on ᾱ_t again", one(lambda x, e, a, p: _ddim(x, e, a, p, target="same")),
                r"ᾱ_t where ᾱ_t' belongs"),
    WrongAnswer("08.4", "other", "no square roots", one(lambda x, e, a, p: _ddim(x, e, a, p, sqrt=False)),
                r"square roots are missing"),
    WrongAnswer("08.4", "other", "returns x̂_0", one(lambda x, e, a, p: (x - math.sqrt(1 - a) * e) / math.sqrt(a)),
                r"returns x̂_0"),
    WrongAnswer("08.4", "type", "numpy array", one(lambda x, e, a, p: _ddim(x, e, a, p).numpy()), r"numpy array"),
    WrongAnswer("08.4", "nan", "NaN step", one(lambda x, e, a, p: _ddim(x, e, a, p) * float("nan")), r"NaN"),
    # 08.5 — guidance
    WrongAnswer("08.5", "classic", "the paper's w used as s", one(lambda c, u, s: c + s * (c - u)), r"w = s"),
    WrongAnswer("08.5", "other", "roles swapped", one(lambda c, u, s: c + s * (u - c)), r"roles are swapped"),
    WrongAnswer("08.5", "other", "scaled conditional only", one(lambda c, u, s: s * c), r"only scaled"),
    WrongAnswer("08.5", "other", "average", one(lambda c, u, s: (c + u) / 2), r"averaged"),
    WrongAnswer("08.5", "type", "a tuple", one(lambda c, u, s: (u, s * (c - u))), r"one tensor, got a tuple"),
    WrongAnswer("08.5", "nan", "NaN", one(lambda c, u, s: u + s * (c - u) * float("nan")), r"NaN"),
    # found by the chapter's review: answers an earlier check accepted, or fed a misleading message
    WrongAnswer("08.1", "other", "fresh noise drawn instead of the given one",
                one(lambda x0, a, n: _q(x0, a, torch.randn_like(n))), r"do not draw new noise"),
    WrongAnswer("08.2", "other", "loss shaped (1, 1)", one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a).reshape(1, 1)),
                r"0-d tensor"),
    WrongAnswer("08.2", "other", "loss detached", one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a).detach()),
                r"detached|no_grad"),
    WrongAnswer("08.2", "other", "sum over coordinates, mean over the batch (the paper's norm)",
                one(lambda m, x0, t, n, a: ((m(_q(x0, a[t], n), t) - n) ** 2).sum(1).mean()), r"mean over every entry"),
    WrongAnswer("08.2", "other", "alpha_bars indexed with the paper's 1-based t",
                one(lambda m, x0, t, n, a: ((m(_q(x0, a[t - 1], n), t) - n) ** 2).mean()), r"one step early"),
    WrongAnswer("08.3", "other", "t = 0 answer shaped (1, N, D)",
                one(lambda x, e, t, b, a, z: _ddpm(x, e, t, b, a, z)[None] if t == 0 else _ddpm(x, e, t, b, a, z)),
                r"wrong shape"),
    WrongAnswer("08.3", "other", "t = 0 returns x_t unchanged",
                one(lambda x, e, t, b, a, z: x.clone() if t == 0 else _ddpm(x, e, t, b, a, z)), r"x_t unchanged"),
    WrongAnswer("08.3", "other", "β and ᾱ indexed with the paper's 1-based t",
                one(lambda x, e, t, b, a, z: _ddpm(x, e, t - 1, b, a, z) if t > 1 else _ddpm(x, e, t, b, a, z)),
                r"one step early"),
    WrongAnswer("08.5", "other", "right only at the scales 0, 1 and 2.5",
                one(lambda c, u, s: u + s * (c - u) if s in (0.0, 1.0, 2.5) else c), r"s = 0.7"),
    WrongAnswer("08.3", "other", "no noise at t = 1 (DDPM's Algorithm 2 read literally, 1-based)",
                one(lambda x, e, t, b, a, z: _ddpm(x, e, t, b, a, z) if t > 1 else _ddpm(x, e, t, b, a, z * 0)),
                r"no noise was added"),
    WrongAnswer("08.2", "other", "no_grad loss re-attached with requires_grad_",
                one(lambda m, x0, t, n, a: _loss(m, x0, t, n, a).detach().requires_grad_()), r"cut off"),
]
