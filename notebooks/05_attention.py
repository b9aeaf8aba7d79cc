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
# # 05 · Attention
#
# Every model so far mapped a fixed-size input to an output through fixed wiring: pixel 12 of a
# digit always meets the same weights. Text, code and audio are sequences whose length varies and
# whose important relations can span any distance ("the function *defined forty lines above*").
# **Attention** lets each position of a sequence decide, from the content itself, which other
# positions to read from and how much. It is the operation at the heart of the transformer ("Attention
# Is All You Need", Vaswani et al., 2017) and of every GPT-style model in chapter 06. This chapter
# builds it from a few lines of torch, measures why it is scaled the way it is, adds masks, heads and
# positions, checks it against PyTorch's own implementation to 10⁻¹⁰, and then trains a small
# attention model on a long-range recall task that an MLP over the whole sequence and a bag of
# tokens do not solve with the same budget.
#
# **You will learn to**
# - write scaled dot-product attention, softmax(QKᵀ/√d)V, and read its weights as "who looks at whom";
# - explain, with a measurement of the gradients that reach the queries, why the scores are divided
#   by √d (without it the softmax saturates and a few queries take nearly all the gradient);
# - build causal and padding masks and show that no information crosses them;
# - split a model's width into heads and merge them back, and assemble multi-head attention;
# - show that attention without positions ignores order, and add sinusoidal or learned positions;
# - solve a long-range recall task with a previous-token step followed by an attention lookup,
#   explain why one attention layer cannot, isolate the previous-token step with an ablation, and
#   compare with an MLP that sees all 64 tokens and a bag-of-tokens model;
# - inspect attention maps with a viewer and a static figure.
#
# **Prerequisites:** chapter 00 (training a model with a loss), basic linear algebra (matrix
# products, softmax). No earlier model is reused.
# **Run time:** about 50 seconds on a 2-core laptop CPU (about 40 CPU-seconds on one thread).

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from gencourse.data.recall import RecallTask
from gencourse.models.attention import (
    MultiHeadAttention, causal_mask, merge_heads, padding_mask, scaled_dot_product_attention,
    sinusoidal_positions, split_heads,
)
from gencourse.runtime import seed_everything
from gencourse.widgets.attention import AttentionViewer

notebook_start, notebook_cpu_start = time.perf_counter(), time.process_time()
torch.set_num_threads(1)  # small models run fastest on one thread

# %% [markdown]
# ## Parameters

# %%
SEED = 0
DIMS = (4, 16, 64, 256, 1024)   # head widths d for the scaling experiment
N_KEYS = 64                     # keys per query in the scaling experiment
LENGTH, VOCAB, MIN_DISTANCE = 64, 16, 16   # the recall task: 64 tokens, answer >= 16 back
D_MODEL, HEADS = 32, 2          # the attention model for the recall task
STEPS, BATCH, LR = 250, 64, 1e-2           # AdamW, linear warm-up then cosine decay
BASELINE_STEPS = 600            # training steps of the MLP baselines
LOCAL_FIRST_LAYER = True        # False: the first layer may look anywhere (see section 7)
BASELINE_LR = 3e-3              # the MLP baselines' learning rate
B, T, D, H = 4, 12, 32, 4       # batch, length, width and heads of the PyTorch comparison (section 5)
SHIFT = 5                       # the offset of the rotation check of section 6

# %% [markdown]
# ## 1 · Attention in a few lines
# Attention is a soft lookup table. Each position offers a **key** (what it contains, as a vector)
# and a **value** (what it passes on if it is read). A **query** (what the reader is looking for) is
# compared with every key by a dot product; a softmax turns the scores into weights that are
# positive and sum to 1; the output is the weighted average of the values. With queries Q (T × d),
# keys K (S × d) and values V (S × d_v):
#
# Attention(Q, K, V) = softmax(Q Kᵀ / √d) V, the softmax taken over the S keys of each query.
#
# The weights form a T × S matrix: row t says how much query t reads from each key. Below, four
# keys and a query that resembles key 2: most of the weight goes to key 2, and the output is close
# to value 2. Our few lines agree with `gencourse.models.attention`, the reference used from here on.

