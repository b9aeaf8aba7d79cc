# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# attention model on a task that a fixed window and a bag of tokens cannot solve.
#
# **You will learn to**
# - write scaled dot-product attention, softmax(QKᵀ/√d)V, and read its weights as "who looks at whom";
# - explain, with a measurement, why the scores are divided by √d;
# - build causal and padding masks and show that no information crosses them;
# - split a model's width into heads and merge them back, and assemble multi-head attention;
# - show that attention without positions ignores order, and add sinusoidal or learned positions;
# - solve a long-range recall task with two attention layers, explain why one layer cannot, and
#   compare with a fixed-window MLP and a bag-of-tokens model;
# - inspect attention maps with a viewer and a static figure.
#
# **Prerequisites:** chapter 00 (training a model with a loss), basic linear algebra (matrix
# products, softmax). No earlier model is reused.
# **Run time:** about 45 seconds on a 2-core laptop CPU.

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

notebook_start = time.perf_counter()
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
BASELINE_STEPS, WINDOW = 600, 8 # the MLP baselines; the window MLP sees the last WINDOW tokens
LOCAL_FIRST_LAYER = True        # False: the first layer may look anywhere (see section 7)

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
# If the entries of q and k are independent with mean 0 and variance 1 (the regime that layer
# normalisation and standard initialisations aim for), the score q·k is a sum of d such products:
# its variance is d. Without
# the scale, wider heads give wider-spread scores, the softmax puts nearly all the weight on one key,
# and its derivative, diag(p) − ppᵀ, goes to zero: gradients stop flowing to the queries and keys
# that should learn where to look. Dividing by √d brings the scores' variance back to 1 whatever d.
#
# We measure this on random queries and keys (256 queries, 64 keys each) for d from 4 to 1024:
# the softmax's **entropy** (log 64 ≈ 4.16 nats for uniform weights, 0 for a one-hot choice), the
# share of **saturated** queries (one key takes more than 99 % of the weight) and the size of the
# **gradient that reaches the scores** (its median over queries) when the loss is a random linear
# function of the weights, standing for whatever the values feed downstream.

# %%
g = torch.Generator().manual_seed(SEED)
scaling = {"scaled by 1/√d": [], "unscaled": []}
for d in DIMS:
    q = torch.randn(256, 1, d, generator=g)
    k = torch.randn(256, N_KEYS, d, generator=g)
    upstream = torch.randn(256, 1, N_KEYS, generator=g)             # ∂loss/∂weights, fixed per query
    for name, scale in (("scaled by 1/√d", 1 / math.sqrt(d)), ("unscaled", 1.0)):
        scores = (q @ k.transpose(-2, -1) * scale).requires_grad_(True)   # (256, 1, 64)
        p = torch.softmax(scores, dim=-1)
        (p * upstream).sum().backward()
        p = p.detach()
        scaling[name].append({"d": d, "score std": float(scores.detach().std()),
                              "entropy": float(-(p * p.clamp_min(1e-30).log()).sum(-1).mean()),
                              "saturated": float((p.max(-1).values > 0.99).float().mean()),
                              "grad": float(scores.grad.norm(dim=-1).median())})
print(f"{'d':>5s} | {'scaled: score std':>17s} {'entropy':>8s} {'saturated':>9s} {'grad':>8s} | "
      f"{'unscaled: score std':>19s} {'entropy':>8s} {'saturated':>9s} {'grad':>8s}")
for s, u in zip(scaling["scaled by 1/√d"], scaling["unscaled"]):
    print(f"{s['d']:5d} | {s['score std']:17.2f} {s['entropy']:8.3f} {s['saturated']:9.0%} {s['grad']:8.2e} | "
          f"{u['score std']:19.2f} {u['entropy']:8.3f} {u['saturated']:9.0%} {u['grad']:8.2e}")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
for name, rows in scaling.items():
    ax1.plot(DIMS, [r["entropy"] for r in rows], "o-", label=name)
    ax2.plot(DIMS, [r["grad"] for r in rows], "o-", label=name)
ax1.axhline(math.log(N_KEYS), color="grey", ls=":", label="uniform (log 64)")
ax1.set(xscale="log", xlabel="head width d", ylabel="softmax entropy (nats)", title="attention entropy vs d")
ax2.set(xscale="log", yscale="log", xlabel="head width d", ylabel="‖∂loss/∂scores‖ (median)",
        title="gradient reaching the scores vs d")
