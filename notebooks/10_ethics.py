# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
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
# # 10 · Ethics and responsible use
#
# Generative models raise six risks that come up again and again: bias and fairness,
# misinformation and deepfakes, intellectual property and memorisation, security misuse,
# environmental cost, and jobs. Each section below explains one briefly, with sources, and then,
# wherever a small honest experiment exists, measures the risk on the course's own models together
# with a mitigation that moves the figure. Where no honest experiment fits in a notebook (security
# misuse, jobs), the section says so and only discusses.
#
# **You will learn to**
# - audit the groups a generator represents, with intervals, and correct the audit for the
#   auditor's own errors; then reduce the bias and measure again;
# - train a real-vs-generated detector and test whether it transfers to other generators;
# - watermark a language model's samples and detect the watermark with a z-test, and measure its
#   power, its false alarms, its cost in perplexity and its robustness;
# - measure memorisation (copied training text) and membership inference (ROC AUC and the true
#   positive rate at a low false-positive rate);
# - count the compute of training in FLOPs and estimate its energy, beside published figures;
# - write a model card from measured figures.
#
# **Prerequisites:** chapters 03, 04, 06 and 08 (the models), 09 (intervals, ROC). **Run time:**
# about 75 seconds on a 2-core laptop CPU once the model zoo is built (`gencourse zoo build`); on an
# empty cache, about 20 minutes more, most of it training the three GPTs.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from gencourse.data import load_digits
from gencourse.data.names import names_corpus
from gencourse.ethics.bias import (
    bootstrap_corrected_shares, confusion_matrix, corrected_shares, group_shares, total_variation,
)
from gencourse.ethics.compute import count_flops, energy_kwh, rapl_joules, transformer_forward_flops
from gencourse.ethics.membership import copied_runs, loss_threshold_attack, substrings
from gencourse.ethics.model_card import ModelCard
from gencourse.ethics.watermark import SettingsPerRow, detect, green_table
from gencourse.experiments.digit_recipes import rebuild
from gencourse.experiments.ethics import (
    GROUPS, NameAuditor, NameGenerator, group_tag, name_groups, name_losses, substitute, tokens_for_characters,
    train_detector,
    weighted_names, zoo_training_flops,
)
from gencourse.experiments.evaluation import conditional_generators, copying_score, few_real, real_for_labels
from gencourse.metrics import perplexity, wilson_interval
from gencourse.models.gpt import GPT
from gencourse.models.pixel_mixture import BinomialMixture, ClassConditional
from gencourse.models.vae import VAE, VAEConfig, elbo, train_vae
from gencourse.zoo import digits_cgan, digits_cvae, gpt_data, gpt_record, zoo_gpt
from gencourse.zoo.diffusion import pixel_diffusion
from gencourse.zoo.gpt import CODE_BPE_GPT, CODE_GPT, NAMES_GPT, corpus_texts

notebook_start = time.perf_counter()
torch.set_num_threads(1)   # small models: one thread is fastest and survives a busy machine

# %% [markdown]
# ## Parameters

# %%
SEED = 0
SKEW = {"en_US male": 0.7, "en_US female": 0.1, "es_ES female": 0.1, "es_ES male": 0.1}   # the training mix
N_TRAIN_NAMES = 4000           # names in each generator's training list
N_AUDIT = 1000                 # generated names audited per model
N_LARGE = 2000                 # names per set where two sets are compared (the temperature study)
BOOTSTRAP = 200                # bootstrap resamples for the corrected shares' intervals
DETECTOR_STEPS = 300

# %% [markdown]
# ## 1 · Bias and fairness
#
# A generative model learns the distribution of its training data, including who is over- and
# under-represented in it. We build the risk on purpose and then measure it. A name generator
# (chapter 06's character n-gram model) is trained on a list in which 70% of the names are US-English
# male names and the other three groups (US-English female, Spanish female, Spanish male) have 10%
# each. The names come from `faker`'s lists. Names that appear in two groups are dropped, and each
# group's list is split three ways: for the generator, for training the auditor, and for testing it.
#
# **The auditor.** Nobody labels a thousand generated names by hand, so the audit uses a classifier:
# a logistic regression on character 1- to 4-grams, trained on names the generator never saw. Its
# errors are measured on a third set, and its confusion matrix C (row i: how names of group i are
# labelled) lets us correct the audit. Observed shares are q = Cᵀp for true shares p, so we solve
# for p (`corrected_shares`). This assumes the auditor errs on generated names as it does on real
# ones.

# %%
groups = list(GROUPS)
split = name_groups(SEED)
auditor = NameAuditor().fit([n for g in groups for n in split.audit_train[g]],
                            [g for g in groups for _ in split.audit_train[g]])
test_names = [n for g in groups for n in split.audit_test[g]]
test_groups = [g for g in groups for _ in split.audit_test[g]]
test_predicted = list(auditor.predict(test_names))
confusion = confusion_matrix(test_groups, test_predicted, groups)
auditor_accuracy = float(np.mean(np.array(test_predicted) == np.array(test_groups)))
print(f"the auditor is right on {100 * auditor_accuracy:.0f}% of {len(test_names)} held-out names (chance: 25%)")
print("confusion matrix, rows = true group, columns = the auditor's label:")
for g, row in zip(groups, confusion):
    print(f"  {g:14s}" + "".join(f"{v:7.2f}" for v in row))


def audit(names):
    """Observed shares with Wilson intervals, and the shares corrected for the auditor's errors."""
    observed = group_shares(list(auditor.predict(names)), groups)
    corrected = corrected_shares([observed[g].share for g in groups], confusion)
    return observed, dict(zip(groups, corrected))


# The correction, checked where the truth is known: real names in the skewed proportions
check_names = weighted_names(split.generator, SKEW, N_AUDIT, seed=SEED)   # real names the auditor never saw
check_observed, check_corrected = audit(check_names)
check_boot = bootstrap_corrected_shares(list(auditor.predict(check_names)), test_groups, test_predicted, groups,
                                        reps=BOOTSTRAP, seed=SEED)[:, groups.index("en_US male")]
check_interval = np.percentile(check_boot, [2.5, 97.5])
print("real held-out names mixed 70/10/10/10:", {g: f"{check_observed[g].share:.2f} → {check_corrected[g]:.2f}"
                                                 for g in groups})
print(f"  the majority's corrected share, bootstrap 95%: [{check_interval[0]:.2f}, {check_interval[1]:.2f}] (truth 0.70)")

# %% [markdown]
# Now the generators. The first learns from the skewed list. We sample it at temperature 1 and at
# 0.7 (sharper sampling favours the commonest patterns, so it may *amplify* the majority). Then two
# mitigations, each trained on the same real names:
#
# - **re-balanced data**: the training list drawn 25% from each group;
# - **conditioning**: the skewed list, but the model is told each name's group, and at sampling time
#   we ask for each group equally, so who is represented becomes an explicit setting instead of an
#   accident of the data. We try it two ways: a tag character at the start of each name (one model),
#   and one model per group (p(name | group) estimated separately, like chapter 09's class-conditional
#   mixtures).

# %%
BALANCED = {g: 0.25 for g in groups}
skewed_list = weighted_names(split.generator, SKEW, N_TRAIN_NAMES, seed=SEED, tag=True)  # each name after its group's tag
skewed = NameGenerator().fit([n[1:] for n in skewed_list])
rebalanced = NameGenerator().fit(weighted_names(split.generator, BALANCED, N_TRAIN_NAMES, seed=SEED))
tagged = NameGenerator().fit(skewed_list)
per_group = [NameGenerator().fit([n[1:] for n in skewed_list if n[0] == group_tag(i)]) for i in range(len(groups))]
print("distinct names per group in the generator's list:", {g: len(split.generator[g]) for g in groups})


def from_each_group(counts, temperature, seed):
    """Generated names of known group: counts[i] names from group i's own model."""
    return [n for i, k in enumerate(counts) for n in per_group[i].sample(k, temperature=temperature, seed=seed + i)]


# Where the truth is known: generated names mixed 70/10/10/10, drawn from the per-group models at
# each temperature (does the correction, estimated on real names, hold for generated ones?)
truth_mix = [round(SKEW[g] * N_LARGE) for g in groups]
known = {t: list(auditor.predict(from_each_group(truth_mix, t, SEED + 300))) for t in (1.0, 0.7)}
for t, labels in known.items():
    observed = group_shares(labels, groups)
    fixed = corrected_shares([observed[g].share for g in groups], confusion)
    print(f"generated names, truly 70% en_US male, T = {t}: raw audit {observed['en_US male'].share:.3f}, "
          f"corrected {fixed[groups.index('en_US male')]:.3f}")

