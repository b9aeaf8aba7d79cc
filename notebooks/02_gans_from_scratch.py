# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (gencourse)
#     language: python
#     name: gencourse
# ---

# %% [markdown]
# # 02 · GANs from scratch
#
# A generative adversarial network ("Generative Adversarial Nets", Goodfellow et al., 2014)
# never writes down a density. A **generator** G turns random noise z into a sample; a
# **discriminator** D looks at a sample and says how likely it is to be real. D is trained to
# tell real from fake, G is trained to fool D. When neither can improve, G's samples follow
# the data distribution. This chapter builds both players from a few lines of PyTorch and
# checks the theory numerically.
#
# **You will learn to**
# - write the minimax objective and explain why practice uses the non-saturating generator loss
#   (and measure the vanishing gradient that motivates it);
# - verify the optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) on a 1-D problem;
# - train a GAN on 1-D and 2-D data, watching the discriminator's view, the samples and both losses;
# - say what the GAN equilibrium does and does not mean.
#
# **Prerequisites:** chapters 00–01; binary cross-entropy; training a small network in PyTorch.
# **Run time:** about 25 seconds on a 2-core laptop CPU.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance

from gencourse.data import ring
from gencourse.metrics import mode_coverage
from gencourse.runtime import seed_everything
from gencourse.train import fit

notebook_start = time.perf_counter()

# %% [markdown]
# ## Parameters

# %%
SEED = 0
HIDDEN = 64               # width of both players' hidden layers
BATCH = 256
LR = 1e-3
STEPS_D_ONLY = 1500       # training the discriminator alone against a fixed generator
STEPS_1D = 3000           # the full game on 1-D data
STEPS_2D = 4000           # the full game on the 2-D ring
RING_STD = 0.05           # a slightly wider ring than the chapter-03 benchmark, to train fast

# %% [markdown]
# ## The two players
# Both are small multilayer perceptrons. D outputs a **logit** l; D(x) = σ(l) is the
# probability that x is real. Working with logits keeps the losses numerically stable.

# %%
def mlp(n_in, n_out, hidden=HIDDEN, act=torch.nn.LeakyReLU(0.2)):
    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), act, torch.nn.Linear(hidden, hidden),
                               act, torch.nn.Linear(hidden, hidden), act, torch.nn.Linear(hidden, n_out))

# %% [markdown]
# ## The game and its two generator losses
# The original value function is
#
# V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))],
#
# which D maximises and G minimises. D's side is ordinary binary cross-entropy (real = 1,
# fake = 0). For G, minimising log(1 − D(G(z))) is the **minimax** (saturating) loss. Early in
# training D rejects fakes easily, D(G(z)) ≈ 0, and there log(1 − D) is flat: G gets almost no
# gradient. The **non-saturating** loss −log D(G(z)) has the same fixed point but a strong
# gradient exactly where G is worst. In terms of the logit l, the gradients are −σ(l) and
# −(1 − σ(l)):

