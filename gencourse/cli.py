"""The ``gencourse`` command.

    gencourse list                 the chapters and their notebooks
    gencourse build [NN ...]       turn paired .py files into executed notebooks
                                   (lessons and solutions), then regenerate exercises/
    gencourse exercises            regenerate exercises/ from solutions/ (never over your edits)
    gencourse start NN             your own copy of chapter NN's exercises, in work/
    gencourse check NOTEBOOK       grade a learner's exercise notebook; per-exercise report
    gencourse grade DIR --out CSV  grade a class's notebooks (limits, trusted checks) to CSV
    gencourse gpt train FILE       train a character-level GPT on your own text (a time budget)
    gencourse gpt sample DIR       generate text with a GPT trained by `gencourse gpt train`
    gencourse zoo build [NAME ...] train the models later chapters reuse (once; then cached)
    gencourse zoo list             the zoo's models and whether they are cached
    gencourse site [--out DIR]     the course as a static web site, built offline
"""
from __future__ import annotations

import argparse
import math
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


def py_percent_twin(nb) -> str:
    """The py:percent text paired with notebook ``nb``, without jupytext's version line.

    jupytext writes the version that made the file into its header; leaving it out keeps the
    pair byte-identical whichever jupytext release a learner or CI installs.
    """
    import copy

    import jupytext

    nb = copy.deepcopy(nb)
    for cell in nb.cells:          # nbgrader's cell metadata is derived from the markers on build
        cell.metadata.pop("nbgrader", None)
    text = jupytext.writes(nb, fmt="py:percent")
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("#       jupytext_version:"))


def build_one(py_file: Path, execute: bool = True) -> float:
    """py:percent -> executed .ipynb next to it; returns seconds taken."""
    import jupytext
    import nbformat

    from gencourse.assignments import execute as run_notebook
    from gencourse.assignments import mark_for_nbgrader

    start = time.perf_counter()
    nb = jupytext.read(py_file)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    if execute:
        run_notebook(nb, py_file.parent.resolve())
    if py_file.parent.name == "solutions":
        mark_for_nbgrader(nb)
    target = py_file.with_suffix(".ipynb")
    nbformat.write(nb, target)
    # Rewrite the .py from the notebook so both sides of the pair agree exactly.
    py_file.write_text(py_percent_twin(nbformat.read(target, as_version=4)))
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
    try:
        paths = build_exercises(root / "solutions", root / "exercises")
    except ValueError as exc:
        print(f"gencourse build: exercises/ not regenerated: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path.relative_to(root)}")
    return 0


