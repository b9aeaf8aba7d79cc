"""Checks for the exercise notebooks, with feedback a learner can act on.

Each exercise has an id "CC.N" (chapter, number). In a notebook:

    from gencourse.exercises import check
    check("00.1", log_gaussian)

prints a short "passed" line, or raises ``ExerciseFailed`` whose message says
which part is wrong (type, shape, dtype, range, value) with the expected and the
received values. An unfinished exercise (its stub raises NotImplementedError)
fails with "not done yet".
"""
from __future__ import annotations

from gencourse.exercises.feedback import (
    EXERCISES, Exercise, ExerciseFailed, check, exercises_for_chapter,
)
from gencourse.exercises import ch00, ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10  # noqa: F401  (register the checks)

__all__ = ["EXERCISES", "Exercise", "ExerciseFailed", "check", "exercises_for_chapter"]
