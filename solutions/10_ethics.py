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
# # 10 · Exercises: measuring the risks by hand
#
# Write five of chapter 10's measurements yourself: the watermark's z-score, the green lists it
# rests on, a membership attack read at a fixed false-positive rate, a group-share audit corrected
# for the auditor's errors, and a transformer's training FLOPs. Replace each
# `raise NotImplementedError(...)` with your code and run the `check(...)` cell below it. At the end
# your functions watermark and detect the course's names GPT, attack it, audit it and count its
# compute. Grade the whole notebook with `gencourse check exercises/10_ethics.ipynb`.
#
# Lesson: `notebooks/10_ethics.ipynb`.

# %%
import math

import torch

from gencourse.exercises import check
from gencourse.metrics import wilson_interval

# %% [markdown]
# ## Exercise 10.1 — the watermark's z-score
# `tokens` is a 1-D LongTensor of token ids; `table` is a (V, V) bool tensor whose row p marks the
# tokens that are green after token p (so token t, preceded by p, is green when `table[p, t]`). The
# green share is γ = `table[0].sum() / V`. Score every token that has a previous token, but count
# each distinct (previous, token) pair only once: T is the number of distinct pairs and G the number
# of them that are green. Return z = (G − γT) / √(T γ (1 − γ)) as a float.

# %%
def z_score(tokens, table):
    ### BEGIN SOLUTION
    ids = tokens.tolist()
    pairs = set(zip(ids[:-1], ids[1:]))
    gamma = float(table[0].sum()) / table.shape[0]
    green = sum(bool(table[p, t]) for p, t in pairs)
    t = len(pairs)
    return (green - gamma * t) / math.sqrt(t * gamma * (1 - gamma))
    ### END SOLUTION


# %%
check("10.1", z_score)

# %% [markdown]
# ## Exercise 10.2 — the green list
# Return the green list that follows token `previous`, as a (V,) bool tensor (True = green), for a
# vocabulary of `vocab_size` tokens, a green share `gamma` and a secret `key`: seed a generator with
# `torch.Generator().manual_seed(key * 1_000_003 + previous)`, draw `torch.randperm(vocab_size,
# generator=g)`, and make its first `int(gamma * vocab_size)` ids green (rounded down, as the
# authors' code does).

# %%
def green_list(previous, vocab_size, gamma, key):
    ### BEGIN SOLUTION
    g = torch.Generator().manual_seed(key * 1_000_003 + previous)
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    mask[torch.randperm(vocab_size, generator=g)[:int(gamma * vocab_size)]] = True
    return mask
    ### END SOLUTION


# %%
check("10.2", green_list)

# %% [markdown]
# ## Exercise 10.3 — a membership attack at a fixed false-positive rate
# `member_losses` (N,) and `outsider_losses` (M,) are a model's per-example losses on examples it
# was trained on and on examples it never saw. The attack flags an example as a member when its loss
# is below a threshold. Choose the threshold so that at most a share `fpr` of the outsiders is
# flagged (at most ⌊fpr · M⌋ of them), as many members as possible being flagged, and return the
# share of members flagged (the true-positive rate) as a float.

# %%
def tpr_at_fpr(member_losses, outsider_losses, fpr):
    ### BEGIN SOLUTION
    others = torch.sort(outsider_losses).values
    allowed = math.floor(fpr * len(others))
    if allowed >= len(others):
        return 1.0
    cut = others[allowed]                              # the first outsider that must stay unflagged
    return float((member_losses < cut).double().mean())
    ### END SOLUTION


# %%
check("10.3", tpr_at_fpr)

# %% [markdown]
# ## Exercise 10.4 — a group-share audit with intervals, corrected for the auditor
# `labels` is a list with the group an auditor gave each generated sample, `groups` the list of all
# groups, and `confusion` a (G, G) float64 tensor measured on labelled examples: entry (i, j) is the
# share of group i's examples that the auditor labels j. Return a dict mapping **every** group to a
# tuple `(share, low, high, corrected)`: its share of the labels, the 95% Wilson interval of that
# share (`wilson_interval(count, n)`, imported above, from chapter 09; z = 1.96 by hand is close
# enough), and the corrected share. The
# observed shares q relate to the true shares p by q = Cᵀ p; solve for p (`torch.linalg.solve`).

