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
# # 03 · GANs in practice
#
# Chapter 02 made a GAN work on easy data. Here the GAN meets its best-known failure — **mode
# collapse**, measured on the standard synthetic benchmark — and then real images: a
# convolutional GAN and a conditional GAN on handwritten digits, judged by a classifier and by the
# Fréchet distance. We end with what the same machinery enables, for good and ill.
#
# **You will learn to**
# - measure mode collapse exactly as published (modes covered, % high-quality samples, and how
#   evenly the samples spread over the modes), and see why coverage alone can flatter a generator;
# - compare a vanilla GAN with fixes from the literature on the same seeds;
# - train a DCGAN-style conditional GAN on digits and measure it with the course's digits judge
#   (label agreement) and a Fréchet distance next to a real-vs-real baseline;
# - interpolate and edit in a GAN's latent space.
#
# **Prerequisites:** chapter 02. **Run time:** about 60 seconds on a 2-core laptop CPU
# (plus about 20 seconds the first time, to build the digits judge).

# %%
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from gencourse.data import grid, load_digits, ring
from gencourse.digit_recipes import Recipe, rebuild, train
from gencourse.metrics import frechet_distance_from_features, mean_and_stderr, mode_coverage
from gencourse.mode_collapse import run_one
from gencourse.models.gan import (
    DCDiscriminator, DCGANConfig, DCGenerator, GANTrainConfig, generate, train_gan,
)
from gencourse.plotting import image_grid, interpolation_strip, samples_over_data
from gencourse.runtime import seed_everything
from gencourse.zoo import digits_judge, judge_record

notebook_start = time.perf_counter()
torch.set_num_threads(1)  # small networks run fastest on one thread; background jobs use the other core

# %% [markdown]
# ## Parameters

# %%
SEED = 0
LIVE_SEED = 1            # the benchmark seed re-run live (ring, vanilla vs fixed)
N_EVAL = 2500            # samples scored, as in the published protocol
CGAN_STEPS = 2000        # conditional DCGAN on the digits
LATENT = 32

# %% [markdown]
# ## 1 · Measuring mode collapse
# A generator *collapses* when it produces only some of the kinds of data it was trained on. The
# standard test ("VEEGAN", Srivastava et al., 2017; "PacGAN", Lin et al., 2018) uses mixtures
# whose modes are known: a **ring** of 8 Gaussians (std 0.01) and a **grid** of 25 (std 0.05).
# On 2,500 generated samples:
# - a sample is **high-quality** if it lies within 3 standard deviations of its nearest mode;
# - a mode is **covered** if it is the nearest mode of at least one high-quality sample;
# - and, because one stray sample per mode would already "cover" it, we also report how evenly
#   the high-quality samples spread: the KL divergence of their mode histogram from uniform
#   (0 = perfectly even, log K = everything on one mode).
#
# `gencourse.metrics.mode_coverage` computes all three. First, a sanity check on sample sets
# whose answer we know.

# %%
ring8, grid25 = ring(), grid()
known = {
    "real ring samples": mode_coverage(ring8.sample(N_EVAL, seed=1), ring8),
    "all on one mode": mode_coverage(ring8.centers[2].repeat(N_EVAL, 1), ring8),
    "one per mode, rest on mode 0": mode_coverage(
        torch.cat([grid25.centers, grid25.centers[0].repeat(N_EVAL - 25, 1)]), grid25),
    "real grid samples": mode_coverage(grid25.sample(N_EVAL, seed=1), grid25),
}
for name, c in known.items():
    print(f"{name:30s} modes {c.modes:2d}/{c.n_modes}  high-quality {c.high_quality:6.1%}  KL {c.kl:.3f}")

