"""Checks for chapter 06 (transformers and GPT): one BPE merge, top-p filtering, a pre-norm
transformer block, and one step of attention with a key/value cache.

Each check computes the right answer independently (no call into ``gencourse.models`` or
``gencourse.data.bpe``) and, when an answer is wrong, recomputes the exercise's classic
mistakes on the same inputs so that the feedback can say which mistake it was.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gencourse.data.bpe import merge_pair as reference_merge
from gencourse.exercises.feedback import (
    ExerciseFailed, call, exercise, expect_tensor, matches,
)

# ---------------------------------------------------------------------------------------------
# 06.1 — one BPE merge step


def _merge_right_to_left(ids, pair, new_id):
    return reference_merge(list(ids)[::-1], (pair[1], pair[0]), new_id)[::-1]


def _merge_overlapping(ids, pair, new_id):
    """Every position where the pair starts becomes new_id, advancing one step at a time."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
        else:
            out.append(ids[i])
        i += 1
    return out


def _merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return list(ids[:i]) + [new_id] + list(ids[i + 2:])
    return list(ids)


def _merge_first_element_only(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_drops_last(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_always_appends_last(ids, pair, new_id):
    """Scans pairs up to the second-to-last position, then appends ids[-1] whatever happened: when the
    final pair was merged, its second id comes back a second time."""
    out = _merge_drops_last(ids, pair, new_id)
    return out + [ids[-1]] if ids else out


_MERGE_MISTAKES: tuple[tuple[Callable, str], ...] = (
    (_merge_right_to_left, "you scanned from right to left: BPE merges scan left to right, so in [a, a, a] "
                           "the pair (a, a) at positions 0-1 is merged and the last a stays ([X, a], not [a, X])"),
    (_merge_overlapping, "you merged overlapping occurrences: once positions i, i+1 are merged, position i+1 "
                         "is used up, so continue the scan at i+2 ([a, a, a] gives [X, a], with one X)"),
    (_merge_first_only, "you merged only the first occurrence of the pair: replace every (non-overlapping) "
                        "occurrence, left to right"),
    (_merge_first_element_only, "you compared only the first id of the pair: merge where ids[i] == pair[0] "
                                "*and* ids[i + 1] == pair[1]"),
    (_merge_drops_last, "the last id went missing: when the scan reaches the final position (no pair can "
                        "start there), copy that id to the output"),
    (_merge_always_appends_last, "the last id appears twice: you appended ids[-1] after the loop even when "
                                 "the final pair had just been merged (that id is already inside new_id) — "
                                 "copy the last id only when the scan stops on it, i == len(ids) - 1"),
)

_MERGE_CASES = (
    ("the pair twice, apart", [5, 6, 7, 5, 6], (5, 6), 9),
    ("three equal ids", [1, 1, 1], (1, 1), 9),
    ("four equal ids between others", [2, 1, 1, 1, 1, 3], (1, 1), 9),
    ("runs of three and two", [1, 1, 1, 2, 1, 1, 3, 1, 4, 1, 1], (1, 1), 300),
    ("the first id of the pair followed by another id", [5, 7, 5, 6, 6], (5, 6), 9),
    ("a pair that does not occur", [3, 4, 3, 4], (4, 4), 9),
    ("the pair at the very end", [7, 3, 5, 6], (5, 6), 9),
    ("a single id", [5], (5, 6), 9),
    ("an empty list", [], (5, 6), 9),
)


@exercise("06.1", "one BPE merge step")
def check_merge_pair(merge_pair) -> None:
    g = torch.Generator().manual_seed(6)
    random_ids = torch.randint(0, 4, (200,), generator=g).tolist()
    cases = [*_MERGE_CASES, ("200 random ids from {0, 1, 2, 3}", random_ids, (1, 1), 256),
             ("the same 200 random ids", random_ids, (2, 3), 257)]
    for name, ids, pair, new_id in cases:
        given = list(ids)
        got = call(merge_pair, given, pair, new_id, what=f"merge_pair(ids, {pair}, {new_id}) for {name}")
        expected = reference_merge(ids, pair, new_id)
        if got is None:
            raise ExerciseFailed(f"merge_pair returned None for {name}: build a new list and return it "
                                 "(did you forget the return statement?)")
        if given != ids:
            raise ExerciseFailed(f"merge_pair changed the list it was given (for {name}): build and return a "
                                 "new list, because the caller still needs the original ids")
        if not isinstance(got, list):
            raise ExerciseFailed(f"merge_pair should return a list of ints, got {type(got).__name__}"
                                 + (": convert with .tolist()" if isinstance(got, Tensor) else ""))
        if any(isinstance(i, bool) or not isinstance(i, int) for i in got):
            bad = next(i for i in got if isinstance(i, bool) or not isinstance(i, int))
            raise ExerciseFailed(f"merge_pair should return a list of Python ints, but it holds "
                                 f"{bad!r} of type {type(bad).__name__} (for {name}): convert with int()")
        if got == expected:
            continue
        where = f"for ids {_short(ids)} and pair {pair} → {new_id}"
        for wrong, why in _MERGE_MISTAKES:
            if got == wrong(ids, pair, new_id):
                raise ExerciseFailed(f"{where}: {why} (expected {_short(expected)}, got {_short(got)})")
        if got.count(new_id) > expected.count(new_id):
            raise ExerciseFailed(f"{where}: your list holds {got.count(new_id)} new ids but only "
                                 f"{expected.count(new_id)} non-overlapping occurrences exist: "
                                 f"{_MERGE_MISTAKES[1][1]} (expected {_short(expected)}, got {_short(got)})")
        raise ExerciseFailed(f"{where}: expected {_short(expected)}, got {_short(got)}")


def _short(ids: list, n: int = 16) -> str:
    return str(ids) if len(ids) <= n else str(ids[:n])[:-1] + f", … ({len(ids)} ids)]"


# ---------------------------------------------------------------------------------------------
# 06.2 — top-p (nucleus) filtering


def _nucleus(logits: Tensor, p: float) -> Tensor:
    """Keep-mask (bool, like logits) of the smallest most-probable set with mass >= p."""
    probs = torch.softmax(logits.double(), -1)
    sorted_p, order = probs.sort(-1, descending=True)
    before = sorted_p.cumsum(-1) - sorted_p              # mass of the tokens ranked above
    keep_sorted = before < p
    return torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)


def _filtered(logits: Tensor, keep: Tensor) -> Tensor:
    return logits.masked_fill(~keep, float("-inf"))


_BELOW = ("you kept only the tokens whose cumulative probability stays below p, so the kept mass falls short "
          "of p: the nucleus is the *smallest* set whose mass reaches p, so it includes the token that crosses "
          "p — keep a token when the mass of the tokens ranked above it is < p")
_AT_P = ("you kept one token too many: the tokens above already reach p: stop there (the mass before a kept "
         "token must be < p, not <= p; removing the tokens whose cumulative probability is > p and shifting that "
         "mask right by one, or keeping (cum <= p).sum() + 1 tokens, is the same <= rule)")
_TOP_P_MESSAGES = (
    _BELOW + " (and when the top token alone has more than p, your rule removes every token: the top token "
             "must always be kept)",
    _BELOW,
    "you accumulated probabilities in vocabulary order: sort them from most to least probable first "
    "(torch.sort(descending=True)), then map the kept set back to the original positions",
    "you sorted from least to most probable: the nucleus is built from the most probable tokens down "
    "(descending=True)",
    "the mask is inverted: you removed the nucleus and kept the unlikely tail",
    "you accumulated the logits themselves: turn them into probabilities with softmax before summing",
    "removed tokens must get a logit of -inf: a logit of 0 still has probability e^0 / Z after the softmax",
    "you returned probabilities: return the filtered *logits* (kept ones unchanged, the others -inf)",
    "the kept logits changed (you returned log-probabilities): leave the kept logits as they were; only the "
    "removed ones become -inf",
    _AT_P,
    _AT_P,
)


def _top_p_mistakes(logits: Tensor, p: float) -> list[Tensor]:
    """The outputs of the classic mistakes, in the order of ``_TOP_P_MESSAGES``, computed in the logits'
    own dtype as a learner would (the mistakes compare cumulative sums with p, which float32 and float64
    can round differently near p = 1)."""
    probs = torch.softmax(logits, -1)
    sorted_p, order = probs.sort(-1, descending=True)
    cum = sorted_p.cumsum(-1)

    def unsort(mask_sorted, order=order):
        return torch.zeros_like(mask_sorted).scatter(-1, order, mask_sorted)

    forced_top = cum < p
    forced_top[..., 0] = True
    asc_p, asc_order = probs.sort(-1)
    keep = _nucleus(logits, p)
    sl, lorder = logits.sort(-1, descending=True)
    return [
        _filtered(logits, unsort(cum <= p)),
        _filtered(logits, unsort(forced_top)),
        _filtered(logits, (probs.cumsum(-1) - probs) < p),
        _filtered(logits, unsort((asc_p.cumsum(-1) - asc_p) < p, asc_order)),
        _filtered(logits, ~keep),
        _filtered(logits, unsort((sl.cumsum(-1) - sl) < p, lorder)),
        logits.masked_fill(~keep, 0.0),
        torch.softmax(logits, -1).masked_fill(~keep, 0.0),
        _filtered(torch.log_softmax(logits, -1), keep),
        _filtered(logits, unsort((cum - sorted_p) <= p)),
        _filtered(logits, unsort(torch.cat([torch.zeros_like(cum[..., :1]), cum[..., :-1]], -1) <= p)),
    ]


def _top_p_cases() -> list[tuple[str, Tensor, float]]:
    probs = torch.tensor([[0.05, 0.50, 0.15, 0.30], [0.40, 0.05, 0.35, 0.20]])
    hand = probs.log()
    g = torch.Generator().manual_seed(62)
    random = torch.randn(5, 40, generator=g) * 2
    return [
        ("probabilities [0.05, 0.5, 0.15, 0.3] and [0.4, 0.05, 0.35, 0.2], p = 0.7", hand, 0.7),
        ("the same probabilities, p = 0.38 (below the top token's probability)", hand, 0.38),
        ("the same probabilities, p = 1.0 (keep everything)", hand, 1.0),
        # The top two reach p exactly (exact in float32 and float64): the nucleus stops there, and the
        # `mass before <= p` off-by-one keeps a third token.
        ("probabilities [0.5, 0.25, 0.125, 0.0625, 0.0625], p = 0.75 (the top two reach p exactly)",
         torch.tensor([[0.5, 0.25, 0.125, 0.0625, 0.0625]]).log(), 0.75),
        ("5 random rows of 40 logits, p = 0.9", random, 0.9),
        ("5 random rows of 40 logits, p = 0.5", random, 0.5),
        ("5 random rows of 40 logits, p = 0.05", random, 0.05),
    ]


@exercise("06.2", "top-p (nucleus) filtering")
def check_top_p(top_p_filter) -> None:
    first_wrong: tuple[str, Tensor, Tensor, Tensor] | None = None
    candidates: list[int] | None = None        # mistakes consistent with every case answered wrongly
    for name, logits, p in _top_p_cases():
        given = logits.clone()
        got = call(top_p_filter, given, p, what=f"top_p_filter(logits, {p}) for {name}")
        if not torch.equal(given, logits):
            raise ExerciseFailed(f"top_p_filter changed the logits it was given (for {name}): work on a copy "
                                 "(masked_fill, not masked_fill_), the caller may still need them")
        if not isinstance(got, Tensor):
            raise ExerciseFailed(f"top_p_filter should return a torch.Tensor, got {type(got).__name__}")
        if tuple(got.shape) != tuple(logits.shape):
            raise ExerciseFailed(f"top_p_filter should return logits of the input's shape {tuple(logits.shape)} "
                                 f"(the removed tokens set to -inf), got shape {tuple(got.shape)}")
        if not got.is_floating_point():
            raise ExerciseFailed(f"top_p_filter returned a {got.dtype} tensor: return the filtered logits "
                                 "(floats), not a mask or indices")
        got_d = got.detach().double()
        if bool(torch.isnan(got_d).any()):
            raise ExerciseFailed(f"the filtered logits contain NaN (for {name}): adding or multiplying by a "
                                 "mask of -inf gives 0 · (-inf) = NaN — use logits.masked_fill(~keep, "
                                 "float('-inf'))")
        if bool(torch.isposinf(got_d).any()):
            raise ExerciseFailed(f"the filtered logits contain +inf (for {name}): removed tokens get -inf")
        stand_in = torch.isfinite(got_d) & (got_d <= _HUGE_NEGATIVE) & (logits.double() > _HUGE_NEGATIVE)
        if bool(stand_in.any()):
            raise ExerciseFailed(f"removed tokens got a large negative but finite logit "
                                 f"({got_d[stand_in][0].item():.3g}, for {name}): use float('-inf') so "
                                 "removed tokens get exactly zero probability")
        keep = _nucleus(logits, p)
        expected = _filtered(logits, keep)
        mistakes = _top_p_mistakes(logits, p)
        if _same_filter(got_d, expected):
            continue
        matching = [i for i, wrong in enumerate(mistakes) if _same_filter(got_d, wrong)]
        candidates = matching if candidates is None else [i for i in candidates if i in matching]
        if first_wrong is None:
            first_wrong = (name, got_d, expected, keep)
    if first_wrong is None:
        return
    name, got_d, expected, keep = first_wrong
    if candidates:
        raise ExerciseFailed(f"for {name}: {_TOP_P_MESSAGES[candidates[0]]}")
    empty = torch.isneginf(got_d).all(-1)
    if bool(empty.any()):
        row = int(empty.nonzero()[0, 0])
        raise ExerciseFailed(f"every token of row {row} was removed (for {name}): the most probable token "
                             "must always be kept, even when its probability alone exceeds p — "
                             "otherwise softmax gives NaN and nothing can be sampled")
    kept_got = (~torch.isneginf(got_d)).sum(-1).tolist()
    kept_ref = keep.sum(-1).tolist()
    if kept_got != kept_ref:
        raise ExerciseFailed(f"for {name}: you kept {kept_got} tokens per row, the nucleus has {kept_ref} "
                             "(sort probabilities in descending order, keep a token while the mass ranked "
                             "above it is < p, and always keep the top token)")
    if not torch.equal(torch.isneginf(got_d), torch.isneginf(expected)):
        raise ExerciseFailed(f"for {name}: the right number of tokens survived but not the right ones: keep "
                             "the most probable tokens and map the sorted mask back to the original "
                             "positions (scatter with the sort's indices)")
    raise ExerciseFailed(f"for {name}: the kept logits changed; leave them exactly as they were and set "
                         "only the removed ones to -inf")


_HUGE_NEGATIVE = -1e4     # a finite logit this low stands in for -inf (-1e9, torch.finfo(dtype).min, ...)


def _same_filter(got: Tensor, ref: Tensor) -> bool:
    """Same -inf pattern and the same finite values."""
    ref = ref.detach().double()
    inf = torch.isneginf(ref)
    return (torch.equal(torch.isneginf(got), inf)
            and torch.allclose(got[~inf], ref[~inf], atol=1e-5, rtol=1e-5))


# ---------------------------------------------------------------------------------------------
# 06.3 — a pre-norm transformer block


class _CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, (B, T, C) -> (B, T, C): the block's ``attn`` sub-module."""

    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, -1)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


