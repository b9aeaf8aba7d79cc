"""Character-level tokenisation: one token per Unicode character seen in the text.

The simplest tokeniser a language model can use, and the one chapter 06 starts with:
the vocabulary is the sorted set of characters of the text it is fitted on, so every
string made of those characters round-trips exactly. Byte-pair encoding (``bpe.py``)
builds on it by merging frequent pairs into longer tokens.
"""
from __future__ import annotations

from collections.abc import Iterable


class CharTokenizer:
    """Maps each character of a fixed alphabet to an id in [0, vocab_size).

    >>> tok = CharTokenizer.fit("hello")
    >>> tok.encode("hello")
    [1, 0, 2, 2, 3]
    >>> tok.decode([1, 0, 2, 2, 3])
    'hello'
    """

    def __init__(self, chars: Iterable[str]) -> None:
        chars = list(chars)
        if not chars:
            raise ValueError("a CharTokenizer needs at least one character; fit it on non-empty text")
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("every vocabulary entry must be a single character (a str of length 1)")
        if len(set(chars)) != len(chars):
            raise ValueError("the vocabulary holds a character twice; pass distinct characters")
        self.chars: list[str] = chars
        self.index: dict[str, int] = {c: i for i, c in enumerate(chars)}

    @classmethod
    def fit(cls, text: str | Iterable[str]) -> CharTokenizer:
        """The tokenizer whose vocabulary is the sorted set of characters in ``text``
        (a string, or an iterable of strings such as a list of names)."""
        pieces = [text] if isinstance(text, str) else list(text)
        return cls(sorted(set().union(*map(set, pieces)))) if pieces else cls([])

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``'s characters; a one-line error names a character outside the vocabulary."""
        try:
            return [self.index[c] for c in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the tokenizer's vocabulary of "
                             f"{self.vocab_size} characters; fit the tokenizer on text that contains it") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The string for ``ids`` (ints in [0, vocab_size))."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is outside [0, {self.vocab_size})")
            out.append(self.chars[i])
        return "".join(out)

    def to_dict(self) -> dict:
        """A JSON-serialisable description; ``CharTokenizer.from_dict`` rebuilds it."""
        return {"type": "char", "chars": "".join(self.chars)}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        if data.get("type") != "char":
            raise ValueError(f"not a character tokenizer description (type={data.get('type')!r})")
        return cls(list(data["chars"]))

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
