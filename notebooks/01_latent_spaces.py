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
# # 01 · Latent spaces
#
# A 8×8 digit is 64 numbers, but digits do not fill that 64-dimensional space: they lie near a
# much smaller set of shapes. A **latent space** is a short code z from which the image can be
# rebuilt. This chapter learns codes two ways — linearly with PCA, non-linearly with an
# autoencoder — measures how well each rebuilds held-out digits, walks and does arithmetic in
# the code space, and ends by sampling from it: what works, and what a plain autoencoder lacks.
#
# **You will learn to**
# - compute PCA from the singular value decomposition and check it against scikit-learn;
# - train an autoencoder and compare its held-out reconstruction error with PCA at code sizes 2, 8, 16;
# - interpolate and do arithmetic in latent space, and measure the result with a classifier;
# - sample from an autoencoder by fitting a density to its codes after the fact, and explain
#   why that is not yet a generative model.
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
from gencourse.models import PCA, Autoencoder, AutoencoderConfig, GaussianMixture, train_autoencoder
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
N_RANDOM = 500            # codes sampled and decoded in the last section
N_COMPONENTS = 10         # components of the Gaussian mixture fitted to the 16-D codes
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
# Encode then decode held-out digits three ways; the results must agree pixel by pixel
# (this tests the centring and the mean added back, not only the directions).
recon_scratch = pca_decode(pca_codes(x_test, 16), 16)
recon_sklearn = torch.from_numpy(sk16.inverse_transform(sk16.transform(x_test.numpy()))).float()
recon_gencourse = ours16.reconstruct(x_test)
pca_disagreement = max((recon_scratch - recon_sklearn).abs().max().item(),
                       (recon_scratch - recon_gencourse).abs().max().item())
print(f"variance explained by 2 / 8 / 16 components: "
      + " / ".join(f"{explained[k - 1]:.1%}" for k in CODE_SIZES))
print(f"largest difference between 16-D reconstructions of held-out digits "
      f"(scratch vs scikit-learn vs gencourse): {pca_disagreement:.1e}")

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
# autoencoder's **latent space** (16-D) we blend the two codes and decode every intermediate
# code. To measure "looks like a real digit" we use the distance (per-pixel squared error) from
# each frame to its nearest training digit; held-out real digits set the baseline.
#
# A fair comparison has to separate two things: the latent *path*, and the *decoder* that
# draws every latent frame. So besides the plain cross-fade we score two baselines that use
# the decoder but not the latent path: a cross-fade of the two digits' reconstructions (same
# end frames as the latent path), and the pixel cross-fade passed through the autoencoder.

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


def nearest_train_distances(images):
    """Per-pixel MSE from each image (N, 64) to its closest training digit -> (N,)."""
    return (torch.cdist(images, x_train) ** 2 / 64).min(1).values


# The same measurement over 100 random pairs of held-out digits of different classes.
g = torch.Generator().manual_seed(SEED)
i, j = torch.randint(len(x_test), (2, 400), generator=g)
keep = y_test[i] != y_test[j]
i, j = i[keep][:100], j[keep][:100]
inner = alphas[1:-1, None, None]                                  # (6, 1, 1): α = 1/7 … 6/7
n_pairs = len(i)
ae16 = autoencoders[16]
with torch.no_grad():
    zi, zj = ae16.encode(x_test[i]), ae16.encode(x_test[j])
    ri, rj = ae16(x_test[i]), ae16(x_test[j])              # reconstructions of the end digits
    pixel_frames = ((1 - inner) * x_test[i] + inner * x_test[j]).reshape(-1, 64)
    frames = {
        "pixel cross-fade": pixel_frames,
        "cross-fade of the two reconstructions": ((1 - inner) * ri + inner * rj).reshape(-1, 64),
        "pixel cross-fade through the autoencoder": ae16(pixel_frames),
        "latent interpolation": ae16.decode(((1 - inner) * zi + inner * zj).reshape(-1, 16)),
    }
    references = {"real held-out digits": x_test, "reconstructions of held-out digits": ae16(x_test)}
middle = slice(2 * n_pairs, 4 * n_pairs)                         # the frames at α = 3/7 and 4/7
gaps = {name: (nearest_train_distances(f).mean().item(),
               nearest_train_distances(f[middle]).mean().item()) for name, f in frames.items()}
ref_gaps = {name: nearest_train_distances(im).mean().item() for name, im in references.items()}
print(f"distance to the nearest training digit, {n_pairs} pairs | all 6 in-between frames | "
      "middle 2")
for name, (every, mid) in gaps.items():
    print(f"{name:42s} | {every:.4f}                 | {mid:.4f}")
