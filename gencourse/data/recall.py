"""A long-range recall task: find the marker far back and report the token that followed it.

Each sequence has ``length`` positions. All but the last hold random content tokens
0 .. vocab−1; exactly one position p, at least ``min_distance`` positions before the end,
holds the MARKER token instead, and the last position holds the QUERY token. The target
is the content token at p + 1, the one right after the marker:

    positions   0  1  2 ...  p   p+1 ...  length−2  length−1
    tokens      7  3 12 ... MRK   9  ...     5       QRY        target: 9

A model that sees only the last few tokens, or only how often each token occurs, cannot
do better than guessing (1/vocab, a little more by betting on the token it counts most
often); a model that can look up where the marker is and read the next position can be
perfect. The answer sits (length − 1) − (p + 1) >= ``min_distance`` positions before the
query, and the marker's position is uniform over the allowed range.

Token ids: 0 .. vocab−1 content, ``marker = vocab``, ``query = vocab + 1``;
``n_tokens = vocab + 2`` is the embedding size a model needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class RecallBatch:
    tokens: Tensor        # (N, length) int64 in [0, vocab + 2)
    targets: Tensor       # (N,) int64 in [0, vocab): the token right after the marker
    marker_at: Tensor     # (N,) int64: the marker's position p

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class RecallTask:
    """Sequences of ``length`` tokens over ``vocab`` content symbols, marker >= ``min_distance`` from the end."""

    length: int = 64
    vocab: int = 16
    min_distance: int = 16

    def __post_init__(self) -> None:
        for name in ("length", "vocab", "min_distance"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.vocab < 2:
            raise ValueError(f"vocab={self.vocab}: a recall task needs at least 2 content tokens")
        if self.min_distance < 2 or self.min_distance > self.length - 2:
            raise ValueError(f"min_distance={self.min_distance} must lie in [2, length − 2 = "
                             f"{self.length - 2}] so that the marker fits before the query")

    @property
    def marker(self) -> int:
        return self.vocab

    @property
    def query(self) -> int:
        return self.vocab + 1

    @property
    def n_tokens(self) -> int:
        return self.vocab + 2

    @property
    def positions(self) -> range:
        """The marker's possible positions p: 0 .. length − 2 − min_distance."""
        return range(0, self.length - 1 - self.min_distance)

    def sample(self, n: int, seed: int | None = None, generator: torch.Generator | None = None) -> RecallBatch:
        """``n`` independent sequences (give ``seed`` or a ``generator`` for repeatable draws)."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if seed is not None and generator is not None:
            raise ValueError("give seed or generator, not both")
        g = generator if generator is not None else torch.Generator()
        if generator is None:
            g.manual_seed(seed if seed is not None else torch.seed() % 2**63)
        tokens = torch.randint(0, self.vocab, (n, self.length), generator=g)
        marker_at = torch.randint(0, len(self.positions), (n,), generator=g)
        rows = torch.arange(n)
        tokens[rows, marker_at] = self.marker
        tokens[:, -1] = self.query
        return RecallBatch(tokens, tokens[rows, marker_at + 1].clone(), marker_at)

    def describe(self, batch: RecallBatch, i: int = 0) -> list[str]:
        """Readable labels of sequence ``i``: content tokens as numbers, then 'M' and '?'."""
        names = {self.marker: "M", self.query: "?"}
        return [names.get(int(t), str(int(t))) for t in batch.tokens[i]]
