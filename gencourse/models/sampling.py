"""Choosing the next token from a language model's logits.

A language model gives, for each position, one logit per vocabulary entry. Turning
them into a token is a separate decision with its own knobs:

    greedy        the most likely token (deterministic; ties go to the lowest id)
    temperature   divide the logits by T before the softmax: T < 1 sharpens, T > 1 flattens
    top-k         keep only the k most likely tokens
    top-p         keep only the smallest set of most likely tokens whose total
                  probability reaches p ("nucleus" sampling, Holtzman et al. 2020)

Filters return logits with ``-inf`` for removed tokens, so a softmax gives them
exactly zero probability and they can never be drawn. The order of operations is
temperature, then top-k, then top-p (the order Hugging Face's ``generate`` uses).

Ties are broken deterministically in favour of the lower token id: top-k keeps
exactly k tokens, and top-p orders tokens by probability with a stable sort, so of
two equally likely tokens at the edge of the nucleus the lower id is kept first.
"""
from __future__ import annotations

import torch
from torch import Tensor

# Relative slack when comparing a cumulative probability with p: a prefix whose mass
# is within this of p counts as reaching p, so rounding in the softmax (0.5 + 0.3 that
# sums to 0.79999995) does not pull in one more token.
_TOP_P_SLACK = 1e-6


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be a whole number >= 1, got {k!r}")


def _check_p(p: float) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < float(p) <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p!r}; 1 keeps every token")


def _descending(logits: Tensor) -> tuple[Tensor, Tensor]:
    """Logits sorted from most to least likely; equal values keep id order (stable)."""
    # Sorting the negated logits ascending with stable=True puts equal values in id order.
    neg_sorted, order = torch.sort(-logits, dim=-1, stable=True)
    return -neg_sorted, order


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the ``k`` largest logits of the last dimension, set the others to -inf.

    logits: (..., V) float. Returns a new tensor of the same shape. Exactly
    ``min(k, V)`` entries stay finite per row (among equal logits the lower ids win).
    """
    _check_k(k)
    if k >= logits.shape[-1]:
        return logits.clone()
    _, order = _descending(logits)
    drop = order[..., k:]                                   # (..., V - k) ids outside the top k
    return logits.scatter(-1, drop, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Keep the smallest set of most likely tokens whose probability mass reaches ``p``.

    logits: (..., V) float; p in (0, 1]. A token is kept when the tokens strictly
    before it in the (stable, descending) order hold less than ``p`` of the mass, so
    the most likely token is always kept and the kept set is the shortest prefix
    reaching p (to within a relative 1e-6 for rounding). Others become -inf.
    p = 1 keeps every token (a copy of the logits): the rounding slack must not cut
    off tokens whose probability underflows next to a dominant one.
    """
    _check_p(p)
    if p >= 1.0:
        return logits.clone()
    sorted_logits, order = _descending(logits)
    probs = torch.softmax(sorted_logits.double(), dim=-1)    # float64: cumulative sums stay exact enough
    mass_before = torch.cumsum(probs, dim=-1) - probs        # (..., V) mass of strictly more likely tokens
    drop_sorted = mass_before >= p * (1 - _TOP_P_SLACK)
    drop_sorted[..., 0] = False                              # the most likely token always stays
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample_next(logits: Tensor, *, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, greedy: bool = False,
                generator: torch.Generator | None = None) -> Tensor:
    """One token id per row of ``logits`` (B, V): returns a LongTensor (B,).

    greedy=True takes the argmax (lowest id among ties) and ignores the other knobs.
    Otherwise the logits are divided by ``temperature`` (> 0), filtered by ``top_k``
    and ``top_p`` when given, and a token is drawn from the softmax with
    ``generator`` (a CPU generator works for logits on any device).
    """
    if logits.dim() != 2:
        raise ValueError(f"logits must be (B, V), got shape {tuple(logits.shape)}; "
                         "take logits[:, -1, :] of the model's output")
    if top_k is not None:
        _check_k(top_k)
    if top_p is not None:
        _check_p(top_p)
    if greedy:
        return logits.argmax(dim=-1)   # torch.argmax returns the first maximal index
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}; use greedy=True for the argmax")
    scaled = logits.float() / float(temperature)
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    probs = torch.softmax(scaled, dim=-1)
    if generator is not None and generator.device != probs.device:
        return torch.multinomial(probs.to(generator.device), 1, generator=generator).squeeze(-1).to(logits.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
