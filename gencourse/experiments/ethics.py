"""Chapter 10's experiments: a skewed name generator and its audit, real-vs-generated digit
detectors, and watermarked sampling from the course's GPTs.

    name_groups(seed)                 first names of four locale × gender groups, split for the generator,
                                      the auditor's training and the auditor's test
    NameAuditor                       a character n-gram logistic regression: name -> group
    NameGenerator                     a character n-gram model of names, optionally conditioned on the group
    weighted_names(names, weights)    a training list with each group's share set by ``weights``
    train_detector(real, fake)        a small CNN that tells real digits from one generator's
    token_nll, substitute,            watermark experiments on token ids
    tokens_for_characters
"""
from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gencourse.models.ngram import NGramLM

GROUPS = {"en_US female": ("en_US", "female"), "en_US male": ("en_US", "male"),
          "es_ES female": ("es_ES", "female"), "es_ES male": ("es_ES", "male")}


@dataclass(frozen=True)
class NameGroups:
    """group -> names for the generator's training, the auditor's training and the auditor's test
    (disjoint; names that belong to more than one group are dropped)."""

    generator: dict[str, list[str]]
    audit_train: dict[str, list[str]]
    audit_test: dict[str, list[str]]


def name_groups(seed: int = 0, fractions: tuple[float, float] = (0.5, 0.3)) -> NameGroups:
    from gencourse.data.names import load_names

    lists = {g: set(load_names(*spec)) for g, spec in GROUPS.items()}
    counts = Counter(n for names in lists.values() for n in names)
    rng = random.Random(seed)
    parts: tuple[dict, dict, dict] = ({}, {}, {})
    for g, names in lists.items():
        unique = sorted(n for n in names if counts[n] == 1)
        rng.shuffle(unique)
        a, b = int(fractions[0] * len(unique)), int(sum(fractions) * len(unique))
        for part, chunk in zip(parts, (unique[:a], unique[a:b], unique[b:])):
            part[g] = chunk
    return NameGroups(*parts)


class NameAuditor:
    """Names -> group, by logistic regression on character 1- to 4-grams (scikit-learn)."""

    def fit(self, names: Sequence[str], groups: Sequence[str]) -> "NameAuditor":
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectoriser = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4), lowercase=True)
        self.model = LogisticRegression(max_iter=2000, C=3.0).fit(self.vectoriser.fit_transform(names), groups)
        return self

    def predict(self, names: Sequence[str]) -> np.ndarray:
        return self.model.predict(self.vectoriser.transform(list(names)))


def weighted_names(names: dict[str, list[str]], weights: dict[str, float], n: int, seed: int = 0,
                   tag: bool = False) -> list[str]:
    """``n`` training names, a share ``weights[g]`` drawn (with replacement) from group g's list; with
    ``tag`` each name is prefixed by its group's tag character, ``group_tag(i)`` for the i-th group of
    ``names`` (for a conditional generator)."""
    if abs(sum(weights.values()) - 1) > 1e-9:
        raise ValueError(f"the weights must sum to 1, got {sum(weights.values())}")
    rng = random.Random(seed)
    out = []
    order = list(names)                     # tags follow the groups' order in ``names``, not in ``weights``
    for g, w in weights.items():
        prefix = group_tag(order.index(g)) if tag else ""
        out += [prefix + rng.choice(names[g]) for _ in range(round(w * n))]
    rng.shuffle(out)
    return out


def group_tag(index: int) -> str:
    """The control character that marks group ``index`` at the start of a conditional name."""
    return chr(1 + index)


