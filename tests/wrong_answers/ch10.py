"""Chapter 10 (ethics): plausible wrong answers to exercises 10.1–10.5 and the feedback each must get."""
from __future__ import annotations

import math

import torch

from gencourse.metrics import wilson_interval
from wrong_answers import WrongAnswer, one

Z = 1.959963984540054


def _z(tokens, table, repeats=False, consecutive=False, transposed=False, gamma=None, no_sqrt=False, poisson=False,
       share_form=False, red=False, all_tokens=False, as_tensor=False):
    ids = tokens.tolist()
    pairs = list(zip(ids[:-1], ids[1:]))
    if consecutive:
        pairs = [p for i, p in enumerate(pairs) if i == 0 or p != pairs[i - 1]]
    elif not repeats:
        pairs = list(dict.fromkeys(pairs))
    g = float(table[0].sum()) / table.shape[0] if gamma is None else gamma
    green = sum(bool(table[t, p] if transposed else table[p, t]) for p, t in pairs)
    if red:
        green = len(pairs) - green
    t = len(ids) if all_tokens else len(pairs)
    if share_form:
        return (green / t - g) / math.sqrt(g * (1 - g))
    spread = t * g * (1 - g) if no_sqrt else math.sqrt(t * g if poisson else t * g * (1 - g))
    z = (green - g * t) / spread
    return torch.tensor([z, z]) if as_tensor else z


def _green(previous, vocab, gamma, key, seed=None, count=int, bernoulli=False, last=False, red=False,
           ids=False, dtype=torch.bool):
    g = torch.Generator().manual_seed(key * 1_000_003 + previous if seed is None else seed(key, previous))
    if bernoulli:
        return torch.rand(vocab, generator=g) < gamma
    perm = torch.randperm(vocab, generator=g)
    size = count(gamma * vocab)
    chosen = perm[vocab - size:] if last else perm[:size]
    if ids:
        return chosen
    mask = torch.zeros(vocab, dtype=torch.bool)
    mask[chosen] = True
    return (~mask if red else mask).to(dtype)


def _tpr(members, others, fpr, flag_high=False, extra=0, inclusive=False, percent=False, count=math.floor):
    m, o = (-members, -others) if flag_high else (members, others)
    o = torch.sort(o).values
    k = min(count(fpr * len(o)) + extra, len(o))
    if k >= len(o):
        return 1.0
    flagged = (m <= o[k]) if inclusive else (m < o[k])
    return float(flagged.double().mean()) * (100 if percent else 1)


def _interpolated(members, others, fpr):
    import numpy as np
    from sklearn.metrics import roc_curve
    f, t, _ = roc_curve([1] * len(members) + [0] * len(others), torch.cat([-members, -others]).numpy())
    return float(np.interp(fpr, f, t))


def _roc_auc(members, others, fpr):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score([1] * len(members) + [0] * len(others), torch.cat([-members, -others]).numpy()))


def _audit(labels, groups, confusion, wald=False, transpose=True, correct=True, counter=False, percent=False,
           multiply=False, as_list=False, z=Z, interval="wilson"):
    n = len(labels)
    present = [g for g in groups if g in labels] if counter else groups
    counts = {g: labels.count(g) for g in groups}
    q = torch.tensor([counts[g] / n for g in groups], dtype=torch.float64)
    if multiply:
        p = confusion.T @ q
    elif correct:
        p = torch.linalg.solve(confusion.T if transpose else confusion, q)
    else:
        p = q
    out = {}
    for i, g in enumerate(groups):
        if g not in present:
            continue
        share = counts[g] / n
        if wald:
            half = z * math.sqrt(share * (1 - share) / n)
            low, high = share - half, share + half
        elif interval == "agresti":
            n_t = n + Z * Z
            p_t = (counts[g] + Z * Z / 2) / n_t
            half = Z * math.sqrt(p_t * (1 - p_t) / n_t)
            low, high = p_t - half, p_t + half
        else:
            low, high = wilson_interval(counts[g], n)
        row = (share, low, high, float(p[i]))
        row = tuple(100 * v for v in row) if percent else row
        out[g] = list(row) if as_list else row
    return out


def _flops(layers, d, vocab, context, tokens, factor=3.0, attention=4.0, head=True, per_layer=12, per_weight=2.0,
           embeddings=0):
    forward = (per_weight * (per_layer * layers * d * d + (d * vocab if head else 0)) + attention * layers * context * d
               + 2.0 * embeddings)
    return factor * forward * tokens


