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
# # 05 · Exercises: attention by hand
#
# Write the three pieces of chapter 05 yourself: scaled dot-product attention with a causal mask,
# the reshapes that split a model's features into heads and merge them back, and the sinusoidal
# position codes. Replace each `raise NotImplementedError(...)` with your code and run the
# `check(...)` cell below it. At the end your functions are assembled into multi-head attention and
# compared with PyTorch's `nn.MultiheadAttention`. Grade the whole notebook with
# `gencourse check exercises/05_attention.ipynb`.
#
# Lesson: `notebooks/05_attention.ipynb`.

# %%
import math

import torch

from gencourse.exercises import check

# %% [markdown]
# ## Exercise 05.1 — scaled dot-product attention with a causal mask
# `q` and `k` have shape (..., T, d) and `v` has shape (..., T, d_v), with any leading dimensions
# (batch, heads) and d_v not necessarily equal to d. Return softmax(q kᵀ / sqrt(d)) v, shape
# (..., T, d_v), where query t may only attend to keys s <= t: set the scores above the diagonal to
# −inf **before** the softmax (a (T, T) mask built with `torch.tril` broadcasts over the leading
# dimensions). Take every size from the tensors, leave the inputs unchanged and keep the output
# differentiable. Return only the output.

# %%
def causal_attention(q, k, v):
    ### BEGIN SOLUTION
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)                  # (..., T, T)
    allowed = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
    ### END SOLUTION


# %%
check("05.1", causal_attention)

# %% [markdown]
# ## Exercise 05.2 — splitting and merging heads
# Multi-head attention gives each of H heads its own contiguous slice of D/H features.
# `split(x, n_heads)` turns x (B, T, D) into (B, H, T, D/H); `merge(x)` turns (B, H, T, d) back
# into (B, T, H·d). Use the sizes of the tensors you are given (no hard-coded numbers).

# %%
def split(x, n_heads):
    ### BEGIN SOLUTION
    B, T, D = x.shape
    return x.reshape(B, T, n_heads, D // n_heads).transpose(1, 2)
    ### END SOLUTION


def merge(x):
    ### BEGIN SOLUTION
    B, H, T, d = x.shape
    return x.transpose(1, 2).reshape(B, T, H * d)
    ### END SOLUTION


# %%
check("05.2", split, merge)

# %% [markdown]
# ## Exercise 05.3 — sinusoidal positions
# Return the (T, d) codes of "Attention Is All You Need" (2017) for positions t = 0 .. T−1:
# column 2i holds sin(t·ω_i) and column 2i + 1 holds cos(t·ω_i), with ω_i = 10000^(−2i/d) for
# i = 0 .. d/2 − 1 (d is even).

# %%
def positions(T, d):
    ### BEGIN SOLUTION
    t = torch.arange(T, dtype=torch.float32)[:, None]                # (T, 1)
    omega = 10000 ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)  # (d/2,)
    pe = torch.zeros(T, d)
    pe[:, 0::2] = torch.sin(t * omega)
    pe[:, 1::2] = torch.cos(t * omega)
    return pe
    ### END SOLUTION


# %%
check("05.3", positions)

# %% [markdown]
# ## Putting it together
# Multi-head causal self-attention from your three functions, with the weights of a PyTorch
# `nn.MultiheadAttention` copied in: project x (plus position codes) to q, k, v with its packed
# input matrix, split into heads, attend causally in every head at once, merge, and apply its
# output projection. The result must equal PyTorch's own output.

# %%
torch.manual_seed(0)
B, T, D, H = 2, 10, 32, 4
mha = torch.nn.MultiheadAttention(D, H, batch_first=True)
x = torch.randn(B, T, D) + positions(T, D)
with torch.no_grad():
    q, k, v = torch.nn.functional.linear(x, mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)
    heads = causal_attention(split(q, H), split(k, H), split(v, H))     # (B, H, T, D/H)
    ours = mha.out_proj(merge(heads))
    future = torch.ones(T, T, dtype=torch.bool).triu(1)                   # PyTorch's mask: True = hidden
    theirs, _ = mha(x, x, x, attn_mask=future)
error = float((ours - theirs).abs().max())
print(f"largest difference from nn.MultiheadAttention: {error:.2e}")
assert error < 1e-5, "your multi-head attention differs from PyTorch's"
assert float((ours - mha(x, x, x)[0]).abs().max()) > 1e-3, "without the causal mask PyTorch gives another answer"
