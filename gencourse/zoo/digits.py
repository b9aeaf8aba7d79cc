"""Digit generators that a later chapter reuses, as cached runs of
:mod:`gencourse.experiments.digit_recipes`: chapter 03's conditional and unconditional DCGANs,
chapter 04's conditional VAE and the 16-D autoencoder of chapter 01.

Chapter 03 shows the unconditional DCGAN beside the conditional one it trains live; chapter 04
compares its VAE with the autoencoder and the conditional DCGAN, and the conditional VAE with
that GAN; chapter 09 scores them all. A run is trained by
``digit_recipes.train`` (one CPU thread, seconds) on first use and stored whole — weights,
the samples kept at its checkpoints, its loss history and timing — under
``cache_dir()/zoo``, keyed by the recipe and the torch version.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import torch

from gencourse.experiments.digit_recipes import Recipe, Trained, train
from gencourse.zoo._cache import recipe_key, temporary_twin, zoo_folder

# Chapter 03's conditional DCGAN (GAN_LR = 2e-3, batch 128, Adam β = (0, 0.9), cosine decay),
# with samples of the same noise kept every 125 steps to measure its stability.
DIGITS_CGAN = Recipe("gan", conditional=True, steps=1000, seed=0, checkpoints=tuple(range(125, 1001, 125)))
# Chapter 03's DCGAN without labels: the same networks and optimiser, the class histogram of its
# samples measures collapse on real images.
DIGITS_GAN = Recipe("gan", steps=1000, seed=0)
# Chapter 04's conditional VAE (3,000 steps, batch 128), with samples of the same codes kept every
# 250 steps to measure its stability beside the conditional DCGAN's.
DIGITS_CVAE = Recipe("vae", conditional=True, steps=3000, seed=0, checkpoints=tuple(range(250, 3001, 250)))
# Chapter 01's plain autoencoder with a 16-D code: the rival of chapter 04's VAE.
DIGITS_AE = Recipe("ae", latent_dim=16, hidden_dim=128, steps=2000, seed=0)


def _run_path(recipe: Recipe) -> Path:
    key = recipe_key({**asdict(recipe), "torch": torch.__version__.split("+")[0]})
    return zoo_folder() / f"digits_{recipe.family}-{key}.pt"


def digits_run_cached(recipe: Recipe) -> bool:
    """Whether the run of ``recipe`` is already in the zoo's cache."""
    return _run_path(recipe).exists()


def zoo_digits_run(recipe: Recipe, retrain: bool = False) -> Trained:
    """The cached run of a digit recipe (trained on first use); ``rebuild`` gives its model."""
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a digit_recipes.Recipe (e.g. DIGITS_CGAN), got {type(recipe).__name__}")
    path = _run_path(recipe)
    if retrain or not path.exists():
        run = train(recipe)
        tmp = temporary_twin(path)
        torch.save(run, tmp)
        os.replace(tmp, path)
        return run
    return torch.load(path, weights_only=False)


def digits_cgan() -> Trained:
    """Chapter 03's conditional DCGAN run (:data:`DIGITS_CGAN`)."""
    return zoo_digits_run(DIGITS_CGAN)


def digits_gan() -> Trained:
    """Chapter 03's unconditional DCGAN run (:data:`DIGITS_GAN`)."""
    return zoo_digits_run(DIGITS_GAN)


def digits_cvae() -> Trained:
    """Chapter 04's conditional VAE run (:data:`DIGITS_CVAE`)."""
    return zoo_digits_run(DIGITS_CVAE)


def digits_ae() -> Trained:
    """Chapter 01's 16-D autoencoder run (:data:`DIGITS_AE`)."""
    return zoo_digits_run(DIGITS_AE)


__all__ = ["DIGITS_CGAN", "DIGITS_GAN", "DIGITS_CVAE", "DIGITS_AE", "digits_run_cached", "zoo_digits_run",
           "digits_cgan", "digits_gan", "digits_cvae", "digits_ae"]
