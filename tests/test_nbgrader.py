"""The solution notebooks work with nbgrader unchanged: proven by running nbgrader itself.

nbgrader is the instructor extra (``pip install -e .[instructor]``); ``course.py test``
installs it when ``CI`` is set. Without it these tests are skipped on a learner's machine
and fail under CI.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gencourse.assignments import BEGIN, CHECK_CALL, mark_for_nbgrader

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
# Two quick chapters (their solutions run in seconds) graded by nbgrader end to end.
GRADED = ["00_generative_ai", "05_attention"]


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_cells_carry_the_nbgrader_metadata_their_markers_imply(solution):
    stored = _cells(solution)
    assert all("nbgrader" in c.metadata for c in stored), (
        f"{solution.name}: cells without nbgrader metadata: run `gencourse build {solution.name[:2]}`")
    expected = mark_for_nbgrader(nbformat.read(solution, as_version=4)).cells
    assert [c.metadata["nbgrader"] for c in stored] == [c.metadata["nbgrader"] for c in expected]
    answers = [c for c in stored if c.metadata["nbgrader"]["solution"]]
    graded = [c for c in stored if c.metadata["nbgrader"]["grade"]]
    assert answers and all(BEGIN in c.source for c in answers)
    assert sum(c.metadata["nbgrader"]["points"] for c in graded) == len(CHECK_CALL.findall(
        "\n".join(c.source for c in stored if c.cell_type == "code")))
    ids = [c.metadata["nbgrader"]["grade_id"] for c in stored]
    assert len(ids) == len(set(ids)), "nbgrader grade ids must be unique"


def test_an_answer_and_its_check_in_one_cell_is_refused():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"def f():\n    {BEGIN}\n    return 1\n    ### END SOLUTION\n"
                                          'check("00.1", f)')]
    with pytest.raises(ValueError, match="separate cells"):
        mark_for_nbgrader(nb)


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader shells out to alembic, which lives beside this Python.
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def nbgrader_available():
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must test nbgrader: install the instructor extra (course.py test does when CI is set)")
        pytest.skip("nbgrader is not installed: `.venv/bin/pip install -e .[instructor]` to run this test")


@pytest.mark.parametrize("chapter", GRADED)
def test_nbgrader_releases_without_solutions_and_autogrades_solution_full_and_stub_zero(
        chapter, tmp_path, nbgrader_available):
    course = tmp_path / "course"
    assignment = f"ch{chapter[:2]}"
    (course / "source" / assignment).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'gencourse'\n"
        "c.ExecutePreprocessor.timeout = 300\n")
    name = f"{chapter}.ipynb"
    shutil.copy(ROOT / "solutions" / name, course / "source" / assignment / name)
    _nbgrader(course, "generate_assignment", assignment, "--create", "--force")
    released = course / "release" / assignment / name
    release_text = released.read_text()
    solution_cells = [c for c in _cells(ROOT / "solutions" / name) if c.metadata["nbgrader"]["solution"]]
    for cell in solution_cells:   # every answer's body is gone from the release
        body = cell.source.split(BEGIN, 1)[1].split("### END SOLUTION", 1)[0].strip().splitlines()
        assert all(line.strip() not in release_text for line in body if len(line.strip()) > 12), cell.source
    assert release_text.count("NotImplementedError") >= len(solution_cells)

    for student, notebook in (("solver", ROOT / "solutions" / name), ("idler", released)):
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / name)
    _nbgrader(course, "autograde", assignment, "--create", "--force")

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        solver = gradebook.find_submission(assignment, "solver")
        idler = gradebook.find_submission(assignment, "idler")
        checks = len(CHECK_CALL.findall("\n".join(c.source for c in _cells(released) if c.cell_type == "code")))
        assert solver.max_score == checks > 0
        assert solver.score == solver.max_score, f"the solution scored {solver.score}/{solver.max_score}"
        assert idler.score == 0, f"the untouched release scored {idler.score}/{idler.max_score}"
