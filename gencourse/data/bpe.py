"""Byte-level byte-pair encoding (BPE), trained from scratch.

Text is first turned into UTF-8 bytes, so the base vocabulary is the 256 byte values
(ids 0-255) and any valid Unicode string round-trips exactly, whatever its script,
emoji or control characters. Training then repeats one step until the vocabulary
reaches ``vocab_size``: count adjacent pairs of ids, and merge the most frequent pair
into a new id (256, 257, ...). Encoding new text applies the learned merges in the
order they were learned.

Before counting, the text is split into chunks with a GPT-2-like regular expression
(``PATTERN``): a word keeps its leading space, digits and punctuation form their own
chunks, and merges never cross a chunk boundary. Training counts each distinct chunk
once, weighted by its frequency, and updates pair counts only for the chunks that
contain the merged pair, so ~200 KB of text trains to 512 tokens in about a second.

    >>> tok = BPETokenizer.train("aaabdaaabac", vocab_size=259)
    >>> tok.merges
    [(97, 97), (97, 98), (256, 257)]
    >>> tok.encode("aaabdaaabac")
    [258, 100, 258, 97, 99]
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

# GPT-2's pre-tokenisation pattern, written for Python's ``re`` (which lacks \p{L}, \p{N}):
# English contractions, a run of letters, a run of digits or a run of other symbols
# (each with at most one leading space), whitespace not followed by a non-space
# (so a space before a word stays with the word), other whitespace. The last
# alternative takes any single character the others missed, so the chunks always
# join back to the text.
PATTERN = (r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+|.")

_BYTES = 256


def pair_counts(ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """How often each adjacent pair occurs in ``ids`` (overlapping: [a, a, a] has (a, a) twice)."""
    return dict(Counter(zip(ids, ids[1:])))


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """``ids`` with every occurrence of ``pair`` replaced by ``new_id``, scanning left to
    right without overlaps: [a, a, a] with pair (a, a) becomes [new_id, a]."""
    a, b = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"the text holds a lone surrogate {text[err.start]!r} at position {err.start}, "
                         "which is not valid Unicode; remove it or decode your bytes without "
                         "errors='surrogateescape'") from None


def _best_pair(counts: dict[tuple[int, int], int]) -> tuple[int, int]:
    """The most frequent pair; among equally frequent pairs, the smallest (a, b)."""
    return max(counts, key=lambda p: (counts[p], -p[0], -p[1]))


def train_merges(text: str, vocab_size: int, pattern: str = PATTERN) -> list[tuple[int, int]]:
    """The list of merges (pair of ids -> id 256 + position in the list) learned from ``text``.

    Each step merges the most frequent adjacent pair within chunks; ties go to the pair
    (a, b) that is smallest as a tuple of ids. Training stops early, with fewer than
    ``vocab_size - 256`` merges, when every chunk has become a single token.
    """
    if not isinstance(vocab_size, int) or vocab_size < _BYTES:
        raise ValueError(f"vocab_size={vocab_size!r} but a byte-level BPE needs at least the 256 byte "
                         "values; pass vocab_size >= 256 (256 means no merges)")
    if not isinstance(text, str) or not text:
        raise ValueError("cannot train a BPE on empty text; pass a non-empty string")
    chunk_freq = Counter(re.findall(pattern, text))
    words: list[list[int]] = [list(_utf8(chunk)) for chunk in chunk_freq]
    freqs: list[int] = list(chunk_freq.values())

    counts: dict[tuple[int, int], int] = defaultdict(int)  # pair -> frequency-weighted count
    where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> chunks that may hold it
    for w, (ids, f) in enumerate(zip(words, freqs)):
        for pair in zip(ids, ids[1:]):
            counts[pair] += f
            where[pair].add(w)

    merges: list[tuple[int, int]] = []
    while len(merges) < vocab_size - _BYTES and counts:
        pair = _best_pair(counts)
        new_id = _BYTES + len(merges)
        merges.append(pair)
        for w in where.pop(pair):
            old = words[w]
            new = merge_pair(old, pair, new_id)
            if len(new) == len(old):
                continue  # a stale entry: the pair left this chunk in an earlier merge
            f = freqs[w]
            for p in zip(old, old[1:]):
                counts[p] -= f
                if counts[p] == 0:
                    del counts[p]
            for p in zip(new, new[1:]):
                counts[p] += f
                where[p].add(w)
            words[w] = new
        counts.pop(pair, None)
    return merges


class BPETokenizer:
    """A byte-level BPE: ids 0-255 are bytes, id 256 + r is the r-th learned merge.

    merges: list of (left id, right id) pairs in training order; pattern: the
    pre-tokenisation regular expression that splits text into chunks.
    """

    def __init__(self, merges: Iterable[tuple[int, int]] = (), pattern: str = PATTERN) -> None:
        merges = [tuple(int(i) for i in pair) for pair in merges]
        for r, pair in enumerate(merges):
            if len(pair) != 2 or not all(0 <= i < _BYTES + r for i in pair):
                raise ValueError(f"merge {r} is {pair!r}, but merge {r} may only join two ids in "
                                 f"[0, {_BYTES + r}); pass merges in training order")
        self.merges: list[tuple[int, int]] = merges
        self.pattern = pattern
        self._regex = re.compile(pattern)
        self.ranks: dict[tuple[int, int], int] = {pair: r for r, pair in enumerate(merges)}
        if len(self.ranks) != len(merges):
            raise ValueError("the same pair is merged twice; pass each merge once")
        self._bytes: list[bytes] = [bytes([i]) for i in range(_BYTES)]
        for a, b in merges:
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str = PATTERN) -> BPETokenizer:
        """The tokenizer with ``vocab_size - 256`` merges learned from ``text`` (see ``train_merges``)."""
        return cls(train_merges(text, vocab_size, pattern), pattern)

    @property
    def vocab_size(self) -> int:
        return _BYTES + len(self.merges)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes that token ``token_id`` stands for (ids in [0, vocab_size))."""
        token_id = int(token_id)
        if not 0 <= token_id < self.vocab_size:
            raise ValueError(f"token id {token_id} is outside [0, {self.vocab_size})")
        return self._bytes[token_id]

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = list(_utf8(chunk))
        while len(ids) > 1:
            # The earliest-learned merge present; merging it cannot create an earlier one,
            # so this is the same as applying every merge in training order.
            pair = min(zip(ids, ids[1:]), key=lambda p: self.ranks.get(p, len(self.ranks)))
            if pair not in self.ranks:
                break
            ids = merge_pair(ids, pair, _BYTES + self.ranks[pair])
        return ids

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text`` (any valid Unicode string), each in [0, vocab_size)."""
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}; decode bytes first")
        out: list[int] = []
        for chunk in self._regex.findall(text):
            ids = self._cache.get(chunk)
            if ids is None:
                ids = self._encode_chunk(chunk)
                if len(self._cache) < 100_000:
                    self._cache[chunk] = ids
            out.extend(ids)
        return out

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of ``ids``; a token sequence that splits a character gives invalid UTF-8."""
        return b"".join(self.token_bytes(i) for i in ids)

    def decode(self, ids: Iterable[int]) -> str:
        """The string for ``ids``. Exact for any output of ``encode``; byte sequences that
        are not valid UTF-8 (e.g. a lone token from the middle of a character) decode to U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        """A JSON-serialisable description; ``BPETokenizer.from_dict`` rebuilds it."""
        return {"type": "bpe", "pattern": self.pattern, "merges": [list(p) for p in self.merges]}

    @classmethod
    def from_dict(cls, data: dict) -> BPETokenizer:
        if data.get("type") != "bpe":
            raise ValueError(f"not a BPE tokenizer description (type={data.get('type')!r})")
        return cls([tuple(p) for p in data["merges"]], data.get("pattern", PATTERN))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"


def train_bpe(text: str, vocab_size: int, pattern: str = PATTERN) -> BPETokenizer:
    """Same as ``BPETokenizer.train``."""
    return BPETokenizer.train(text, vocab_size, pattern)


def compression_ratio(encode: Callable[[str], Sequence[int]], text: str) -> float:
    """UTF-8 bytes per token when ``encode`` tokenises ``text`` (higher compresses more)."""
    n_tokens = len(encode(text))
    if n_tokens == 0:
        raise ValueError("the text encodes to no tokens; pass non-empty text")
    return len(_utf8(text)) / n_tokens