# %%
def attention(q, k, v, mask=None):
    """softmax(q kᵀ / sqrt(d)) v; mask: bool, True where a query may attend to a key."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])     # (..., T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))            # masked keys get weight exactly 0
    weights = torch.softmax(scores, dim=-1)                          # each row sums to 1 over the keys
    return weights @ v, weights


keys = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, 0.0], [0.0, -4.0]])      # (S=4, d=2)
values = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
query = torch.tensor([[-3.0, 0.5]])                                           # close to key 2
toy_out, toy_weights = attention(query, keys, values)
print("weights on the 4 keys:", [round(w, 3) for w in toy_weights[0].tolist()])
print("output:", [round(x, 3) for x in toy_out[0].tolist()], "(value 2 is [0, 0, 1])")
ref_out, ref_weights = scaled_dot_product_attention(query, keys, values)
print("largest difference from gencourse's version:", float((ref_out - toy_out).abs().max()))

# %% [markdown]
# ## 2 · Why divide by √d? Measure it
# **The assumption.** If the d entries of q and of k are independent with mean 0 and variance σ², the
# score q·k is a sum of d products of variance σ⁴: its standard deviation is σ²√d. The constant σ²
# depends on the model (with PyTorch's default `nn.Linear` initialisation, uniform with bound
# 1/√(fan-in), each entry of q = Wx has about a third of the variance of x's entries, so σ² ≈ 1/3 for
# unit-variance inputs), but the growth with √d does not. Dividing by √d removes that growth, so the
# spread of the scores no longer depends on the head width. Below we take σ² = 1, the case where the
# scaled scores have unit variance exactly.
#
# **Why the spread matters.** Wide-spread scores make the softmax saturate: one key takes nearly all
# the weight, and the softmax's derivative, diag(p) − ppᵀ, is nearly zero. But removing the scale
# also multiplies the backward pass through q·k by √d, so "the gradient vanishes" is too simple: we
# must measure where the learning signal arrives, at the **queries** (∂loss/∂q), not at the scores.
#
# We use random queries and keys (256 queries, 64 keys each) for d from 4 to 1024, and a loss that
# is a random linear function of the weights (standing for whatever the values feed downstream). For
# each d, with and without the scale, we measure the softmax's **entropy** (log 64 ≈ 4.16 nats for
# uniform weights, 0 for a one-hot choice), the share of **saturated** queries (one key takes more
# than 99 % of the weight), and the size ‖∂loss/∂q‖ of the gradient at each query: its median, the
# share of **starved** queries (gradient below 10⁻³ × the scaled model's median at that d), and the
# share of all the gradient carried by the **top 10 %** of queries (0.10 if every query got the same).

# %%
g = torch.Generator().manual_seed(SEED)
scaling = {"scaled by 1/√d": [], "unscaled": []}
grad_sizes = {"scaled by 1/√d": [], "unscaled": []}           # ‖∂loss/∂q‖ per query, for the figure
for d in DIMS:
    q = torch.randn(256, 1, d, generator=g)
    k = torch.randn(256, N_KEYS, d, generator=g)
    upstream = torch.randn(256, 1, N_KEYS, generator=g)             # ∂loss/∂weights, fixed per query
    for name, scale in (("scaled by 1/√d", 1 / math.sqrt(d)), ("unscaled", 1.0)):
        q_leaf = q.clone().requires_grad_(True)
        scores = q_leaf @ k.transpose(-2, -1) * scale                   # (256, 1, 64)
        p = torch.softmax(scores, dim=-1)
        (p * upstream).sum().backward()
        p, sizes = p.detach(), q_leaf.grad.norm(dim=-1).flatten()       # sizes: (256,) one per query
        grad_sizes[name].append(sizes)
        scaling[name].append({"d": d, "score std": float(scores.detach().std()),
                              "entropy": float(-(p * p.clamp_min(1e-30).log()).sum(-1).mean()),
                              "saturated": float((p.max(-1).values > 0.99).float().mean()),
                              "median": float(sizes.median()), "mean": float(sizes.mean()),
                              "top 10%": float(sizes.sort(descending=True).values[:len(sizes) // 10].sum() / sizes.sum())})
    floor = 1e-3 * scaling["scaled by 1/√d"][-1]["median"]
    for name in scaling:
        scaling[name][-1]["starved"] = float((grad_sizes[name][-1] < floor).float().mean())
print(f"{'d':>5s} {'':15s} {'score std':>9s} {'entropy':>8s} {'saturated':>9s} {'‖∂L/∂q‖ median':>15s} "
      f"{'mean':>8s} {'starved':>8s} {'top 10 %':>8s}")
for i, d in enumerate(DIMS):
    for name, rows in scaling.items():
        r = rows[i]
        print(f"{d:5d} {name:15s} {r['score std']:9.2f} {r['entropy']:8.3f} {r['saturated']:9.0%} "
              f"{r['median']:15.2e} {r['mean']:8.2e} {r['starved']:8.0%} {r['top 10%']:8.0%}")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
for (name, rows), colour in zip(scaling.items(), ("C0", "C1")):
    ax1.plot(DIMS, [r["entropy"] for r in rows], "o-", color=colour, label=name)
    quantiles = torch.stack([s.quantile(torch.tensor([0.1, 0.5, 0.9])) for s in grad_sizes[name]])  # (5, 3)
    ax2.plot(DIMS, quantiles[:, 1], "o-", color=colour, label=f"{name}: median")
    ax2.fill_between(DIMS, quantiles[:, 0], quantiles[:, 2], color=colour, alpha=0.2,
                     label=f"{name}: 10th–90th percentile")
ax1.axhline(math.log(N_KEYS), color="grey", ls=":", label="uniform (log 64)")
ax1.set(xscale="log", xlabel="head width d", ylabel="softmax entropy (nats)", title="attention entropy vs d")
ax2.set(xscale="log", yscale="log", xlabel="head width d", ylabel="‖∂loss/∂q‖ per query",
        title="gradient reaching the queries vs d")
ax1.legend(fontsize=8), ax2.legend(fontsize=7)
plt.tight_layout()
plt.show()
scaled, unscaled = scaling["scaled by 1/√d"], scaling["unscaled"]
print(f"unscaled / scaled median gradient at the queries: "
      + ", ".join(f"{u['median'] / s_['median']:.2f} (d={s_['d']})" for s_, u in zip(scaled, unscaled)))

# %% [markdown]
# With the scale, the scores' spread stays at 1, the entropy stays near 3.7 nats (the weights are
# spread like a uniform choice among e^3.7 ≈ 40 of the 64 keys), no query saturates, and the gradient
# at the queries has the same distribution for every d: no query is starved and the top 10 % of
# queries carry between a sixth and a fifth of it (an even share would be a tenth).
#
# Without the scale, the spread grows like √d and the entropy falls towards 0. The gradient does *not*
# simply vanish: at small and moderate d the typical query gets a larger gradient than with the scale
# (the √d in the backward pass wins), and the mean gradient is larger at every d. What goes wrong is
# its distribution. As d grows, more and more queries saturate on whichever key happened to score
# highest and receive almost nothing — at d = 1024 over a third are starved (below a thousandth of
# the scaled median) and the median is more than ten times smaller — while a few queries, those whose top two
# keys happen to be nearly tied, receive huge gradients: the top 10 % carry about three quarters of the total.
# Training on such a signal is winner-take-all and high-variance: most positions cannot learn where to
# look, and the few that can take steps far larger than the rest. Vaswani et al. (2017) give the
# variance argument for the factor 1/√d; the measurement shows what it protects: a soft softmax and a
# gradient shared by all queries.
#
# ## 3 · Masks: who may look at whom
# A **mask** removes keys from a query's choice by setting their scores to −inf before the softmax,
# so that they get weight exactly 0 and the remaining weights still sum to 1. (Zeroing weights
# *after* the softmax would leave rows that no longer sum to 1.) Two masks matter in practice:
# - **causal**: position t may read positions s ≤ t only. A model that predicts the next token must
#   not see it; with this mask one forward pass trains every position at once (chapter 06).
# - **padding**: sequences of different lengths share a batch by padding the short ones; no query
#   may read a padded key.
#
# The course's masks are boolean with **True = may attend** (PyTorch's `scaled_dot_product_attention`
# convention; `nn.MultiheadAttention` uses True = hidden, so its masks are our masks negated). They
# combine with `&`. Below: the weights of one causal head, and the proof that the future does not
# leak — changing the last value changes no earlier output.

# %%
g = torch.Generator().manual_seed(SEED + 1)
q, k, v = (torch.randn(3, 5, 8, generator=g) for _ in range(3))      # (B=3, T=5, d=8), one head
_, causal_weights = scaled_dot_product_attention(q, k, v, causal_mask(5))
print("causal weights of sequence 0 (rows: queries, columns: keys):")
print(causal_weights[0].numpy().round(2))
out_before = scaled_dot_product_attention(q, k, v, causal_mask(5))[0]
v_changed = v.clone()
v_changed[:, -1] += 100.0
out_after = scaled_dot_product_attention(q, k, v_changed, causal_mask(5))[0]
leak = float((out_after[:, :-1] - out_before[:, :-1]).abs().max())
print(f"change in outputs 0-3 after changing value 4: {leak:.1e}; in output 4: "
      f"{float((out_after[:, -1] - out_before[:, -1]).abs().max()):.1f}")

lengths = torch.tensor([5, 3, 2])
both = causal_mask(5) & padding_mask(lengths, 5)[:, 0]               # (3, 5, 5): no heads axis here
_, padded_weights = scaled_dot_product_attention(q, k, v, both)
print("sequence 2 (length 2), causal + padding weights:")
print(padded_weights[2].numpy().round(2))
padded_leak = float(padded_weights[2, :, 2:].abs().max())

# %% [markdown]
# The causal matrix is lower-triangular and each row sums to 1. In the padded sequence of length 2,
# columns 2–4 are zero for every query. Queries at padded positions still produce outputs (they read
# the real tokens); a model simply ignores those outputs, e.g. by leaving them out of the loss.
#
# ## 4 · Many heads
# One softmax gives each query one weighted average: one "question" per position. **Multi-head
# attention** asks H questions at once. The model's D features are projected to queries, keys and
# values, and each is cut into H slices of d = D/H features: head h attends using only its slice.
# The heads' outputs are concatenated back to D features and mixed by an output projection.
# Splitting is a reshape (B, T, D) → (B, T, H, d) followed by a transpose to (B, H, T, d), so that
# one batched matrix product runs every head; reshaping straight to (B, H, T, d) would cut the
# *sequence* into pieces instead of each position's features. The cost is the same as one head of
# width D: the parameter count is 4·D² (plus biases) whatever H is.

# %%
toy_x = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)                   # a toy (B=2, T=3, D=8): entry = its index
heads = split_heads(toy_x, 4)                                         # (2, 4, 3, 2): 4 heads of width 2
print("toy_x[0] (rows: positions 0-2, columns: features 0-7):", toy_x[0].tolist())
print("merge(split(x)) == x:", bool(torch.equal(merge_heads(heads), toy_x)))
wrong_heads = toy_x.reshape(2, 4, 3, 2)                               # reshape without the transpose
print("head 0, correct split (rows: positions 0-2): ", heads[0, 0].tolist())
print("head 0, reshape without transpose:           ", wrong_heads[0, 0].tolist())
for h in (1, 2, 4, 8):
    n = sum(p.numel() for p in MultiHeadAttention(64, h).parameters())
    print(f"D = 64, {h} head(s) of width {64 // h:2d}: {n} parameters")

# %% [markdown]
# The correct head 0 holds features 0–1 of each of the three positions (0, 1; 8, 9; 16, 17): one
# slice of every position, so it can compare positions. The wrong "head 0" holds features 0–5 of
# position 0 alone, cut into three rows that the attention would treat as three positions; positions
# 1 and 2 are spread over heads 1–3, so this head could never compare position 0 with position 2.
# The shapes are right, so nothing raises: only the values show the bug.
#
# ## 5 · The same numbers as PyTorch
# PyTorch ships attention as `torch.nn.functional.scaled_dot_product_attention` (fused kernels on
# GPUs) and as the module `nn.MultiheadAttention`. Our code must compute the same function. In float64,
# with the same inputs and — for the module — the same weights copied in, the differences should be
# rounding errors of order 10⁻¹⁵, with no mask, a causal mask and a padding mask. Both our module's
# projection layouts are checked: three separate q, k, v layers and one packed layer (PyTorch's).

# %%
torch.manual_seed(SEED)
xq = torch.randn(B, H, T, D // H, dtype=torch.float64)
xk, xv = torch.randn_like(xq), torch.randn_like(xq)
lengths = torch.tensor([12, 9, 5, 1])
parity = {}
for name, mask, kwargs in (("no mask", None, {}), ("causal", causal_mask(T), {"is_causal": True}),
                           ("padding", padding_mask(lengths, T), {"attn_mask": padding_mask(lengths, T)})):
    ours, _ = attention(xq, xk, xv, mask)                             # the few lines of section 1
    reference, _ = scaled_dot_product_attention(xq, xk, xv, mask)     # gencourse
    theirs = F.scaled_dot_product_attention(xq, xk, xv, **kwargs)
    parity[f"F.scaled_dot_product_attention, {name}"] = float((reference - theirs).abs().max())
    parity[f"section 1's attention, {name}"] = float((ours - theirs).abs().max())

torch_mha = nn.MultiheadAttention(D, H, batch_first=True).double()
with torch.no_grad():                       # PyTorch starts its biases at 0; make them count
    torch_mha.in_proj_bias.normal_()
    torch_mha.out_proj.bias.normal_()
x = torch.randn(B, T, D, dtype=torch.float64)
torch.set_grad_enabled(False)                # forward passes only until section 7
for packed in (False, True):
    ours_mha = MultiHeadAttention(D, H, packed=packed).double().load_from_torch(torch_mha)
    layout = "packed" if packed else "separate"
    for name, mask, kwargs in (("causal", causal_mask(T), {"attn_mask": ~causal_mask(T)}),
                               ("padding", padding_mask(lengths, T),
                                {"key_padding_mask": ~padding_mask(lengths, T)[:, 0, 0]})):
        ours_out, ours_w = ours_mha(x, mask=mask)
        theirs_out, theirs_w = torch_mha(x, x, x, average_attn_weights=False, **kwargs)
        parity[f"nn.MultiheadAttention ({layout} q, k, v), {name}"] = max(
            float((ours_out - theirs_out).abs().max()), float((ours_w - theirs_w).abs().max()))
for name, err in parity.items():
    print(f"{name:55s} largest difference {err:.1e}")

# %% [markdown]
# Every difference is at the level of float64 rounding. No row here is fully masked; where a query
# may attend to nothing, implementations disagree: section 1's few lines and `nn.MultiheadAttention`
# return NaN, `F.scaled_dot_product_attention` and `gencourse`'s function return zeros, and
# `gencourse`'s `MultiHeadAttention` therefore returns its output projection's bias (the projection
# of a zero vector). From now on we use `gencourse.models.attention`, knowing it is PyTorch's function.
#
# ## 6 · Order: attention alone cannot see it
# Nothing in softmax(QKᵀ/√d)V refers to positions. Shuffle the input positions and the outputs come
# out shuffled the same way, with the same values: self-attention is **permutation-equivariant**.
# "the dog bit the man" and "the man bit the dog" would look alike. We check it numerically, then
# add position codes to the inputs and check that the symmetry is gone.

# %%
torch.manual_seed(SEED)
mha = MultiHeadAttention(D, H).double()
x = torch.randn(1, T, D, dtype=torch.float64)
perm = torch.randperm(T)
out = mha(x)[0]
equivariance_error = float((mha(x[:, perm])[0] - out[:, perm]).abs().max())
pe = sinusoidal_positions(T, D, dtype=torch.float64)
with_positions_gap = float((mha(x[:, perm] + pe)[0] - mha(x + pe)[0][:, perm]).abs().max())
print(f"no positions: out(shuffled x) − shuffled out(x) = {equivariance_error:.1e}")
print(f"with positions added: the same difference = {with_positions_gap:.2f}")

# %% [markdown]
# Two ways to give attention a sense of order:
# - **Sinusoidal positions** (Vaswani et al., 2017): add to the token at position t a fixed vector of
#   sines and cosines, sin(t·ωᵢ) and cos(t·ωᵢ) with frequencies ωᵢ = 10000^(−2i/d). Fast-turning pairs
#   separate neighbours, slow ones separate distant positions, and a shift by k positions rotates
#   every (sin, cos) pair by the angle k·ωᵢ: "k positions back" is the same linear map wherever you
#   are, which a layer can learn once. Nothing is trained, and any length can be encoded.
# - **Learned positions** (as in BERT, 2018, and GPT-2, 2019): one trainable vector per position,
#   `nn.Parameter(torch.randn(T, D))`, learned with the rest of the model; flexible, but limited to
#   the lengths seen in training. The recall model below uses them.
#
# One caveat matters for chapter 06: the equivariance above holds for attention *without a mask*. A
# causal mask already breaks it, because query t averages over exactly t + 1 keys, and the statistics
# of such averages change with t; language models trained without any position codes still learn where
# they are ("Transformer Language Models without Positional Encodings Still Learn Positional
# Information", Haviv et al., 2022).
#
# (Later models move position into the attention scores themselves, e.g. rotary embeddings,
# "RoFormer", 2021; the idea of section 6 is the same.) The figure shows the sinusoidal codes and the
# dot product between two positions' codes. Each (sin, cos) pair contributes cos(ωᵢ(t − s)), so the
# similarity depends only on the offset t − s: it peaks at the position itself and is lower, though
# not monotonically, further away — the curve for position 32 is the curve for position 0, shifted.

# %%
codes = sinusoidal_positions(LENGTH, D_MODEL)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
im = ax1.imshow(codes.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
ax1.set(title=f"sinusoidal codes ({LENGTH} positions, d = {D_MODEL})", xlabel="position t",
        ylabel="feature (sin, cos pairs)")
fig.colorbar(im, ax=ax1)
similarity = (codes @ codes.T) / D_MODEL
for t0 in (0, 32):
    ax2.plot(similarity[t0], label=f"with position {t0}")
ax2.set(title="code similarity between positions", xlabel="position t", ylabel="code · code / d")
ax2.legend()
plt.tight_layout()
plt.show()
omega = 10000 ** (-torch.arange(0, D_MODEL, 2, dtype=torch.float64) / D_MODEL) * SHIFT
codes64 = sinusoidal_positions(LENGTH, D_MODEL, dtype=torch.float64)
sin, cos = codes64[:-SHIFT, 0::2], codes64[:-SHIFT, 1::2]
rotation_error = float(torch.maximum((codes64[SHIFT:, 0::2] - (sin * omega.cos() + cos * omega.sin())).abs().max(),
                                     (codes64[SHIFT:, 1::2] - (cos * omega.cos() - sin * omega.sin())).abs().max()))
print(f"a shift by {SHIFT} positions = one fixed rotation per (sin, cos) pair: largest error {rotation_error:.1e}")
torch.set_grad_enabled(True)

# %% [markdown]
# ## 7 · A task that needs attention: recall a token from far back
# `gencourse.data.recall` makes sequences of 64 tokens: random symbols 0–15, one **marker** M somewhere
# at least 16 positions before the end, and a final **query** token ?. The answer is the symbol that
# came right after the marker. A lucky guess is right 1 time in 16 (6.25 %).

# %%
task = RecallTask(LENGTH, VOCAB, MIN_DISTANCE)
test = task.sample(2000, seed=SEED + 1000)          # held out: the training batches use other seeds
example = task.describe(test, 0)
p = int(test.marker_at[0])
print(" ".join(example))
print(f"marker at position {p}; the answer is the token after it: {example[p + 1]} "
      f"({LENGTH - 2 - p} positions before the query)")

# %% [markdown]
# **What the task needs.** The query position must find the marker (a content match, which attention
# does well: the query asks "where is M?"), but it must then read the token *after* it. One attention
# layer cannot: the key and value at position s are computed from the token at s and its position
# only, so reading from the marker returns "M, at position p", and nothing in position p+1's key says
# "the token before me was M". Two steps can. First, every position receives its left neighbour, so
# that afterwards position p+1 carries "previous token = M" as well as its own symbol. Then the final
# query looks for "previous token = M", finds p+1 and copies its symbol. In trained language models
# "In-context Learning and Induction Heads" (Olsson et al., 2022) found this two-step circuit learned
# by attention: a **previous-token head** feeding an **induction head**.
#
# Our model: token embeddings plus learned positions; a first layer that does the previous-token step;
# a second layer of two attention heads in which only the last position asks (it is the only one with
# an answer to give), reading the whole sequence; a linear read-out. Pre-layer normalisation and
# residual connections, as in GPT-2. The layer that reads, `self.read(z[:, -1:], context=z)`, takes
# its queries from one tensor and its keys and values from another: that is **cross-attention**
# (in an encoder–decoder translator, the decoder's queries read the encoder's output). When queries,
# keys and values all come from the same positions, as in layer 1 and in every layer of a GPT, it is
# **self-attention**. Here the context is the same sequence, so it is self-attention restricted to one
# query.
#
# With `LOCAL_FIRST_LAYER = True` (the default), layer 1 is causal attention **masked to the keys t−1
# and t**: the mask hard-wires which key is the previous token, and the layer only learns what to copy
# from it. That is a strong hint, so we also measure what it is worth: the same model with layer 1
# replaced by a fixed shift and no attention at all, h_t + Linear(LN(h)_{t−1}), and the same model
# with an unrestricted layer 1 that must discover the previous-token step by itself.

# %%
FIRST_LAYERS = {"local": "attention masked to keys t−1, t",
                "anywhere": "unrestricted causal attention",
                "shift": "fixed shift h_t + Linear(LN(h)_{t−1}), no attention",
                None: "none"}


class RecallNet(nn.Module):
    """tokens (B, T) -> logits over the answer (B, vocab); also returns the attention maps.

    first: layer 1, one of FIRST_LAYERS ("local", "anywhere", "shift", or None for no layer 1);
    positions: False replaces the learned position vectors by zeros (not trained).
    """

    def __init__(self, first: str | None = "local", positions: bool = True):
        super().__init__()
        if first not in FIRST_LAYERS:
            raise ValueError(f"first={first!r}; choose one of {list(FIRST_LAYERS)}")
        self.first = first
        self.tok = nn.Embedding(task.n_tokens, D_MODEL)
        if positions:
            self.pos = nn.Parameter(0.1 * torch.randn(LENGTH, D_MODEL))      # learned positions
        else:
            self.register_buffer("pos", torch.zeros(LENGTH, D_MODEL))
        self.norm1, self.norm2, self.norm_out = (nn.LayerNorm(D_MODEL) for _ in range(3))
        if first == "shift":
            self.prev = nn.Linear(D_MODEL, D_MODEL)                           # layer 1 without attention
        elif first is not None:
            self.look_back = MultiHeadAttention(D_MODEL, HEADS)              # layer 1
        self.read = MultiHeadAttention(D_MODEL, HEADS)                       # layer 2
        self.head = nn.Linear(D_MODEL, task.vocab)
        allowed = causal_mask(LENGTH)
        if first == "local":
            allowed = allowed & ~causal_mask(LENGTH).tril(-2)                # keys t-1 and t only
        self.register_buffer("mask1", allowed)

    def forward(self, tokens, return_maps=False):
        h = self.tok(tokens) + self.pos                                      # (B, T, D)
        maps = []
        if self.first == "shift":                                            # position t gets t−1's features
            h = h + self.prev(F.pad(self.norm1(h), (0, 0, 1, 0))[:, :-1])
        elif self.first is not None:
            a, w1 = self.look_back(self.norm1(h), mask=self.mask1)
            h, maps = h + a, [w1]                                            # w1: (B, H, T, T)
        z = self.norm2(h)
        a, w2 = self.read(z[:, -1:], context=z)                              # only the last position asks
        logits = self.head(self.norm_out(h[:, -1] + a[:, 0]))                # (B, vocab)
        return (logits, maps + [w2]) if return_maps else logits             # w2: (B, H, 1, T)


def train(model, steps, features=lambda tokens: tokens, lr=LR, seed=SEED):
    """AdamW with a linear warm-up (10 % of the steps) and a cosine decay; fresh batches each step."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * i / steps)))
    g = torch.Generator().manual_seed(seed + 1)
    losses = []
    for _ in range(steps):
        batch = task.sample(BATCH, generator=g)
        loss = F.cross_entropy(model(features(batch.tokens)), batch.targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def accuracy(model, features=lambda tokens: tokens):
    return float((model(features(test.tokens)).argmax(-1) == test.targets).float().mean())


main_first = "local" if LOCAL_FIRST_LAYER else "anywhere"
other_first = "anywhere" if LOCAL_FIRST_LAYER else "local"
seed_everything(SEED)
model = RecallNet(first=main_first)
untrained_accuracy = accuracy(model)
start = time.process_time()
losses = train(model, STEPS)
attention_accuracy = accuracy(model)
print(f"layer 1 = {FIRST_LAYERS[main_first]}, then attention: held-out accuracy {attention_accuracy:.1%} after "
      f"{STEPS} steps ({time.process_time() - start:.1f} CPU s); untrained {untrained_accuracy:.1%}")

# %% [markdown]
# **Baselines and ablations**, each trained with the same optimiser and fresh batches:
# - an **MLP over all 64 tokens** (one-hot, 64 × 18 inputs, two hidden layers of 256): it has the same
#   information as the attention model, only no weight sharing across positions;
# - a **bag-of-tokens MLP** that sees how often each token occurs, but not where. Its best possible
#   strategy is to bet on the most frequent symbol (the answer is one of the 62 symbols in the bag):
#   we compute that ceiling exactly on the test set;
# - **one attention layer** (layer 2 alone) — the argument above says it should fail;
# - a **fixed shift, then one attention layer**: the previous-token step without any attention, to
#   isolate what layer 1 contributes;
# - layer 1 the other way round (unrestricted if the main model's is local), with the same step budget;
# - the main model **without positions** (the position vectors zeroed and frozen).

# %%
bag_features = lambda tokens: F.one_hot(tokens, task.n_tokens).float().sum(1)
all_features = lambda tokens: F.one_hot(tokens, task.n_tokens).float().flatten(1)


def mlp(n_in):
    return nn.Sequential(nn.Linear(n_in, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, task.vocab))


def trained(make, steps=STEPS, features=lambda tokens: tokens, lr=LR):
    """Build a model with the seed fixed, train it, return (model, held-out accuracy, CPU seconds)."""
    seed_everything(SEED)
    net, start = make(), time.process_time()
    train(net, steps, features, lr=lr)
    return net, accuracy(net, features), time.process_time() - start


main_name = f"layer 1 {FIRST_LAYERS[main_first]}, then attention"
results, cpu = {main_name: attention_accuracy}, {}
_, results["MLP over all 64 tokens"], cpu["MLP"] = trained(
    lambda: mlp(LENGTH * task.n_tokens), BASELINE_STEPS, all_features, BASELINE_LR)
_, results["bag-of-tokens MLP"], _ = trained(lambda: mlp(task.n_tokens), BASELINE_STEPS, bag_features, BASELINE_LR)
bag_ceiling = float((bag_features(test.tokens)[:, :VOCAB].argmax(1) == test.targets).float().mean())
results["bag of tokens, best possible (most frequent symbol)"] = bag_ceiling
_, results["one attention layer"], _ = trained(lambda: RecallNet(first=None))
shift_net, results["fixed shift, then one attention layer"], cpu["shift"] = trained(lambda: RecallNet(first="shift"))
other_name = f"layer 1 {FIRST_LAYERS[other_first]}, then attention"
_, results[other_name], _ = trained(lambda: RecallNet(first=other_first))
no_pos_name = f"{main_name}, no positions"
_, results[no_pos_name], _ = trained(lambda: RecallNet(first=main_first, positions=False))
results["untrained main model"] = untrained_accuracy
results["chance (1 in 16)"] = 1 / VOCAB
print(f"{'model (all attention models: ' + str(STEPS) + ' steps; MLPs: ' + str(BASELINE_STEPS) + ')':68s} held-out accuracy")
for name, acc in results.items():
    print(f"{name:68s} {acc:8.1%}")
print(f"CPU time: MLP over all tokens {cpu['MLP']:.1f} s, shift + attention {cpu['shift']:.1f} s")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(losses)
ax.axhline(math.log(VOCAB), color="grey", ls=":", label="guessing (log 16)")
ax.set(title=f"main model (layer 1: {main_first}) on the recall task", xlabel="step",
       ylabel="training cross-entropy (nats)")
ax.legend()
plt.show()

# %% [markdown]
# With the default local layer 1, the model answers nearly every held-out sequence. Its training loss
# first sits at log 16 (guessing) for a few dozen steps, then drops within a few dozen more: the two
# steps are only useful together, so the circuit forms all at once.
#
# - The **MLP over all 64 tokens** has all the information, yet stays near chance after 600 steps: it
#   must learn a separate detector for each (marker position, symbol) pair, 48 × 16 of them, each from
#   a small share of the examples, while attention applies the same few weights at every position.
#   (We did not measure how many steps the MLP would need.)
# - The **bag-of-tokens MLP** rises a little above chance and no higher than its ceiling: counts say
#   which symbols are common, not which one followed the marker.
# - **One attention layer** stays near the bag's level, as the argument above predicts: it can find
#   the marker but cannot read its neighbour.
# - The **fixed shift followed by one attention layer** solves the task as well as the two-layer model.
#   This is the ablation that isolates the cause: what one attention layer lacks is the previous-token
#   step, and our local layer 1 is a hard-wired previous-token mixer, not something the model had to
#   discover. The working recipe is a previous-token step (hard-wired here, learnable as the previous-
#   token head of an induction circuit) followed by an attention lookup.
# - The **unrestricted layer 1** has the capacity to learn that step (through the learned positions),
#   but within the same 250 steps it has not found it. Olsson et al. (2022) describe how such a model
#   sits on a plateau and then drops suddenly when the induction head forms. Try it: set
#   `LOCAL_FIRST_LAYER = False` and `STEPS = 1000` (about four times the CPU time of the main model):
#   measured outside the lesson (seed 0), it reached 99.35 % held-out accuracy after 1000 steps, in
#   34 CPU s. The checks below will tell you whether your run got there.
# - **Positions** do nothing here: without them the main model still reaches the same accuracy. Layer
#   2 matches content only ("previous token = M"), and layer 1's mask already says which key is the
#   left neighbour. The unrestricted layer 1 has no such mask and needs positions — the learned ones,
#   or the position information that the causal mask leaks (section 6).
#
# ## 8 · Looking inside: attention maps
# The maps say *how* the model solves the task. Below, for one held-out sequence: layer 1's two heads
# around the marker (with the local layer 1, each position splits its weight between itself and its
# left neighbour), and
# layer 2's weights from the final query over all 64 positions, with the marker and the answer
# marked. The viewer under the figure shows the same maps for any layer, head and held-out sequence.

# %%
with torch.no_grad():
    _, maps = model(test.tokens, return_maps=True)       # [(N, H, T, T), (N, H, 1, T)]
i, p = 0, int(test.marker_at[0])
lo, hi = max(0, p - 4), min(LENGTH, p + 6)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 1, 2.2]})
for h in range(HEADS):
    axes[h].imshow(maps[0][i, h, lo:hi, lo:hi], cmap="viridis", vmin=0, vmax=1)
    axes[h].set_xticks(range(hi - lo), example[lo:hi])
    axes[h].set_yticks(range(hi - lo), example[lo:hi])
    axes[h].set(title=f"layer 1, head {h + 1} (around the marker)", xlabel="key", ylabel="query")
