# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python (gencourse)
#     language: python
#     name: gencourse
# ---

# %% [markdown]
# # 07 · Exercises: fine-tuning by hand
#
# Write the five pieces of chapter 07 yourself: the LoRA forward pass, merging the adapter into the
# weight, BERT's masking rule, T5's span corruption, and one fine-tuning step that trains the
# adapters and leaves the pre-trained weights alone. Replace each `raise NotImplementedError(...)`
# with your code and run the `check(...)` cell below it. At the end your pieces fine-tune a small
# GPT. Grade the whole notebook with `gencourse check exercises/07_finetuning.ipynb`.
#
# Lesson: `notebooks/07_finetuning.ipynb`.

# %%
import torch

from gencourse.exercises import check

# %% [markdown]
# ## Exercise 07.1 — the LoRA forward pass
# A frozen linear layer computes `x @ W.T + b` with W (out, in) and b (out,). LoRA adds a
# low-rank update with A (r, in) and B (out, r), scaled by alpha / r:
# h = W x + b + (alpha / r) · B A x. Inputs `x` are (N, in). Return h, (N, out). Take the rank
# from A, and do not change any input.

# %%
def lora_forward(x, W, b, A, B, alpha):
    ### BEGIN SOLUTION
    r = A.shape[0]
    return x @ W.T + b + (alpha / r) * (x @ A.T) @ B.T
    ### END SOLUTION


# %%
check("07.1", lora_forward)

# %% [markdown]
# ## Exercise 07.2 — merging the adapter into the weight
# For inference the update folds into the weight: W' = W + (alpha / r) · B A, so the layer needs
# no extra work. Return W' (out, in) as a new tensor; the frozen W must not change.

# %%
def merge(W, A, B, alpha):
    ### BEGIN SOLUTION
    return W + (alpha / A.shape[0]) * B @ A
    ### END SOLUTION


# %%
check("07.2", merge)

# %% [markdown]
# ## Exercise 07.3 — BERT's masking rule
# `ids` is a (B, T) tensor of token ids in [0, vocab_size). Choose each position with probability
# 0.15 (`torch.rand`). Of the chosen positions, 80% become `mask_id`, 10% become a random token
# drawn from [0, vocab_size) (`torch.randint`) and 10% keep their token. Return `(inputs, labels)`:
# `inputs` is a changed copy of ids; `labels` holds the original id at chosen positions and -1
# elsewhere (the loss ignores -1). Do not change `ids`.

# %%
def bert_mask(ids, mask_id, vocab_size):
    ### BEGIN SOLUTION
    chosen = torch.rand(ids.shape) < 0.15
    how = torch.rand(ids.shape)
    inputs = ids.clone()
    inputs[chosen & (how < 0.8)] = mask_id
    swap = chosen & (how >= 0.8) & (how < 0.9)
    inputs[swap] = torch.randint(0, vocab_size, ids.shape)[swap]
    labels = torch.where(chosen, ids, torch.full_like(ids, -1))
    return inputs, labels
    ### END SOLUTION


# %%
check("07.3", bert_mask)

# %% [markdown]
# ## Exercise 07.4 — T5's span corruption
# `ids` is a list of ids; `spans` is a list of `(start, length)` pairs, sorted and not touching;
# `sentinels` is a list of special ids. Replace span i in the input by the single id
# `sentinels[i]`. The target lists, for each span in order, `sentinels[i]` followed by the span's
# tokens. Return `(inputs, targets)`, two lists. For example, ids `[10, 11, 12, 13, 14]` with
# spans `[(1, 2)]` give `([10, 100, 13, 14], [100, 11, 12])` when sentinels start at 100.

# %%
def corrupt(ids, spans, sentinels):
    ### BEGIN SOLUTION
    inputs, targets, pos = [], [], 0
    for i, (start, length) in enumerate(spans):
        inputs += ids[pos:start] + [sentinels[i]]
        targets += [sentinels[i]] + ids[start:start + length]
        pos = start + length
    return inputs + ids[pos:], targets
    ### END SOLUTION


# %%
check("07.4", corrupt)

# %% [markdown]
# ## Exercise 07.5 — a fine-tuning step with frozen base weights
# `model` is a GPT whose base weights are frozen (`requires_grad=False`) and whose LoRA adapters
# train; `optimizer` holds the adapters only. `model(x, y)` returns `(logits, loss)`. Do one
# step: clear the old gradients, compute the loss, back-propagate, update. Return the loss of
# this batch as a Python float.

# %%
def finetune_step(model, optimizer, x, y):
    ### BEGIN SOLUTION
    optimizer.zero_grad()
    _, loss = model(x, y)
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


# %%
check("07.5", finetune_step)

# %% [markdown]
# ## Putting it together
# Your pieces fine-tune a small GPT: a base model is trained briefly on one pattern of text, then
# adapted with LoRA to another. Your `finetune_step` trains the adapters; your `merge` folds them
# into the weights, and the merged model must give the same logits as base + adapter.

# %%
from gencourse.models.gpt import GPT, GPTConfig  # noqa: E402
from gencourse.models.lora import LoRALinear, add_lora  # noqa: E402

torch.manual_seed(0)
model = GPT(GPTConfig(vocab_size=10, block_size=16, n_layer=1, n_head=2, n_embd=32))
general = torch.arange(400) % 5                        # 0 1 2 3 4 0 1 ...
domain = (torch.arange(400) % 5) * 2 % 10              # 0 2 4 6 8 0 2 ...


def batch(stream, n=16, T=16):
    starts = torch.randint(0, len(stream) - T - 1, (n,))
    w = torch.stack([stream[s:s + T + 1] for s in starts])
    return w[:, :-1], w[:, 1:]


opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
for _ in range(150):
    finetune_step(model, opt, *batch(general))
add_lora(model, ("attn.qkv", "mlp.fc"), rank=2, alpha=4)
adapters = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(adapters, lr=1e-2)
first = finetune_step(model, opt, *batch(domain))
for _ in range(150):
    last = finetune_step(model, opt, *batch(domain))
print(f"domain loss: {first:.3f} before LoRA training, {last:.3f} after; "
      f"{sum(p.numel() for p in adapters)} of {sum(p.numel() for p in model.parameters())} weights trained")

x, _ = batch(domain, n=2)
with torch.no_grad():
    before = model(x)[0]
    for m in model.modules():
        if isinstance(m, LoRALinear):
            m.base.weight.copy_(merge(m.base.weight, m.lora_A, m.lora_B, m.alpha))
            m.lora_B.zero_()
    gap = (model(x)[0] - before).abs().max().item()
print(f"merged with your merge(): largest logit difference {gap:.1e}")
assert last < 0.5 * first and gap < 1e-4