def _block_parts(d: int = 16, seed: int = 63) -> tuple[nn.LayerNorm, nn.Module, nn.LayerNorm, nn.Module]:
    torch.manual_seed(seed)
    ln1, ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
    with torch.no_grad():          # distinct, non-trivial norms, so that swapping or skipping one shows
        for ln in (ln1, ln2):
            ln.weight.uniform_(0.5, 2.0)
            ln.bias.normal_(0.0, 0.5)
    attn = _CausalSelfAttention(d, n_head=4)
    mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
    return ln1, attn, ln2, mlp


def _block_mistakes(x, ln1, attn, ln2, mlp) -> list[tuple[Tensor, str]]:
    h = x + attn(ln1(x))
    post = ln1(x + attn(x))
    no_attn_res = attn(ln1(x))
    n1 = ln1(x)
    return [
        (ln2(post + mlp(post)), "that is a post-norm block (the original 2017 Transformer: normalise after "
                                "adding the residual); GPT-2 style pre-norm normalises each sub-layer's "
                                "*input* and leaves the residual stream untouched: h = x + attn(ln1(x)), "
                                "out = h + mlp(ln2(h))"),
        (no_attn_res + mlp(ln2(no_attn_res)), "the attention sub-layer has no residual connection: add its "
                                              "output to x, h = x + attn(ln1(x))"),
        (h + mlp(ln2(x)), "the MLP saw x instead of h: the MLP's input is the output of the attention "
                          "sub-layer, h = x + attn(ln1(x)), so out = h + mlp(ln2(h))"),
        (mlp(ln2(h)), "the MLP sub-layer has no residual connection: out = h + mlp(ln2(h))"),
        (mlp(ln2(attn(ln1(x)))), "both residual connections are missing: each sub-layer *adds* to the "
                                 "stream, h = x + attn(ln1(x)), out = h + mlp(ln2(h))"),
        (n1 + attn(n1) + mlp(ln2(n1 + attn(n1))), "you replaced x by ln1(x) on the residual stream: the norm "
                                                  "only feeds the sub-layer, the residual carries x itself: "
                                                  "h = x + attn(ln1(x))"),
        (x + attn(ln2(x)) + mlp(ln1(x + attn(ln2(x)))), "ln1 and ln2 are swapped: ln1 goes before attention, "
                                                        "ln2 before the MLP"),
        (h + mlp(ln1(h)), "you used ln1 before the MLP too: each sub-layer has its own LayerNorm (ln2 for the MLP)"),
        (h, "the MLP sub-layer is missing: out = h + mlp(ln2(h))"),
    ]


