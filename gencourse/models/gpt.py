"""A small GPT: a decoder-only transformer that predicts the next token.

    idx (B, T) token ids
      -> tok_emb(idx) + pos_emb(0..T-1)                (B, T, C)   learned positions
      -> n_layer x Block:  x = x + attn(ln1(x))         pre-norm, residual
                           x = x + mlp(ln2(x))
      -> ln_f -> head (weights tied to tok_emb)         (B, T, V)   logits of the next token

Shapes use B = batch, T = time (positions), C = n_embd, H = n_head, hd = C // H,
V = vocab_size. Attention is PyTorch's fused ``scaled_dot_product_attention``
(flash / memory-efficient kernels where available). A from-scratch model with the
same submodule names (``tok_emb``, ``pos_emb``, ``blocks.i.ln1``, ``blocks.i.attn.qkv``,
``blocks.i.attn.proj``, ``blocks.i.ln2``, ``blocks.i.mlp.fc``, ``blocks.i.mlp.proj``,
``ln_f``, ``head``) can load this model's ``state_dict`` and vice versa.

Initialisation follows GPT-2: every Linear and Embedding weight ~ N(0, 0.02²), biases
zero, LayerNorms (1, 0), and the two projections that write into the residual
stream (``attn.proj``, ``mlp.proj``) ~ N(0, (0.02 / sqrt(2·n_layer))²), so the
residual stream's variance does not grow with depth. An untrained model therefore
predicts nearly uniformly: its loss is close to ln(V), a little below it on text that
repeats characters, because the tied head scores a token by its dot product with the
embedding it was given, so it slightly favours repeating the current token.

Generation can keep a key/value cache (:class:`KVCache`): each new token then costs
one position's worth of work instead of re-running the whole context. Positions are
learned absolute embeddings for 0..block_size-1, so once the context is longer than
``block_size`` the model only ever sees the last ``block_size`` tokens at positions
0..block_size-1 — every cached key changes position and the cache cannot be reused.
``generate`` then falls back to recomputing that sliding window for each further
token (exactly what uncached generation does), so cached and uncached greedy
generation give identical tokens at any length; the speed-up applies while the
context fits in ``block_size``.

The trainer lives in ``gencourse.models.gpt_train`` (re-exported here at the end):
``fit_gpt`` (a fixed number of steps) and ``train_gpt`` (a time budget), plus
``save_gpt`` / ``load_gpt``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gencourse.models.sampling import sample_next


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int            # V: number of distinct tokens
    block_size: int = 64       # longest context (positions 0..block_size-1)
    n_layer: int = 4           # transformer blocks
    n_head: int = 4            # attention heads per block; n_embd % n_head == 0
    n_embd: int = 128          # C: width of the residual stream
    dropout: float = 0.0       # on attention weights, residual branches and embeddings

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a whole number >= 1, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                             "pick n_embd as a multiple of n_head")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def n_params(self) -> int:
        """Number of weights (the tied head counted once)."""
        c, v = self.n_embd, self.vocab_size
        block = 2 * 2 * c + (3 * c * c + 3 * c) + (c * c + c) + (4 * c * c + 4 * c) + (4 * c * c + c)
        return v * c + self.block_size * c + self.n_layer * block + 2 * c


class KVCache:
    """Keys and values of the positions seen so far, one pair per layer.

    ``keys[i]`` and ``values[i]`` are (B, H, T, hd) for layer i; each forward pass
    with the cache appends its new positions along T. ``length`` is how many
    positions are cached, which is also the position of the next token.
    """

    def __init__(self, n_layer: int) -> None:
        self.keys: list[Tensor | None] = [None] * n_layer
        self.values: list[Tensor | None] = [None] * n_layer

    @property
    def length(self) -> int:
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append (B, H, T_new, hd) keys/values for ``layer``; return all of them so far."""
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            v = torch.cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    def reset(self) -> None:
        self.keys = [None] * len(self.keys)
        self.values = [None] * len(self.values)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)     # queries, keys, values at once
        self.proj = nn.Linear(config.n_embd, config.n_embd)        # mixes the heads back together
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(self.n_embd, dim=-1)           # 3 x (B, T, C)
        hd = C // self.n_head
        q = q.view(B, T, self.n_head, hd).transpose(1, 2)          # (B, H, T, hd)
        k = k.view(B, T, self.n_head, hd).transpose(1, 2)
        v = v.view(B, T, self.n_head, hd).transpose(1, 2)
        past = 0
        if cache is not None:
            past = 0 if cache.keys[layer] is None else cache.keys[layer].shape[2]
            k, v = cache.update(layer, k, v)                       # (B, H, past + T, hd)
        p = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        elif T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)   # the newest token sees everything
        else:
            # New query t sits at position past + t and may look at keys 0..past + t.
            allowed = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)           # (B, T, C) heads side by side
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU()                                      # exact (erf) GELU
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:                        # (B, T, C) -> (B, T, C)
        return self.drop(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: communicate (attention), then compute (MLP)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight        # weight tying: one (V, C) matrix, two uses
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for block in self.blocks:
            nn.init.normal_(block.attn.proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.proj.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def n_params(self) -> int:
        """Number of weights (the tied head counted once)."""
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.tok_emb.weight.device

    def forward(self, idx: Tensor, targets: Tensor | None = None,
                cache: KVCache | None = None) -> tuple[Tensor, Tensor | None]:
        """Logits (B, T, V) of the next token at every position, and the loss.

        idx: (B, T) int64 ids in [0, V). targets: (B, T) ids or None; entries equal to
        -1 are ignored. The loss is the mean cross-entropy in nats per token.
        cache: a KVCache to read from and append to; idx then holds only the new
        positions, which start at ``cache.length``.
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must be (B, T) token ids, got shape {tuple(idx.shape)}")
        if idx.dtype not in (torch.long, torch.int):
            raise ValueError(f"idx must hold integer token ids (torch.long), got dtype {idx.dtype}; "
                             "pass the tokenizer's ids, e.g. torch.tensor(ids, dtype=torch.long)")
        V = self.config.vocab_size
        if idx.numel():   # an id outside [0, V) is otherwise an opaque index error (a device assert on CUDA)
            lo, hi = torch.stack(torch.aminmax(idx)).tolist()          # one pass, one host sync
            if lo < 0 or hi >= V:
                raise ValueError(f"token id {hi if hi >= V else lo} is outside [0, {V}): this model has "
                                 f"vocab_size={V}; encode with the tokenizer it was trained with")
        B, T = idx.shape
        start = cache.length if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(f"{start + T} positions but block_size={self.config.block_size}; "
                             "crop the context to the last block_size tokens"
                             + (" (and reset the cache)" if cache is not None else ""))
        pos = torch.arange(start, start + T, device=idx.device)                 # (T,)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))                    # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        logits = self.head(self.ln_f(x))                                        # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1).float(), targets.reshape(B * T),
                                   ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, greedy: bool = False,
                 use_cache: bool = True, generator: torch.Generator | None = None,
                 logits_processor: Callable[[Tensor, Tensor], Tensor] | None = None) -> Tensor:
        """Extend idx (B, T0) by ``max_new_tokens`` tokens: returns (B, T0 + max_new_tokens).

        Each token is chosen by :func:`gencourse.models.sampling.sample_next` with the
        given knobs. ``logits_processor(idx (B, T), logits (B, V)) -> (B, V)``, if given, changes
        the next token's logits first (chapter 10's watermark adds to a green list this way). With ``use_cache`` a KVCache avoids recomputing earlier positions;
        beyond ``block_size`` tokens of context both paths run the last ``block_size``
        tokens afresh, so greedy generation is identical with and without the cache.
        The model is put in eval mode for the call and restored afterwards.
        """
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
        if idx.dim() != 2 or idx.shape[1] < 1:
            raise ValueError(f"idx must be (B, T0) with T0 >= 1 prompt tokens, got shape {tuple(idx.shape)}")
        was_training = self.training
        self.eval()
        try:
            bs = self.config.block_size
            cache = KVCache(self.config.n_layer) if use_cache else None
            logits = None
            for _ in range(max_new_tokens):
                if cache is not None and logits is None:
                    context = idx[:, -bs:]
                    logits, _ = self(context, cache=cache)                      # prefill
                elif cache is not None and cache.length < bs:
                    logits, _ = self(idx[:, -1:], cache=cache)                  # one new position
                else:
                    logits, _ = self(idx[:, -bs:])                              # sliding window, uncached
                last = logits[:, -1, :] if logits_processor is None else logits_processor(idx, logits[:, -1, :])
                nxt = sample_next(last, temperature=temperature, top_k=top_k,
                                  top_p=top_p, greedy=greedy, generator=generator)
                idx = torch.cat([idx, nxt[:, None]], dim=1)
            return idx
        finally:
            self.train(was_training)


_TRAINER_NAMES = ("GPTRun", "fit_gpt", "train_gpt", "save_gpt", "load_gpt")


def __getattr__(name: str):
    """The trainer's names, loaded on first use (gpt_train imports this module, not the reverse)."""
    if name in _TRAINER_NAMES:
        from gencourse.models import gpt_train
        return getattr(gpt_train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GPTConfig", "GPT", "KVCache", "CausalSelfAttention", "MLP", "Block",
           "GPTRun", "fit_gpt", "train_gpt", "save_gpt", "load_gpt"]
