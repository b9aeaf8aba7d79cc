"""Scaled dot-product attention, masks, multi-head attention and sinusoidal positions.

"Attention Is All You Need" (Vaswani et al., 2017). Each query vector is compared
with every key vector; the scores, divided by sqrt(d) and passed through a softmax
over the keys, say how much of each value vector to mix into the output:

    Attention(Q, K, V) = softmax(Q Kᵀ / sqrt(d)) V

Shapes use B (batch), H (heads), T (query positions), S (key positions), D (model
width) and d = D / H (one head's width). Masks are boolean with **True = may
attend** (the convention of ``torch.nn.functional.scaled_dot_product_attention``;
``torch.nn.MultiheadAttention`` uses the opposite one), and broadcast against the
(..., T, S) scores. A query whose row allows no key at all gets zero weights and a
zero output, as ``torch.nn.functional.scaled_dot_product_attention`` does;
``torch.nn.MultiheadAttention`` returns NaN for such a row instead, and this module's
``MultiHeadAttention`` returns its output projection's bias there (the projection of a
zero vector).

Everything is written in plain tensor operations so that it can be read, and it is
tested against PyTorch's implementations in float64 (tests/test_attention.py).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ / sqrt(d)) v, with an optional boolean mask.

    q: (..., T, d) queries; k: (..., S, d) keys; v: (..., S, d_v) values.
    mask: bool, broadcastable to (..., T, S); True where query t may attend to key s.
    Returns (out, weights): out (..., T, d_v) and weights (..., T, S), each row of
    weights summing to 1 over the allowed keys (0 for a row with no allowed key).
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries have width {q.shape[-1]} but keys have {k.shape[-1]}: "
                         "q and k must share their last dimension")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{k.shape[-2]} keys but {v.shape[-2]} values: k and v need the same "
                         "number of positions (dimension -2)")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])        # (..., T, S)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor (True = may attend), got {mask.dtype}")
        try:
            shape = torch.broadcast_shapes(mask.shape, scores.shape)
        except RuntimeError:
            shape = None
        if shape != scores.shape:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                             f"shape {tuple(scores.shape)} (..., T, S)")
        scores = scores.masked_fill(~mask, float("-inf"))            # a score of -inf gets weight 0
    weights = torch.softmax(scores, dim=-1)                          # over the keys
    if mask is not None:
        no_key = ~mask.any(-1, keepdim=True)                         # rows that may attend nowhere:
        if bool(no_key.any()):                                       # softmax gave 0/0 = NaN there
            weights = weights.masked_fill(no_key, 0.0)
    return weights @ v, weights


def causal_mask(T: int, device: torch.device | str | None = None) -> Tensor:
    """(T, T) bool, True on and below the diagonal: position t may attend to positions <= t."""
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: Tensor, T: int) -> Tensor:
    """(B, 1, 1, T) bool, True for the first lengths[b] key positions of sequence b.

    lengths: (B,) integer sequence lengths in [1, T]. The two singleton dimensions let the
    mask broadcast over heads and queries: (B, H, T, T) scores, or (B, 1, T, T) when combined
    with ``causal_mask(T)`` by ``&``.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be a 1-D integer tensor, got shape {tuple(lengths.shape)} "
                         f"and dtype {lengths.dtype}")
    if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > T):
        raise ValueError(f"lengths must lie in [1, T={T}], got {lengths.tolist()}")
    positions = torch.arange(T, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, None, None, :]


