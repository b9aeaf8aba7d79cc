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
# # 06 · Exercises: the pieces of a GPT
#
# Build four parts of chapter 06 yourself: one merge step of byte-pair encoding, top-p
# (nucleus) filtering, the forward pass of a pre-norm transformer block, and one decoding
# step with a key/value cache. Replace each `raise NotImplementedError(...)` with your code
# and run the `check(...)` cell below it. At the end your four functions tokenise text, run a
# GPT's blocks and generate from it with a cache, and are compared with `gencourse`'s own
# versions. Grade the whole notebook with `gencourse check exercises/06_gpt.ipynb`.
#
# Lesson: `notebooks/06_gpt.ipynb`.

# %%
import math

import torch

from gencourse.data.bpe import BPETokenizer, pair_counts
from gencourse.data.chars import CharTokenizer
from gencourse.data.names import names_corpus
from gencourse.exercises import check
from gencourse.models.gpt import GPT, GPTConfig, fit_gpt
from gencourse.models.sampling import top_p_filter as reference_top_p

# %% [markdown]
# ## Exercise 06.1 — one BPE merge step
# Byte-pair encoding ("Neural Machine Translation of Rare Words with Subword Units", Sennrich,
# Haddow and Birch, 2016) grows a vocabulary by repeatedly replacing the most frequent
# adjacent pair of ids with a new id. Write the replacement step: return a **new list** in
# which every occurrence of `pair` (a tuple `(a, b)`) in `ids` is replaced by `new_id`,
# scanning **left to right** without overlaps: `[a, a, a]` with pair `(a, a)` becomes
# `[new_id, a]`. Do not modify `ids`.

# %%
def merge_pair(ids, pair, new_id):
    ### BEGIN SOLUTION
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    ### END SOLUTION


# %%
check("06.1", merge_pair)

# %% [markdown]
# ## Exercise 06.2 — top-p (nucleus) filtering
# Top-p sampling ("The Curious Case of Neural Text Degeneration", Holtzman et al., 2020)
# draws the next token only from the **smallest set of most probable tokens whose total
# probability reaches p**. Given `logits` (B, V) and `p` in (0, 1], return logits of the same
# shape in which the tokens outside that set are `-inf` and the kept ones are unchanged.
# Sort the probabilities in descending order; keep a token when the probability mass of the
# tokens ranked above it is still below p (so the token that crosses p is kept, and the most
# probable token always is); then put the mask back in vocabulary order. Do not modify
# `logits` in place.

# %%
def top_p_filter(logits, p):
    ### BEGIN SOLUTION
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    keep = torch.zeros_like(mass_before, dtype=torch.bool).scatter(-1, order, mass_before < p)
    return logits.masked_fill(~keep, float("-inf"))
    ### END SOLUTION


# %%
check("06.2", top_p_filter)

# %% [markdown]
# ## Exercise 06.3 — a pre-norm transformer block
# A GPT-2 style block has two sub-layers, each reading a LayerNorm of the residual stream and
# **adding** its output back to it: first causal self-attention ("communicate"), then an MLP
# ("compute"). Given `x` (B, T, C) and the four sub-modules (`ln1`, `attn`, `ln2`, `mlp`, each
# mapping (B, T, C) to (B, T, C); `attn` is already causal), return the block's output.

# %%
def block_forward(x, ln1, attn, ln2, mlp):
    ### BEGIN SOLUTION
    h = x + attn(ln1(x))
    return h + mlp(ln2(h))
    ### END SOLUTION


# %%
check("06.3", block_forward)

# %% [markdown]
# ## Exercise 06.4 — one decoding step with a key/value cache
# When a GPT generates, the keys and values of earlier positions never change, so they can
# be kept instead of recomputed. For one new token you get its query, key and value,
# `q`, `k_new`, `v_new`, each (B, H, 1, head_dim), and the cache of the earlier positions,
# `k_cache`, `v_cache`, each (B, H, T, head_dim) (T may be 0). Append the new key and value to
# the cache along the **time** axis, then let the new query attend over the whole cache
# (softmax of q·kᵀ/√head_dim over the keys, times the values). No causal mask is needed: the
# new token is the latest position and may see everything in the cache. Return the triple
# `(out, k_cache, v_cache)`: out (B, H, 1, head_dim) and the grown caches (B, H, T + 1, head_dim).

# %%
def attend_with_cache(q, k_new, v_new, k_cache, v_cache):
    ### BEGIN SOLUTION
    k_cache = torch.cat([k_cache, k_new], dim=2)
    v_cache = torch.cat([v_cache, v_new], dim=2)
    scores = q @ k_cache.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return torch.softmax(scores, dim=-1) @ v_cache, k_cache, v_cache
    ### END SOLUTION


