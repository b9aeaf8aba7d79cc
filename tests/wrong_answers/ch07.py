"""Chapter 07 (fine-tuning): plausible wrong answers to exercises 07.1–07.5 and the feedback each must get."""
from __future__ import annotations

import torch

from wrong_answers import WrongAnswer, one


def _lora(x, W, b, A, B, alpha, scale=lambda a, r: a / r, bias=True, base=True):
    out = scale(alpha, A.shape[0]) * (x @ A.T) @ B.T
    if base:
        out = out + x @ W.T + (b if bias else 0)
    return out


def _in_place_merge(W, A, B, alpha):
    W += alpha / A.shape[0] * B @ A
    return W


def _mask(ids, mask_id, vocab_size, p=0.15, rule=(0.8, 0.9), labels_everywhere=False, label_from_inputs=False,
          random_high=None):
    chosen = torch.rand(ids.shape) < p
    how = torch.rand(ids.shape)
    inputs = ids.clone()
    inputs[chosen & (how < rule[0])] = mask_id
    swap = chosen & (how >= rule[0]) & (how < rule[1])
    inputs[swap] = torch.randint(0, random_high or vocab_size, ids.shape)[swap]
    source = inputs if label_from_inputs else ids
    labels = source.clone() if labels_everywhere else torch.where(chosen, source, torch.full_like(ids, -1))
    return inputs, labels


def _corrupt(ids, spans, sentinels, same_sentinel=False, per_token=False, no_sentinel_in_targets=False,
             off_by_one=False):
    inputs, targets, pos = [], [], 0
    for i, (start, length) in enumerate(spans):
        s = sentinels[0] if same_sentinel else sentinels[i]
        end = start + length + (1 if off_by_one else 0)
        inputs += ids[pos:start] + ([s] * length if per_token else [s])
        targets += ([] if no_sentinel_in_targets else [s]) + ids[start:end]
        pos = end
    return inputs + ids[pos:], targets


def _step(model, optimizer, x, y, zero_grad=True, step=True, as_tensor=False, unfreeze=False, loss_after=False):
    if unfreeze:
        for p in model.parameters():
            p.requires_grad_(True)
        optimizer.add_param_group({"params": [p for p in model.parameters()
                                              if all(p is not q for g in optimizer.param_groups for q in g["params"])]})
    if zero_grad:
        optimizer.zero_grad()
    _, loss = model(x, y)
    loss.backward()
    if step:
        optimizer.step()
    if loss_after:
        with torch.no_grad():
            loss = model(x, y)[1]
    return loss if as_tensor else loss.item()


