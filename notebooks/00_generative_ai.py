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
# # 00 · What generative AI is
#
# A **discriminative** model learns p(y | x): given an input, which label? A **generative**
# model learns p(x) itself (or p(x | y)): how likely is this input, and — the part that
# gives the field its name — *draw me a new one*. In this chapter both are fitted to the
# same 2-D data so the difference can be seen and measured.
#
# **You will learn to**
# - fit a classifier and a density model to the same data and say what each can and cannot do;
# - write expectation-maximisation (EM) for a Gaussian mixture and check it against scikit-learn;
# - measure a density model by its log-likelihood on held-out data, and its samples by where they land;
# - name the three phases of a generative model (training, latent representation, generation)
#   and the model families used for text, images, audio and code.
#
# **Prerequisites:** Python, NumPy-style array code, a little probability (Gaussians, Bayes' rule).
# **Run time:** about 10 seconds on a 2-core laptop CPU.

# %%
import time
import warnings

import matplotlib.pyplot as plt
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gencourse.data import moons
from gencourse.models import GaussianMixture
from gencourse.plotting import samples_over_data
from gencourse.runtime import seed_everything

notebook_start = time.perf_counter()

# %% [markdown]
# ## Parameters
# Everything you may want to change lives here.

# %%
SEED = 0
N_TRAIN, N_TEST = 1000, 2000   # points drawn from the two-moons distribution
NOISE = 0.1                    # standard deviation of the noise around each moon
K_VALUES = (1, 2, 4, 8, 16, 32, 64)  # mixture sizes to compare on held-out data
K = 8                          # the mixture used in the rest of the chapter
EM_ITERS = 200
CLASSIFIER_STEPS = 500

# %% [markdown]
# ## The data: two moons
# Each point comes from one of two half-circles (its class y ∈ {0, 1}) plus Gaussian noise.
# `gencourse.data.moons` knows the curves, so it can later tell whether a *generated*
# point lies on a moon.

# %%
seed_everything(SEED)
source = moons(std=NOISE)
x_train, y_train = source.sample(N_TRAIN, seed=SEED, return_modes=True)
x_test, y_test = source.sample(N_TEST, seed=SEED + 1, return_modes=True)

fig, ax = plt.subplots(figsize=(5, 3.5))
for c in (0, 1):
    ax.scatter(*x_train[y_train == c].T, s=5, label=f"class {c}")
ax.set(title="two moons: training data", xlabel="$x_1$", ylabel="$x_2$")
ax.legend()
plt.show()

# %% [markdown]
# ## A discriminative model: p(y | x)
# A small neural network maps a point to the probability of class 1 and is trained with
# cross-entropy. It draws a boundary between the classes — and that is all it knows.
# It has no opinion on whether a point looks like the data at all, and no way to make new points.

# %%
classifier = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(),
                                 torch.nn.Linear(32, 32), torch.nn.ReLU(),
                                 torch.nn.Linear(32, 1))
opt = torch.optim.Adam(classifier.parameters(), lr=1e-2)
for step in range(CLASSIFIER_STEPS):  # full-batch training: 1,000 points are cheap
    logits = classifier(x_train).squeeze(1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y_train.float())
    opt.zero_grad()
    loss.backward()
    opt.step()

with torch.no_grad():
    clf_accuracy = float(((classifier(x_test).squeeze(1) > 0).long() == y_test).float().mean())
print(f"classifier: final training loss {loss.item():.3f}, held-out accuracy {clf_accuracy:.1%}")

# %%
xs, ys = torch.meshgrid(torch.linspace(-1.6, 2.6, 200), torch.linspace(-1.1, 1.6, 150),
                        indexing="xy")
grid_points = torch.stack([xs.flatten(), ys.flatten()], dim=1)
with torch.no_grad():
    p_class1 = torch.sigmoid(classifier(grid_points)).reshape(xs.shape)