@exercise("06.3", "a pre-norm transformer block")
def check_block(block_forward) -> None:
    ln1, attn, ln2, mlp = _block_parts()
    g = torch.Generator().manual_seed(64)
    x = torch.randn(2, 7, 16, generator=g) * 1.5 + 0.3
    xg = x.clone().requires_grad_(True)
    got = call(block_forward, xg, ln1, attn, ln2, mlp, what="block_forward(x, ln1, attn, ln2, mlp)")
    with torch.no_grad():
        h = x + attn(ln1(x))
        expected = h + mlp(ln2(h))
        mistakes = _block_mistakes(x, ln1, attn, ln2, mlp)
    if got is None:
        raise ExerciseFailed("block_forward returned None: return the block's output tensor")
    if isinstance(got, (tuple, list)):
        raise ExerciseFailed(f"block_forward should return one tensor (B, T, C), got a {type(got).__name__} "
                             f"of {len(got)} items")
    if isinstance(got, Tensor) and got.is_floating_point() and tuple(got.shape) == tuple(x.shape) \
            and not bool(torch.isfinite(got.detach()).all()):
        raise ExerciseFailed("the output contains NaN or inf values: use the modules you were given "
                             "(ln1, attn, ln2, mlp) rather than normalising by hand")
    for wrong, why in mistakes:
        if not matches(expected, wrong, atol=1e-4) and matches(got, wrong, atol=1e-4):
            raise ExerciseFailed(why)
    expect_tensor("the block's output", got, expected, shape=tuple(x.shape), atol=1e-4)
    if not got.requires_grad:
        raise ExerciseFailed("the output does not depend on x and the sub-modules through autograd (it was "
                             "detached or computed under torch.no_grad()): the block must stay trainable")
    modules = (("ln1", ln1), ("attn", attn), ("ln2", ln2), ("mlp", mlp))
    for _, module in modules:
        module.zero_grad(set_to_none=True)
    try:
        (got ** 2).sum().backward()
    except RuntimeError as exc:
        raise ExerciseFailed(f"backpropagating through your block failed: {str(exc).splitlines()[0]} "
                             "(an in-place update such as x += ... overwrites a tensor autograd still needs: "
                             "write h = x + attn(ln1(x)))") from None
    for name, module in modules:
        if any(p.grad is None for p in module.parameters()):
            raise ExerciseFailed(f"no gradient reaches {name}'s parameters: call the module itself, "
                                 "not a detached copy of its output")
    if xg.grad is None:
        raise ExerciseFailed("no gradient reaches x: do not detach the input")
    # The values can be right while a path is cut from autograd (x.detach() or x.data on the residual,
    # h.detach() into the MLP or onto the stream): compare every gradient with the reference block's.
    got_grads = {"x": xg.grad, **{f"{name}'s parameters": [p.grad.clone() for p in module.parameters()]
                                  for name, module in modules}}
    for _, module in modules:
        module.zero_grad(set_to_none=True)
    xr = x.clone().requires_grad_(True)
    h = xr + attn(ln1(xr))
    ((h + mlp(ln2(h))) ** 2).sum().backward()
    ref_grads = {"x": xr.grad, **{f"{name}'s parameters": [p.grad for p in module.parameters()]
                                  for name, module in modules}}
    wrong = [what for what, ref in ref_grads.items()
             if not all(_close_grad(g, r) for g, r in zip(_as_list(got_grads[what]), _as_list(ref)))]
    if wrong:
        raise ExerciseFailed("the output is right but its gradient is not (wrong gradient for "
                             f"{', '.join(wrong)}): a residual path is cut from the gradient: do not detach x "
                             "or h (no .detach(), no .data, neither on the residual stream nor on a sub-layer's "
                             "input) — every path through the block must stay connected to autograd")
    # No causality check: the only module that mixes positions is the causal attn supplied here, and an
    # answer that mixes positions itself already fails the value check above.


