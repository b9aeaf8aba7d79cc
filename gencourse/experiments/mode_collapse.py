"""The mode-collapse experiment of chapter 03, shared by the lesson and the benchmark.

Each named configuration trains a GAN on the ring of 8 or the grid of 25 Gaussians
(VEEGAN 2017 / PacGAN 2018) and scores 2,500 samples with
``gencourse.metrics.mode_coverage``. ``benchmarks/mode_collapse.py`` runs every
configuration for up to 5 seeds (the older rows have 5; the ablation, packing with the
course's optimiser and two WGAN-GP rows were measured later, on 3 or 2 seeds: the table's
"seeds" column says how many); the lesson re-runs single seeds of it.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from gencourse.data import grid, ring
from gencourse.metrics import mode_coverage
from gencourse.models.gan import (
    GANTrainConfig, MLPDiscriminator, MLPGANConfig, MLPGenerator, generate, train_gan,
)

N_EVAL = 2500
POOL = 100_000  # real samples drawn once per seed; batches are drawn from this pool

# name -> (model config, training config). All use a 2-D latent, 3x128 ReLU/LeakyReLU MLPs,
# batch 256 and Adam; every name states what differs: learning rate, betas, schedule, steps
# (generator steps). Unless a name says otherwise: lr 1e-3 for both networks, 8k steps.
BASE_MODEL = MLPGANConfig(latent_dim=2, hidden_dim=128, n_hidden=3)
# Adam with β=(0.5, 0.999), the betas of the DCGAN paper ("Unsupervised Representation
# Learning with Deep Convolutional GANs", Radford et al., 2016) -- but lr 1e-3, not its 2e-4,
# and a constant learning rate.
VANILLA = GANTrainConfig(steps=8000, batch_size=256, loss="non_saturating", lr_g=1e-3, lr_d=1e-3,
                         betas=(0.5, 0.999), cosine_decay=False)
# The course's optimiser: momentum-free Adam, β=(0, 0.9) (as in the WGAN-GP and SNGAN papers),
# and a cosine learning-rate decay to 0.
COURSE = replace(VANILLA, betas=(0.0, 0.9), cosine_decay=True)
# WGAN-GP ("Improved Training of Wasserstein GANs", Gulrajani et al., 2017): Wasserstein
# critic, gradient penalty λ=10 at interpolates, 5 critic steps per generator step.
WGAN_GP = dict(loss="wasserstein", gp_weight=10.0, d_steps=5, steps=4000)

VANILLA_NAME = "vanilla: β=(0.5, 0.999), constant lr"
COURSE_NAME = "course: β=(0, 0.9), cosine decay"
CONFIGS: dict[str, tuple[MLPGANConfig, GANTrainConfig]] = {
    VANILLA_NAME: (BASE_MODEL, VANILLA),
    # Ablation of the course's optimiser: change β1 or the schedule alone.
    "ablation: β=(0, 0.9), constant lr": (BASE_MODEL, replace(VANILLA, betas=(0.0, 0.9))),
    "ablation: β=(0.5, 0.9), cosine decay": (
        BASE_MODEL, replace(VANILLA, betas=(0.5, 0.9), cosine_decay=True)),
    COURSE_NAME: (BASE_MODEL, COURSE),
    "course, 16k steps": (BASE_MODEL, replace(COURSE, steps=16000)),
    # PacGAN ("PacGAN: The power of two samples in GANs", Lin et al., 2018): the
    # discriminator judges two samples at once.
    "packing (pack=2), vanilla optimiser": (replace(BASE_MODEL, pack=2), VANILLA),
    "packing (pack=2), course optimiser": (replace(BASE_MODEL, pack=2), COURSE),
    "WGAN-GP, lr 5e-4, β=(0.5, 0.9), constant lr, 4k steps": (
        BASE_MODEL, replace(VANILLA, **WGAN_GP, lr_g=5e-4, lr_d=5e-4, betas=(0.5, 0.9))),
    # The paper's Algorithm 1 defaults: lr 1e-4, β=(0, 0.9), constant.
    "WGAN-GP, paper's Adam: lr 1e-4, β=(0, 0.9), constant lr, 4k steps": (
        BASE_MODEL, replace(VANILLA, **WGAN_GP, lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9))),
    "WGAN-GP, course optimiser: lr 1e-3, β=(0, 0.9), cosine decay, 4k steps": (
        BASE_MODEL, replace(COURSE, **WGAN_GP)),
    # Minibatch standard deviation ("Progressive Growing of GANs", Karras et al., 2018): the
    # discriminator also sees how varied a batch is, so dropping modes becomes visible to it.
    "course + minibatch std, 16k steps": (
        replace(BASE_MODEL, minibatch_std=True), replace(COURSE, steps=16000)),
    # R1: penalise the discriminator's gradient on real data ("Which Training Methods for GANs
    # do actually Converge?", Mescheder et al., 2018).
    "course + R1 penalty (γ=0.1), 16k steps": (BASE_MODEL, replace(COURSE, steps=16000, r1_weight=0.1)),
}
# Earlier names of configurations whose settings did not change (for stored results).
RENAMED = {
    "vanilla GAN": VANILLA_NAME,
    "+ packing (pack=2)": "packing (pack=2), vanilla optimiser",
    "WGAN-GP": "WGAN-GP, lr 5e-4, β=(0.5, 0.9), constant lr, 4k steps",
    "course: β1=0 + cosine decay": COURSE_NAME,
    "course: β1=0 + cosine decay, 16k steps": "course, 16k steps",
    "course + R1 penalty, 16k steps": "course + R1 penalty (γ=0.1), 16k steps",
}
DATASETS = {"ring": ring, "grid": grid}
# Found from this package's own location, not the working directory, so the lesson runs
# from any folder (the package is installed in development mode from the repository).
REPOSITORY = Path(__file__).resolve().parents[2]
RESULTS = REPOSITORY / "benchmarks" / "mode_collapse.json"


def load_results(path: Path | str | None = None) -> list[dict]:
    """The benchmark's stored results (one dict per configuration, dataset and seed), read from
    ``path`` or else from the repository's benchmarks/mode_collapse.json; earlier names of
    unchanged configurations are mapped to their current names."""
    path = RESULTS if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no benchmark results at {path}: gencourse looks for them in the repository it was "
            f"installed from ({REPOSITORY}); run `python benchmarks/mode_collapse.py` there, or "
            "install gencourse from a checkout with `pip install -e .`")
    results = json.loads(path.read_text())["results"]
    for r in results:
        r["config"] = RENAMED.get(r["config"], r["config"])
    return results


def run_one(job: tuple[str, str, int], progress: bool = False, keep_samples: bool = False,
            steps: int | None = None) -> dict:
    """Train configuration ``name`` on ``dataset`` with ``seed``; return its scores
    (and, with ``keep_samples``, the (2500, 2) scored samples under "samples").

    ``steps`` overrides the configuration's number of generator steps (its learning-rate
    schedule, if any, is stretched over the new length); the result records the steps
    it ran under "steps". The benchmark leaves it at None, so its rows use the stored
    configurations; the lesson's live rerun passes a shorter run, whose scores are
    therefore not expected to equal the benchmark's rows.
    """
    name, dataset, seed = job
    torch.set_num_threads(1)  # tiny networks: one thread per process is fastest
    model_cfg, train_cfg = CONFIGS[name]
    if steps is not None:
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps must be a positive int or None, got {steps!r}")
        train_cfg = replace(train_cfg, steps=steps)
    dist = DATASETS[dataset]()
    torch.manual_seed(seed)
    gen, disc = MLPGenerator(model_cfg), MLPDiscriminator(model_cfg)
    pool = dist.sample(POOL, seed=seed)
    draw = torch.Generator().manual_seed(seed)
    start = time.process_time()  # CPU seconds: comparable on a busy machine
    train_gan(gen, disc, lambda n: (pool[torch.randint(POOL, (n,), generator=draw)], None),
              train_cfg, seed=seed, progress=progress, plot=False, title=f"{name}, {dataset}")
    seconds = time.process_time() - start
    samples = generate(gen, N_EVAL, seed=10_000 + seed)
    cov = mode_coverage(samples, dist)
    result = {"config": name, "dataset": dataset, "seed": seed, "steps": train_cfg.steps,
              "modes": cov.modes, "high_quality": cov.high_quality, "kl": cov.kl, "seconds": seconds}
    if keep_samples:
        result["samples"] = samples
    return result