for name, d in ref_gaps.items():
    print(f"{name:42s} | {d:.4f} (reference)")

# %% [markdown]
# Read the table row by row. Every frame that goes through the decoder gains, whatever path it
# took: the decoder only draws smooth, typical digits — its reconstructions of real digits sit
# *closer* to the training set than the real digits themselves, so this yardstick rewards it.
# Passing the pixel cross-fade through the autoencoder scores as well as the latent
# interpolation: by this measure the latent path adds nothing beyond the decoder, because
# encoding a double exposure and decoding it already yields one digit-like image. What the
# latent path does beat is the cross-fade of the two reconstructions, which has the same end
# frames and the same decoder but overlays them; the difference is largest in the middle of the
# path, where the overlay is most visible. So "the latent space is smooth" here means: the
# decoder turns any code near the data, including a blend of two codes, into a single plausible
# digit.

# %% [markdown]
# ## Latent arithmetic
# If the code organises digits by class, the difference between two class means is a
# direction "from class a to class b". Adding it to the code of an a should give a b. We apply
# mean(z | 7) − mean(z | 1) to every held-out 1, in the 16-D latent space and, for comparison,
# in pixel space. Two questions: does the judge read the result as a 7, and does it look like a
# real digit rather than a 1 with a ghost of a 7? For the second we call an image *realistic*
# when its distance to the nearest training digit is no larger than that of 90% of held-out
# real digits. Real held-out 7s are the reference row.

# %%
model16 = autoencoders[16]
with torch.no_grad():
    z_train = model16.encode(x_train)
    ones = x_test[y_test == 1]
    shift = z_train[y_train == 7].mean(0) - z_train[y_train == 1].mean(0)
    edited_latent = model16.decode(model16.encode(ones) + shift)
    unedited_latent = model16(ones)                   # the same 1s through the autoencoder, no shift
pixel_shift = x_train[y_train == 7].mean(0) - x_train[y_train == 1].mean(0)
edited_pixel = (ones + pixel_shift).clamp(0, 1)
image_grid(torch.cat([ones[:8], edited_latent[:8], edited_pixel[:8]]), ncols=8, cell_size=0.7,
           title="held-out 1s (top), + latent '7 − 1' (middle), + pixel '7 − 1' (bottom)")
plt.show()

realistic_limit = nearest_train_distances(x_test).quantile(0.9)
edits = {"1s + latent '7 − 1'": edited_latent, "1s + pixel '7 − 1'": edited_pixel,
         "1s through the autoencoder, no edit": unedited_latent,
         "real held-out 7s": x_test[y_test == 7]}
arithmetic = {}
for name, images in edits.items():
    as_seven = torch.from_numpy(judge.predict(images.numpy()) == 7)
    realistic = nearest_train_distances(images) <= realistic_limit
    arithmetic[name] = {"seven": as_seven.float().mean().item(),
                        "realistic seven": (as_seven & realistic).float().mean().item(),
                        "distance": nearest_train_distances(images).mean().item()}
print(f"{'':36s} judged 7 | judged 7 and realistic | distance to nearest training digit")
for name, r in arithmetic.items():
    print(f"{name:36s} {r['seven']:8.0%} | {r['realistic seven']:22.0%} | {r['distance']:.4f}")

# %% [markdown]
# Read the table with care. The judge calls about as many pixel edits 7s as latent edits: a
# logistic regression reads a faint 7 laid over a 1 as a 7, so the class share alone does *not*
# show that latent arithmetic beats pixel arithmetic. The difference is realism: far more latent
# edits are 7s that sit as close to a real digit as real digits do, while pixel edits are
# overlays. Part of that comes from the decoder itself, which only draws digit-like images (the
# unedited 1s through the autoencoder are realistic too, and none is a 7); the arithmetic's part
# is to move the code to where the decoder draws a 7.

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
# ## Sampling from an autoencoder
# To *generate*, we need to draw a code z from some distribution and decode it. Training asked
# nothing of the codes' distribution: the encoder puts them wherever reconstruction is easiest.
# So which distribution should we draw from? We compare, on the 16-D autoencoder:
# - z ~ N(0, I), the "just pick a code" guess;
# - one full-covariance Gaussian fitted to the training codes;
# - a Gaussian mixture with `N_COMPONENTS` components fitted to the training codes by EM —
#   chapter 00's own `GaussianMixture`, now in 16 dimensions;
#
# and, as references, reconstructions of held-out digits and the held-out digits themselves.
# The judge scores each set by the share of images it is more than 90% sure about.