def split_heads(x: Tensor, n_heads: int) -> Tensor:
    """(B, T, D) -> (B, H, T, D/H): each head gets its own slice of the D features."""
    if x.dim() != 3:
        raise ValueError(f"split_heads expects (B, T, D), got shape {tuple(x.shape)}")
    B, T, D = x.shape
    if D % n_heads:
        raise ValueError(f"D={D} is not divisible by n_heads={n_heads}")
    return x.reshape(B, T, n_heads, D // n_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, d) -> (B, T, H·d): the inverse of ``split_heads``."""
    if x.dim() != 4:
        raise ValueError(f"merge_heads expects (B, H, T, d), got shape {tuple(x.shape)}")
    B, H, T, d = x.shape
    return x.transpose(1, 2).reshape(B, T, H * d)


class MultiHeadAttention(nn.Module):
    """H heads of scaled dot-product attention over D = H·d features, then an output projection.

    Project x to queries, keys and values (D -> D each, with biases), split them into H heads of
    width d = D/H, attend in each head independently, merge the heads and project (D -> D).
    ``packed=True`` computes q, k, v with one (D -> 3D) layer, as ``nn.MultiheadAttention``
    stores them (``in_proj_weight``); the result is the same function, one matrix product instead
    of three.

    forward(x, context=None, mask=None): x (B, T, D) queries; context (B, S, D) keys and values
    (None: self-attention, context = x); mask bool broadcastable to (B, H, T, S), True = may
    attend. Returns (out (B, T, D), weights (B, H, T, S)).
    """

    def __init__(self, d_model: int, n_heads: int, packed: bool = False, bias: bool = True):
        super().__init__()
        if not isinstance(n_heads, int) or n_heads < 1:
            raise ValueError(f"n_heads must be a positive int, got {n_heads!r}")
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.packed = d_model, n_heads, packed
        if packed:
            self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        else:
            self.q = nn.Linear(d_model, d_model, bias=bias)
            self.k = nn.Linear(d_model, d_model, bias=bias)
            self.v = nn.Linear(d_model, d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)

    def project(self, x: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Queries from x (B, T, D); keys and values from context (B, S, D); each still (B, ·, D)."""
        if not self.packed:
            return self.q(x), self.k(context), self.v(context)
        w_q, w_k, w_v = self.qkv.weight.chunk(3)
        b_q, b_k, b_v = self.qkv.bias.chunk(3) if self.qkv.bias is not None else (None,) * 3
        if context is x:
            return self.qkv(x).chunk(3, dim=-1)
        return F.linear(x, w_q, b_q), F.linear(context, w_k, b_k), F.linear(context, w_v, b_v)

    def forward(self, x: Tensor, context: Tensor | None = None,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        context = x if context is None else context
        for name, t in (("x", x), ("context", context)):
            if t.dim() != 3 or t.shape[-1] != self.d_model:
                raise ValueError(f"{name} must be (B, T, D={self.d_model}), got shape {tuple(t.shape)}")
        q, k, v = self.project(x, context)
        out, weights = scaled_dot_product_attention(
            split_heads(q, self.n_heads), split_heads(k, self.n_heads), split_heads(v, self.n_heads), mask)
        return self.out(merge_heads(out)), weights

    def load_from_torch(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` of the same size into this module."""
        if mha.embed_dim != self.d_model or mha.num_heads != self.n_heads:
            raise ValueError(f"nn.MultiheadAttention has embed_dim={mha.embed_dim}, num_heads="
                             f"{mha.num_heads}; this module has {self.d_model}, {self.n_heads}")
        if mha.in_proj_weight is None:
            raise ValueError("nn.MultiheadAttention with separate kdim/vdim is not supported")
        with torch.no_grad():
            if self.packed:
                self.qkv.weight.copy_(mha.in_proj_weight)
                if self.qkv.bias is not None:
                    self.qkv.bias.copy_(mha.in_proj_bias)
            else:
                for layer, w, b in zip((self.q, self.k, self.v), mha.in_proj_weight.chunk(3),
                                       mha.in_proj_bias.chunk(3) if mha.in_proj_bias is not None else (None,) * 3):
                    layer.weight.copy_(w)
                    if layer.bias is not None:
                        layer.bias.copy_(b)
            self.out.weight.copy_(mha.out_proj.weight)
            if self.out.bias is not None:
                self.out.bias.copy_(mha.out_proj.bias)
        return self


def sinusoidal_positions(T: int, d: int, base: float = 10000.0, dtype: torch.dtype | None = None) -> Tensor:
    """(T, d) fixed position codes of "Attention Is All You Need" (2017).

    Row t holds sin(t·ω_i) in even columns and cos(t·ω_i) in odd columns, with frequencies
    ω_i = base^(−2i/d) for i = 0 .. d/2 − 1: fast-turning pairs tell near positions apart, slow
    ones far positions. Shifting t by k rotates each (sin, cos) pair by the angle k·ω_i, so a
    fixed offset is a fixed linear map of the code. d must be even. Values lie in [−1, 1].
    Computed in float64, returned in ``dtype`` (default: torch's default dtype).
    """
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    if not isinstance(d, int) or isinstance(d, bool) or d < 2 or d % 2:
        raise ValueError(f"d must be a positive even int (sin and cos pairs), got {d!r}")
    t = torch.arange(T, dtype=torch.float64)[:, None]                      # (T, 1)
    omega = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)       # (d/2,)
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(t * omega)
    pe[:, 1::2] = torch.cos(t * omega)
    return pe.to(dtype or torch.get_default_dtype())
