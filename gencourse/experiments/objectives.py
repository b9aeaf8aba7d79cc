"""GPT, BERT and T5 objectives side by side: same names, same sizes, same number of steps.

Each model reads windows of the first-names stream ("\\nAnna\\nBo\\n...") of chapter 06
and trains for the same number of AdamW steps on batches of the same size:

    gpt    decoder only, next-character prediction              (models.gpt.GPT)
    bert   encoder only, masked characters, 15% with 80/10/10    (models.seq2seq.Encoder)
    t5     encoder–decoder, span corruption with sentinels       (models.seq2seq.EncoderDecoder)

Then each fills in the hidden middle of held-out names (:func:`fill_middle`): BERT and T5
see both sides of the gap, GPT only the left side. GPT alone also writes names left to
right, scored by its held-out loss per character.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from gencourse.data.chars import CharTokenizer
from gencourse.models.gpt import GPT, GPTConfig
from gencourse.models.gpt_train import evaluate_gpt, lr_factor, make_optimizer, random_windows
from gencourse.models.objectives import IGNORE, mask_tokens, span_batch
from gencourse.models.seq2seq import Encoder, EncoderDecoder
from gencourse.runtime import seed_everything

KINDS = ("gpt", "bert", "t5")
N_SENTINELS = 6


@dataclass(frozen=True)
class Vocab:
    """The names' characters, then [MASK], the decoder's start token and T5's sentinels."""
    chars: CharTokenizer

    @property
    def mask_id(self) -> int:
        return self.chars.vocab_size

    @property
    def start_id(self) -> int:
        return self.chars.vocab_size + 1

    @property
    def sentinels(self) -> list[int]:
        return list(range(self.chars.vocab_size + 2, self.chars.vocab_size + 2 + N_SENTINELS))

    @property
    def size(self) -> int:
        return self.chars.vocab_size + 2 + N_SENTINELS


@dataclass
class NamesData:
    vocab: Vocab
    train: Tensor            # 1-D ids of the training stream
    test_stream: Tensor      # 1-D ids of the held-out stream
    test_names: list[str]


def names_data() -> NamesData:
    from gencourse.data.names import names_corpus
    split = names_corpus()
    texts = ["\n" + "\n".join(part) + "\n" for part in (split.train, split.val, split.test)]
    chars = CharTokenizer.fit(texts)
    ids = lambda t: torch.tensor(chars.encode(t), dtype=torch.long)  # noqa: E731
    return NamesData(Vocab(chars), ids(texts[0]), ids(texts[2]), list(split.test))


@dataclass
class ObjectiveRun:
    kind: str
    model: nn.Module
    params: int
    seconds: float
    steps: int
    losses: list[float] = field(default_factory=list)
    supervised_share: float = 0.0      # share of input positions that carry a loss
    checkpoints: dict[int, dict[str, Tensor]] = field(default_factory=dict)   # step -> weights


def build(kind: str, vocab_size: int, *, n_layer: int, n_head: int, n_embd: int, block_size: int,
          dropout: float = 0.0) -> nn.Module:
    """The model of ``kind``. T5 gets ``n_layer // 2`` blocks per side (at least one), so its
    encoder and decoder together are about as deep as the other two."""
    layers = max(1, n_layer // 2) if kind == "t5" else n_layer
    config = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=layers,
                       n_head=n_head, n_embd=n_embd, dropout=dropout)
    if kind == "gpt":
        return GPT(config)
    if kind == "bert":
        return Encoder(config)
    if kind == "t5":
        return EncoderDecoder(config)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def train_objective(kind: str, data: NamesData, *, steps: int = 600, batch_size: int = 32,
                    block_size: int = 16, n_layer: int = 2, n_head: int = 4, n_embd: int = 64,
                    lr: float = 3e-3, seed: int = 0, device: torch.device | str = "cpu",
                    checkpoints: tuple[int, ...] = ()) -> ObjectiveRun:
    """Train one model of ``kind`` on random windows of the names stream; after each step
    count in ``checkpoints`` a copy of the weights goes into ``run.checkpoints``."""
    seed_everything(seed)
    vocab = data.vocab
    model = build(kind, vocab.size, n_layer=n_layer, n_head=n_head, n_embd=n_embd,
                  block_size=block_size).to(device)
    opt = make_optimizer(model, lr, weight_decay=0.1)
    gen = torch.Generator().manual_seed(seed)
    train = data.train.to(device)
    run = ObjectiveRun(kind, model, sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()),
                       0.0, steps)
    supervised = total = 0
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * lr_factor(step, step / steps, 30, 0.1)
        x, y = random_windows(train, block_size, batch_size, gen)
        if kind == "gpt":
            _, loss = model(x, y)
            supervised += y.numel()
        elif kind == "bert":
            inputs, labels = mask_tokens(x, mask_id=vocab.mask_id, n_random=vocab.chars.vocab_size,
                                         generator=gen)
            _, loss = model(inputs, labels)
            supervised += int((labels != IGNORE).sum())
        else:
            src, tgt_in, tgt = span_batch(x, vocab.sentinels, vocab.start_id, generator=gen)
            _, loss = model(src, tgt_in, tgt)
            supervised += int(sum(t not in vocab.sentinels for t in tgt[0].tolist())) * len(tgt)
        total += x.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run.losses.append(float(loss.detach()))
        if step + 1 in checkpoints:
            run.checkpoints[step + 1] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    run.seconds = time.perf_counter() - start
    run.supervised_share = supervised / total
    model.eval()
    return run


