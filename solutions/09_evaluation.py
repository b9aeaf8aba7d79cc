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
# # 09 · Exercises: the yardsticks by hand
#
# Write five of chapter 09's measures yourself: the Fréchet distance from two feature sets, the
# Inception-score analogue, k-NN precision and recall, bits per dimension, and the Wilson interval
# of a win rate. Replace each `raise NotImplementedError(...)` with your code and run the
# `check(...)` cell below it. At the end your functions score the course's diffusion model and a
# collapsed generator, so you can see them work. Grade the whole notebook with
# `gencourse check exercises/09_evaluation.ipynb`.
#
# Lesson: `notebooks/09_evaluation.ipynb`.

# %%
import math

import torch

from gencourse.exercises import check
from gencourse.metrics import frechet_distance

# %% [markdown]
# ## Exercise 09.1 — the Fréchet distance from two feature sets
# `features1` (N, D) and `features2` (M, D) are float64 tensors. Fit a Gaussian to each (the mean, and
# the unbiased covariance that divides by N − 1, as `torch.cov` does) and return the Fréchet distance
# between the two Gaussians as a float. You may use chapter 03's `frechet_distance(mu1, cov1, mu2,
# cov2)`, imported above, which takes numpy arrays.

# %%
def fd(features1, features2):
    ### BEGIN SOLUTION
    stats = [(f.mean(dim=0).numpy(), torch.cov(f.T).numpy()) for f in (features1, features2)]
    return frechet_distance(*stats[0], *stats[1])
    ### END SOLUTION


# %%
check("09.1", fd)

# %% [markdown]
# ## Exercise 09.2 — the Inception-score analogue
# `probs` (N, C) holds a classifier's class probabilities for N generated samples (rows sum to 1;
# some entries may be exactly 0). Return exp(E_x KL(p(y|x) ‖ p(y))) as a float, with p(y) the
# average of the rows. A term with p(y|x) = 0 counts as 0 (`torch.xlogy(x, y)` computes x · log y
# and gives 0 when x = 0).

# %%
def inception_score(probs):
    ### BEGIN SOLUTION
    marginal = probs.mean(dim=0, keepdim=True)
    kl = (torch.xlogy(probs, probs) - torch.xlogy(probs, marginal)).sum(dim=1)     # xlogy(0, ·) = 0
    return float(kl.mean().exp())
    ### END SOLUTION


# %%
check("09.2", inception_score)

# %% [markdown]
# ## Exercise 09.3 — k-NN precision and recall
# `real` (N, D) and `fake` (M, D) are feature sets. Around every point draw a ball whose radius is the
# distance to its k-th nearest *other* point of the same set. Precision is the share of generated
# points inside at least one real ball; recall is the share of real points inside at least one
# generated ball (a point on the boundary counts as inside). Return `(precision, recall)` as floats.

# %%
def precision_recall(real, fake, k):
    ### BEGIN SOLUTION
    def radii(f):
        return torch.cdist(f, f).kthvalue(k + 1, dim=1).values      # the smallest distance is the point itself
    cross = torch.cdist(fake, real)                                   # (M, N)
    precision = (cross <= radii(real)[None, :]).any(dim=1).double().mean()
    recall = (cross <= radii(fake)[:, None]).any(dim=0).double().mean()
    return float(precision), float(recall)
    ### END SOLUTION


# %%
check("09.3", precision_recall)

# %% [markdown]
# ## Exercise 09.4 — bits per dimension
# `log_p` (N,) holds log p(x) in nats for N images of `dims` values each. Return the mean bits per
# dimension, −log p(x) / (D ln 2), averaged over the images, as a float.

# %%
def bits_per_dim(log_p, dims):
    ### BEGIN SOLUTION
    return float(-log_p.mean() / (dims * math.log(2)))
    ### END SOLUTION


# %%
check("09.4", bits_per_dim)

# %% [markdown]
# ## Exercise 09.5 — the Wilson interval of a win rate
# A generator's digit was picked as real in `wins` of `n` trials. Return the 95% Wilson interval
# `(low, high)` for the win rate, as shares in [0, 1]: with p̂ = wins/n and z = 1.96 (use
# `1.959963984540054`), the centre is (p̂ + z²/2n) / (1 + z²/n) and the half-width
# z √(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).

# %%
def wilson(wins, n):
    ### BEGIN SOLUTION
    z = 1.959963984540054
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half
    ### END SOLUTION


# %%
check("09.5", wilson)

# %% [markdown]
# ## Your measures at work
# The course's diffusion model (chapter 08, from the zoo) draws 360 digits, 36 per class, and a
# collapsed generator repeats one digit per class. Your functions score both against the 360 test
# digits in the judge's features, your Wilson interval brackets a coin's win rate, and your bits/dim
# scores a model that draws each pixel from its own histogram.

# %%
from gencourse.data import load_digits
from gencourse.zoo import digits_judge
from gencourse.zoo.diffusion import pixel_diffusion

torch.set_num_threads(1)
digits, judge = load_digits(), digits_judge()
labels = torch.arange(10).repeat(36)
with torch.no_grad():
    samples = pixel_diffusion().generate(labels, guidance=1.5, method="ddim", steps=50, seed=0)
    collapsed = samples[:10].repeat(36, 1, 1, 1)
    real = judge.features(digits.x_test).double()
    scores = {}
    for name, images in (("diffusion", samples), ("one digit per class", collapsed)):
        features = judge.features(images).double()
        p, r = precision_recall(real, features, 3)
        scores[name] = {"fd": fd(features, real), "is": inception_score(judge(images).softmax(dim=1).double()),
                        "precision": p, "recall": r}
        print(f"{name:20s} FD {scores[name]['fd']:7.2f}  IS {scores[name]['is']:5.2f}  precision {p:.2f}  recall {r:.2f}")
assert scores["diffusion"]["fd"] < 15 and scores["diffusion"]["recall"] > 0.6, "the diffusion digits should score well"
assert scores["one digit per class"]["recall"] < 0.05 and scores["one digit per class"]["fd"] > 5 * scores["diffusion"]["fd"]
assert scores["one digit per class"]["is"] > 9.5, "the Inception score cannot see the missing variety"
coin = torch.rand(400, generator=torch.Generator().manual_seed(0)) < 0.5
low, high = wilson(int(coin.sum()), 400)
print(f"a coin's win rate: {float(coin.float().mean()):.3f}, 95% interval [{low:.3f}, {high:.3f}]")
assert low < 0.5 < high
from gencourse.models.pixel_mixture import CategoricalMixture

independent = CategoricalMixture(1).fit(digits.x_train, iterations=1)     # each pixel from its own histogram
bpd = bits_per_dim(independent.log_prob(digits.x_test), 64)
print(f"independent pixels on the test digits: {bpd:.3f} bits/dim (a uniform guess over 17 levels: {math.log2(17):.3f})")
assert 2.0 < bpd < math.log2(17), "independent pixels must beat the uniform guess"
