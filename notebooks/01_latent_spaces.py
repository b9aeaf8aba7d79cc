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
# # 01 · Latent spaces
#
# A 8×8 digit is 64 numbers, but digits do not fill that 64-dimensional space: they lie near a
# much smaller set of shapes. A **latent space** is a short code z from which the image can be
# rebuilt. This chapter learns codes two ways — linearly with PCA, non-linearly with an
# autoencoder — measures how well each rebuilds held-out digits, walks and does arithmetic in
# the code space, and ends with the reason a plain autoencoder is not yet a generator.
#
# **You will learn to**
# - compute PCA from the singular value decomposition and check it against scikit-learn;
# - train an autoencoder and compare its held-out reconstruction error with PCA at code sizes 2, 8, 16;
# - interpolate and do arithmetic in latent space, and measure the result with a classifier;
# - explain why sampling from a plain autoencoder's latent space gives poor images.
#
# **Prerequisites:** chapter 00; training a small network with PyTorch.
# **Run time:** about 20 seconds on a 2-core laptop CPU.

# %%
import time

import matplotlib.pyplot as plt
import torch
from sklearn.decomposition import PCA as SkPCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from gencourse.data import load_digits
from gencourse.models import PCA, Autoencoder, AutoencoderConfig, train_autoencoder
from gencourse.models.autoencoder import reconstruction_mse
from gencourse.plotting import image_grid, interpolation_strip, latent_map
from gencourse.runtime import pick_device, seed_everything
from gencourse.train import fit, minibatches
from gencourse.widgets import InterpolationWidget, LatentExplorer

notebook_start = time.perf_counter()

# %% [markdown]
# ## Parameters

# %%
SEED = 0
CODE_SIZES = (2, 8, 16)   # latent dimensions compared throughout
AE_STEPS = 2000           # Adam steps per autoencoder (batch 128, cosine learning-rate decay)
N_RANDOM = 500            # random codes decoded in the last section
device = pick_device("cpu")  # these models are tiny: the CPU is fastest

# %% [markdown]
# ## The data
# scikit-learn ships 1,797 handwritten digits of 8×8 pixels; `gencourse.data.load_digits`
# scales the pixels to [0, 1] and fixes a stratified split: 1,437 for training, 360 held out.

# %%
seed_everything(SEED)
digits = load_digits(flatten=True)
x_train, y_train, x_test, y_test = digits.x_train, digits.y_train, digits.x_test, digits.y_test
print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, "
      f"pixel range [{x_train.min():.0f}, {x_train.max():.0f}]")
image_grid(x_test[:20], title="held-out digits", labels=[str(int(c)) for c in y_test[:20]])
plt.show()

# %% [markdown]
# A **judge** for later: a logistic-regression classifier trained on the raw training pixels.
# We will ask it what generated or edited images look like.

# %%
judge = LogisticRegression(max_iter=2000).fit(x_train.numpy(), y_train.numpy())
judge_accuracy = judge.score(x_test.numpy(), y_test.numpy())
print(f"judge accuracy on held-out digits: {judge_accuracy:.1%}")

# %% [markdown]
# ## PCA: the linear latent space
# PCA keeps the k directions along which the training data varies most. Centre the data,
# take its SVD X − μ = U S Vᵀ; the first k rows of Vᵀ are the directions. Encoding projects
# onto them, decoding maps back. No linear code of size k reconstructs better in squared
# error (Eckart–Young, 1936).

# %%
mu = x_train.mean(0)
_, s, vt = torch.linalg.svd(x_train - mu, full_matrices=False)


def pca_codes(x, k):
    return (x - mu) @ vt[:k].T            # (N, 64) -> (N, k)


def pca_decode(z, k):
    return z @ vt[:k] + mu                # (N, k) -> (N, 64)


