"""Training the reference GPT: a fixed number of steps, or as well as possible in a time budget.

    fit_gpt(model, train_ids, steps, ...)      reproducible step-based training (notebooks, zoo)
    train_gpt(text, seconds=180, ...)          "train on your own text": tokenise, split off a
                                               held-out tail, pick a model size for the budget and
                                               the machine, train until the time is up, evaluate
    evaluate_gpt(model, ids)                   mean loss (nats per token) over a whole sequence
    save_gpt(folder, ...) / load_gpt(folder)   model.safetensors + config.json + tokenizer.json

Both loops sample random windows of ``block_size + 1`` tokens, use AdamW (weight decay
on matrices and embeddings only, betas (0.9, 0.99)), clip the gradient norm at 1, and
follow a linear warmup then a cosine decay to ``min_lr_ratio`` of the peak rate — over
the steps in ``fit_gpt``, over the wall-clock budget in ``train_gpt``.

How ``train_gpt`` picks a model (``plan_training``): it walks a ladder of shapes from
small to large (:data:`LADDER`), times a few training steps of each on the actual
device, and keeps the largest shape that can still see at least
``TOKENS_PER_PARAM`` training tokens per weight within the budget, and has at most
``PARAMS_PER_CHAR`` weights per training character (so a small file gets a small
model; a text too small even for the first shape gets ``SMALL_DATA_RUNG``). Dropout
stays off. Those timing steps count against the budget.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from gencourse.data.chars import CharTokenizer
from gencourse.models.gpt import GPT, GPTConfig
from gencourse.runtime import pick_device, seed_everything
from gencourse.train import History, LiveLossPlot


# ----------------------------------------------------------------------------- data

def random_windows(ids: Tensor, block_size: int, batch_size: int,
                   generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """A batch of random windows: inputs x (B, T) and next-token targets y (B, T), T = block_size.

    ids: 1-D LongTensor with more than block_size tokens (on any device).
    """
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    windows = ids[(starts[:, None] + offsets).to(ids.device)]            # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def evaluate_gpt(model: GPT, ids: Tensor, *, stride: int | None = None, batch_size: int = 64) -> float:
    """Mean cross-entropy (nats per token) of predicting ``ids[1:]`` from what precedes them.

    Every token after the first is scored exactly once. With ``stride`` None the
    targets are cut into non-overlapping chunks of ``block_size`` (a token's context is
    whatever precedes it in its window; the last, shorter chunk is read after a full
    window of context); a smaller stride re-reads ``block_size - stride``
    tokens of context before each chunk of ``stride`` scored tokens (slower, lower loss).
    """
    bs = model.config.block_size
    stride = bs if stride is None else stride
    if not 1 <= stride <= bs:
        raise ValueError(f"stride must be in [1, block_size={bs}], got {stride}")
    if ids.dim() != 1 or len(ids) < 2:
        raise ValueError(f"ids must be a 1-D tensor of at least 2 tokens, got shape {tuple(ids.shape)}")
    was_training = model.training
    model.eval()
    ids = ids.to(model.device)
    groups: dict[tuple[int, int], list[int]] = {}       # (window length, scored) -> context starts
    for a in range(1, len(ids), stride):
        b = min(a + stride, len(ids))                    # score targets a..b-1
        c = max(0, b - 1 - bs)                           # inputs ids[c : b-1]
        groups.setdefault((b - 1 - c, b - a), []).append(c)
    total, count = 0.0, 0
    try:
        for (length, scored), starts in groups.items():
            offsets = torch.arange(length + 1, device=ids.device)
            for chunk in torch.tensor(starts, device=ids.device).split(batch_size):
                windows = ids[chunk[:, None] + offsets]             # (n, length + 1)
                logits, _ = model(windows[:, :-1])
                logp = torch.log_softmax(logits[:, -scored:].float(), dim=-1)
                target = windows[:, -scored:]
                total -= float(logp.gather(-1, target[..., None]).sum())
                count += target.numel()
    finally:
        model.train(was_training)
    return total / count


# ----------------------------------------------------------------------------- optimisation

def make_optimizer(model: GPT, lr: float, weight_decay: float,
                   betas: tuple[float, float] = (0.9, 0.99)) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings, none on biases and LayerNorms."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=lr, betas=betas)


def lr_factor(step: int, fraction: float, warmup: int, min_lr_ratio: float) -> float:
    """Linear warmup over ``warmup`` steps, times a cosine from 1 down to ``min_lr_ratio``
    as ``fraction`` (of steps or of time) goes from 0 to 1."""
    warm = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    fraction = min(max(fraction, 0.0), 1.0)
    return warm * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * fraction)))


@dataclass
class GPTHistory(History):
    """Losses every ``eval_every`` steps: values["train"] (mean over those steps) and, with
    held-out ids, values["val"] (on a fixed sample of held-out windows); ``times`` holds the
    seconds since training started at each record."""

    times: list[float] = field(default_factory=list)
    tokens: int = 0


def _check_ids(ids: Tensor, block_size: int, name: str) -> None:
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.dtype != torch.long:
        raise ValueError(f"{name} must be a 1-D LongTensor of token ids")
    if len(ids) <= block_size:
        raise ValueError(f"{name} has {len(ids)} tokens; it needs more than block_size={block_size} "
                         "(use a smaller block_size or more text)")


def _eval_sample(val_ids: Tensor, block_size: int, windows: int) -> Tensor:
    """A fixed, evenly spread subset of the held-out ids for quick estimates during training."""
    span = windows * (block_size + 1)
    if len(val_ids) <= span:
        return val_ids
    starts = torch.linspace(0, len(val_ids) - block_size - 1, windows).long()
    return torch.cat([val_ids[s:s + block_size + 1] for s in starts.tolist()])


def _train(model: GPT, train_ids: Tensor, *, steps: int | None, seconds: float | None,
           batch_size: int, lr: float, warmup: int, weight_decay: float, min_lr_ratio: float,
           grad_clip: float, seed: int, val_ids: Tensor | None, eval_every: int | None,
           eval_seconds: float | None, eval_windows: int, progress: bool, plot: bool,
           title: str) -> GPTHistory:
    """The loop shared by fit_gpt (stop after ``steps``) and train_gpt (stop after ``seconds``)."""
    from tqdm.auto import tqdm

    device = model.device
    bs = model.config.block_size
    gen = torch.Generator().manual_seed(seed)
    train_ids = train_ids.to(device)
    quick_val = _eval_sample(val_ids, bs, eval_windows).to(device) if val_ids is not None else None
    opt = make_optimizer(model, lr, weight_decay)
    history = GPTHistory()
    live = LiveLossPlot(title) if plot else None
    by_time = steps is None
    bar = tqdm(total=round(seconds) if by_time else steps, desc=title, disable=not progress,
               unit="s" if by_time else "step", leave=True, mininterval=0.5,
               bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt}{unit} [{elapsed}{postfix}]" if by_time else None)
    model.train()
    start = time.perf_counter()
    last_eval_time, running, n_running, step = 0.0, torch.zeros((), device=device), 0, 0
    try:
        while True:
            elapsed = time.perf_counter() - start
            fraction = elapsed / seconds if by_time else step / steps
            if (by_time and elapsed >= seconds) or (not by_time and step >= steps):
                break
            for group in opt.param_groups:
                group["lr"] = lr * lr_factor(step, fraction, warmup, min_lr_ratio)
            x, y = random_windows(train_ids, bs, batch_size, gen)
            _, loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            running += loss.detach()
            n_running += 1
            step += 1
            history.tokens += x.numel()
            now = time.perf_counter() - start
            due = (now - last_eval_time >= eval_seconds) if by_time else (step % eval_every == 0)
            done = (by_time and now >= seconds) or (not by_time and step >= steps)
            if due or done:
                losses = {"train": float(running) / n_running}
                if quick_val is not None:
                    losses["val"] = evaluate_gpt(model, quick_val)
                history.record(step, losses)
                history.times.append(time.perf_counter() - start)
                running, n_running, last_eval_time = torch.zeros((), device=device), 0, now
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                if live is not None:
                    live.update(history)
            if by_time:
                bar.update(min(now, seconds) - bar.n)
            else:
                bar.update(1)
    finally:
        bar.close()
        model.eval()
    history.seconds = time.perf_counter() - start
    if live is not None:
        live.update(history, force=True)
    return history


def fit_gpt(model: GPT, train_ids: Tensor, steps: int, *, batch_size: int = 32, lr: float = 1e-3,
            warmup: int = 100, weight_decay: float = 0.1, seed: int = 0, val_ids: Tensor | None = None,
            eval_every: int | None = None, min_lr_ratio: float = 0.1, grad_clip: float = 1.0,
            eval_windows: int = 64, progress: bool = True, plot: bool = False,
            title: str = "GPT training") -> GPTHistory:
    """Train ``model`` for ``steps`` AdamW steps on random windows of ``train_ids`` (1-D LongTensor).

    Learning rate: linear warmup over ``warmup`` steps to ``lr``, then a cosine down to
    ``lr * min_lr_ratio`` at the last step. Every ``eval_every`` steps (default: 20
    records per run) the history records the mean training loss and, if ``val_ids``
    is given, the loss on a fixed sample of ``eval_windows`` held-out windows (use
    :func:`evaluate_gpt` for the whole held-out set). Repeatable for a given ``seed``
    (on one device). Leaves the model in eval mode.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    if batch_size < 1 or lr <= 0 or warmup < 0 or weight_decay < 0:
        raise ValueError(f"need batch_size >= 1, lr > 0, warmup >= 0, weight_decay >= 0; got "
                         f"{batch_size}, {lr}, {warmup}, {weight_decay}")
    bs = model.config.block_size
    _check_ids(train_ids, bs, "train_ids")
    if val_ids is not None:
        _check_ids(val_ids, 1, "val_ids")
    eval_every = max(1, steps // 20) if eval_every is None else eval_every
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1, got {eval_every}")
    seed_everything(seed)
    return _train(model, train_ids, steps=steps, seconds=None, batch_size=batch_size, lr=lr,
                  warmup=warmup, weight_decay=weight_decay, min_lr_ratio=min_lr_ratio,
                  grad_clip=grad_clip, seed=seed, val_ids=val_ids, eval_every=eval_every,
                  eval_seconds=None, eval_windows=eval_windows, progress=progress, plot=plot,
                  title=title)


# ----------------------------------------------------------------------------- model size for a budget

@dataclass(frozen=True)
class Rung:
    """One shape on the ladder with the optimiser settings that suit it."""
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    batch_size: int
    lr: float


# Small to large. The first rungs were tuned on the 2-core development CPU (one thread)
# for 1-3 minute budgets on ~1 MB of English-like text; the larger ones are for GPUs.
# On a CPU small models trained for many steps win. Held-out nats/char on stdlib prose:
#   60 s of CPU time:  2 x 64 2.30 (lr 3e-3), 2.18 (lr 6e-3); 2 x 96 2.37; 3 x 64 2.45;
#                      3 x 96 2.77; nanoGPT's 4 x 128 recipe 2.81; batch 64 instead of 32: 2.50
#   180 s:             2 x 64 1.97 (5.7M tokens, 51 per weight); 3 x 96 2.10 (2.2M tokens)
# The winners saw 18-51 tokens per weight, so a shape is used only if the budget lets it see
# TOKENS_PER_PARAM = 25 (about Chinchilla's 20); below that the next smaller shape wins.
LADDER: tuple[Rung, ...] = (
    Rung(2, 2, 64, 64, 32, 6e-3),
    Rung(2, 4, 96, 64, 32, 4e-3),
    Rung(3, 4, 128, 128, 32, 2e-3),
    Rung(4, 4, 192, 128, 32, 1.5e-3),
    Rung(6, 6, 288, 128, 48, 1e-3),
    Rung(6, 6, 384, 256, 64, 1e-3),
    Rung(8, 8, 512, 256, 64, 6e-4),
    Rung(12, 12, 768, 256, 64, 3e-4),
)
TOKENS_PER_PARAM = 25.0    # training tokens a shape must be able to see per weight
PARAMS_PER_CHAR = 2.0      # at most this many weights per training character
WARMUP_STEPS = 50
WEIGHT_DECAY = 0.1
MIN_LR_RATIO = 0.05
# For texts too small for LADDER[0] (more than PARAMS_PER_CHAR weights per character). On
# 18.5k characters for 20 s: this shape 2.78 nats/char held out, 2 x 64 with dropout 0.2 3.14,
# 2 x 32 with batch 16 and dropout 0.1 2.99. Dropout is left off: at budgets of minutes it
# slowed learning more than it curbed overfitting (names: 2.34 with 0.1 against 2.16 without).
SMALL_DATA_RUNG = Rung(2, 2, 32, 64, 32, 1e-2)


@dataclass
class TrainingPlan:
    config: GPTConfig
    batch_size: int
    lr: float
    tokens_per_second: float | None = None     # measured while planning
    measured: dict = field(default_factory=dict)


def _tokens_per_second(config: GPTConfig, batch_size: int, device: torch.device, repeats: int = 3) -> float:
    """Training tokens per second of one shape, timed on random ids after one warm-up step."""
    model = GPT(config).to(device)
    opt = make_optimizer(model, 1e-3, 0.1)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(config.vocab_size, (config.block_size * 4 + 1,), generator=gen).to(device)
    elapsed = 0.0
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        x, y = random_windows(ids, config.block_size, batch_size, gen)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i:
            elapsed += time.perf_counter() - t0
    return repeats * batch_size * config.block_size / elapsed


def _flops_per_token(config: GPTConfig) -> float:
    """Rough training cost of one token: 6 per weight plus attention over the context."""
    return 6.0 * config.n_params() + 6.0 * config.n_layer * config.block_size * config.n_embd


def plan_training(n_train: int, vocab_size: int, seconds: float, device: torch.device | str,
                  ladder: tuple[Rung, ...] = LADDER) -> TrainingPlan:
    """The largest ladder shape that fits the budget and the data (see the module docstring).

    Walks the ladder cheapest first; a shape is timed for a few steps on ``device`` only
    if the previous shape's speed, scaled by the cost per token, says it could fit;
    stops at the first shape that is too slow or too big. Always returns at least the
    smallest shape.
    """
    device = torch.device(device)
    chosen, measured = None, {}
    first = ladder[0]
    if (GPTConfig(vocab_size, first.block_size, first.n_layer, first.n_head, first.n_embd).n_params()
            > PARAMS_PER_CHAR * n_train):
        ladder = (SMALL_DATA_RUNG,)
    for rung in ladder:
        block = min(rung.block_size, max(1, n_train - 2))
        config = GPTConfig(vocab_size=vocab_size, block_size=block, n_layer=rung.n_layer,
                           n_head=rung.n_head, n_embd=rung.n_embd)
        n_params = config.n_params()
        if chosen is not None:
            if n_params > PARAMS_PER_CHAR * n_train:
                break
            guess = chosen.tokens_per_second * _flops_per_token(chosen.config) / _flops_per_token(config)
            if guess * seconds < 0.5 * TOKENS_PER_PARAM * n_params:
                break                      # hopeless even if it ran twice as fast as the estimate
        tps = _tokens_per_second(config, rung.batch_size, device)
        measured[f"{rung.n_layer}x{rung.n_embd}"] = round(tps)
        if chosen is not None and tps * seconds < TOKENS_PER_PARAM * n_params:
            break
        chosen = TrainingPlan(config, rung.batch_size, rung.lr, tps)
    chosen.measured = measured
    return chosen


# ----------------------------------------------------------------------------- train on a text

MIN_TRAIN_CHARS = 64
MIN_VAL_CHARS = 16


@dataclass
class GPTRun:
    """What ``train_gpt`` produced: the model, its tokenizer and how training went.

    ``train_loss`` is the mean training loss of the last records; ``val_loss`` is the
    loss on the whole held-out tail (nats per character, see :func:`evaluate_gpt`).
    """
    model: GPT
    tokenizer: CharTokenizer
    config: GPTConfig
    steps: int
    seconds: float
    train_loss: float
    val_loss: float
    history: GPTHistory
    batch_size: int = 0
    lr: float = 0.0
    tokens_per_second: float = 0.0

    def record(self) -> dict:
        return {"steps": self.steps, "seconds": round(self.seconds, 2),
                "train_loss": self.train_loss, "val_loss": self.val_loss,
                "batch_size": self.batch_size, "lr": self.lr,
                "tokens_per_second": round(self.tokens_per_second)}


def _import_optimizer_machinery() -> None:
    """The first optimizer step imports torch._dynamo (seconds on a slow machine): do it
    before the budget's clock starts, so the budget is spent training."""
    import torch._dynamo  # noqa: F401


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, held-out tail). The tail is the last ``val_fraction`` of the characters."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("the text is empty: give a file with some text in it")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction!r}")
    n_val = int(len(text) * val_fraction)
    n_train = len(text) - n_val
    if n_val < MIN_VAL_CHARS or n_train < MIN_TRAIN_CHARS:
        need = max(math.ceil(MIN_VAL_CHARS / val_fraction), math.ceil(MIN_TRAIN_CHARS / (1 - val_fraction)))
        raise ValueError(f"the text has {len(text)} characters, too few to split off a held-out tail of "
                         f"{MIN_VAL_CHARS}+ and keep {MIN_TRAIN_CHARS}+ for training: give at least "
                         f"{need} characters")
    return text[:n_train], text[n_train:]


