"""Build every zoo model ahead of time, so no lesson waits for one.

``python3 course.py install`` and ``python3 course.py test`` call :func:`build_zoo`; a
learner can run ``gencourse zoo build`` by hand. Models already cached load in well
under a second; missing ones are trained, each in its own process with one thread, so
two models train side by side on a two-core laptop.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable

# name -> (what it is, a rough first-build time on one thread of a 2-core laptop), cheapest first
ZOO_MODELS: dict[str, tuple[str, str]] = {
    "judge": ("the digits judge CNN (chapters 03-04, 09)", "about 10 s"),
    "digits-ae": ("chapter 01's 16-D autoencoder of the digits (chapter 04)", "about 20 s"),
    "digits-cgan": ("chapter 03's conditional DCGAN of the digits (chapters 04, 09)", "about 50 s"),
    "names-gpt": ("the first-names GPT (chapter 06 on)", "about 5 min"),
    "code-gpt": ("the standard-library code GPT (chapter 06 on)", "about 9 min"),
}


def _loader(name: str) -> Callable[[], object]:
    from gencourse.zoo.digits import digits_ae, digits_cgan
    from gencourse.zoo.gpt import code_gpt, names_gpt
    from gencourse.zoo.judge import digits_judge
    return {"judge": digits_judge, "digits-cgan": digits_cgan, "digits-ae": digits_ae,
            "names-gpt": names_gpt, "code-gpt": code_gpt}[name]


def is_cached(name: str) -> bool:
    """Whether the zoo model ``name`` is already on disk for the current recipe."""
    from gencourse.zoo import digits, gpt, judge
    if name == "judge":
        return judge.judge_cached()
    if name in ("digits-cgan", "digits-ae"):
        return digits.digits_run_cached(digits.DIGITS_CGAN if name == "digits-cgan" else digits.DIGITS_AE)
    recipe = {"names-gpt": gpt.NAMES_GPT, "code-gpt": gpt.CODE_GPT}[name]
    return gpt.is_cached(recipe)


def _build_one(name: str) -> tuple[str, float]:
    import torch
    torch.set_num_threads(1)
    start = time.perf_counter()
    _loader(name)()
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
        echo(f"zoo: training {n}: {ZOO_MODELS[n][0]}, {ZOO_MODELS[n][1]} (once; cached afterwards)")
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
