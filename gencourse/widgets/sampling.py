"""A sampling playground: how temperature, top-k and top-p change what a language model writes.

    SamplingPlayground   sliders for temperature, top-k and top-p, a greedy switch and a seed;
                         a handful of samples regenerated whenever a control moves
    draw_samples         the same samples without a widget (for static tables and tests)

The model is any ``nn.Module`` called as ``model(idx)`` with ``idx`` (B, T) token ids that
returns logits (B, T, V), or a tuple whose first item is those logits (a gencourse GPT).
The tokenizer needs ``encode(str) -> list[int]``, ``decode(list[int]) -> str`` and
``vocab_size``. Each next token is chosen by :func:`gencourse.models.sampling.sample_next`
from the logits at the last position, with the context cropped to the model's
``config.block_size`` when it has one, so a sample equals the prefix of
``GPT.generate(..., use_cache=False)`` with the same seed and settings.

The playground checks the model, tokenizer and prompt once and raises a one-line
ValueError that says what is wrong. It exposes ``.widget`` (what Jupyter shows),
``.samples`` (the current samples, a list of str), ``.html`` (an HTML widget listing
them) and ``.label`` (a one-line summary: settings, distinct share, novel share), so it
can be tested without a browser. Widgets need a live kernel; lessons put a static table
of samples beside it.
"""
from __future__ import annotations

import html as html_lib
from collections.abc import Collection

import ipywidgets as w
import torch
from torch import Tensor, nn

from gencourse.models.sampling import sample_next


def _settings_error(temperature, top_k, top_p) -> str | None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        return f"temperature must be > 0, got {temperature!r}; use greedy=True for the most likely token"
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        return f"top_k must be a whole number >= 0 (0 or None switches it off), got {top_k!r}"
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0.0 < top_p <= 1.0):
        return f"top_p must be in (0, 1] (1 or None switches it off), got {top_p!r}"
    return None


def _logits(model: nn.Module, idx: Tensor) -> Tensor:
    out = model(idx)
    return out[0] if isinstance(out, (tuple, list)) else out


@torch.no_grad()
def draw_samples(model: nn.Module, tokenizer, *, prompt: str = "\n", n_samples: int = 8,
                 max_new_tokens: int = 24, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, greedy: bool = False, seed: int = 0,
                 stop: str | None = "\n") -> list[str]:
    """``n_samples`` continuations of ``prompt``, each cut before the first ``stop`` character.

    All samples are drawn in one batch from one ``torch.Generator`` seeded with ``seed``;
    top_k = 0 or None and top_p = 1 or None switch those filters off. Returns the
    generated text only (without the prompt).
    """
    problem = _settings_error(temperature, top_k, top_p)
    if problem:
        raise ValueError(problem)
    if not isinstance(prompt, str) or not prompt:     # the same message as the playground's
        raise ValueError(f"prompt must be a non-empty str (e.g. '\\n' to start a new name), got {prompt!r}")
    prompt_ids = tokenizer.encode(prompt)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    block_size = getattr(getattr(model, "config", None), "block_size", None)
    stop_id = tokenizer.encode(stop)[0] if stop else None
    idx = torch.tensor([prompt_ids] * n_samples, dtype=torch.long, device=device)
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    done = torch.zeros(n_samples, dtype=torch.bool, device=device)
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new_tokens):
            context = idx if block_size is None else idx[:, -block_size:]
            nxt = sample_next(_logits(model, context)[:, -1, :], temperature=float(temperature),
                              top_k=top_k or None, top_p=None if top_p in (None, 1, 1.0) else float(top_p),
                              greedy=greedy, generator=generator)
            idx = torch.cat([idx, nxt[:, None]], dim=1)
            if stop_id is not None:
                done |= nxt == stop_id
                if bool(done.all()):
                    break
    finally:
        model.train(was_training)
    texts = [tokenizer.decode(row[len(prompt_ids):].tolist()) for row in idx]
    return [t.split(stop)[0] if stop else t for t in texts]


