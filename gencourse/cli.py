"""The ``gencourse`` command.

    gencourse list                 the chapters and their notebooks
    gencourse build [NN ...]       turn paired .py files into executed notebooks
                                   (lessons and solutions), then regenerate exercises/
    gencourse exercises            regenerate exercises/ from solutions/
    gencourse check NOTEBOOK       run a learner's exercise notebook; per-exercise report
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

KERNELSPEC = {"name": "gencourse", "display_name": "Python (gencourse)", "language": "python"}


def repo_root() -> Path:
    """The course checkout: the folder holding notebooks/ (the current one or a parent)."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "notebooks").is_dir() and (folder / "solutions").is_dir():
            return folder
    raise SystemExit("run this inside the course checkout (no notebooks/ and solutions/ found)")


def chapter_notebooks(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cmd_list(_: argparse.Namespace) -> int:
    root = repo_root()
    for nb in chapter_notebooks(root):
        twins = [d for d in ("exercises", "solutions") if (root / d / nb.name).exists()]
        print(f"{nb.stem:32s} " + (" + ".join(twins) if twins else "(lesson only)"))
    return 0


def build_one(py_file: Path, execute: bool = True) -> float:
    """py:percent -> executed .ipynb next to it; returns seconds taken."""
    import jupytext
    import nbformat

    from gencourse.assignments import execute as run_notebook

    start = time.perf_counter()
    nb = jupytext.read(py_file)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    if execute:
        run_notebook(nb, py_file.parent.resolve())
    target = py_file.with_suffix(".ipynb")
    nbformat.write(nb, target)
    # Rewrite the .py from the notebook so both sides of the pair agree exactly.
    jupytext.write(nbformat.read(target, as_version=4), py_file, fmt="py:percent")
    return time.perf_counter() - start


def cmd_build(args: argparse.Namespace) -> int:
    from gencourse.assignments import build_exercises

    root = repo_root()
    sources = sorted([*(root / "notebooks").glob("[0-9][0-9]_*.py"),
                      *(root / "solutions").glob("[0-9][0-9]_*.py")])
    if args.chapters:
        sources = [p for p in sources if p.name[:2] in set(args.chapters)]
    for py_file in sources:
        seconds = build_one(py_file, execute=not args.no_execute)
        print(f"built {py_file.relative_to(root).with_suffix('.ipynb')} in {seconds:.1f} s")
    for path in build_exercises(root / "solutions", root / "exercises"):
        print(f"wrote {path.relative_to(root)}")
    return 0


def cmd_exercises(_: argparse.Namespace) -> int:
    from gencourse.assignments import build_exercises

    root = repo_root()
    for path in build_exercises(root / "solutions", root / "exercises"):
        print(f"wrote {path.relative_to(root)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gencourse.assignments import grade

    report = grade(Path(args.notebook), timeout=args.timeout)
    print(report.text())
    got, total = report.score
    return 0 if got == total else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gencourse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the chapters").set_defaults(func=cmd_list)
    build = sub.add_parser("build", help="build (and execute) lesson and solution notebooks")
    build.add_argument("chapters", nargs="*", help="two-digit chapter numbers (default: all)")
    build.add_argument("--no-execute", action="store_true", help="convert without executing")
    build.set_defaults(func=cmd_build)
    sub.add_parser("exercises", help="regenerate exercises/ from solutions/").set_defaults(
        func=cmd_exercises)
    check = sub.add_parser("check", help="grade a learner's exercise notebook")
    check.add_argument("notebook", help="e.g. exercises/00_generative_ai.ipynb")
    check.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    check.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