im = axes[2].imshow(maps[1][i, :, 0], cmap="viridis", vmin=0, vmax=1, aspect="auto")
axes[2].axvline(p, color="white", ls=":", label="marker")
axes[2].axvline(p + 1, color="red", ls="--", label="answer")
axes[2].set_yticks(range(HEADS), [f"head {h + 1}" for h in range(HEADS)])
axes[2].set(title="layer 2: where the final query looks", xlabel="key position")
axes[2].legend(loc="upper right", fontsize=8)
fig.colorbar(im, ax=axes[2], label="attention weight")
plt.tight_layout()
plt.show()

read_weights = maps[1][:, :, 0].sum(1)                                         # (N, T), heads summed
reads_answer = float((read_weights.argmax(-1) == test.marker_at + 1).float().mean())
rows = torch.arange(len(test))
back_weight = maps[0][rows, :, test.marker_at + 1, test.marker_at].max(1).values  # best head, p+1 -> p
print(f"layer 2 looks hardest at the answer's position in {reads_answer:.1%} of held-out sequences")
print(f"layer 1, at the answer's position, the most backward-looking head puts "
      f"{float(back_weight.mean()):.2f} of its weight on the marker (mean over held-out sequences)")

# %%
viewer = AttentionViewer(lambda tokens: model(tokens, return_maps=True)[1], test.tokens[:12],
                         [task.describe(test, j) for j in range(12)])
