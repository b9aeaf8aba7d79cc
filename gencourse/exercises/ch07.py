"""Checks for chapter 07 (fine-tuning): the LoRA forward pass and merge, BERT's masking rule,
T5's span corruption, and a fine-tuning step that leaves the frozen base weights alone."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gencourse.exercises.feedback import ExerciseFailed, call, expect_tensor_type, diagnose, exercise, expect_tensor
from gencourse.models.gpt import GPT, GPTConfig
from gencourse.models.lora import add_lora


def _lora_inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n, d_in, d_out, r = 5, 12, 7, 3
    x = torch.randn(n, d_in, generator=g)
    W = torch.randn(d_out, d_in, generator=g) / 3
    b = torch.randn(d_out, generator=g)
    A = torch.randn(r, d_in, generator=g) / 3
    B = torch.randn(d_out, r, generator=g)
    return x, W, b, A, B, 5.0                 # alpha / r = 5 / 3: integer division would show


@exercise("07.1", "the LoRA forward pass")
def check_lora_forward(lora_forward) -> None:
    x, W, b, A, B, alpha = _lora_inputs()
    saved = [t.clone() for t in (x, W, b, A, B)]
    got = call(lora_forward, x, W, b, A, B, alpha, what="lora_forward(x, W, b, A, B, alpha)")
    expect_tensor_type("the output", got)
    if any(not torch.equal(t, s) for t, s in zip((x, W, b, A, B), saved)):
        raise ExerciseFailed("you changed an input in place (W += ..., or an operation ending in _): "
                             "compute a new tensor and leave W, A and B as they were")
    r = A.shape[0]
    base = x @ W.T + b
    update = x @ A.T @ B.T
    diagnose(got, {
        "the update is scaled by alpha, not alpha / r: LoRA divides by the rank so the size of the "
        "update does not change with r": base + alpha * update,
        "the update is scaled by r / alpha: the factor is alpha / r": base + r / alpha * update,
        "the low-rank update is not scaled: multiply B A x by alpha / r": base + update,
        "the bias b is missing: the frozen layer computes W x + b": x @ W.T + alpha / r * update,
        "the output is only the update: add the frozen layer's W x + b": alpha / r * update,
        "the output is only the frozen layer: add (alpha / r) B A x": base,
    })
    expect_tensor("the output", got, base + alpha / r * update, atol=1e-4)
    x2, W2, b2, A2, B2, _ = _lora_inputs(seed=1)
    again = call(lora_forward, x2[:, :5], W2[:4, :5], b2[:4], A2[:2, :5], B2[:4, :2], 3.0,
                 what="lora_forward on other sizes")
    expect_tensor_type("the output on other sizes", again)
    expected = x2[:, :5] @ W2[:4, :5].T + b2[:4] + 1.5 * x2[:, :5] @ A2[:2, :5].T @ B2[:4, :2].T
    if tuple(again.shape) != tuple(expected.shape):
        raise ExerciseFailed(f"with in=5, out=4, r=2 the output has shape {tuple(again.shape)}, expected "
                             f"{tuple(expected.shape)}: take every size from the tensors (r = A.shape[0])")
    expect_tensor("the output for in=5, out=4, r=2, alpha=3", again, expected, atol=1e-4)


@exercise("07.2", "merging a LoRA update into the weight")
def check_lora_merge(merge) -> None:
    _, W, _, A, B, alpha = _lora_inputs(2)
    saved = W.clone()
    got = call(merge, W, A, B, alpha, what="merge(W, A, B, alpha)")
    expect_tensor_type("the merged weight", got)
    r = A.shape[0]
    if not torch.equal(W, saved):
        raise ExerciseFailed("you changed W in place (W += ... or W.add_): the frozen base weight must stay "
                             "as it was, so return W + ... as a new tensor")
    if tuple(got.shape) != tuple(W.shape):
        raise ExerciseFailed(f"the merged weight has shape {tuple(got.shape)}, expected {tuple(W.shape)} like W "
                             "(out, in): the update is B @ A, (out, r) @ (r, in)")
    diagnose(got, {
        "the update is not scaled: the merged weight is W + (alpha / r) B A": W + B @ A,
        "the update is scaled by alpha, not alpha / r": W + alpha * B @ A,
        "the merged weight is only the update: add the frozen W": alpha / r * B @ A,
    })
    expect_tensor("the merged weight", got, W + alpha / r * B @ A, atol=1e-4)
    x = torch.randn(4, W.shape[1], generator=torch.Generator().manual_seed(3))
    out = x @ got.T
    if not torch.allclose(out, x @ W.T + alpha / r * x @ A.T @ B.T, atol=1e-4):
        raise ExerciseFailed("the merged weight does not compute what the adapter computes")


def _masking_stats(inputs: Tensor, labels: Tensor, ids: Tensor, mask_id: int) -> dict[str, float]:
    chosen = labels != -1
    n = max(int(chosen.sum()), 1)
    return {"chosen": float(chosen.float().mean()),
            "mask": int((inputs[chosen] == mask_id).sum()) / n,
            "same": int((inputs[chosen] == ids[chosen]).sum()) / n}


@exercise("07.3", "BERT's masking rule")
def check_bert_mask(bert_mask) -> None:
    vocab, mask_id = 40, 40
    ids = torch.randint(0, vocab, (200, 100), generator=torch.Generator().manual_seed(0))
    saved = ids.clone()
    torch.manual_seed(1)
    got = call(bert_mask, ids, mask_id, vocab, what="bert_mask(ids, mask_id, vocab_size)")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise ExerciseFailed(f"bert_mask should return (inputs, labels), got {type(got).__name__}")
    inputs, labels = got
    for name, t in (("inputs", inputs), ("labels", labels)):
        expect_tensor_type(name, t)
        if tuple(t.shape) != tuple(ids.shape):
            raise ExerciseFailed(f"{name} has shape {tuple(t.shape)}, expected {tuple(ids.shape)} like ids")
        if t.dtype != torch.long:
            raise ExerciseFailed(f"{name} has dtype {t.dtype}: token ids and labels stay torch.long")
    if not torch.equal(ids, saved):
        raise ExerciseFailed("you changed ids in place: clone it first (inputs = ids.clone()) and change the copy")
    if bool((labels == -1).all()):
        raise ExerciseFailed("every label is -1: the chosen positions must keep their original id as the label")
    if not bool((labels == -1).any()):
        raise ExerciseFailed("no label is -1: only the chosen 15% carry a loss; set the label of every other "
                             "position to -1 (the index the loss ignores)")
    chosen = labels != -1
    if not torch.equal(labels[chosen], ids[chosen]):
        if bool((labels[chosen] == mask_id).any()):
            raise ExerciseFailed("some labels are the [MASK] id: the label is the original token, taken from "
                                 "ids before you replace anything")
        raise ExerciseFailed("at chosen positions the label must be the original id (ids), not the new input")
    if not torch.equal(inputs[~chosen], ids[~chosen]):
        raise ExerciseFailed("positions that were not chosen (label -1) changed in the inputs: only the chosen "
                             "15% may be replaced")
    s = _masking_stats(inputs, labels, ids, mask_id)
    if abs(s["chosen"] - 0.15) > 0.02:
        raise ExerciseFailed(f"{s['chosen']:.1%} of the positions are chosen, expected 15%: choose each position "
                             "with probability 0.15 (torch.rand(ids.shape) < 0.15)")
    if s["mask"] > 0.97:
        raise ExerciseFailed("every chosen position became [MASK]: the rule is 80% [MASK], 10% a random token, "
                             "10% unchanged")
    if abs(s["mask"] - 0.8) > 0.04:
        raise ExerciseFailed(f"{s['mask']:.0%} of the chosen positions became [MASK], expected 80%")
    if s["same"] < 0.05:
        raise ExerciseFailed("no chosen position kept its own token: 10% must stay unchanged (and 10% get a random token)")
    if abs(s["same"] - (0.1 + 0.1 / vocab)) > 0.04:
        raise ExerciseFailed(f"{s['same']:.0%} of the chosen positions kept their token, expected about 10%: "
                             "80% [MASK], 10% random, 10% unchanged")
    swapped = chosen & (inputs != mask_id) & (inputs != ids)
    if int(swapped.sum()) == 0:
        raise ExerciseFailed("no chosen position got a random token: 10% must be replaced by a random token")
    if int(inputs[swapped].max()) >= vocab or int(inputs[swapped].min()) < 0:
        raise ExerciseFailed(f"a random replacement is outside [0, {vocab}): draw it with "
                             "torch.randint(0, vocab_size, ...)")
    torch.manual_seed(1)
    again = call(bert_mask, ids, mask_id, vocab, what="bert_mask (a second call with the same seed)")
    torch.manual_seed(2)
    other = call(bert_mask, ids, mask_id, vocab, what="bert_mask (a third call)")
    if not torch.equal(again[1], labels) or torch.equal(other[1], labels):
        raise ExerciseFailed("draw the choice from torch's random generator (torch.rand), so the same seed "
                             "gives the same masking and another seed another")


@exercise("07.4", "T5's span corruption")
def check_span_corrupt(corrupt) -> None:
    ids = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    spans = [(2, 2), (6, 3)]                   # (start, length)
    sentinels = [100, 101, 102]
    got = call(corrupt, list(ids), spans, sentinels, what="corrupt(ids, spans, sentinels)")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise ExerciseFailed(f"corrupt should return (inputs, targets), two lists, got {type(got).__name__}")
    inputs, targets = (list(x.tolist()) if isinstance(x, Tensor) else x for x in got)
    if not all(isinstance(x, list) for x in (inputs, targets)):
        raise ExerciseFailed("inputs and targets should be lists of ids")
    expected_in = [10, 11, 100, 14, 15, 101, 19]
    expected_tgt = [100, 12, 13, 101, 16, 17, 18]
    if inputs == [10, 11, 100, 100, 14, 15, 101, 101, 101, 19]:
        raise ExerciseFailed("each token of a span became a sentinel: a whole span is replaced by ONE sentinel")
    if inputs == [10, 11, 100, 14, 15, 100, 19] or targets == [100, 12, 13, 100, 16, 17, 18]:
        raise ExerciseFailed("both spans use the same sentinel: span i gets sentinels[i], so the decoder knows "
                             "which gap each piece fills")
    if targets == [12, 13, 16, 17, 18]:
        raise ExerciseFailed("the targets have no sentinels: write sentinels[i] before span i in the targets")
    if inputs == ids:
        raise ExerciseFailed("the inputs still hold the spans: replace each span by its sentinel")
    if inputs != expected_in:
        raise ExerciseFailed(f"inputs are {inputs}, expected {expected_in} for ids {ids}, spans {spans}: "
                             "keep what is outside the spans, one sentinel per span (check span ends: start + length)")
    if targets != expected_tgt:
        raise ExerciseFailed(f"targets are {targets}, expected {expected_tgt}: sentinels[i] then the tokens of span i")
    edge = call(corrupt, [1, 2, 3, 4], [(0, 1), (3, 1)], sentinels, what="corrupt with spans at both ends")
    edge = tuple(list(x.tolist()) if isinstance(x, Tensor) else x for x in edge)
    if edge != ([100, 2, 3, 101], [100, 1, 101, 4]):
        raise ExerciseFailed(f"with spans at both ends ([1, 2, 3, 4], spans [(0, 1), (3, 1)]) you returned {edge}, "
                             "expected ([100, 2, 3, 101], [100, 1, 101, 4])")


def _tiny_lora_model() -> tuple[GPT, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=17, block_size=8, n_layer=1, n_head=2, n_embd=16))
    add_lora(model, ("attn.qkv",), rank=2, alpha=4)
    with torch.no_grad():
        model.blocks[0].attn.qkv.lora_B.normal_(std=0.1)
    params = [p for p in model.parameters() if p.requires_grad]
    return model, torch.optim.SGD(params, lr=0.5)


@exercise("07.5", "a fine-tuning step with frozen base weights")
def check_finetune_step(finetune_step) -> None:
    g = torch.Generator().manual_seed(1)
    x, y = torch.randint(0, 17, (4, 8), generator=g), torch.randint(0, 17, (4, 8), generator=g)
    model, opt = _tiny_lora_model()
    ref_model, ref_opt = _tiny_lora_model()
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    adapters = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    with torch.no_grad():
        expected_loss = float(model(x, y)[1])
    got = call(finetune_step, model, opt, x, y, what="finetune_step(model, optimizer, x, y)")
    if isinstance(got, Tensor):
        raise ExerciseFailed("return the loss as a Python float (loss.item()), not a tensor: a tensor keeps the "
                             "whole graph alive and a list of them fills memory")
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise ExerciseFailed(f"finetune_step should return the loss as a float, got {type(got).__name__}")
    if not math.isfinite(got):
        raise ExerciseFailed(f"the returned loss is {got}")
    if abs(got - expected_loss) > 1e-4:
        raise ExerciseFailed(f"the returned loss is {got:.5f}, expected {expected_loss:.5f}: return the loss of "
                             "this batch, computed before the update (model(x, y) returns (logits, loss))")
    named = dict(model.named_parameters())
    for n, before in frozen.items():
        if n not in named or not torch.equal(named[n].detach(), before):
            raise ExerciseFailed(f"the frozen base weight {n} changed: fine-tune only the adapters (leave "
                                 "requires_grad as it is; the optimizer holds only the trainable weights)")
    if any(p.requires_grad or p.grad is not None for n, p in named.items() if n in frozen):
        raise ExerciseFailed("a frozen base weight now requires (or has) a gradient: leave requires_grad as it is. "
                             "Gradients for the base weights cost the memory that LoRA is meant to save")
    if any(not p.requires_grad for n, p in named.items() if n in adapters):
        raise ExerciseFailed("an adapter weight no longer requires gradients")
    if all(torch.equal(named[n].detach(), before) for n, before in adapters.items()):
        raise ExerciseFailed("the adapter weights did not change: call loss.backward() and then optimizer.step()")
    # reference: two proper steps
    for _ in range(2):
        ref_opt.zero_grad()
        ref_model(x, y)[1].backward()
        ref_opt.step()
    call(finetune_step, model, opt, x, y, what="a second finetune_step")
    ref = dict(ref_model.named_parameters())
    if any(not torch.allclose(named[n], ref[n], atol=1e-5) for n in adapters):
        raise ExerciseFailed("after two steps the adapters differ from two plain SGD steps: call "
                             "optimizer.zero_grad() before backward(), or gradients pile up from step to step")


__all__ = ["check_lora_forward", "check_lora_merge", "check_bert_mask", "check_span_corrupt", "check_finetune_step"]
