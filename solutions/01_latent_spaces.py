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
# # 01 · Exercises: latent spaces
#
# Build PCA and an autoencoder yourself, then walk between codes. Replace each
# `raise NotImplementedError(...)` with your code and run the `check(...)` cell below it.
# Grade the whole notebook with `gencourse check exercises/01_latent_spaces.ipynb`.
#
# Lesson: `notebooks/01_latent_spaces.ipynb`. Images are flattened: x has shape (N, 64),
# pixels in [0, 1].

# %%
import torch
from torch import nn

from gencourse.data import load_digits
from gencourse.exercises import check
from gencourse.train import minibatches

digits = load_digits(flatten=True)
x_train, x_test = digits.x_train, digits.x_test

# %% [markdown]
# ## Exercise 01.1 — PCA from the SVD
# Return `(mean, components)`: the mean image (64,) and the first k principal directions as
# the rows of a (k, 64) tensor. Centre x, then use `torch.linalg.svd(..., full_matrices=False)`.

# %%
def pca_fit(x, k):
    """x: (N, D) -> mean (D,), components (k, D) with orthonormal rows."""
    ### BEGIN SOLUTION
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:k]
    ### END SOLUTION


# %%
check("01.1", pca_fit)

# %% [markdown]
# ## Exercise 01.2 — PCA reconstruction
# Encode (project the centred x onto the components) and decode (map back, add the mean).

# %%
def pca_reconstruct(x, mean, components):
    """x: (N, D), mean: (D,), components: (k, D) -> (N, D)."""
    ### BEGIN SOLUTION
    codes = (x - mean) @ components.T
    return codes @ components + mean
    ### END SOLUTION


# %%
check("01.2", pca_reconstruct)

# %% [markdown]
# ## Exercise 01.3 — an autoencoder
# Return an `nn.Module` with two methods: `encode(x)` (N, 64) → (N, latent_dim) and
# `decode(z)` (N, latent_dim) → (N, 64) with values in [0, 1] (end with a sigmoid), and a
# `forward(x)` that returns `decode(encode(x))`: the reconstruction must pass through the code.
# Two hidden layers of 128 units with ReLU work well.

# %%
def build_autoencoder(latent_dim):
    ### BEGIN SOLUTION
    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128),
                                         nn.ReLU(), nn.Linear(128, latent_dim))
            self.decoder = nn.Sequential(nn.Linear(latent_dim, 128), nn.ReLU(),
                                         nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64),
                                         nn.Sigmoid())

        def encode(self, x):
            return self.encoder(x)

        def decode(self, z):
            return self.decoder(z)

        def forward(self, x):
            return self.decode(self.encode(x))

    return Autoencoder()
    ### END SOLUTION


# %%
check("01.3", build_autoencoder)

# %% [markdown]
# ## Exercise 01.4 — reconstruction error
# The mean squared error per pixel between `model(x)` and `x`, as a Python float, computed
# without tracking gradients (`torch.no_grad()`).

# %%
def reconstruction_error(model, x):
    """model maps (N, 64) -> (N, 64); x: (N, 64) -> the mean squared error per pixel, a Python float."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return ((model(x) - x) ** 2).mean().item()
    ### END SOLUTION


# %%
check("01.4", reconstruction_error)

# %% [markdown]
# ## Exercise 01.5 — interpolation
# Return `n` codes evenly spaced on the straight line from `z_a` to `z_b`, endpoints included,
# as an (n, d) tensor.

# %%
def interpolate(z_a, z_b, n):
    """z_a, z_b: (d,) -> (n, d), the first row z_a and the last z_b."""
    ### BEGIN SOLUTION
    alphas = torch.linspace(0, 1, n)[:, None]
    return (1 - alphas) * z_a + alphas * z_b
    ### END SOLUTION


# %%
check("01.5", interpolate)

# %% [markdown]
# ## Exercise 01.6 — train it
# Write `train(model, x, n_steps)`: train `model` (an autoencoder with the methods of 01.3)
# in place on x (N, 64) with Adam (learning rate around 3e-3, batches of 128 from
# `minibatches`), minimising the per-pixel squared error. The check hands it a fresh 16-D
# autoencoder and 1,500 steps, then measures the error on the held-out digits.

# %%
def train(model, x, n_steps):
    ### BEGIN SOLUTION
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = minibatches(len(x), 128, torch.Generator().manual_seed(0))
    for _ in range(n_steps):
        xb = x[next(batches)]
        loss = ((model(xb) - xb) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    ### END SOLUTION


# %%
check("01.6", train)
