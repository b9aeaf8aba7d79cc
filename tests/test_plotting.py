import matplotlib
import pytest
import torch

from gencourse.data import ring
from gencourse.plotting import (
    image_grid, interpolation_strip, latent_map, samples_over_data, to_images,
)

matplotlib.use("Agg")


def test_to_images_accepts_the_usual_layouts():
    assert to_images(torch.rand(3, 64)).shape == (3, 8, 8)
    assert to_images(torch.rand(3, 1, 8, 8)).shape == (3, 8, 8)
    assert to_images(torch.rand(3, 12), image_shape=(3, 4)).shape == (3, 3, 4)
    with pytest.raises(ValueError, match="image_shape"):
        to_images(torch.rand(3, 10))


def test_image_grid_titles_and_labels():
    fig = image_grid(torch.rand(7, 64), ncols=4, title="some digits", labels=list("abcdefg"))
    assert fig._suptitle.get_text() == "some digits"
    assert len(fig.axes) == 8
    assert fig.axes[0].get_title() == "a"
    with pytest.raises(ValueError, match="7 images"):
        image_grid(torch.rand(7, 64), labels=["x"])


def test_samples_over_data_draws_every_layer_with_labels():
    r = ring()
    fig = samples_over_data(r.sample(50, seed=0), r.sample(50, seed=1), r.centers, title="ring")
    ax = fig.axes[0]
    assert ax.get_title() == "ring" and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.collections) == 3
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        samples_over_data(torch.zeros(5, 3))


def test_latent_map_colours_by_class():
    fig = latent_map(torch.randn(30, 2), torch.arange(30) % 10, title="codes")
    assert fig.axes[0].get_title() == "codes"
    assert len(fig.axes) == 2  # the map and its colour bar


def test_interpolation_strip_labels_alphas():
    fig = interpolation_strip(torch.rand(4, 64), "walk", alphas=[0, 0.25, 0.5, 1])
    assert [ax.get_title() for ax in fig.axes] == ["α=0.00", "α=0.25", "α=0.50", "α=1.00"]