WRONG = [
    # 07.1 — the LoRA forward pass
    WrongAnswer("07.1", "classic", "scaled by alpha instead of alpha / r",
                one(lambda x, W, b, A, B, alpha: _lora(x, W, b, A, B, alpha, scale=lambda a, r: a)),
                r"scaled by alpha, not alpha / r"),
    WrongAnswer("07.1", "other", "bias forgotten",
                one(lambda x, W, b, A, B, alpha: _lora(x, W, b, A, B, alpha, bias=False)), r"bias b is missing"),
    WrongAnswer("07.1", "other", "update only",
                one(lambda x, W, b, A, B, alpha: _lora(x, W, b, A, B, alpha, base=False)), r"only the update"),
    WrongAnswer("07.1", "other", "rank hard-coded to 3",
                one(lambda x, W, b, A, B, alpha: x @ W.T + b + alpha / 3 * (x @ A.T) @ B.T),
                r"in=5, out=4, r=2"),
    WrongAnswer("07.1", "other", "integer division alpha // r",
                one(lambda x, W, b, A, B, alpha: _lora(x, W, b, A, B, alpha, scale=lambda a, r: a // r)),
                r"wrong values|alpha / r"),
    WrongAnswer("07.1", "type", "numpy array",
                one(lambda x, W, b, A, B, alpha: _lora(x, W, b, A, B, alpha).numpy()), r"numpy array"),
    WrongAnswer("07.1", "nan", "alpha / 0",
                one(lambda x, W, b, A, B, alpha: _lora(x, W, b, A, B, alpha) * float("nan")), r"NaN"),
    # 07.2 — merging
    WrongAnswer("07.2", "classic", "merge without the alpha / r scale",
                one(lambda W, A, B, alpha: W + B @ A), r"not scaled"),
    WrongAnswer("07.2", "other", "integer division alpha // r",
                one(lambda W, A, B, alpha: W + alpha // A.shape[0] * B @ A), r"wrong values|alpha / r"),
    WrongAnswer("07.2", "other", "merged in place", one(_in_place_merge), r"changed W in place"),
    WrongAnswer("07.2", "other", "transposed: (in, out) like x @ W.T uses",
                one(lambda W, A, B, alpha: W.T + alpha / A.shape[0] * A.T @ B.T), r"has shape \(12, 7\), expected \(7, 12\)"),
    WrongAnswer("07.2", "other", "the update alone",
                one(lambda W, A, B, alpha: alpha / A.shape[0] * B @ A), r"only the update"),
    WrongAnswer("07.2", "type", "a list", one(lambda W, A, B, alpha: (W + alpha / A.shape[0] * B @ A).tolist()),
                r"should be a torch.Tensor, got list"),
    WrongAnswer("07.2", "nan", "NaN weight", one(lambda W, A, B, alpha: W * float("nan")), r"NaN"),
    # 07.3 — BERT's masking rule
    WrongAnswer("07.3", "classic", "every chosen position becomes [MASK] (no 80/10/10)",
                one(lambda ids, m, v: _mask(ids, m, v, rule=(1.0, 1.0))), r"every chosen position became \[MASK\]"),
    WrongAnswer("07.3", "classic", "labels on every position",
                one(lambda ids, m, v: _mask(ids, m, v, labels_everywhere=True)), r"no label is -1"),
    WrongAnswer("07.3", "other", "labels taken after masking",
                one(lambda ids, m, v: _mask(ids, m, v, label_from_inputs=True)), r"\[MASK\] id"),
    WrongAnswer("07.3", "other", "half the positions chosen",
                one(lambda ids, m, v: _mask(ids, m, v, p=0.5)), r"expected 15%"),
    WrongAnswer("07.3", "other", "no unchanged tenth (90% mask)",
                one(lambda ids, m, v: _mask(ids, m, v, rule=(0.9, 1.0))), r"kept its own token|expected 80%"),
    WrongAnswer("07.3", "other", "random token may be [MASK] or beyond",
                one(lambda ids, m, v: _mask(ids, m, v, random_high=v + 5)), r"outside \[0, 40\)"),
    WrongAnswer("07.3", "other", "ids masked in place",
                one(lambda ids, m, v: (ids.masked_fill_(torch.rand(ids.shape) < 0.15, m), ids)), r"changed ids in place"),
    WrongAnswer("07.3", "type", "float labels",
                one(lambda ids, m, v: (lambda i, l: (i, l.float()))(*_mask(ids, m, v))), r"dtype"),
    WrongAnswer("07.3", "nan", "NaN labels",
                one(lambda ids, m, v: (lambda i, l: (i, l.float() * float("nan")))(*_mask(ids, m, v))), r"NaN"),
    # 07.4 — span corruption
    WrongAnswer("07.4", "classic", "the same sentinel for every span",
                one(lambda ids, spans, s: _corrupt(ids, spans, s, same_sentinel=True)), r"same sentinel"),
    WrongAnswer("07.4", "other", "one sentinel per token",
                one(lambda ids, spans, s: _corrupt(ids, spans, s, per_token=True)), r"ONE sentinel"),
    WrongAnswer("07.4", "other", "targets without sentinels",
                one(lambda ids, spans, s: _corrupt(ids, spans, s, no_sentinel_in_targets=True)), r"no sentinels"),
    WrongAnswer("07.4", "other", "span end off by one",
                one(lambda ids, spans, s: _corrupt(ids, spans, s, off_by_one=True)), r"start \+ length"),
    WrongAnswer("07.4", "type", "a string", one(lambda ids, spans, s: "".join(map(str, ids))), r"\(inputs, targets\)"),
    WrongAnswer("07.4", "nan", "NaN ids",
                one(lambda ids, spans, s: ([float("nan")] * 7, [float("nan")] * 7)), r"inputs are \[nan"),
    # 07.5 — a fine-tuning step with frozen base weights
    WrongAnswer("07.5", "classic", "no zero_grad", one(lambda m, o, x, y: _step(m, o, x, y, zero_grad=False)),
                r"zero_grad"),
    WrongAnswer("07.5", "other", "no optimizer.step", one(lambda m, o, x, y: _step(m, o, x, y, step=False)),
                r"did not change"),
    WrongAnswer("07.5", "other", "base weights unfrozen and trained",
                one(lambda m, o, x, y: _step(m, o, x, y, unfreeze=True)), r"frozen base weight .*(changed|gradient)"),
    WrongAnswer("07.5", "other", "loss after the update",
                one(lambda m, o, x, y: _step(m, o, x, y, loss_after=True)), r"computed before the update"),
    WrongAnswer("07.5", "type", "loss tensor returned", one(lambda m, o, x, y: _step(m, o, x, y, as_tensor=True)),
                r"Python float"),
    WrongAnswer("07.5", "nan", "NaN loss", one(lambda m, o, x, y: (_step(m, o, x, y), float("nan"))[1]), r"nan"),
]