# %% [markdown]
# The third line is the trap: every mode is "covered", yet 99% of the samples sit on one mode.
# Its KL (≈ 3, close to log 25) exposes it.
#
# ## 2 · A vanilla GAN drops modes; what fixes it
# The **vanilla** configuration uses the optimiser settings popularised by DCGAN (Adam with
# β1 = 0.5) at a constant learning rate. With momentum, the generator overshoots: it chases the
# discriminator's current weak spot, and the discriminator chases back — a cycle in which some
# modes are abandoned and the rest are hit imprecisely. Fixes from the literature attack this from
# different sides:
# - **packing** (PacGAN): the discriminator judges several samples at once, so a generator that
#   repeats itself is easy to catch;
# - **WGAN-GP** ("Improved Training of Wasserstein GANs", Gulrajani et al., 2017): a critic
#   with a gradient penalty gives smoother gradients;
# - **the optimiser** — momentum-free Adam (β1 = 0, as in the WGAN-GP and spectral-normalisation
#   papers) and a learning rate that decays to zero, so the game settles instead of cycling;
# - **minibatch standard deviation** ("Progressive Growing of GANs", Karras et al., 2018), a light
#   form of minibatch discrimination: the discriminator also sees how varied a whole batch is;
# - **the R1 penalty** ("Which Training Methods for GANs do actually Converge?", Mescheder et al.,
#   2018): penalising the discriminator's gradient on real data damps the cycling.
#
# `benchmarks/mode_collapse.py` runs all of them for 5 seeds on both datasets; its table is shown
# below (it takes about 80 CPU-minutes, so this notebook reads its results file). Then we re-run
# one seed of the key comparison live.

# %%
bench = json.loads((Path("..") / "benchmarks" / "mode_collapse.json").read_text())
rows = {}
for r in bench["results"]:
    rows.setdefault((r["dataset"], r["config"]), []).append(r)
print(f"{'data':5s} {'configuration':42s} {'modes':>12s} {'% high-quality':>16s} {'KL':>14s}")
for (dataset, config), rs in rows.items():
    m, hq, kl = (mean_and_stderr([r[k] for r in rs]) for k in ("modes", "high_quality", "kl"))
    print(f"{dataset:5s} {config:42s} {m[0]:5.1f} ± {m[1]:.1f} {100 * hq[0]:8.1f} ± {100 * hq[1]:.1f}"
          f" {kl[0]:7.3f} ± {kl[1]:.3f}   ({len(rs)} seeds)")
print("published (PacGAN paper): grid PacGAN4 24.8 / 93.6% / KL 0.04; ring PacGAN2 7.9 / 95.6% / 0.07")

# %% [markdown]
# The live comparison: seed 1 of the benchmark on the ring, vanilla against the course's fix,
# trained side by side in two processes (about 30 seconds). `gencourse.mode_collapse.run_one` is
# the exact code the benchmark runs, so the figures can be compared with its table row by row.

# %%
live_jobs = [("vanilla GAN", "ring", LIVE_SEED), ("course: β1=0 + cosine decay", "ring", LIVE_SEED)]
with ProcessPoolExecutor(max_workers=2) as pool:
    live = {r["config"]: r for r in pool.map(partial(run_one, keep_samples=True), live_jobs)}
for name, r in live.items():
    row = next(b for b in bench["results"]
               if (b["config"], b["dataset"], b["seed"]) == (name, "ring", LIVE_SEED))
    same = (row["modes"], round(row["high_quality"], 6)) == (r["modes"], round(r["high_quality"], 6))
    print(f"{name:30s}: {r['modes']}/8 modes, {r['high_quality']:.1%} high-quality, KL {r['kl']:.3f} "
          f"({r['seconds']:.0f} s; {'same as' if same else 'differs from'} the benchmark's row)")
fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
for ax, (name, r) in zip(axes, live.items()):
    samples_over_data(r["samples"], ring8.sample(1000, seed=2), ring8.centers, ax=ax,
                      title=f"{name}\n{r['modes']}/8 modes, {r['high_quality']:.0%} HQ, KL {r['kl']:.2f}")
    ax.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3))
plt.show()

# %% [markdown]
# With momentum the vanilla generator loses one mode entirely and spreads the others unevenly;
# the momentum-free, decaying optimiser covers all eight evenly and more precisely. The grid is
# the harder case (benchmark table above): the optimiser fix alone raises precision but still
# loses whole modes on some seeds. Adding minibatch standard deviation or the R1 penalty stops
# that; with R1 the same configuration covers every mode on every seed of both datasets, evenly
# and precisely, above the published PacGAN rows. Packing and WGAN-GP did not help at this CPU
# budget: the packed discriminator and the Wasserstein critic both lose precision.

