"""Mode collapse on the synthetic benchmark of VEEGAN (2017) and PacGAN (2018).

    python benchmarks/mode_collapse.py                 # 5 seeds, every configuration, both datasets
    python benchmarks/mode_collapse.py --seeds 0 1     # fewer seeds
    python benchmarks/mode_collapse.py --jobs 2        # run on 2 processes

Each configuration is trained once per seed on the ring of 8 and the grid of 25
Gaussians (gencourse.data.ring / grid: the published means and standard
deviations). 2,500 samples are scored with gencourse.metrics.mode_coverage:
modes covered, % high-quality (within 3 std of the nearest mode) and the KL
divergence of the high-quality samples' mode histogram from uniform. Results are
written to benchmarks/mode_collapse.json and, as mean ± standard error over the
seeds next to the published rows, to benchmarks/mode_collapse.md and the README.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import torch

from gencourse.data import grid, ring
from gencourse.metrics import mean_and_stderr, mode_coverage
from gencourse.models.gan import (
    GANTrainConfig, MLPDiscriminator, MLPGANConfig, MLPGenerator, generate, train_gan,
)

ROOT = Path(__file__).resolve().parents[1]
N_EVAL = 2500
POOL = 100_000  # real samples drawn once per seed; batches are drawn from this pool

# name -> (model config, training config). All use a 2-D latent, 3x128 ReLU/LeakyReLU MLPs.
BASE_MODEL = MLPGANConfig(latent_dim=2, hidden_dim=128, n_hidden=3)
VANILLA = GANTrainConfig(steps=8000, batch_size=256, loss="non_saturating", lr_g=1e-3, lr_d=1e-3,
                         betas=(0.5, 0.999), cosine_decay=False)
CONFIGS: dict[str, tuple[MLPGANConfig, GANTrainConfig]] = {
    # The DCGAN paper's optimiser settings, constant learning rate.
    "vanilla GAN": (BASE_MODEL, VANILLA),
    # PacGAN: the discriminator judges two samples at once.
    "+ packing (pack=2)": (replace(BASE_MODEL, pack=2), VANILLA),
    # WGAN-GP: Wasserstein critic with a gradient penalty.
    # WGAN-GP with the paper's toy-data settings: λ=10, 5 critic steps per generator step.
    "WGAN-GP": (BASE_MODEL, replace(VANILLA, steps=4000, loss="wasserstein", gp_weight=10.0,
                                    d_steps=5, lr_g=5e-4, lr_d=5e-4, betas=(0.5, 0.9))),
    # Momentum-free Adam (as in the WGAN-GP and SNGAN papers) and a cosine learning-rate
    # decay that lets the generator settle precisely on each mode.
    "course: β1=0 + cosine decay": (BASE_MODEL, replace(VANILLA, betas=(0.0, 0.9), cosine_decay=True)),
    "course: β1=0 + cosine decay, 16k steps": (
        BASE_MODEL, replace(VANILLA, steps=16000, betas=(0.0, 0.9), cosine_decay=True)),
}
DATASETS = {"ring": ring, "grid": grid}

PUBLISHED = [  # (dataset, method, modes, % high quality, KL); from the PacGAN paper's tables
    ("grid", "PacGAN4 (published)", "24.8", "93.6", "0.04"),
    ("grid", "VEEGAN (published)", "24.6", "40.0", "—"),
    ("grid", "GDPP (published)", "24.8", "68.5", "—"),
    ("grid", "WGAN-GP (published)", "24.2", "28.7", "—"),
    ("ring", "PacGAN2 (published)", "7.9", "95.6", "0.07"),
    ("ring", "VEEGAN (published)", "8.0", "52.9", "—"),
]
START, END = "<!-- mode-collapse:start -->", "<!-- mode-collapse:end -->"


def run_one(job: tuple[str, str, int]) -> dict:
    """Train configuration ``name`` on ``dataset`` with ``seed``; return its scores."""
    name, dataset, seed = job
    torch.set_num_threads(1)  # tiny networks: one thread per process is fastest
    model_cfg, train_cfg = CONFIGS[name]
    dist = DATASETS[dataset]()
    torch.manual_seed(seed)
    gen, disc = MLPGenerator(model_cfg), MLPDiscriminator(model_cfg)
    pool = dist.sample(POOL, seed=seed)
    draw = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    train_gan(gen, disc, lambda n: (pool[torch.randint(POOL, (n,), generator=draw)], None),
              train_cfg, seed=seed, progress=False, plot=False)
    seconds = time.perf_counter() - start
    cov = mode_coverage(generate(gen, N_EVAL, seed=10_000 + seed), dist)
    return {"config": name, "dataset": dataset, "seed": seed, "modes": cov.modes,
            "high_quality": cov.high_quality, "kl": cov.kl, "seconds": seconds}


def table(results: list[dict]) -> str:
    rows = ["| data | method | modes covered | % high-quality | KL(modes ‖ uniform) | CPU s per seed |",
            "|---|---|---:|---:|---:|---:|"]
    for dataset in DATASETS:
        for name in CONFIGS:
            rs = [r for r in results if r["config"] == name and r["dataset"] == dataset]
            if not rs:
                continue
            stats = [mean_and_stderr([r[k] for r in rs]) for k in ("modes", "high_quality", "kl")]
            secs = sum(r["seconds"] for r in rs) / len(rs)
            rows.append(f"| {dataset} | {name} | {stats[0][0]:.1f} ± {stats[0][1]:.1f} | "
                        f"{100 * stats[1][0]:.1f} ± {100 * stats[1][1]:.1f} | "
                        f"{stats[2][0]:.3f} ± {stats[2][1]:.3f} | {secs:.0f} |")
        for d, method, modes, hq, kl in PUBLISHED:
            if d == dataset:
                rows.append(f"| {dataset} | {method} | {modes} | {hq} | {kl} | — |")
    seeds = sorted({r["seed"] for r in results})
    return ("\n".join(rows) + f"\n\nMean ± standard error over seeds {seeds}; 2,500 samples per run; "
            f"one CPU thread per run.\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {list(CONFIGS)}")
    jobs = [(c, d, s) for c in args.configs for d in DATASETS for s in args.seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = []
        for r in pool.map(run_one, jobs):
            results.append(r)
            print(f"{r['dataset']:4s} seed {r['seed']} {r['config']:40s} modes {r['modes']:2d} "
                  f"HQ {r['high_quality']:.3f} KL {r['kl']:.3f} ({r['seconds']:.0f} s)", flush=True)
    out = {"configs": {n: {"model": asdict(m), "train": asdict(t)} for n, (m, t) in CONFIGS.items()},
           "results": results}
    (ROOT / "benchmarks" / "mode_collapse.json").write_text(json.dumps(out, indent=1))
    text = table(results)
    (ROOT / "benchmarks" / "mode_collapse.md").write_text(text)
    readme = ROOT / "README.md"
    content = readme.read_text()
    if START in content and END in content:
        head, rest = content.split(START, 1)
        readme.write_text(head + START + "\n" + text + END + rest.split(END, 1)[1])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
