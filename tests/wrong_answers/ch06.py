"""Chapter 06 (transformers and GPT): plausible wrong answers to exercises 06.1–06.4 and the
feedback each must get."""
from __future__ import annotations

import math

import numpy as np
import torch

from wrong_answers import WrongAnswer, one

# 06.1 — one BPE merge step


def _merge(ids, pair, new_id, *, step_after_merge=2, reverse=False, first_only=False, match_first=False,
           drop_last=False):
    """A merge loop with one knob per classic mistake (all knobs off: the right answer)."""
    if reverse:
        return _merge(list(ids)[::-1], (pair[1], pair[0]), new_id)[::-1]
    out, i, merged = [], 0, False
    end = len(ids) - 1 if drop_last else len(ids)
    while i < end:
        hit = i + 1 < len(ids) and ids[i] == pair[0] and (match_first or ids[i + 1] == pair[1])
        if hit and not (first_only and merged):
            out.append(new_id)
            i += step_after_merge
            merged = True
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_always_append_last(ids, pair, new_id):
    """Scans the pairs, then always appends the last id: duplicated when the final pair was merged."""
    out, i = [], 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    if ids:
        out.append(ids[-1])
    return out


def _merge_in_place(ids, pair, new_id):
    i = 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            ids[i:i + 2] = [new_id]
        i += 1


def _merge_by_string_replace(ids, pair, new_id):
    """Join ids into text and str.replace: '1 1' also matches inside '11 1' — and returns a string."""
    return " ".join(map(str, ids)).replace(f"{pair[0]} {pair[1]}", str(new_id))


# 06.2 — top-p filtering


def _sorted(logits):
    probs = torch.softmax(logits, -1)
    sorted_p, order = probs.sort(-1, descending=True)
    return sorted_p, order


def _unsort(mask_sorted, order):
    return torch.zeros_like(mask_sorted).scatter(-1, order, mask_sorted)


def _top_p(logits, p):
    sorted_p, order = _sorted(logits)
    keep = _unsort((sorted_p.cumsum(-1) - sorted_p) < p, order)
    return logits.masked_fill(~keep, float("-inf"))


def _top_p_at_or_below(logits, p):
    """The classic: keep while the cumulative probability stays <= p (misses the crossing token)."""
    sorted_p, order = _sorted(logits)
    keep = _unsort(sorted_p.cumsum(-1) <= p, order)
    return logits.masked_fill(~keep, float("-inf"))


def _top_p_mass_before_at_most_p(logits, p):
    """Off by one at the boundary: keeps a token while the mass ranked above it is <= p, so when the
    tokens above reach p exactly, one more is kept."""
    sorted_p, order = _sorted(logits)
    keep = _unsort((sorted_p.cumsum(-1) - sorted_p) <= p, order)
    return logits.masked_fill(~keep, float("-inf"))


def _top_p_hugging_face_shift(logits, p):
    """Hugging Face style: remove where the cumulative probability is > p, shift the mask right by one
    so the crossing token stays, always keep the first (the same <= rule at the boundary)."""
    sorted_logits, order = logits.sort(-1, descending=True)
    remove = sorted_logits.softmax(-1).cumsum(-1) > p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    return logits.masked_fill(_unsort(remove, order), float("-inf"))


def _top_p_count_plus_one(logits, p):
    """Keeps (cum <= p).sum() + 1 tokens: one too many when the cumulative mass hits p exactly."""
    sorted_p, order = _sorted(logits)
    n = (sorted_p.cumsum(-1) <= p).sum(-1, keepdim=True) + 1
    keep_sorted = torch.arange(sorted_p.shape[-1]) < n
    return logits.masked_fill(~_unsort(keep_sorted, order), float("-inf"))


def _top_p_python_loop(logits, p):
    """Walks the sorted tokens and drops one once the running total is > p (should be >= p)."""
    out = logits.clone()
    for r in range(out.shape[0]):
        sorted_p, order = _sorted(out[r])
        total = 0.0
        for prob, j in zip(sorted_p.tolist(), order.tolist()):
            if total > p:
                out[r, j] = float("-inf")
            total += prob
    return out


def _top_p_fill(value):
    """The right nucleus, but removed tokens get a large negative finite logit instead of -inf."""
    def top_p(logits, p):
        keep = ~torch.isneginf(_top_p(logits, p))
        return logits.masked_fill(~keep, value if value is not None else torch.finfo(logits.dtype).min)
    return top_p


def _top_p_strictly_below_with_top_forced(logits, p):
    """Keeps the top token, but otherwise only tokens whose cumulative mass is < p."""
    sorted_p, order = _sorted(logits)
    keep_sorted = sorted_p.cumsum(-1) < p
    keep_sorted[..., 0] = True
    return logits.masked_fill(~_unsort(keep_sorted, order), float("-inf"))


