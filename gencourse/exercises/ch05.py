"""Checks for chapter 05 (attention): causal scaled dot-product attention, splitting and merging
heads, and sinusoidal positions. Each names the classic mistakes it recognises."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from gencourse.exercises.feedback import ExerciseFailed, call, diagnose, exercise, expect_tensor
from gencourse.models.attention import causal_mask, merge_heads, sinusoidal_positions, split_heads


def _float_tensor(name: str, got) -> None:
    """Type and NaN problems first: they would hide every other diagnosis."""
    if isinstance(got, tuple):
        raise ExerciseFailed(f"{name} should be one tensor, got a tuple of {len(got)}: return only the output")
    if isinstance(got, np.ndarray):
        raise ExerciseFailed(f"{name} should be a torch.Tensor, got a numpy array: stay in torch (no .numpy())")
    if not isinstance(got, Tensor):
        raise ExerciseFailed(f"{name} should be a torch.Tensor, got {type(got).__name__}")


def _attend(q: Tensor, k: Tensor, v: Tensor, scale: float, mask: Tensor | None, dim: int = -1,
            fill: float = float("-inf")) -> Tensor:
    scores = q @ k.transpose(-2, -1) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, fill)
    return torch.softmax(scores, dim=dim) @ v


def _same_dtype(got: Tensor, inputs: Tensor) -> None:
    if not got.is_floating_point():
        raise ExerciseFailed(f"the output has dtype {got.dtype}, an integer type: attention weights are fractions, "
                             "so keep the floating-point dtype of q, k and v (no .long(), .int() or rounding)")
    if got.dtype != inputs.dtype:
        raise ExerciseFailed(f"the output has dtype {got.dtype} but q, k and v are {inputs.dtype}: keep the inputs' "
                             "precision (no .half() or .to(...)); half precision loses about three digits")


def _unchanged(before: tuple[Tensor, ...], after: tuple[Tensor, ...]) -> None:
    for name, b, a in zip("qkv", before, after):
        if not torch.equal(a.detach(), b):
            raise ExerciseFailed(f"you changed the input tensor {name} in place (an operation ending in _, such "
                                 f"as {name}.div_(...), or {name} /= ...): the caller's tensor is modified. Compute "
                                 "new tensors instead (q / math.sqrt(d) or q @ k.transpose(-2, -1) / ...)")


@exercise("05.1", "scaled dot-product attention with a causal mask")
def check_causal_attention(causal_attention) -> None:
    g = torch.Generator().manual_seed(0)
    B, T, d = 2, 6, 16
    q, k, v = (1.5 * torch.randn(B, T, d, generator=g) for _ in range(3))
    saved = (q.clone(), k.clone(), v.clone())
    got = call(causal_attention, q, k, v, what="causal_attention(q, k, v)")
    _float_tensor("the output", got)
    given, (q, k, v) = (q, k, v), (t.clone() for t in saved)
    mask = causal_mask(T)
    expected = _attend(q, k, v, 1 / math.sqrt(d), mask)
    if tuple(got.shape) != (B, T, d):
        if tuple(got.shape) == (B, T, T):
            raise ExerciseFailed(f"the output has shape {tuple(got.shape)}, the attention weights' shape: "
                                 "multiply the weights by v to mix the values, (B, T, T) @ (B, T, d)")
        raise ExerciseFailed(f"the output has the wrong shape: expected {(B, T, d)}, got {tuple(got.shape)}")
    _same_dtype(got, q)
    got_f = got.detach()
    if not bool(torch.isfinite(got_f).all()):
        bad_rows = sorted({int(t) for t in (~torch.isfinite(got_f)).any(-1).nonzero()[:, 1]})
        if bad_rows == [0]:
            raise ExerciseFailed("position 0's output is NaN: your mask hides the diagonal, so the first query "
                                 "may attend to nothing (softmax of all −inf). A position must see itself: "
                                 "allow keys s <= t (torch.tril with diagonal 0)")
        if bad_rows == [T - 1]:
            raise ExerciseFailed(f"position {T - 1}'s output is NaN: your mask is inverted (~mask or True = "
                                 "hidden), so the last query may attend to nothing. Here True means *may "
                                 "attend*: keep the scores where torch.tril(...) is True")
        raise ExerciseFailed("the output contains NaN or inf values: fill the masked scores with −inf *before* "
                             "the softmax (masked_fill), never multiply −inf by 0 or take the log of 0")
    diagnose(got, {
        "you scaled the scores by 1/d: the scale is 1/sqrt(d), which keeps the scores' spread near 1 "
        "whatever d is (q·k of two random d-vectors has standard deviation sqrt(d))":
            _attend(q, k, v, 1 / d, mask),
        "the scores are not scaled: divide q kᵀ by sqrt(d) before the softmax, or the softmax saturates "
        "as d grows": _attend(q, k, v, 1.0, mask),
        "you multiplied the scores by sqrt(d) instead of dividing by it": _attend(q, k, v, math.sqrt(d), mask),
        "the scale uses the sequence length: you divided by sqrt(T) (q.shape[-2] or q.shape[1]); d is the "
        "width of the queries and keys, q.shape[-1]": _attend(q, k, v, 1 / math.sqrt(T), mask),
        "the mask is applied after the softmax: the future's weights were zeroed but the remaining ones no "
        "longer sum to 1 (the future still took its share). Fill masked scores with −inf before the softmax":
            (torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), -1) * mask) @ v,
        "the mask is inverted: position t attends to positions >= t (the future). A causal mask allows "
        "s <= t: torch.tril, True on and below the diagonal": _attend(q, k, v, 1 / math.sqrt(d), mask.T),
        "the mask is off by one: it also lets position t see t + 1 (torch.tril(..., diagonal=1)); allow "
        "only s <= t": _attend(q, k, v, 1 / math.sqrt(d), torch.ones(T, T, dtype=torch.bool).tril(1)),
        "the softmax runs over the queries (dim −2): each query's weights must sum to 1 over the keys, "
        "softmax(..., dim=−1)": _attend(q, k, v, 1 / math.sqrt(d), mask, dim=-2),
        "there is no mask: every position sees the future. Fill the scores above the diagonal with −inf "
        "before the softmax": _attend(q, k, v, 1 / math.sqrt(d), None),
        "masked scores were set to 0 instead of −inf: exp(0) = 1, so the future still gets weight. "
        "Use float('-inf')": _attend(q, k, v, 1 / math.sqrt(d), mask, fill=0.0),
    })
    expect_tensor("the output", got, expected, shape=(B, T, d), atol=1e-5)
    _unchanged(saved, given)
    v2 = v.clone()
    v2[:, -1] += 100.0
    again = call(causal_attention, q.clone(), k.clone(), v2, what="causal_attention(q, k, v) with the last value changed")
    _float_tensor("the output", again)
    if tuple(again.shape) == (B, T, d) and not torch.allclose(again[:, :-1].detach(), got_f[:, :-1], atol=1e-4):
        raise ExerciseFailed("changing the last position's value changed earlier outputs: the future leaks")

    # other sizes: T = 5, d = 8, values of width 12 (d_v != d), so that no size can be written in
    T2, d2, dv = 5, 8, 12
    q, k = (1.5 * torch.randn(B, T2, d2, generator=g) for _ in range(2))
    v = 1.5 * torch.randn(B, T2, dv, generator=g)
    what = f"causal_attention(q, k, v) with T={T2}, d={d2} and values of width {dv}"
    try:
        got = causal_attention(q.clone(), k.clone(), v.clone())
    except NotImplementedError:
        raise
    except Exception as exc:
        raise ExerciseFailed(f"{what} raised {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}. It worked "
                             f"for T={T}, d={d}: a size is hard-coded. Build the mask from T = q.shape[-2] and "
                             "the scale from d = q.shape[-1]") from None
    _float_tensor("the output", got)
    mask = causal_mask(T2)
    if tuple(got.shape) != (B, T2, dv):
        raise ExerciseFailed(f"{what} has shape {tuple(got.shape)}, expected {(B, T2, dv)}: the output has one "
                             "row per query and the values' width (weights (T, T) @ values (T, d_v))")
    diagnose(got, {
        f"the scale is hard-coded: you divided by {math.sqrt(d)} = sqrt({d}), right only for d = {d}. Use "
        "math.sqrt(q.shape[-1])": _attend(q, k, v, 1 / math.sqrt(d), mask),
        "the scale uses the values' width, not the keys': d is the width of q and k (q.shape[-1]), the "
        "dimension the dot product q·k sums over; v may be wider or narrower": _attend(q, k, v, 1 / math.sqrt(dv), mask),
        "the scale uses the sequence length: you divided by sqrt(T) (q.shape[-2] or q.shape[1]); d is the "
        "width of the queries and keys, q.shape[-1]": _attend(q, k, v, 1 / math.sqrt(T2), mask),
    })
    expect_tensor(f"the output of {what}", got, _attend(q, k, v, 1 / math.sqrt(d2), mask), atol=1e-5)

    # heads: 4-D inputs (B, H, T, d) that need gradients; the output must carry them
    H = 3
    q, k = (1.5 * torch.randn(B, H, T2, d2, generator=g, dtype=torch.float64) for _ in range(2))
    v = 1.5 * torch.randn(B, H, T2, dv, generator=g, dtype=torch.float64)
    saved = (q.clone(), k.clone(), v.clone())
    leaves = [t.clone().requires_grad_(True) for t in saved]
    what = f"causal_attention(q, k, v) with heads, q of shape {(B, H, T2, d2)}"
    try:
        got = causal_attention(*leaves)
    except NotImplementedError:
        raise
    except Exception as exc:
        message = (str(exc).splitlines() or [""])[0]
        if "in-place" in message:
            raise ExerciseFailed(f"{what} raised {type(exc).__name__}: {message}. You changed an input tensor in "
                                 "place (div_, /=, masked_fill_ on q, k or v): compute new tensors instead") from None
        raise ExerciseFailed(f"{what} raised {type(exc).__name__}: {message}. Your function works only for 3-D "
                             "inputs (B, T, d): use k.transpose(-2, -1), not transpose(1, 2) (which swaps heads and "
                             "positions of a (B, H, T, d) tensor), and sizes from the last two dimensions") from None
    _float_tensor("the output", got)
    if tuple(got.shape) != (B, H, T2, dv):
        raise ExerciseFailed(f"{what} has shape {tuple(got.shape)}, expected {(B, H, T2, dv)}: your function works "
                             "only for 3-D inputs; use the last two dimensions, k.transpose(-2, -1)")
    _same_dtype(got, q)
    expected = _attend(*leaves, 1 / math.sqrt(d2), causal_mask(T2))
    expect_tensor(f"the output of {what}", got, expected, atol=1e-8)
    if not got.requires_grad:
        raise ExerciseFailed("the output is detached: it does not require grad although q, k and v do, so no "
                             "gradient could reach them in training. Remove .detach(), torch.no_grad() or "
                             ".numpy()/torch.tensor(...) round trips")
    upstream = torch.randn(got.shape, generator=g, dtype=torch.float64)
    try:
        grads = torch.autograd.grad((got * upstream).sum(), leaves, allow_unused=True)
    except RuntimeError as exc:
        raise ExerciseFailed(f"the gradient of your output could not be computed: {(str(exc).splitlines() or [''])[0]}") from None
    reference = torch.autograd.grad((expected * upstream).sum(), leaves)
    for name, mine, ref in zip("qkv", grads, reference):
        if mine is None:
            raise ExerciseFailed(f"no gradient reaches {name}: the output does not depend on it through autograd "
                                 "(a .detach() or a copy breaks the graph)")
        expect_tensor(f"the gradient with respect to {name}", mine, ref, atol=1e-8)
    _unchanged(saved, leaves)


@exercise("05.2", "splitting and merging heads")
def check_heads(split, merge) -> None:
    g = torch.Generator().manual_seed(1)
    for B, T, D, H in ((2, 5, 12, 3), (1, 4, 8, 2), (3, 2, 12, 4)):
        x = torch.randn(B, T, D, generator=g)
        got = call(split, x.clone(), H, what=f"split(x, n_heads={H}) with x of shape {(B, T, D)}")
        _float_tensor("split(x)", got)
        expected = split_heads(x, H)
        if tuple(got.shape) == (B, T, H, D // H):
            raise ExerciseFailed(f"split(x) has shape {tuple(got.shape)} = (B, T, H, D/H): the reshape is right, "
                                 "now .transpose(1, 2) to bring the heads before the positions, (B, H, T, D/H)")
        if tuple(got.shape) != (B, H, T, D // H):
            raise ExerciseFailed(f"split(x) has the wrong shape for B={B}, T={T}, D={D}, H={H}: expected "
                                 f"{(B, H, T, D // H)}, got {tuple(got.shape)} (do not hard-code the sizes)")
        diagnose(got, {
            "split(x) reshapes straight to (B, H, T, D/H) without a transpose: that cuts the sequence into H "
            "pieces instead of cutting each position's features. Reshape to (B, T, H, D/H), then "
            ".transpose(1, 2)": x.reshape(B, H, T, D // H),
            "split(x) gives head h the features h, h + H, h + 2H, ... (reshape to (B, T, D/H, H)): each head "
            "must own a contiguous slice of D/H features, reshape to (B, T, H, D/H)":
                x.reshape(B, T, D // H, H).permute(0, 3, 1, 2),
        })
        expect_tensor("split(x)", got, expected)
        tracked = call(split, x.clone().requires_grad_(True), H, what="split(x) with x requiring grad")
        if not (isinstance(tracked, Tensor) and tracked.requires_grad):
            raise ExerciseFailed("split(x) is detached: x requires grad but your heads do not, so no gradient would "
                                 "reach the projections that made x. Use only reshape and transpose (no .detach(), "
                                 "torch.no_grad() or copies through numpy)")
        heads = torch.randn(B, H, T, D // H, generator=g)
        merged = call(merge, heads.clone(), what=f"merge(heads) with heads of shape {(B, H, T, D // H)}")
        _float_tensor("merge(heads)", merged)
        if tuple(merged.shape) != (B, T, D):
            raise ExerciseFailed(f"merge(heads) has the wrong shape: expected {(B, T, D)}, got {tuple(merged.shape)}")
        diagnose(merged, {
            "merge(heads) reshapes (B, H, T, d) straight to (B, T, H·d) without a transpose: that mixes "
            "positions. Transpose to (B, T, H, d) first, then reshape": heads.reshape(B, T, D),
            "merge(heads) interleaves the heads' features (permute(0, 2, 3, 1) puts feature j of head h at "
            "j·H + h): each head's d features must stay together, head h at h·d .. h·d + d − 1. Transpose to "
            "(B, T, H, d) with .transpose(1, 2), then reshape": heads.permute(0, 2, 3, 1).reshape(B, T, D),
        })
        expect_tensor("merge(heads)", merged, merge_heads(heads))
        back = call(merge, call(split, x.clone(), H, what="split(x)"), what="merge(split(x))")
        expect_tensor("merge(split(x)) (should give x back)", back, x)


@exercise("05.3", "sinusoidal positions")
def check_positions(positions) -> None:
    for T, d in ((12, 8), (30, 16)):
        got = call(positions, T, d, what=f"positions(T={T}, d={d})")
        _float_tensor(f"positions({T}, {d})", got)
        if tuple(got.shape) != (T, d):
            raise ExerciseFailed(f"positions({T}, {d}) has the wrong shape: expected {(T, d)}, got {tuple(got.shape)}")
        if got.is_floating_point() and not bool(torch.isfinite(got.detach()).all()):
            raise ExerciseFailed(f"positions({T}, {d}) contains NaN or inf values")
        expected = sinusoidal_positions(T, d, dtype=torch.float64)
        t = torch.arange(T, dtype=torch.float64)[:, None]
        i = torch.arange(d // 2, dtype=torch.float64)
        omega = 10000 ** (-2 * i / d)

        def layout(angle: Tensor, first=torch.sin, second=torch.cos, halves: bool = False) -> Tensor:
            if halves:
                return torch.cat([first(angle), second(angle)], dim=1)
            return torch.stack([first(angle), second(angle)], dim=2).reshape(T, d)

        diagnose(got, {
            "sin and cos are swapped: even columns hold sin(t·ω_i), odd columns cos(t·ω_i)":
                layout(t * omega, torch.cos, torch.sin),
            "the sines fill the first d/2 columns and the cosines the last d/2: interleave them instead, "
            "sin in column 2i and cos in column 2i + 1 (some code bases use halves; this exercise and the "
            "lesson's reference interleave)": layout(t * omega, halves=True),
            "the frequencies use 10000^(−i/d): the exponent is −2i/d (i counts the sin/cos pairs), so the "
            "slowest pair's wavelength reaches about 2π·10000": layout(t * 10000 ** (-i / d)),
            "the frequencies grow instead of shrink: ω_i = 10000^(−2i/d), a negative exponent":
                layout(t * 10000 ** (2 * i / d)),
            "positions start at 1: the first row is position t = 0 (sin 0 = 0, cos 0 = 1)":
                layout((t + 1) * omega),
            "column j uses the frequency 10000^(−j/d) with its own column index j; a sin/cos pair must "
            "share one frequency, ω_i = 10000^(−2i/d) for columns 2i and 2i + 1":
                torch.where(torch.arange(d) % 2 == 0, torch.sin(t * 10000 ** (-torch.arange(d) / d)),
                            torch.cos(t * 10000 ** (-torch.arange(d) / d))),
        })
        expect_tensor(f"positions({T}, {d})", got, expected, low=-1.0, high=1.0, atol=1e-5)
