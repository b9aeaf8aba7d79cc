import numpy as np
import pytest
import torch

from gencourse.models import Autoencoder, AutoencoderConfig
from gencourse.widgets import InterpolationWidget, LatentExplorer


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Autoencoder(AutoencoderConfig(latent_dim=2))


def test_latent_explorer_redraws_when_a_slider_moves(model):
    explorer = LatentExplorer(model.decode, latent_dim=2, value_range=(-3, 3))
    before_image, before_png = explorer.image.copy(), explorer.view.value
    explorer.sliders[1].value = 2.5
    assert explorer.code.tolist() == [[0.0, 2.5]]
    assert not np.allclose(before_image, explorer.image)
    assert explorer.view.value != before_png
    assert "+2.50" in explorer.readout.value
    with torch.no_grad():
        expected = model.decode(torch.tensor([[0.0, 2.5]])).reshape(8, 8).numpy()
    assert np.allclose(explorer.image, expected)


def test_latent_explorer_per_dimension_ranges_and_start(model):
    explorer = LatentExplorer(model.decode, 2, value_range=torch.tensor([[-1.0, 1.0], [0.0, 5.0]]),
                              start=torch.tensor([0.5, 4.0]))
    assert (explorer.sliders[1].min, explorer.sliders[1].max) == (0.0, 5.0)
    assert explorer.code.tolist() == [[0.5, 4.0]]


def test_latent_explorer_validates_the_model(model):
    with pytest.raises(ValueError, match="latent_dim=3 but the decoder expects 2"):
        LatentExplorer(model.decode, latent_dim=3)
    with pytest.raises(ValueError, match=r"needs 16"):
        LatentExplorer(model.decode, latent_dim=2, image_shape=(4, 4))
    with pytest.raises(ValueError, match="decoder failed"):
        LatentExplorer(lambda z: z @ torch.zeros(5, 64), latent_dim=2)
    with pytest.raises(ValueError, match="low < high"):
        LatentExplorer(model.decode, 2, value_range=(1, -1))
    with pytest.raises(ValueError, match="start has 3 values"):
        LatentExplorer(model.decode, 2, start=torch.zeros(3))


def test_interpolation_widget_moves_from_one_input_to_the_other(model):
    x_a, x_b = torch.zeros(64), torch.ones(64)
    widget = InterpolationWidget(model.encode, model.decode, x_a, x_b)
    with torch.no_grad():
        at_a = model(x_a[None]).reshape(8, 8).numpy()
        at_b = model(x_b[None]).reshape(8, 8).numpy()
    assert np.allclose(widget.image, at_a, atol=1e-6)
    widget.slider.value = 1.0
    assert np.allclose(widget.image, at_b, atol=1e-6)


def test_interpolation_widget_validates_inputs(model):
    with pytest.raises(ValueError, match="same shape"):
        InterpolationWidget(model.encode, model.decode, torch.zeros(64), torch.zeros(63))
    with pytest.raises(ValueError, match="encoder failed"):
        InterpolationWidget(model.encode, model.decode, torch.zeros(10), torch.zeros(10))


def test_widgets_drive_a_vae_decoder_and_its_mean_encoder():
    from gencourse.models.vae import VAE, VAEConfig
    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    explorer = LatentExplorer(vae.decode, latent_dim=2)
    before = explorer.image.copy()
    explorer.sliders[0].value = 2.0
    assert not np.allclose(before, explorer.image)
    with pytest.raises(ValueError, match="latent_dim=3 but the decoder expects 2"):
        LatentExplorer(vae.decode, latent_dim=3)
    x_a, x_b = torch.zeros(1, 8, 8), torch.ones(1, 8, 8)
    slider = InterpolationWidget(lambda x: vae.encode(x)[0], vae.decode, x_a, x_b)
    start = slider.image.copy()
    slider.slider.value = 1.0
    with torch.no_grad():
        end = vae.decode(vae.encode(x_b.reshape(1, 64))[0]).reshape(8, 8).numpy()
    assert np.allclose(slider.image, end, atol=1e-6) and not np.allclose(start, end)
