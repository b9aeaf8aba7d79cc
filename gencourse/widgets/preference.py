"""A blind preference widget (ipywidgets): which of two digits was written by a person?

    PreferenceWidget(study, rater="you")    answer the trials of a PairwiseStudy yourself
    pair_figure(study, trials)              the same pairs as a static figure (no kernel needed)

Each trial shows two digits, one real and one generated, in the random order the study fixed; the
rater clicks the one they believe is real. The widget never shows which side was which until
every trial is answered; then the readout gives the generator's win rate with its Wilson interval
(and the agreement with other raters of the same study, when there are some). Several people can
rate the same study in turn: change the name in the "rater" box.

The widget exposes ``.widget`` (what Jupyter shows), ``.readout`` (a Label) and ``.left`` /
``.right`` (the buttons), so it can be tested without a browser; widgets need a live kernel, so the
lesson puts ``pair_figure`` beside it.
"""
from __future__ import annotations

import io

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from gencourse.experiments.preference import PairwiseStudy


def _digit_png(image, size: float = 1.6) -> bytes:
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    ax.imshow(np.asarray(image, dtype=float).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    fig.tight_layout(pad=0.1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    return buffer.getvalue()


def pair_figure(study: PairwiseStudy, trials: int = 8, reveal: bool = False) -> Figure:
    """Trials 0..trials-1 as a figure, one pair per column (left above right). With ``reveal`` each
    generated image is marked, as an answer key for after the study."""
    trials = min(trials, len(study.trials))
    fig = Figure(figsize=(1.1 * trials, 2.6))
    axes = fig.subplots(2, trials, squeeze=False)
    for j in range(trials):
        left, right = study.pair(j)
        generated_left = study.trials[j].generated_left
        for i, image in enumerate((left, right)):
            ax = axes[i, j]
            ax.imshow(np.asarray(image, dtype=float).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if reveal and (i == 0) == generated_left:
                for spine in ax.spines.values():
                    spine.set(color="tab:red", linewidth=2.5)
        axes[0, j].set_title(f"trial {j + 1}", fontsize=8)
    axes[0, 0].set_ylabel("left", fontsize=8)
    axes[1, 0].set_ylabel("right", fontsize=8)
    fig.suptitle("which digit of each pair is real?" + (" (generated ones framed in red)" if reveal else ""),
                 fontsize=9)
    fig.tight_layout()
    return fig


class PreferenceWidget:
    """Two image buttons' worth of controls: show a trial, record "left" or "right", move on."""

    def __init__(self, study: PairwiseStudy, rater: str = "you"):
        if not isinstance(study, PairwiseStudy):
            raise ValueError("study must be a gencourse.experiments.preference.PairwiseStudy")
        self.study = study
        self.rater = w.Text(value=rater, description="rater", layout=w.Layout(width="220px"))
        self.left_image = w.Image(format="png", layout=w.Layout(width="120px"))
        self.right_image = w.Image(format="png", layout=w.Layout(width="120px"))
        self.left = w.Button(description="left is real", layout=w.Layout(width="120px"))
        self.right = w.Button(description="right is real", layout=w.Layout(width="120px"))
        self.readout = w.Label()
        self.left.on_click(lambda _b: self.choose("left"))
        self.right.on_click(lambda _b: self.choose("right"))
        self.rater.observe(lambda _change: self._show(), names="value")
        self.widget = w.VBox([self.rater, w.HBox([w.VBox([self.left_image, self.left]),
                                                  w.VBox([self.right_image, self.right])]), self.readout])
        self._show()

    @property
    def label(self) -> str:
        return self.readout.value

    def choose(self, choice: str) -> None:
        """Answer the current trial for the current rater (what the buttons do)."""
        name = self.rater.value.strip()
        if name and self.study.next_trial(name) is not None:
            self.study.answer(name, choice)
        self._show()

    def _show(self) -> None:
        name = self.rater.value.strip()
        if not name:
            self.readout.value = "type a rater name to start"
            return
        index = self.study.next_trial(name)
        total = len(self.study.trials)
        if index is not None:
            left, right = self.study.pair(index)
            self.left_image.value, self.right_image.value = _digit_png(left), _digit_png(right)
            self.readout.value = f"{name}: trial {index + 1} of {total} — which digit was written by a person?"
            self.left.disabled = self.right.disabled = False
            return
        self.left.disabled = self.right.disabled = True
        result = self.study.win_rate(name)
        text = (f"{name}: done. You picked the generated digit as real in {result.wins} of {result.n} trials: "
                f"win rate {100 * result.rate:.0f}% (95% interval {100 * result.low:.0f}–{100 * result.high:.0f}%; "
                f"50% = indistinguishable)")
        finished = [r for r in self.study.answers if self.study.next_trial(r) is None]
        if len(finished) >= 2:
            text += f" · agreement between the {len(finished)} raters: κ = {self.study.agreement():.2f}"
        self.readout.value = text

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
