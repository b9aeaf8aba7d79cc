"""The wrong-answer catalogue: plausible mistakes for every exercise, and the feedback each must get.

One module per chapter (``ch00.py`` ...) defines ``WRONG: list[WrongAnswer]``. The test
``tests/test_wrong_answers.py`` runs every entry through ``check`` and asserts that it
fails with a message matching ``feedback`` (a regular expression that names the
mistake), and that every registered exercise has at least three entries, among them
the classic mistake of that exercise and a NaN or wrong-type answer. A chapter that
adds an exercise adds its wrong answers here in the same change.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KINDS = ("classic", "nan", "type", "other")


@dataclass(frozen=True)
class WrongAnswer:
    exercise: str                  # "CC.N"
    kind: str                      # one of KINDS: the exercise's classic mistake, a NaN, a wrong type, other
    label: str                     # what the mistake is, in a few words (the test id)
    answers: Callable[[], tuple[Any, ...]]  # builds the arguments passed to check(exercise, *answers)
    feedback: str                  # regular expression the failure message must match

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {KINDS}")


def one(answer: Any) -> Callable[[], tuple[Any, ...]]:
    """``answers`` for the common case of a single answer (usually the learner's function)."""
    return lambda: (answer,)