def train_gpt(text: str, seconds: float = 180, *, out: Path | str | None = None,
              config: GPTConfig | None = None, device: torch.device | str | None = None,
              val_fraction: float = 0.1, seed: int = 0, progress: bool = True,
              batch_size: int | None = None, lr: float | None = None, plot: bool = False,
              eval_windows: int = 32) -> GPTRun:
    """Train a character-level GPT on ``text`` for about ``seconds`` of wall-clock time.

    The last ``val_fraction`` of the text is held out. Without ``config`` the model
    shape, batch size and learning rate come from :func:`plan_training` (timed on the
    device; the timing counts against the budget). The learning rate warms up for
    WARMUP_STEPS steps and follows a cosine over the budget. Afterwards the whole
    held-out tail is scored (:func:`evaluate_gpt`; that time is not part of the budget);
    the warmup is shortened to 5% of the expected steps when the budget is short;
    with ``out`` the model is saved there (:func:`save_gpt`). During training the
    history records the held-out loss on ``eval_windows`` evenly spread windows about
    every 4% of the budget (at least every 2 s).
    """
    if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0):
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    _import_optimizer_machinery()
    start = time.perf_counter()
    train_text, val_text = split_text(text, val_fraction)
    tokenizer = CharTokenizer.fit(text)
    train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    device = pick_device(str(device) if device is not None else None)
    seed_everything(seed)
    if config is None:
        plan = plan_training(len(train_ids), tokenizer.vocab_size, seconds, device)
    else:
        if config.vocab_size != tokenizer.vocab_size:
            config = replace(config, vocab_size=tokenizer.vocab_size)
        plan = TrainingPlan(config, 32, 1e-3)
    config = plan.config
    if batch_size is not None:
        plan.batch_size = batch_size
    if lr is not None:
        plan.lr = lr
    _check_ids(train_ids, config.block_size, "the training text")
    seed_everything(seed)
    model = GPT(config).to(device)
    remaining = max(1.0, seconds - (time.perf_counter() - start))
    warmup = WARMUP_STEPS
    if plan.tokens_per_second:   # short budgets: warm up for at most 5% of the expected steps
        expected_steps = plan.tokens_per_second * remaining / (plan.batch_size * config.block_size)
        warmup = max(1, min(WARMUP_STEPS, int(0.05 * expected_steps)))
    history = _train(model, train_ids, steps=None, seconds=remaining, batch_size=plan.batch_size,
                     lr=plan.lr, warmup=warmup, weight_decay=WEIGHT_DECAY,
                     min_lr_ratio=MIN_LR_RATIO, grad_clip=1.0, seed=seed, val_ids=val_ids,
                     eval_every=None, eval_seconds=max(2.0, remaining / 25), eval_windows=eval_windows,
                     progress=progress, plot=plot, title=f"GPT {config.n_layer}x{config.n_embd}")
    train_seconds = time.perf_counter() - start
    val_loss = evaluate_gpt(model, val_ids)
    run = GPTRun(model=model, tokenizer=tokenizer, config=config, steps=history.steps[-1],
                 seconds=train_seconds, train_loss=history.last("train"), val_loss=val_loss,
                 history=history, batch_size=plan.batch_size, lr=plan.lr,
                 tokens_per_second=history.tokens / max(history.seconds, 1e-9))
    if out is not None:
        save_gpt(out, model, tokenizer, {**run.record(), "val_fraction": val_fraction, "seed": seed,
                                         "device": device.type, "planning": plan.measured})
    return run


