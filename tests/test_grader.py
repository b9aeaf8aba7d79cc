"""The class grader under hostile and broken submissions: each gets the score it earned, with a
clear reason, and the grader neither crashes nor hangs. Also `gencourse check` on one notebook,
and the commands that must never destroy a learner's work."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from gencourse.assignments import MANIFEST, build_exercises, start_work
from gencourse.cli import main
from gencourse.grader import grade_class, grade_notebook

ROOT = Path(__file__).resolve().parents[1]
NAME = "00_generative_ai.ipynb"
CODE = {"check 00.1": 3, "answer 00.2": 4, "check 00.2": 5, "answer 00.3": 6, "check 00.3": 7}  # code cells


def _notebook(kind: str = "solutions") -> nbformat.NotebookNode:
    return nbformat.read(ROOT / kind / NAME, as_version=4)


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _with(source_by_cell: dict[int, str], kind: str = "solutions", insert: dict[int, str] | None = None):
    """The chapter-00 solution (or exercise) with code cells replaced (1-based) or inserted after."""
    nb = _notebook(kind)
    cells = _code(nb)
    for index, source in source_by_cell.items():
        cells[index - 1].source = source
    for after, source in sorted((insert or {}).items(), reverse=True):
        nb.cells.insert(nb.cells.index(cells[after - 1]) + 1, nbformat.v4.new_code_cell(source))
    return nb


ANSWER_00_2 = _code(nbformat.read(ROOT / "solutions" / NAME, as_version=4))[CODE["answer 00.2"] - 1].source


def _submissions() -> dict[str, nbformat.NotebookNode | str]:
    stub = _notebook("exercises")
    deleted = _notebook()
    deleted.cells.remove(_code(deleted)[CODE["check 00.2"] - 1])
    reordered = _notebook()
    answer = _code(reordered)[CODE["answer 00.3"] - 1]
    reordered.cells.remove(answer)
    reordered.cells.append(answer)       # defined only after its check has run
    merged = _notebook()
    answer_cell, check_cell = _code(merged)[1], _code(merged)[CODE["check 00.1"] - 1]
    check_cell.source = answer_cell.source + "\n\n" + check_cell.source   # an answer typed into its check cell
    merged.cells.remove(answer_cell)
    return {
        "solved": _notebook(),
        "answer_in_check_cell": merged,
        "untouched": stub,
        "syntax_error": _with({CODE["answer 00.2"]: "def responsibilities(x, weights, means, covs:\n    return x\n"}),
        "exception": _with({}, insert={1: "raise RuntimeError('boom')"}),
        "infinite_loop": _with({}, insert={CODE["check 00.2"]: "while True:\n    pass"}),
        "memory_bomb": _with({}, insert={1: "hog = bytearray(64 * 1024 ** 3)"}),
        "sys_exit": _with({}, insert={1: "import sys\nsys.exit(0)"}),
        "os_exit": _with({}, insert={CODE["check 00.1"]: "import os\nos._exit(0)"}),
        "deleted_check": deleted,
        "reordered": reordered,
        "redefined_check": _with({1: _code(stub)[0].source + "\ncheck = lambda *a, **k: print('✔ passed')"},
                                 kind="exercises"),
        "patched_checker": _with({1: _code(stub)[0].source + (
            "\nimport gencourse.exercises.feedback as fb, gencourse.exercises as ge\n"
            "for ex in list(fb.EXERCISES.values()):\n"
            "    fb.EXERCISES[ex.id] = fb.Exercise(ex.id, ex.title, lambda *a, **k: None)\n"
            "ge.check = fb.check = lambda *a, **k: print('✔ passed')\n"
            "import gencourse.exercises.ch00 as ch00\nch00.expect_close = lambda *a, **k: None")}, kind="exercises"),
        "fake_pass": _with({CODE["check 00.1"]: "print('✔ Exercise 00.1: passed')\nprint('[PASS] 00.1')"},
                           kind="exercises"),
        "replaced_runner": _with({1: _code(stub)[0].source + (
            "\nfor _k in [k for k in list(globals()) if k.startswith('_gencourse_check_')]:\n"
            "    globals()[_k] = lambda *a, **k: None")}, kind="exercises"),
        "hidden_errors": _with({1: _code(stub)[0].source + (
            "\nget_ipython().set_custom_exc((Exception,), lambda *a, **k: None)")}, kind="exercises"),
        "rewrites_grader_cells": _with({1: _code(stub)[0].source + (
            "\nget_ipython().input_transformers_post.append(\n"
            "    lambda lines: ['pass\\n'] if any('_gencourse_check_' in l for l in lines) else lines)")},
            kind="exercises"),
        "check_in_a_string": _with({}, insert={1: 'note = """\ncheck("00.2", responsibilities)\n"""'}),
        "answer_under_a_magic": _with({CODE["answer 00.2"]: _code(stub)[CODE["answer 00.2"] - 1].source,
                                       CODE["check 00.2"]: "%%time\n" + ANSWER_00_2 + '\ncheck("00.2", responsibilities)'}),
        "try_except": _with({i: f"try:\n    {_code(stub)[i - 1].source}\nexcept Exception:\n    pass"
                             for i in (3, 5, 7, 9, 11)}, kind="exercises"),
        "writes_outside": _with({}, insert={1: "open('../outside.txt', 'w').write('x')"}),
        "not_json": "this is not a notebook",
        "other_chapter": nbformat.read(ROOT / "solutions" / "01_latent_spaces.ipynb", as_version=4),
        "notes.txt": "my notes",
    }


EXPECTED = {   # submission -> (score, a phrase its report must contain)
    "solved": (5, ""),
    "answer_in_check_cell": (5, ""),
    "untouched": (0, "not done yet"),
    "syntax_error": (4, "syntax error"),
    "exception": (5, "RuntimeError: boom"),
    "infinite_loop": (5, "timed out"),
    "memory_bomb": (5, "MemoryError"),
    "sys_exit": (5, "SystemExit"),
    "os_exit": (1, "kernel died"),
    "deleted_check": (5, ""),
    "reordered": (4, "m_step"),
    "redefined_check": (0, "not done yet"),
    "patched_checker": (0, "not done yet"),
    "fake_pass": (0, "not done yet"),
    "replaced_runner": (0, "interfered with the grader"),
    "hidden_errors": (0, "interfered with the grader"),
    "rewrites_grader_cells": (0, "interfered with the grader"),
    "check_in_a_string": (5, ""),
    "answer_under_a_magic": (5, ""),
    "try_except": (0, "not done yet"),
    "writes_outside": (5, ""),
    "not_json": (0, "not a readable notebook"),
    "other_chapter": (0, "chapter 01's notebook"),
    "notes.txt": (0, "not a notebook"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for student, nb in _submissions().items():
        (folder / student).mkdir()
        name = student if student.endswith(".txt") else (
            "01_latent_spaces.ipynb" if student == "other_chapter" else NAME)
        target = folder / student / name
        if isinstance(nb, str):
            target.write_text(nb)
        else:
            nbformat.write(nb, target)
    out = folder.parent / f"{folder.name}-grades.csv"
    reports = grade_class(folder, out, chapter="00", jobs=2, cell_timeout=20, total_timeout=240, memory_mb=3072)
    rows = {row["submission"].split("/")[0]: row for row in csv.DictReader(out.open())}
    return folder, out, reports, rows


def test_there_are_at_least_ten_kinds_of_hostile_or_broken_submission():
    assert len(set(EXPECTED) - {"solved", "untouched", "answer_in_check_cell", "check_in_a_string"}) >= 10
    assert set(EXPECTED) == set(_submissions())


@pytest.mark.parametrize("student", list(EXPECTED))
def test_each_submission_gets_the_score_it_earned_with_a_clear_reason(graded, student):
    folder, out, reports, rows = graded
    score, phrase = EXPECTED[student]
    row = rows[student]
    report_file = out.with_name(out.stem + "-reports") / (row["submission"].replace("/", "__") + ".txt")
    text = report_file.read_text()
    assert int(row["score"]) == score, f"{student}: {row['score']}/{row['max']}\n{text}"
    assert phrase in text, f"{student}: the report should say {phrase!r}:\n{text}"
    assert int(row["max"]) == 5, "with --chapter 00, every submission is marked out of chapter 00's 5 checks"


def test_syntax_errors_are_shown_where_they_are(graded):
    _, out, _, rows = graded
    text = out.with_name(out.stem + "-reports").joinpath(
        rows["syntax_error"]["submission"].replace("/", "__") + ".txt").read_text()
    assert "code cell 4: syntax error: SyntaxError" in text and "line 1 of the cell" in text


def test_relative_writes_land_in_a_throwaway_folder_and_submissions_are_not_modified(graded):
    folder, *_ = graded
    assert not (folder / "outside.txt").exists() and not (folder / "writes_outside" / "outside.txt").exists()
    solved = folder / "solved" / NAME
    assert nbformat.read(solved, as_version=4).cells[0].source == _notebook().cells[0].source
    assert (folder / "solved" / "00_generative_ai.graded.ipynb").exists(), "the executed copy is saved beside it"


def test_summary_gives_the_score_distribution_and_pass_rates(graded):
    _, out, _, _ = graded
    summary = out.with_name(out.stem + "-summary.txt").read_text()
    assert f"{len(EXPECTED)} submissions" in summary and "pass rate per exercise" in summary and "00.5" in summary


def test_check_on_one_notebook_reports_every_failing_cell_and_one_line_errors(tmp_path, capsys):
    nb = _with({CODE["answer 00.2"]: "def responsibilities(x, weights, means, covs:\n    return x\n"},
               insert={1: "raise RuntimeError('boom')"})
    path = tmp_path / NAME
    nbformat.write(nb, path)
    assert main(["check", str(path), "--timeout", "30"]) == 1
    out = capsys.readouterr().out
    assert "[PASS] 00.1" in out and "[FAIL] 00.2" in out and "Score: 4/5" in out
    assert "RuntimeError: boom" in out and "syntax error" in out
    assert (tmp_path / "00_generative_ai.graded.ipynb").exists()
    assert main(["check", str(tmp_path / "missing.ipynb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no file at" in err and "Traceback" not in err


def test_check_stops_an_endless_loop_at_its_time_limit(tmp_path):
    nb = _with({}, insert={1: "while True:\n    pass"})
    path = tmp_path / NAME
    nbformat.write(nb, path)
    report = grade_notebook(path, cell_timeout=5, total_timeout=120, save=False)
    assert report.score == (5, 5), report.text()
    assert any(p.kind == "timed out" for p in report.problems)


def test_regenerating_exercises_never_overwrites_a_learners_answers(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(_notebook(), solutions / NAME)
    build_exercises(solutions, exercises)
    manifest = json.loads((exercises / MANIFEST).read_text())
    assert NAME in manifest
    build_exercises(solutions, exercises)                    # unchanged: regenerated quietly
    mine = _notebook("exercises")
    _code(mine)[1].source = "def log_gaussian(x, mean, cov):\n    return 42  # my answer"
    nbformat.write(mine, exercises / NAME)
    with pytest.raises(ValueError, match="nothing was overwritten"):
        build_exercises(solutions, exercises)
    assert "my answer" in (exercises / NAME).read_text()
    build_exercises(solutions, exercises, force=True)
    assert "my answer" not in (exercises / NAME).read_text()


def test_start_gives_a_learner_a_copy_and_never_overwrites_it(tmp_path):
    copy = start_work(ROOT / "exercises", tmp_path / "work", "00")
    assert copy.name == NAME and copy.read_bytes() == (ROOT / "exercises" / NAME).read_bytes()
    with pytest.raises(ValueError, match="already exists"):
        start_work(ROOT / "exercises", tmp_path / "work", "00")
    with pytest.raises(ValueError, match="no exercises for chapter"):
        start_work(ROOT / "exercises", tmp_path / "work", "42")


def test_committed_exercises_match_the_generators_manifest():
    manifest = json.loads((ROOT / "exercises" / MANIFEST).read_text())
    from gencourse.assignments import _digest
    for path in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")):
        assert manifest.get(path.name) == _digest(path), f"{path.name}: run `gencourse exercises`"