def _top_p_unsorted(logits, p):
    probs = torch.softmax(logits, -1)
    keep = (probs.cumsum(-1) - probs) < p
    return logits.masked_fill(~keep, float("-inf"))


def _top_p_mask_added(logits, p):
    """Adds a mask of -inf · (1 - keep): the kept entries get 0 · -inf = NaN."""
    keep = ~torch.isneginf(_top_p(logits, p))
    return logits + (~keep).float() * float("-inf")


def _top_p_on_logits(logits, p):
    sorted_logits, order = logits.sort(-1, descending=True)
    keep = _unsort((sorted_logits.cumsum(-1) - sorted_logits) < p, order)
    return logits.masked_fill(~keep, float("-inf"))


def _top_p_zeroed(logits, p):
    keep = ~torch.isneginf(_top_p(logits, p))
    return logits * keep


def _top_p_in_place(logits, p):
    keep = ~torch.isneginf(_top_p(logits, p))
    return logits.masked_fill_(~keep, float("-inf"))


# 06.3 — a transformer block


def _block(x, ln1, attn, ln2, mlp):
    h = x + attn(ln1(x))
    return h + mlp(ln2(h))


def _block_post_norm(x, ln1, attn, ln2, mlp):
    h = ln1(x + attn(x))
    return ln2(h + mlp(h))


def _block_no_attention_residual(x, ln1, attn, ln2, mlp):
    h = attn(ln1(x))
    return h + mlp(ln2(h))


def _block_normalised_stream(x, ln1, attn, ln2, mlp):
    x = ln1(x)
    h = x + attn(x)
    return h + mlp(ln2(h))


def _block_parallel(x, ln1, attn, ln2, mlp):
    return x + attn(ln1(x)) + mlp(ln2(x))


def _block_own_layernorm(x, ln1, attn, ln2, mlp):
    """Normalises by hand with the variance of the whole tensor and a square root of a difference
    that goes negative: NaN."""
    def norm(t):
        return (t - t.mean(-1, keepdim=True)) / torch.sqrt(t.var(-1, keepdim=True) - 1.0)
    h = x + attn(norm(x))
    return h + mlp(norm(h))


def _block_x_detached_on_the_residual(x, ln1, attn, ln2, mlp):
    h = x.detach() + attn(ln1(x))
    return h + mlp(ln2(h))


def _block_x_data_on_the_residual(x, ln1, attn, ln2, mlp):
    h = x.data + attn(ln1(x))
    return h + mlp(ln2(h))


def _block_h_detached_on_the_residual(x, ln1, attn, ln2, mlp):
    h = x + attn(ln1(x))
    return h.detach() + mlp(ln2(h))


def _block_mlp_input_detached(x, ln1, attn, ln2, mlp):
    h = x + attn(ln1(x))
    return h + mlp(ln2(h.detach()))


def _block_in_place(x, ln1, attn, ln2, mlp):
    """x += ... overwrites the tensor ln1 saved for the backward pass."""
    x = x.clone()
    x += attn(ln1(x))
    return x + mlp(ln2(x))


def _block_no_grad(x, ln1, attn, ln2, mlp):
    with torch.no_grad():
        return _block(x, ln1, attn, ln2, mlp)


# 06.4 — attention with a key/value cache


def _attend(q, k, v):
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1) @ v


def _cached(q, k_new, v_new, k_cache, v_cache, *, dim=2, keep_old=True, before=True):
    k = torch.cat([k_cache, k_new], dim) if keep_old else k_new
    v = torch.cat([v_cache, v_new], dim) if keep_old else v_new
    return _attend(q, k, v) if before or not keep_old else _attend(q, k_cache, v_cache), k, v


def _cached_manual_softmax(q, k_new, v_new, k_cache, v_cache):
    k, v = torch.cat([k_cache, k_new], 2), torch.cat([v_cache, v_new], 2)
    e = torch.exp(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]))     # overflows for large scores
    return (e / e.sum(-1, keepdim=True)) @ v, k, v


def _cached_square_mask(q, k_new, v_new, k_cache, v_cache):
    k, v = torch.cat([k_cache, k_new], 2), torch.cat([v_cache, v_new], 2)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    mask = torch.tril(torch.ones(s.shape[-2], s.shape[-1], dtype=torch.bool))
    return torch.softmax(s.masked_fill(~mask, float("-inf")), -1) @ v, k, v


def _cached_prepended(q, k_new, v_new, k_cache, v_cache):
    k, v = torch.cat([k_new, k_cache], 2), torch.cat([v_new, v_cache], 2)
    return _attend(q, k, v), k, v


def _cached_unscaled(q, k_new, v_new, k_cache, v_cache):
    k, v = torch.cat([k_cache, k_new], 2), torch.cat([v_cache, v_new], 2)
    return torch.softmax(q @ k.transpose(-2, -1), -1) @ v, k, v