# %%
def audit(labels, groups, confusion):
    ### BEGIN SOLUTION
    n = len(labels)
    counts = [labels.count(g) for g in groups]
    q = torch.tensor(counts, dtype=torch.float64) / n
    p = torch.linalg.solve(confusion.T, q)
    return {g: (c / n, *wilson_interval(c, n), float(p[i])) for i, (g, c) in enumerate(zip(groups, counts))}
    ### END SOLUTION


# %%
check("10.4", audit)

# %% [markdown]
# ## Exercise 10.5 — a transformer's training FLOPs
# A GPT with `n_layer` layers of width d = `n_embd`, a vocabulary of V = `vocab_size` tokens and a
# context of T = `context` tokens costs, per token in the forward pass, 2 FLOPs for each weight of
# its layers (12 d² per layer: 4 d² in attention, 8 d² in the MLP) and of its output head (d V), plus
# 4 T d per layer for the attention scores (QKᵀ and the weighted sum of V, 2 T d each). Training
# costs about 3 forward passes (the backward pass costs about two). Return the FLOPs for training on
# `tokens` tokens, as a float.

# %%
def training_flops(n_layer, n_embd, vocab_size, context, tokens):
    ### BEGIN SOLUTION
    forward = 2 * (12 * n_layer * n_embd ** 2 + n_embd * vocab_size) + 4 * n_layer * context * n_embd
    return 3.0 * forward * tokens
    ### END SOLUTION


# %%
check("10.5", training_flops)

# %% [markdown]
# ## Your measures at work
# The course's names GPT (chapter 06, from the zoo) writes 16 texts of 200 characters, 8 with a
# watermark built from your green lists (γ = 0.25, δ = 2) and 8 without; your z-score tells them
# apart. Your attack reads the names GPT's membership leak at 1% false positives (2,000 training
# names against the 1,669 test names), your audit corrects a 70/30 split of an auditor's labels for
# that auditor's known errors, and your FLOP count prices the GPT's training.

# %%
from gencourse.data.names import names_corpus
from gencourse.ethics.compute import transformer_training_flops
from gencourse.ethics.membership import loss_threshold_attack
from gencourse.ethics.watermark import SettingsPerRow
from gencourse.experiments.ethics import name_losses
from gencourse.zoo import names_gpt
from gencourse.zoo.gpt import NAMES_GPT

torch.set_num_threads(1)
model, tokenizer = names_gpt()
vocab = tokenizer.vocab_size
table = torch.stack([green_list(p, vocab, 0.25, key=2023) for p in range(vocab)])
settings = torch.arange(2).repeat_interleave(8)                       # 8 plain rows, 8 watermarked
processor = SettingsPerRow([table, table], [0.0, 2.0], settings)
prompt = torch.full((16, 1), tokenizer.index["\n"], dtype=torch.long)
texts = model.generate(prompt, 200, generator=torch.Generator().manual_seed(0), logits_processor=processor)
zs = torch.tensor([z_score(row, table) for row in texts])
print("z of the plain texts:      ", [round(z, 1) for z in zs[:8].tolist()])
print("z of the watermarked texts:", [round(z, 1) for z in zs[8:].tolist()])
assert (zs[8:] > 4).float().mean() >= 0.75 and (zs[:8] < 4).all(), "the watermark should be detected, and only there"

split = names_corpus()
members = name_losses(model, tokenizer, split.train[:2000]).double()
outsiders = name_losses(model, tokenizer, split.test).double()
mine = tpr_at_fpr(members, outsiders, 0.01)
print(f"membership attack on the names GPT: TPR at 1% FPR {mine:.3f} (the library: "
      f"{loss_threshold_attack(members, outsiders).tpr[0.01]:.3f})")
assert mine == loss_threshold_attack(members, outsiders).tpr[0.01]

groups = ["en_US", "es_ES"]
labels = ["en_US"] * 70 + ["es_ES"] * 30
confusion = torch.tensor([[0.85, 0.15], [0.1, 0.9]], dtype=torch.float64)
for group, (share, low, high, corrected) in audit(labels, groups, confusion).items():
    print(f"{group}: observed {share:.2f} [{low:.2f}, {high:.2f}], corrected for the auditor {corrected:.2f}")

tokens = NAMES_GPT.steps * NAMES_GPT.batch_size * NAMES_GPT.block_size
flops = training_flops(NAMES_GPT.n_layer, NAMES_GPT.n_embd, vocab, NAMES_GPT.block_size, tokens)
print(f"the names GPT's training: {flops:.2e} FLOPs on {tokens:,} tokens")
assert math.isclose(flops, transformer_training_flops(model.config, tokens), rel_tol=1e-9)