explained = (s ** 2 / (s ** 2).sum()).cumsum(0)
sk16 = SkPCA(16).fit(x_train.numpy())
ours16 = PCA(16).fit(x_train)
# Same subspace: the projection matrices VᵀV agree, whatever the signs of the components.
proj_scratch = vt[:16].T @ vt[:16]
proj_sklearn = torch.from_numpy(sk16.components_.T @ sk16.components_).float()
proj_gencourse = ours16.components.T @ ours16.components
pca_disagreement = max((proj_scratch - proj_sklearn).abs().max().item(),
                       (proj_scratch - proj_gencourse).abs().max().item())
print(f"variance explained by 2 / 8 / 16 components: "
      + " / ".join(f"{explained[k - 1]:.1%}" for k in CODE_SIZES))
print(f"largest difference between projections (scratch vs scikit-learn vs gencourse): "
      f"{pca_disagreement:.1e}")

# %%
fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot(range(1, 65), explained, ".-")
ax.set(title="PCA on digits: cumulative variance explained", xlabel="components k",
       ylabel="fraction of variance")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## An autoencoder: a learned, non-linear code
# An encoder network maps x to z, a decoder maps z back, and both are trained together to
# make the reconstruction match the input. Here is a 2-D one written out in full, trained with
# the course's small loop (`gencourse.train.fit`: progress bar and live loss plot).

# %%
seed_everything(SEED)
encoder = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2))
decoder = torch.nn.Sequential(torch.nn.Linear(2, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 64), torch.nn.Sigmoid())  # pixels in [0, 1]
params = [*encoder.parameters(), *decoder.parameters()]
opt = torch.optim.Adam(params, lr=3e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=AE_STEPS)
batches = minibatches(len(x_train), 128, torch.Generator().manual_seed(SEED))


def step(_):
    xb = x_train[next(batches)]
    loss = ((decoder(encoder(xb)) - xb) ** 2).mean()   # per-pixel squared error
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return {"mse": loss.detach()}


history = fit(step, AE_STEPS, title="from-scratch autoencoder, 2-D code")
with torch.no_grad():
    scratch_mse = ((decoder(encoder(x_test)) - x_test) ** 2).mean().item()
print(f"held-out reconstruction error of the from-scratch 2-D autoencoder: {scratch_mse:.4f}")

# %% [markdown]
# ## PCA and autoencoders against code size
# The same architecture lives in `gencourse.models.Autoencoder`. We train one per code size and
# compare the **held-out** per-pixel squared error with PCA's, and with an untrained network's.

# %%
autoencoders, results = {}, {}
for k in CODE_SIZES:
    model = Autoencoder(AutoencoderConfig(latent_dim=k)).to(device)
    untrained = reconstruction_mse(model, x_test)
    train_autoencoder(model, x_train, n_steps=AE_STEPS, seed=SEED, plot=False)
    autoencoders[k] = model
    pca_err = ((pca_decode(pca_codes(x_test, k), k) - x_test) ** 2).mean().item()
    results[k] = {"pca": pca_err, "ae": reconstruction_mse(model, x_test), "untrained": untrained}
print("code size | PCA     | autoencoder | untrained network   (held-out MSE per pixel)")
for k, r in results.items():
    print(f"{k:9d} | {r['pca']:.4f}  | {r['ae']:.4f}      | {r['untrained']:.4f}")

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(CODE_SIZES, [r["pca"] for r in results.values()], "o-", label="PCA")
ax.plot(CODE_SIZES, [r["ae"] for r in results.values()], "s-", label="autoencoder")
ax.set(title="held-out reconstruction error", xlabel="code size", ylabel="MSE per pixel",
       xticks=CODE_SIZES)
ax.legend()
plt.show()

examples = x_test[:10]
rows = [examples]
for k in CODE_SIZES:
    rows.append(pca_decode(pca_codes(examples, k), k))
    with torch.no_grad():
        rows.append(autoencoders[k](examples))
labels = ["input"] * 10 + [f"{name} k={k}" for k in CODE_SIZES for name in ("PCA", "AE")
                           for _ in range(10)]