def cmd_exercises(args: argparse.Namespace) -> int:
    from gencourse.assignments import build_exercises

    root = repo_root()
    try:
        paths = build_exercises(root / "solutions", root / "exercises", force=args.force)
    except ValueError as exc:
        print(f"gencourse exercises: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path.relative_to(root)}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    from gencourse.assignments import start_work

    root = repo_root()
    try:
        path = start_work(root / "exercises", root / "work", args.chapter)
    except ValueError as exc:
        print(f"gencourse start: {exc}", file=sys.stderr)
        return 2
    print(f"your copy: {path.relative_to(root)} (grade it with `gencourse check {path.relative_to(root)}`)")
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from gencourse.site import build_site

    root = repo_root()
    out = Path(args.out) if args.out else root / "build" / "site"
    index = build_site(root, out.resolve())
    print(f"site written to {index.parent}: open {index}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gencourse.grader import grade_notebook

    report = grade_notebook(Path(args.notebook), chapter=args.chapter, cell_timeout=args.timeout,
                            total_timeout=args.total_timeout)
    if report.status != "graded" and not report.exercises:
        print(f"gencourse check: {report.status}", file=sys.stderr)
        return 2
    print(report.text())
    saved = f"executed copy: {report.executed_copy}; " if report.executed_copy else ""
    print(f"({saved}limits: {report.limits})")
    got, total = report.score
    return 0 if got == total else 1


def cmd_grade(args: argparse.Namespace) -> int:
    from gencourse.grader import GradingError, grade_class, summary

    try:
        reports = grade_class(Path(args.submissions), Path(args.out), chapter=args.chapter, jobs=args.jobs,
                              cell_timeout=args.timeout, total_timeout=args.total_timeout,
                              memory_mb=args.memory_mb)
    except GradingError as exc:
        print(f"gencourse grade: {exc}", file=sys.stderr)
        return 2
    ids = sorted({e.id for r in reports for e in r.exercises})
    print(summary(reports, ids))
    print(f"grades in {args.out}; one report per submission in "
          f"{Path(args.out).with_name(Path(args.out).stem + '-reports')}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with errors that say where to find the valid options, and no abbreviated
    options (``--temp`` is not silently taken for ``--temperature``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\nrun `{self.prog} --help` to see the options\n")


def read_text_file(path: Path) -> str:
    """The UTF-8 text of ``path``; SystemExit with what to do for a missing, empty or binary file."""
    if not path.is_file():
        raise SystemExit(f"gencourse gpt train: {path} is not a file; give the path of a text file")
    data = path.read_bytes()
    if not data.strip():
        raise SystemExit(f"gencourse gpt train: {path} is empty; give a file with some text in it")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SystemExit(f"gencourse gpt train: {path} looks binary (a NUL byte at offset {nul}); "
                         "give a plain UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SystemExit(f"gencourse gpt train: {path} is not UTF-8 text (invalid byte at offset "
                         f"{err.start}); convert it to UTF-8 or give a plain text file") from None


def cmd_gpt_train(args: argparse.Namespace) -> int:
    from gencourse.threads import configure_threads

    text = read_text_file(Path(args.file))
    threads = configure_threads(args.threads)
    import torch

    from gencourse.models.gpt_train import train_gpt
    out = Path(args.out) if args.out else Path(f"{Path(args.file).stem}-gpt")
    try:
        run = train_gpt(text, seconds=args.seconds, out=out, device=args.device,
                        val_fraction=args.val_fraction, seed=args.seed, progress=not args.quiet)
    except ValueError as err:
        raise SystemExit(f"gencourse gpt train: {err}") from None
    c = run.config
    n_val = int(len(text) * args.val_fraction)
    print(f"model: {c.n_layer} layers x {c.n_embd} wide, {c.n_head} heads, context {c.block_size}, "
          f"{run.model.n_params():,} weights (batch {run.batch_size}, peak lr {run.lr:g}) on "
          f"{run.model.device.type}, {torch.get_num_threads() if threads is None else threads} thread(s)")
    print(f"trained {run.steps:,} steps in {run.seconds:.1f} s "
          f"({run.tokens_per_second:,.0f} tokens/s); train loss {run.train_loss:.3f}")
    print(f"held-out loss: {run.val_loss:.4f} nats per character "
          f"({run.val_loss / math.log(2):.3f} bits) on the last {n_val:,} characters")
    print(f"saved to {out}/ (model.safetensors, config.json, tokenizer.json); "
          f"try: gencourse gpt sample {out}")
    return 0


def cmd_gpt_sample(args: argparse.Namespace) -> int:
    import torch

    from gencourse.models.gpt_train import load_gpt
    try:
        model, tokenizer, _ = load_gpt(args.dir)
    except FileNotFoundError as err:
        raise SystemExit(f"gencourse gpt sample: {err}") from None
    prompt = args.prompt
    if prompt is None:
        prompt = "\n" if "\n" in tokenizer.index else tokenizer.chars[0]
    if not prompt:
        raise SystemExit("gencourse gpt sample: --prompt is empty; give at least one character")
    try:
        ids = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long)
        out = model.generate(ids, args.tokens, temperature=args.temperature, top_k=args.top_k,
                             top_p=args.top_p, greedy=args.greedy,
                             generator=torch.Generator().manual_seed(args.seed))
    except ValueError as err:
        raise SystemExit(f"gencourse gpt sample: {err}") from None
    print(tokenizer.decode(out[0].tolist()))
    return 0


def _add_gpt(sub) -> None:
    gpt = sub.add_parser("gpt", help="train a small GPT on your own text, or sample from one",
                         description="Train a character-level GPT on a text file, or sample from it.")
    gsub = gpt.add_subparsers(dest="gpt_command", required=True)
    train = gsub.add_parser(
        "train", help="train on a UTF-8 text file for a time budget",
        description="Train a character-level GPT on FILE. The last --val-fraction of the text is "
                    "held out; the model size is picked for the budget and the device; the "
                    "held-out loss per character is printed at the end.")
    train.add_argument("file", help="a UTF-8 text file (at least a few hundred characters)")
    train.add_argument("--seconds", type=float, default=180, help="training time budget (default 180)")
    train.add_argument("--out", help="folder for the model (default: FILE's name + '-gpt')")
    train.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
                       help="where to train (default: $GENCOURSE_DEVICE or auto: cuda > mps > cpu)")
    train.add_argument("--threads", default=None,
                       help="CPU threads (a number or 'auto'; default: the course's 1, or "
                            "$GENCOURSE_THREADS / $OMP_NUM_THREADS). One thread degrades "
                            "gracefully: on the 2-core development machine, busy with other "
                            "work, the default model trained at 6,000-24,000 tokens/s with one "
                            "thread and 700-1,300 with two")
    train.add_argument("--val-fraction", type=float, default=0.1, help="held-out tail (default 0.1)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_gpt_train)
    sample = gsub.add_parser("sample", help="generate text with a trained model",
                             description="Generate text with a GPT saved by `gencourse gpt train`.")
    sample.add_argument("dir", help="the folder written by `gencourse gpt train --out DIR`")
    sample.add_argument("--temperature", type=float, default=0.8, help="> 0; lower is safer (default 0.8)")
    sample.add_argument("--top-k", type=int, default=None, help="keep the K most likely tokens")
    sample.add_argument("--top-p", type=float, default=None, help="keep the smallest set with mass P")
    sample.add_argument("--greedy", action="store_true", help="always take the most likely token")
    sample.add_argument("--tokens", type=int, default=500, help="characters to generate (default 500)")
    sample.add_argument("--prompt", default=None, help="text to continue (default: a newline)")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(func=cmd_gpt_sample)


def cmd_zoo_build(args: argparse.Namespace) -> int:
    from gencourse.zoo.build import ZOO_MODELS, build_zoo
    unknown = [n for n in args.names if n not in ZOO_MODELS]
    if unknown:
        print(f"gencourse zoo build: unknown model(s) {', '.join(unknown)}; choose from "
              f"{', '.join(ZOO_MODELS)}", file=sys.stderr)
        return 2
    build_zoo(args.names, jobs=args.jobs, echo=lambda line: print(line, flush=True))
    return 0


def cmd_zoo_list(_: argparse.Namespace) -> int:
    from gencourse.zoo.build import ZOO_MODELS, is_cached
    for name, entry in ZOO_MODELS.items():
        state = "cached" if is_cached(name) else f"not built yet ({entry.cost} to train)"
        print(f"{name:12s} {state:34s} {entry.what}")
    return 0


def _add_zoo(sub) -> None:
    zoo = sub.add_parser("zoo", help="build or list the models that later chapters reuse")
    zsub = zoo.add_subparsers(dest="zoo_command", required=True)
    build = zsub.add_parser("build", help="train the zoo's models that are not cached yet")
    build.add_argument("names", nargs="*", help="which models (default: all); see `gencourse zoo list`")
    build.add_argument("--jobs", type=int, default=2, help="models trained at once, one CPU thread each")
    build.set_defaults(func=cmd_zoo_build)
    zsub.add_parser("list", help="the zoo's models and whether they are cached").set_defaults(func=cmd_zoo_list)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="gencourse", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the chapters").set_defaults(func=cmd_list)
    build = sub.add_parser("build", help="build (and execute) lesson and solution notebooks")
    build.add_argument("chapters", nargs="*", help="two-digit chapter numbers (default: all)")
    build.add_argument("--no-execute", action="store_true", help="convert without executing")
    build.set_defaults(func=cmd_build)
    exercises = sub.add_parser("exercises", help="regenerate exercises/ from solutions/")
    exercises.add_argument("--force", action="store_true", help="overwrite files edited since generated")
    exercises.set_defaults(func=cmd_exercises)
    start = sub.add_parser("start", help="copy a chapter's exercises to work/ to fill in")
    start.add_argument("chapter", help="two-digit chapter number, e.g. 02")
    start.set_defaults(func=cmd_start)
    check = sub.add_parser("check", help="grade a learner's exercise notebook")
    check.add_argument("notebook", help="e.g. work/00_generative_ai.ipynb")
    check.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    check.add_argument("--total-timeout", type=int, default=900, help="seconds for the notebook (default 900)")
    check.add_argument("--chapter", help="the chapter, if the file's name does not start with it")
    check.set_defaults(func=cmd_check)
    grade = sub.add_parser("grade", help="grade a class: every notebook in a folder, to CSV")
    grade.add_argument("submissions", help="folder of submitted notebooks (any depth)")
    grade.add_argument("--out", required=True, help="CSV file to write, e.g. grades.csv")
    grade.add_argument("--chapter", help="the chapter being graded (default: from each file's name)")
    grade.add_argument("--jobs", type=int, default=2, help="notebooks graded at once (default 2)")
    grade.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    grade.add_argument("--total-timeout", type=int, default=900, help="seconds per notebook (default 900)")
    grade.add_argument("--memory-mb", type=int, default=4096, help="memory per notebook (default 4096)")
    grade.set_defaults(func=cmd_grade)
    site = sub.add_parser("site", help="build the course as a static web site (offline)")
    site.add_argument("--out", help="output folder (default: build/site in the checkout)")
    site.set_defaults(func=cmd_site)
    _add_gpt(sub)
    _add_zoo(sub)
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = " ".join(["gencourse", args.command] + ([c for c in (getattr(args, "gpt_command", None), getattr(args, "zoo_command", None)) if c]))
        parser.print_usage(sys.stderr)
        parser.exit(2, f"{command}: error: unrecognised argument(s): {' '.join(extra)}\n"
                       f"run `{command} --help` to see the options\n")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