fig, ax = plt.subplots(figsize=(5.5, 3.5))
cs = ax.contourf(xs, ys, p_class1, levels=20, cmap="RdBu_r", alpha=0.7)
fig.colorbar(cs, label="p(y=1 | x)")
ax.scatter(*x_test[:300].T, c=y_test[:300], cmap="RdBu_r", s=5, edgecolor="k", linewidth=0.2)
ax.set(title="discriminative: p(y=1 | x) from the classifier", xlabel="$x_1$", ylabel="$x_2$")
plt.show()

# %% [markdown]
# Far from the data the classifier is still *confident*: it only ever learned where the boundary
# goes, not where data lives. We ask it about a point far outside both moons.

# %%
far_point = torch.tensor([[6.0, 6.0]])
with torch.no_grad():
    far_confidence = torch.sigmoid(classifier(far_point)).item()
far_confidence = max(far_confidence, 1 - far_confidence)
print(f"classifier's confidence in its label for x = (6, 6): {far_confidence:.1%}")

# %% [markdown]
# ## A generative model: p(x) as a Gaussian mixture
# A Gaussian mixture says: pick a component z with probability π_z, then draw x from the
# Gaussian N(μ_z, Σ_z). Its density is p(x) = Σ_k π_k N(x; μ_k, Σ_k). We never observe z, so we
# fit the mixture with **expectation-maximisation** ("Maximum Likelihood from Incomplete Data
# via the EM Algorithm", Dempster, Laird and Rubin, 1977):
#
# - **E-step** — for every point, the *responsibility* r_nk = p(z=k | x_n) of each component;
# - **M-step** — refit each component to the points, weighted by its responsibilities.
#
# An iteration never lowers the training log-likelihood (each step maximises a lower bound
# that touches it at the current parameters). Here is all of it, from scratch:

# %%
def log_gaussian(x, means, covs):
    """log N(x_n; μ_k, Σ_k) for x (N, D), means (K, D), covs (K, D, D) -> (N, K)."""
    dist = torch.distributions.MultivariateNormal(means, covs)  # a batch of K Gaussians
    return dist.log_prob(x[:, None, :])                           # broadcasts to (N, K)


def e_step(x, weights, means, covs):
    """Responsibilities (N, K) and the log-likelihood of each point (N,)."""
    joint = log_gaussian(x, means, covs) + weights.log()          # log π_k + log N(x | k)
    log_px = torch.logsumexp(joint, dim=1)
    return (joint - log_px[:, None]).exp(), log_px


def m_step(x, resp, reg=1e-6):
    """Weighted maximum-likelihood estimates from responsibilities (N, K)."""
    nk = resp.sum(0)                                              # effective counts (K,)
    means = resp.T @ x / nk[:, None]
    diff = x[None] - means[:, None]                               # (K, N, D)
    covs = torch.einsum("nk,kni,knj->kij", resp, diff, diff) / nk[:, None, None]
    return nk / len(x), means, covs + reg * torch.eye(x.shape[1], dtype=x.dtype)


def fit_mixture(x, k, n_iter, seed):
    """EM from k random data points as initial means; returns parameters and the log-lik curve.

    curve[t] is the mean training log-likelihood after t iterations; curve[0] is the start.
    """
    g = torch.Generator().manual_seed(seed)
    init = x[torch.randperm(len(x), generator=g)[:k]]
    nearest = torch.cdist(x, init).argmin(1)                      # start from hard assignments
    params = m_step(x, torch.nn.functional.one_hot(nearest, k).to(x.dtype))
    resp, log_px = e_step(x, *params)
    curve = [log_px.mean().item()]                                # iteration 0: initial parameters
    for _ in range(n_iter):
        params = m_step(x, resp)
        resp, log_px = e_step(x, *params)
        curve.append(log_px.mean().item())
    return params, curve