def _as_list(t: Tensor | list[Tensor]) -> list[Tensor]:
    return t if isinstance(t, list) else [t]


def _close_grad(got: Tensor, ref: Tensor) -> bool:
    return tuple(got.shape) == tuple(ref.shape) and torch.allclose(
        got, ref, rtol=1e-4, atol=1e-5 * max(1.0, float(ref.abs().max())))


# ---------------------------------------------------------------------------------------------
# 06.4 — one decoding step with a key/value cache


def _attend(q: Tensor, k: Tensor, v: Tensor, scale: bool = True) -> Tensor:
    s = q @ k.transpose(-2, -1)
    if scale:
        s = s / math.sqrt(q.shape[-1])
    return torch.softmax(s, -1) @ v


_AXES = {0: "dim 0 (the batch)", 1: "dim 1 (the heads)", 2: "dim 2 (time)", 3: "dim 3 (head_dim)"}
_TIME = ("the caches are (B, H, T, head_dim) and grow along time: torch.cat([k_cache, k_new], dim=2) "
         "(dim=-2)")


def _call_step(step, q, k_new, v_new, k_cache, v_cache, name: str):
    if not callable(step):
        raise ExerciseFailed(f"expected a function for attend_with_cache, got {type(step).__name__}")
    try:
        return step(q, k_new, v_new, k_cache, v_cache)
    except NotImplementedError:
        raise
    except RuntimeError as exc:
        text = str(exc).splitlines()[0]
        axis = re.search(r"except in dimension (\d)", text)
        if axis:
            dim = int(axis.group(1))
            raise ExerciseFailed(f"torch.cat failed for {name} ({text}): you concatenated along "
                                 f"{_AXES.get(dim, f'dim {dim}')}; {_TIME}") from None
        if re.search(r"size|shape|dimension", text):
            raise ExerciseFailed(f"attend_with_cache raised RuntimeError for {name}: {text}. Check the axes: "
                                 f"{_TIME}, and the scores are q @ k.transpose(-2, -1), shape "
                                 "(B, H, 1, T + 1)") from None
        raise ExerciseFailed(f"attend_with_cache raised RuntimeError for {name}: {text}") from None
    except Exception as exc:
        raise ExerciseFailed(f"attend_with_cache raised {type(exc).__name__} for {name}: {exc}") from None


