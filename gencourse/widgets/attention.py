"""An attention-map viewer (ipywidgets): pick a layer, a head and an input; the map redraws.

    AttentionViewer(attention_maps, inputs, labels=None)

``attention_maps(x)`` runs the model on one input ``x = inputs[i:i+1]`` and returns its
attention weights, one tensor per layer, each (1, H, T_query, T_key) — what
``gencourse.models.attention.MultiHeadAttention`` returns as its second output. Layers
may differ in their number of heads and of query positions (e.g. a last layer where only
the final position asks). The function is tried once on the first input, and a
ValueError says what is wrong rather than failing on the first click.

The viewer exposes ``.widget`` (what Jupyter shows) and ``.map``, the map on screen as a
(T_query, T_key) numpy array, so it can be tested without a browser. Colours use a fixed
0–1 scale; with labels, key columns and query rows are labelled with their tokens (when a
layer has fewer queries than keys, the queries are taken to be the last positions). The
readout line says where the queries look (``AttentionViewer.describe``). Widgets need a live
kernel; lessons put a static figure of the same maps beside them.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

MapsFn = Callable[[Tensor], Sequence[Tensor]]


def _checked_maps(maps: Sequence[Tensor], where: str) -> list[np.ndarray]:
    """Per-layer (H, T_query, T_key) numpy arrays from what the model returned."""
    if isinstance(maps, Tensor) or not isinstance(maps, (list, tuple)) or not maps:
        raise ValueError(f"attention_maps must return a non-empty list of per-layer tensors (1, H, T_query, "
                         f"T_key), got {type(maps).__name__} for {where}")
    out = []
    for layer, m in enumerate(maps):
        if not isinstance(m, Tensor) or m.dim() != 4 or m.shape[0] != 1:
            shape = tuple(m.shape) if isinstance(m, Tensor) else type(m).__name__
            raise ValueError(f"layer {layer}'s attention weights should have shape (1, H, T_query, T_key), "
                             f"got {shape} for {where}")
        out.append(m[0].detach().float().cpu().numpy())
    return out


class AttentionViewer:
    """Choose a layer, a head and an input; see where each query position looks.

    attention_maps: x (1, ...) -> list of per-layer weights (1, H, T_query, T_key)
    inputs: (N, ...) the inputs to choose from
    labels: optional token labels per input (N lists of T_key strings), used on the axes
    """

    def __init__(self, attention_maps: MapsFn, inputs: Tensor, labels: Sequence[Sequence[str]] | None = None,
                 size: float = 4.5):
        if not callable(attention_maps):
            raise ValueError(f"attention_maps must be a function of one input, got {type(attention_maps).__name__}")
        if not isinstance(inputs, Tensor) or inputs.dim() < 1 or len(inputs) == 0:
            raise ValueError("inputs must be a non-empty tensor with the inputs along dimension 0")
        if labels is not None and len(labels) != len(inputs):
            raise ValueError(f"labels has {len(labels)} entries but there are {len(inputs)} inputs")
        self._fn, self.inputs, self.labels, self.size = attention_maps, inputs, labels, size
        try:
            first = self._run(0)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"attention_maps failed on inputs[0:1] of shape {tuple(inputs[:1].shape)}: "
                             f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}") from exc
        if labels is not None and len(labels[0]) != first[0].shape[-1]:
            raise ValueError(f"labels[0] has {len(labels[0])} tokens but the attention maps have "
                             f"{first[0].shape[-1]} key positions")
        self._cache = {0: first}
        self.layer = w.Dropdown(options=[(f"layer {i + 1}", i) for i in range(len(first))], value=0,
                                description="layer")
        self.head = w.Dropdown(description="head")
        self.index = w.IntSlider(value=0, min=0, max=len(inputs) - 1, description="input",
                                 continuous_update=False)
        self.view = w.Image(format="png")
        self.readout = w.Label()
        self._set_heads()
        self.layer.observe(self._on_layer, names="value")
        self.head.observe(self._update, names="value")
        self.index.observe(self._update, names="value")
        self.widget = w.HBox([w.VBox([self.layer, self.head, self.index, self.readout]), self.view])
        self._update()

    def _run(self, i: int) -> list[np.ndarray]:
        with torch.no_grad():
            maps = self._fn(self.inputs[i:i + 1])
        return _checked_maps(maps, f"input {i}")

    def maps(self, i: int) -> list[np.ndarray]:
        """Per-layer (H, T_query, T_key) weights of input ``i`` (computed once, then cached)."""
        if i not in self._cache:
            self._cache[i] = self._run(i)
        return self._cache[i]

    def _set_heads(self) -> None:
        n = self.maps(self.index.value)[self.layer.value].shape[0]
        self.head.options = [(f"head {h + 1}", h) for h in range(n)]
        self.head.value = min(self.head.value or 0, n - 1)

    def _on_layer(self, _change=None) -> None:
        with self.head.hold_trait_notifications():
            self._set_heads()
        self._update()

    def _update(self, _change=None) -> None:
        i, layer, head = self.index.value, self.layer.value, self.head.value
        self.map = self.maps(i)[layer][head]
        self.view.value = self._png(self.map, self.labels[i] if self.labels is not None else None,
                                    f"input {i}, layer {layer + 1}, head {head + 1}")
        self.readout.value = self.describe(self.map, self.labels[i] if self.labels is not None else None)

    @staticmethod
    def describe(m: np.ndarray, labels: Sequence[str] | None = None) -> str:
        """One line on where the queries of map ``m`` (T_query, T_key) look.

        One query (a layer where only the last position asks): the key it weighs most, with its
        token. Several queries, aligned with the last keys: how far back each query's strongest
        key lies (0 = itself), the most common offset and the mean weight of those keys.
        """
        n_q, n_k = m.shape
        if n_q == 1:
            s = int(m[0].argmax())
            token = f" ({labels[s]})" if labels is not None else ""
            return f"the query looks most at key {s}{token}, weight {float(m[0, s]):.2f}"
        queries = np.arange(n_k - n_q, n_k)                         # query t sits at key position t
        best = m.argmax(-1)
        back = queries - best
        offsets, counts = np.unique(back, return_counts=True)
        common = int(offsets[counts.argmax()])
        return (f"strongest key of each query: most often {common} position(s) back "
                f"({counts.max()} of {n_q} queries); mean weight of the strongest key {float(m.max(-1).mean()):.2f}")

    def _png(self, m: np.ndarray, labels: Sequence[str] | None, title: str) -> bytes:
        n_q, n_k = m.shape
        fig = Figure(figsize=(self.size * 1.15, max(1.4, self.size * min(1.0, n_q / n_k)) + 0.6))
        ax = fig.add_subplot()
        # a fixed 0-1 scale, as in the lessons' static figures: colours compare across heads and layers
        image = ax.imshow(m, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
        fig.colorbar(image, ax=ax, label="attention weight")
        ax.set(title=title, xlabel="key (attended to)", ylabel="query")
        if labels is not None and n_k <= 80:
            ax.set_xticks(range(n_k), list(labels), fontsize=5, rotation=90)
            # query t is the token at key position t; the last n_q keys when fewer queries ask
            ax.set_yticks(range(n_q), list(labels)[n_k - n_q:], fontsize=5 if n_q > 1 else 8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        return buf.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