xd_train, xd_test = x_train.double(), x_test.double()
params, curve = fit_mixture(xd_train, K, EM_ITERS, SEED)
print(f"training log-likelihood per point: {curve[0]:.3f} with the initial parameters, "
      f"{curve[1]:.3f} after 1 iteration, {curve[-1]:.3f} after {EM_ITERS}")

# %%
fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot(range(len(curve)), curve)
ax.set(title=f"EM training, K={K}: the log-likelihood never goes down",
       xlabel="EM iteration (0 = initial parameters)", ylabel="mean log p(x) (nats)",
       xscale="symlog", xlim=(0, EM_ITERS))
plt.show()
em_monotone = all(b >= a - 1e-9 for a, b in zip(curve, curve[1:]))

# %% [markdown]
# ### Checking the hand-written EM against two references
# The same algorithm lives in `gencourse.models.GaussianMixture` (the version later chapters
# use) and in scikit-learn. Started from the same parameters, all three must agree.

# %%
reference = GaussianMixture(K).fit(xd_train, n_iter=EM_ITERS, tol=0.0, seed=SEED)
# scikit-learn, started from exactly the same initial parameters as our EM:
g = torch.Generator().manual_seed(SEED)
init = xd_train[torch.randperm(len(xd_train), generator=g)[:K]]
w0, m0, c0 = m_step(xd_train, torch.nn.functional.one_hot(torch.cdist(xd_train, init).argmin(1), K).double())
with warnings.catch_warnings():  # tol=0 runs all iterations; silence "did not converge"
    warnings.simplefilter("ignore", ConvergenceWarning)
    sk = SkGaussianMixture(K, covariance_type="full", max_iter=EM_ITERS, tol=0.0, reg_covar=1e-6,
                           weights_init=w0.numpy(), means_init=m0.numpy(),
                           precisions_init=torch.linalg.inv(c0).numpy()).fit(xd_train.numpy())

ours_test = e_step(xd_test, *params)[1].mean().item()
gencourse_test = reference.log_prob(xd_test).mean().item()
sklearn_test = float(sk.score(xd_test.numpy()))
print(f"held-out log-likelihood per point — from scratch: {ours_test:.6f}, "
      f"gencourse: {gencourse_test:.6f}, scikit-learn: {sklearn_test:.6f}")
max_disagreement = max(abs(ours_test - gencourse_test), abs(ours_test - sklearn_test))

# %% [markdown]
# ## Measuring a density model: held-out log-likelihood
# A density model is judged by how much probability it gives to data it has **not** seen:
# the mean of log p(x) over the test points, in nats (higher is better). Too few components
# underfit; too many overfit: the training likelihood keeps rising with K, while the held-out
# one peaks and then falls, because the extra components wrap themselves around individual
# training points.

# %%
heldout, mixtures = {}, {}
for k in sorted({1, K, *K_VALUES}):  # K and the single Gaussian are reused below
    gm = mixtures[k] = GaussianMixture(k).fit(xd_train, n_iter=EM_ITERS, seed=SEED)
    heldout[k] = (gm.log_prob(xd_train).mean().item(), gm.log_prob(xd_test).mean().item())
    print(f"K={k:2d}: train {heldout[k][0]:+.3f}  held-out {heldout[k][1]:+.3f} nats per point")

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot(list(heldout), [v[0] for v in heldout.values()], "o-", label="train")
ax.plot(list(heldout), [v[1] for v in heldout.values()], "s-", label="held-out")
ax.set(title="log-likelihood against mixture size", xlabel="components K",
       ylabel="mean log p(x) (nats)", xscale="log", xticks=list(heldout), xticklabels=list(heldout))
ax.legend()
plt.show()

# %% [markdown]
# The density model, unlike the classifier, knows that (6, 6) is nothing like the data:

# %%
far_log_density = mixtures[K].log_prob(far_point.double()).item()
print(f"log p(x) at (6, 6): {far_log_density:.0f} nats, against {heldout[K][1]:.2f} on average "
      "for held-out data")

