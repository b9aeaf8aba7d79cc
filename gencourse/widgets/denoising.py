"""A denoising viewer (ipywidgets): pick a digit, a guidance scale and a number of sampling steps,
and watch samples emerge from noise.

    DenoisingViewer(run, judge=None)
    denoising_chain(run, digit, guidance, steps, seed)   the same pictures without a widget

``run`` is a class-conditional diffusion model with the interface of
:class:`gencourse.experiments.digit_diffusion.DigitDiffusion`: ``generate(labels, guidance=...,
method=..., steps=..., seed=..., keep=...)`` returning images (N, 1, 8, 8) in [0, 1] and, with
``keep``, a dict {t: images of x_t}; and ``schedule.steps``. Steps equal to T use the ancestral
sampler; fewer use DDIM. With a judge (a digit classifier with ``predict``), the readout says how
many samples it reads as the chosen digit.

The viewer exposes ``.widget`` (what Jupyter shows), ``.frames`` (the picture on screen as an
(n_samples, n_columns, 8, 8) numpy array: x_t at evenly spaced points of the chain, then the
sample) and ``.label`` (the readout), so it can be tested without a browser. Widgets need a live
kernel; the lesson puts a static figure of the same chain beside it.
"""
from __future__ import annotations

import io

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure

from gencourse.models.diffusion import sampling_steps

STEP_CHOICES = (5, 10, 20, 50)


def denoising_chain(run, digit: int, guidance: float, steps: int, seed: int = 0, n_samples: int = 6,
                    columns: int = 5) -> tuple[np.ndarray, list[int], torch.Tensor]:
    """Sample ``n_samples`` images of ``digit``; return (frames, steps shown, final images).

    frames: (n_samples, columns + 1, 8, 8) in [0, 1], x_t at ``columns`` evenly spaced steps of the
    chain (the first is pure noise) and then the sample. ``steps`` = T runs the ancestral sampler,
    fewer run DDIM.
    """
    if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= int(digit) <= 9:
        raise ValueError(f"digit must be an int in 0..9, got {digit!r}")
    total = run.schedule.steps
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= total:
        raise ValueError(f"steps must be an int in 1..{total} (T = {total} uses the ancestral sampler), got {steps!r}")
    times = sampling_steps(total, steps)
    shown = [times[round(i * (len(times) - 1) / max(columns - 1, 1))] for i in range(columns)]
    labels = torch.full((n_samples,), int(digit), dtype=torch.long)
    method = "ddpm" if steps == total else "ddim"
    images, kept = run.generate(labels, guidance=guidance, method=method, steps=None if method == "ddpm" else steps,
                                seed=seed, keep=tuple(shown))
    frames = torch.stack([kept[t] for t in shown] + [images], dim=1)[:, :, 0]     # (n, columns + 1, 8, 8)
    return frames.numpy(), shown, images


def _png(frames: np.ndarray, shown: list[int]) -> bytes:
    n, cols = frames.shape[:2]
    fig = Figure(figsize=(0.9 * cols, 0.9 * n + 0.4))
    axes = fig.subplots(n, cols, squeeze=False)
    for i in range(n):
        for j in range(cols):
            ax = axes[i, j]
            ax.imshow(frames[i, j], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.axis("off")
            if i == 0:
                ax.set_title(f"t = {shown[j]}" if j < len(shown) else "sample", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    return buffer.getvalue()


class DenoisingViewer:
    """Controls for the digit, the guidance scale, the number of steps and the noise seed."""

    def __init__(self, run, judge=None, digit: int = 3, guidance: float = 1.5, steps: int = 20, seed: int = 0,
                 n_samples: int = 6):
        if not callable(getattr(run, "generate", None)) or not hasattr(run, "schedule"):
            raise ValueError("run must be a class-conditional diffusion model with generate() and schedule, "
                             "e.g. gencourse.zoo.diffusion.pixel_diffusion()")
        if judge is not None and not callable(getattr(judge, "predict", None)):
            raise ValueError("judge must have a predict(images) method (e.g. gencourse.zoo.digits_judge()), or be None")
        self.run, self.judge, self.n_samples = run, judge, n_samples
        total = run.schedule.steps
        choices = [s for s in STEP_CHOICES if s < total] + [total]
        if steps not in choices:
            raise ValueError(f"steps must be one of {choices} ({total} = the ancestral sampler), got {steps!r}")
        style = {"description_width": "110px"}
        self.digit = w.Dropdown(options=list(range(10)), value=digit, description="digit", style=style)
        self.guidance = w.FloatSlider(value=guidance, min=0.0, max=5.0, step=0.5, description="guidance s",
                                      style=style, continuous_update=False, readout_format=".1f")
        self.steps = w.SelectionSlider(options=choices, value=steps, description="sampling steps", style=style,
                                       continuous_update=False)
        self.seed = w.BoundedIntText(value=seed, min=0, max=2 ** 31 - 1, description="seed", style=style,
                                     layout=w.Layout(width="220px"))
        self.button = w.Button(description="new noise", tooltip="start again from the next seed")
        self.readout = w.Label()
        self.image = w.Image(format="png", layout=w.Layout(width="420px"))
        for control in (self.digit, self.guidance, self.steps, self.seed):
            control.observe(self._update, names="value")
        self.button.on_click(lambda _b: setattr(self.seed, "value", self.seed.value + 1))
        self.widget = w.VBox([w.HBox([self.digit, self.seed, self.button]), self.guidance, self.steps,
                              self.readout, self.image])
        self.frames = np.zeros(0)
        self._update()

    @property
    def label(self) -> str:
        return self.readout.value

    def _update(self, _change=None) -> None:
        steps = int(self.steps.value)
        self.frames, shown, images = denoising_chain(self.run, int(self.digit.value), float(self.guidance.value),
                                                     steps, int(self.seed.value), self.n_samples)
        sampler = "ancestral (DDPM)" if steps == self.run.schedule.steps else "DDIM"
        text = (f"digit {self.digit.value} · s = {self.guidance.value:.1f} · {steps} {sampler} steps · "
                f"seed {self.seed.value}")
        if self.judge is not None:
            agree = int((self.judge.predict(images) == int(self.digit.value)).sum())
            text += f" — the judge reads {agree}/{len(images)} as {self.digit.value}"
        self.readout.value = text
        self.image.value = _png(self.frames, shown)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
