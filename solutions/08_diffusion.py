# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python (gencourse)
#     language: python
#     name: gencourse
# ---

# %% [markdown]
# # 08 · Exercises: a diffusion sampler by hand
#
# Write the five pieces of chapter 08 yourself: the closed form of forward noising, DDPM's training
# loss, one ancestral step, one DDIM step and classifier-free guidance. Replace each
# `raise NotImplementedError(...)` with your code and run the `check(...)` cell below it. At the end
# your steps sample a distribution whose exact denoiser is known, so you can see them work. Grade
# the whole notebook with `gencourse check exercises/08_diffusion.ipynb`.
#
# Steps are numbered t = 0 .. T-1 as in the lesson; `alpha_bars[t]` is ᾱ_t = Π_{s≤t} (1 - β_s).
#
# Lesson: `notebooks/08_diffusion.ipynb`.

# %%
import math

import torch

from gencourse.exercises import check
from gencourse.models.diffusion import cosine_schedule

# %% [markdown]
# ## Exercise 08.1 — the closed form of forward noising
# `x0` and `noise` are (N, D); `alpha_bar` is (N,), the ᾱ_t of each example's step. Return
# x_t = √ᾱ_t x0 + √(1-ᾱ_t) ε, (N, D). Each row gets its own ᾱ.

# %%
def q_sample(x0, alpha_bar, noise):
    ### BEGIN SOLUTION
    a = alpha_bar[:, None]
    return a.sqrt() * x0 + (1 - a).sqrt() * noise
    ### END SOLUTION


# %%
check("08.1", q_sample)

# %% [markdown]
# ## Exercise 08.2 — DDPM's training loss
# `t` (N,) holds each example's step and `noise` (N, D) the noise drawn for it; `alpha_bars` (T,) is
# the schedule. Noise `x0` to step t, ask `model(x_t, t)` for the noise, and return the mean
# squared error against `noise`, as a 0-d tensor that `backward()` can use.

# %%
def diffusion_loss(model, x0, t, noise, alpha_bars):
    ### BEGIN SOLUTION
    x_t = q_sample(x0, alpha_bars[t], noise)
    return ((model(x_t, t) - noise) ** 2).mean()
    ### END SOLUTION


# %%
check("08.2", diffusion_loss)

# %% [markdown]
# ## Exercise 08.3 — one ancestral (DDPM) step
# From x_t (N, D), the network's noise estimate `eps` (N, D) and fresh noise `z` (N, D), return
# x_{t-1} = (x_t - β_t / √(1-ᾱ_t) · ε̂) / √α_t + σ_t z with α_t = 1 - β_t and the posterior's
# variance σ_t² = β̃_t = (1-ᾱ_{t-1}) / (1-ᾱ_t) · β_t. At t = 0 return the mean alone, without noise.
# `t` is a Python int; `betas` and `alpha_bars` are (T,) tensors.

# %%
def ddpm_step(x_t, eps, t, betas, alpha_bars, z):
    ### BEGIN SOLUTION
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps) / math.sqrt(1 - beta)
    if t == 0:
        return mean
    variance = (1 - float(alpha_bars[t - 1])) / (1 - a_bar) * beta
    return mean + math.sqrt(variance) * z
    ### END SOLUTION


# %%
check("08.3", ddpm_step)

# %% [markdown]
# ## Exercise 08.4 — one DDIM step
# DDIM (η = 0) jumps from step t to any earlier step t'. Form the clean estimate
# x̂_0 = (x_t - √(1-ᾱ_t) ε̂) / √ᾱ_t, then return x_t' = √ᾱ_t' x̂_0 + √(1-ᾱ_t') ε̂. `a_t` and `a_prev`
# are the floats ᾱ_t and ᾱ_t' (a_prev = 1.0 means "to clean data").

# %%
def ddim_step(x_t, eps, a_t, a_prev):
    ### BEGIN SOLUTION
    x0 = (x_t - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
    return math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
    ### END SOLUTION


# %%
check("08.4", ddim_step)

# %% [markdown]
# ## Exercise 08.5 — classifier-free guidance
# Mix the conditional and unconditional noise predictions (both (N, D)) with scale s, so that s = 1
# gives the conditional prediction and s = 0 the unconditional one: ε̂ = ε_u + s (ε_c - ε_u).

# %%
def guided(eps_cond, eps_uncond, scale):
    ### BEGIN SOLUTION
    return eps_uncond + scale * (eps_cond - eps_uncond)
    ### END SOLUTION


# %%
check("08.5", guided)

# %% [markdown]
# ## Your sampler at work
# For data from N(2, 0.5²) the best possible noise estimate is known in closed form:
# ε̂(x_t) = √(1-ᾱ_t) (x_t - √ᾱ_t · 2) / (ᾱ_t · 0.5² + 1 - ᾱ_t). Your steps turn pure noise into that
# distribution. A "condition" that moves the mean to -2 shows guidance at work: s = 1 gives the
# conditional mean, s = 0 the unconditional one. DDIM with 20 steps returns a slightly narrower
# spread than 0.5: its deterministic update is exact only in the limit of many steps.

# %%
schedule = cosine_schedule(200)
betas, alpha_bars = schedule.betas, schedule.alpha_bars


def exact_eps(x, t, mean, std=0.5):
    a = float(alpha_bars[t])
    return math.sqrt(1 - a) * (x - math.sqrt(a) * mean) / (a * std ** 2 + 1 - a)


g = torch.Generator().manual_seed(0)
x = torch.randn(20_000, 1, generator=g)
for t in reversed(range(schedule.steps)):
    x = ddpm_step(x, exact_eps(x, t, 2.0), t, betas, alpha_bars, torch.randn(x.shape, generator=g))
print(f"ancestral sampler: mean {float(x.mean()):.3f} (2.0), std {float(x.std()):.3f} (0.5)")
assert abs(float(x.mean()) - 2.0) < 0.05 and abs(float(x.std()) - 0.5) < 0.05, "the ancestral chain missed N(2, 0.5²)"

times = list(range(199, -1, -10))          # 20 DDIM steps: 199, 189, ..., 9
for scale in (0.0, 1.0):
    x = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(1))
    for i, t in enumerate(times):
        a_prev = float(alpha_bars[times[i + 1]]) if i + 1 < len(times) else 1.0
        eps = guided(exact_eps(x, t, -2.0), exact_eps(x, t, 2.0), scale)
        x = ddim_step(x, eps, float(alpha_bars[t]), a_prev)
    print(f"DDIM, 20 steps, guidance s = {scale:g}: mean {float(x.mean()):.3f}, std {float(x.std()):.3f}")
    target = 2.0 if scale == 0 else -2.0
    assert abs(float(x.mean()) - target) < 0.05, f"with s = {scale:g} the samples should centre on {target}"
    assert 0.4 < float(x.std()) < 0.5, "20 DDIM steps give a slightly narrower spread than 0.5 (the lesson says why)"