# %% [markdown]
# ## Generation: sampling new points
# Sampling is *ancestral*: first z ~ Cat(π), then x ~ N(μ_z, Σ_z). Because `moons` knows
# its curves, we can **measure** the samples: the share that lands within 3 noise standard
# deviations of a moon. Nearly all real points do; a single Gaussian (K=1), which smears
# probability over the gap between and around the moons, puts about a third of its samples off them.

# %%
gmm, single = mixtures[K], mixtures[1]
samples, components = gmm.sample(N_TEST, seed=SEED, return_components=True)
on_moon = {name: source.assign(m.sample(N_TEST, seed=SEED).float()).high_quality_fraction
           for name, m in (("K=1", single), (f"K={K}", gmm))}
on_moon["real test data"] = source.assign(x_test).high_quality_fraction
for name, frac in on_moon.items():
    print(f"{name:>15s}: {frac:.1%} of points lie on a moon")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
density = gmm.log_prob(grid_points.double()).exp().reshape(xs.shape)
axes[0].contourf(xs, ys, density, levels=20, cmap="viridis")
axes[0].set(title=f"generative: the density p(x) of the K={K} mixture", xlabel="$x_1$",
            ylabel="$x_2$")
samples_over_data(samples.float()[:600], x_train[:600], ax=axes[1],
                  title=f"{on_moon[f'K={K}']:.0%} of new samples land on a moon")
plt.show()

# %% [markdown]
# ## The three phases of a generative model
# 1. **Training** — fit the parameters to data (the EM curve above; later chapters use
#    gradient descent on the same idea: make the data likely, or make fakes indistinguishable).
# 2. **Latent representation** — an unobserved variable that explains the data. Here it is
#    the component z; the responsibilities p(z | x) are the *encoding* of a point. In later
#    chapters z becomes a continuous vector (chapter 01), the input noise of a GAN (02–03) or
#    the code of a VAE (04).
# 3. **Generation** — draw z from its prior, then x given z.

# %%
with torch.no_grad():
    resp, _ = e_step(xd_train, *params)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].scatter(*x_train.T, c=resp.argmax(1), cmap="tab10", s=5)
axes[0].set(title="latent: most responsible component of each training point",
            xlabel="$x_1$", ylabel="$x_2$")
axes[1].scatter(*samples.float().T, c=components, cmap="tab10", s=5)
axes[1].set(title="generation: z ~ Cat(π), then x ~ N(μ_z, Σ_z)", xlabel="$x_1$", ylabel="$x_2$")
plt.show()

# %% [markdown]
# ## From a generative model to a classifier (but not back)
# A density per class, p(x | y), plus the class frequencies p(y) give a classifier through
# Bayes' rule: p(y | x) = p(x | y) p(y) / Σ_c p(x | c) p(c). The generative route yields a
# classifier *and* a sampler; the discriminative route yields only the classifier.

