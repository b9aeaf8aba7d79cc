"""The pre-training objectives of BERT and T5, as data collators over token ids.

GPT's objective needs no collator: predict token t + 1 from tokens 0..t (``models.gpt``).

**Masked language modelling** ("BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding", Devlin et al., 2019). Each position is chosen for prediction with
probability 15%; of the chosen, 80% are replaced by a [MASK] token, 10% by a random token
and 10% are left as they are. The model must predict the original token at every chosen
position (and only there), seeing both sides. The random and unchanged 20% keep the model
from learning that only [MASK] positions matter, since [MASK] never appears at fine-tuning
time.

**Span corruption** ("Exploring the Limits of Transfer Learning with a Unified Text-to-Text
Transformer", Raffel et al., 2020 — T5). About 15% of the tokens, in spans of mean length 3,
are cut out of the input; each span is replaced by one sentinel token (sentinel 0 for the
first span, 1 for the second, ...). An encoder reads the corrupted input; a decoder writes
the missing pieces, each announced by its sentinel:

    original   M a r i a n n e
    input      M a <s0> a n <s1>          (encoder)
    target     <s0> r i <s1> n e          (decoder, left to right)

:func:`restore_spans` puts the pieces back, so corrupting and restoring is the identity.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

IGNORE = -1   # label of a position that carries no loss (what GPT.forward's loss ignores)


def mask_tokens(ids: Tensor, *, mask_id: int, n_random: int, p: float = 0.15,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """BERT's masking rule. Returns (inputs, labels), both shaped like ``ids`` (B, T) long.

    Each position is chosen with probability ``p``; a chosen position becomes ``mask_id``
    with probability 0.8, a token drawn uniformly from [0, n_random) with probability 0.1,
    and stays itself otherwise. ``labels`` holds the original id at chosen positions and
    ``IGNORE`` (-1) elsewhere. ``ids`` is not modified.
    """
    if ids.dtype != torch.long:
        raise ValueError(f"ids must be token ids of dtype torch.long, got {ids.dtype}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p (the share of positions to predict) must be in (0, 1), got {p!r}")
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1 (the ordinary tokens a random replacement is drawn from), got {n_random}")
    device = ids.device
    u = torch.rand(ids.shape, generator=generator).to(device)
    how = torch.rand(ids.shape, generator=generator).to(device)
    random_ids = torch.randint(0, n_random, ids.shape, generator=generator).to(device)
    chosen = u < p
    inputs = ids.clone()
    inputs[chosen & (how < 0.8)] = mask_id
    swap = chosen & (how >= 0.8) & (how < 0.9)
    inputs[swap] = random_ids[swap]
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    return inputs, labels


def _segment(total: int, pieces: int, generator: torch.Generator | None) -> list[int]:
    """Split ``total`` items into ``pieces`` runs of length >= 1, uniformly at random."""
    cuts = torch.randperm(total - 1, generator=generator)[: pieces - 1].sort().values + 1
    edges = [0, *cuts.tolist(), total]
    return [b - a for a, b in zip(edges, edges[1:])]


def span_corrupt(ids: Sequence[int] | Tensor, sentinels: Sequence[int], *, density: float = 0.15,
                 mean_span: float = 3.0, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """T5's span corruption of one sequence of T ids. Returns (inputs, targets), 1-D long.

    ``round(density · T)`` tokens (at least 1) are cut out in ``n = max(1, round(noise /
    mean_span))`` spans of random lengths >= 1, separated by kept runs of random lengths
    >= 1; the kept runs before the first and after the last span may be empty, so a span
    can sit anywhere (T5's own code always starts with a kept run and ends with a span,
    which on windows of a few dozen tokens would put the only span at the end). ``inputs`` is the sequence with span i
    replaced by ``sentinels[i]`` (length T - noise + n); ``targets`` is sentinel i followed
    by span i, for each span in order (length noise + n). Lengths depend only on T, so
    sequences of one length stack into a batch.
    """
    seq = torch.as_tensor(ids, dtype=torch.long).flatten()
    T = seq.numel()
    if T < 2:
        raise ValueError(f"span corruption needs at least 2 tokens, got {T}")
    if not 0.0 < density < 1.0:
        raise ValueError(f"density must be in (0, 1), got {density!r}")
    noise = min(max(1, round(density * T)), T - 1)
    n = max(1, min(round(noise / mean_span), noise, T - noise))
    if len(sentinels) < n:
        raise ValueError(f"{n} spans need {n} sentinel ids, got {len(sentinels)}")
    span_lengths = _segment(noise, n, generator)                  # n spans, each >= 1
    keep = _segment(T - noise + 2, n + 1, generator)              # n + 1 kept runs: the two at the
    keep[0], keep[-1] = keep[0] - 1, keep[-1] - 1                 # ends may be empty, inner ones not
    inputs, targets, pos = [], [], 0
    for i, cut in enumerate(span_lengths):
        inputs += seq[pos: pos + keep[i]].tolist() + [sentinels[i]]
        pos += keep[i]
        targets += [sentinels[i]] + seq[pos: pos + cut].tolist()
        pos += cut
    inputs += seq[pos:].tolist()                                  # the last kept run
    return torch.tensor(inputs, dtype=torch.long), torch.tensor(targets, dtype=torch.long)


def restore_spans(inputs: Sequence[int] | Tensor, targets: Sequence[int] | Tensor,
                  sentinels: Sequence[int]) -> list[int]:
    """Undo :func:`span_corrupt`: replace each sentinel of ``inputs`` by the tokens that follow
    the same sentinel in ``targets``. A sentinel missing from ``targets`` restores nothing."""
    inputs = torch.as_tensor(inputs).tolist()
    targets = torch.as_tensor(targets).tolist()
    marks = set(sentinels)
    pieces: dict[int, list[int]] = {}
    current = None
    for t in targets:
        if t in marks:
            current = t
            pieces[current] = []
        elif current is not None:
            pieces[current].append(t)
    out: list[int] = []
    for t in inputs:
        out.extend(pieces.get(t, []) if t in marks else [t])
    return out


def span_batch(windows: Tensor, sentinels: Sequence[int], start_id: int, *, density: float = 0.15,
               mean_span: float = 3.0, generator: torch.Generator | None = None
               ) -> tuple[Tensor, Tensor, Tensor]:
    """Span-corrupt each row of ``windows`` (B, T). Returns (inputs (B, S), decoder inputs
    (B, L), targets (B, L)); the decoder reads ``start_id`` then the targets shifted right."""
    pairs = [span_corrupt(row, sentinels, density=density, mean_span=mean_span, generator=generator)
             for row in windows]
    inputs = torch.stack([p[0] for p in pairs]).to(windows.device)
    targets = torch.stack([p[1] for p in pairs]).to(windows.device)
    start = torch.full_like(targets[:, :1], start_id)
    return inputs, torch.cat([start, targets[:, :-1]], dim=1), targets


__all__ = ["IGNORE", "mask_tokens", "span_corrupt", "restore_spans", "span_batch"]
