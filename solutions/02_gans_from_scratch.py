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
# # 02 · Exercises: GANs from scratch
#
# Write the pieces of the GAN game yourself. Replace each `raise NotImplementedError(...)`
# with your code and run the `check(...)` cell below it. Grade the whole notebook with
# `gencourse check exercises/02_gans_from_scratch.ipynb`.
#
# The discriminator returns **logits** l; D(x) = sigmoid(l). Lesson: `notebooks/02_gans_from_scratch.ipynb`.

# %%
import torch
import torch.nn.functional as F

from gencourse.data import ring
from gencourse.exercises import check
from gencourse.metrics import mode_coverage

# %% [markdown]
# ## Exercise 02.1 — the discriminator's loss
# Binary cross-entropy with real = 1 and fake = 0, averaged over each batch and summed:
# −mean log D(x) − mean log(1 − D(G(z))). Work on logits so that confident logits (±200) stay
# finite: log σ(l) = −softplus(−l) and log(1 − σ(l)) = −softplus(l).

# %%
def discriminator_loss(real_logits, fake_logits):
    """real_logits: (N,), fake_logits: (M,) -> a 0-d tensor."""
    ### BEGIN SOLUTION
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    ### END SOLUTION


# %%
check("02.1", discriminator_loss)

# %% [markdown]
# ## Exercise 02.2 — the non-saturating generator loss
# −mean log D(G(z)), from the discriminator's logits on generated samples.

# %%
def generator_loss(fake_logits):
    ### BEGIN SOLUTION
    return F.softplus(-fake_logits).mean()
    ### END SOLUTION


# %%
check("02.2", generator_loss)

# %% [markdown]
# ## Exercise 02.3 — the optimal discriminator and the value of the game
# For a fixed generator, D*(x) = p_data(x) / (p_data(x) + p_g(x)): the share of real samples among
# all samples that land at x.
#
# **(a)** `optimal_discriminator(p_data, p_g)`: given both densities at a set of points (tensors of
# the same shape), return D* there. Where p_data = p_g = 0 no sample ever lands, V does not depend
# on D, and the formula is 0/0 = NaN: return ½ there (D is indifferent). Do not add an epsilon to
# the denominator — densities can be tiny (1e-30) where the ratio is still perfectly defined.
#
# **(b)** `game_value(p_data, p_g, dx)`: the densities are tabulated on a grid with spacing dx.
# Return the value of the game at D*,
# V(D*, G) = ∫ p_data(x) log D*(x) + p_g(x) log(1 − D*(x)) dx, as a Python float, using your D*.
# A density of 0 contributes nothing (0 · log 0 = 0; `torch.xlogy(a, b)` computes a · log b with
# that convention). The check compares it with −log 4 + 2·JS(p_data ‖ p_g), computed from the
# divergence, on identical, overlapping and non-overlapping densities.

# %%
def optimal_discriminator(p_data, p_g):
    ### BEGIN SOLUTION
    total = p_data + p_g
    return torch.where(total > 0, p_data / total, torch.full_like(total, 0.5))
    ### END SOLUTION


def game_value(p_data, p_g, dx):
    ### BEGIN SOLUTION
    d_star = optimal_discriminator(p_data, p_g)
    return float(((torch.xlogy(p_data, d_star) + torch.xlogy(p_g, 1 - d_star)) * dx).sum())
    ### END SOLUTION


# %%
check("02.3", optimal_discriminator, game_value)

# %% [markdown]
# The value runs from −log 4 (p_g = p_data) to 0 (supports that do not overlap). Slide one box
# away from the other: V rises while they overlap, then stays at 0 for *any* gap, however wide.
# There the minimax generator's objective is flat and tells G nothing about which way to move —
# the problem "Towards Principled Methods for Training GANs" (Arjovsky and Bottou, 2017)
# analyses, and one motivation for the Wasserstein loss of chapter 03.

# %%
x = torch.arange(-6.0, 6.0, 0.01)
box = lambda lo: ((x >= lo - 0.005) & (x < lo + 0.995)).float()   # uniform on [lo, lo + 1)
for shift in (0.25, 0.5, 1.0, 3.0):
    print(f"uniform on [0, 1) vs on [{shift:g}, {shift + 1:g}): V(D*, G) = "
          f"{game_value(box(0.0), box(shift), 0.01):+.4f}")

# %% [markdown]
# ## Exercise 02.4 — one step of the game
# Given the generator G, the discriminator D, their optimisers, a batch of real samples and a
# batch of noise z:
# 1. compute `fake = G(z)`;
# 2. update D with `discriminator_loss` on D(real) and D(fake.detach()) (detach: this step must
#    not change G);
# 3. update G with `generator_loss` on D(fake) — the same fakes, scored by the updated D.
#
# Return the two losses as Python floats `(loss_d, loss_g)`. Remember `zero_grad()` before each
# `backward()`: gradients accumulate in `.grad` until cleared, and the check starts your step with
# gradients left over from an earlier one.

# %%
def train_step(G, D, opt_g, opt_d, real, z):
    ### BEGIN SOLUTION
    fake = G(z)
    loss_d = discriminator_loss(D(real).squeeze(-1), D(fake.detach()).squeeze(-1))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = generator_loss(D(fake).squeeze(-1))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()
    ### END SOLUTION


# %%
check("02.4", train_step)

# %% [markdown]
# ## Putting it together
# Your `train_step` trains a GAN on a ring of 8 Gaussians. After 2,500 steps it should cover
# every mode.

# %%
torch.manual_seed(0)
source = ring(std=0.05)
G = torch.nn.Sequential(torch.nn.Linear(2, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                        torch.nn.ReLU(), torch.nn.Linear(128, 2))
D = torch.nn.Sequential(torch.nn.Linear(2, 128), torch.nn.LeakyReLU(0.2), torch.nn.Linear(128, 128),
                        torch.nn.LeakyReLU(0.2), torch.nn.Linear(128, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
gen = torch.Generator().manual_seed(0)
for step in range(2500):
    train_step(G, D, opt_g, opt_d, source.sample(256, generator=gen), torch.randn(256, 2))
with torch.no_grad():
    coverage = mode_coverage(G(torch.randn(2500, 2)), source)
print(f"{coverage.modes}/8 modes, {coverage.high_quality:.1%} high-quality samples, "
      f"mode-histogram KL from uniform {coverage.kl:.3f}")
assert coverage.modes >= 7, "the GAN should cover (nearly) every mode of the ring"
# A mode with a handful of samples counts as covered; the KL also catches modes left half-empty
# (two of eight modes at a tenth of the weight give about 0.18).
assert coverage.kl < 0.1, f"the modes are far from equally full (KL {coverage.kl:.3f})"