image_grid(torch.cat(rows).clamp(0, 1), ncols=10, labels=labels, cell_size=0.7,
           title="rows: input, then PCA and autoencoder reconstructions at k = 2, 8, 16")
plt.show()

# %% [markdown]
# ## What a 2-D code looks like
# With k = 2 we can draw every held-out digit as a point. A good code puts similar digits
# together; we measure that with a 5-nearest-neighbour classifier that sees only the codes.

# %%
with torch.no_grad():
    ae2_train, ae2_test = autoencoders[2].encode(x_train), autoencoders[2].encode(x_test)


def knn_accuracy(train_codes, test_codes):
    knn = KNeighborsClassifier(5).fit(train_codes.numpy(), y_train.numpy())
    return knn.score(test_codes.numpy(), y_test.numpy())


knn_pca2 = knn_accuracy(pca_codes(x_train, 2), pca_codes(x_test, 2))
knn_ae2 = knn_accuracy(ae2_train, ae2_test)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
latent_map(pca_codes(x_test, 2), y_test, ax=axes[0],
           title=f"PCA, 2-D (5-NN accuracy {knn_pca2:.0%})")
latent_map(ae2_test, y_test, ax=axes[1], title=f"autoencoder, 2-D (5-NN accuracy {knn_ae2:.0%})")
plt.show()

# %% [markdown]
# ## Walking the latent space: interpolation
# Blend two held-out digits. In **pixel space** the blend is a double exposure. In the
# autoencoder's **latent space** (16-D) every intermediate code is decoded, so each frame is
# the decoder's idea of a digit. To measure "looks like a real digit" we use the distance
# (per-pixel squared error) from each frame to its nearest training digit; held-out real
# digits set the baseline.

# %%
a, b = x_test[y_test == 2][0], x_test[y_test == 8][0]
alphas = torch.linspace(0, 1, 8)
pixel_path = (1 - alphas[:, None]) * a + alphas[:, None] * b
with torch.no_grad():
    za, zb = autoencoders[16].encode(torch.stack([a, b]))
    latent_path = autoencoders[16].decode((1 - alphas[:, None]) * za + alphas[:, None] * zb)
interpolation_strip(pixel_path, "pixel space: a cross-fade", alphas.tolist())
plt.show()
interpolation_strip(latent_path, "latent space (16-D autoencoder): decoded codes", alphas.tolist())
plt.show()


def nearest_train_distance(images):
    """Mean over images of the per-pixel MSE to the closest training digit."""
    return (torch.cdist(images, x_train) ** 2 / 64).min(1).values.mean().item()


# The same measurement over 100 random pairs of held-out digits of different classes.
g = torch.Generator().manual_seed(SEED)
i, j = torch.randint(len(x_test), (2, 400), generator=g)
keep = y_test[i] != y_test[j]
i, j = i[keep][:100], j[keep][:100]
inner = alphas[1:-1, None, None]                                  # (6, 1, 1)
pixel_frames = ((1 - inner) * x_test[i] + inner * x_test[j]).reshape(-1, 64)
with torch.no_grad():
    zi, zj = autoencoders[16].encode(x_test[i]), autoencoders[16].encode(x_test[j])
    latent_frames = autoencoders[16].decode(((1 - inner) * zi + inner * zj).reshape(-1, 16))
real_distance = nearest_train_distance(x_test)
gap_pixel = nearest_train_distance(pixel_frames)
gap_latent = nearest_train_distance(latent_frames)
print(f"distance of in-between frames to the nearest training digit (100 pairs): pixel space "
      f"{gap_pixel:.4f}, latent space {gap_latent:.4f} (held-out real digits: {real_distance:.4f})")

# %% [markdown]
# ## Latent arithmetic
# If the code organises digits by class, the difference between two class means is a
# direction "from class a to class b". Adding it to the code of an a should give a b. We apply
# mean(z | 7) − mean(z | 1) to every held-out 1, in the 16-D latent space and, for comparison,
# in pixel space. The judge says whether the result reads as a 7; the distance to the nearest
# training digit says whether it looks like a real one rather than a 1 with a ghost of a 7.