def _kv(B: int, H: int, T: int, hd: int, seed: int, q_scale: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, 1, hd, generator=g) * q_scale
    k_new, v_new = torch.randn(B, H, 1, hd, generator=g), torch.randn(B, H, 1, hd, generator=g)
    k_cache, v_cache = torch.randn(B, H, T, hd, generator=g), torch.randn(B, H, T, hd, generator=g)
    return q, k_new, v_new, k_cache, v_cache


def _check_one_step(step, B: int, H: int, T: int, hd: int, seed: int, name: str, q_scale: float = 1.0) -> None:
    q, k_new, v_new, k_cache, v_cache = _kv(B, H, T, hd, seed, q_scale)
    originals = [t.clone() for t in (k_cache, v_cache)]
    got = _call_step(step, q, k_new, v_new, k_cache, v_cache, name)
    if isinstance(got, Tensor) or not isinstance(got, (tuple, list)) or len(got) != 3:
        what = f"a {type(got).__name__}" + (f" of {len(got)} items" if isinstance(got, (tuple, list)) else "")
        raise ExerciseFailed(f"attend_with_cache should return the triple (out, k_cache, v_cache), got {what}")
    out, k_all, v_all = got
    for label, t in (("out", out), ("k_cache", k_all), ("v_cache", v_all)):
        if not isinstance(t, Tensor):
            raise ExerciseFailed(f"the returned {label} should be a torch.Tensor, got {type(t).__name__}")
    if not (torch.equal(k_cache, originals[0]) and torch.equal(v_cache, originals[1])):
        raise ExerciseFailed("attend_with_cache changed the cache tensors it was given in place: return new "
                             "tensors made with torch.cat")
    k_exp, v_exp = torch.cat([k_cache, k_new], 2), torch.cat([v_cache, v_new], 2)
    for label, t, new, old, exp in (("k_cache", k_all, k_new, k_cache, k_exp),
                                    ("v_cache", v_all, v_new, v_cache, v_exp)):
        if tuple(t.shape) == tuple(exp.shape):
            if T > 0 and matches(t, torch.cat([new, old], 2)):
                raise ExerciseFailed(f"the new entry went in front of the old ones in {label}: append it at "
                                     "the end, torch.cat([cache, new], dim=2), so the cache stays in time order")
            continue
        if T > 0 and tuple(t.shape) == tuple(new.shape):
            raise ExerciseFailed(f"the returned {label} holds only the new step ({tuple(t.shape)}): you forgot "
                                 f"the old cache — append the new entry to it, {_TIME}")
        if tuple(t.shape) == tuple(old.shape) and T > 0:
            raise ExerciseFailed(f"the returned {label} is the old cache ({tuple(t.shape)}): return the cache "
                                 "with the new entry appended, so the next step can see this token")
        grown = [d for d in range(4) if t.dim() == 4 and t.shape[d] == old.shape[d] + new.shape[d]
                 and all(t.shape[e] == old.shape[e] for e in range(4) if e != d)]
        if grown:
            raise ExerciseFailed(f"{label} grew along {_AXES[grown[0]]}, not along time: {_TIME}")
        raise ExerciseFailed(f"the returned {label} has shape {tuple(t.shape)}, expected {tuple(exp.shape)}: "
                             f"{_TIME}")
    if out.is_floating_point() and not bool(torch.isfinite(out.detach()).all()):
        raise ExerciseFailed(f"the output contains NaN or inf values (for {name}): exp of large scores "
                             "overflowed, or a mask removed every key — use torch.softmax (it subtracts the "
                             "maximum before exp) and no causal mask: the new query is the latest position "
                             "and may see every key in the cache")
    expected = _attend(q, k_exp, v_exp)
    square_mask = torch.tril(torch.ones(1, T + 1, dtype=torch.bool))
    s = (q @ k_exp.transpose(-2, -1) / math.sqrt(hd)).masked_fill(~square_mask, float("-inf"))
    mistakes = [
        (_attend(q, k_new, v_new), "the new query attended only to the new key/value: attend over the whole "
                                   "cache, old entries and the new one (torch.cat first, then attention)"),
        (_attend(q, k_cache, v_cache) if T > 0 else None,
         "the new query attended only to the old cache: append the new key/value *before* attending, so the "
         "token can attend to itself"),
        (_attend(q, k_exp, v_exp, scale=False), "the scores are not scaled: divide q @ kᵀ by √head_dim"),
        (torch.softmax(q @ k_exp.transpose(-2, -1) / hd, -1) @ v_exp,
         "you divided the scores by head_dim: the scale is 1/√head_dim"),
        (torch.softmax(q @ k_exp.transpose(-2, -1) / math.sqrt(hd), -2) @ v_exp,
         "softmax over the wrong axis: normalise over the keys (the last dimension, dim=-1)"),
        (torch.softmax(s, -1) @ v_exp, "you applied a causal mask made for a square (T × T) score matrix: the "
                                       "single new query is the latest position, so it may see every cached key"),
        (_attend(q, v_exp, k_exp), "keys and values are swapped: the scores use the keys, the output averages "
                                   "the values"),
    ]
    for wrong, why in mistakes:
        if wrong is not None and not matches(expected, wrong, atol=1e-4) and matches(out, wrong, atol=1e-4):
            raise ExerciseFailed(f"for {name}: {why}")
    expect_tensor(f"out for {name}", out, expected, shape=tuple(q.shape), atol=1e-4)
    expect_tensor(f"k_cache for {name}", k_all, k_exp, atol=0, rtol=0)
    expect_tensor(f"v_cache for {name}", v_all, v_exp, atol=0, rtol=0)