# %%
with torch.no_grad():
    code_std = z_train.std(0)
    code_mixture = GaussianMixture(N_COMPONENTS).fit(z_train, n_iter=100, seed=SEED)
    code_gaussian = GaussianMixture(1).fit(z_train, n_iter=1, seed=SEED)
    z_test = model16.encode(x_test)
    code_loglik = {"one Gaussian": code_gaussian.log_prob(z_test).mean().item(),
                   "mixture": code_mixture.log_prob(z_test).mean().item()}
    g = torch.Generator().manual_seed(SEED)
    codes = {"z ~ N(0, I)": torch.randn(N_RANDOM, 16, generator=g),
             "one Gaussian fitted to the codes": code_gaussian.sample(N_RANDOM, seed=SEED).float(),
             f"mixture of {N_COMPONENTS} Gaussians fitted to the codes":
                 code_mixture.sample(N_RANDOM, seed=SEED).float()}
    sampled = {name: model16.decode(z) for name, z in codes.items()}
    sampled["reconstructions of held-out digits"] = model16(x_test)
    sampled["real held-out digits"] = x_test


def nearest_code_distances(z):
    """Distance from each code (N, 16) to its closest training code -> (N,)."""
    return torch.cdist(z, z_train).min(1).values


# A sampled code is "off the data" when it is farther from every training code than 95% of
# held-out codes are: the decoder was never trained on anything there.
off_limit = nearest_code_distances(z_test).quantile(0.95)
off_data = {name: (nearest_code_distances(z) > off_limit).float().mean().item()
            for name, z in codes.items()}


def confident_share(images, threshold=0.9):
    """Share of images (N, 64) whose most likely class the judge gives more than `threshold`."""
    return float((judge.predict_proba(images.numpy()).max(1) > threshold).mean())


sampling = {name: confident_share(images) for name, images in sampled.items()}
print(f"per-dimension standard deviation of the training codes: {code_std.min():.1f} to "
      f"{code_std.max():.1f} (N(0, I) assumes 1)")
print(f"held-out codes, mean log p(z): one Gaussian {code_loglik['one Gaussian']:.1f}, "
      f"mixture {code_loglik['mixture']:.1f} nats")
for name, share in sampling.items():
    off = f", {off_data[name]:.0%} of codes off the data" if name in off_data else ""
    print(f"{name:48s}: judge is >90% sure for {share:.0%}{off}")
image_grid(torch.cat([sampled[name][:10] for name in list(sampled)[:3]]), ncols=10, cell_size=0.7,
           title="decoded codes from N(0, I) (top), one Gaussian (middle), the mixture (bottom)")
plt.show()

# %% [markdown]
# N(0, I) fails for a plain reason: the codes were never asked to have that scale or centre. A
# single Gaussian fitted to them does little better: the codes are clustered (the mixture gives
# held-out codes a much higher log-likelihood than one Gaussian), and most codes drawn from one
# Gaussian land off the data — farther from every training code than 95% of held-out codes
# are — in the empty space between the clusters, where the decoder was never trained. A mixture
# fitted to the codes keeps most of its samples near the data, and its decoded samples are nearly
# as recognisable as reconstructions of real digits.
#
# So an autoencoder *can* be sampled from — but only by modelling its code distribution after the
# fact, with a second model chosen by hand, and the pair still gives no likelihood p(x): the
# decoder is deterministic, so it cannot say how probable a digit is, and nothing in training
# made the codes easy to model. The fixes are coming: a **GAN** (chapters 02–03) trains the
# decoder on codes drawn from a fixed distribution, with a discriminator as the critic; a
# **VAE** (chapter 04) trains the encoder so that the codes fill a known prior, and gives a
# bound on the likelihood.
#
# ## Checks

# %%
assert pca_disagreement < 1e-4, "PCA reconstructions from scratch must match scikit-learn and gencourse"
assert results[16]["pca"] < 0.013, f"16-D PCA held-out MSE {results[16]['pca']:.4f} is too high"
assert results[2]["pca"] > results[8]["pca"] > results[16]["pca"], "PCA error should fall with k"
for k, r in results.items():
    assert r["ae"] < 0.3 * r["untrained"], f"the {k}-D autoencoder barely beats an untrained one"