samples = {                                  # name -> (sampling temperature, names)
    "skewed data, T = 1": (1.0, skewed.sample(N_LARGE, seed=SEED)),
    "skewed data, T = 0.7": (0.7, skewed.sample(N_LARGE, temperature=0.7, seed=SEED)),
    "re-balanced data, T = 1": (1.0, rebalanced.sample(N_AUDIT, seed=SEED)),
    "skewed data + group tag, T = 1": (1.0, [n for i in range(len(groups))
                                             for n in tagged.sample(N_AUDIT // 4, seed=SEED + i, prefix=group_tag(i))]),
    "skewed data, a model per group, T = 1": (1.0, from_each_group([N_AUDIT // 4] * len(groups), 1.0, SEED)),
}
target = np.array([BALANCED[g] for g in groups])
bias_rows = {}
for name, (t, names) in samples.items():
    labels = list(auditor.predict(names))
    observed = group_shares(labels, groups)
    shares = corrected_shares([observed[g].share for g in groups], confusion)
    boot = bootstrap_corrected_shares(labels, test_groups, test_predicted, groups, reps=BOOTSTRAP, seed=SEED)
    tvs = [total_variation(b, target) for b in boot]
    bias_rows[name] = {"observed": observed, "corrected": shares, "interval": np.percentile(boot, [2.5, 97.5], axis=0),
                       "tv": total_variation(shares, target), "tv interval": np.percentile(tvs, [2.5, 97.5])}
print(f"\n{'observed shares [Wilson 95%]':40s}" + "".join(f"{g:>18s}" for g in groups))
print(f"{'training mix (skewed)':40s}" + "".join(f"{SKEW[g]:>18.2f}" for g in groups))
for name, r in bias_rows.items():
    print(f"{name:40s}" + "".join(f"{r['observed'][g].share:>7.2f} [{r['observed'][g].low:.2f}, {r['observed'][g].high:.2f}]"
                                  for g in groups))
print(f"\n{'corrected shares [bootstrap 95%]':40s}" + "".join(f"{g:>18s}" for g in groups) + f"{'TV to balance':>22s}")
print(f"{'training mix (skewed)':40s}" + "".join(f"{SKEW[g]:>18.2f}" for g in groups)
      + f"{total_variation([SKEW[g] for g in groups], target):>22.2f}")
for name, r in bias_rows.items():
    print(f"{name:40s}" + "".join(f"{r['corrected'][i]:>7.2f} [{r['interval'][0, i]:.2f}, {r['interval'][1, i]:.2f}]"
                                  for i in range(len(groups)))
          + f"{r['tv']:>11.2f} [{r['tv interval'][0]:.2f}, {r['tv interval'][1]:.2f}]")
quarter = N_AUDIT // 4
requested = {name: [float(np.mean(auditor.predict(samples[name][1][i * quarter:(i + 1) * quarter]) == g))
                    for i, g in enumerate(groups)]
             for name in ("skewed data + group tag, T = 1", "skewed data, a model per group, T = 1")}
print("\nshare of each requested group's names that the auditor labels as that group:")
for name, hits in requested.items():
    print(f"  {name:38s}" + "".join(f"{h:7.2f}" for h in hits))
print(f"  {'real names (the auditor’s own accuracy)':38s}" + "".join(f"{confusion[i, i]:7.2f}" for i in range(len(groups))))

# Amplification without the correction: the skewed model's raw majority share against that of names
# known to be 70% majority, audited by the same auditor at the same temperature
amplification = {}
for t, name in ((1.0, "skewed data, T = 1"), (0.7, "skewed data, T = 0.7")):
    a, b = bias_rows[name]["observed"]["en_US male"].share, group_shares(known[t], groups)["en_US male"].share
    half = 1.96 * math.sqrt(a * (1 - a) / N_LARGE + b * (1 - b) / N_LARGE)
    amplification[t] = (a - b, a - b - half, a - b + half)
    print(f"T = {t}: raw majority share, skewed model minus a true 70% mix: {a - b:+.3f} [{a - b - half:+.3f}, {a - b + half:+.3f}]")

fig, ax = plt.subplots(figsize=(9, 3.2))
bars = {"training mix": np.array([SKEW[g] for g in groups]), **{n: r["corrected"] for n, r in bias_rows.items()}}
width = 0.8 / len(bars)
for k, (name, shares) in enumerate(bars.items()):
    spread = None if name == "training mix" else np.abs(bias_rows[name]["interval"] - shares)
    ax.bar(np.arange(len(groups)) + k * width, shares, width, yerr=spread, capsize=2, label=name)
ax.axhline(0.25, color="black", lw=0.8, ls="--", label="balanced")
ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups)
ax.set_ylabel("share of names (corrected, 95%)")
ax.legend(fontsize=7, ncol=2)
ax.set_title("who the name generators represent")
plt.show()

# %% [markdown]
# What the audit shows:
#
# - **The auditor's errors matter, and the correction helps.** The auditor labels 73% of held-out
#   real names correctly, and its errors pull shares towards the middle: names that are truly 70%
#   US-English male are audited as 45% (real names) or 49% (generated ones) of them. Corrected with
#   the confusion matrix measured on real names, the audit gives 0.60 for the real names, whose
#   bootstrap interval (printed above) contains 0.70, and 0.69 for generated names drawn from the
#   per-group models at either temperature. The correction assumes that the auditor errs on
#   generated names as it does on real ones; the generated check supports that at both temperatures.
# - **The corrected shares are uncertain.** The bootstrap intervals, which resample both the audited
#   names and the 285 names that estimated the confusion matrix, are about ±0.15 wide for the
#   majority. Most of the uncertainty comes from the small labelled set, not from the 1,000 or
#   2,000 names audited. A bigger labelled set is the cheapest way to a sharper audit.
# - **The generator reproduces the skew, and sharper sampling amplifies it.** A comparison that needs
#   no correction is sharper: audit the skewed model and names known to be 70% majority with the same
#   auditor at the same temperature. At T = 1 the skewed model's raw majority share is within the
#   noise of the true 70% mix (−0.03, interval −0.06 to +0.00). At T = 0.7 it is above it by 0.06
#   (interval +0.03 to +0.10): sharper sampling makes the commonest patterns win more often, and the
#   majority's share grows beyond the data's. (The majority's list also has the fewest distinct
#   names, 135, so each is repeated about 21 times in training; we did not separate that from the
#   group's size.)
# - **Re-balancing the data** brings every group near 25% (total variation 0.07 from balance,
#   against 0.37 for the skewed model at T = 1).
# - **Conditioning** works only if the model can carry the condition. A tag at the start of the name
#   is forgotten by a 4-gram model after three characters, so its names match the requested group
#   far less often than real names do (0.30 to 0.53 against 0.61 to 0.84). One model per group
#   matches the auditor's accuracy on real names closely, and reaches balance within 0.05.
#
# The auditor infers a group from a name, which the model card below lists as out of scope for the
# names GPT. The difference is the use: an audit estimates shares over a thousand generated names and
# corrects them for the auditor's measured errors; deciding anything about one real person from
# their name would act on an error rate of 27%.
#
# Where bias comes from in real systems: the **data** (who is on the web, who is photographed, who
# writes code), the **labels** (what annotators call a "professional" or a "toxic" sentence), the
# **objective** (maximum likelihood rewards the majority's patterns; low-temperature or high-guidance
# sampling amplifies them, as at T = 0.7 above), and **deployment** (who uses the system and for
# what). Audits of real systems measure representation (as here), stereotyped associations (which
# attributes co-occur with which groups in samples; "The Woman Worked as a Babysitter: On Biases in
# Language Generation", Sheng et al., 2019) and quality per group (does the model work as well for
# everyone). Their limits are the ones measured here: the auditor has its own errors and biases, the
# group labels are coarse and partly arbitrary, and a balanced share says nothing about how each
# group is portrayed.

# %% [markdown]
# ## 2 · Misinformation and deepfakes: can generated images be detected?
#
# Generated images, voices and text make convincing forgeries cheap: fake photos of events, cloned
# voices in phone scams, fake profiles. One defence is a **detector**, a classifier of real against
# generated. Its weakness is well known: a detector learns the artefacts of the generators it was
# trained on, and new generators have other artefacts ("CNN-generated images are surprisingly easy
# to spot... for now", Wang et al., 2020, found transfer between GAN families with heavy augmentation,
# and "Towards Universal Fake Image Detectors that Generalize Across Generative Models", Ojha et
# al., 2023, found such detectors failing on diffusion models' images). We measure it on our digits. A small CNN
# (the judge's architecture at half width) learns to tell 360 real training digits from 360 digits of
# one generator. It is then tested, by ROC AUC, on the 360 real test digits against 360 fresh samples
# of each generator. The diagonal is detection of the generator it was trained on; off the diagonal
# is transfer.

# %%
digits = load_digits()
labels = torch.arange(10).repeat(36)
class_mixture = ClassConditional(lambda: BinomialMixture(10)).fit(digits.x_train, digits.y_train, seed=SEED)
pixel = pixel_diffusion()
generators = conditional_generators(rebuild(digits_cgan()), rebuild(digits_cvae()), pixel, class_mixture)
with torch.no_grad():
    train_fakes = {name: draw(labels, SEED) for name, draw in generators.items()}
    test_fakes = {name: draw(labels, SEED + 1) for name, draw in generators.items()}
real_train = real_for_labels(digits, labels, SEED)
truth = np.r_[np.ones(len(digits.x_test)), np.zeros(len(labels))]


def auc(detector, fakes):
    return float(roc_auc_score(truth, np.r_[detector(digits.x_test), detector(fakes)]))


detectors = {name: train_detector(real_train, train_fakes[name], steps=DETECTOR_STEPS, seed=SEED) for name in generators}
transfer = {trained: {tested: auc(detectors[trained], test_fakes[tested]) for tested in generators} for trained in generators}
# The obvious mitigation: one detector trained on all four generators (90 digits of each)
pooled_fakes = torch.cat([train_fakes[name][k::4] for k, name in enumerate(generators)])
pooled = train_detector(real_train, pooled_fakes, steps=DETECTOR_STEPS, seed=SEED)
transfer["all four (pooled)"] = {tested: auc(pooled, test_fakes[tested]) for tested in generators}
short = {name: name.split(" (")[0].replace(" of binomials", "") for name in generators}
short["all four (pooled)"] = "all four, pooled"
print(f"{'trained on ↓  tested on →':28s}" + "".join(f"{short[n]:>12s}" for n in generators))
for trained, row in transfer.items():
    print(f"{short[trained]:28s}" + "".join(f"{row[n]:>12.2f}" for n in generators))

# %% [markdown]
# Even a change of sampling setting can be a new generator to a detector. The diffusion detector
# was trained on guidance s = 1.5; the same model sampled with other guidance scales gives other
# artefacts:

# %%
guidance_auc, guidance_gap, rng = {}, {}, np.random.default_rng(SEED)
diffusion_detector = detectors["diffusion (ch. 08, DDIM 50)"]
real_scores = diffusion_detector(digits.x_test)
with torch.no_grad():
    fake_scores = {s: diffusion_detector(pixel.generate(labels, guidance=s, method="ddim", steps=50, seed=SEED + 1))
                   for s in (0.5, 1.5, 3.0, 5.0)}
real_rows = rng.integers(len(real_scores), size=(BOOTSTRAP, len(real_scores)))   # one resample of the real images,
boot = {}                                                                         # shared by every s (paired)
for s, scores in fake_scores.items():
    real_boot, fake_boot = real_scores[real_rows], scores[rng.integers(len(scores), size=(BOOTSTRAP, len(scores)))]
    ranks = rankdata(np.concatenate([real_boot, fake_boot], axis=1), axis=1)[:, :len(real_scores)]
    n_real, n_fake = real_boot.shape[1], fake_boot.shape[1]
    boot[s] = (ranks.sum(axis=1) - n_real * (n_real + 1) / 2) / (n_real * n_fake)   # the AUC, as Mann–Whitney's U
    guidance_auc[s] = (float(roc_auc_score(truth, np.r_[real_scores, scores])), *np.percentile(boot[s], [2.5, 97.5]))
print("diffusion detector (trained at s = 1.5), AUC [bootstrap 95%] against samples at guidance s, and the drop from s = 1.5:")
for s, (a, low, high) in guidance_auc.items():
    guidance_gap[s] = np.percentile(boot[1.5] - boot[s], [2.5, 97.5])
    print(f"  s = {s}: {a:.3f} [{low:.3f}, {high:.3f}]" + ("" if s == 1.5 else
          f"   drop {guidance_auc[1.5][0] - a:+.3f} [{guidance_gap[s][0]:+.3f}, {guidance_gap[s][1]:+.3f}]"))

# %% [markdown]
# Detection works on the generator it was trained on (AUC 0.81 to 0.93 here) and transfers unevenly.
# The detector trained on the GAN learns nothing that flags the other three (AUC about 0.5), and no
# other detector flags the GAN. The VAE, diffusion and mixture detectors partly flag each other.
# Training on all four generators at once (the same number of fakes, a quarter from each, and the
# same training steps) is the obvious mitigation, and here it only half works. It flags the VAE,
# diffusion and mixture digits almost as well as their own detectors (0.77 to 0.86 against 0.83 to
# 0.93), but the GAN's barely (0.56 against 0.81). We did not test whether the smaller number of GAN
# fakes (a quarter) or the competition with the other generators' artefacts is to blame, nor whether
# more data or a bigger detector closes the gap. And no pooled detector says anything about a
# generator it has not seen.
#
# Changing only the guidance scale degrades the diffusion detector a little, from 0.83 at the
# s = 1.5 it was trained on to 0.78 at s = 3 and 5. The two AUCs' own intervals overlap, but the
# paired bootstrap of the drop (the same resampled real digits for every s) puts it at +0.06, with
# intervals from +0.01 to +0.10. At s = 0.5 the AUC rises to 0.94 instead. (This is one detector's
# training run; another seed would move the numbers too.) A detector is a moving target: each new
# model, or each new setting of an old one, can need new training data.
#
# **Provenance** is the complement: instead of guessing afterwards whether content is generated,
# record where it came from when it is made. The C2PA standard (Coalition for Content Provenance and
# Authenticity) attaches cryptographically signed "content credentials" to a file: which camera or
# which generator made it, and which edits followed. It proves a positive (this photo came from this
# camera) but cannot prove a negative, because credentials can be stripped, and unsigned content is
# the norm. Detection, provenance, watermarks (next section) and platform policy are used together;
# none is enough alone.
#
# ## 3 · Watermarking generated text
#
# A watermark is a signal hidden in generated content on purpose, so that the generator's owner (or
# anyone with the key) can later recognise it. For text, "A Watermark for Large Language Models"
# (Kirchenbauer et al., 2023) proposes the scheme built in `gencourse.ethics.watermark`. Before each
# token is sampled, the previous token and a secret key seed a random split of the vocabulary: a
# share γ of the tokens is **green**. δ is added to the green tokens' logits, so green tokens become
# more likely wherever the model had several plausible choices. Detection needs only the key and the
# text. Count the green tokens G among T scored tokens (each repeated pair of tokens counted once);
# without a watermark G ~ Binomial(T, γ), so
#
# $$z = \frac{G - \gamma T}{\sqrt{T\,\gamma(1-\gamma)}}$$
#
# is about standard normal, and z > 4 is a false alarm about 3 times in 100,000.
#
# We watermark three GPTs from the zoo: chapter 06's character-level GPTs of first names and of
# Python code, and the same code GPT's shape trained on chapter 06's byte-level BPE (512 tokens,
# about 2.2 characters each on held-out code; it models that code as well as the character GPT does,
# 1.35 against 1.37 nats per character: both printed below). Each samples texts over a small grid of γ and δ (γ = 0.25 and
# δ = 2 are the authors' defaults; the code GPTs are slower to sample, so their grids are smaller).
# We measure:
#
# - the **true-positive rate** at z > 4 on the first 50, 100 and 200 characters of each watermarked
#   text (as many tokens as make up that many characters, so the tokenisers compare at equal text);
# - the **false-positive rate** on the models' unwatermarked samples and on human-written held-out
#   text (names and code the models never saw);
# - the **cost**, as the perplexity per character of the samples under the unwatermarked model;
# - **robustness**, by replacing 10% or 30% of the tokens at random (a crude paraphrase);
# - the **entropy** of the model's next-token distribution on its own samples: the watermark can
#   only tilt choices the model was unsure about.

# %%
KEY = 2023                                     # the secret key that seeds the green lists
CHARACTERS = (50, 100, 200)                    # text lengths at which we test, in characters
RECIPES = {"names": NAMES_GPT, "code": CODE_GPT, "code (BPE)": CODE_BPE_GPT}
GRIDS = {"names": ((0.25, 1.0), (0.25, 2.0), (0.25, 4.0), (0.5, 2.0)),     # (γ, δ); γ = 0.25, δ = 2: the authors'
         "code": ((0.25, 2.0), (0.25, 4.0)),                               # defaults. The code GPTs are slower
         "code (BPE)": ((0.25, 1.0), (0.25, 2.0))}                         # to sample: smaller grids, fewer texts
N_TEXTS = {"names": 20, "code": 20, "code (BPE)": 20}
N_PLAIN = {"names": 20, "code": 40, "code (BPE)": 20}     # unwatermarked texts (the code's are reused in section 4)
TOKENS = {"names": 200, "code": 200, "code (BPE)": 110}   # tokens sampled: 110 BPE tokens are over 200 characters
lms = {which: zoo_gpt(recipe) for which, recipe in RECIPES.items()}
char_record, bpe_record = gpt_record(CODE_GPT), gpt_record(CODE_BPE_GPT)
print(f"held-out code: character GPT {char_record['test_loss']:.3f} nats per character; BPE GPT "
      f"{bpe_record['test_loss_per_char']:.3f} nats per character, at "
      f"{bpe_record['test_loss'] / bpe_record['test_loss_per_char']:.2f} characters per token")
watermark_rows, human_fpr, watermark_texts, entropy, human_windows = {}, {}, {}, {}, {}
for which, (model, tokenizer) in lms.items():
    vocab, grid = tokenizer.vocab_size, GRIDS[which]
    tables = [green_table(vocab, gamma, KEY) for gamma, _ in grid]
    counts = torch.tensor([N_PLAIN[which]] + [N_TEXTS[which]] * len(grid))
    settings = torch.arange(len(grid) + 1).repeat_interleave(counts)        # setting 0: unwatermarked
    processor = SettingsPerRow([tables[0]] + tables, [0.0] + [delta for _, delta in grid], settings)
    prompt = torch.full((len(settings), 1), tokenizer.encode("\n")[0], dtype=torch.long)
    texts = model.generate(prompt, TOKENS[which], generator=torch.Generator().manual_seed(SEED),
                           logits_processor=processor)
    chars = torch.tensor([len(tokenizer.decode(row[1:-1].tolist())) for row in texts])   # the tokens nll() scores
    repeats = torch.tensor([1 - len(set(zip(r[:-1].tolist(), r[1:].tolist()))) / (len(r) - 1) for r in texts])
    per_char = processor.nll() * (texts.shape[1] - 2) / chars                # (rows,) nats per character
    kl_per_char = processor.kl() * (texts.shape[1] - 1) / chars               # the distortion, per character
    plain = texts[settings == 0]
    watermark_texts[which] = plain
    entropy[which] = {"token": float(processor.entropy()[settings == 0].mean()),
                      "character": float((processor.entropy() * (texts.shape[1] - 1) / chars)[settings == 0].mean()),
                      "characters per token": float(chars[settings == 0].sum() / ((texts.shape[1] - 2) * N_PLAIN[which]))}
    for k, ((gamma, delta), table) in enumerate(zip(grid, tables), start=1):
        marked = texts[settings == k]

        def flagged(rows, characters=CHARACTERS[-1], table=table):
            """Share of rows whose first ``characters`` characters (as tokens) are flagged at z > 4."""
            return float(np.mean([detect(r[:1 + tokens_for_characters(r[1:], tokenizer.decode, characters)], table).flagged()
                                  for r in rows]))
        watermark_rows[which, gamma, delta] = {
            "tpr": {c: flagged(marked, c) for c in CHARACTERS}, "fpr model": flagged(plain), "n plain": len(plain),
            "ppl": math.exp(float(per_char[settings == k].mean())), "ppl plain": math.exp(float(per_char[settings == 0].mean())),
            "kl": float(kl_per_char[settings == k].mean()),
            "repeats": float(repeats[settings == k].mean()), "repeats plain": float(repeats[settings == 0].mean()),
            "characters per token": float(chars[settings == k].sum() / ((texts.shape[1] - 2) * N_TEXTS[which])),
            "robust": {share: flagged(substitute(marked, share, vocab, seed=SEED)) for share in (0.1, 0.3)}}
    recipe = RECIPES[which]
    human = gpt_data(recipe.data, recipe.tokenizer, recipe.bpe_vocab)
    span = round(CHARACTERS[-1] * len(human.test) / len(corpus_texts(recipe.data)[2]))      # tokens per 200 characters
    windows = [human.test[i:i + span + 1] for i in range(0, len(human.test) - span - 1, span)][:300]  # disjoint
    human_windows[which] = windows
    for gamma in sorted({gamma for gamma, _ in grid}):
        zs = np.array([detect(w, tables[[g for g, _ in grid].index(gamma)]).z for w in windows])
        human_fpr[which, gamma] = {"fpr": float((zs > 4).mean()), "mean z": float(zs.mean()), "sd z": float(zs.std()),
                                   "windows": len(windows), "upper": wilson_interval(int((zs > 4).sum()), len(windows))[1]}

print(f"{'model':11s}{'γ':>5s}{'δ':>5s}{'TPR at 50 / 100 / 200 characters':>36s}{'false alarms':>13s}"
      f"{'perplexity per character':>27s}{'KL per character':>18s}{'TPR, 10% / 30% replaced':>26s}")
for (which, gamma, delta), r in watermark_rows.items():
    print(f"{which:11s}{gamma:>5.2f}{delta:>5.1f}{'':>12s}" + " / ".join(f"{r['tpr'][c]:.2f}" for c in CHARACTERS)
          + f"{round(r['fpr model'] * r['n plain']):>8d}/{r['n plain']:<2d}{r['ppl']:>15.2f} (plain {r['ppl plain']:.2f}){r['kl']:>13.3f}"
          + f"{r['robust'][0.1]:>16.2f} / {r['robust'][0.3]:.2f}")
for (which, gamma), r in human_fpr.items():
    print(f"human-written {which} (held-out test text), γ = {gamma}: {r['windows']} disjoint windows of {CHARACTERS[-1]} "
          f"characters, false positives {r['fpr']:.3f} (95% upper bound {r['upper']:.3f}), z mean {r['mean z']:.2f}, "
          f"standard deviation {r['sd z']:.2f}")
print("characters per token and share of repeated token pairs (unwatermarked → watermarked):")
for (which, gamma, delta), r in watermark_rows.items():
    print(f"  {which:11s} γ = {gamma}, δ = {delta}: {entropy[which]['characters per token']:.2f} → "
          f"{r['characters per token']:.2f} characters per token, repeated pairs {r['repeats plain']:.2f} → {r['repeats']:.2f}")
for which, h in entropy.items():
    print(f"{which:11s} GPT on its own samples: {h['characters per token']:.2f} characters per token, entropy of the "
          f"next-token distribution {h['token']:.2f} nats per token, {h['character']:.2f} per character")

# %% [markdown]
# The z-test assumes that, without a watermark, each scored token is green with probability γ
# independently of the others. Human-written code does not quite oblige: its mean z above is not 0.
# One cause to test is the key. Code repeats the same few character pairs (indentation, `self.`,
# `):`) in every window, and whether the key happened to colour those pairs green or red then
# shifts every window's z together. We score up to 100 human windows of each corpus (the names have
# only 61) under 8 keys:

# %%
key_means = {which: [float(np.mean([detect(w, table).z for w in human_windows[which][:100]]))
                     for table in (green_table(lms[which][1].vocab_size, 0.25, key) for key in range(8))]
             for which in lms}
for which, means in key_means.items():
    print(f"{which:11s} mean z of human text under 8 keys: " + " ".join(f"{m:+.2f}" for m in means)
          + f"   (spread across keys: standard deviation {np.std(means):.2f})")

# %% [markdown]
# What the grid shows:
#
# - **At the authors' defaults (γ = 0.25, δ = 2) the names GPT's watermark is detected** in 70% of
#   its 20 texts by 50 characters and in all of them by 100. No unwatermarked sample and no disjoint window
#   of human-written text passed z > 4, for any model. So few texts can only bound the false-alarm
#   rate at a few per cent (the 95% upper bounds above); the z-test's own promise, about 3 in
#   100,000, is theory that these samples cannot confirm. δ = 1 is too weak to detect in 200
#   characters; δ = 4 is detected in 50 but costs far more.
# - **The cost grows with δ.** Two measures: the perplexity per character of the samples under the
#   unwatermarked model (names: 6.76 without a watermark, 8.04 at δ = 2, 11.7 at δ = 4), and the KL
#   divergence from the model's distribution to the watermarked one it actually sampled from, per
#   character. The KL is the cleaner measure: it is the distortion itself, whatever text results.
#   The perplexity can mislead: the BPE GPT's watermarked text at δ = 2 has a *lower* perplexity per
#   character than its plain text (2.88 against 3.49). Those samples are different text: longer
#   tokens (3.49 characters per token instead of 2.0) and more repeated token pairs (16% instead of
#   6%), such as runs of `=`, which cost the model little per character. A model's own perplexity
#   rewards that kind of text; the paper scores its samples with a larger, separate model, and a
#   human judge would be better still.
# - **Entropy limits the power.** The watermark can only tilt a choice the model was unsure about.
#   The code GPT's next character carries 1.14 nats of entropy on average against 1.90 for names, and
#   at δ = 2 its watermark is found in 80% of 200-character texts (16 of 20) against 100% for names.
#   That is consistent with entropy setting the power, but not proof of it: with 20 texts the two
#   rates' intervals overlap, and code also repeats more token pairs (41% against 33%), which leaves
#   fewer tokens to score. The BPE
#   GPT's tokens carry 2.44 nats each but only 1.26 per character, about as much as the character
#   model, and per character of text its watermark is not stronger: 75% at 200 characters. The
#   comparison is not quite like for like, because the watermark changed the BPE model's
#   tokenisation: its watermarked texts run 3.5 characters per token, so 200 characters are only
#   about 57 tokens there. Large models with vocabularies of 50,000 tokens and more carry more entropy
#   per token, though their texts have fewer tokens per character.
# - **Edits erode it.** Replacing 10% of the characters at random keeps 90% of the names' detections
#   at δ = 2, replacing 30% keeps 20%. At δ = 4, 95% survive even 30%. Rewording by another model is a stronger
#   attack than random replacement: "Paraphrasing evades detectors of AI-generated text, but
#   retrieval is an effective defense" (Krishna et al., 2023) found that model paraphrases cut this
#   watermark's detection rate sharply, and "On the Reliability of Watermarks for Large Language
#   Models" (Kirchenbauer et al., 2024) found it detectable again once enough paraphrased text is
#   observed.
# - **The null is close to, not exactly, standard normal.** On human-written text z has mean −0.09
#   (names), −0.80 (code) and −0.12 (BPE code) and a standard deviation below 1; across 8 keys the
#   mean moves with a standard deviation of 0.2 to 0.5. Text repeats the same token pairs from window to window, so the key's
#   luck with the commonest pairs shifts every window's z together. The threshold z > 4 leaves room
#   for this (no human window reached it), but the nominal 3-in-100,000 false-alarm rate is not
#   exact on real text.
#
# A watermark only marks text from generators that choose to embed one, and anyone who holds the
# key can also forge it. It is a tool for a provider to recognise its own output, not a general
# test of whether text is generated.
#
# ## 4 · Intellectual property and memorisation
#
# Generative models are trained on text, code and images that others wrote, often under copyright
# or licences. Whether training on them is lawful is being decided in courts and differs between
# countries; what a model can be measured for is whether it **reproduces** its training data. Two
# measurements: how often samples contain long verbatim runs of training text, and whether an
# attacker can tell from the model which examples it was trained on (**membership inference**),
# which is a privacy risk when the training data is personal.
#
# **Copying.** We take the 40 unwatermarked samples of the character code GPT from section 3 (200
# characters each) and count those that contain a run of at least 20, 30 or 50 characters found
# verbatim in the training code (studies of large models often count 50 *tokens*, about 200
# characters; our samples are only 200 characters long). The same count on 200-character
# windows of held-out human-written code (files the model never saw) is the baseline, since
# boilerplate and idioms are shared by everyone who writes Python.

# %%
COPY_LENGTHS = (20, 30, 50)
code_model, code_tokenizer = lms["code"]
train_code = gpt_data("code")
train_text = code_tokenizer.decode(train_code.train.tolist())
generated_code = [code_tokenizer.decode(row[1:].tolist()) for row in watermark_texts["code"]]
held_text = code_tokenizer.decode(train_code.test.tolist())
held_windows = [held_text[i:i + CHARACTERS[-1]] for i in range(0, len(held_text) - CHARACTERS[-1], 997)][:200]
copy_rows, copied_examples = {}, []
for length in COPY_LENGTHS:
    training_runs = substrings(train_text, length)
    for name, texts in ((f"generated code ({len(generated_code)} samples)", generated_code),
                        (f"held-out human code ({len(held_windows)} windows)", held_windows)):
        hits = [copied_runs(t, training_runs, length) for t in texts]
        copy_rows[name, length] = wilson_interval(sum(map(bool, hits)), len(texts)), sum(map(bool, hits)) / len(texts)
        if length == 30 and name.startswith("generated"):
            copied_examples = [h[0] for h in hits if h]
print(f"{'share of texts with a run of at least … characters found in the training code':78s}"
      + "".join(f"{length:>18d}" for length in COPY_LENGTHS))
for name in dict.fromkeys(n for n, _ in copy_rows):
    print(f"{name:78s}" + "".join(f"{100 * copy_rows[name, L][1]:>6.1f}% [{100 * copy_rows[name, L][0][0]:.0f}, "
                                  f"{100 * copy_rows[name, L][0][1]:.0f}]" for L in COPY_LENGTHS))
print("what the generated samples copy (the first 30-character run of each sample that has one):")
for run in copied_examples[:8]:
    print("   ", repr(run))

# %% [markdown]
# The same question for images. Each digits generator of section 2 (trained on all 1,437 training
# digits) drew 360 digits there. We count exact copies of a training digit (all 64 pixels equal once
# rounded to the data's 17 grey levels), with the 360 real test digits as the baseline, and chapter
# 09's data-copying score: about 0.5 when samples lie as far from the training digits as new real
# digits do, up to 1 for copies.

# %%
def grey_levels(images):
    return tuple(map(tuple, torch.round(images.clamp(0, 1) * 16).flatten(1).to(torch.int8).tolist()))


training_digits = set(grey_levels(digits.x_train))
digit_copies = {"real test digits": {"exact": float(np.mean([d in training_digits for d in grey_levels(digits.x_test)]))}}
for name, images in test_fakes.items():
    digit_copies[short[name]] = {"exact": float(np.mean([d in training_digits for d in grey_levels(images)])),
                                 "score": copying_score(images, digits.x_train, digits.x_test)}
for name, r in digit_copies.items():
    print(f"{name:18s} exact copies of a training digit {100 * r['exact']:5.1f}%"
          + (f"   data-copying score {r['score']:.2f}" if "score" in r else ""))

# %% [markdown]
# **Membership inference.** The loss-threshold attack ("Privacy Risk in Machine Learning: Analyzing
# the Connection to Overfitting", Yeom et al., 2018) guesses that an example was in the training set
# when the model's loss on it is low. We score it the way "Membership Inference Attacks From First
# Principles" (Carlini et al., 2022) recommends: the ROC AUC, and the true-positive rate at a low
# false-positive rate (1% and 0.1%), because an attack that is sure about a few people is a privacy
# failure even when its average accuracy is near chance. First, chapter 06's names GPT: 3,000 of its
# training names against the 3,338 validation and test names it never saw. Then a check that the
# attack sees nothing where there is nothing: two halves of the held-out names.

# %%
names_model, names_tokenizer = lms["names"]
name_split = names_corpus()
rng = np.random.default_rng(SEED)
members = list(rng.choice(name_split.train, 3000, replace=False))
outsiders = name_split.val + name_split.test
member_loss, outsider_loss = name_losses(names_model, names_tokenizer, members), name_losses(names_model, names_tokenizer, outsiders)
names_attack = loss_threshold_attack(member_loss, outsider_loss)
null_attack = loss_threshold_attack(outsider_loss[::2], outsider_loss[1::2])
print(f"names GPT: AUC {names_attack.auc:.3f}, TPR at 1% FPR {names_attack.tpr[0.01]:.3f}, at 0.1% FPR "
      f"{names_attack.tpr[0.001]:.3f} (members' mean loss {float(member_loss.mean()):.3f}, outsiders' "
      f"{float(outsider_loss.mean()):.3f} nats per character)")
print(f"null check, held-out against held-out: AUC {null_attack.auc:.3f}, TPR at 1% FPR {null_attack.tpr[0.01]:.3f}")

# %% [markdown]
# **Longer training, more leakage.** A VAE trained on a small set (300 digits) overfits as it trains
# on. We train one and, at several points, attack it with its per-digit loss (the negative ELBO) on
# its 300 training digits against the 360 test digits. The same run gives the mitigation of **early
# stopping**: stop where the loss on a separate validation set (360 other training digits, not the
# attack's test digits) is lowest, and read off both the leak and what it costs.

# %%
small_x, small_y = few_real(digits, 30, SEED)                     # 300 training digits
chosen = {tuple(row) for row in small_x.flatten(1).tolist()}
validation = digits.x_train[[tuple(row) not in chosen for row in digits.x_train.flatten(1).tolist()]][:360]
snapshots = (100, 300, 1000, 3000)
torch.manual_seed(SEED)
small_vae = VAE(VAEConfig(latent_dim=16))
leak = {}


@torch.no_grad()
def per_digit_loss(x):
    g = torch.Generator().manual_seed(SEED)
    return -torch.stack([elbo(small_vae, x, generator=g).elbo for _ in range(4)]).mean(dim=0)


def measure(step):
    small_vae.eval()
    inside, outside = per_digit_loss(small_x), per_digit_loss(digits.x_test)
    leak[step] = {"attack": loss_threshold_attack(inside, outside), "train loss": float(inside.mean()),
                  "validation loss": float(per_digit_loss(validation).mean()), "test loss": float(outside.mean())}
    small_vae.train()


train_vae(small_vae, small_x, steps=max(snapshots), batch_size=64, snapshots=snapshots, on_snapshot=measure, progress=False,
          plot=False)
print(f"{'steps':>6s}{'train loss':>12s}{'validation loss':>17s}{'test loss':>11s}{'AUC':>8s}{'TPR@1%':>9s}{'advantage':>11s}")
for step, r in leak.items():
    print(f"{step:>6d}{r['train loss']:>12.1f}{r['validation loss']:>17.1f}{r['test loss']:>11.1f}{r['attack'].auc:>8.3f}"
          f"{r['attack'].tpr[0.01]:>9.3f}{r['attack'].advantage:>11.3f}")
early = min(snapshots, key=lambda step: leak[step]["validation loss"])
print(f"early stopping (lowest validation loss) picks {early} steps")
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(snapshots, [leak[t]["train loss"] for t in snapshots], "o-", label="training digits")
left.plot(snapshots, [leak[t]["test loss"] for t in snapshots], "o-", label="test digits")
left.set(xscale="log", xlabel="training steps", ylabel="loss (negative ELBO, nats)", title="the VAE overfits")
left.legend()
right.plot(snapshots, [leak[t]["attack"].auc for t in snapshots], "o-", label="ROC AUC")
right.plot(snapshots, [leak[t]["attack"].tpr[0.01] for t in snapshots], "o-", label="TPR at 1% FPR")
right.set(xscale="log", xlabel="training steps", ylim=(0, 1), title="and leaks membership")
right.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Deduplication.** Examples that appear many times in the training data are memorised far more
# ("Deduplicating Training Data Mitigates Privacy Risks in Language Models", Kandpal et al., 2022).
# We train the character n-gram name model twice on the names GPT's 13,352 training names: once
# with 300 of them repeated 20 times each (as scraped data often repeats popular pages), once
# deduplicated. The attack then targets the repeated names, and, as a control, 300 names seen once.

# %%
unique_train = list(name_split.train)
rng = np.random.default_rng(SEED + 1)
known_characters = set("".join(unique_train))
outsiders = list(rng.choice([n for n in outsiders if set(n) <= known_characters], 1000, replace=False))  # scored alike
repeated = list(rng.choice(unique_train, 300, replace=False))
once = list(rng.choice([n for n in unique_train if n not in set(repeated)], 300, replace=False))
dedup_rows = {}
for name, training in (("with 300 names repeated ×20", unique_train + repeated * 19), ("deduplicated", unique_train)):
    lm = NameGenerator().fit(training)
    outside = lm.losses(outsiders)
    dedup_rows[name] = {"repeated": loss_threshold_attack(lm.losses(repeated), outside),
                        "seen once": loss_threshold_attack(lm.losses(once), outside)}
print(f"{'training data':30s}{'attack on the repeated names':>34s}{'on names seen once':>24s}")
for name, r in dedup_rows.items():
    print(f"{name:30s}" + "".join(f"{'AUC':>8s} {r[k].auc:.3f}, TPR@1% {r[k].tpr[0.01]:.2f}" for k in ("repeated", "seen once")))

# %% [markdown]
# What the memorisation measurements show:
#
# - **Copying at the scale of the course is boilerplate.** None of the 40 code samples contains a
#   50-character run of training code, against 6.9% of held-out human windows; at 30 characters,
#   28% against 39%. The sampled code copies no more than human code shares with the training files,
#   and what it copies is indentation, `return False`, `else:`, `except BaseException:`: the idioms
#   every Python file shares. No digits generator made an exact copy of a training digit, and their
#   data-copying scores are those of chapter 09 (0.46 to 0.50; the mixture 0.70, closer to its
#   training digits than new real digits are). Small models trained on small data cannot hold much
#   of it verbatim. Large language models can: "Extracting Training Data from Large Language
#   Models" (Carlini et al., 2021) recovered hundreds of verbatim training sequences from GPT-2,
#   including personal contact details and code with its licence, and found that larger models
#   and more often repeated text are memorised more.
# - **Membership leaks, a little, from a model trained normally.** The names GPT's loss-threshold
#   attack reaches AUC 0.61, against 0.51 for the null check, but at 1% false positives it finds only
#   2% of the training names and at 0.1% it finds 0.1%, which is chance. By Carlini et al.'s yardstick
#   this is a weak attack: it cannot pick out any particular training name with confidence.
# - **The leak grows with training.** The small VAE's AUC rises from 0.56 after 100 steps to 0.98
#   after 3,000, and its TPR at 1% FPR from 1% to 58%: by then the attacker can name more than half
#   of its training digits. **Early stopping** at the lowest validation loss picks 1,000 steps.
#   Against training on to 3,000 steps, that cuts the TPR at 1% FPR to a third (0.18 against 0.58) at
#   no cost: the held-out loss is better there too (121.5 against 125.0). It still leaves AUC 0.92,
#   though. Stopping earlier (300 steps: AUC 0.66, TPR 1%) costs a much worse model (held-out loss
#   143). Beyond the
#   best held-out loss, privacy has to be bought with quality. The principled mitigation is
#   differentially private training ("Deep Learning with Differential Privacy", Abadi et al., 2016),
#   which bounds what any one example can change, at a cost in quality that grows with the strength
#   of the guarantee.
# - **Duplicates are memorised, and deduplication removes that.** Names repeated 20 times are
#   exposed almost completely (AUC 0.98, 59% of them found at 1% FPR); trained once each instead,
#   the same names fall to AUC 0.66 and TPR 3%, like names seen once (0.65 and 0.66), which
#   deduplication leaves unchanged. (These use the character 4-gram model of section 1, which trains in a second.)
#
# ## 5 · Security misuse and jobs
#
# **Security.** The same abilities that make generative models useful make them useful to
# attackers: fluent phishing e-mails in any language and style, cloned voices for fraud calls,
# synthetic identities (a generated face and a plausible name, as in section 1) for fake accounts,
# and help with writing malicious code. Studies of these risks ("The Malicious Use of Artificial
# Intelligence: Forecasting, Prevention, and Mitigation", Brundage et al., 2018) expect three
# changes: existing attacks become cheaper and reach further, new attacks appear (impersonating a
# voice was one of their examples), and attacks become better targeted and harder to trace. Mitigations
# are layered: usage policies and refusal training in the models, rate limits and abuse monitoring
# at the provider, watermarks and detectors (sections 2 and 3, with the limits measured there), and
# the usual defences (two-factor authentication, call-back verification) that do not depend on
# spotting generated content. We run no experiment here: a toy phishing generator would measure
# nothing that transfers to real attacks.
#
# **Jobs.** Generative models automate parts of tasks (drafting text, writing routine code,
# producing stock images) rather than whole jobs. Field studies find large productivity gains
# concentrated among less experienced workers: customer-support agents resolved 14% more issues
# per hour with an AI assistant, 34% for novices ("Generative AI at Work", Brynjolfsson, Li and
# Raymond, 2023). Exposure estimates suggest that most occupations have some tasks a language model
# could speed up ("GPTs are GPTs: An Early Look at the Labor Market Impact Potential of Large Language
# Models", Eloundou et al., 2023). Exposure is not displacement: whether a job shrinks, changes or
# grows depends on demand for its output and on how the work is reorganised, and the evidence on that
# is still thin. No notebook experiment can measure it honestly, so we do not try.
#
# **What the experiments here leave out.** Several harms have no honest toy experiment. One is
# **consent and provenance of training data**: text, code, images and voices used without their
# authors' knowledge or permission. Another is **non-consensual imagery**: "The State of
# Deepfakes" (Ajder et al., Deeptrace, 2019) found that 96% of the deepfake videos online were
# sexual images of real people made without their consent. A third is the **labour** behind the data: the
# annotators who label and filter it, often poorly paid, and exposed to the worst of it. Surveys
# such as "Ethical and social risks of harm from Language Models" (Weidinger et al., 2021) map these
# together with the risks above. **Regulation** is arriving too. The EU's AI Act (2024) requires
# providers of generative systems to mark their outputs in a machine-readable way, and deployers to
# disclose deepfakes. That is a legal demand for the watermarks and provenance of sections 2 and 3,
# whose limits you have now measured.
#
# ## 6 · Environmental cost
#
# "Energy and Policy Considerations for Deep Learning in NLP" (Strubell et al., 2019) made the
# energy and carbon cost of training large models a standard question. The answer starts with
# counting. Training FLOPs of the course's models: the GPTs by the formula of `gencourse.ethics.compute`
# (6 FLOPs per weight per token plus attention, checked against PyTorch's counter in the unit tests),
# the others by counting one training step's forward and backward passes with PyTorch's
# `FlopCounterMode` and multiplying by the steps. Energy needs a power figure. This machine exposes no
# power counters, so we **assume 15 W** for the one CPU core each model trained on (a laptop core
# under load draws roughly 5 to 20 W; the figure is an assumption, not a measurement).

# %%
WATTS = 15.0
compute_rows = zoo_training_flops()
print(f"RAPL energy counters on this machine: {'none' if rapl_joules() is None else 'available'}")
print(f"{'model':28s}{'weights':>10s}{'training FLOPs':>16s}{'how':>9s}{'CPU s':>8s}{'Wh at 15 W':>12s}")
for name, r in compute_rows.items():
    seconds = f"{r.seconds:.0f}" if r.seconds is not None else "—"
    wh = f"{1000 * energy_kwh(r.seconds, WATTS):.2f}" if r.seconds is not None else "—"
    print(f"{name:28s}{r.parameters:>10,d}{r.flops:>16.2e}{r.how:>9s}{seconds:>8s}{wh:>12s}")
course_flops = sum(r.flops for r in compute_rows.values())
timed = [r for r in compute_rows.values() if r.seconds is not None]       # the judge's training time was not recorded
course_wh = sum(1000 * energy_kwh(r.seconds, WATTS) for r in timed)

# The formula against PyTorch's counter, on one training step of the names GPT (in training mode with
# dropout, attention runs as plain matrix products, which the counter sees; it cannot see inside the
# fused kernel used without dropout)
names_config = lms["names"][0].config
step_model = GPT(names_config).train()
batch = torch.randint(names_config.vocab_size, (NAMES_GPT.batch_size, names_config.block_size))
counted_step = count_flops(lambda: step_model(batch, batch)[1].backward())
formula_step = 3 * transformer_forward_flops(names_config) * batch.numel()
print(f"one training step of the names GPT: formula {formula_step:.4e}, counted by PyTorch {counted_step:.4e} FLOPs")
GPT3_FLOPS, GPT3_MWH, GPT3_TONNES = 3.14e23, 1287.0, 552.0       # Brown et al., 2020; Patterson et al., 2021
BLOOM_MWH, BLOOM_TONNES, BLOOM_ALL_TONNES = 433.2, 24.7, 50.5    # Luccioni et al., 2023: dynamic power; all processes
KETTLE_WH = 4.18 * 250 * 80 / 3600                               # heating a 250 ml cup of water by 80 °C
print(f"all of these together: {course_flops:.2e} FLOPs; the timed ones about {course_wh:.1f} Wh at the assumed "
      f"power (heating a cup of water for tea takes about {KETTLE_WH:.0f} Wh)")
print(f"GPT-3's training: {GPT3_FLOPS:.2e} FLOPs, {GPT3_FLOPS / course_flops:.1e} times as many; "
      f"{GPT3_MWH:,.0f} MWh, {GPT3_MWH * 1e6 / course_wh:.1e} times the energy")
print(f"FLOPs per joule: this course's CPU at the assumed power {sum(r.flops for r in timed) / (course_wh * 3600):.1e}, "
      f"GPT-3's GPUs in Patterson et al.'s estimate {GPT3_FLOPS / (GPT3_MWH * 3.6e9):.1e}")
print(f"{'published estimates (with their own assumptions)':58s}{'energy':>12s}{'CO₂e':>9s}{'g per kWh':>11s}")
print(f"{'GPT-3, 175B weights (Patterson et al., 2021)':58s}{GPT3_MWH:>8,.0f} MWh{GPT3_TONNES:>7.1f} t"
      f"{GPT3_TONNES * 1e6 / (GPT3_MWH * 1e3):>11.0f}")
print(f"{'BLOOM, 176B weights, GPUs only (Luccioni et al., 2023)':58s}{BLOOM_MWH:>8,.0f} MWh{BLOOM_TONNES:>7.1f} t"
      f"{BLOOM_TONNES * 1e6 / (BLOOM_MWH * 1e3):>11.0f}")
print(f"{'BLOOM, adding idle power and making the hardware':58s}{'':>12s}{BLOOM_ALL_TONNES:>7.1f} t")

# %% [markdown]
# What the compute table shows:
#
# - **The whole course trains on about 4 × 10¹³ FLOPs**, about 5 Wh at the assumed 15 W (the judge
#   left out: its training time was not recorded), less than heating one cup of water for tea. Most
#   of it is the three GPTs. The formula agrees with PyTorch's own count of one training step.
# - **Large-model training is billions of times more compute.** GPT-3 took about 8 × 10⁹ times the
#   FLOPs of all the course's models together, but only about 3 × 10⁸ times the energy. At the
#   assumed 15 W, this CPU does about 30 times fewer FLOPs per joule than GPT-3's accelerators in
#   Patterson et al.'s estimate; that ratio is only as good as the 15 W.
# - **Emissions depend on the electricity as much as on the compute.** BLOOM and GPT-3 are of about
#   the same size. BLOOM's estimate is a third of GPT-3's energy and a twentieth of its CO₂, mostly
#   because it trained on France's low-carbon grid (57 g per kWh against 429). The two estimates are
#   not drawn up alike: GPT-3's includes the data centre's overhead (cooling and power supply),
#   BLOOM's 433 MWh counts only the GPUs' own power.
# - **Training is not the whole footprint.** Adding idle power and the manufacture of the hardware
#   doubles BLOOM's estimate (50.5 t). Answering queries (inference) can cost more than training
#   over a model's life: at Google, about three fifths of machine-learning energy in 2019 to 2021 went
#   to inference ("The Carbon Footprint of Machine Learning Training Will Plateau, Then Shrink",
#   Patterson et al., 2022).
#
# The mitigations follow from the table: smaller models, and distillation into smaller models;
# reusing a pretrained model and fine-tuning it (chapter 07) instead of training from scratch;
# efficient hardware; low-carbon regions and hours; and reporting, as here, so the costs are known.
# The published estimates rest on assumptions (power per GPU, data-centre overhead, grid
# intensity) that the papers state; treat them as ranges, not measurements.
#
# ## 7 · Responsible release: a model card
#
# "Model Cards for Model Reporting" (Mitchell et al., 2019) proposed that every released model ship
# with a short document in fixed sections: what it is, what it is for and not for, what it was
# trained and evaluated on, how it measures, overall and per group, and its known risks. Here is one
# for the zoo's names GPT, filled in from its recipe and from figures this chapter and chapter 09
# measured. Every number on it was computed.

# %%
names_record = gpt_record(NAMES_GPT)
card = ModelCard(
    name="names GPT (gencourse zoo)",
    details={"architecture": f"decoder-only transformer, {NAMES_GPT.n_layer} layers, width {NAMES_GPT.n_embd}, "
                             f"{NAMES_GPT.n_head} heads, context {NAMES_GPT.block_size} characters",
             "weights": f"{compute_rows['names GPT (ch. 06)'].parameters:,}",
             "training": f"{NAMES_GPT.steps:,} steps of {NAMES_GPT.batch_size} windows, {names_record['train_seconds']:.0f} CPU s, "
                         f"{compute_rows['names GPT (ch. 06)'].flops:.1e} FLOPs"},
    intended_use=["teaching: sampling, evaluation and the risks of generative models in this course",
                  "inventing plausible first names for fiction, games and test data"],
    out_of_scope=["inferring anyone's gender or origin from their name", "generating identities to deceive people",
                  "any decision about real people"],
    training_data=f"{len(name_split.train):,} first names from the faker package's lists for 32 locales written in the "
                  "Latin alphabet, de-duplicated; no weights by how common a name is",
    evaluation_data=f"{len(name_split.test):,} held-out names, split by name (no name in two parts)",
    metrics={f"held-out perplexity per character ({len(name_split.test):,} test names)":
             f"{perplexity(names_record['test_loss']):.2f}",
             f"membership attack, ROC AUC ({len(members):,} training names against {len(outsider_loss):,} held-out)":
             f"{names_attack.auc:.3f} (two held-out halves: {null_attack.auc:.3f})",
             "membership attack, TPR at 1% FPR": f"{names_attack.tpr[0.01]:.3f}",
             "watermark (γ = 0.25, δ = 2): TPR at z > 4, 200 characters ({} texts)".format(N_TEXTS["names"]):
             "{:.2f} [{:.2f}, {:.2f}]".format(watermark_rows["names", 0.25, 2.0]["tpr"][200],
                                              *wilson_interval(round(watermark_rows["names", 0.25, 2.0]["tpr"][200]
                                                                     * N_TEXTS["names"]), N_TEXTS["names"])),
             "watermark: false alarms on held-out names ({} disjoint windows)".format(human_fpr["names", 0.25]["windows"]):
             "{:.3f} (95% upper bound {:.3f})".format(human_fpr["names", 0.25]["fpr"], human_fpr["names", 0.25]["upper"])},
    factors={"locales": "32 Latin-script locales only: names in other scripts cannot be produced",
             "groups": "not audited per locale or gender; section 1 shows how on a 4-group generator"},
    ethical_considerations=["names carry gender and origin; a generator trained on skewed lists reproduces, and at "
                            "low temperature amplifies, the skew (section 1)",
                            "samples can copy training names; the training lists are public"],
    caveats=["character-level, so little entropy per token: the default watermark (γ = 0.25, δ = 2) is detected "
             f"in {watermark_rows['names', 0.25, 2.0]['tpr'][50]:.0%} of texts at 50 characters and "
             f"{watermark_rows['names', 0.25, 2.0]['tpr'][100]:.0%} at 100",
             "figures from one training run; no intervals over training seeds"],
)
print(card.to_markdown())

# %% [markdown]
# ## Checks
#
# Each finding above, asserted with a margin that an untrained model, a missing mitigation or a
# one-line bug would miss.

# %%
# 1 · bias: the auditor works and its correction holds on generated names; the skew is reproduced at T = 1
# and amplified at T = 0.7; both mitigations bring the groups near balance
majority = groups.index("en_US male")
assert auditor_accuracy > 0.6, "the auditor must be far above chance (25%)"
assert check_interval[0] < 0.7 < check_interval[1] and check_corrected["en_US male"] > check_observed["en_US male"].share + 0.1
for t, labels in known.items():
    raw = group_shares(labels, groups)["en_US male"].share
    fixed = corrected_shares([group_shares(labels, groups)[g].share for g in groups], confusion)[majority]
    assert abs(fixed - 0.7) < 0.05 < abs(raw - 0.7) - 0.1, "the correction must recover a known 70% from generated names"
assert abs(amplification[1.0][0]) < 0.05, "at T = 1 the skewed model reproduces the training mix"
assert amplification[0.7][1] > 0, "at T = 0.7 its majority share exceeds a true 70% mix (the interval's lower end)"
skewed_tv = bias_rows["skewed data, T = 1"]["tv"]
assert bias_rows["re-balanced data, T = 1"]["tv"] < skewed_tv / 3
assert bias_rows["skewed data, a model per group, T = 1"]["tv"] < skewed_tv / 3
assert np.mean(requested["skewed data, a model per group, T = 1"]) > np.mean(requested["skewed data + group tag, T = 1"]) + 0.2

# 2 · detectors detect their own generator; the GAN's and the others' do not transfer; pooling helps on seen ones
gan = next(n for n in generators if n.startswith("GAN"))
assert min(transfer[n][n] for n in generators) > 0.75
assert max(transfer[gan][n] for n in generators if n != gan) < 0.6
assert max(transfer[n][gan] for n in generators if n != gan) < 0.6
pooled_row = transfer["all four (pooled)"]
assert all(pooled_row[n] < transfer[n][n] for n in generators), "at the same budget, pooling is worse than a specialist"
assert pooled_row[gan] < 0.65 < min(pooled_row[n] for n in generators if n != gan), "and it barely flags the GAN"
assert min(guidance_gap[3.0][0], guidance_gap[5.0][0]) > 0, "a new guidance scale degrades the detector (paired interval)"

# 3 · the watermark: detected at the defaults, no false alarms, a cost, eroded by edits
default = watermark_rows["names", 0.25, 2.0]
assert default["tpr"][200] >= 0.9 and default["tpr"][50] < default["tpr"][200]
assert all(r["fpr model"] == 0 for r in watermark_rows.values()) and all(r["fpr"] == 0 for r in human_fpr.values())
assert default["robust"][0.3] < default["tpr"][200] - 0.5, "replacing 30% of the characters erodes the default watermark"
assert all(r["robust"][0.3] <= r["robust"][0.1] <= r["tpr"][200] for r in watermark_rows.values())
assert all(r["ppl"] > r["ppl plain"] for (which, _, delta), r in watermark_rows.items() if delta >= 2 and which != "code (BPE)")
assert all(r["kl"] > 0.02 for r in watermark_rows.values()), "every watermark distorts the sampling distribution"
assert all(watermark_rows[w, g, 4.0]["kl"] > watermark_rows[w, g, 2.0]["kl"] for w, g, d in watermark_rows if d == 4.0)
assert entropy["names"]["token"] > entropy["code"]["token"] + 0.3, "names are less predictable than code"
assert entropy["code (BPE)"]["token"] > 1.5 * entropy["code"]["token"], "a BPE token carries more than a character"

# 4 · memorisation and membership
generated_name, held_name = list(dict.fromkeys(n for n, _ in copy_rows))
assert copy_rows[generated_name, 50][1] <= copy_rows[held_name, 50][0][1], "no more 50-character copies than human code"
assert all(r["exact"] == 0 for r in digit_copies.values())
assert digit_copies["mixture"]["score"] > max(digit_copies[n]["score"] for n in ("GAN", "VAE", "diffusion")) + 0.1
assert abs(null_attack.auc - 0.5) < 0.05, "two samples of one distribution must look alike to the attack"
assert names_attack.auc > null_attack.auc + 0.05, "the names GPT leaks membership a little"
aucs = [leak[s]["attack"].auc for s in snapshots]
assert all(a < b for a, b in zip(aucs, aucs[1:])) and aucs[0] < 0.65 and aucs[-1] > 0.9, "the leak grows with training"
assert early != snapshots[-1] and leak[early]["attack"].tpr[0.01] < leak[snapshots[-1]]["attack"].tpr[0.01] / 1.5
assert leak[early]["test loss"] <= leak[snapshots[-1]]["test loss"], "early stopping costs nothing against training on"
with_copies, deduplicated = dedup_rows["with 300 names repeated ×20"], dedup_rows["deduplicated"]
assert with_copies["repeated"].auc > deduplicated["repeated"].auc + 0.2, "deduplication removes the repeated names' leak"
assert abs(with_copies["seen once"].auc - deduplicated["seen once"].auc) < 0.05, "and leaves the others' as it was"

# 6 · compute: the formula agrees with PyTorch's count, the table multiplies it out, the course is tiny
assert abs(counted_step / formula_step - 1) < 0.01, "the formula must match PyTorch's count of a training step"
assert abs(compute_rows["names GPT (ch. 06)"].flops / (NAMES_GPT.steps * counted_step) - 1) < 0.01, "steps × one step"
assert GPT3_FLOPS / course_flops > 1e9 and course_wh < KETTLE_WH

# 7 · the card reports what was measured, with its n
for heading in ("## Model details", "## Intended use", "## Training data", "## Metrics", "## Ethical considerations"):
    assert heading in card.to_markdown()
assert f"{len(members):,} training names against {len(outsider_loss):,} held-out" in card.to_markdown()
print(f"all checks passed; the notebook ran in {time.perf_counter() - notebook_start:.0f} s")

# %% [markdown]
# ## Summary
#
# - **Bias** enters through the data, the labels, the objective and the deployment. Audit
#   representation with intervals and an auditor whose own errors you measured and corrected for;
#   here a generator reproduced a 70% majority at T = 1, sampling at T = 0.7 pushed it beyond that,
#   and re-balanced data or one model per group cut the total variation from balance from 0.37 to
#   0.07 and 0.05 (upper bounds about 0.20).
#   Compare with a known-truth reference audited the same way when you can. A balanced share says
#   nothing about how each group is portrayed.
# - **Detectors** of generated content work on the generator they were trained on and transfer
#   unevenly (the GAN's artefacts and the others' had nothing in common here); pooling generators
#   helped on some and not on the GAN; a change of sampling setting degrades them. Provenance (C2PA)
#   records origin instead of guessing it.
# - **Watermarks** (green lists and a z-test) are detected when the text has entropy to tilt: 100
#   characters of names at the default settings, more for code, with no false alarm in our samples
#   (which can bound the false-alarm rate only at a few per cent; the theory promises far less).
#   They cost quality (measure the KL, not only the perplexity), and edits erode them.
# - **Memorisation**: count verbatim copies against a human baseline; attack membership and report
#   the TPR at a low FPR beside the AUC. The leak grows with training and with duplication;
#   deduplication removes the duplicates' leak; early stopping limits it for free up to the best
#   held-out loss, and beyond that only trades quality for privacy.
# - **Security and jobs**: real and discussed with sources; no toy experiment would measure them
#   honestly.
# - **Compute**: count FLOPs, state the power and grid assumptions, and compare like with like.
#   The course's models cost about 5 Wh; one large training run costs about a GWh.
# - **Release** with a model card whose every number was measured.
#
# **Interview questions this chapter prepares for:** 7 (the ethical risks of generative models and
# their mitigations: watermarking, detection, policy) and 8 (how bias enters a generative model, and
# how to audit and reduce it).
