"""From solutions to exercises (and to nbgrader), and running a notebook.

Solutions are the source of truth. In a solution notebook the answer sits
between two marker lines (the nbgrader convention):

    def log_gaussian(x, mean, cov):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

``make_exercise`` replaces each such block with a stub that raises
NotImplementedError, and clears all outputs; ``mark_for_nbgrader`` gives a solution
notebook nbgrader's cell metadata. Grading lives in :mod:`gencourse.grader`.
"""
from __future__ import annotations

import copy
import re
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


MANIFEST = ".generated.json"   # in exercises/: the hash of what the generator last wrote to each file


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_exercises(solutions_dir: Path, exercises_dir: Path, force: bool = False) -> list[Path]:
    """Write exercises/NN_slug.ipynb for every solutions/NN_slug.ipynb; return the paths.

    Never destroys a learner's work: a file that differs from what the generator last wrote
    there (recorded in ``exercises/.generated.json``) is left alone and a ValueError says what
    to do, unless ``force``.
    """
    import json

    exercises_dir = Path(exercises_dir)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = exercises_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    targets = [(sol, exercises_dir / sol.name) for sol in sorted(Path(solutions_dir).glob("[0-9][0-9]_*.ipynb"))]
    edited = [t for _, t in targets if t.exists() and manifest.get(t.name) != _digest(t)]
    if edited and not force:
        raise ValueError(
            f"{', '.join(str(t) for t in edited)} differ(s) from what the generator last wrote (your answers?): "
            "nothing was overwritten. Keep your work with `gencourse start NN` (a copy in work/), then "
            "rerun with --force to regenerate")
    written = []
    for sol, target in targets:
        nbformat.write(make_exercise(nbformat.read(sol, as_version=4)), target)
        manifest[target.name] = _digest(target)
        written.append(target)
    manifest_path.write_text(json.dumps(dict(sorted(manifest.items())), indent=1) + "\n")
    return written


def start_work(exercises_dir: Path, work_dir: Path, chapter: str) -> Path:
    """Copy exercises/NN_slug.ipynb to work/NN_slug.ipynb for a learner to fill in; an existing
    copy is never overwritten (ValueError)."""
    import shutil

    matches = sorted(Path(exercises_dir).glob(f"{chapter}_*.ipynb"))
    if not matches:
        raise ValueError(f"no exercises for chapter {chapter!r}; chapters: "
                         + ", ".join(sorted({p.name[:2] for p in Path(exercises_dir).glob('[0-9][0-9]_*.ipynb')})))
    target = Path(work_dir) / matches[0].name
    if target.exists():
        raise ValueError(f"{target} already exists (your work): open it, or move it away to start afresh")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(matches[0], target)
    return target


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