# %%
def d_loss(real_logits, fake_logits):
    """−log D(x) − log(1 − D(G(z))), averaged: binary cross-entropy on logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_minimax(fake_logits):
    return -F.softplus(fake_logits).mean()        # log(1 − σ(l))


def g_loss_non_saturating(fake_logits):
    return F.softplus(-fake_logits).mean()        # −log σ(l)


d_of_fake = torch.linspace(0.001, 0.999, 200)
logits = torch.logit(d_of_fake).requires_grad_(True)
grad_mm = torch.autograd.grad(g_loss_minimax(logits) * len(logits), logits)[0]
grad_ns = torch.autograd.grad(g_loss_non_saturating(logits) * len(logits), logits)[0]
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(d_of_fake, grad_mm.abs(), label="minimax: |∂ log(1−D) / ∂l|")
ax.plot(d_of_fake, grad_ns.abs(), label="non-saturating: |∂ −log D / ∂l|")
ax.set(title="generator gradient against D(G(z))", xlabel="D(G(z))  (0 = D is sure it is fake)",
       ylabel="gradient magnitude")
ax.legend()
plt.show()

# %% [markdown]
# That is the formula; now the real thing. We train a discriminator for a few hundred steps
# against a freshly initialised generator — the situation at the start of every GAN run — and
# measure the gradient that each loss sends to the generator's weights.

# %%
seed_everything(SEED)
real_1d = lambda n: torch.cat([torch.randn(n // 2, 1) * 0.4 - 2, torch.randn(n - n // 2, 1) * 0.4 + 2])
G0, D0 = mlp(1, 1), mlp(1, 1)
opt = torch.optim.Adam(D0.parameters(), lr=LR)
for _ in range(300):
    fake = G0(torch.randn(BATCH, 1)).detach()
    loss = d_loss(D0(real_1d(BATCH)), D0(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()

z = torch.randn(4096, 1)
fake_logits = D0(G0(z)).squeeze(1)
grad_norm = {}
for name, loss_fn in (("minimax", g_loss_minimax), ("non-saturating", g_loss_non_saturating)):
    grads = torch.autograd.grad(loss_fn(fake_logits), list(G0.parameters()), retain_graph=True)
    grad_norm[name] = torch.sqrt(sum((g ** 2).sum() for g in grads)).item()
mean_d_fake = torch.sigmoid(fake_logits).mean().item()
print(f"after 300 discriminator steps, mean D(G(z)) = {mean_d_fake:.4f}")
print(f"generator gradient norm — minimax: {grad_norm['minimax']:.2e}, "
      f"non-saturating: {grad_norm['non-saturating']:.2e} "
      f"({grad_norm['non-saturating'] / grad_norm['minimax']:.0f}× larger)")

# %% [markdown]
# ## The optimal discriminator
# For a *fixed* generator, the D that maximises V is D*(x) = p_data(x) / (p_data(x) + p_g(x)):
# at each x, the best guess is the share of real samples among all samples seen there. We
# check this by training D alone against a generator whose distribution we know exactly —
# here p_g = N(0, 1.5²) — with p_data the two-bump mixture above.

# %%
def log_p_data(x):
    comps = torch.stack([torch.distributions.Normal(-2, 0.4).log_prob(x),
                         torch.distributions.Normal(2, 0.4).log_prob(x)])
    return torch.logsumexp(comps, 0) - math.log(2)


p_g_dist = torch.distributions.Normal(0.0, 1.5)
seed_everything(SEED)
D = mlp(1, 1)
opt = torch.optim.Adam(D.parameters(), lr=LR)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS_D_ONLY)  # settle at the end


def d_only_step(_):
    loss = d_loss(D(real_1d(4 * BATCH)), D(p_g_dist.sample((4 * BATCH, 1))))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return loss.detach()


fit(d_only_step, STEPS_D_ONLY, seed=SEED, plot=False, title="discriminator vs a fixed generator")
xs = torch.linspace(-4, 4, 400)
with torch.no_grad():
    d_learned = torch.sigmoid(D(xs[:, None])).squeeze(1)
d_star = torch.sigmoid(log_p_data(xs) - p_g_dist.log_prob(xs))   # p_d / (p_d + p_g)
# Compare where samples actually fall (elsewhere D is never trained and anything goes):
# the mean |D − D*| weighted by the density of the samples D sees, and the largest gap
# where that density is not tiny.
mass = 0.5 * (log_p_data(xs).exp() + p_g_dist.log_prob(xs).exp())
gap = (d_learned - d_star).abs()
d_star_error = ((gap * mass).sum() / mass.sum()).item()
d_star_max_error = gap[mass > 0.05].max().item()
print(f"|D − D*|: {d_star_error:.3f} on average over the samples, at most {d_star_max_error:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.plot(xs, log_p_data(xs).exp(), color="tab:blue", alpha=0.5, label="p_data")
ax.plot(xs, p_g_dist.log_prob(xs).exp(), color="tab:orange", alpha=0.5, label="p_g (fixed)")
ax.plot(xs, d_star, "k--", label="D* = p_data / (p_data + p_g)")
ax.plot(xs, d_learned, color="tab:green", label="trained D")
ax.set(title=f"the trained discriminator matches D* (mean error {d_star_error:.3f})", xlabel="x",
       ylabel="density / probability")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Plug D* back into V and the generator's objective becomes 2·JS(p_data ‖ p_g) − log 4: the
# Jensen–Shannon divergence, minimised exactly when p_g = p_data, where D* = ½ everywhere and
# the discriminator's loss is log 4 ≈ 1.386.
#
# ## The full game in 1-D
# Now both players learn. Each step: one discriminator update on real samples and detached
# fakes, then one generator update with the non-saturating loss. We keep snapshots of the
# generator's histogram and of D along the way.

# %%
def train_game(G, D, sample_real, steps, latent_dim, snapshot_every=None, title="GAN"):
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=(0.0, 0.9))
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, steps) for o in (opt_g, opt_d)]
    snapshots = {}

    def step(i):
        real = sample_real(BATCH)
        fake = G(torch.randn(BATCH, latent_dim))
        loss_d = d_loss(D(real), D(fake.detach()))           # 1) discriminator step
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = g_loss_non_saturating(D(fake))               # 2) generator step, same fakes
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for s in scheds:
            s.step()
        if snapshot_every and (i % snapshot_every == 0 or i == steps - 1):
            snapshots[i] = {k: v.clone() for k, v in G.state_dict().items()}, \
                           {k: v.clone() for k, v in D.state_dict().items()}
        return {"discriminator": loss_d.detach(), "generator": loss_g.detach()}

    history = fit(step, steps, seed=SEED, title=title)
    return history, snapshots


seed_everything(SEED)
G1, D1 = mlp(1, 1), mlp(1, 1)
with torch.no_grad():
    w1_start = wasserstein_distance(G1(torch.randn(5000, 1)).squeeze(1), real_1d(5000).squeeze(1))
history_1d, snaps_1d = train_game(G1, D1, real_1d, STEPS_1D, latent_dim=1,
                                  snapshot_every=STEPS_1D // 3, title="1-D GAN losses")

# %%
fig, axes = plt.subplots(1, len(snaps_1d), figsize=(3.2 * len(snaps_1d), 2.8), sharey=True)
G_view, D_view = mlp(1, 1), mlp(1, 1)
for ax, (step_i, (g_state, d_state)) in zip(axes, snaps_1d.items()):
    G_view.load_state_dict(g_state)
    D_view.load_state_dict(d_state)
    with torch.no_grad():
        samples = G_view(torch.randn(5000, 1)).squeeze(1)
        d_curve = torch.sigmoid(D_view(xs[:, None])).squeeze(1)
    ax.hist(samples.clamp(-4, 4), bins=80, range=(-4, 4), density=True, color="tab:orange",
            alpha=0.6, label="G's samples")
    ax.plot(xs, log_p_data(xs).exp(), color="tab:blue", label="p_data")
    ax.plot(xs, d_curve, "g", label="D(x)")
    ax.set(title=f"step {step_i + 1}", xlabel="x")
axes[0].set_ylabel("density / D(x)")
axes[0].legend(fontsize=7)
fig.suptitle("1-D GAN: the generator's histogram moves onto the data, D flattens towards ½")
fig.tight_layout()
plt.show()

with torch.no_grad():
    final_samples = G1(torch.randn(5000, 1)).squeeze(1)
    d_on_data = torch.sigmoid(D1(real_1d(5000))).mean().item()
    d_on_fake = torch.sigmoid(D1(final_samples[:, None])).mean().item()
w1_end = wasserstein_distance(final_samples, real_1d(5000).squeeze(1))
print(f"1-D Wasserstein distance between G's samples and the data: {w1_start:.3f} at the start, "
      f"{w1_end:.3f} after training")
print(f"mean D on real samples {d_on_data:.3f}, on generated samples {d_on_fake:.3f} (equilibrium: 0.5)")

# %% [markdown]
# ## The full game in 2-D: a ring of 8 Gaussians
# Same loop, 2-D data, a 2-D latent. The discriminator's view is now a surface: where it says
# "real" (red) the generator is pulled; we plot it with the generator's samples at four moments.

# %%
source = ring(std=RING_STD)
seed_everything(SEED)
G2, D2 = mlp(2, 2, hidden=128), mlp(2, 1, hidden=128)
gen = torch.Generator().manual_seed(SEED)
history_2d, snaps_2d = train_game(G2, D2, lambda n: source.sample(n, generator=gen), STEPS_2D,
                                  latent_dim=2, snapshot_every=STEPS_2D // 3, title="2-D GAN losses")

# %%
gx, gy = torch.meshgrid(torch.linspace(-1.6, 1.6, 120), torch.linspace(-1.6, 1.6, 120), indexing="xy")
grid_pts = torch.stack([gx.flatten(), gy.flatten()], 1)
fig, axes = plt.subplots(1, len(snaps_2d), figsize=(3.3 * len(snaps_2d), 3.3))
G_view, D_view = mlp(2, 2, hidden=128), mlp(2, 1, hidden=128)
for ax, (step_i, (g_state, d_state)) in zip(axes, snaps_2d.items()):
    G_view.load_state_dict(g_state)
    D_view.load_state_dict(d_state)
    with torch.no_grad():
        surface = torch.sigmoid(D_view(grid_pts)).reshape(gx.shape)
        samples = G_view(torch.randn(1000, 2))
    ax.contourf(gx, gy, surface, levels=20, cmap="RdBu_r", vmin=0, vmax=1)
    ax.scatter(*samples.T, s=2, color="black")
    ax.scatter(*source.centers.T, marker="x", color="yellow", s=30)
    ax.set(title=f"step {step_i + 1}", xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), xlabel="$x_1$")
    ax.set_aspect("equal")
axes[0].set_ylabel("$x_2$")
fig.suptitle("2-D GAN: D(x) as colour (red = 'real'), G's samples in black, modes as crosses")
fig.tight_layout()
plt.show()

fig, ax = plt.subplots(figsize=(6, 2.8))
for name, values in history_2d.values.items():
    ax.plot(history_2d.steps, values, label=name)
ax.axhline(math.log(4), color="tab:blue", ls=":", label="log 4 (D at equilibrium)")
ax.axhline(math.log(2), color="tab:orange", ls=":", label="log 2 (G at equilibrium)")
ax.set(title="both losses during 2-D training", xlabel="step", ylabel="loss")
ax.legend(fontsize=7)
plt.show()

with torch.no_grad():
    coverage = mode_coverage(G2(torch.randn(2500, 2)), source)
print(f"ring: {coverage.modes}/8 modes covered, {coverage.high_quality:.1%} of samples within "
      f"3 std of a mode, mode-histogram KL from uniform {coverage.kl:.3f}")
final_d_loss = history_2d.last("discriminator", window=20)
print(f"discriminator loss over the last steps: {final_d_loss:.3f} (log 4 = {math.log(4):.3f})")

# %% [markdown]
# ## What equilibrium does and does not mean
# - **Does:** at the game's equilibrium p_g = p_data and D* = ½ everywhere; the discriminator's
#   loss sits near log 4 and the non-saturating generator loss near log 2. The runs above end close
#   to these values.
# - **Does not:** the losses are not a quality score. A discriminator loss near log 4 only says D
#   cannot currently tell the two apart; a weak D is fooled by a poor generator as well. Quality
#   must be *measured* on samples — here with the ring's mode coverage, in chapter 03 also with a
#   classifier and the Fréchet distance.
# - **Does not:** gradient descent on a two-player game need not converge at all: the players can
#   circle each other or the generator can hop from mode to mode (mode collapse, chapter 03).
#   Learning-rate decay and momentum-free Adam, used here, damp such oscillations.
#
# ## Checks

# %%
assert grad_norm["non-saturating"] > 10 * grad_norm["minimax"], "the saturating loss should starve G"
assert mean_d_fake < 0.1, "after training, D should reject the initial generator's samples"
assert d_star_error < 0.03, f"trained D differs from D* by {d_star_error:.3f} on average"
assert d_star_max_error < 0.12, f"trained D differs from D* by up to {d_star_max_error:.3f}"
assert w1_end < 0.2 and w1_end < 0.1 * w1_start, f"1-D GAN did not learn (W1 {w1_end:.3f})"
assert abs(d_on_data - 0.5) < 0.1 and abs(d_on_fake - 0.5) < 0.1, "D should end near ½"
assert coverage.modes == 8, f"the 2-D GAN covers only {coverage.modes}/8 modes"
assert coverage.high_quality > 0.8, f"only {coverage.high_quality:.1%} high-quality samples"
assert abs(final_d_loss - math.log(4)) < 0.15, "the discriminator loss should end near log 4"
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - A GAN trains a generator G(z) and a discriminator D(x) against each other; D is a binary
#   classifier of real vs generated, G is trained through D's gradient.
# - The original minimax generator loss saturates when D wins — measured above as a gradient
#   orders of magnitude smaller — so practice uses the non-saturating loss −log D(G(z)).
# - For a fixed G, the best D is p_data / (p_data + p_g), and with it the game minimises the
#   Jensen–Shannon divergence; at equilibrium D = ½ and p_g = p_data.
# - Losses near their equilibrium values do not certify quality; measure samples instead.
#
# **Interview question this chapter answers:** *How does a GAN work; what do the generator and
# the discriminator each optimise?* — The discriminator maximises the log-likelihood of
# labelling real data 1 and generated data 0 (binary cross-entropy). The generator tries to make
# D label its samples as real: in the original game it minimises log(1 − D(G(z))), in practice it
# minimises −log D(G(z)), which has the same optimum but does not lose its gradient when D is
# confident. With an optimal D the generator minimises the Jensen–Shannon divergence between
# the data and its own distribution.