# %% [markdown]
# ## 3 · Real images: the digits judge
# To measure generated *images* we need a referee. The course's **digits judge** is a small
# convolutional classifier trained on the digits' training split by a recipe in `gencourse.zoo`
# and cached on disk (never downloaded). It is used twice:
# 1. to **label** generated digits — does a "3" requested from a conditional GAN read as a 3?
# 2. as the **feature network** of the Fréchet distance ("GANs Trained by a Two Time-Scale Update
#    Rule Converge to a Local Nash Equilibrium", Heusel et al., 2017): fit a Gaussian to the
#    judge's penultimate features of real and of generated digits and compute
#    ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½). This is FID with the judge in place of Inception.

# %%
judge = digits_judge()
digits = load_digits()
print(f"digits judge: {judge_record()['test_accuracy']:.1%} accuracy on the held-out digits")


with torch.no_grad():
    test_features = judge.features(digits.x_test)  # computed once, compared with every model


@torch.no_grad()
def fd_to_test(images):
    return frechet_distance_from_features(judge.features(images), test_features)


fd_baseline = fd_to_test(digits.x_train)
print(f"Fréchet distance, real training digits vs held-out digits: {fd_baseline:.2f} "
      "(the floor a perfect generator would approach)")

# %% [markdown]
# ## 4 · A conditional DCGAN on the digits
# The generator upsamples a noise vector (plus an embedding of the requested digit) with
# transposed convolutions — the DCGAN recipe ("Unsupervised Representation Learning with Deep
# Convolutional GANs", Radford et al., 2015) scaled down to 8×8. The discriminator is
# convolutional too and is told the label through a projection ("cGANs with Projection
# Discriminator", Miyato and Koyama, 2018). We keep snapshots to watch the samples form.
#
# While it trains here, a second process trains the same networks *without* labels (used in the
# next section): `gencourse.digit_recipes` holds this DCGAN recipe, so chapter 04 can reuse it.

# %%
background = ProcessPoolExecutor(max_workers=1)
plain_job = background.submit(train, Recipe("gan", steps=CGAN_STEPS, seed=SEED))
seed_everything(SEED)
cgan_cfg = DCGANConfig(latent_dim=LATENT, channels=32, n_classes=10)
G_c, D_c = DCGenerator(cgan_cfg), DCDiscriminator(cgan_cfg)
untrained = DCGenerator(cgan_cfg)
draw = torch.Generator().manual_seed(SEED)
fixed_z = torch.randn(20, LATENT, generator=torch.Generator().manual_seed(1))
fixed_y = torch.arange(10).repeat(2)
snapshots = {}


def snapshot(step):
    was_training = G_c.training
    G_c.eval()  # BatchNorm must use its running statistics, not this small batch's
    with torch.no_grad():
        snapshots[step] = G_c(fixed_z, fixed_y).clone()
    G_c.train(was_training)


def real_digits(n):
    idx = torch.randint(len(digits.x_train), (n,), generator=draw)
    return digits.x_train[idx], digits.y_train[idx]