# %%
model16 = autoencoders[16]
with torch.no_grad():
    z_train = model16.encode(x_train)
    ones = x_test[y_test == 1]
    shift = z_train[y_train == 7].mean(0) - z_train[y_train == 1].mean(0)
    edited_latent = model16.decode(model16.encode(ones) + shift)
pixel_shift = x_train[y_train == 7].mean(0) - x_train[y_train == 1].mean(0)
edited_pixel = (ones + pixel_shift).clamp(0, 1)
share_latent = float((judge.predict(edited_latent.numpy()) == 7).mean())
share_pixel = float((judge.predict(edited_pixel.numpy()) == 7).mean())
image_grid(torch.cat([ones[:8], edited_latent[:8], edited_pixel[:8]]), ncols=8, cell_size=0.7,
           title="held-out 1s (top), + latent '7 − 1' (middle), + pixel '7 − 1' (bottom)")
plt.show()
edit_gap_latent = nearest_train_distance(edited_latent)
edit_gap_pixel = nearest_train_distance(edited_pixel)
print(f"judged as 7 after the edit: latent arithmetic {share_latent:.0%}, "
      f"pixel arithmetic {share_pixel:.0%} (of {len(ones)} ones)")
print(f"distance to the nearest training digit: latent edits {edit_gap_latent:.4f}, "
      f"pixel edits {edit_gap_pixel:.4f} (held-out real digits: {real_distance:.4f})")

# %% [markdown]
# ## Explore it yourself
# Move the sliders to choose a point of the 2-D autoencoder's code; the decoder draws it.
# (Widgets need a running kernel. The static figure below shows the same thing: the decoder
# evaluated on a grid of codes covering the region the training digits occupy.)

# %%
lo, hi = ae2_train.min(0).values, ae2_train.max(0).values
explorer = LatentExplorer(autoencoders[2].decode, latent_dim=2,
                          value_range=torch.stack([lo, hi], dim=1), start=ae2_test[0])
explorer

# %%
InterpolationWidget(autoencoders[16].encode, autoencoders[16].decode, a, b)

# %%
n = 12
g1, g2 = torch.meshgrid(torch.linspace(lo[0], hi[0], n), torch.linspace(hi[1], lo[1], n),
                        indexing="xy")
with torch.no_grad():
    manifold = autoencoders[2].decode(torch.stack([g1.flatten(), g2.flatten()], 1))
image_grid(manifold, ncols=n, cell_size=0.45, title="2-D autoencoder: decodes over a grid of codes")
plt.show()

# %% [markdown]
# ## Why a plain autoencoder is not yet a generator
# To *generate*, we need to draw a code z from some distribution and decode it. But training
# only asked the decoder to handle the codes of training images; nothing organised the rest
# of the space. Look at the 2-D map above: classes form islands and streaks with empty space
# between them. We draw codes uniformly from the box that the training codes span — the
# natural "just pick a code" — and compare the judge's confidence with real reconstructions.
# We also try the 16-D code with z ~ N(0, I), which is what a VAE (chapter 04) will make work.

# %%
g = torch.Generator().manual_seed(SEED)
box_codes = lo + (hi - lo) * torch.rand(N_RANDOM, 2, generator=g)
with torch.no_grad():
    recon2 = autoencoders[2](x_test)
    decoded_box = autoencoders[2].decode(box_codes)
    recon16 = model16(x_test)
    decoded_gauss = model16.decode(torch.randn(N_RANDOM, 16, generator=g))


def confident_share(images, threshold=0.9):
    return float((judge.predict_proba(images.numpy()).max(1) > threshold).mean())


