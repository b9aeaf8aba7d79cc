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
# # 00 · Exercises: a Gaussian mixture by hand
#
# Write the pieces of a Gaussian mixture model yourself. Replace each
# `raise NotImplementedError(...)` with your code, then run the `check(...)` cell below it:
# it tells you what is right and, if not, which part is wrong (shape, range, values).
# Grade the whole notebook from a terminal with `gencourse check exercises/00_generative_ai.ipynb`.
#
# Work in float64 tensors. Lesson: `notebooks/00_generative_ai.ipynb`.

# %%
import math

import torch

from gencourse.data import moons
from gencourse.exercises import check

# %% [markdown]
# ## Exercise 00.1 — log-density of a Gaussian
# Return log N(x_n; μ, Σ) for every row of `x` (N, D), as a tensor of shape (N,):
#
# log N(x; μ, Σ) = −½ [ (x−μ)ᵀ Σ⁻¹ (x−μ) + log det Σ + D log 2π ]
#
# It must work for any dimension D (the check tries D = 1, 2 and 5).
# Write the formula yourself (no `torch.distributions`). Hint: `torch.linalg.cholesky` gives
# L with Σ = L Lᵀ; then log det Σ = 2 Σ log diag(L), and the quadratic form is ‖L⁻¹(x−μ)‖².

# %%
def log_gaussian(x, mean, cov):
    """x: (N, D), mean: (D,), cov: (D, D) -> (N,) log-densities."""
    ### BEGIN SOLUTION
    chol = torch.linalg.cholesky(cov)
    diff = (x - mean).T                                            # (D, N)
    solved = torch.linalg.solve_triangular(chol, diff, upper=False)
    quad = (solved ** 2).sum(0)
    log_det = 2 * torch.log(torch.diagonal(chol)).sum()
    return -0.5 * (quad + log_det + x.shape[1] * math.log(2 * math.pi))
    ### END SOLUTION


# %%
check("00.1", log_gaussian)

# %% [markdown]
# ## Exercise 00.2 — the E-step
# Given mixture weights π (K,), means (K, D) and covariances (K, D, D), return the
# responsibilities r (N, K) with r_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j).
# Compute in log space (`torch.logsumexp` or `torch.softmax`) so tiny densities do not underflow:
# the check includes points so far from every component that exp(log N) is exactly 0.

# %%
def responsibilities(x, weights, means, covs):
    """x: (N, D) -> (N, K), each row summing to 1."""
    ### BEGIN SOLUTION
    log_joint = torch.stack([log_gaussian(x, means[k], covs[k]) for k in range(len(weights))],
                            dim=1) + weights.log()
    return torch.softmax(log_joint, dim=1)
    ### END SOLUTION


# %%
check("00.2", responsibilities)

# %% [markdown]
# ## Exercise 00.3 — the M-step
# From responsibilities r (N, K), return `(weights, means, covs)`:
# N_k = Σ_n r_nk;  π_k = N_k / N;  μ_k = Σ_n r_nk x_n / N_k;
# Σ_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k.

# %%
def m_step(x, resp):
    """x: (N, D), resp: (N, K) -> weights (K,), means (K, D), covs (K, D, D)."""
    ### BEGIN SOLUTION
    nk = resp.sum(0)
    weights = nk / len(x)
    means = resp.T @ x / nk[:, None]
    diff = x[None] - means[:, None]                                # (K, N, D)
    covs = torch.einsum("nk,kni,knj->kij", resp, diff, diff) / nk[:, None, None]
    return weights, means, covs
    ### END SOLUTION


# %%
check("00.3", m_step)

# %% [markdown]
# ## Exercise 00.4 — sampling
# Draw `n` points from the mixture, using `generator` for all randomness (the same seed must
# give the same samples whatever the global random state): first the component
# z ~ Cat(weights) (`torch.multinomial`), then x = μ_z + L_z ε with ε ~ N(0, I) and L_z the
# Cholesky factor of Σ_z. Return a tensor of shape (n, D).

# %%
def sample_mixture(weights, means, covs, n, generator):
    """-> (n, D) samples."""
    ### BEGIN SOLUTION
    z = torch.multinomial(weights, n, replacement=True, generator=generator)
    eps = torch.randn(n, means.shape[1], 1, dtype=means.dtype, generator=generator)
    return means[z] + (torch.linalg.cholesky(covs)[z] @ eps).squeeze(-1)
    ### END SOLUTION


# %%
check("00.4", sample_mixture)

# %% [markdown]
# ## Exercise 00.5 — a classifier from class densities
# Given log p(x_n | y=c) for every point and class, `log_lik` (N, C), and the class prior
# p(y) (C,), return the posterior p(y | x_n) (N, C) by Bayes' rule. It must stay correct when
# all the likelihoods are tiny (log-likelihoods around −2000).

# %%
def class_posterior(log_lik, prior):
    """log_lik: (N, C), prior: (C,) -> (N, C) posterior, rows summing to 1."""
    ### BEGIN SOLUTION
    return torch.softmax(log_lik + prior.log(), dim=1)
    ### END SOLUTION


# %%
check("00.5", class_posterior)

# %% [markdown]
# ## Putting it together
# With your pieces, EM on the two moons: the training log-likelihood must rise every iteration.

# %%
x = moons(std=0.1).sample(500, seed=0).double()
k = 6
weights = torch.full((k,), 1 / k, dtype=torch.float64)
means = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:k]]
covs = torch.eye(2, dtype=torch.float64).repeat(k, 1, 1) * 0.1
curve = []
for _ in range(50):
    resp = responsibilities(x, weights, means, covs)
    log_px = torch.logsumexp(torch.stack([log_gaussian(x, means[j], covs[j]) for j in range(k)], 1)
                             + weights.log(), dim=1)
    curve.append(log_px.mean().item())
    weights, means, covs = m_step(x, resp)
    covs = covs + 1e-6 * torch.eye(2, dtype=torch.float64)
print(f"mean log-likelihood: {curve[0]:.3f} -> {curve[-1]:.3f}")
assert all(b >= a - 1e-9 for a, b in zip(curve, curve[1:])), "EM lowered the likelihood"
assert curve[-1] > curve[0] + 0.5, "EM should raise the likelihood clearly"
new_points = sample_mixture(weights, means, covs, 5, torch.Generator().manual_seed(1))
print("five new points:\n", new_points)