history = train_gan(G_c, D_c, real_digits,
                    GANTrainConfig(steps=CGAN_STEPS, batch_size=128, lr_g=1e-3, lr_d=1e-3,
                                   betas=(0.0, 0.9), snapshots=(100, 500, CGAN_STEPS // 2)),
                    seed=SEED, title="conditional DCGAN", on_snapshot=snapshot)
snapshot(CGAN_STEPS)
fig = image_grid(torch.cat(list(snapshots.values())), ncols=20, cell_size=0.45,
                 title="the same noise and labels (0–9, twice) after " +
                 ", ".join(str(s) for s in snapshots) + " steps (one row each)")
plt.show()

# %%
labels = torch.arange(10).repeat_interleave(200)
fakes = generate(G_c, len(labels), labels, seed=SEED)
fakes_untrained = generate(untrained, len(labels), labels, seed=SEED)
with torch.no_grad():
    agreement = float((judge.predict(fakes) == labels).float().mean())
    agreement_untrained = float((judge.predict(fakes_untrained) == labels).float().mean())
    per_class = [(judge.predict(fakes[labels == c]) == c).float().mean().item() for c in range(10)]
fd_cgan, fd_untrained = fd_to_test(fakes), fd_to_test(fakes_untrained)
print(f"judge agrees with the requested digit: {agreement:.1%} "
      f"(untrained generator: {agreement_untrained:.1%})")
print("per digit: " + "  ".join(f"{c}:{a:.0%}" for c, a in enumerate(per_class)))
print(f"Fréchet distance to held-out digits: conditional GAN {fd_cgan:.2f}, untrained "
      f"{fd_untrained:.2f}, real training digits {fd_baseline:.2f}")
image_grid(fakes.reshape(10, 200, 1, 8, 8)[:, :10].reshape(100, 1, 8, 8), ncols=10, cell_size=0.5,
           title="conditional GAN: 10 samples of each requested digit (rows 0–9)")
plt.show()

# %% [markdown]
# ### The same network without labels: a plain DCGAN
# Without the label, nothing forces the generator to draw every digit. The judge turns this into
# a mode-collapse measurement on real images: label 2,000 unconditional samples and compare the
# class histogram with the uniform one, exactly like the mode histogram on the grid.

# %%
plain_run = plain_job.result()   # trained in the background during the conditional GAN's run
background.shutdown()
G_u = rebuild(plain_run)
print(f"unconditional DCGAN: {CGAN_STEPS} steps in {plain_run.seconds:.0f} s (one thread)")
plain = generate(G_u, 2000, seed=SEED)
with torch.no_grad():
    class_share = torch.bincount(judge.predict(plain), minlength=10).double() / len(plain)
nonzero = class_share[class_share > 0]
class_kl = float((nonzero * torch.log(nonzero * 10)).sum())
fd_plain = fd_to_test(plain)
print("share of each digit among unconditional samples: " +
      "  ".join(f"{c}:{v:.0%}" for c, v in enumerate(class_share.tolist())))
print(f"KL of the class histogram from uniform: {class_kl:.3f} (log 10 = {math.log(10):.2f} would be "
      f"total collapse); Fréchet distance {fd_plain:.2f} (conditional {fd_cgan:.2f}, real {fd_baseline:.2f})")
image_grid(plain[:40], ncols=20, cell_size=0.45, title="unconditional DCGAN: 40 samples")
plt.show()

# %% [markdown]
# ## 5 · Moving in latent space
# **Interpolation:** with the label fixed, walk the straight line between two noise vectors —
# the generator produces a continuous family of the same digit. **Manipulation:** keep the noise
# (the "style") and change the label, or move the noise along a direction with a meaning. We find
# a "more ink" direction by regressing each sample's total ink on its noise vector, then push
# samples along it and measure: ink should rise while the judge still sees the same digit.

# %%
z_pair = torch.randn(2, LATENT, generator=torch.Generator().manual_seed(5))
alphas = torch.linspace(0, 1, 9)
with torch.no_grad():
    path = G_c((1 - alphas[:, None]) * z_pair[0] + alphas[:, None] * z_pair[1],
               torch.full((9,), 3))
    same_style = G_c(z_pair[:1].repeat(10, 1), torch.arange(10))
interpolation_strip(path, "label 3 fixed, noise interpolated", alphas.tolist())
plt.show()
image_grid(same_style, ncols=10, cell_size=0.6, labels=[str(i) for i in range(10)],
           title="one noise vector (one 'style'), every label")
plt.show()

# %%
z = torch.randn(4000, LATENT, generator=torch.Generator().manual_seed(6))
y = torch.arange(10).repeat(400)
with torch.no_grad():
    ink = G_c(z, y).sum(dim=(1, 2, 3))
    zc = z - z.mean(0)
    direction = torch.linalg.lstsq(zc, (ink - ink.mean())[:, None]).solution.squeeze(1)
    direction = direction / direction.norm()
    z_test, y_test = torch.randn(500, LATENT, generator=torch.Generator().manual_seed(7)), \
        torch.arange(10).repeat(50)
    steps_along = torch.tensor([-2.0, 0.0, 2.0])
    edited = [G_c(z_test + s * direction, y_test) for s in steps_along]
    ink_along = [e.sum(dim=(1, 2, 3)).mean().item() for e in edited]
    kept_label = [(judge.predict(e) == y_test).float().mean().item() for e in edited]
print("moving along the 'ink' direction by -2, 0, +2: mean ink " +
      ", ".join(f"{v:.1f}" for v in ink_along) + "; judge still sees the requested digit in " +
      ", ".join(f"{v:.0%}" for v in kept_label))
image_grid(torch.stack([e[:10] for e in edited], 0).reshape(30, 1, 8, 8), ncols=10, cell_size=0.6,
           title="the same 10 samples moved along the 'ink' direction: −2 (top), 0, +2 (bottom)")
plt.show()

# %% [markdown]
# ## 6 · Synthesis, manipulation and deepfakes
# The same three abilities seen above — sampling realistic images, editing them along meaningful
# latent directions, and holding identity ("style") fixed while changing attributes — are what
# face-editing tools and **deepfakes** are built from, at far larger scale (StyleGAN-class
# generators, encoders that invert a real photo into the latent space, and face-swap pipelines).
# They serve legitimate uses (data augmentation, design exploration, film post-production,
# privacy-preserving synthetic data) and harmful ones (impersonation, non-consensual imagery,
# misinformation). Chapter 10 measures the counter-measures: a real-vs-generated detector,
# watermarks, and what a model memorises of its training data.
#
# ## Checks

# %%
assert known["all on one mode"].kl == math.log(8) or abs(known["all on one mode"].kl - math.log(8)) < 1e-9
assert known["one per mode, rest on mode 0"].kl > 2.5, "uneven coverage must be penalised"
assert known["real grid samples"].modes == 25 and known["real grid samples"].kl < 0.02
v, f = live["vanilla GAN"], live["course: β1=0 + cosine decay"]
assert f["modes"] == 8 and f["high_quality"] > 0.95, "the fixed configuration should cover the ring"
assert f["modes"] >= v["modes"] and f["kl"] < 0.2 * v["kl"], "the fix should spread samples more evenly"
assert f["kl"] < 0.07, f"mode-histogram KL {f['kl']:.3f} is worse than PacGAN's 0.07"
assert judge_record()["test_accuracy"] >= 0.97, "the digits judge must reach 97% test accuracy"
assert agreement >= 0.9, f"judge agrees with only {agreement:.1%} of requested digits"
assert agreement_untrained < 0.3
assert fd_cgan < 0.25 * fd_untrained, "the GAN's Fréchet distance should be far below an untrained one"
assert fd_cgan < 10 * fd_baseline + 1.0, f"Fréchet distance {fd_cgan:.2f} is far from the real baseline"
assert ink_along[0] < ink_along[1] < ink_along[2], "the ink direction should add ink"
assert (class_share > 0.03).all(), "the unconditional DCGAN should draw every digit"
assert class_kl < 0.1, f"unconditional samples are spread unevenly over digits (KL {class_kl:.3f})"
assert fd_plain < 0.25 * fd_untrained, "the unconditional DCGAN should be far better than untrained"
assert min(kept_label) > 0.75, "moving along the ink direction should keep the digit"
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - Mode collapse is measured on mixtures with known modes: modes covered, % high-quality samples
#   and the evenness of the mode histogram (KL from uniform) — coverage alone can be gamed.
# - The cure here was the optimiser (momentum-free Adam, a decaying learning rate) plus a
#   regulariser on the discriminator (R1, or minibatch standard deviation) on the harder grid;
#   packing and WGAN-GP did not help at this CPU budget. Fixes must be compared on the same seeds.
# - A conditional DCGAN learns 8×8 digits in about 20 seconds; the judge confirms it draws the
#   requested
#   digit, and the Fréchet distance places it between an untrained generator and real data.
# - GAN latent spaces support interpolation and editing — the basis of image manipulation and of
#   deepfakes.
#
# **Interview question this chapter answers:** *What is mode collapse and how do you address
# it?* — The generator covers only part of the data distribution (some modes, classes or styles)
# because fooling the current discriminator with a few good samples is easier than matching the
# whole distribution; the two players then cycle instead of converging. Detect it by measuring
# diversity — mode coverage on known mixtures, per-class counts with a classifier, precision and
# recall, the Fréchet distance. Address it by changing what the discriminator sees (minibatch
# discrimination, packing), the objective (Wasserstein with gradient penalty, hinge), the
# discriminator's smoothness (spectral normalisation), or the optimisation (two time-scale
# learning rates, momentum-free Adam, learning-rate decay, weight averaging, unrolling) — and
# verify each fix by measurement on the same seeds.