# %%
check("06.4", attend_with_cache)

# %% [markdown]
# ## Putting it together
# **Your BPE.** Train 30 merges on a short text with your `merge_pair` (count pairs, merge the
# most frequent one, ties to the smallest pair) and compare them with `gencourse`'s trainer run
# on the text as one chunk (the pattern `[\s\S]+` turns off its pre-tokenisation).

# %%
text = ("the cat sat on the mat; the rat sat on the hat. " * 3 + "naïve café — déjà vu? ") * 2
ids = list(text.encode("utf-8"))
merges = []
for step in range(30):
    counts = pair_counts(ids)
    pair = max(counts, key=lambda q: (counts[q], -q[0], -q[1]))
    merges.append(pair)
    ids = merge_pair(ids, pair, 256 + step)
reference = BPETokenizer.train(text, 256 + 30, pattern=r"[\s\S]+")
tokens = [reference.token_bytes(256 + i).decode("utf-8", errors="replace") for i in range(8)]
print(f"{len(text.encode('utf-8'))} bytes -> {len(ids)} tokens; first merges make {tokens}")
assert merges == reference.merges, "your merges differ from gencourse.data.bpe's"
assert bytes(b for t in ids for b in reference.token_bytes(t)).decode("utf-8") == text  # exact round trip

# %% [markdown]
# **Your top-p** against `gencourse.models.sampling.top_p_filter` on random logits:

# %%
logits = torch.randn(64, 50, generator=torch.Generator().manual_seed(0)) * 2
for p in (0.3, 0.7, 0.95):
    same = torch.equal(torch.isinf(top_p_filter(logits, p)), torch.isinf(reference_top_p(logits, p)))
    kept = (~torch.isinf(top_p_filter(logits, p))).sum(-1).float().mean()
    print(f"p = {p}: {kept:.1f} of 50 tokens kept on average; same tokens as gencourse: {same}")
    assert same

# %% [markdown]
# **Your block and your cache inside a GPT.** Train a small character-level GPT on first names
# for a few seconds, then run it two ways with your functions: its full forward pass with
# your `block_forward` in every layer, and greedy generation one token at a time with your
# `attend_with_cache`. Both must agree with the reference model.

# %%
names = names_corpus()
tok = CharTokenizer.fit(["\n"] + names.train + names.val + names.test)
train_ids = torch.tensor(tok.encode("\n" + "\n".join(names.train) + "\n"))
torch.manual_seed(0)
gpt = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=64))
fit_gpt(gpt, train_ids, steps=200, batch_size=32, lr=3e-3, warmup=20, progress=False)


@torch.no_grad()
def forward_with_your_blocks(model, idx):
    x = model.tok_emb(idx) + model.pos_emb(torch.arange(idx.shape[1]))
    for b in model.blocks:
        x = block_forward(x, b.ln1, b.attn, b.ln2, b.mlp)
    return model.head(model.ln_f(x))


@torch.no_grad()
def greedy_with_your_cache(model, prompt, n_new):
    C, H = model.config.n_embd, model.config.n_head
    caches = [(torch.zeros(1, H, 0, C // H), torch.zeros(1, H, 0, C // H)) for _ in model.blocks]
    ids = list(prompt)
    for t in range(len(prompt) + n_new - 1):
        x = model.tok_emb(torch.tensor([[ids[t]]])) + model.pos_emb(torch.tensor([t]))   # (1, 1, C)
        for i, b in enumerate(model.blocks):
            q, k, v = (z.view(1, 1, H, C // H).transpose(1, 2) for z in b.attn.qkv(b.ln1(x)).split(C, -1))
            out, k_all, v_all = attend_with_cache(q, k, v, *caches[i])
            caches[i] = (k_all, v_all)
            x = x + b.attn.proj(out.transpose(1, 2).reshape(1, 1, C))
            x = x + b.mlp(b.ln2(x))
        if t >= len(prompt) - 1:
            ids.append(int(model.head(model.ln_f(x))[0, -1].argmax()))
    return ids


idx = train_ids[:32][None]
gap = (forward_with_your_blocks(gpt, idx) - gpt(idx)[0]).abs().max().item()
prompt = tok.encode("\nMa")
yours = greedy_with_your_cache(gpt, prompt, 20)
theirs = gpt.generate(torch.tensor([prompt]), 20, greedy=True, use_cache=False)[0].tolist()
print(f"largest logit difference, your blocks vs GPT.forward: {gap:.2e}")
print(f"greedy name after 'Ma': {tok.decode(yours).split(chr(10))[1]!r} (yours, with your cache) vs "
      f"{tok.decode(theirs).split(chr(10))[1]!r} (gencourse, no cache)")
assert gap < 1e-4
assert yours == theirs, "greedy generation with your cache should give the same tokens"
