"""A small training loop for notebooks: progress bar, live loss plot, repeatable.

The loop knows nothing about models. You give it a ``step`` function that does
one optimisation step and returns its losses; ``fit`` calls it ``n_steps`` times,
records the losses, shows a progress bar (tqdm's notebook-aware bar) and, inside
Jupyter, a loss plot that refreshes while training runs.

    def step(i):
        idx = next(batches)
        loss = loss_fn(model(x[idx]), y[idx])
        opt.zero_grad(); loss.backward(); opt.step()
        return {"loss": loss}

    history = fit(step, n_steps=2000, seed=0)
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

from gencourse.runtime import seed_everything

StepResult = Mapping[str, "float | Tensor"] | float | Tensor


@dataclass
class History:
    """Losses recorded during ``fit``: ``steps`` (the step numbers) and one list per loss."""

    steps: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, step: int, losses: Mapping[str, float]) -> None:
        self.steps.append(step)
        for name, value in losses.items():
            self.values.setdefault(name, []).append(value)

    def last(self, name: str = "loss", window: int = 1) -> float:
        """Mean of the last ``window`` recorded values of loss ``name``."""
        if name not in self.values:
            raise KeyError(f"no loss named {name!r} was recorded; recorded: {list(self.values)}")
        tail = self.values[name][-window:]
        return sum(tail) / len(tail)


def minibatches(n: int, batch_size: int, generator: torch.Generator | None = None,
                device: torch.device | str | None = None) -> Iterator[Tensor]:
    """Endless index batches over ``range(n)``, reshuffled every epoch.

    Yields (batch_size,) int64 tensors (the last batch of an epoch may be smaller).
    Indexing an in-memory tensor with these is far faster than a DataLoader for
    the small datasets of this course.
    """
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be positive, got n={n}, batch_size={batch_size}")
    while True:
        order = torch.randperm(n, generator=generator)
        if device is not None:
            order = order.to(device)
        yield from order.split(batch_size)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LiveLossPlot:
    """A loss plot that redraws in place in a notebook (no-op outside Jupyter)."""

    def __init__(self, title: str, every_seconds: float = 1.0, logy: bool = False):
        self.title, self.every_seconds, self.logy = title, every_seconds, logy
        self.active = _in_notebook()
        self._handle = None
        self._last = 0.0

    def update(self, history: History, force: bool = False) -> None:
        if not self.active or not history.steps:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.every_seconds:
            return
        self._last = now
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig, ax = plt.subplots(figsize=(6, 2.6))
        for name, values in history.values.items():
            ax.plot(history.steps, values, label=name)
        ax.set(title=self.title, xlabel="step", ylabel="loss")
        if self.logy:
            ax.set_yscale("log")
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)


def _as_losses(result: StepResult) -> dict[str, float]:
    if isinstance(result, Mapping):
        return {k: _scalar(v) for k, v in result.items()}
    return {"loss": _scalar(result)}


def _scalar(value: "float | Tensor") -> float:
    return float(value.detach()) if isinstance(value, Tensor) else float(value)


def fit(step: Callable[[int], StepResult], n_steps: int, *, seed: int | None = None,
        log_every: int = 10, progress: bool = True, plot: bool = True,
        title: str = "training loss", logy: bool = False) -> History:
    """Call ``step(i)`` for i = 0..n_steps-1 and record what it returns.

    step:      does one optimisation step; returns a float/0-d tensor or a dict of them
    seed:      if given, all random generators are seeded first (repeatable runs)
    log_every: record (and pay for a device sync) only every this many steps
    progress:  show a progress bar; plot: show a live loss plot in Jupyter
    """
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    if log_every < 1:
        raise ValueError(f"log_every must be >= 1, got {log_every}")
    if seed is not None:
        seed_everything(seed)
    from tqdm.auto import tqdm

    history = History()
    live = LiveLossPlot(title, logy=logy) if plot else None
    bar = tqdm(total=n_steps, desc=title, disable=not progress, leave=True,
               mininterval=0.5, miniters=max(1, n_steps // 100))
    start = time.perf_counter()
    try:
        for i in range(n_steps):
            result = step(i)
            if i % log_every == 0 or i == n_steps - 1:
                losses = _as_losses(result)
                history.record(i, losses)
                bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
                if live is not None:
                    live.update(history)
            bar.update(1)
    finally:
        bar.close()
    history.seconds = time.perf_counter() - start
    if live is not None:
        live.update(history, force=True)
    return history
