"""The attention-map viewer redraws for each layer, head and input, and rejects bad models clearly."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gencourse.models.attention import MultiHeadAttention, causal_mask
from gencourse.widgets.attention import AttentionViewer

T, D = 6, 8


class TwoLayers(torch.nn.Module):
    """Embedding, a 2-head causal layer, then a 1-head layer where only the last position asks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(10, D)
        self.a1, self.a2 = MultiHeadAttention(D, 2), MultiHeadAttention(D, 1)

    def maps(self, x):
        h = self.emb(x)
        out, w1 = self.a1(h, mask=causal_mask(x.shape[1]))
        _, w2 = self.a2((h + out)[:, -1:], context=h + out)
        return [w1, w2]


@pytest.fixture
def viewer():
    model = TwoLayers()
    inputs = torch.randint(0, 10, (3, T), generator=torch.Generator().manual_seed(1))
    labels = [[str(int(t)) for t in row] for row in inputs]
    return model, inputs, AttentionViewer(model.maps, inputs, labels)


def test_viewer_shows_the_chosen_layer_head_and_input(viewer):
    model, inputs, v = viewer
    with torch.no_grad():
        expected = model.maps(inputs[:1])
    assert np.allclose(v.map, expected[0][0, 0].numpy())
    png = v.view.value
    v.head.value = 1
    assert np.allclose(v.map, expected[0][0, 1].numpy()) and v.view.value != png
    v.index.value = 2
    with torch.no_grad():
        third = model.maps(inputs[2:3])
    assert np.allclose(v.map, third[0][0, 1].numpy())
    assert "position(s) back" in v.readout.value


def test_readout_names_the_offset_for_a_square_map_and_the_token_for_one_query():
    previous = np.zeros((4, 4))
    previous[0, 0] = 1.0
    previous[np.arange(1, 4), np.arange(0, 3)] = 0.9
    previous[np.arange(1, 4), np.arange(1, 4)] = 0.1
    assert AttentionViewer.describe(previous).startswith("strongest key of each query: most often 1 position(s) "
                                                         "back (3 of 4 queries)")
    assert "mean weight of the strongest key 0.92" in AttentionViewer.describe(previous)
    one = np.array([[0.1, 0.7, 0.2]])
    assert AttentionViewer.describe(one, ["a", "M", "c"]) == "the query looks most at key 1 (M), weight 0.70"


def test_colours_use_a_fixed_scale_and_queries_are_labelled_with_tokens(viewer, monkeypatch):
    _, inputs, v = viewer
    import matplotlib.axes

    seen = {}
    original_imshow, original_yticks = matplotlib.axes.Axes.imshow, matplotlib.axes.Axes.set_yticks

    def imshow(self, m, **kwargs):
        seen["vmax"] = kwargs.get("vmax")
        return original_imshow(self, m, **kwargs)

    def set_yticks(self, ticks, labels=None, **kwargs):
        seen["ylabels"] = list(labels) if labels is not None else None
        return original_yticks(self, ticks, labels, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "imshow", imshow)
    monkeypatch.setattr(matplotlib.axes.Axes, "set_yticks", set_yticks)
    v.head.value = 1                                             # redraw layer 1
    assert seen["vmax"] == 1.0 and seen["ylabels"] == v.labels[0]
    v.layer.value = 1                                            # one query: the last token
    assert seen["vmax"] == 1.0 and seen["ylabels"] == v.labels[0][-1:]
    assert "the query looks most at key" in v.readout.value


def test_switching_to_a_layer_with_fewer_heads_and_one_query(viewer):
    _, inputs, v = viewer
    v.head.value = 1
    v.layer.value = 1
    assert [o[1] for o in v.head.options] == [0] and v.head.value == 0
    assert v.map.shape == (1, T)
    assert abs(float(v.map.sum()) - 1.0) < 1e-5
    v.layer.value = 0
    assert v.map.shape == (T, T)
    assert np.allclose(np.triu(v.map, 1), 0.0), "a causal layer never looks ahead"


def test_maps_are_computed_once_per_input(viewer):
    _, inputs, _ = viewer
    calls = []

    def counting(x):
        calls.append(1)
        return TwoLayers().maps(x)

    v = AttentionViewer(counting, inputs)
    v.head.value = 1
    v.layer.value = 1
    assert len(calls) == 1
    v.index.value = 1
    v.index.value = 0
    assert len(calls) == 2


@pytest.mark.parametrize("make, message", [
    (lambda m, x: AttentionViewer(m.maps, x[:0]), "inputs must be a non-empty tensor"),
    (lambda m, x: AttentionViewer("model", x), "attention_maps must be a function"),
    (lambda m, x: AttentionViewer(lambda t: torch.zeros(1, 2, T, T), x), "non-empty list of per-layer tensors"),
    (lambda m, x: AttentionViewer(lambda t: [torch.zeros(2, T, T)], x), r"layer 0's attention weights should have shape"),
    (lambda m, x: AttentionViewer(lambda t: m.maps(t.float()), x), r"attention_maps failed on inputs\[0:1\]"),
    (lambda m, x: AttentionViewer(m.maps, x, labels=[["a"] * T]), "labels has 1 entries but there are 3 inputs"),
    (lambda m, x: AttentionViewer(m.maps, x, labels=[["a"] * 4] * 3), "labels\\[0\\] has 4 tokens but"),
])
def test_bad_models_and_inputs_raise_one_line_errors(viewer, make, message):
    model, inputs, _ = viewer
    with pytest.raises(ValueError, match=message) as error:
        make(model, inputs)
    assert "\n" not in str(error.value)
