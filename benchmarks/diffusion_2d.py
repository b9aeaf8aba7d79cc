"""Diffusion on the ring of 8 and the grid of 25 Gaussians, beside chapter 03's GANs.

    python benchmarks/diffusion_2d.py                 # 5 seeds, every configuration, both datasets
    python benchmarks/diffusion_2d.py --seeds 0 1     # fewer seeds
    python benchmarks/diffusion_2d.py --table-only    # rewrite the table from the stored results

Each configuration of gencourse.experiments.diffusion2d is trained once per seed on the same
100,000-point pools as the GANs of benchmarks/mode_collapse.py and scored on 2,500 samples with
the same metric. Results go to benchmarks/diffusion_2d.json and, as mean ± standard error over
the seeds, to benchmarks/diffusion_2d.md and the README, followed by the best GAN rows of
benchmarks/mode_collapse.json on the same datasets and seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from gencourse.experiments import mode_collapse
from gencourse.experiments.diffusion2d import CONFIGS, RESULTS, load_results, run_one
from gencourse.metrics import mean_and_stderr

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- diffusion-2d:start -->", "<!-- diffusion-2d:end -->"
GAN_ROWS = (mode_collapse.COURSE_NAME, "course + R1 penalty (γ=0.1), 16k steps", "course + minibatch std, 16k steps")
NOTE = """
Mean ± standard error over the seeds in the "seeds" column; 2,500 samples per run, scored as in
chapter 03. Diffusion rows: a 3-block residual MLP denoiser (width 128, sinusoidal step embedding),
DDPM's noise-prediction loss, cosine schedule with T = 200, Adam lr 2e-3 with warm-up and cosine
decay, batch 256, 8,000 steps, sampled from an exponential moving average of the weights (decay
0.995) with all 200 ancestral steps; CPU seconds of one thread for training + sampling. The
ablation changes only the scale of the data before noising. GAN rows are chapter 03's
(benchmarks/mode_collapse.py), on the same seeds, pools and sample counts; their seconds are
training only. PacGAN's published grid figure (24.8 modes, 93.6% high-quality, KL 0.04, a
different network and about 400k steps) is quoted in chapter 03's table.
"""


def _row(label: str, rs: list[dict], seconds: float) -> str:
    stats = [mean_and_stderr([r[k] for r in rs]) for k in ("modes", "high_quality", "kl")]
    return (f"| {rs[0]['dataset']} | {label} | {len(rs)} | {stats[0][0]:.1f} ± {stats[0][1]:.1f} | "
            f"{100 * stats[1][0]:.1f} ± {100 * stats[1][1]:.1f} | {stats[2][0]:.3f} ± {stats[2][1]:.3f} | "
            f"{seconds:.0f} |")


def table(results: list[dict], gan_results: list[dict]) -> str:
    rows = ["| data | model | seeds | modes covered | % high-quality | KL(modes ‖ uniform) | CPU s per seed |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for dataset in mode_collapse.DATASETS:
        for name in CONFIGS:
            rs = [r for r in results if r["config"] == name and r["dataset"] == dataset]
            if rs:
                secs = sum(r["train_seconds"] + r["sample_seconds"] for r in rs) / len(rs)
                rows.append(_row(f"diffusion, {name}", rs, secs))
        for name in GAN_ROWS:
            rs = [r for r in gan_results if r["config"] == name and r["dataset"] == dataset]
            if rs:
                rows.append(_row(f"GAN (chapter 03), {name}", rs, sum(r["seconds"] for r in rs) / len(rs)))
    return "\n".join(rows) + "\n" + NOTE


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--datasets", nargs="+", default=list(mode_collapse.DATASETS),
                        choices=list(mode_collapse.DATASETS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if args.table_only:
        args.configs, args.seeds = [], []
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {list(CONFIGS)}")
    jobs = [(c, d, s) for c in args.configs for d in args.datasets for s in args.seeds]
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for r in pool.map(run_one, jobs):
            results.append(r)
            print(f"{r['dataset']:4s} seed {r['seed']} {r['config']:45s} modes {r['modes']:2d} "
                  f"HQ {r['high_quality']:.3f} KL {r['kl']:.4f} ({r['train_seconds']:.0f}+{r['sample_seconds']:.0f} s)",
                  flush=True)
    done = {(r["config"], r["dataset"], r["seed"]) for r in results}
    if RESULTS.exists():
        results = [r for r in load_results() if (r["config"], r["dataset"], r["seed"]) not in done
                   and r["config"] in CONFIGS] + results
    RESULTS.write_text(json.dumps({"configs": {n: asdict(c) for n, c in CONFIGS.items()}, "results": results},
                                  indent=1))
    text = table(results, mode_collapse.load_results())
    (ROOT / "benchmarks" / "diffusion_2d.md").write_text(text)
    readme = ROOT / "README.md"
    content = readme.read_text()
    if START in content and END in content:
        head, rest = content.split(START, 1)
        readme.write_text(head + START + "\n" + text + END + rest.split(END, 1)[1])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
