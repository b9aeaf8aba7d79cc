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
# # 03 · Exercises: measuring GANs
#
# Build the measurements of chapter 03 yourself: mode coverage as published, the evenness of
# the mode histogram, the WGAN-GP gradient penalty, and the Fréchet distance. Replace each
# `raise NotImplementedError(...)` with your code and run the `check(...)` cell below it.
# Grade the whole notebook with `gencourse check exercises/03_gans_in_practice.ipynb`.
#
# Lesson: `notebooks/03_gans_in_practice.ipynb`.

# %%
import math

import torch

from gencourse.data import grid, load_digits
from gencourse.exercises import check
from gencourse.zoo import digits_judge

# %% [markdown]
# ## Exercise 03.1 — modes covered and % high-quality
# `samples` (N, 2), the mode `centers` (K, 2) and the modes' standard deviation `std`. A sample is
# *high-quality* if its distance to the nearest centre is at most 3·std; a mode is *covered* if it
# is the nearest centre of at least one high-quality sample. Return
# `(modes_covered, high_quality_fraction)` as Python numbers. (`torch.cdist` helps.)

# %%
def coverage(samples, centers, std):
    ### BEGIN SOLUTION
    dist = torch.cdist(samples.float(), centers.float())
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= 3 * std
    return int(nearest[good].unique().numel()), float(good.float().mean())
    ### END SOLUTION


# %%
check("03.1", coverage)

# %% [markdown]
# ## Exercise 03.2 — how evenly are the modes hit?
# From `counts` (K,), the number of high-quality samples on each mode, return
# KL(p ‖ uniform) = Σ_k p_k log(K p_k) with p = counts / counts.sum(), as a Python float.
# Modes with no samples contribute 0 (the limit of p log p).

# %%
def kl_from_uniform(counts):
    ### BEGIN SOLUTION
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return float((p * torch.log(p * len(counts))).sum())
    ### END SOLUTION


# %%
check("03.2", kl_from_uniform)

# %% [markdown]
# ## Exercise 03.3 — the gradient penalty of WGAN-GP
# Mix real and fake samples with the given weights `eps` (N, 1): x̂ = eps·real + (1 − eps)·fake.
# Return mean over samples of (‖∇ₓ critic(x̂)‖ − 1)². The penalty is added to the critic's loss,
# so it must stay differentiable with respect to the critic's weights (`create_graph=True`).

# %%
def penalty(critic, real, fake, eps):
    ### BEGIN SOLUTION
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()
    ### END SOLUTION


# %%
check("03.3", penalty)

# %% [markdown]
# ## Exercise 03.4 — the Fréchet distance
# Between N(μ₁, Σ₁) and N(μ₂, Σ₂): ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), as a Python float.
# Σ₁Σ₂ is not symmetric, but Tr((Σ₁Σ₂)^½) equals the sum of the square roots of its
# eigenvalues, which are real and non-negative for covariance matrices
# (`torch.linalg.eigvals`, then take the real part and clamp tiny negatives to 0).

# %%
def frechet(mu1, cov1, mu2, cov2):
    ### BEGIN SOLUTION
    eig = torch.linalg.eigvals(cov1 @ cov2).real.clamp(min=0)
    trace_sqrt = eig.sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * trace_sqrt)
    ### END SOLUTION


# %%
check("03.4", frechet)

# %% [markdown]
# ## Putting it together
# Your metrics on known cases, then your Fréchet distance with the course's digits judge as the
# feature network: real training digits against held-out digits (the floor for any generator).
# The estimate grows as the number of samples shrinks, so compare equal numbers: 360 of each.

# %%
g = grid()
print("real grid samples:", coverage(g.sample(2500, seed=0), g.centers, g.std))
collapsed = g.centers[:3].repeat_interleave(800, dim=0)
print("a generator that found 3 modes:", coverage(collapsed, g.centers, g.std),
      f"KL {kl_from_uniform(torch.bincount(torch.cdist(collapsed, g.centers).argmin(1), minlength=25)):.3f}"
      f" (log 25 = {math.log(25):.3f})")

judge = digits_judge()
digits = load_digits()
with torch.no_grad():
    f_train, f_test = judge.features(digits.x_train).double(), judge.features(digits.x_test).double()
f_train = f_train[torch.randperm(len(f_train), generator=torch.Generator().manual_seed(0))[:len(f_test)]]
fd = frechet(f_train.mean(0), torch.cov(f_train.T), f_test.mean(0), torch.cov(f_test.T))
f_far = f_train + f_train.std(0)  # the same digits with every feature shifted by one std
fd_far = frechet(f_far.mean(0), torch.cov(f_far.T), f_test.mean(0), torch.cov(f_test.T))
print(f"Fréchet distance, {len(f_train)} training vs {len(f_test)} held-out digits, in the judge's "
      f"features: {fd:.2f}; after shifting every feature by one std: {fd_far:.2f}")
assert 0 < fd < 0.5 * fd_far, "real digits should be much closer to real digits than to shifted ones"
