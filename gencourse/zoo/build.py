"""Build every zoo model ahead of time, so no lesson waits for one.

``python3 course.py install`` and ``python3 course.py test`` call :func:`build_zoo`; a
learner can run ``gencourse zoo build`` by hand. Models already cached load in well
under a second; missing ones are trained, each in its own process with one thread, so
two models train side by side on a two-core laptop.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable

from gencourse.zoo import diffusion, digits, gpt, judge, objectives


@dataclass(frozen=True)
class ZooEntry:
    what: str                     # what it is and which chapters use it
    cost: str                     # first build, measured in a side-by-side build on 2 cores
    load: Callable[[], object]    # trains on first call, loads afterwards
    cached: Callable[[], bool]


# Cheapest first; costs are from one `gencourse zoo build` into an empty cache (2026-11-25).
ZOO_MODELS: dict[str, ZooEntry] = {
    "judge": ZooEntry("the digits judge CNN (chapters 03-04, 09)", "about 1 min",
                      judge.digits_judge, judge.judge_cached),
    "digits-ae": ZooEntry("chapter 01's 16-D autoencoder of the digits (chapter 04)", "about 10 s",
                          digits.digits_ae, lambda: digits.digits_run_cached(digits.DIGITS_AE)),
    "digits-cgan": ZooEntry("chapter 03's conditional DCGAN of the digits (chapters 04, 09)", "about 45 s",
                            digits.digits_cgan, lambda: digits.digits_run_cached(digits.DIGITS_CGAN)),
    "digits-gan": ZooEntry("chapter 03's unconditional DCGAN of the digits (chapters 03, 09)", "about 30 s",
                           digits.digits_gan, lambda: digits.digits_run_cached(digits.DIGITS_GAN)),
    "digits-cvae": ZooEntry("chapter 04's conditional VAE of the digits (chapters 04, 09)", "about 30 s",
                            digits.digits_cvae, lambda: digits.digits_run_cached(digits.DIGITS_CVAE)),
    "digits-vae": ZooEntry("chapter 04's 16-D VAE of the digits (chapter 08's latent diffusion, 09)", "about 30 s",
                           lambda: digits.zoo_digits_run(diffusion.DIGITS_VAE),
                           lambda: digits.digits_run_cached(diffusion.DIGITS_VAE)),
    "digits-diffusion": ZooEntry("chapter 08's class-conditional pixel diffusion model (chapters 08, 09)",
                                 "about 1 min", diffusion.pixel_diffusion,
                                 lambda: diffusion.is_cached(diffusion.PIXEL_DIFFUSION)),
    "digits-latent-diffusion": ZooEntry("chapter 08's diffusion model of the VAE's codes (chapters 08, 09)",
                                        "about 1 min", diffusion.latent_diffusion,
                                        lambda: diffusion.is_cached(diffusion.LATENT_DIFFUSION)),
    "names-gpt": ZooEntry("the first-names GPT (chapter 06 on)", "about 6 min",
                          gpt.names_gpt, lambda: gpt.is_cached(gpt.NAMES_GPT)),
    "names-objectives": ZooEntry("chapter 07's GPT, BERT and T5 of first names", "about 3 min",
                                 objectives.objective_runs, objectives.is_cached),
    "code-gpt": ZooEntry("the standard-library code GPT (chapter 06 on)", "about 11 min",
                         gpt.code_gpt, lambda: gpt.is_cached(gpt.CODE_GPT)),
    "code-bpe-gpt": ZooEntry("the code GPT on byte-level BPE tokens (chapter 10)", "about 5 min",
                             gpt.code_bpe_gpt, lambda: gpt.is_cached(gpt.CODE_BPE_GPT)),
}


def is_cached(name: str) -> bool:
    """Whether the zoo model ``name`` is already on disk for the current recipe."""
    return ZOO_MODELS[name].cached()


def _build_one(name: str) -> tuple[str, float]:
    import torch
    torch.set_num_threads(1)
    start = time.perf_counter()
    ZOO_MODELS[name].load()
    return name, time.perf_counter() - start


def build_zoo(names: list[str] | None = None, jobs: int = 2, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Train (or load) the zoo models ``names`` (default: all); return seconds per model.

    Missing models train in up to ``jobs`` worker processes at once.
    """
    names = list(ZOO_MODELS) if not names else list(names)
    unknown = [n for n in names if n not in ZOO_MODELS]
    if unknown:
        raise ValueError(f"unknown zoo model(s) {', '.join(unknown)}; choose from {', '.join(ZOO_MODELS)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    missing = [n for n in names if not is_cached(n)]
    for n in names:
        if n not in missing:
            echo(f"zoo: {n} is cached")
    if not missing:
        return {}
    # Longest first, so the workers finish close together.
    order = sorted(missing, key=list(ZOO_MODELS).index, reverse=True)
    for n in order:
        echo(f"zoo: training {n}: {ZOO_MODELS[n].what}, {ZOO_MODELS[n].cost} (once; cached afterwards)")
    seconds: dict[str, float] = {}
    if jobs == 1 or len(order) == 1:
        for n in order:
            seconds.update([_build_one(n)])
            echo(f"zoo: {n} ready in {seconds[n]:.0f} s")
        return seconds
    with ProcessPoolExecutor(max_workers=min(jobs, len(order))) as pool:
        for done in as_completed([pool.submit(_build_one, n) for n in order]):
            n, s = done.result()
            seconds[n] = s
            echo(f"zoo: {n} ready in {s:.0f} s")
    return seconds
