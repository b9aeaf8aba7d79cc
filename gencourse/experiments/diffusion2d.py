"""Diffusion on chapter 03's ring of 8 and grid of 25 Gaussians, scored like the GANs there.

Shared by lesson 08 and ``benchmarks/diffusion_2d.py``. Each configuration trains a denoiser
(``gencourse.models.denoisers.MLPDenoiser``) on the same pool of 100,000 points per seed that
chapter 03's GANs draw their batches from, then draws the same number of samples (2,500, from
the seed 10,000 + seed) and scores them with ``gencourse.metrics.mode_coverage``: modes covered,
share of high-quality samples, KL of the mode histogram from uniform.

The data are rescaled so that their standard deviation is ``data_std`` before noising and scaled
back after sampling. That choice matters: a schedule's noise levels are absolute, so the scale of
the data decides how many of the T steps are spent on the fine detail (a mode of the grid is
0.05 wide) rather than on the coarse layout. The "standardised" configuration (std 1, the usual
default) isolates it.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from gencourse.experiments.mode_collapse import DATASETS, N_EVAL, POOL
from gencourse.metrics import mode_coverage
from gencourse.models.denoisers import DenoiserConfig, MLPDenoiser
from gencourse.models.diffusion import NoiseSchedule, cosine_schedule, linear_schedule, sample
from gencourse.models.diffusion_train import DiffusionTrainConfig, train_denoiser


@dataclass(frozen=True)
class Diffusion2DConfig:
    model: DenoiserConfig = field(default_factory=lambda: DenoiserConfig(dim=2, hidden=128, blocks=3))
    train: DiffusionTrainConfig = field(default_factory=lambda: DiffusionTrainConfig(steps=8000, batch_size=256, lr=2e-3))
    schedule: str = "cosine"      # "cosine" or "linear"
    T: int = 200
    data_std: float = 3.0         # the data are scaled to this standard deviation for noising

    def make_schedule(self) -> NoiseSchedule:
        return (cosine_schedule if self.schedule == "cosine" else linear_schedule)(self.T)


MAIN_NAME = "DDPM: cosine schedule T=200, data scaled to std 3"
CONFIGS: dict[str, Diffusion2DConfig] = {
    MAIN_NAME: Diffusion2DConfig(),
    "ablation: data standardised (std 1)": Diffusion2DConfig(data_std=1.0),
}
# The lesson's live runs use half the benchmark's batch (128), to stay within its time on a busy
# machine, and 4,000 steps on the ring, where they suffice.
_HALF_BATCH = replace(CONFIGS[MAIN_NAME].train, batch_size=128)
LESSON = {"ring": replace(CONFIGS[MAIN_NAME], train=replace(_HALF_BATCH, steps=4000)),
          "grid": replace(CONFIGS[MAIN_NAME], train=_HALF_BATCH)}

REPOSITORY = Path(__file__).resolve().parents[2]
RESULTS = REPOSITORY / "benchmarks" / "diffusion_2d.json"


def train_and_score(config: Diffusion2DConfig, dataset: str, seed: int, keep_samples: bool = False) -> dict:
    """Train ``config`` on ``dataset`` ("ring" or "grid") with ``seed`` (one thread); return its scores,
    CPU seconds for training and for sampling, and with ``keep_samples`` the (2500, 2) samples."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    torch.set_num_threads(1)
    dist = DATASETS[dataset]()
    pool = dist.sample(POOL, seed=seed)
    scale = float(pool.std()) / config.data_std
    schedule = config.make_schedule()
    torch.manual_seed(seed)
    model = MLPDenoiser(config.model)
    start = time.process_time()
    ema, history = train_denoiser(model, pool / scale, schedule, config.train, seed=seed)
    trained = time.process_time()
    samples = sample(ema, schedule, (N_EVAL, 2), generator=torch.Generator().manual_seed(10_000 + seed)) * scale
    sampled = time.process_time()
    cov = mode_coverage(samples, dist)
    result = {"dataset": dataset, "seed": seed, "modes": cov.modes, "high_quality": cov.high_quality,
              "kl": cov.kl, "train_seconds": trained - start, "sample_seconds": sampled - trained,
              "final_loss": history.last("loss", 10)}
    if keep_samples:
        result["samples"] = samples
    return result


def run_one(job: tuple[str, str, int]) -> dict:
    """Benchmark job (configuration name, dataset, seed) -> its scores, named."""
    name, dataset, seed = job
    return {"config": name, **train_and_score(CONFIGS[name], dataset, seed)}


def load_results(path: Path | str | None = None) -> list[dict]:
    """The benchmark's stored results, one dict per configuration, dataset and seed."""
    path = RESULTS if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no benchmark results at {path}: run `python benchmarks/diffusion_2d.py` "
                                "in the repository gencourse was installed from")
    return json.loads(path.read_text())["results"]