_AT_P = r"the tokens above already reach p: stop there \(the mass before a kept token must be < p, not <= p"
_USE_INF = r"use float\('-inf'\) so removed tokens get exactly zero probability"
_CUT = r"a residual path is cut from the gradient: do not detach x or h"

WRONG = [
    # 06.1 — one BPE merge step
    WrongAnswer("06.1", "classic", "overlapping merges",
                one(lambda ids, pair, new_id: _merge(ids, pair, new_id, step_after_merge=1)),
                r"overlapping occurrences"),
    WrongAnswer("06.1", "classic", "scanning right to left",
                one(lambda ids, pair, new_id: _merge(ids, pair, new_id, reverse=True)), r"right to left"),
    WrongAnswer("06.1", "other", "only the first occurrence",
                one(lambda ids, pair, new_id: _merge(ids, pair, new_id, first_only=True)),
                r"only the first occurrence"),
    WrongAnswer("06.1", "other", "only the first id of the pair compared",
                one(lambda ids, pair, new_id: _merge(ids, pair, new_id, match_first=True)),
                r"compared only the first id"),
    WrongAnswer("06.1", "other", "last id dropped",
                one(lambda ids, pair, new_id: _merge(ids, pair, new_id, drop_last=True)), r"last id went missing"),
    WrongAnswer("06.1", "other", "last id always appended (duplicated after merging the final pair)",
                one(_merge_always_append_last), r"last id appears twice"),
    WrongAnswer("06.1", "type", "modified in place, returned None",
                one(_merge_in_place), r"returned None"),
    WrongAnswer("06.1", "type", "string built with str.replace",
                one(_merge_by_string_replace), r"list of ints, got str"),
    WrongAnswer("06.1", "type", "tensor instead of list",
                one(lambda ids, pair, new_id: torch.tensor(_merge(ids, pair, new_id), dtype=torch.long)),
                r"list of ints, got Tensor.*tolist"),
    WrongAnswer("06.1", "type", "numpy ints in the list",
                one(lambda ids, pair, new_id: [np.int64(i) for i in _merge(ids, pair, new_id)]),
                r"Python ints.*int64"),
    # 06.2 — top-p filtering
    WrongAnswer("06.2", "classic", "kept only tokens with cumulative probability <= p",
                one(_top_p_at_or_below), r"kept mass falls short of p|most probable token must always be kept"),
    WrongAnswer("06.2", "classic", "cumulative < p with the top token forced in",
                one(_top_p_strictly_below_with_top_forced), r"kept mass falls short of p"),
    WrongAnswer("06.2", "classic", "kept while the mass before is <= p (off by one at the boundary)",
                one(_top_p_mass_before_at_most_p), _AT_P),
    WrongAnswer("06.2", "classic", "Hugging Face style: remove cum > p shifted right by one",
                one(_top_p_hugging_face_shift), _AT_P),
    WrongAnswer("06.2", "other", "kept (cum <= p).sum() + 1 tokens",
                one(_top_p_count_plus_one), _AT_P),
    WrongAnswer("06.2", "other", "Python loop dropping a token once the total is > p",
                one(_top_p_python_loop), _AT_P),
    WrongAnswer("06.2", "other", "removed tokens set to -1e9",
                one(_top_p_fill(-1e9)), _USE_INF),
    WrongAnswer("06.2", "other", "removed tokens set to torch.finfo(dtype).min",
                one(_top_p_fill(None)), _USE_INF),
    WrongAnswer("06.2", "other", "not sorted",
                one(_top_p_unsorted), r"vocabulary order: sort them"),
    WrongAnswer("06.2", "other", "removed tokens set to 0",
                one(_top_p_zeroed), r"logit of -inf: a logit of 0"),
    WrongAnswer("06.2", "other", "probabilities returned",
                one(lambda logits, p: torch.softmax(logits, -1) * ~torch.isneginf(_top_p(logits, p))),
                r"returned probabilities"),
    WrongAnswer("06.2", "other", "mask inverted",
                one(lambda logits, p: logits.masked_fill(~torch.isneginf(_top_p(logits, p)), float("-inf"))),
                r"inverted"),
    WrongAnswer("06.2", "other", "cumulative sum of logits",
                one(_top_p_on_logits), r"accumulated the logits"),
    WrongAnswer("06.2", "other", "log-probabilities instead of the kept logits",
                one(lambda logits, p: _top_p(torch.log_softmax(logits, -1), p)), r"returned log-\s?probabilities"),
    WrongAnswer("06.2", "other", "filtered the caller's logits in place",
                one(_top_p_in_place), r"changed the logits it was given"),
    WrongAnswer("06.2", "nan", "multiplied by a 0/-inf mask (0 · -inf)",
                one(_top_p_mask_added), r"NaN.*masked_fill"),
    WrongAnswer("06.2", "type", "numpy array",
                one(lambda logits, p: _top_p(logits, p).numpy()), r"torch\.Tensor, got ndarray"),
    WrongAnswer("06.2", "type", "indices of the kept tokens",
                one(lambda logits, p: (~torch.isneginf(_top_p(logits, p))).nonzero()), r"shape"),
    # 06.3 — a pre-norm transformer block
    WrongAnswer("06.3", "classic", "post-norm instead of pre-norm",
                one(_block_post_norm), r"post-norm"),
    WrongAnswer("06.3", "classic", "no residual around attention",
                one(_block_no_attention_residual), r"attention sub-layer has no residual"),
    WrongAnswer("06.3", "other", "no residual around the MLP",
                one(lambda x, ln1, attn, ln2, mlp: mlp(ln2(x + attn(ln1(x))))), r"MLP sub-layer has no residual"),
    WrongAnswer("06.3", "other", "no residuals at all",
                one(lambda x, ln1, attn, ln2, mlp: mlp(ln2(attn(ln1(x))))), r"both residual connections"),
    WrongAnswer("06.3", "other", "normalised the residual stream",
                one(_block_normalised_stream), r"replaced x by ln1\(x\) on the residual stream"),
    WrongAnswer("06.3", "other", "MLP fed x instead of h (parallel block)",
                one(_block_parallel), r"MLP saw x instead of h"),
    WrongAnswer("06.3", "other", "ln1 and ln2 swapped",
                one(lambda x, ln1, attn, ln2, mlp: _block(x, ln2, attn, ln1, mlp)), r"swapped"),
    WrongAnswer("06.3", "other", "x detached on the residual path",
                one(_block_x_detached_on_the_residual), _CUT),
    WrongAnswer("06.3", "other", "x.data on the residual path",
                one(_block_x_data_on_the_residual), _CUT),
    WrongAnswer("06.3", "other", "h detached on the residual path",
                one(_block_h_detached_on_the_residual), _CUT),
    WrongAnswer("06.3", "other", "the MLP's input detached",
                one(_block_mlp_input_detached), _CUT),
    WrongAnswer("06.3", "other", "in-place x += attn(ln1(x))",
                one(_block_in_place), r"backpropagating through your block failed.*in-place"),
    WrongAnswer("06.3", "other", "computed under torch.no_grad",
                one(_block_no_grad), r"no_grad"),
    WrongAnswer("06.3", "nan", "LayerNorm by hand with sqrt(var - 1)",
                one(_block_own_layernorm), r"NaN"),
    WrongAnswer("06.3", "type", "returned (h, out)",
                one(lambda x, ln1, attn, ln2, mlp: (x + attn(ln1(x)), _block(x, ln1, attn, ln2, mlp))),
                r"one tensor .* got a tuple"),
    WrongAnswer("06.3", "type", "numpy array",
                one(lambda x, ln1, attn, ln2, mlp: _block(x, ln1, attn, ln2, mlp).detach().numpy()),
                r"torch\.Tensor, got ndarray"),
    # 06.4 — attention with a key/value cache
    WrongAnswer("06.4", "classic", "forgot the old cache",
                one(lambda *a: _cached(*a, keep_old=False)), r"forgot\s+the old cache"),
    WrongAnswer("06.4", "classic", "concatenated along head_dim",
                one(lambda *a: _cached(*a, dim=-1)), r"concatenated along dim 3 \(head_dim\)"),
    WrongAnswer("06.4", "classic", "concatenated along the heads",
                one(lambda *a: _cached(*a, dim=1)), r"concatenated along dim 1 \(the heads\)"),
    WrongAnswer("06.4", "other", "concatenated along the batch",
                one(lambda *a: _cached(*a, dim=0)), r"dim 0 \(the batch\)"),
    WrongAnswer("06.4", "other", "attended before appending",
                one(lambda *a: _cached(*a, before=False)), r"only to the old cache"),
    WrongAnswer("06.4", "other", "new entry prepended",
                one(_cached_prepended), r"in front of the old ones"),
    WrongAnswer("06.4", "other", "square causal mask",
                one(_cached_square_mask), r"causal mask made for a square"),
    WrongAnswer("06.4", "other", "unscaled scores",
                one(_cached_unscaled), r"not scaled"),
    WrongAnswer("06.4", "nan", "softmax by hand overflows",
                one(_cached_manual_softmax), r"NaN.*torch\.softmax"),
    WrongAnswer("06.4", "type", "only the output returned",
                one(lambda *a: _cached(*a)[0]), r"triple \(out, k_cache, v_cache\), got a Tensor"),
    WrongAnswer("06.4", "type", "numpy output",
                one(lambda *a: (_cached(*a)[0].numpy(), *_cached(*a)[1:])), r"out should be a torch\.Tensor"),
]