# %%
class_models = [GaussianMixture(K // 2).fit(xd_train[y_train == c], n_iter=EM_ITERS, seed=SEED)
                for c in (0, 1)]
prior = torch.bincount(y_train, minlength=2).double() / len(y_train)
log_joint = torch.stack([m.log_prob(xd_test) for m in class_models], dim=1) + prior.log()
gen_accuracy = float((log_joint.argmax(1) == y_test).float().mean())
print(f"held-out accuracy — discriminative network: {clf_accuracy:.1%}, "
      f"generative (Bayes' rule on class mixtures): {gen_accuracy:.1%}")

# %% [markdown]
# The class mixtures also generate on request: ask class 1 for new points and check which moon
# they land on.

# %%
new_class1 = class_models[1].sample(500, seed=SEED).float()
landed = source.assign(new_class1)
class1_on_target = float(((landed.mode == 1) & landed.high_quality).float().mean())
print(f"samples requested from class 1 that land on moon 1: {class1_on_target:.1%}")

# %% [markdown]
# ## Modalities and the model families that serve them
# The same three phases underlie every modality; what changes is the data's structure.
#
# | modality | typical data | model families in use | this course |
# |---|---|---|---|
# | text | token sequences | autoregressive transformers (GPT), encoder–decoder (T5) | 05–07 |
# | code | token sequences with strict syntax | the same transformers, trained on source code | 06–07 |
# | images | pixel grids | diffusion models, GANs, VAEs (often as the compressor under diffusion) | 02–04, 08 |
# | audio / music | waveforms, spectrograms, audio tokens | autoregressive models over audio tokens, diffusion, GAN vocoders | 08 (ideas) |
# | tabular / scientific | records, molecules | mixtures, VAEs, GANs, diffusion for synthetic data | 04, 09 |
#
# A Gaussian mixture is the smallest member of the family: it is fitted by likelihood,
# has a discrete latent variable, and samples ancestrally.

# %% [markdown]
# ## Checks
# Each line asserts something this notebook claimed, with a threshold that a broken
# implementation misses (e.g. a mixture that never left its initial means, or a classifier that
# did not train).

# %%
assert em_monotone, "EM must never lower the training log-likelihood"
assert len(curve) == EM_ITERS + 1, "the curve holds the start and every iteration"
assert curve[-1] > curve[0] + 0.1, "EM should raise the log-likelihood well above its start"
assert abs(curve[-1] - e_step(xd_train, *params)[1].mean().item()) < 1e-9, \
    "the curve's last value must be the fitted parameters' log-likelihood"
assert max_disagreement < 1e-3, f"from-scratch EM disagrees with the references by {max_disagreement:.2g}"
assert heldout[K][1] > heldout[1][1] + 0.3, "the mixture should beat a single Gaussian on held-out data"
assert heldout[K][1] > -1.25, f"held-out log-likelihood {heldout[K][1]:.3f} is too low"
best_k = max(heldout, key=lambda k: heldout[k][1])
largest_k = max(heldout)
assert heldout[largest_k][0] > heldout[best_k][0] + 0.1, "training likelihood should keep rising with K"
assert heldout[largest_k][1] < heldout[best_k][1] - 0.1, "held-out likelihood should fall past its peak"
assert on_moon[f"K={K}"] > 0.93, f"only {on_moon[f'K={K}']:.1%} of mixture samples land on a moon"
assert on_moon["K=1"] < 0.8, "a single Gaussian should not be able to hug the moons"
assert far_confidence > 0.9, "the classifier should be (over)confident far from the data"
assert far_log_density < heldout[K][1] - 20, "the density model should find (6, 6) very unlikely"
assert clf_accuracy > 0.97, f"classifier accuracy {clf_accuracy:.1%} is too low"
assert gen_accuracy > 0.97, f"generative classifier accuracy {gen_accuracy:.1%} is too low"
assert class1_on_target > 0.85, f"only {class1_on_target:.1%} of class-1 samples land on moon 1"
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - A **classifier** models p(y | x): it separates, it cannot generate, and it is confident even
#   far from any data.
# - A **generative model** models p(x) (or p(x | y)): it scores how likely an input is, it can
#   sample new inputs, and with Bayes' rule it can classify too.
# - Density models are compared by **held-out log-likelihood**; samples by measuring where they
#   land (later chapters: mode coverage, Fréchet distance).
# - Training, latent representation and generation are the three phases of every model ahead.
#
# **Interview question this chapter answers:** *How does a generative model differ from a
# classifier or regressor?* — A classifier or regressor learns the conditional p(y | x) (or
# E[y | x]) and needs only a decision boundary; a generative model learns the distribution of
# the data itself, p(x) or p(x | y), which lets it assign likelihoods, detect unusual inputs and
# sample new data — a harder problem, because it must model every feature, not only the ones
# that separate the classes.
#
# **Next:** chapter 01 replaces the discrete latent z with a continuous vector and learns it.
