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
# # 04 · Exercises: the pieces of a VAE
#
# Build the parts of chapter 04 yourself: the reparameterised sample, the closed-form KL, the
# binomial likelihood of a digit, the importance-weighted bound and the ROC AUC used for anomaly
# detection. Replace each `raise NotImplementedError(...)` with your code and run the `check(...)`
# cell below it. Grade the whole notebook with `gencourse check exercises/04_vaes.ipynb`.
#
# Lesson: `notebooks/04_vaes.ipynb`.

# %%
import math

import torch

from gencourse.data import load_digits
from gencourse.exercises import check
from gencourse.models.vae import VAE, VAEConfig, importance_weighted_bound, train_vae

# %% [markdown]
# ## Exercise 04.1 — the reparameterisation trick
# Given the encoder's `mu` and `logvar` (log σ²), both (N, D), and standard-normal noise `eps`
# (N, D), return the sample z = μ + σ·ε. It must stay differentiable with respect to `mu` and
# `logvar`.

# %%
def reparameterise(mu, logvar, eps):
    ### BEGIN SOLUTION
    return mu + torch.exp(0.5 * logvar) * eps
    ### END SOLUTION


# %%
check("04.1", reparameterise)

# %% [markdown]
# ## Exercise 04.2 — KL(N(μ, σ²) ‖ N(0, I)) in closed form
# Per dimension the KL is ½(σ² + μ² − 1 − log σ²). Return it summed over the D dimensions:
# shape (N,).

# %%
def kl_to_standard_normal(mu, logvar):
    ### BEGIN SOLUTION
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum(dim=1)
    ### END SOLUTION


# %%
check("04.2", kl_to_standard_normal)

# %% [markdown]
# ## Exercise 04.3 — the binomial log-likelihood of a digit
# A digit's pixels `x` (N, 64) are multiples of 1/16 in [0, 1]; with k = 16·x, each pixel is
# modelled as k ~ Binomial(16, p) where p = sigmoid(`logits`). Return log p(x|z) summed over the
# 64 pixels, shape (N,):
# log C(16, k) + k log p + (16 − k) log(1 − p). Use `torch.lgamma` for the log binomial
# coefficient (log C(n, k) = lgamma(n+1) − lgamma(k+1) − lgamma(n−k+1)) and
# `torch.nn.functional.logsigmoid` for stable logs (log(1 − sigmoid(l)) = logsigmoid(−l)).

# %%
def log_likelihood(x, logits):
    ### BEGIN SOLUTION
    k = (x * 16).round()
    log_choose = math.lgamma(17) - torch.lgamma(k + 1) - torch.lgamma(17 - k)
    logsig = torch.nn.functional.logsigmoid
    return (log_choose + k * logsig(logits) + (16 - k) * logsig(-logits)).sum(dim=1)
    ### END SOLUTION


# %%
check("04.3", log_likelihood)

# %% [markdown]
# ## Exercise 04.4 — the importance-weighted bound
# `log_w` (k, N) holds, for each of N images, k log importance weights
# log p(x|z_i) + log p(z_i) − log q(z_i|x). Return L_k = log((1/k) Σ_i w_i), shape (N,). The
# weights are tiny (e^-150 is 0 in float32), so never leave log space.

# %%
def bound_from_log_weights(log_w):
    ### BEGIN SOLUTION
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
    ### END SOLUTION


# %%
check("04.4", bound_from_log_weights)

# %% [markdown]
# ## Exercise 04.5 — ROC AUC by counting pairs
# The area under the ROC curve is the probability that a random positive (label 1) scores higher
# than a random negative (label 0), ties counting one half. Compute it from `scores` (N,) and
# `labels` (N,) by comparing every positive with every negative (broadcasting), as a Python float.

# %%
def auc(scores, labels):
    ### BEGIN SOLUTION
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())
    ### END SOLUTION


# %%
check("04.5", auc)

# %% [markdown]
# ## Putting it together
# Train a small VAE (2-D code, a few seconds), then use your functions to measure it on held-out
# digits: the ELBO from your KL and likelihood, and the bound with k = 100 from your
# reparameterisation and `bound_from_log_weights`. The bound must come out above the ELBO.

# %%
digits = load_digits(flatten=True)
torch.manual_seed(0)
vae = VAE(VAEConfig(latent_dim=2))
train_vae(vae, digits.x_train, steps=800, plot=False, progress=False)
x = digits.x_test
k = 100
with torch.no_grad():
    mu, logvar = vae.encode(x)
    g = torch.Generator().manual_seed(0)
    elbo = log_likelihood(x, vae.decode_logits(reparameterise(mu, logvar, torch.randn(mu.shape, generator=g)))) \
        - kl_to_standard_normal(mu, logvar)
    log_w = []
    for _ in range(k):
        z = reparameterise(mu, logvar, torch.randn(mu.shape, generator=g))
        log_prior = -0.5 * (z ** 2 + math.log(2 * math.pi)).sum(1)
        log_q = -0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + math.log(2 * math.pi)).sum(1)
        log_w.append(log_likelihood(x, vae.decode_logits(z)) + log_prior - log_q)
    bound = bound_from_log_weights(torch.stack(log_w))
reference = importance_weighted_bound(vae, x, k=k)
print(f"held-out ELBO {elbo.mean():.1f} nats, L_{k} {bound.mean():.1f} nats per digit "
      f"(gencourse's L_{k}: {reference.mean():.1f})")
assert bound.mean() > elbo.mean(), "the importance-weighted bound should be tighter than the ELBO"
assert abs(float(bound.mean() - reference.mean())) < 0.5, "your L_k should agree with gencourse's"
assert bound.mean() > -200, "an untrained VAE scores about -530 nats per digit: did the training run?"
