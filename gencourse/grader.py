"""Grading exercise notebooks safely: one notebook (``gencourse check``) or a whole class
(``gencourse grade SUBMISSIONS/ --out grades.csv``).

Each notebook runs in its own kernel process, in an empty scratch folder (with its own HOME):

- **time**: every cell has a wall-clock limit (``cell_timeout``); a cell that exceeds it is
  interrupted, reported as "timed out", and grading goes on with the next cell. The whole
  notebook has a limit too (``total_timeout``): past it the grader stops, keeps what it has
  scored, and reports the rest as not run.
- **memory**: where util-linux's ``prlimit`` exists (Linux), the kernel's address space is capped
  (``memory_mb``): a memory bomb fails with a MemoryError in its own cell. Not enforced elsewhere.
- **network**: on Linux, when unprivileged user namespaces are available (``unshare -rn``),
  the kernel runs in an empty network namespace (it talks to the grader over Unix sockets).
  Elsewhere the network is not blocked; the report says which limits were enforced.
- **trusted checks**: the grader never runs the submission's own ``check(...)`` calls. Before
  the submission's first cell it arms a private copy of the checks
  (:mod:`gencourse.exercises.trusted`) and, at the position of each check cell (after any
  other code in that cell; at the end, for check cells that were deleted), runs the canonical
  check of the chapter's solution notebook itself. A check passes only if the grader's own cell
  raised nothing and showed its success marker, never from printed text, so a redefined
  ``check``, a ``try/except`` around it, a patched checker module or a printed "PASS" earn
  nothing. What it cannot stop is said in :mod:`gencourse.exercises.trusted`.

Every failing cell of the submission is reported (a syntax error where it is, with its line),
and the executed copy is saved beside the submission as ``NAME.graded.ipynb`` (the
submission itself is never written).
"""
from __future__ import annotations

import ast
import csv
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from gencourse.assignments import CHECK_CALL, chapter_of

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
GRADED_SUFFIX = ".graded.ipynb"


@dataclass
class CellProblem:
    cell: int          # 1-based position among the submission's code cells
    kind: str          # "syntax error", "error" or "timed out"
    message: str


@dataclass
class ExerciseScore:
    id: str
    title: str
    passed: bool
    message: str = ""


@dataclass
class GradeReport:
    notebook: str
    chapter: str | None
    status: str = "graded"                   # or why it could not be graded
    exercises: list[ExerciseScore] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    limits: str = ""
    seconds: float = 0.0
    executed_copy: str = ""                  # where the executed copy was saved, if it was

    @property
    def score(self) -> tuple[int, int]:
        return sum(e.passed for e in self.exercises), len(self.exercises)

    def text(self) -> str:
        got, total = self.score
        lines = [f"Exercises in {self.notebook}:"]
        if self.status != "graded":
            lines.append(f"  not graded: {self.status}")
        for e in self.exercises:
            lines.append(f"  [{'PASS' if e.passed else 'FAIL'}] {e.id} {e.title}"
                         + ("" if e.passed else f"\n         {e.message}"))
        if self.problems:
            lines.append("Cells that failed:")
            lines += [f"  code cell {p.cell}: {p.kind}: {p.message}" for p in self.problems]
        lines.append(f"Score: {got}/{total}")
        return "\n".join(lines)


class GradingError(ValueError):
    """A submission the grader cannot take (not a notebook, wrong chapter): one-line reason."""


# ----------------------------------------------------------------------------- what to check
def canonical_checks(chapter: str) -> list[tuple[str, list[str]]]:
    """The chapter's checks as its solution notebook calls them: [(id, [argument source])]."""
    candidates = sorted(SOLUTIONS.glob(f"{chapter}_*.ipynb"))
    if not candidates:
        raise GradingError(f"chapter {chapter} has no exercises (no solutions/{chapter}_*.ipynb)")
    checks = []
    for cell in nbformat.read(candidates[0], as_version=4).cells:
        if cell.cell_type != "code" or not CHECK_CALL.search(cell.source):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                checks.append((node.args[0].value, [ast.get_source_segment(cell.source, a) for a in node.args[1:]]))
    return checks


