"""Specialising the pre-trained code GPT to one domain: full fine-tuning, LoRA, and mixing.

The general model is chapter 06's code GPT (``zoo.gpt.code_gpt``): trained on 35 files of
31 standard-library modules. The domain is ``asyncio``, a package it never saw: coroutines,
event loops, transports and futures, with their own vocabulary (``await``, ``loop``,
``_transport``). Both are split by file, so every held-out score is on unseen files.

    domain_data()        general and domain token streams, cleaned to the model's characters
    finetune(...)        AdamW on random windows; optionally a share of general windows per batch
    training_memory(...) bytes for weights, gradients and Adam's two moments
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gencourse.data.chars import CharTokenizer
from gencourse.models.gpt import GPT
from gencourse.models.gpt_train import evaluate_gpt, lr_factor, make_optimizer, random_windows
from gencourse.models.lora import count_parameters

DOMAIN_MODULES = ("asyncio",)


@dataclass
class DomainData:
    tokenizer: CharTokenizer
    domain_train: Tensor          # 1-D ids
    domain_val: Tensor
    domain_test: Tensor
    general_train: Tensor         # the pre-training text (for mixing)
    general_test: Tensor          # held-out files of the pre-training corpus
    replaced: int                 # domain characters outside the vocabulary, replaced by "?"
    files: dict[str, list[str]]   # the domain's files in each part


def clean_for(tokenizer: CharTokenizer, text: str, fallback: str = "?") -> tuple[str, int]:
    """``text`` with every character the tokenizer does not know replaced by ``fallback``,
    and how many were replaced (a character-level model has no unknown token)."""
    known = tokenizer.index
    out = [c if c in known else fallback for c in text]
    return "".join(out), sum(c not in known for c in text)


def domain_data(tokenizer: CharTokenizer, modules: tuple[str, ...] = DOMAIN_MODULES,
                max_eval_chars: int = 30_000) -> DomainData:
    """The domain split by file (70 / 15 / 15 % of characters) and the general corpus, as ids.

    Held-out streams are cut to their first ``max_eval_chars`` characters, so scoring a
    model takes about a second.
    """
    from gencourse.data.corpus import code_corpus
    from gencourse.zoo.gpt import corpus_texts

    split = code_corpus(modules, seed=0, fractions=(0.15, 0.15))
    replaced = 0
    ids = {}
    for part in ("train", "val", "test"):
        text, n = clean_for(tokenizer, getattr(split, part))
        replaced += n
        if part != "train":
            text = text[:max_eval_chars]
        ids[part] = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    general_train, _, general_test = corpus_texts("code")
    general = lambda t: torch.tensor(tokenizer.encode(t), dtype=torch.long)  # noqa: E731
    return DomainData(tokenizer, ids["train"], ids["val"], ids["test"], general(general_train),
                      general(general_test[:max_eval_chars]), replaced, split.files)


@dataclass
class FinetuneResult:
    seconds: float
    steps: int
    trainable: int
    total: int
    memory_bytes: int
    losses: list[float]


def training_memory(model: nn.Module) -> int:
    """Bytes of training state: every weight, plus a gradient and Adam's two moments for each
    trainable one (activations, which depend on the batch, are not counted)."""
    trainable, total = count_parameters(model)
    size = next(model.parameters()).element_size()
    return size * (total + 3 * trainable)


def finetune(model: GPT, train: Tensor | tuple[Tensor, Tensor], steps: int, *, lr: float = 1e-3, batch_size: int = 16,
             general_ids: Tensor | None = None, general_share: float = 0.0, warmup: int = 10,
             weight_decay: float = 0.0, seed: int = 0) -> FinetuneResult:
    """AdamW on the weights that require gradients, for ``steps`` steps.

    ``train`` is either a 1-D id stream (each batch: random windows of ``block_size``) or a
    pair (inputs, targets) of (N, L) rows (each batch: random rows; targets of -1 carry no
    loss, as for the prompt of an instruction pair).

    With ``general_share`` > 0, that share of every batch (rounded) comes from
    ``general_ids`` instead: rehearsal of the pre-training data against forgetting.
    The learning rate warms up for ``warmup`` steps, then follows a cosine to a tenth.
    """
    if not 0.0 <= general_share < 1.0:
        raise ValueError(f"general_share must be in [0, 1), got {general_share!r}")
    if general_share and isinstance(train, tuple):
        raise ValueError("general_share mixes windows of general text into a stream; train on rows without it")
    if general_share and general_ids is None:
        raise ValueError("general_share > 0 needs general_ids, the pre-training text to mix in")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable weights; unfreeze some or add LoRA adapters")
    n_general = round(general_share * batch_size)
    bs = model.config.block_size
    device = model.device
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer_for(params, lr, weight_decay)
    trainable, total = count_parameters(model)
    losses = []
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * lr_factor(step, step / steps, warmup, 0.1)
        if isinstance(train, tuple):
            rows = torch.randint(len(train[0]), (batch_size - n_general,), generator=gen)
            x, y = train[0][rows], train[1][rows]
        else:
            x, y = random_windows(train, bs, batch_size - n_general, gen)
        if n_general:
            gx, gy = random_windows(general_ids, bs, n_general, gen)
            x, y = torch.cat([x, gx]), torch.cat([y, gy])
        _, loss = model(x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
    seconds = time.perf_counter() - start
    model.eval()
    return FinetuneResult(seconds, steps, trainable, total, training_memory(model), losses)


def make_optimizer_for(params: list[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over ``params`` (decay on matrices only), as :func:`models.gpt_train.make_optimizer`."""
    holder = nn.Module()
    holder.params = nn.ParameterList(params)
    return make_optimizer(holder, lr, weight_decay)


def perplexities(model: GPT, data: DomainData, split: str = "test") -> dict[str, float]:
    """Held-out loss (nats per character) and perplexity on the domain and the general corpus."""
    domain = data.domain_test if split == "test" else data.domain_val
    out = {}
    for name, ids in (("domain", domain), ("general", data.general_test)):
        loss = evaluate_gpt(model, ids, stride=model.config.block_size // 2)
        out[f"{name}_loss"] = loss
        out[f"{name}_ppl"] = float(torch.tensor(loss).exp())
    return out


__all__ = ["DOMAIN_MODULES", "DomainData", "clean_for", "domain_data", "FinetuneResult", "training_memory",
           "finetune", "make_optimizer_for", "perplexities"]