class NameGenerator:
    """An interpolated Kneser–Ney character n-gram model of newline-separated names."""

    def __init__(self, order: int = 4):
        self.order = order

    def fit(self, names: Sequence[str]) -> "NameGenerator":
        text = "\n" + "\n".join(names) + "\n"
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.model = NGramLM(self.order, len(self.chars)).fit([self.index[c] for c in text])
        return self

    def losses(self, names: Sequence[str]) -> Tensor:
        """Mean negative log-likelihood per character (N,) of each name and its closing newline, after
        an opening newline. Characters the model never saw must not occur."""
        out = []
        for name in names:
            unseen = sorted(set(name) - set(self.index))
            if unseen:
                raise ValueError(f"{name!r} has characters the model never saw ({''.join(unseen)!r}): "
                                 "drop such names before scoring (their probability is 0)")
            ids = [self.index["\n"]] + [self.index[c] for c in name] + [self.index["\n"]]
            out.append(-float(self.model.token_log_probs(ids)[1:].mean()))
        return torch.tensor(out)

    def sample(self, n: int, temperature: float = 1.0, seed: int = 0, prefix: str = "") -> list[str]:
        """``n`` names; each starts after a newline and ``prefix`` (a group tag), which is removed."""
        rng = np.random.default_rng(seed)
        out = []
        while len(out) < n:
            context = [self.index["\n"]] + [self.index[c] for c in prefix]
            ids = self.model.sample(24, context=context, seed=rng, temperature=temperature)
            name = "".join(self.chars[i] for i in ids).split("\n")[0]
            name = "".join(c for c in name if c.isprintable())
            if name:
                out.append(name)
        return out


def train_detector(real: Tensor, fake: Tensor, steps: int = 300, batch: int = 64, seed: int = 0
                   ) -> Callable[[Tensor], np.ndarray]:
    """A small CNN (the judge's architecture at half its width, one output) trained to tell ``real``
    (N, 1, 8, 8) from ``fake`` (M, 1, 8, 8) digits; returns images -> (K,) scores, higher = more likely real."""
    from gencourse.models.judge import DigitsJudge, JudgeConfig

    torch.manual_seed(seed)
    net = DigitsJudge(JudgeConfig(channels=16, feature_dim=64))
    net.classify[-1] = torch.nn.Linear(net.config.feature_dim, 1)
    x = torch.cat([real, fake])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        rows = torch.randint(len(x), (batch,), generator=g)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x[rows])[:, 0], y[rows])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()

    @torch.no_grad()
    def score(images: Tensor) -> np.ndarray:
        return net(images)[:, 0].numpy()
    return score


@torch.no_grad()
def token_nll(model, ids: Tensor) -> Tensor:
    """Per-token negative log-likelihood (B, T-1) of ids (B, T) under ``model``, each token scored with
    up to ``block_size`` tokens of context (a sliding window)."""
    bs = model.config.block_size
    b, t = ids.shape
    out = torch.empty(b, t - 1, device=ids.device)
    model.eval()
    for end in range(1, t):
        start = max(0, end - bs)
        logits, _ = model(ids[:, start:end])
        out[:, end - 1] = torch.nn.functional.cross_entropy(logits[:, -1], ids[:, end], reduction="none")
    return out


def substitute(ids: Tensor, share: float, vocab_size: int, seed: int = 0) -> Tensor:
    """A copy of ids (B, T) with a random ``share`` of its tokens (after the first) replaced by random
    tokens: the simplest attack on a watermark."""
    g = torch.Generator().manual_seed(seed)
    out = ids.clone()
    hit = torch.rand(ids.shape, generator=g) < share
    hit[:, 0] = False
    out[hit] = torch.randint(vocab_size, (int(hit.sum()),), generator=g)
    return out


def tokens_for_characters(ids: Tensor, decode: Callable[[list[int]], str], characters: int) -> int:
    """The fewest leading tokens of ``ids`` (T,) that decode to at least ``characters`` characters
    (all T if the whole sequence is shorter): compares tokenisers at equal lengths of text. A binary
    search, since the decoded length grows with the number of tokens."""
    low, high = 1, len(ids)
    while low < high:
        middle = (low + high) // 2
        if len(decode(ids[:middle].tolist())) >= characters:
            high = middle
        else:
            low = middle + 1
    return low


@torch.no_grad()
def name_losses(model, tokenizer, names: Sequence[str]) -> Tensor:
    """Mean negative log-likelihood per character (N,) of each name under a names GPT: the name and
    its closing newline, after an opening newline (names longer than the context are cut)."""
    newline = tokenizer.index["\n"]
    limit = model.config.block_size
    rows = [([newline] + tokenizer.encode(name) + [newline])[:limit + 1] for name in names]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), newline, dtype=torch.long)
    mask = torch.zeros(len(rows), width - 1, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r) - 1] = True
    model.eval()
    device = next(model.parameters()).device
    logits, _ = model(ids[:, :-1].to(device))
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:].to(device), reduction="none").cpu()
    return (nll * mask).sum(dim=1) / mask.sum(dim=1)