def _load(path: Path, chapter: str | None) -> tuple[nbformat.NotebookNode, str]:
    if not path.exists():
        raise GradingError(f"no file at {path}")
    if path.is_dir():
        raise GradingError(f"{path} is a folder; give the path of an exercise notebook (.ipynb)")
    if path.suffix != ".ipynb":
        raise GradingError(f"{path.name} is not a notebook (expected NN_slug.ipynb)")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        raise GradingError(f"{path.name} is not a readable notebook ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:120] if str(exc) else 'empty'})") from None
    try:
        own = chapter_of(path)
    except ValueError:
        own = None
    if chapter is None:
        if own is None:
            raise GradingError(f"{path.name} is not named NN_slug.ipynb, so its chapter is unknown; "
                               "pass --chapter NN")
        chapter = own
    elif own is not None and own != chapter:
        raise GradingError(f"{path.name} is chapter {own}'s notebook, but chapter {chapter} is being graded")
    return nb, chapter


# ------------------------------------------------------------------------------- the kernel
def _sandbox_prefix(memory_mb: int | None, isolate_network: bool) -> tuple[list[str], list[str]]:
    """(command prefix for the kernel, the limits it enforces) on this machine."""
    prefix, limits = [], []
    if isolate_network and sys.platform.startswith("linux") and shutil.which("unshare"):
        if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
            prefix += ["unshare", "-rn"]
            limits.append("no network")
    if memory_mb and shutil.which("prlimit"):
        prefix += ["prlimit", f"--as={memory_mb * 1024 * 1024}", "--"]
        limits.append(f"memory {memory_mb} MB")
    return prefix, limits


def _kernel_manager(workdir: Path, prefix: list[str]):
    from jupyter_client.manager import AsyncKernelManager

    class Sandboxed(AsyncKernelManager):     # nbclient drives its kernel manager asynchronously
        def format_kernel_cmd(self, extra_arguments=None):
            return prefix + super().format_kernel_cmd(extra_arguments)

    km = Sandboxed(kernel_name="python3")
    km.kernel_spec.argv[0] = sys.executable          # this environment's Python, with gencourse
    if "unshare" in prefix:                            # no loopback inside: talk over Unix sockets
        km.transport, km.ip = "ipc", str(workdir / ".kernel")
    return km


# ------------------------------------------------------------------------------ one notebook
TOP_LEVEL_CHECK = re.compile(r"""^check\(\s*["'](\d\d\.\d+)["']""")
PASSED_MIME = "application/vnd.gencourse.check-passed+json"


