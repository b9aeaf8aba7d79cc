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
# - verify the optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) on a 1-D problem,
#   and say which divergence each generator loss follows when D = D*;
# - train a GAN on 1-D and 2-D data, watching the discriminator's view, the samples and both losses;
# - judge the result with a classifier two-sample test rather than with the losses.
#
# **Prerequisites:** chapters 00–01; binary cross-entropy; training a small network in PyTorch.
# **Run time:** about 25 seconds on a 2-core laptop CPU.

# %%
import copy
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
C2ST_N = 2000             # samples per side in the classifier two-sample test
C2ST_STEPS = 200          # full-batch training steps of its classifier
C2ST_PASS = 0.65          # held-out accuracy below which we call the samples indistinguishable

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
# fake = 0). For G, minimising log(1 − D(G(z))) is the **minimax** (saturating) loss. When D
# rejects the fakes confidently, D(G(z)) ≈ 0, and this loss's gradient per unit of logit
# vanishes. Not because log(1 − D) is flat in D — its slope there is −1/(1 − D) ≈ −1 — but
# because D = σ(l) and the sigmoid saturates: the gradient reaches G through the logit l, and
# ∂ log(1 − σ(l)) / ∂l = −σ(l) vanishes as σ(l) → 0. The **non-saturating** loss −log D(G(z)) has the same fixed point
# (p_g = p_data, D = ½) and a logit gradient of −(1 − σ(l)), strongest exactly where G is worst:

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
ax.set(title="generator loss gradient with respect to D's logit l", ylabel="|gradient| w.r.t. l",
       xlabel="D(G(z)) = σ(l)  (0 = D is sure it is fake)")
ax.legend()
plt.show()

# %% [markdown]
# That is the formula; now the real thing, on the 1-D data used below (two bumps at ±2).
# With both players freshly initialised, D(G(z)) ≈ ½ and the two losses send G gradients of
# similar size: the full game later in this chapter starts there. The trouble comes when the
# discriminator *wins* — common early in training, when the generator's samples barely overlap
# the data and D learns to separate them faster than G can move, and whenever D is trained much
# more than G. We model that by giving D a 300-step head start against a frozen, freshly
# initialised generator, and measure the gradient each loss sends to G's weights before and after,
# together with the two factors the chain rule multiplies: the logit gradient (σ(l) or 1 − σ(l))
# and how steeply D's logit changes with x at the fakes, mean |∂l/∂x|.