WRONG = [
    # 10.1 — the watermark's z-score
    WrongAnswer("10.1", "classic", "repeated pairs counted", one(lambda tk, tb: _z(tk, tb, repeats=True)),
                r"counted each time"),
    WrongAnswer("10.1", "other", "only consecutive repeats dropped", one(lambda tk, tb: _z(tk, tb, consecutive=True)),
                r"follow each other"),
    WrongAnswer("10.1", "other", "table read as [token, previous]", one(lambda tk, tb: _z(tk, tb, transposed=True)),
                r"table\[previous, token\]"),
    WrongAnswer("10.1", "other", "γ assumed 0.25", one(lambda tk, tb: _z(tk, tb, gamma=0.25)), r"read it from the table"),
    WrongAnswer("10.1", "other", "γ hard-coded as 0.3", one(lambda tk, tb: _z(tk, tb, gamma=0.3)),
                r"read γ from the"),
    WrongAnswer("10.1", "other", "no square root", one(lambda tk, tb: _z(tk, tb, no_sqrt=True)), r"square root is missing"),
    WrongAnswer("10.1", "other", "Poisson variance", one(lambda tk, tb: _z(tk, tb, poisson=True)), r"Poisson"),
    WrongAnswer("10.1", "other", "the share's z without √T", one(lambda tk, tb: _z(tk, tb, share_form=True)), r"without √T"),
    WrongAnswer("10.1", "other", "red tokens counted", one(lambda tk, tb: _z(tk, tb, red=True)), r"red tokens"),
    WrongAnswer("10.1", "other", "T counts every token", one(lambda tk, tb: _z(tk, tb, all_tokens=True)),
                r"T counts every token"),
    WrongAnswer("10.1", "type", "a tensor of two numbers", one(lambda tk, tb: _z(tk, tb, as_tensor=True)), r"single number"),
    WrongAnswer("10.1", "type", "a string", one(lambda tk, tb: f"{_z(tk, tb):.2f}"), r"should be a number"),
    WrongAnswer("10.1", "nan", "NaN", one(lambda tk, tb: float("nan")), r"not a finite number"),
    # 10.2 — the green list
    WrongAnswer("10.2", "classic", "seeded by the key alone", one(
        lambda p, v, g, k: _green(p, v, g, k, seed=lambda key, prev: key)), r"ignores the previous token"),
    WrongAnswer("10.2", "other", "seed key + previous", one(
        lambda p, v, g, k: _green(p, v, g, k, seed=lambda key, prev: key + prev)), r"key \+ previous"),
    WrongAnswer("10.2", "other", "round() instead of int()", one(lambda p, v, g, k: _green(p, v, g, k, count=round)),
                r"rounded up or to the nearest \(round\)"),
    WrongAnswer("10.2", "other", "math.ceil", one(lambda p, v, g, k: _green(p, v, g, k, count=math.ceil)),
                r"rounded up or to the nearest"),
    WrongAnswer("10.2", "other", "int(x + 0.5)", one(lambda p, v, g, k: _green(p, v, g, k, count=lambda x: int(x + 0.5))),
                r"rounded up or to the nearest"),
    WrongAnswer("10.2", "other", "Bernoulli(γ) per token", one(lambda p, v, g, k: _green(p, v, g, k, bernoulli=True)),
                r"probability γ"),
    WrongAnswer("10.2", "other", "the last tokens of the permutation", one(lambda p, v, g, k: _green(p, v, g, k, last=True)),
                r"last int"),
    WrongAnswer("10.2", "other", "the red list", one(lambda p, v, g, k: _green(p, v, g, k, red=True)), r"red list"),
    WrongAnswer("10.2", "type", "the green ids instead of a mask", one(lambda p, v, g, k: _green(p, v, g, k, ids=True)),
                r"list of \d+ green token ids"),
    WrongAnswer("10.2", "type", "a float mask", one(lambda p, v, g, k: _green(p, v, g, k, dtype=torch.float32)),
                r"bool tensor"),
    WrongAnswer("10.2", "type", "a Python list", one(lambda p, v, g, k: _green(p, v, g, k).tolist()), r"torch.Tensor"),
    WrongAnswer("10.2", "nan", "NaN entries", one(lambda p, v, g, k: torch.full((v,), float("nan"))), r"NaN"),
    # 10.3 — TPR at a fixed FPR
    WrongAnswer("10.3", "classic", "high losses flagged", one(lambda m, o, f: _tpr(m, o, f, flag_high=True)),
                r"flags high losses"),
    WrongAnswer("10.3", "other", "one outsider too many", one(lambda m, o, f: _tpr(m, o, f, extra=1)),
                r"one outsider too many"),
    WrongAnswer("10.3", "other", "f·M rounded to the nearest", one(lambda m, o, f: _tpr(m, o, f, count=round)),
                r"rounded to the nearest"),
    WrongAnswer("10.3", "other", "interpolated ROC", one(lambda m, o, f: _interpolated(m, o, f)), r"interpolates"),
    WrongAnswer("10.3", "other", "strictly below f·M", one(lambda m, o, f: _tpr(m, o, f, count=lambda x: math.ceil(x) - 1)),
                r"strictly fewer"),
    WrongAnswer("10.3", "type", "a float32 tensor (accepted up to rounding) then ×100", one(
        lambda m, o, f: _tpr(m, o, f) * 100), r"percentage"),
    WrongAnswer("10.3", "other", "the FPR returned", one(lambda m, o, f: f), r"false-positive rate itself"),
    WrongAnswer("10.3", "other", "the AUC returned", one(_roc_auc), r"ROC AUC"),
    WrongAnswer("10.3", "other", "threshold on the members", one(
        lambda m, o, f: float((m < torch.quantile(m, f)).double().mean())), r"false-positive rate itself"),
    WrongAnswer("10.3", "type", "a percentage", one(lambda m, o, f: _tpr(m, o, f, percent=True)), r"percentage"),
    WrongAnswer("10.3", "type", "the flags, not their share", one(lambda m, o, f: m < torch.sort(o).values[0]),
                r"single number"),
    WrongAnswer("10.3", "nan", "NaN", one(lambda m, o, f: float("nan")), r"not a finite number"),
    # 10.4 — the audit
    WrongAnswer("10.4", "classic", "the Wald interval", one(lambda lb, g, c: _audit(lb, g, c, wald=True)), r"Wald interval"),
    WrongAnswer("10.4", "other", "C p = q solved", one(lambda lb, g, c: _audit(lb, g, c, transpose=False)), r"solved C p = q"),
    WrongAnswer("10.4", "other", "no correction", one(lambda lb, g, c: _audit(lb, g, c, correct=False)),
                r"corrected shares are the observed ones"),
    WrongAnswer("10.4", "other", "multiplied by the confusion matrix", one(lambda lb, g, c: _audit(lb, g, c, multiply=True)),
                r"multiplied by the confusion matrix"),
    WrongAnswer("10.4", "other", "unseen groups left out (a Counter)", one(lambda lb, g, c: _audit(lb, g, c, counter=True)),
                r"missing from the audit"),
    WrongAnswer("10.4", "other", "Wilson ends off by more than rounding", one(
        lambda lb, g, c: {k: (v[0], v[1] - 0.01, v[2], v[3]) for k, v in _audit(lb, g, c).items()}), r"Wilson interval's low end"),
    WrongAnswer("10.4", "other", "Wald with z = 1.96", one(lambda lb, g, c: _audit(lb, g, c, wald=True, z=1.96)),
                r"Wald interval"),
    WrongAnswer("10.4", "other", "Agresti–Coull", one(lambda lb, g, c: _audit(lb, g, c, interval="agresti")), r"Agresti–Coull"),
    WrongAnswer("10.4", "type", "percentages", one(lambda lb, g, c: _audit(lb, g, c, percent=True)), r"not a share"),
    WrongAnswer("10.4", "type", "a list of tuples", one(lambda lb, g, c: list(_audit(lb, g, c).values())), r"return a dict"),
    WrongAnswer("10.4", "type", "two-element rows", one(lambda lb, g, c: {k: v[:2] for k, v in _audit(lb, g, c).items()}),
                r"tuple \(share, low, high, corrected\)"),
    WrongAnswer("10.4", "nan", "NaN corrected shares", one(
        lambda lb, g, c: {k: (*v[:3], float("nan")) for k, v in _audit(lb, g, c).items()}), r"not a finite number"),
    # 10.5 — training FLOPs
    WrongAnswer("10.5", "classic", "forward pass only (2ND)", one(lambda *a: _flops(*a, factor=1.0)), r"forward pass only"),
    WrongAnswer("10.5", "other", "backward = one forward", one(lambda *a: _flops(*a, factor=2.0)), r"backward pass was counted"),
    WrongAnswer("10.5", "other", "6ND, no attention", one(lambda *a: _flops(*a, attention=0.0)), r"attention scores are missing"),
    WrongAnswer("10.5", "other", "Kaplan's 2LTd attention", one(lambda *a: _flops(*a, attention=2.0)), r"Kaplan"),
    WrongAnswer("10.5", "other", "no output head", one(lambda *a: _flops(*a, head=False)), r"output head"),
    WrongAnswer("10.5", "other", "4d² per layer", one(lambda *a: _flops(*a, per_layer=4)), r"12 d² weights"),
    WrongAnswer("10.5", "other", "1 FLOP per weight", one(lambda *a: _flops(*a) / 2), r"2 FLOPs per token"),
    WrongAnswer("10.5", "other", "input embedding counted", one(lambda *a: _flops(*a, embeddings=a[1] * a[2])),
                r"input embedding"),
    WrongAnswer("10.5", "type", "a string", one(lambda *a: f"{_flops(*a):.3e}"), r"should be a number"),
    WrongAnswer("10.5", "nan", "NaN", one(lambda *a: float("nan")), r"not a finite number"),
]