# How far each random code lies from the nearest training code, against the same for test codes.
gap_random = torch.cdist(box_codes, ae2_train).min(1).values.median().item()
gap_test = torch.cdist(ae2_test, ae2_train).min(1).values.median().item()
sampling = {
    "2-D: reconstructions of test digits": confident_share(recon2),
    "2-D: codes uniform over the training box": confident_share(decoded_box),
    "16-D: reconstructions of test digits": confident_share(recon16),
    "16-D: codes z ~ N(0, I)": confident_share(decoded_gauss),
}
for name, share in sampling.items():
    print(f"{name:42s}: judge is >90% sure for {share:.0%}")
print(f"median distance to the nearest training code: random codes {gap_random:.2f}, "
      f"test digits {gap_test:.2f}")
image_grid(torch.cat([decoded_box[:10], decoded_gauss[:10]]), ncols=10, cell_size=0.7,
           title="decoded random codes: 2-D uniform box (top), 16-D N(0, I) (bottom)")
plt.show()

# %% [markdown]
# The random codes land in the gaps between the islands, where the decoder was never trained,
# and the judge recognises far fewer of the results. Two fixes are coming: a **GAN** (chapters
# 02–03) trains the decoder on random codes directly, with a discriminator as the critic; a
# **VAE** (chapter 04) trains the encoder so that the codes *do* fill a known distribution.
#
# ## Checks

# %%
assert pca_disagreement < 1e-3, "PCA from scratch must match scikit-learn and gencourse"
for k, r in results.items():
    assert r["ae"] < 0.3 * r["untrained"], f"the {k}-D autoencoder barely beats an untrained one"
assert results[16]["ae"] < 0.012, f"16-D held-out MSE {results[16]['ae']:.4f} is too high"
assert results[2]["ae"] < 0.8 * results[2]["pca"], "a 2-D autoencoder should beat 2-D PCA clearly"
assert results[2]["ae"] > results[8]["ae"] > results[16]["ae"], "error should fall with code size"
assert abs(scratch_mse - results[2]["ae"]) < 0.01, "the from-scratch and gencourse AEs should agree"
assert knn_ae2 > knn_pca2 + 0.1, "the 2-D autoencoder code should separate digits better than PCA"
assert gap_latent < 0.92 * gap_pixel, "latent interpolation frames should look more like digits"
assert share_latent > 0.7, f"latent arithmetic turned only {share_latent:.0%} of 1s into 7s"
assert edit_gap_latent < 0.8 * edit_gap_pixel, "latent edits should look more like real digits"
assert gap_random > 3 * gap_test, "uniform random codes should fall in the gaps between training codes"
assert sampling["2-D: codes uniform over the training box"] < \
    sampling["2-D: reconstructions of test digits"], "random 2-D codes should decode worse"
assert sampling["16-D: codes z ~ N(0, I)"] < \
    sampling["16-D: reconstructions of test digits"] - 0.3, "N(0, I) codes should decode worse"
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - A latent code is a compressed description from which the data can be rebuilt. PCA finds the
#   best **linear** code; an autoencoder learns a **non-linear** one and rebuilds held-out
#   digits better at every code size measured here, most clearly at very small codes.
# - In a good latent space, straight lines and vector arithmetic are meaningful: interpolated
#   frames stay closer to real digits than a cross-fade, and "7 − 1" turns ones into sevens that
#   look like real sevens rather than overlays.
# - A plain autoencoder only learns to decode the codes of its training data. Random codes fall
#   into the gaps, so it cannot be sampled from reliably — the problem GANs and VAEs solve.
#
# **Interview question this chapter answers:** *What is a latent space and why does it matter
# for generation?* — It is the space of compact codes z from which a model produces data.
# Generation is "pick a z, decode it", so the latent space must be (1) expressive — every
# realistic output has a code — and (2) regular — the codes you can draw (from a simple
# distribution) decode to realistic outputs, nearby codes give similar outputs, and directions
# carry meaning (interpolation, arithmetic, editing). Autoencoders give (1); GANs and VAEs add (2).