# %%
seed_everything(SEED)
real_1d = lambda n: torch.cat([torch.randn(n // 2, 1) * 0.4 - 2, torch.randn(n - n // 2, 1) * 0.4 + 2])
G0, D0 = mlp(1, 1), mlp(1, 1)
z = torch.randn(4096, 1)


def generator_gradients():
    """Mean D(G(z)), mean |∂l/∂x| at the fakes, and each loss's gradient norm w.r.t. G's weights."""
    fake = G0(z)
    fake_logits = D0(fake).squeeze(1)
    slope = torch.autograd.grad(fake_logits.sum(), fake, retain_graph=True)[0].abs().mean().item()
    norms = {"slope": slope}
    for name, loss_fn in (("minimax", g_loss_minimax), ("non-saturating", g_loss_non_saturating)):
        grads = torch.autograd.grad(loss_fn(fake_logits), list(G0.parameters()), retain_graph=True)
        norms[name] = torch.sqrt(sum((g ** 2).sum() for g in grads)).item()
    return torch.sigmoid(fake_logits).mean().item(), norms


mean_d_fake_init, grad_norm_init = generator_gradients()
opt = torch.optim.Adam(D0.parameters(), lr=LR)
for _ in range(300):                                  # D's head start; G stays frozen
    fake = G0(torch.randn(BATCH, 1)).detach()
    loss = d_loss(D0(real_1d(BATCH)), D0(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()
mean_d_fake, grad_norm = generator_gradients()
for label, d_fake, norms in (("both players at initialisation", mean_d_fake_init, grad_norm_init),
                             ("after D's 300-step head start", mean_d_fake, grad_norm)):
    print(f"{label:31s}: mean D(G(z)) = {d_fake:.4f}, mean |∂l/∂x| = {norms['slope']:.3f}; "
          f"gradient norm minimax {norms['minimax']:.2e}, non-saturating "
          f"{norms['non-saturating']:.2e} (ratio {norms['non-saturating'] / norms['minimax']:.0f})")
change = {k: grad_norm[k] / grad_norm_init[k] for k in ("minimax", "non-saturating", "slope")}
print(f"after the head start: minimax gradient ×{change['minimax']:.3f} (falls "
      f"{1 / change['minimax']:.1f}×), non-saturating ×{change['non-saturating']:.0f}, "
      f"D's slope at the fakes ×{change['slope']:.0f}, mean D(G(z)) ×{mean_d_fake / mean_d_fake_init:.4f}")

# %% [markdown]
# Read the numbers carefully. In absolute terms the minimax gradient does not vanish here: it
# falls only a few times. Two effects nearly cancel — σ(l) at the fakes dropped by a factor of
# several hundred, but the trained D's logit also became a couple of hundred times steeper in x
# at the fakes, and G's gradient is their product. The non-saturating loss multiplies the same
# steeper slope by 1 − σ(l) ≈ 1 and so *grows* by a similar factor. What starves the minimax
# generator is therefore relative: at the very D that now gives G its most useful signal, it
# receives about a thousandth of what the non-saturating loss receives — the ratio printed above,
# not a fall of that size.

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
# ## Which divergence does the generator follow?
# Plug D* back into V: V(D*, G) = −log 4 + 2·JS(p_data ‖ p_g), the Jensen–Shannon divergence,
# smallest exactly when p_g = p_data (D* = ½ everywhere, the discriminator's loss log 4 ≈ 1.386).
# That is what the **minimax** generator minimises. The non-saturating generator follows
# something else: with D = D* held fixed, "Towards Principled Methods for Training GANs"
# (Arjovsky and Bottou, 2017) shows that its expected gradient is that of
# **KL(p_g ‖ p_data) − 2·JS**. The reverse KL punishes samples where there is no data far more
# than data where there are no samples (a reason often given for GANs dropping modes rather
# than blurring them), and the JS term enters with a minus sign. The fixed point p_g = p_data
# is the same; the path towards it is not.
#
# Both results assume more than the training loop delivers. D* is the best discriminator over
# *all* functions, reached only by a discriminator of unlimited capacity trained to optimality
# against the current G — in "Generative Adversarial Nets" (Goodfellow et al., 2014), Algorithm 1
# runs k discriminator steps per generator step for that reason (the paper used k = 1, and so do
# we), so in practice G follows an approximation of these divergences. And JS saturates: when
# p_data and p_g have disjoint supports, JS = log 2 and V(D*, G) = 0 however far apart they are
# (exercise 02.3 computes it), so the minimax generator's objective is flat there — the
# motivation for the Wasserstein critic of chapter 03.
#
# We check both statements numerically on a generator whose density we know: G(z) = μ + σz,
# so p_g = N(μ, σ²), against the two-bump p_data. The expectation over z and the divergences are
# computed by quadrature on a fine grid (no sampling noise), D* is frozen at the current (μ, σ),
# and autograd gives the gradients with respect to (μ, σ).

# %%
def divergence_gradients(mu, sigma):
    """Gradients w.r.t. (μ, σ) of each generator loss at a frozen D*, and of JS and KL − 2·JS."""
    grid = torch.linspace(-12, 12, 48001, dtype=torch.float64)
    dx = float(grid[1] - grid[0])
    weight_z = torch.distributions.Normal(0.0, 1.0).log_prob(grid).exp() * dx   # z ~ N(0, 1)
    theta0 = torch.tensor([mu, sigma], dtype=torch.float64)
    log_p_g = lambda x, th: torch.distributions.Normal(th[0], th[1]).log_prob(x)
    d_star_logit = lambda x: log_p_data(x) - log_p_g(x, theta0)     # frozen: the current D*
    expect_z = lambda f, th: (f(th[0] + th[1] * grid) * weight_z).sum()

    def divergences(th):
        lp, lq = log_p_data(grid), log_p_g(grid, th)
        lm = torch.logaddexp(lp, lq) - math.log(2)                   # the mixture ½(p + q)
        kl_g_data = (lq.exp() * (lq - lp)).sum() * dx
        js = 0.5 * ((lp.exp() * (lp - lm)).sum() + (lq.exp() * (lq - lm)).sum()) * dx
        return kl_g_data, js

    def grad(objective):
        th = theta0.clone().requires_grad_(True)
        return torch.autograd.grad(objective(th), th)[0]

    return {
        # per-sample losses: log(1 − D*(x)) = −softplus(l), −log D*(x) = softplus(−l)
        "minimax loss": grad(lambda th: expect_z(lambda x: -F.softplus(d_star_logit(x)), th)),
        "non-saturating loss": grad(lambda th: expect_z(lambda x: F.softplus(-d_star_logit(x)), th)),
        "2·JS": grad(lambda th: 2 * divergences(th)[1]),
        "KL(p_g‖p_data) − 2·JS": grad(lambda th: divergences(th)[0] - 2 * divergences(th)[1]),
    }


div_grads = divergence_gradients(mu=0.5, sigma=1.5)
for name, g in div_grads.items():
    print(f"∂/∂(μ, σ) of {name:22s} = ({g[0]:+.5f}, {g[1]:+.5f})")
mm_vs_js = (div_grads["minimax loss"] - div_grads["2·JS"]).norm().item()
ns_vs_kl = (div_grads["non-saturating loss"] - div_grads["KL(p_g‖p_data) − 2·JS"]).norm().item()
ns_vs_js = (div_grads["non-saturating loss"] - div_grads["2·JS"]).norm().item()

# %% [markdown]
# The minimax loss's gradient equals that of 2·JS; the non-saturating loss's equals that of
# KL − 2·JS and is far from the JS gradient — here even the sign of ∂/∂μ differs.
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
G1_untrained = copy.deepcopy(G1)                      # kept as the baseline for the test below
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
w1_end = wasserstein_distance(final_samples, real_1d(5000).squeeze(1))
print(f"1-D Wasserstein distance between G's samples and the data: {w1_start:.3f} at the start, "
      f"{w1_end:.3f} after training")

# %% [markdown]
# ## Did it work? A classifier two-sample test
# The game's own discriminator is a poor judge: it was trained against a moving target, and it
# reads ≈ ½ on everything at initialisation too. Instead we ask a *fresh* classifier whether it
# can tell the final generator's samples from held-out data ("Revisiting Classifier Two-Sample
# Tests", Lopez-Paz and Oquab, 2017): train it on half of the two samples, measure its accuracy
# on the other half. 50% means it cannot tell them apart; 100% means they do not overlap.
# Two baselines show the test has teeth: the same generator before training, and a generator
# that dropped modes — here perfect samples from one bump only.

# %%
def two_sample_accuracy(fake, real, steps=C2ST_STEPS, seed=SEED):
    """Held-out accuracy of a fresh classifier trained to tell fake (N, d) from real (N, d)."""
    gen = torch.Generator().manual_seed(seed)
    n = min(len(fake), len(real))
    x = torch.cat([fake[:n], real[:n]]).detach()
    y = torch.cat([torch.zeros(n), torch.ones(n)])
    order = torch.randperm(2 * n, generator=gen)
    train, test = order[:n], order[n:]                      # half to fit, half to judge
    torch.manual_seed(seed)
    clf = mlp(x.shape[1], 1, hidden=32)
    opt_c = torch.optim.Adam(clf.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(clf(x[train]).squeeze(1), y[train])
        opt_c.zero_grad()
        loss.backward()
        opt_c.step()
    with torch.no_grad():
        return ((clf(x[test]).squeeze(1) > 0).float() == y[test]).float().mean().item()


with torch.no_grad():
    held_out_1d = real_1d(C2ST_N)                            # fresh data, never seen in training
    candidates_1d = {"trained G": G1(torch.randn(C2ST_N, 1)),
                     "untrained G": G1_untrained(torch.randn(C2ST_N, 1)),
                     "one bump only": torch.randn(C2ST_N, 1) * 0.4 + 2}
c2st_1d = {name: two_sample_accuracy(fake, held_out_1d) for name, fake in candidates_1d.items()}
print("1-D two-sample test accuracy: " + ", ".join(f"{k} {v:.1%}" for k, v in c2st_1d.items()))

# %% [markdown]
# ## The full game in 2-D: a ring of 8 Gaussians
# Same loop, 2-D data, a 2-D latent. The discriminator's view is now a surface: where it says
# "real" (red) the generator is pulled; we plot it with the generator's samples at four moments.

# %%
source = ring(std=RING_STD)
seed_everything(SEED)
G2, D2 = mlp(2, 2, hidden=128), mlp(2, 1, hidden=128)
G2_untrained, D2_untrained = copy.deepcopy(G2), copy.deepcopy(D2)
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

# %% [markdown]
# "8/8 modes" counts a mode as covered once it receives a handful of samples, so on its own it
# misses a *partly* collapsed generator. The KL divergence of the mode histogram from uniform does
# not. A baseline shows the difference: perfect samples from the ring, but two of the eight modes
# drawn at a tenth of the others' weight.

# %%
skew_pool = source.sample(20000, seed=SEED + 3)
skew_keep = torch.rand(len(skew_pool), generator=torch.Generator().manual_seed(SEED)) < \
    torch.where(source.assign(skew_pool).mode >= 6, 0.1, 1.0)            # modes 6 and 7 thinned
coverage_skewed = mode_coverage(skew_pool[skew_keep][:2500], source)
print(f"two modes at 1/10 weight: {coverage_skewed.modes}/8 modes covered, "
      f"{coverage_skewed.high_quality:.1%} high quality, mode-histogram KL {coverage_skewed.kl:.3f}")

# %% [markdown]
# The same two-sample test on the ring, with an untrained generator and a generator that drops
# every other mode (perfect samples from 4 of the 8 modes) as baselines. Beside it, the
# discriminator's loss: the trained pair ends near log 4, but so does the *untrained* pair —
# two networks at initialisation that know nothing.

# %%
with torch.no_grad():
    held_out_2d = source.sample(C2ST_N, seed=SEED + 1)        # a seed the training stream never used
    real_pool = source.sample(2 * C2ST_N, seed=SEED + 2)
    candidates_2d = {"trained G": G2(torch.randn(C2ST_N, 2)),
                     "untrained G": G2_untrained(torch.randn(C2ST_N, 2)),
                     "every other mode": real_pool[source.assign(real_pool).mode % 2 == 0][:C2ST_N]}
    untrained_fake = G2_untrained(torch.randn(C2ST_N, 2))
    untrained_d_loss = d_loss(D2_untrained(held_out_2d), D2_untrained(untrained_fake)).item()
c2st_2d = {name: two_sample_accuracy(fake, held_out_2d) for name, fake in candidates_2d.items()}
print("2-D two-sample test accuracy: " + ", ".join(f"{k} {v:.1%}" for k, v in c2st_2d.items()))
final_d_loss = history_2d.last("discriminator", window=20)
print(f"discriminator loss: trained pair {final_d_loss:.3f}, untrained pair {untrained_d_loss:.3f} "
      f"(log 4 = {math.log(4):.3f})")

# %% [markdown]
# ## What equilibrium does and does not mean
# - **Does:** at the game's equilibrium p_g = p_data and D* = ½ everywhere; the discriminator's
#   loss sits at log 4 and the non-saturating generator loss at log 2.
# - **Does not:** the losses are not a quality score. A discriminator loss near log 4 only says
#   *this* D cannot currently tell the two apart; the untrained pair above scores it too. Quality
#   must be *measured* on samples: here with a fresh classifier two-sample test (≈ 50–60% for the
#   trained generators against 100% untrained and about 75% when modes are missing) and the
#   ring's mode coverage, in chapter 03 also with a digits classifier and the Fréchet distance.
# - **Does not:** gradient descent on a two-player game need not converge at all: the players can
#   circle each other or the generator can hop from mode to mode (mode collapse, chapter 03).
#   We use a decaying learning rate and Adam without momentum (β₁ = 0, as in "Improved Training
#   of Wasserstein GANs", Gulrajani et al., 2017), common remedies whose effect this chapter
#   does not measure.
#
# ## Checks

# %%
# The saturating loss starves G only once D wins: comparable gradients at initialisation.
assert 0.3 < mean_d_fake_init < 0.7, f"at initialisation D(G(z)) = {mean_d_fake_init:.3f}, not ≈ ½"
assert grad_norm_init["non-saturating"] < 3 * grad_norm_init["minimax"], grad_norm_init
assert mean_d_fake < 0.1, "after its head start, D should reject the initial generator's samples"
assert grad_norm["non-saturating"] > 100 * grad_norm["minimax"], "the saturating loss should starve G"
# ... measured as what it is: the minimax gradient falls, the non-saturating one grows with D's slope.
assert change["minimax"] < 0.5 and change["non-saturating"] > 30 and change["slope"] > 30, change
assert d_star_error < 0.03, f"trained D differs from D* by {d_star_error:.3f} on average"
assert d_star_max_error < 0.12, f"trained D differs from D* by up to {d_star_max_error:.3f}"
# With D = D*: minimax follows 2·JS, non-saturating follows KL(p_g‖p_data) − 2·JS, not 2·JS.
assert mm_vs_js < 1e-6 and ns_vs_kl < 1e-6, (mm_vs_js, ns_vs_kl)
assert ns_vs_js > 0.1, f"the non-saturating gradient should differ from the JS one ({ns_vs_js:.3f})"
assert w1_end < 0.2 and w1_end < 0.1 * w1_start, f"1-D GAN did not learn (W1 {w1_end:.3f})"
# Two-sample tests: the trained generators are hard to tell from held-out data, the baselines
# (untrained, missing modes) are not — so the test can fail.
for name, c2st in (("1-D", c2st_1d), ("2-D", c2st_2d)):
    trained, untrained, dropped = c2st.values()
    assert trained < C2ST_PASS, f"{name}: a classifier tells G's samples from data ({trained:.1%})"
    assert untrained > 0.95 and dropped > 0.7, f"{name}: the test lacks power on its baselines {c2st}"
assert coverage.modes == 8, f"the 2-D GAN covers only {coverage.modes}/8 modes"
assert coverage.high_quality > 0.8, f"only {coverage.high_quality:.1%} high-quality samples"
# Covered is not enough: the modes must be equally full. The partly collapsed baseline passes the
# two checks above but not this one.
assert coverage.kl < 0.05, f"mode histogram far from uniform (KL {coverage.kl:.3f})"
assert coverage_skewed.modes == 8 and coverage_skewed.high_quality > 0.8 and coverage_skewed.kl > 0.1
# A loss near log 4 does not certify quality: the untrained pair has it too.
assert abs(untrained_d_loss - math.log(4)) < 0.05 and abs(final_d_loss - math.log(4)) < 0.15
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - A GAN trains a generator G(z) and a discriminator D(x) against each other; D is a binary
#   classifier of real vs generated, G is trained through D's gradient.
# - The original minimax generator loss saturates when D wins — measured above as a gradient
#   about a thousand times smaller than the non-saturating loss's at the same D (itself a few
#   times smaller than at initialisation) — so practice uses the non-saturating loss −log D(G(z)).
# - The D* and JS results assume a discriminator of unlimited capacity trained to optimality at
#   every generator step; and JS saturates at log 2 for disjoint supports (chapter 03's motivation).
# - For a fixed G, the best D is p_data / (p_data + p_g). With it, the minimax generator
#   minimises 2·JS(p_data ‖ p_g) − log 4; the non-saturating generator instead follows the
#   gradient of KL(p_g ‖ p_data) − 2·JS (Arjovsky and Bottou, 2017) — both checked numerically
#   above. At equilibrium D = ½ and p_g = p_data.
# - Losses near their equilibrium values do not certify quality (an untrained pair has them too);
#   measure samples instead, e.g. with a classifier two-sample test.
#
# **Interview question this chapter answers:** *How does a GAN work; what do the generator and
# the discriminator each optimise?* — The discriminator maximises the log-likelihood of
# labelling real data 1 and generated data 0 (binary cross-entropy). The generator tries to make
# D label its samples as real: in the original game it minimises log(1 − D(G(z))), in practice it
# minimises −log D(G(z)), which has the same optimum but does not lose its gradient when D is
# confident. With an optimal D, the minimax generator minimises the Jensen–Shannon divergence
# between the data and its own distribution (the game's value is −log 4 + 2·JS); the
# non-saturating one has the same optimum but follows the gradient of KL(p_g ‖ p_data) − 2·JS,
# and its reverse KL penalises samples where there is no data far more than data left uncovered.
