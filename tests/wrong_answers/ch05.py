"""Chapter 05 (attention): plausible wrong answers to exercises 05.1–05.3 and the feedback each must get."""
from __future__ import annotations

import math

import torch

from wrong_answers import WrongAnswer, one


def _attention(q, k, v, scale=None, mask="causal", dim=-1, after=False, fill=float("-inf")):
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(d) if scale is None else scale(d))
    allowed = {"causal": torch.ones(T, T, dtype=torch.bool).tril(),
               "inverted": torch.ones(T, T, dtype=torch.bool).triu(),
               "no diagonal": torch.ones(T, T, dtype=torch.bool).tril(-1),
               "one ahead": torch.ones(T, T, dtype=torch.bool).tril(1),
               "not": ~torch.ones(T, T, dtype=torch.bool).tril(),
               None: None}[mask]
    if allowed is not None and not after:
        scores = scores.masked_fill(~allowed, fill)
    weights = torch.softmax(scores, dim=dim)
    if allowed is not None and after:
        weights = weights * allowed
    return weights @ v


def _split(x, n_heads):
    B, T, D = x.shape
    return x.reshape(B, T, n_heads, D // n_heads).transpose(1, 2)


def _merge(x):
    B, H, T, d = x.shape
    return x.transpose(1, 2).reshape(B, T, H * d)


def _positions(T, d, first=torch.sin, second=torch.cos, exponent=2, start=0, halves=False):
    t = torch.arange(start, start + T, dtype=torch.float32)[:, None]
    i = torch.arange(d // 2, dtype=torch.float32)
    angle = t * 10000 ** (-exponent * i / d)
    if halves:
        return torch.cat([first(angle), second(angle)], dim=1)
    return torch.stack([first(angle), second(angle)], dim=2).reshape(T, d)


def _hard_coded_split(x, n_heads):
    B, T, D = x.shape
    return x.reshape(B, T, 2, D // 2).transpose(1, 2)       # H = 2 written in


WRONG = [
    # 05.1 — scaled dot-product attention with a causal mask
    WrongAnswer("05.1", "classic", "scaled by 1/d instead of 1/sqrt(d)",
                one(lambda q, k, v: _attention(q, k, v, scale=lambda d: 1 / d)), r"1/d: the scale is 1/sqrt\(d\)"),
    WrongAnswer("05.1", "classic", "mask applied after the softmax",
                one(lambda q, k, v: _attention(q, k, v, after=True)), r"mask is applied after the softmax"),
    WrongAnswer("05.1", "other", "no scale",
                one(lambda q, k, v: _attention(q, k, v, scale=lambda d: 1.0)), r"scores are not scaled"),
    WrongAnswer("05.1", "other", "mask inverted (triu)",
                one(lambda q, k, v: _attention(q, k, v, mask="inverted")), r"mask is inverted"),
    WrongAnswer("05.1", "other", "mask negated (True = hidden)",
                one(lambda q, k, v: _attention(q, k, v, mask="not")), r"mask is inverted"),
    WrongAnswer("05.1", "other", "diagonal excluded (off by one)",
                one(lambda q, k, v: _attention(q, k, v, mask="no diagonal")), r"hides the diagonal"),
    WrongAnswer("05.1", "other", "one position ahead allowed (off by one)",
                one(lambda q, k, v: _attention(q, k, v, mask="one ahead")), r"off by one"),
    WrongAnswer("05.1", "other", "softmax over the queries",
                one(lambda q, k, v: _attention(q, k, v, dim=-2)), r"softmax runs over the queries"),
    WrongAnswer("05.1", "other", "no mask",
                one(lambda q, k, v: _attention(q, k, v, mask=None)), r"there is no mask"),
    WrongAnswer("05.1", "other", "masked scores set to 0",
                one(lambda q, k, v: _attention(q, k, v, fill=0.0)), r"set to 0 instead of −inf"),
    WrongAnswer("05.1", "other", "returns the weights",
                one(lambda q, k, v: torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]))
                                                  .masked_fill(~torch.ones(q.shape[1], q.shape[1], dtype=torch.bool).tril(), float("-inf")), -1)),
                r"multiply the weights by v"),
    WrongAnswer("05.1", "nan", "minus infinity times zero",
                one(lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
                                                  + float("-inf") * (1 - torch.ones(q.shape[1], q.shape[1]).tril()), -1) @ v),
                r"NaN or inf.*before"),
    WrongAnswer("05.1", "type", "numpy array",
                one(lambda q, k, v: _attention(q, k, v).numpy()), r"torch\.Tensor, got a numpy array"),
    WrongAnswer("05.1", "type", "tuple (out, weights)",
                one(lambda q, k, v: (_attention(q, k, v), None)), r"one tensor, got a tuple"),
    WrongAnswer("05.1", "other", "k.transpose(1, 2): works only for 3-D inputs",
                one(lambda q, k, v: torch.softmax((q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])).masked_fill(
                    ~torch.ones(q.shape[-2], q.shape[-2], dtype=torch.bool).tril(), float("-inf")), -1) @ v),
                r"works only for 3-D inputs.*transpose\(-2, -1\)"),
    WrongAnswer("05.1", "other", "mask hard-coded as torch.ones(6, 6).tril()",
                one(lambda q, k, v: torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(
                    ~torch.ones(6, 6, dtype=torch.bool).tril(), float("-inf")), -1) @ v),
                r"a size is hard-coded"),
    WrongAnswer("05.1", "other", "scale hard-coded as / 4.0",
                one(lambda q, k, v: _attention(q, k, v, scale=lambda d: 1 / 4.0)), r"scale is hard-coded"),
    WrongAnswer("05.1", "other", "scale from the values' width",
                one(lambda q, k, v: _attention(q, k, v, scale=lambda d: 1 / math.sqrt(v.shape[-1]))),
                r"values' width, not the keys'"),
    WrongAnswer("05.1", "other", "scale from the sequence length",
                one(lambda q, k, v: _attention(q, k, v, scale=lambda d: 1 / math.sqrt(q.shape[-2]))),
                r"scale uses the sequence length"),
    WrongAnswer("05.1", "other", "output detached",
                one(lambda q, k, v: _attention(q, k, v).detach()), r"output is detached"),
    WrongAnswer("05.1", "other", "q divided in place",
                one(lambda q, k, v: _attention(q.div_(math.sqrt(q.shape[-1])), k, v, scale=lambda d: 1.0)),
                r"changed the input tensor q in place"),
    WrongAnswer("05.1", "type", "integer output",
                one(lambda q, k, v: _attention(q, k, v).long()), r"integer type"),
    WrongAnswer("05.1", "type", "half precision",
                one(lambda q, k, v: _attention(q, k, v).half()), r"float16 but q, k and v are"),
    WrongAnswer("05.1", "nan", "all NaN",
                one(lambda q, k, v: _attention(q, k, v) * float("nan")), r"NaN or inf"),
    # 05.2 — splitting and merging heads
    WrongAnswer("05.2", "classic", "split by reshape without transpose",
                lambda: (lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h), _merge),
                r"without a transpose"),
    WrongAnswer("05.2", "classic", "merge by reshape without transpose",
                lambda: (_split, lambda x: x.reshape(x.shape[0], x.shape[2], -1)), r"merge\(heads\) reshapes .* without a transpose"),
    WrongAnswer("05.2", "other", "transpose forgotten (B, T, H, D/H)",
                lambda: (lambda x, h: x.reshape(*x.shape[:2], h, -1), _merge), r"\.transpose\(1, 2\)"),
    WrongAnswer("05.2", "other", "heads take interleaved features",
                lambda: (lambda x, h: x.reshape(*x.shape[:2], -1, h).permute(0, 3, 1, 2), _merge),
                r"features h, h \+ H"),
    WrongAnswer("05.2", "other", "hard-coded number of heads",
                lambda: (_hard_coded_split, _merge), r"wrong shape .*do not hard-code"),
    WrongAnswer("05.2", "other", "merge with view after transpose",
                lambda: (_split, lambda x: x.transpose(1, 2).view(x.shape[0], x.shape[2], -1)), r"raised RuntimeError"),
    WrongAnswer("05.2", "other", "merge interleaves the heads (permute(0, 2, 3, 1))",
                lambda: (_split, lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], -1)),
                r"interleaves the heads' features"),
    WrongAnswer("05.2", "other", "split detached",
                lambda: (lambda x, h: _split(x, h).detach(), _merge), r"split\(x\) is detached"),
    WrongAnswer("05.2", "nan", "split returns NaN",
                lambda: (lambda x, h: _split(x, h) * float("nan"), _merge), r"split\(x\) contains NaN"),
    WrongAnswer("05.2", "type", "split returns numpy",
                lambda: (lambda x, h: _split(x, h).numpy(), _merge), r"torch\.Tensor, got a numpy array"),
    WrongAnswer("05.2", "type", "merge returns a list of heads",
                lambda: (_split, lambda x: list(x.unbind(1))), r"torch\.Tensor, got list"),
    # 05.3 — sinusoidal positions
    WrongAnswer("05.3", "classic", "sin and cos swapped",
                one(lambda T, d: _positions(T, d, torch.cos, torch.sin)), r"sin and cos are swapped"),
    WrongAnswer("05.3", "classic", "exponent i/d instead of 2i/d",
                one(lambda T, d: _positions(T, d, exponent=1)), r"10000\^\(−i/d\)"),
    WrongAnswer("05.3", "other", "halves instead of interleaved",
                one(lambda T, d: _positions(T, d, halves=True)), r"first d/2 columns"),
    WrongAnswer("05.3", "other", "positions start at 1",
                one(lambda T, d: _positions(T, d, start=1)), r"positions start at 1"),
    WrongAnswer("05.3", "other", "growing frequencies",
                one(lambda T, d: _positions(T, d, exponent=-2)), r"frequencies grow"),
    WrongAnswer("05.3", "other", "a frequency per column",
                one(lambda T, d: torch.where(torch.arange(d) % 2 == 0,
                                             torch.sin(torch.arange(T)[:, None] * 10000 ** (-torch.arange(d) / d)),
                                             torch.cos(torch.arange(T)[:, None] * 10000 ** (-torch.arange(d) / d)))),
                r"share one frequency"),
    WrongAnswer("05.3", "nan", "log of the position",
                one(lambda T, d: _positions(T, d) * torch.log(torch.arange(T, dtype=torch.float32))[:, None] / 0),
                r"NaN or inf"),
    WrongAnswer("05.3", "type", "numpy array",
                one(lambda T, d: _positions(T, d).numpy()), r"torch\.Tensor, got a numpy array"),
]