ax1.legend(), ax2.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# With the scale, the scores' spread stays at 1, the entropy stays near 3.7 nats (the weights are
# spread like a uniform choice among e^3.7 ≈ 40 of the 64 keys), no query saturates and the gradient keeps its size for every d. Without
# it the spread grows like √d, the entropy falls towards 0, most queries put more than 99 % of their
# weight on a single key, and the typical gradient into the scores shrinks by orders of magnitude
# (printed above): a wide head would start its training nearly frozen, each query stuck on whichever
# key happened to score highest. Vaswani et al. (2017) give this variance argument for the factor 1/√d.
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
x = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)                       # (B=2, T=3, D=8)
heads = split_heads(x, 4)
print("x[0, 2] =", x[0, 2].tolist())
print("split into 4 heads, position 2 of each head:", heads[0, :, 2].tolist())
print("merge(split(x)) == x:", bool(torch.equal(merge_heads(heads), x)))
print("wrong split, reshape without transpose, head 0:", x.reshape(2, 4, 3, 2)[0, 0].tolist(),
      "(positions mixed up)")
for h in (1, 2, 4, 8):
    n = sum(p.numel() for p in MultiHeadAttention(64, h).parameters())
    print(f"D = 64, {h} head(s) of width {64 // h:2d}: {n} parameters")

# %% [markdown]
# ## 5 · The same numbers as PyTorch
# PyTorch ships attention as `torch.nn.functional.scaled_dot_product_attention` (fused kernels on
# GPUs) and as the module `nn.MultiheadAttention`. Our code must compute the same function. In float64,
# with the same inputs and — for the module — the same weights copied in, the differences should be
# rounding errors of order 10⁻¹⁵, with no mask, a causal mask and a padding mask. Both our module's
# projection layouts are checked: three separate q, k, v layers and one packed layer (PyTorch's).

# %%
torch.manual_seed(SEED)
B, T, D, H = 4, 12, 32, 4
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
# Every difference is at the level of float64 rounding. (Section 1's few lines give NaN for a query
# that may attend to nothing; no row here is fully masked, but the reference returns zeros there, as
# PyTorch does.) From now on we use `gencourse.models.attention`, knowing it is PyTorch's function.
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
shift = 5
omega = 10000 ** (-torch.arange(0, D_MODEL, 2, dtype=torch.float64) / D_MODEL) * shift
codes64 = sinusoidal_positions(LENGTH, D_MODEL, dtype=torch.float64)
sin, cos = codes64[:-shift, 0::2], codes64[:-shift, 1::2]
rotation_error = float(torch.maximum((codes64[shift:, 0::2] - (sin * omega.cos() + cos * omega.sin())).abs().max(),
                                     (codes64[shift:, 1::2] - (cos * omega.cos() - sin * omega.sin())).abs().max()))
print(f"a shift by {shift} positions = one fixed rotation per (sin, cos) pair: largest error {rotation_error:.1e}")
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
# "the token before me was M". Two layers can. In layer 1 every position reads its left neighbour, so
# that afterwards position p+1 carries "previous token = M" as well as its own symbol. In layer 2 the
# final query looks for "previous token = M", finds p+1 and copies its symbol. This two-step circuit
# is what "In-context Learning and Induction Heads" (Olsson et al., 2022) calls a previous-token head
# feeding an **induction head**, found in trained language models.
#
# Our model: token embeddings plus learned positions; layer 1, two heads of causal attention
# restricted to the position itself and its left neighbour (`LOCAL_FIRST_LAYER`); layer 2, two heads
# in which only the last position asks (it is the only one with an answer to give), reading the whole
# sequence; a linear read-out. Pre-layer normalisation and residual connections, as in GPT-2.
# Restricting layer 1 is the "suitable construction": it tells the model that the first step is local,
# which the unrestricted model must discover — it can (that is the induction head), but only after a
# long plateau in the loss, which is why we also measure it with the same budget below.

# %%
class RecallNet(nn.Module):
    """tokens (B, T) -> logits over the answer (B, vocab); also returns the attention maps."""

    def __init__(self, layers: int = 2, local_first_layer: bool = True):
        super().__init__()
        self.layers = layers
        self.tok = nn.Embedding(task.n_tokens, D_MODEL)
        self.pos = nn.Parameter(0.1 * torch.randn(LENGTH, D_MODEL))          # learned positions
        self.norm1, self.norm2, self.norm_out = (nn.LayerNorm(D_MODEL) for _ in range(3))
        self.look_back = MultiHeadAttention(D_MODEL, HEADS)                  # layer 1
        self.read = MultiHeadAttention(D_MODEL, HEADS)                       # layer 2
        self.head = nn.Linear(D_MODEL, task.vocab)
        allowed = causal_mask(LENGTH)
        if local_first_layer:
            allowed = allowed & ~causal_mask(LENGTH).tril(-2)                # keys t-1 and t only
        self.register_buffer("mask1", allowed)

    def forward(self, tokens, return_maps=False):
        h = self.tok(tokens) + self.pos                                      # (B, T, D)
        maps = []
        if self.layers == 2:
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