viewer

# %% [markdown]
# The maps confirm the circuit of section 7 rather than leave it a story: in layer 1 the position after
# the marker reads the marker, and in layer 2 the final query looks at that position and copies the
# symbol there. In this run one head of layer 2 does the lookup and the other spreads its weight over
# a few unrelated positions; the accuracy shows that what it reads does not get in the way.
#
# ## Checks

# %%
assert torch.allclose(ref_out, toy_out, atol=1e-6) and float(toy_weights[0, 2]) > 0.99, \
    "the toy lookup should read mostly key 2, and gencourse should agree with section 1"
assert all(3.0 < r["entropy"] < math.log(N_KEYS) and r["saturated"] < 0.02 for r in scaled), \
    "the scaled softmax should stay soft for every d"
assert all(r["starved"] == 0 and r["top 10%"] < 0.3 for r in scaled), "with the scale every query should get gradient"
assert max(r["median"] for r in scaled) < 1.5 * min(r["median"] for r in scaled), "the scaled gradient should not depend on d"
assert unscaled[-1]["entropy"] < 0.5 and unscaled[-1]["saturated"] > 0.5, "unscaled scores should saturate at d = 1024"
assert unscaled[-1]["starved"] > 0.25 and unscaled[-1]["top 10%"] > 0.6, \
    "at d = 1024 without the scale many queries should be starved and a few should carry the gradient"