class SamplingPlayground:
    """Temperature / top-k / top-p sliders, a greedy switch and a seed over a few samples.

    model, tokenizer: see the module docstring. prompt: text every sample continues
    (for a names model, "\\n": the start of a new name). stop: the character that ends
    a sample (None: always ``max_new_tokens`` tokens). known: optional collection of
    strings (e.g. the training names); the summary then reports the share of samples
    that are not in it, and the list marks them.
    """

    def __init__(self, model: nn.Module, tokenizer, *, prompt: str = "\n", n_samples: int = 8,
                 max_new_tokens: int = 24, stop: str | None = "\n", temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, greedy: bool = False, seed: int = 0,
                 known: Collection[str] | None = None) -> None:
        for name in ("encode", "decode"):
            if not callable(getattr(tokenizer, name, None)):
                raise ValueError(f"the tokenizer has no {name}() method; pass e.g. a "
                                 "gencourse.data.chars.CharTokenizer")
        vocab = getattr(tokenizer, "vocab_size", None)
        if not isinstance(vocab, int) or vocab < 1:
            raise ValueError("the tokenizer needs a vocab_size (a whole number >= 1)")
        for name, value in (("n_samples", n_samples), ("max_new_tokens", max_new_tokens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"prompt must be a non-empty str (e.g. '\\n' to start a new name), got {prompt!r}")
        try:
            prompt_ids = tokenizer.encode(prompt)
        except ValueError as err:
            raise ValueError(f"the prompt {prompt!r} cannot be encoded: {err}") from None
        if stop is not None:
            if not isinstance(stop, str) or len(stop) != 1:
                raise ValueError(f"stop must be a single character or None, got {stop!r}")
            try:
                tokenizer.encode(stop)
            except ValueError:
                raise ValueError(f"the stop character {stop!r} is not in the tokenizer's vocabulary; "
                                 "pass stop=None to generate max_new_tokens tokens") from None
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module (e.g. a gencourse GPT), got {type(model).__name__}")
        block_size = getattr(getattr(model, "config", None), "block_size", None)
        if block_size is not None and len(prompt_ids) > block_size:
            prompt_ids = prompt_ids[-block_size:]
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        try:
            with torch.no_grad():
                logits = _logits(model, torch.tensor([prompt_ids], dtype=torch.long, device=device))
        except Exception as exc:
            raise ValueError(f"the model failed on the encoded prompt (shape (1, {len(prompt_ids)})): "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
        if not isinstance(logits, Tensor) or logits.dim() != 3 or logits.shape[:2] != (1, len(prompt_ids)):
            got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ValueError(f"the model should return logits of shape (1, {len(prompt_ids)}, V) for the "
                             f"prompt, got {got}")
        if logits.shape[-1] != vocab:
            raise ValueError(f"the model predicts {logits.shape[-1]} tokens but the tokenizer has {vocab}; "
                             "pass the tokenizer the model was trained with")
        problem = _settings_error(temperature, top_k, top_p)
        if problem:
            raise ValueError(problem)
        if top_k > vocab:
            raise ValueError(f"top_k={top_k} exceeds the vocabulary of {vocab} tokens; use 0 to switch it off")

        self.model, self.tokenizer = model, tokenizer
        self.prompt, self.stop, self.n_samples, self.max_new_tokens = prompt, stop, n_samples, max_new_tokens
        self.known = set(known) if known is not None else None
        style = {"description_width": "90px"}
        layout = w.Layout(width="360px")
        self.temperature = w.FloatSlider(value=float(temperature), min=0.1, max=2.0, step=0.05,
                                         description="temperature", style=style, layout=layout,
                                         continuous_update=False, readout_format=".2f")
        self.top_k = w.IntSlider(value=int(top_k), min=0, max=vocab, step=1, description="top-k (0: off)",
                                 style=style, layout=layout, continuous_update=False)
        self.top_p = w.FloatSlider(value=float(top_p), min=0.05, max=1.0, step=0.05,
                                   description="top-p (1: off)", style=style, layout=layout,
                                   continuous_update=False, readout_format=".2f")
        self.greedy = w.Checkbox(value=bool(greedy), description="greedy (argmax)", indent=False)
        self.seed = w.BoundedIntText(value=seed, min=0, max=2 ** 31 - 1, description="seed", style=style,
                                     layout=w.Layout(width="200px"))
        self.button = w.Button(description="new samples", tooltip="draw again with the next seed")
        self.label = w.Label()
        self.html = w.HTML()
        for control in (self.temperature, self.top_k, self.top_p, self.greedy, self.seed):
            control.observe(self._update, names="value")
        self.button.on_click(self._next_seed)
        controls = w.VBox([self.temperature, self.top_k, self.top_p,
                           w.HBox([self.greedy, self.seed, self.button])])
        self.widget = w.VBox([controls, self.label, self.html])
        self.samples: list[str] = []
        self._update()

    @property
    def settings(self) -> dict:
        """The current knobs, as passed to :func:`draw_samples`."""
        return {"temperature": float(self.temperature.value), "top_k": int(self.top_k.value) or None,
                "top_p": None if self.top_p.value >= 1.0 else float(self.top_p.value),
                "greedy": bool(self.greedy.value), "seed": int(self.seed.value)}

    def _next_seed(self, _button=None) -> None:
        self.seed.value = self.seed.value + 1          # fires _update

    def _update(self, _change=None) -> None:
        s = self.settings
        self.samples = draw_samples(self.model, self.tokenizer, prompt=self.prompt, n_samples=self.n_samples,
                                    max_new_tokens=self.max_new_tokens, stop=self.stop, **s)
        distinct = len(set(self.samples))
        knobs = ("greedy (argmax)" if s["greedy"] else
                 f"T={s['temperature']:.2f} · top-k {s['top_k'] or 'off'} · "
                 f"top-p {'off' if s['top_p'] is None else format(s['top_p'], '.2f')} · seed {s['seed']}")
        summary = f"{knobs} — {len(self.samples)} samples, {distinct} distinct"
        if self.known is not None:
            novel = sum(x not in self.known for x in self.samples)
            summary += f", {novel} not in the training set"
        self.label.value = summary
        tag = "code" if self.stop is not None else "pre"      # multi-line samples keep their layout
        items = []
        for x in self.samples:
            mark = " <i>(new)</i>" if self.known is not None and x not in self.known else ""
            text = html_lib.escape(x) if x else "&lt;empty&gt;"
            items.append(f"<li><{tag} style='margin:0'>{text}</{tag}>{mark}</li>")
        self.html.value = "<ol style='margin:0'>" + "".join(items) + "</ol>"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
