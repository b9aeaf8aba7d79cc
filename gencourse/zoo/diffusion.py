"""Chapter 08's digit diffusion models, in pixel space and in the code space of chapter 04's VAE.

Trained by :func:`gencourse.experiments.digit_diffusion.train_digit_diffusion` on first use (about
a minute each on one thread) and cached like every zoo model (safetensors + JSON under
``cache_dir()/zoo``, keyed by the recipe and the torch version). Chapter 09 scores them again.
"""
from __future__ import annotations

import json
from dataclasses import asdict

import torch
from safetensors.torch import load_file

from gencourse.experiments.digit_diffusion import DigitDiffusion, DigitDiffusionRecipe, rebuild, train_digit_diffusion
from gencourse.experiments.digit_recipes import Recipe
from gencourse.experiments.digit_recipes import rebuild as rebuild_digits
from gencourse.zoo._cache import recipe_key, store, zoo_folder
from gencourse.zoo.digits import zoo_digits_run, digits_run_cached

PIXEL_DIFFUSION = DigitDiffusionRecipe("pixels")
LATENT_DIFFUSION = DigitDiffusionRecipe("latent")
# Chapter 04's main VAE (16-D code, 3,000 steps, batch 128), whose codes the latent model diffuses.
DIGITS_VAE = Recipe("vae", steps=3000, seed=0)


def _path(recipe: DigitDiffusionRecipe):
    fields = {**asdict(recipe), "torch": torch.__version__.split("+")[0]}
    if recipe.space == "latent":
        fields["vae"] = asdict(DIGITS_VAE)
    return zoo_folder() / f"digits_diffusion_{recipe.space}-{recipe_key(fields)}.safetensors"


def is_cached(recipe: DigitDiffusionRecipe) -> bool:
    """Whether the model of ``recipe`` (and, for a latent one, its VAE) is in the cache."""
    return _path(recipe).exists() and (recipe.space == "pixels" or digits_run_cached(DIGITS_VAE))


def digit_diffusion(recipe: DigitDiffusionRecipe = PIXEL_DIFFUSION) -> DigitDiffusion:
    """The cached run of ``recipe`` (trained on first use)."""
    if not isinstance(recipe, DigitDiffusionRecipe):
        raise ValueError(f"recipe must be a DigitDiffusionRecipe (e.g. PIXEL_DIFFUSION), got {type(recipe).__name__}")
    vae, vae_seconds = None, 0.0
    if recipe.space == "latent":
        vae_run = zoo_digits_run(DIGITS_VAE)
        vae, vae_seconds = rebuild_digits(vae_run), vae_run.seconds
    path = _path(recipe)
    if not path.exists():
        state, record = train_digit_diffusion(recipe, vae)
        store(path, state, record)
    record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return rebuild(recipe, load_file(str(path)), record, vae, vae_seconds)


def pixel_diffusion() -> DigitDiffusion:
    """Chapter 08's class-conditional diffusion model of the digits' pixels."""
    return digit_diffusion(PIXEL_DIFFUSION)


def latent_diffusion() -> DigitDiffusion:
    """Chapter 08's class-conditional diffusion model of chapter 04's VAE codes (decoded to images)."""
    return digit_diffusion(LATENT_DIFFUSION)


__all__ = ["PIXEL_DIFFUSION", "LATENT_DIFFUSION", "DIGITS_VAE", "is_cached", "digit_diffusion",
           "pixel_diffusion", "latent_diffusion"]