assert all(a["top 10%"] < b["top 10%"] for a, b in zip(unscaled, unscaled[1:])), \
    "without the scale the gradient should concentrate on fewer queries as d grows"
assert all(u["mean"] > s_["mean"] for s_, u in zip(scaled, unscaled)) and unscaled[1]["median"] > 2 * scaled[1]["median"], \
    "the prose says the unscaled gradient is larger on average (the √d in the backward pass)"
assert unscaled[-1]["median"] < 0.1 * scaled[-1]["median"], "at d = 1024 the typical unscaled query gets little gradient"
assert abs(scaled[-1]["score std"] - 1) < 0.1 and abs(unscaled[-1]["score std"] - math.sqrt(DIMS[-1])) < 0.1 * math.sqrt(DIMS[-1])
assert leak < 1e-6 and padded_leak == 0.0, "a mask let information through"
assert bool((causal_weights[0].triu(1) == 0).all()) and torch.allclose(causal_weights.sum(-1), torch.ones(3, 5))
assert all(err < 1e-10 for err in parity.values()), f"attention differs from PyTorch's: {parity}"
assert equivariance_error < 1e-10 and with_positions_gap > 0.01, "self-attention should be equivariant until positions are added"
assert rotation_error < 1e-10, "a shift should be a rotation of the sinusoidal codes"
assert attention_accuracy >= 0.95, f"the attention model reaches only {attention_accuracy:.1%}"
assert untrained_accuracy < 0.2, "an untrained model should be near chance"
assert torch.equal(heads[0, 0], toy_x[0, :, :2]) and not torch.equal(wrong_heads[0, 0], heads[0, 0]), \
    "head 0 should hold features 0-1 of every position"