seed_everything(SEED)
model = RecallNet(local_first_layer=LOCAL_FIRST_LAYER)
untrained_accuracy = accuracy(model)
start = time.process_time()
losses = train(model, STEPS)
attention_accuracy = accuracy(model)
print(f"two attention layers: held-out accuracy {attention_accuracy:.1%} after {STEPS} steps "
      f"({time.process_time() - start:.1f} CPU s); untrained {untrained_accuracy:.1%}")

# %% [markdown]
# **Baselines and ablations**, each trained with the same optimiser:
# - a **fixed-window MLP** that sees the last 8 tokens (one-hot) — the shape of an n-gram model;
# - a **bag-of-tokens MLP** that sees how often each token occurs, but not where. Its best possible
#   strategy is to bet on the most frequent symbol (the answer is one of the 62 symbols in the bag):
#   we compute that ceiling exactly on the test set;
# - **one attention layer** (layer 2 alone) — section 7's argument says it should fail;
# - **two unrestricted layers** (layer 1 may look anywhere), with the same step budget.

# %%
window_features = lambda tokens: F.one_hot(tokens[:, -WINDOW:], task.n_tokens).float().flatten(1)
bag_features = lambda tokens: F.one_hot(tokens, task.n_tokens).float().sum(1)


def mlp(n_in):
    return nn.Sequential(nn.Linear(n_in, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, task.vocab))


results = {"two attention layers (local, then global)": attention_accuracy}
seed_everything(SEED)
window_mlp = mlp(WINDOW * task.n_tokens)
train(window_mlp, BASELINE_STEPS, window_features, lr=3e-3)
results[f"fixed-window MLP (last {WINDOW} tokens)"] = accuracy(window_mlp, window_features)
seed_everything(SEED)
bag_mlp = mlp(task.n_tokens)
train(bag_mlp, BASELINE_STEPS, bag_features, lr=3e-3)
results["bag-of-tokens MLP"] = accuracy(bag_mlp, bag_features)
bag_ceiling = float((bag_features(test.tokens)[:, :VOCAB].argmax(1) == test.targets).float().mean())
results["bag of tokens, best possible (most frequent symbol)"] = bag_ceiling
seed_everything(SEED)
one_layer = RecallNet(layers=1)
train(one_layer, STEPS)
results["one attention layer"] = accuracy(one_layer)
seed_everything(SEED)
unrestricted = RecallNet(local_first_layer=not LOCAL_FIRST_LAYER)
train(unrestricted, STEPS)
results[f"two attention layers, layer 1 {'unrestricted' if LOCAL_FIRST_LAYER else 'local'}, same budget"] = \
    accuracy(unrestricted)