@dataclass(frozen=True)
class ComputeRow:
    """One model's training cost: FLOPs (how they were obtained), wall-clock seconds (None if not
    recorded), and the number of weights."""

    flops: float
    how: str
    seconds: float | None
    parameters: int


def gpt_training_tokens(recipe) -> int:
    """Tokens a zoo GPT trains on: every position of every window of every step (each is a target)."""
    return recipe.steps * recipe.batch_size * recipe.block_size


def zoo_training_flops() -> dict[str, ComputeRow]:
    """Training FLOPs of the course's main zoo models: the GPTs by formula, the others by counting one
    training step's forward and backward passes (at its batch size) and multiplying by the steps."""
    from gencourse.ethics.compute import count_flops, transformer_training_flops
    from gencourse.experiments.digit_recipes import rebuild
    from gencourse.models.gan import DCDiscriminator, DCGANConfig
    from gencourse.models.gpt import GPT
    from gencourse.models.judge import DigitsJudge
    from gencourse.models.vae import elbo
    from gencourse.zoo import DIGITS_CGAN, DIGITS_CVAE, digits_cgan, digits_cvae, gpt_record
    from gencourse.zoo.diffusion import DIGITS_VAE, PIXEL_DIFFUSION, pixel_diffusion
    from gencourse.zoo.digits import zoo_digits_run
    from gencourse.zoo.gpt import CODE_BPE_GPT, CODE_GPT, NAMES_GPT
    from gencourse.zoo.judge import JudgeRecipe

    rows = {}
    x = torch.randint(17, (128, 1, 8, 8)).float() / 16                # a batch of 128 digit-like images
    y = torch.arange(128) % 10
    size = lambda m: sum(p.numel() for p in m.parameters())          # noqa: E731
    judge = DigitsJudge()
    rows["digits judge"] = ComputeRow(JudgeRecipe().steps * count_flops(
        lambda: torch.nn.functional.cross_entropy(judge(x), y).backward()), "counted", None, size(judge))
    cgan_run = digits_cgan()
    generator = rebuild(cgan_run).train()
    critic = DCDiscriminator(DCGANConfig(**cgan_run.config))
    z = torch.randn(128, generator.latent_dim)

    def gan_step() -> None:        # a discriminator step on real and fake, then a generator step through it
        fake = generator(z, y)
        (critic(x, y).mean() - critic(fake.detach(), y).mean()).backward()
        critic(generator(z, y), y).mean().backward()
    rows["conditional GAN (ch. 03)"] = ComputeRow(DIGITS_CGAN.steps * count_flops(gan_step), "counted",
                                                  cgan_run.seconds, size(generator) + size(critic))
    for name, recipe, run in (("conditional VAE (ch. 04)", DIGITS_CVAE, digits_cvae()),
                              ("VAE (ch. 04, 16-D)", DIGITS_VAE, zoo_digits_run(DIGITS_VAE))):
        vae = rebuild(run).train()
        labels = y if recipe.conditional else None
        rows[name] = ComputeRow(recipe.steps * count_flops(lambda: (-elbo(vae, x, labels).elbo.mean()).backward()),
                                "counted", run.seconds, size(vae))
    diffusion = pixel_diffusion()
    denoiser = copy.deepcopy(diffusion.model).train().requires_grad_(True)      # the zoo's copy is frozen
    noisy, steps_t = torch.randn(PIXEL_DIFFUSION.batch_size, denoiser.config.dim), torch.randint(200, (PIXEL_DIFFUSION.batch_size,))
    rows["pixel diffusion (ch. 08)"] = ComputeRow(PIXEL_DIFFUSION.steps * count_flops(
        lambda: denoiser(noisy, steps_t, y[:len(noisy)]).pow(2).mean().backward()), "counted", diffusion.seconds, size(denoiser))
    for name, recipe in (("names GPT (ch. 06)", NAMES_GPT), ("code GPT (ch. 06)", CODE_GPT),
                         ("code GPT, BPE (ch. 10)", CODE_BPE_GPT)):
        record = gpt_record(recipe)
        vocab = recipe.bpe_vocab if recipe.tokenizer == "bpe" else len(record["tokenizer"]["chars"])
        config = recipe.config(vocab)
        tokens = gpt_training_tokens(recipe)
        rows[name] = ComputeRow(transformer_training_flops(config, tokens), "formula", record["train_seconds"],
                                size(GPT(config)))
    return rows