# ----------------------------------------------------------------------------- files

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "config.json", "tokenizer.json"


def save_gpt(folder: Path | str, model: GPT, tokenizer: CharTokenizer, record: dict | None = None) -> Path:
    """Write model.safetensors, config.json ({"model": GPTConfig fields, "record": record})
    and tokenizer.json into ``folder`` (created if needed). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()
             if k != "head.weight"}                  # tied to tok_emb.weight: stored once
    suffix = f".tmp{os.getpid()}"
    files = {WEIGHTS: None, CONFIG: json.dumps({"model": asdict(model.config), "record": record or {}},
                                               indent=2),
             TOKENIZER: json.dumps(tokenizer.to_dict(), ensure_ascii=False)}
    save_file(state, str(folder / (WEIGHTS + suffix)))
    for name, content in files.items():
        if content is not None:
            (folder / (name + suffix)).write_text(content, encoding="utf-8")
    for name in files:                                  # readers never see half-written files
        os.replace(folder / (name + suffix), folder / name)
    return folder


def load_gpt(folder: Path | str, device: torch.device | str = "cpu") -> tuple[GPT, CharTokenizer, dict]:
    """(model in eval mode, tokenizer, record) from a folder written by :func:`save_gpt`."""
    folder = Path(folder)
    missing = [n for n in (WEIGHTS, CONFIG, TOKENIZER) if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a saved GPT (missing {', '.join(missing)}); "
                                "train one with `gencourse gpt train FILE --out DIR`")
    meta = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    config = GPTConfig(**meta["model"])
    tokenizer = CharTokenizer.from_dict(json.loads((folder / TOKENIZER).read_text(encoding="utf-8")))
    state = load_file(str(folder / WEIGHTS))
    state["head.weight"] = state["tok_emb.weight"]
    model = GPT(config)
    model.load_state_dict(state)
    return model.to(device).eval(), tokenizer, meta.get("record", {})