@exercise("06.4", "attention with a key/value cache")
def check_kv_cache(attend_with_cache) -> None:
    _check_one_step(attend_with_cache, 2, 3, 4, 8, 65, "a cache of 4 steps (B=2, H=3, head_dim=8)")
    _check_one_step(attend_with_cache, 1, 1, 1, 4, 66, "a cache of 1 step (B=1, H=1, head_dim=4)")
    _check_one_step(attend_with_cache, 2, 2, 5, 8, 67, "large scores (q × 400), a cache of 5 steps", q_scale=400.0)
    _check_one_step(attend_with_cache, 2, 3, 0, 8, 68, "an empty cache (T = 0), the first token")
    # Decoding a whole sequence one token at a time must give causal attention over the sequence.
    B, H, T, hd = 2, 2, 6, 4
    g = torch.Generator().manual_seed(69)
    q, k, v = (torch.randn(B, H, T, hd, generator=g) for _ in range(3))
    full = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    k_cache, v_cache = torch.zeros(B, H, 0, hd), torch.zeros(B, H, 0, hd)
    for t in range(T):
        out, k_cache, v_cache = _call_step(attend_with_cache, q[:, :, t:t + 1], k[:, :, t:t + 1],
                                           v[:, :, t:t + 1], k_cache, v_cache, f"decoding step {t}")
        expect_tensor(f"step {t} of decoding 6 tokens one at a time (vs causal attention over all 6)",
                      out, full[:, :, t:t + 1], atol=1e-4)