results["untrained two-layer model"] = untrained_accuracy
results["chance (1 in 16)"] = 1 / VOCAB
print(f"{'model':55s} held-out accuracy")
for name, acc in results.items():
    print(f"{name:55s} {acc:8.1%}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(losses)
ax.axhline(math.log(VOCAB), color="grey", ls=":", label="guessing (log 16)")
ax.set(title="two-layer attention model on the recall task", xlabel="step", ylabel="training cross-entropy (nats)")
ax.legend()
plt.show()

# %% [markdown]
# The two-layer attention model answers nearly every held-out sequence. Even with its local first
# layer, its training loss first sits at log 16 (guessing) for a few dozen steps, then drops within
# a few dozen more: the two layers are only useful together, so the circuit forms all at once. The
# fixed-window MLP never
# sees the marker or the answer and stays at chance. The bag-of-tokens MLP rises a little above chance
# and no higher than its ceiling: counts say which symbols are common, not which one followed the
# marker. One attention layer stays near the bag's level, as the argument of section 7 predicts: it can
# find the marker but cannot read its neighbour. The unrestricted two-layer model has the capacity
# (layer 1 *can* learn to look one step back through the learned positions) but within the same 250
# steps it has not found the circuit. Olsson et al. (2022) describe how such a model sits on a plateau
# and then drops suddenly when the induction head forms; to look for it, set `LOCAL_FIRST_LAYER = False`
# and raise `STEPS` (the checks will then tell you whether it got there). A full-width MLP over all 64 one-hot tokens could in principle
# represent the task too, but it would need separate weights for every (marker position, symbol) pair;
# attention uses the same few weights at every position.
#
# ## 8 · Looking inside: attention maps
# The maps say *how* the model solves the task. Below, for one held-out sequence: layer 1's two heads
# around the marker (each position splits its weight between itself and its left neighbour), and
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
scaled, unscaled = scaling["scaled by 1/√d"], scaling["unscaled"]
assert all(3.0 < r["entropy"] < math.log(N_KEYS) and r["saturated"] < 0.02 for r in scaled), \
    "the scaled softmax should stay soft for every d"
assert unscaled[-1]["entropy"] < 0.5 and unscaled[-1]["saturated"] > 0.5, "unscaled scores should saturate at d = 1024"
assert unscaled[-1]["grad"] < 0.01 * scaled[-1]["grad"], "the unscaled gradient should collapse at large d"
assert all(b["grad"] < a["grad"] for a, b in zip(unscaled[1:], unscaled[2:])), "the unscaled gradient should fall with d"
assert max(r["grad"] for r in scaled) < 1.5 * min(r["grad"] for r in scaled), "the scaled gradient should not depend on d"
assert abs(scaled[-1]["score std"] - 1) < 0.1 and abs(unscaled[-1]["score std"] - math.sqrt(DIMS[-1])) < 0.1 * math.sqrt(DIMS[-1])
assert leak < 1e-6 and padded_leak == 0.0, "a mask let information through"
assert bool((causal_weights[0].triu(1) == 0).all()) and torch.allclose(causal_weights.sum(-1), torch.ones(3, 5))
assert all(err < 1e-10 for err in parity.values()), f"attention differs from PyTorch's: {parity}"
assert equivariance_error < 1e-10 and with_positions_gap > 0.01, "self-attention should be equivariant until positions are added"
assert rotation_error < 1e-10, "a shift should be a rotation of the sinusoidal codes"
assert attention_accuracy >= 0.95, f"the attention model reaches only {attention_accuracy:.1%}"
assert untrained_accuracy < 0.2, "an untrained model should be near chance"
assert results[f"fixed-window MLP (last {WINDOW} tokens)"] < 0.12, "the window MLP cannot see the answer"
assert results["bag-of-tokens MLP"] < bag_ceiling + 0.03 and bag_ceiling < 0.2, "the bag of tokens should stay near chance"
assert results["one attention layer"] < 0.25, "one attention layer should not solve the task"
assert reads_answer > 0.9, "layer 2 should read the position after the marker"
assert float(back_weight.mean()) > 0.5, "layer 1 should look back one position at the answer"
assert viewer.map.shape == (LENGTH, LENGTH) and viewer.map.sum() > 0
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - Attention is a differentiable lookup: softmax(QKᵀ/√d)V mixes the values of all positions, with
#   weights computed from the content (query–key dot products). Its cost grows with T², its reach does
#   not depend on distance.
# - The 1/√d keeps the scores' spread at 1: without it, we measured the softmax collapsing onto one key
#   and the gradient into the scores shrinking by orders of magnitude as d grows.
# - Masks set scores to −inf before the softmax: causal masks hide the future, padding masks hide
#   filler; we showed that nothing crosses them.
# - Multi-head attention splits D features into H slices (reshape, then transpose), attends in each,
#   merges and projects — at the cost of one wide head.
# - Without positions, self-attention is permutation-equivariant; sinusoidal or learned position
#   vectors give it order.
# - Our implementation equals `F.scaled_dot_product_attention` and `nn.MultiheadAttention` to float64
#   rounding. On a long-range recall task, two attention layers (look back one step, then look up)
#   reach ≥ 95 % while a fixed window, a bag of tokens and a single attention layer stay near chance.
#
# **Interview question this chapter prepares:** *How does a GPT-style transformer work, and why is
# attention central?* (the attention part; chapter 06 builds the rest). — A GPT is a stack of blocks,
# each a causal multi-head self-attention layer followed by a position-wise MLP, with residual
# connections and layer normalisation, on top of token and position embeddings; it is trained to
# predict each next token. Attention is the only place where positions exchange information: each
# token forms a query, compares it with every earlier token's key, and takes a softmax-weighted
# average of their values, so any earlier token can be reached in one step, with weights that depend
# on the content rather than on fixed wiring, and all positions are trained in parallel under the
# causal mask. Scaling by 1/√d keeps the softmax trainable, several heads let a layer ask several
# questions at once, and positional information must be added because attention itself ignores order.
# Stacking layers composes lookups — as in the recall task, where one head looks back a step and the
# next finds the marker — which is how transformers follow references across long contexts.
