"""Exercise notebooks: generated from the solutions, failing on the stubs, passing when solved."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from gencourse.assignments import make_exercise, strip_solutions
from gencourse.exercises import EXERCISES, exercises_for_chapter
from gencourse.grader import grade_notebook

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_solution_notebooks():
    assert SOLUTIONS, "no solution notebooks found"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_exercises_are_exactly_what_the_generator_makes(solution):
    committed = nbformat.read(ROOT / "exercises" / solution.name, as_version=4)
    generated = make_exercise(nbformat.read(solution, as_version=4))
    assert [c.source for c in committed.cells] == [c.source for c in generated.cells], (
        f"exercises/{solution.name} is out of date: run `gencourse exercises`")
    assert all(not c.get("outputs") for c in committed.cells if c.cell_type == "code")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_every_registered_exercise_is_checked_in_its_solution(solution):
    chapter = solution.name[:2]
    registered = {e.id for e in exercises_for_chapter(chapter)}
    text = "\n".join(c.source for c in nbformat.read(solution, as_version=4).cells)
    assert registered, f"chapter {chapter} registers no exercises"
    for exercise_id in registered:
        assert f'check("{exercise_id}"' in text, f"{solution.name} never checks {exercise_id}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_checks_fail_on_stubs_and_pass_on_solutions(solution):
    stub_report = grade_notebook(ROOT / "exercises" / solution.name, save=False)
    assert stub_report.exercises, "no exercise results"
    assert {e.id for e in stub_report.exercises} == {e.id for e in exercises_for_chapter(solution.name[:2])}
    for result in stub_report.exercises:
        assert not result.passed, f"{result.id} passes on the unsolved stub"
        assert "not done yet" in result.message, result.message
    solved_report = grade_notebook(solution, save=False)
    failed = [r for r in solved_report.exercises if not r.passed]
    assert not failed and solved_report.status == "graded", solved_report.text()


def test_strip_solutions_keeps_indentation_and_stubs_the_block():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    stripped = strip_solutions(source)
    assert "return x + 1" not in stripped
    assert "    raise NotImplementedError" in stripped
    assert stripped.startswith("def f(x):")


@pytest.mark.parametrize("bad", [
    "### BEGIN SOLUTION\nx = 1\n",
    "x = 1\n### END SOLUTION\n",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
])
def test_strip_solutions_rejects_unbalanced_markers(bad):
    with pytest.raises(ValueError, match="SOLUTION"):
        strip_solutions(bad)


def test_exercise_ids_are_well_formed():
    for exercise_id, ex in EXERCISES.items():
        chapter, number = exercise_id.split(".")
        assert len(chapter) == 2 and chapter.isdigit() and number.isdigit(), exercise_id
        assert ex.title
