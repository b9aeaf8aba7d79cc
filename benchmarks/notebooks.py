"""Execute every lesson and solution notebook; record wall time and peak memory.

    python benchmarks/notebooks.py            # all notebooks; rewrites the README table
    python benchmarks/notebooks.py 01         # only chapter 01 (README table untouched)

Wall time is measured around the whole execution (kernel start included). Peak
memory is the kernel process's maximum resident set size plus that of its largest
worker process (if it started any), read inside the kernel after the last cell. The table goes to benchmarks/notebooks.md and, for a full
run, between the benchmark markers in README.md.
"""
from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

import nbformat
import torch

from gencourse.assignments import execute

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {"notebooks": 90, "solutions": 30}
PEAK_RSS_CELL = """
import resource, sys
# The kernel's own peak plus the largest peak of any worker process it started
# (an upper bound on the notebook's memory at any moment).
_peak = sum(resource.getrusage(who).ru_maxrss
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print("PEAK_RSS_MB", _peak / (1024 * 1024 if sys.platform == "darwin" else 1024))
"""
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def measure(path: Path) -> tuple[float, float]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_RSS_CELL))
    start = time.perf_counter()
    execute(nb, path.parent)
    seconds = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    peak_mb = float(re.search(r"PEAK_RSS_MB ([\d.]+)", text).group(1))
    return seconds, peak_mb


def machine() -> str:
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}, no GPU used")


def main(argv: list[str]) -> int:
    chapters = set(argv)
    paths = [p for folder in ("notebooks", "solutions")
             for p in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
             if not chapters or p.name[:2] in chapters]
    rows = ["| notebook | wall time (s) | budget (s) | peak memory (MB) |",
            "|---|---:|---:|---:|"]
    over = []
    for path in paths:
        seconds, peak = measure(path)
        folder = path.parent.name
        rel = f"{folder}/{path.name}"
        rows.append(f"| {rel} | {seconds:.1f} | {BUDGET_S[folder]} | {peak:.0f} |")
        print(rows[-1], flush=True)
        if seconds > BUDGET_S[folder] or peak > 2048:
            over.append(rel)
    table = "\n".join(rows) + f"\n\nMeasured on {machine()}, {time.strftime('%Y-%m-%d')}.\n"
    (ROOT / "benchmarks" / "notebooks.md").write_text(table)
    if not chapters:
        readme = ROOT / "README.md"
        text = readme.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            readme.write_text(head + START + "\n" + table + END + rest.split(END, 1)[1])
    if over:
        print("over budget (90 s lesson / 30 s solution / 2 GB):", ", ".join(over))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