assert results[16]["ae"] < 0.012, f"16-D held-out MSE {results[16]['ae']:.4f} is too high"
assert results[2]["ae"] < 0.8 * results[2]["pca"], "a 2-D autoencoder should beat 2-D PCA clearly"
assert results[2]["ae"] > results[8]["ae"] > results[16]["ae"], "error should fall with code size"
assert abs(scratch_mse - results[2]["ae"]) < 0.01, "the from-scratch and gencourse AEs should agree"
assert knn_ae2 > knn_pca2 + 0.1, "the 2-D autoencoder code should separate digits better than PCA"
gap_latent, gap_pixel = gaps["latent interpolation"], gaps["pixel cross-fade"]
gap_recon_fade = gaps["cross-fade of the two reconstructions"]
gap_through = gaps["pixel cross-fade through the autoencoder"]
assert gap_latent[0] < 0.92 * gap_pixel[0], "latent frames should be closer to real digits than a cross-fade"
assert gap_latent[1] < 0.93 * gap_recon_fade[1], \
    "mid-path latent frames should beat a cross-fade of the reconstructions"
assert abs(gap_through[0] - gap_latent[0]) < 0.1 * gap_latent[0], \
    "the text says the decoder alone (cross-fade through the AE) does about as well as the latent path"
assert ref_gaps["reconstructions of held-out digits"] < ref_gaps["real held-out digits"], \
    "the text says reconstructions sit closer to the training digits than real digits do"
latent_edit, pixel_edit = arithmetic["1s + latent '7 − 1'"], arithmetic["1s + pixel '7 − 1'"]
assert latent_edit["seven"] > 0.7, f"latent arithmetic turned only {latent_edit['seven']:.0%} of 1s into 7s"
assert arithmetic["1s through the autoencoder, no edit"]["seven"] < 0.1, "without the edit, 1s stay 1s"
assert latent_edit["realistic seven"] > pixel_edit["realistic seven"] + 0.25, \
    "latent edits should give far more realistic 7s than pixel edits"
assert latent_edit["distance"] < 0.8 * pixel_edit["distance"], "latent edits should look more like real digits"
assert code_loglik["mixture"] > code_loglik["one Gaussian"] + 2, "the codes should be clustered"
mixture_share = sampling[f"mixture of {N_COMPONENTS} Gaussians fitted to the codes"]
assert code_std.min() > 1.2, "the codes' scale should be far from N(0, I)'s"
assert sampling["z ~ N(0, I)"] < 0.1, "N(0, I) codes should rarely decode to recognisable digits"
assert off_data["one Gaussian fitted to the codes"] > 0.5, "most one-Gaussian codes should be off the data"
assert off_data[f"mixture of {N_COMPONENTS} Gaussians fitted to the codes"] < \
    off_data["one Gaussian fitted to the codes"] - 0.3, "mixture codes should stay nearer the data"
assert mixture_share > sampling["one Gaussian fitted to the codes"] + 0.3, \
    "a mixture should sample the clustered codes far better than one Gaussian"
assert mixture_share > sampling["reconstructions of held-out digits"] - 0.1, \
    "mixture samples should be nearly as recognisable as reconstructions"
assert sampling["reconstructions of held-out digits"] > sampling["real held-out digits"] - 0.1, \
    "reconstructions should be about as recognisable as real digits"
print(f"all checks passed in {time.perf_counter() - notebook_start:.1f} s")

# %% [markdown]
# ## Summary
# - A latent code is a compressed description from which the data can be rebuilt. PCA finds the
#   best **linear** code; an autoencoder learns a **non-linear** one and rebuilds held-out
#   digits better at every code size measured here, most clearly at very small codes.
# - In a good latent space, straight lines and vector arithmetic are meaningful: interpolated
#   frames stay closer to real digits than a cross-fade — mostly thanks to the decoder, which
#   draws a single plausible digit for any code near the data (a cross-fade pushed through the
#   autoencoder does as well), while the latent path beats overlaying the two decoded end
#   digits, most in mid-path — and "7 − 1" turns ones into sevens that
#   are realistic far more often than the same arithmetic on pixels (which the judge, fooled by
#   overlays, scores as 7s just as often — a reminder to measure with more than one yardstick).
# - A plain autoencoder's codes follow whatever distribution training left them in: N(0, I)
#   decodes to almost nothing recognisable, one fitted Gaussian to little more, and a mixture
#   fitted to the codes after the fact samples nearly as well as reconstructing real digits.
#   What is still missing is a code distribution fixed in advance and a likelihood p(x) —
#   what GANs (the first) and VAEs (both) provide.
#
# **Interview question this chapter answers:** *What is a latent space and why does it matter
# for generation?* — It is the space of compact codes z from which a model produces data.
# Generation is "pick a z, decode it", so the latent space must be (1) expressive — every
# realistic output has a code — and (2) regular — the codes you can draw (from a simple
# distribution) decode to realistic outputs, nearby codes give similar outputs, and directions
# carry meaning (interpolation, arithmetic, editing). Autoencoders give (1), and can be sampled
# only by modelling their codes afterwards; GANs and VAEs build (2) into training.
