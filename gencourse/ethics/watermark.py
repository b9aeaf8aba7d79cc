"""A green-list watermark for a language model's samples, and its statistical test.

"A Watermark for Large Language Models" (Kirchenbauer et al., 2023). Before each token is sampled,
the previous token seeds a random split of the vocabulary into a *green list* (a share γ of the
tokens) and a red list, and δ is added to the logits of the green tokens. The text reads almost the
same, but it holds more green tokens than chance allows. Anyone with the key can count them
without the model: with T scored tokens of which G are green,

    z = (G − γT) / √(T γ (1 − γ)),

which is about standard normal for text written without the watermark. z > 4 flags the text
(a one-sided false-positive rate of about 3 in 100,000). Repeated (previous token, token) pairs are
counted once, so a repeated phrase cannot pile up evidence on its own.

How strong the evidence grows with T depends on entropy: δ can only move probability onto green
tokens where the model has several plausible choices. A low-entropy vocabulary (characters, where
the next letter is often nearly certain) carries less watermark per token than a larger one.

    green_table(vocab_size, gamma, key)   (V, V) bool: row p is the green list after token p
    WatermarkProcessor(table, delta)      adds δ to the green logits; pass to GPT.generate
    detect(tokens, table)                 the z-test on a token sequence
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


def green_table(vocab_size: int, gamma: float, key: int) -> Tensor:
    """(V, V) bool: row ``p`` marks the int(γV) green tokens that follow token ``p`` (rounded down,
    as the authors' reference code does).

    Each row is a random permutation seeded by the secret ``key`` and the previous token, so the
    same key always gives the same lists and a different key gives unrelated ones.
    """
    if not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"vocab_size must be an int ≥ 2, got {vocab_size!r}")
    if not 0 < gamma < 1:
        raise ValueError(f"gamma (the green share) must lie strictly between 0 and 1, got {gamma!r}")
    size = int(gamma * vocab_size)
    if not 1 <= size < vocab_size:
        raise ValueError(f"gamma={gamma} gives {size} green tokens out of {vocab_size}: choose gamma so that "
                         "at least one token is green and one red")
    table = torch.zeros(vocab_size, vocab_size, dtype=torch.bool)
    for previous in range(vocab_size):
        g = torch.Generator().manual_seed((key * 1_000_003 + previous) % (2 ** 62))
        table[previous, torch.randperm(vocab_size, generator=g)[:size]] = True
    return table


class WatermarkProcessor:
    """``logits_processor`` for :meth:`gencourse.models.gpt.GPT.generate`: adds ``delta`` to the logits
    of the tokens green after each row's last token. idx (B, T), logits (B, V) -> (B, V)."""

    def __init__(self, table: Tensor, delta: float):
        if delta < 0:
            raise ValueError(f"delta must be ≥ 0 (0 = no watermark), got {delta!r}")
        self.table, self.delta = table, float(delta)

    def __call__(self, idx: Tensor, logits: Tensor) -> Tensor:
        green = self.table.to(logits.device)[idx[:, -1]]                          # (B, V)
        return logits + self.delta * green.to(logits.dtype)


@dataclass(frozen=True)
class Detection:
    """z: the test statistic; green: green tokens counted; scored: tokens counted (T)."""

    z: float
    green: int
    scored: int

    def flagged(self, threshold: float = 4.0) -> bool:
        return self.z > threshold


def detect(tokens: Sequence[int] | Tensor, table: Tensor, ignore_repeats: bool = True) -> Detection:
    """The one-proportion z-test for a token sequence (its first token only seeds the second's list).

    γ is the table's own green share (int(γV) / V, which can differ a little from the γ asked for).
    With ``ignore_repeats``, each (previous token, token) pair is scored once. Returns z = nan when
    no token can be scored.
    """
    ids = torch.as_tensor(tokens).long().reshape(-1).tolist()
    vocab = table.shape[0]
    if any(not 0 <= t < vocab for t in ids):
        raise ValueError(f"token ids must lie in [0, {vocab}) to match the green table; encode with the same tokenizer")
    pairs = list(zip(ids[:-1], ids[1:]))
    if ignore_repeats:
        pairs = list(dict.fromkeys(pairs))
    gamma = float(table[0].sum()) / vocab
    green = sum(bool(table[p, t]) for p, t in pairs)
    scored = len(pairs)
    if scored == 0:
        return Detection(float("nan"), 0, 0)
    z = (green - gamma * scored) / math.sqrt(scored * gamma * (1 - gamma))
    return Detection(z, green, scored)


class SettingsPerRow:
    """``logits_processor`` that gives each row of a batch its own watermark: row r uses
    ``tables[settings[r]]`` and ``deltas[settings[r]]`` (δ = 0 leaves a row unwatermarked), so one
    call of GPT.generate samples every setting of a comparison at once.

    It also records, for each sampled token but the last, its log-probability under the model's own
    (unwatermarked) logits: ``nll()`` gives each row's mean, the cost of the watermark in nats per token;
    the entropy of those unwatermarked distributions: ``entropy()``, what the watermark can work with;
    and ``kl()``, the KL divergence KL(q ‖ p) from each unwatermarked next-token distribution p to the
    watermarked one q it sampled from: the watermark's distortion, whatever the text looks like.
    """

    def __init__(self, tables: list[Tensor], deltas: list[float], settings: Tensor):
        if len(tables) != len(deltas):
            raise ValueError(f"give one delta per table, got {len(tables)} tables and {len(deltas)} deltas")
        self.tables = torch.stack(tables)                                        # (S, V, V)
        self.deltas = torch.tensor(deltas, dtype=torch.float32)                  # (S,)
        self.settings = settings.long()                                          # (B,)
        self._previous: Tensor | None = None
        self._log_probs: list[Tensor] = []
        self._entropies: list[Tensor] = []
        self._kls: list[Tensor] = []

    def __call__(self, idx: Tensor, logits: Tensor) -> Tensor:
        if self.tables.device != logits.device:               # follow the model onto its device
            self.tables, self.deltas = self.tables.to(logits.device), self.deltas.to(logits.device)
            self.settings = self.settings.to(logits.device)
        if self._previous is not None:                       # the token chosen at the last step is idx[:, -1]
            self._log_probs.append(self._previous.gather(1, idx[:, -1:])[:, 0])
        self._previous = torch.log_softmax(logits.float(), dim=-1)
        self._entropies.append(-(self._previous.exp() * self._previous).sum(dim=-1))
        green = self.tables[self.settings, idx[:, -1]].to(logits.dtype)         # (B, V)
        marked = logits + self.deltas[self.settings, None].to(logits.dtype) * green
        log_q = torch.log_softmax(marked.float(), dim=-1)
        self._kls.append((log_q.exp() * (log_q - self._previous)).sum(dim=-1))
        return marked

    def nll(self) -> Tensor:
        """(B,) mean negative log-likelihood per token of each row's samples under the unwatermarked model."""
        if not self._log_probs:
            raise RuntimeError("nothing recorded yet: pass this processor to GPT.generate first")
        return -torch.stack(self._log_probs, dim=1).mean(dim=1).cpu()

    def entropy(self) -> Tensor:
        """(B,) mean entropy, in nats, of the unwatermarked next-token distributions each row was sampled from."""
        if not self._entropies:
            raise RuntimeError("nothing recorded yet: pass this processor to GPT.generate first")
        return torch.stack(self._entropies, dim=1).mean(dim=1).cpu()

    def kl(self) -> Tensor:
        """(B,) mean KL(watermarked ‖ unwatermarked), in nats per token, over each row's sampling steps."""
        if not self._kls:
            raise RuntimeError("nothing recorded yet: pass this processor to GPT.generate first")
        return torch.stack(self._kls, dim=1).mean(dim=1).cpu()
