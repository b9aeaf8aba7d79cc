"""From solutions to exercises, and grading a learner's exercise notebook.

Solutions are the source of truth. In a solution notebook the answer sits
between two marker lines (the nbgrader convention):

    def log_gaussian(x, mean, cov):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

``make_exercise`` replaces each such block with a stub that raises
NotImplementedError, and clears all outputs. ``grade`` executes a notebook and
reports, for every exercise of its chapter, whether its ``check("CC.N", ...)``
cell ran without error.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your code here")'
CHECK_CALL = re.compile(r"""^\s*check\(\s*["'](\d\d\.\d+)["']""", re.MULTILINE)


def strip_solutions(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block in ``source`` with an indented stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"line {number}: {BEGIN} inside another solution block")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}{STUB}")
        elif marker == END:
            if not inside:
                raise ValueError(f"line {number}: {END} without a matching {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without a matching {END}")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a solution notebook: answers stubbed, outputs cleared."""
    nb = copy.deepcopy(solution)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return nb


def mark_for_nbgrader(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give every cell of a solution notebook nbgrader's metadata, derived from the markers.

    A code cell holding a BEGIN/END SOLUTION block becomes an nbgrader *solution* cell
    (``nbgrader generate_assignment`` replaces the block with a stub); a code cell calling
    ``check("CC.N", ...)`` becomes an autograded *test* cell worth one point per check (it
    fails by raising, so a stub scores 0); every other cell is locked read-only. Returns ``nb``,
    changed in place.
    """
    for index, cell in enumerate(nb.cells):
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        checks = CHECK_CALL.findall(source) if cell.cell_type == "code" else []
        solution = cell.cell_type == "code" and any(line.strip() == BEGIN for line in source.splitlines())
        if solution and checks:
            raise ValueError(f"cell {index}: an answer and its check({checks[0]!r}, ...) must sit in "
                             "separate cells for nbgrader")
        meta = {"grade": bool(checks), "locked": not solution, "schema_version": 3,
                "solution": solution, "task": False}
        if checks:
            meta["grade_id"] = "check-" + "-".join(c.replace(".", "_") for c in checks)
            meta["points"] = len(checks)
        else:
            meta["grade_id"] = f"{'answer' if solution else 'cell'}-{index}"
        cell.metadata["nbgrader"] = meta
    return nb


def build_exercises(solutions_dir: Path, exercises_dir: Path) -> list[Path]:
    """Write exercises/NN_slug.ipynb for every solutions/NN_slug.ipynb; return the paths."""
    exercises_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for sol in sorted(Path(solutions_dir).glob("[0-9][0-9]_*.ipynb")):
        target = Path(exercises_dir) / sol.name
        nbformat.write(make_exercise(nbformat.read(sol, as_version=4)), target)
        written.append(target)
    return written


@dataclass
class ExerciseResult:
    id: str
    title: str
    passed: bool
    message: str


@dataclass
class Report:
    notebook: Path
    results: list[ExerciseResult] = field(default_factory=list)

    @property
    def score(self) -> tuple[int, int]:
        return sum(r.passed for r in self.results), len(self.results)

    def text(self) -> str:
        lines = [f"Exercises in {self.notebook}:"]
        for r in self.results:
            mark = "PASS" if r.passed else "FAIL"
            lines.append(f"  [{mark}] {r.id} {r.title}" + ("" if r.passed else f"\n         {r.message}"))
        got, total = self.score
        lines.append(f"Score: {got}/{total}")
        return "\n".join(lines)


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600,
            allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh kernel of the current Python environment."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def chapter_of(path: Path) -> str:
    match = re.match(r"(\d\d)_", Path(path).name)
    if not match:
        raise ValueError(f"{path} is not named like NN_slug.ipynb, so its chapter is unknown")
    return match.group(1)


def grade(path: Path, timeout: int = 600) -> Report:
    """Execute the notebook at ``path`` (errors allowed) and report each exercise's check."""
    from gencourse.exercises import exercises_for_chapter

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no notebook at {path}")
    expected = exercises_for_chapter(chapter_of(path))
    if not expected:
        raise ValueError(f"chapter {chapter_of(path)} has no registered exercises")
    nb = execute(nbformat.read(path, as_version=4), path.parent.resolve(), timeout,
                 allow_errors=True)
    outcome: dict[str, tuple[bool, str]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for exercise_id in CHECK_CALL.findall(cell.source):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if cell.get("execution_count") is None:
                outcome[exercise_id] = (False, "the check cell did not run")
            elif errors:
                outcome[exercise_id] = (False, f"{errors[0]['ename']}: {errors[0]['evalue']}")
            else:
                outcome[exercise_id] = (True, "")
    report = Report(path)
    for ex in expected:
        passed, message = outcome.get(ex.id, (False, f'no cell calls check("{ex.id}", ...)'))
        report.results.append(ExerciseResult(ex.id, ex.title, passed, message))
    return report
