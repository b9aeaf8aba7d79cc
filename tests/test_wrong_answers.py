"""Every exercise check rejects the catalogue's plausible wrong answers with feedback that names the mistake."""
from __future__ import annotations

import importlib
import re
from collections import defaultdict
from pathlib import Path

import pytest

from gencourse.exercises import EXERCISES, ExerciseFailed, check
from wrong_answers import WrongAnswer

CATALOGUE_DIR = Path(__file__).parent / "wrong_answers"
CHAPTERS = sorted(p.stem for p in CATALOGUE_DIR.glob("ch[0-9][0-9].py"))
CATALOGUE: list[WrongAnswer] = [w for ch in CHAPTERS
                                for w in importlib.import_module(f"wrong_answers.{ch}").WRONG]


def test_every_exercise_has_at_least_three_wrong_answers_including_the_classic_and_a_nan_or_type():
    by_exercise: dict[str, list[WrongAnswer]] = defaultdict(list)
    for wrong in CATALOGUE:
        assert wrong.exercise in EXERCISES, f"catalogue entry for unknown exercise {wrong.exercise}"
        by_exercise[wrong.exercise].append(wrong)
    missing = []
    for exercise_id in sorted(EXERCISES):
        kinds = [w.kind for w in by_exercise[exercise_id]]
        if len(kinds) < 3 or "classic" not in kinds or not {"nan", "type"} & set(kinds):
            missing.append(f"{exercise_id}: {kinds}")
    assert not missing, "exercises whose catalogue is incomplete:\n" + "\n".join(missing)


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: f"{w.exercise}-{w.kind}-{w.label}")
def test_wrong_answer_fails_with_feedback_that_names_the_mistake(wrong):
    with pytest.raises(ExerciseFailed) as failure:
        check(wrong.exercise, *wrong.answers())
    message = str(failure.value)
    assert message.startswith(f"Exercise {wrong.exercise} "), message
    assert re.search(wrong.feedback, message), (
        f"the feedback does not name the mistake ({wrong.feedback!r}):\n{message}")
