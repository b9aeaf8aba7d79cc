"""Execute every lesson and solution notebook; record wall time, slowdown under load, peak memory.

    python benchmarks/notebooks.py            # all notebooks; rewrites the README table
    python benchmarks/notebooks.py 05 06      # only chapters 05 and 06; their rows are replaced
    python benchmarks/notebooks.py --quick    # idle runs only, no busy or default-thread runs

Each notebook runs three times in the same session, in a learner's conditions (no
OMP_NUM_THREADS or GENCOURSE_THREADS in the kernel's environment, so the thread
count is the one ``import gencourse`` chooses):
  1. idle: nothing else running;
  2. busy: beside one CPU-bound process (a pure-Python busy loop, standing for a
     browser tab, an IDE indexing or a second notebook); the ratio busy / idle must
     stay <= 2;
  3. idle again with PyTorch's default thread count (GENCOURSE_THREADS=auto), to show
     what one thread per process costs when the machine is idle.
Wall time is measured around the whole execution (kernel start included). Peak
memory is the kernel process's maximum resident set size plus that of its largest
worker process (if it started any), read inside the kernel after the last cell, in
the idle run. The table goes to benchmarks/notebooks.md and, for a full run, between
the benchmark markers in README.md; a run of some chapters replaces only their rows and
the table's footer says when each chapter was measured (rows live in
benchmarks/notebooks.json). Exit status 1 when a budget or the ratio is exceeded.

The machines the course is developed on differ in speed from day to day (the same lesson
has taken 1.8x longer on one day than on another), so every run also times a fixed
reference workload before the notebooks: 1,000 steps of chapter 03's ring GAN on one
thread (``reference_seconds``). Its time goes into each row and the footer, so that rows
measured on different days can be compared (divide by it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import torch

from gencourse.assignments import execute

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {"notebooks": 90, "solutions": 30}
MAX_BUSY_RATIO = 2.0
BUSY_LOOP = "while True:\n    pass\n"
PEAK_RSS_CELL = """
import resource, sys
# The kernel's own peak plus the largest peak of any worker process it started
# (an upper bound on the notebook's memory at any moment).
_peak = sum(resource.getrusage(who).ru_maxrss
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print("PEAK_RSS_MB", _peak / (1024 * 1024 if sys.platform == "darwin" else 1024))
"""
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
STORE = ROOT / "benchmarks" / "notebooks.json"


def measure(path: Path, threads: str | None = None) -> tuple[float, float]:
    """Execute ``path`` in a fresh kernel; return (seconds, peak MB). ``threads`` sets
    GENCOURSE_THREADS for the kernel (None: the course's own choice)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_RSS_CELL))
    saved = {k: os.environ.pop(k) for k in ("OMP_NUM_THREADS", "GENCOURSE_THREADS") if k in os.environ}
    if threads is not None:
        os.environ["GENCOURSE_THREADS"] = threads
    try:
        start = time.perf_counter()
        execute(nb, path.parent)
        seconds = time.perf_counter() - start
    finally:
        os.environ.pop("GENCOURSE_THREADS", None)
        os.environ.update(saved)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    peak_mb = float(re.search(r"PEAK_RSS_MB ([\d.]+)", text).group(1))
    return seconds, peak_mb


@contextmanager
def busy_process():
    """One CPU-bound process running beside whatever runs inside the block."""
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        time.sleep(0.5)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def reference_seconds() -> float:
    """Wall seconds of a fixed workload on one thread: 1,000 generator steps of chapter 03's
    ring GAN (the course's optimiser, seed 0), the best of two runs."""
    from gencourse.experiments.mode_collapse import COURSE_NAME, run_one

    times = []
    for _ in range(2):
        start = time.perf_counter()
        run_one((COURSE_NAME, "ring", 0), steps=1000)
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> str:
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}, no GPU used")


def render_row(name: str, r: dict) -> str:
    return (f"| {name} | {r['idle']:.1f} | {r['busy']:.1f} | {r['ratio']:.2f} | {r['default']:.1f} | "
            f"{r['budget']} | {r['peak_mb']:.0f} |")


def render_table(store: dict[str, dict]) -> str:
    """The markdown table of every stored row, and a footer saying when each chapter was measured."""
    rows = ["| notebook | idle (s) | beside a busy process (s) | busy / idle | "
            "idle, PyTorch's default threads (s) | budget (s) | peak memory (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    rows += [render_row(name, r) for name, r in store.items()]
    when: dict[tuple[str, str, str], set[str]] = {}
    for name, r in store.items():
        reference = f"{r['reference_s']:.1f} s" if "reference_s" in r else "not measured"
        when.setdefault((r["date"], r["machine"], reference), set()).add(name.split("/")[1][:2])
    footer = "; ".join(f"chapters {', '.join(sorted(chs))} measured {date} on {where} "
                       f"(reference workload: {reference})"
                       for (date, where, reference), chs in sorted(when.items()))
    return ("\n".join(rows) + f"\n\n{footer[0].upper() + footer[1:]}. The three runs of each notebook "
            "ran in one session, kernels started without OMP_NUM_THREADS (one thread chosen by "
            "`import gencourse`).\n")


def course_table_times(readme: str, store: dict[str, dict]) -> str:
    """The README with the last column of its course table ("lesson run time") set from ``store``."""
    def row(match: re.Match) -> str:
        idle = next((r["idle"] for name, r in store.items() if name.startswith(f"notebooks/{match.group(1)}_")), None)
        return f"{match.group(2)} {'%.0f s' % idle if idle else '—'} |"
    return re.sub(r"^(?=\| (\d\d) \| .+? \| \[notebooks/)(.+\|) [^|]+ \|$", row, readme, flags=re.M)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="two-digit chapter numbers (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="idle runs only (no busy run, no default-thread run); README untouched")
    args = parser.parse_args(argv)
    chapters = set(args.chapters)
    paths = [p for folder in ("notebooks", "solutions")
             for p in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
             if not chapters or p.name[:2] in chapters]
    over = []
    measured: dict[str, dict] = {}
    run_date = time.strftime("%Y-%m-%d")     # one date per run, even across midnight
    reference = reference_seconds()
    print(f"reference workload (1,000 steps of chapter 03's ring GAN, one thread): {reference:.1f} s", flush=True)
    for path in paths:
        folder = path.parent.name
        rel = f"{folder}/{path.name}"
        seconds, peak = measure(path)
        busy = ratio = default = float("nan")
        if not args.quick:
            with busy_process():
                busy, _ = measure(path)
            ratio = busy / seconds
            default, _ = measure(path, threads="auto")
        measured[rel] = {"idle": seconds, "busy": busy, "ratio": ratio, "default": default,
                         "budget": BUDGET_S[folder], "peak_mb": peak,
                         "date": run_date, "machine": machine(),
                         "reference_s": reference}
        print(render_row(rel, measured[rel]), flush=True)
        if seconds > BUDGET_S[folder] or peak > 2048 or ratio > MAX_BUSY_RATIO:
            over.append(rel)
    if not args.quick:
        store = json.loads(STORE.read_text()) if STORE.exists() else {}
        store.update(measured)
        existing = {f"{p.parent.name}/{p.name}" for folder in ("notebooks", "solutions")
                    for p in (ROOT / folder).glob("[0-9][0-9]_*.ipynb")}
        store = {k: store[k] for k in sorted(store, key=lambda k: (k.split("/")[0] != "notebooks", k))
                 if k in existing}
        STORE.write_text(json.dumps(store, indent=1) + "\n")
        table = render_table(store)
        (ROOT / "benchmarks" / "notebooks.md").write_text(table)
        readme = ROOT / "README.md"
        text = readme.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            text = head + START + "\n" + table + END + rest.split(END, 1)[1]
        readme.write_text(course_table_times(text, store))
    if over:
        print(f"over budget (90 s lesson / 30 s solution / 2 GB / busy ratio {MAX_BUSY_RATIO}):",
              ", ".join(over))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
