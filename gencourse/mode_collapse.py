"""The mode-collapse experiment of chapter 03, shared by the lesson and the benchmark.

Each named configuration trains a GAN on the ring of 8 or the grid of 25 Gaussians
(VEEGAN 2017 / PacGAN 2018) and scores 2,500 samples with
``gencourse.metrics.mode_coverage``. ``benchmarks/mode_collapse.py`` runs every
configuration for 5 seeds; the lesson re-runs single seeds of it.
"""
from __future__ import annotations

import time
from dataclasses import replace

import torch

from gencourse.data import grid, ring
from gencourse.metrics import mode_coverage
from gencourse.models.gan import (
    GANTrainConfig, MLPDiscriminator, MLPGANConfig, MLPGenerator, generate, train_gan,
)

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
    # Minibatch standard deviation ("Progressive Growing of GANs", Karras et al., 2018): the
    # discriminator also sees how varied a batch is, so dropping modes becomes visible to it.
    "course + minibatch std, 16k steps": (
        replace(BASE_MODEL, minibatch_std=True),
        replace(VANILLA, steps=16000, betas=(0.0, 0.9), cosine_decay=True)),
    # R1: penalise the discriminator's gradient on real data ("Which Training Methods for GANs
    # do actually Converge?", Mescheder et al., 2018).
    "course + R1 penalty, 16k steps": (
        BASE_MODEL, replace(VANILLA, steps=16000, betas=(0.0, 0.9), cosine_decay=True, r1_weight=0.1)),
}
DATASETS = {"ring": ring, "grid": grid}

def run_one(job: tuple[str, str, int], progress: bool = False, keep_samples: bool = False) -> dict:
    """Train configuration ``name`` on ``dataset`` with ``seed``; return its scores
    (and, with ``keep_samples``, the (2500, 2) scored samples under "samples")."""
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
              train_cfg, seed=seed, progress=progress, plot=False, title=f"{name}, {dataset}")
    seconds = time.perf_counter() - start
    samples = generate(gen, N_EVAL, seed=10_000 + seed)
    cov = mode_coverage(samples, dist)
    result = {"config": name, "dataset": dataset, "seed": seed, "modes": cov.modes,
              "high_quality": cov.high_quality, "kl": cov.kl, "seconds": seconds}
    if keep_samples:
        result["samples"] = samples
    return result