def _split_checks(source: str) -> tuple[list[str], str]:
    """The exercise ids of a cell's top-level ``check("NN.k", ...)`` calls, and the cell's code with
    those calls replaced by ``pass`` (line numbers kept, magics and comments untouched), so the
    learner's own code in a check cell still runs. Calls inside strings or blocks do not count."""
    from IPython.core.inputtransformer2 import TransformerManager

    lines = source.splitlines()
    spans: list[tuple[int, int, str]] = []
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
        plain = not source.lstrip().startswith("%%")     # a cell magic hides its body from the parser
    except SyntaxError:
        plain = False
    if plain:
        for node in tree.body:
            call = node.value if isinstance(node, ast.Expr) else None
            if (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "check" and call.args
                    and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
                spans.append((node.lineno - 1, node.end_lineno - 1, call.args[0].value))
    else:             # a syntax error or a cell magic: calls on lines of their own, unindented
        spans = [(i, i, m.group(1)) for i, line in enumerate(lines) if (m := TOP_LEVEL_CHECK.match(line))]
    for first, last, _ in spans:
        lines[first:last + 1] = ["pass"] + [""] * (last - first)
    rest = "\n".join(lines)
    meaningful = [line for line in lines if line.strip() not in ("", "pass") and not line.strip().startswith("#")]
    return [i for *_, i in spans], (rest if meaningful else "")


def _plan(nb: nbformat.NotebookNode, checks: list[tuple[str, list[str]]], runner: str):
    """The cells to run: the submission's code cells, each top-level check call replaced by the
    grader's own call of the canonical check; checks whose cell is missing run at the end.
    Returns [(kind, payload, source, nonce)]: ("cell", position, source, "") or ("check", id, source, nonce)."""
    canonical = dict(checks)
    seen: set[str] = set()
    plan = []
    position = 0

    def check(i: str) -> tuple:
        nonce = secrets.token_hex(8)
        return ("check", i, f"{runner}({i!r}, lambda: ({', '.join(canonical[i])},), {nonce!r})", nonce)

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        position += 1
        ids, rest = _split_checks(cell.source if isinstance(cell.source, str) else "".join(cell.source))
        if not ids:
            plan.append(("cell", position, cell.source, ""))
            continue
        if rest:
            plan.append(("cell", position, rest, ""))
        for i in ids:
            if i in canonical and i not in seen:
                seen.add(i)
                plan.append(check(i))
    plan += [check(i) for i, _ in checks if i not in seen]
    return plan


def _passed(outputs: list, nonce: str) -> bool:
    """Whether the grader's check cell showed its success marker (a failure shows none, whatever
    the submission did to error display)."""
    return any(out.get("output_type") == "display_data" and out.get("data", {}).get(PASSED_MIME, {}).get("nonce") == nonce
               for out in outputs)


def _error_text(outputs: list) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename', 'Error')}: {value[0] if value else ''}".strip()
    return None


def grade_notebook(path: Path | str, chapter: str | None = None, cell_timeout: int = 120,
                   total_timeout: int = 900, memory_mb: int | None = 4096,
                   isolate_network: bool = True, save: bool = True) -> GradeReport:
    """Run one exercise notebook under the limits above and score each exercise of its chapter."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from gencourse.exercises import exercises_for_chapter
    from gencourse.runtime import cache_dir

    path = Path(path)
    start = time.perf_counter()
    try:
        nb, chapter = _load(path, chapter)
        checks = canonical_checks(chapter)
    except GradingError as exc:
        report = GradeReport(str(path), chapter, status=str(exc))
        if chapter is not None:      # the chapter being graded is known: every exercise scores 0
            try:
                report.exercises = [ExerciseScore(i, "", False, f"not graded: {exc}")
                                    for i, _ in canonical_checks(chapter)]
            except GradingError:
                pass
        return report
    titles = {e.id: e.title for e in exercises_for_chapter(chapter)}
    report = GradeReport(str(path), chapter)
    runner = f"_gencourse_check_{secrets.token_hex(8)}"
    plan = _plan(nb, checks, runner)
    outcome: dict[str, ExerciseScore] = {}
    executed = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                   "language": "python"}})
    with tempfile.TemporaryDirectory(prefix="gencourse-grade-") as tmp:
        workdir = Path(tmp) / "work"        # the kernel's working folder: empty, thrown away
        workdir.mkdir()
        prefix, limits = _sandbox_prefix(memory_mb, isolate_network)
        report.limits = ", ".join([f"{cell_timeout} s per cell", f"{total_timeout} s in all", *limits])
        setup = nbformat.v4.new_code_cell(
            f"from gencourse.exercises.trusted import arm as _arm\n{runner} = _arm({PASSED_MIME!r})\ndel _arm")
        cells = [setup] + [nbformat.v4.new_code_cell(source) for _, _, source, _ in plan]
        executed.cells = cells
        home = Path(tmp) / "home"          # no ~/.ipython startup files, no writes into the grader's HOME
        home.mkdir()
        kernel_env = dict(os.environ, HOME=str(home), IPYTHONDIR=str(home / ".ipython"),
                          MPLCONFIGDIR=str(home / ".matplotlib"), GENCOURSE_CACHE=str(cache_dir()))
        client = NotebookClient(
            executed, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": "TimeoutError", "evalue": f"timed out after {cell_timeout} s",
                              "traceback": []},
            km=_kernel_manager(workdir, prefix), resources={"metadata": {"path": str(workdir)}})
        try:
            with client.setup_kernel(cwd=str(workdir), env=kernel_env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL):
                client.execute_cell(setup, 0)
                if _error_text(setup.outputs):
                    raise RuntimeError(f"the grader could not arm its checks: {_error_text(setup.outputs)}")
                for index, ((kind, what, _, nonce), cell) in enumerate(zip(plan, cells[1:]), start=1):
                    if time.perf_counter() - start > total_timeout:
                        report.status = f"stopped after {total_timeout} s (the notebook's time limit)"
                        break
                    began = time.perf_counter()
                    client.execute_cell(cell, index)
                    error = _error_text(cell.outputs)
                    if time.perf_counter() - began >= cell_timeout:    # interrupted by the grader
                        error, kind_of = f"timed out after {cell_timeout} s (an endless loop?)", "timed out"
                    elif error and error.startswith(("SyntaxError", "IndentationError")):
                        kind_of = "syntax error"
                    else:
                        kind_of = "error"
                    if kind == "check":
                        passed = error is None and _passed(cell.outputs, nonce)
                        reason = ("" if passed else _strip_ename(error) if error else
                                  "the check showed no result: the submission interfered with the grader")
                        outcome[what] = ExerciseScore(what, titles.get(what, ""), passed, reason)
                    elif error:
                        report.problems.append(CellProblem(what, kind_of, _locate(error, cell)))
        except DeadKernelError:
            report.status = ("the kernel died (exceeded the memory limit, or exited: sys.exit / os._exit "
                             "stop the notebook)")
        except RuntimeError as exc:
            report.status = str(exc)
    for ex_id, _ in checks:
        report.exercises.append(outcome.get(ex_id, ExerciseScore(
            ex_id, titles.get(ex_id, ""), False, "not run: " + (report.status if report.status != "graded"
                                                                 else "grading stopped before it"))))
    report.seconds = time.perf_counter() - start
    if save:
        report.executed_copy = str(_save_executed(path, nb, executed, plan) or "")
    return report


def _strip_ename(error: str) -> str:
    return error.split(": ", 1)[1] if error.startswith("ExerciseFailed: ") else error


def _locate(error: str, cell) -> str:
    """A syntax error's message with its line in the learner's terms ("line 3 of the cell")
    rather than IPython's temporary file name."""
    match = re.search(r"\((?:[^()]*\.py), line (\d+)\)", error)
    if match:
        return error.replace(match.group(0), f"(line {match.group(1)} of the cell)")
    return error


def _save_executed(path: Path, original: nbformat.NotebookNode, executed: nbformat.NotebookNode, plan) -> Path | None:
    """Write the submission with the outputs this run produced as NAME.graded.ipynb beside it
    (each check cell gets its own code's outputs followed by the grader's check); return its path."""
    if path.name.endswith(GRADED_SUFFIX):
        return None
    copy = nbformat.from_dict(json.loads(json.dumps(original)))
    by_position: dict[int, list] = {}
    for (kind, what, _, _), cell in zip(plan, executed.cells[1:]):
        if kind == "cell":
            by_position.setdefault(what, []).append(cell)
    for (kind, what, _, _), cell in zip(plan, executed.cells[1:]):
        if kind == "check":
            position = next((p for p, c in enumerate(_code_cells(original), start=1)
                             if what in _split_checks(c.source)[0]), None)
            if position is not None:
                by_position.setdefault(position, []).append(cell)
    for position, cell in enumerate(_code_cells(copy), start=1):
        ran = by_position.get(position, [])
        cell.outputs = [out for c in ran for out in c.outputs]
        cell.execution_count = ran[-1].get("execution_count") if ran else None
    target = path.with_name(path.stem + GRADED_SUFFIX)
    try:
        nbformat.write(copy, target)
    except OSError:
        return None   # a read-only submission folder: the report still stands
    return target


def _code_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


# ---------------------------------------------------------------------------------- a class
def _grade_in_subprocess(path: Path, chapter: str | None, options: dict) -> GradeReport:
    """Grade one notebook in a child process, killed with its kernel if it outlives the limit."""
    limit = options["total_timeout"] + 60
    cmd = [sys.executable, "-m", "gencourse.grader", str(path), "--json"]
    if chapter:
        cmd += ["--chapter", chapter]
    for key in ("cell_timeout", "total_timeout", "memory_mb"):
        cmd += [f"--{key.replace('_', '-')}", str(options[key])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    err = ""
    try:
        out, err = proc.communicate(timeout=limit)
        data = json.loads(out.strip().splitlines()[-1])
        report = GradeReport(**{k: v for k, v in data.items() if k not in ("exercises", "problems")})
        report.exercises = [ExerciseScore(**e) for e in data["exercises"]]
        report.problems = [CellProblem(**p) for p in data["problems"]]
        return report
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        status = f"killed after {limit} s"
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        last = [line for line in err.splitlines() if line.strip()][-1:] or [type(exc).__name__]
        status = f"the grader's worker failed: {last[0][:200]}"
    report = GradeReport(str(path), chapter, status=status)
    try:
        own = chapter or chapter_of(path)
        report.exercises = [ExerciseScore(i, "", False, f"not run: {status}") for i, _ in canonical_checks(own)]
    except (ValueError, GradingError):
        pass
    return report


def grade_class(submissions: Path, out_csv: Path, chapter: str | None = None, jobs: int = 2,
                cell_timeout: int = 120, total_timeout: int = 900, memory_mb: int = 4096) -> list[GradeReport]:
    """Grade every file under ``submissions`` (one student per file), ``jobs`` at a time; write
    ``out_csv``, a report per submission in ``<out_csv stem>-reports/`` and ``<out_csv stem>-summary.txt``."""
    from concurrent.futures import ThreadPoolExecutor

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise GradingError(f"{submissions} is not a folder of submissions")
    def ours(p: Path) -> bool:       # an executed copy this grader wrote beside a submission
        return p.name.endswith(GRADED_SUFFIX) and p.with_name(p.name[:-len(GRADED_SUFFIX)] + ".ipynb").exists()
    files = sorted(p for p in submissions.rglob("*") if p.is_file() and not ours(p)
                   and not any(part.startswith(".") for part in p.relative_to(submissions).parts))
    if not files:
        raise GradingError(f"{submissions} holds no files to grade")
    options = dict(cell_timeout=cell_timeout, total_timeout=total_timeout, memory_mb=memory_mb)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        reports = list(pool.map(lambda p: _grade_in_subprocess(p, chapter, options), files))
    ids = sorted({e.id for r in reports for e in r.exercises}, key=lambda i: (i.split(".")[0], int(i.split(".")[1])))
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    folder = out_csv.with_name(out_csv.stem + "-reports")
    folder.mkdir(exist_ok=True)
    with out_csv.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "chapter", "score", "max", *ids, "status", "feedback"])
        for path, r in zip(files, reports):
            name = str(path.relative_to(submissions))
            got, total = r.score
            marks = {e.id: int(e.passed) for e in r.exercises}
            feedback = " | ".join(f"{e.id}: {e.message}" for e in r.exercises if not e.passed)
            writer.writerow([name, r.chapter or "", got, total, *[marks.get(i, "") for i in ids], r.status, feedback])
            (folder / (name.replace(os.sep, "__") + ".txt")).write_text(r.text() + "\n")
    out_csv.with_name(out_csv.stem + "-summary.txt").write_text(summary(reports, ids) + "\n")
    return reports


def summary(reports: list[GradeReport], ids: list[str]) -> str:
    """Score distribution and per-exercise pass rates."""
    lines = [f"{len(reports)} submissions; not graded: {sum(r.status != 'graded' for r in reports)}",
             "scores:"]
    counts: dict[str, int] = {}
    for r in reports:
        got, total = r.score
        counts[f"{got}/{total}"] = counts.get(f"{got}/{total}", 0) + 1
    lines += [f"  {score:>7s}  {n:4d}  {'#' * n}" for score, n in sorted(counts.items())]
    lines.append("pass rate per exercise:")
    for i in ids:
        graded = [e for r in reports for e in r.exercises if e.id == i]
        rate = sum(e.passed for e in graded) / len(graded) if graded else 0.0
        lines.append(f"  {i}  {rate:6.1%}  of {len(graded)}")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    """Worker entry point: grade one notebook and print its report as one JSON line."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gencourse.grader")
    parser.add_argument("notebook")
    parser.add_argument("--chapter")
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--total-timeout", type=int, default=900)
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = grade_notebook(args.notebook, args.chapter, args.cell_timeout, args.total_timeout, args.memory_mb)
    print(json.dumps(asdict(report)) if args.json else report.text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