@dataclass
class FillScore:
    exact: float             # share of gaps filled exactly (greedy / argmax)
    char_accuracy: float     # share of hidden characters right
    nll: float               # nats per hidden character of the true filling
    n: int                   # gaps scored


def gap_windows(data: NamesData, block_size: int, gap: int, left: int = 8
                ) -> tuple[Tensor, Tensor]:
    """Windows of the held-out names stream, each with a gap of ``gap`` characters in the middle
    of one name (at least one character of the name on each side), at position ``left``.

    Returns (windows (N, block_size), starts (N,)) where windows[:, left : left + gap] is the gap.
    Scoring inside windows of the training length keeps every model in the setting it was
    trained in (a lone "\nName\n" is shorter than anything the encoders saw)."""
    stream = data.test_stream
    windows, pos = [], 1
    for name in data.test_names:
        a = (len(name) - gap) // 2
        q = pos + a                                   # stream position of the gap
        if len(name) >= gap + 2 and q - left >= 0 and q - left + block_size <= len(stream):
            windows.append(stream[q - left: q - left + block_size])
        pos += len(name) + 1
    return torch.stack(windows), torch.full((len(windows),), left)


@torch.no_grad()
def fill_middle(run: ObjectiveRun, data: NamesData, gap: int = 1, left: int = 8) -> FillScore:
    """Hide ``gap`` characters in the middle of each held-out name and ask the model for them.

    Each name sits in a window of the held-out stream (:func:`gap_windows`), with ``left``
    characters before the gap. GPT reads only those; BERT reads the whole window with the
    gap masked; T5's encoder reads it with the gap replaced by one sentinel, cut on the right
    to the source length it was trained on (one fewer character of right context than BERT
    for ``gap=1``). ``nll`` is exact for GPT and T5 (they write the gap left to right); for
    BERT it adds each hidden character's own prediction as if they were independent, exact
    only for ``gap=1``. Answers are greedy (GPT, T5) or each position's argmax (BERT)."""
    vocab, model = data.vocab, run.model
    device = next(model.parameters()).device
    bs = model.config.block_size
    windows, _ = gap_windows(data, bs, gap, left)
    ids = windows.to(device)
    truth = ids[:, left: left + gap]                                  # (n, gap)
    if run.kind == "gpt":
        logits, _ = model(ids[:, : left + gap - 1])                   # position p predicts p + 1
        logp = torch.log_softmax(logits[:, left - 1:].float(), dim=-1)           # (n, gap, V)
        guess = model.generate(ids[:, :left], gap, greedy=True)[:, left:]
    elif run.kind == "bert":
        masked = ids.clone()
        masked[:, left: left + gap] = vocab.mask_id
        logits, _ = model(masked)
        logp = torch.log_softmax(logits[:, left: left + gap, : vocab.chars.vocab_size].float(), dim=-1)
        guess = logp.argmax(-1)
    else:
        s0 = torch.full_like(ids[:, :1], vocab.sentinels[0])
        trained_length = bs - max(1, round(0.15 * bs)) + 1           # span_corrupt's source length
        src = torch.cat([ids[:, :left], s0, ids[:, left + gap:]], dim=1)[:, :trained_length]
        start = torch.full_like(ids[:, :1], vocab.start_id)
        tgt_in = torch.cat([start, s0, truth[:, :-1]], dim=1)         # <start> <s0> gap[:-1]
        logits, _ = model(src, tgt_in)
        logp = torch.log_softmax(logits[:, 1:].float(), dim=-1)
        guess = model.generate(src, vocab.start_id, gap + 1)[:, 1:]
    nll = -float(logp.gather(-1, truth[..., None]).sum())
    n = len(ids)
    return FillScore(float((guess == truth).all(dim=1).float().mean()), float((guess == truth).float().mean()),
                     nll / (n * gap), n)


def generation_loss(run: ObjectiveRun, data: NamesData) -> float | None:
    """Held-out nats per character when writing names left to right; None for models that do
    not define a left-to-right distribution (BERT, and T5 as trained here)."""
    if run.kind != "gpt":
        return None
    return evaluate_gpt(run.model, data.test_stream, stride=8)


__all__ = ["KINDS", "Vocab", "NamesData", "names_data", "ObjectiveRun", "build", "train_objective",
           "FillScore", "gap_windows", "fill_middle", "generation_loss"]