assert results["MLP over all 64 tokens"] < 0.15, "the MLP over all tokens should stay near chance with this budget"
assert results["fixed shift, then one attention layer"] >= 0.95, "a fixed previous-token shift should be enough for one layer"
assert results[no_pos_name] >= attention_accuracy - 0.02, "positions should not matter with the local first layer"
assert results[other_name] < 0.25, f"{other_name} should not solve the task in {STEPS} steps"
assert results["bag-of-tokens MLP"] < bag_ceiling + 0.03 and bag_ceiling < 0.2, "the bag of tokens should stay near chance"
assert results["one attention layer"] < 0.25, "one attention layer should not solve the task"
assert reads_answer > 0.9, "layer 2 should read the position after the marker"
assert float(back_weight.mean()) > 0.5, "layer 1 should look back one position at the answer"
assert viewer.map.shape == (LENGTH, LENGTH) and viewer.map.sum() > 0
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s "
      f"({time.process_time() - notebook_cpu_start:.1f} CPU s)")

# %% [markdown]
# ## Summary
# - Attention is a differentiable lookup: softmax(QKᵀ/√d)V mixes the values of all positions, with
#   weights computed from the content (query–key dot products). Its cost grows with T², its reach does
#   not depend on distance.
# - The 1/√d keeps the scores' spread independent of d. Without it, the softmax saturates onto one key
#   as d grows and the gradient at the queries concentrates: at d = 1024 over a third of the queries
#   get almost none while the top 10 % carry about three quarters of it (the mean gradient is even
#   larger than with the scale). A winner-take-all, high-variance signal, not a uniformly small one.
# - Masks set scores to −inf before the softmax: causal masks hide the future, padding masks hide
#   filler; we showed that nothing crosses them.
# - Multi-head attention splits D features into H slices (reshape, then transpose), attends in each,
#   merges and projects — at the cost of one wide head.
# - Without positions and without a mask, self-attention is permutation-equivariant; sinusoidal or
#   learned position vectors give it order (and a causal mask alone already leaks position).
# - Our implementation equals `F.scaled_dot_product_attention` and `nn.MultiheadAttention` to float64
#   rounding. On a long-range recall task, a previous-token step (hard-wired here; learnable as in an
#   induction circuit, Olsson et al., 2022) followed by an attention lookup reaches ≥ 95 %, whether the
#   step is a masked attention layer or a fixed shift, while an MLP over all 64 tokens, a bag of tokens
#   and a single attention layer stay near chance with the same budget.
#
# **Interview question this chapter prepares:** *How does a GPT-style transformer work, and why is
# attention central?* (the attention part; chapter 06 builds the rest). — A GPT is a stack of blocks,
# each a causal multi-head self-attention layer followed by a position-wise MLP, with residual
# connections and layer normalisation, on top of token and position embeddings; it is trained to
# predict each next token. Attention is the only place where positions exchange information: each
# token forms a query, compares it with every earlier token's key, and takes a softmax-weighted
# average of their values, so any earlier token can be reached in one step, with weights that depend
# on the content rather than on fixed wiring, and all positions are trained in parallel under the
# causal mask. Scaling by 1/√d keeps the softmax soft, so that the learning signal reaches every query
# rather than a few, several heads let a layer ask several questions at once, and positional
# information must be added because attention itself ignores order (a causal mask leaks some).
# Stacking layers composes lookups — as in the recall task, where a previous-token step feeds an
# attention lookup that finds "the token after the marker" (an induction head) — which is how
# transformers follow references across long contexts.
