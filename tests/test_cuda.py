"""The reference models and loops run unchanged on a GPU (skipped where there is none)."""
import pytest
import torch

from gencourse.data import load_digits, moons
from gencourse.models import Autoencoder, AutoencoderConfig, GaussianMixture, PCA, train_autoencoder
from gencourse.models.autoencoder import reconstruction_mse
from gencourse.runtime import pick_device
from gencourse.widgets import LatentExplorer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_pick_device_prefers_cuda():
    assert pick_device().type == "cuda"


def test_autoencoder_trains_on_cuda_as_well_as_on_cpu():
    digits = load_digits(flatten=True)
    errors = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        model = Autoencoder(AutoencoderConfig(latent_dim=8)).to(device)
        train_autoencoder(model, digits.x_train, n_steps=1000, seed=0, progress=False, plot=False)
        errors[device] = reconstruction_mse(model, digits.x_test.to(device))
    assert errors["cuda"] < 0.02
    assert abs(errors["cuda"] - errors["cpu"]) < 0.004


def test_mixture_and_pca_on_cuda_match_cpu():
    x = moons().sample(800, seed=0).double()
    cpu = GaussianMixture(6).fit(x, n_iter=50, seed=0)
    gpu = GaussianMixture(6).fit(x.cuda(), n_iter=50, seed=0)
    assert torch.allclose(gpu.means.cpu(), cpu.means, atol=1e-6)
    assert gpu.sample(100, seed=0).device.type == "cuda"
    digits = load_digits(flatten=True).x_train
    p_cpu, p_gpu = PCA(8).fit(digits), PCA(8).fit(digits.cuda())
    assert torch.allclose(p_gpu.reconstruct(digits.cuda()).cpu(), p_cpu.reconstruct(digits), atol=1e-4)


def test_widget_decodes_with_a_cuda_model():
    model = Autoencoder(AutoencoderConfig(latent_dim=2)).cuda()
    explorer = LatentExplorer(model.decode, 2)
    before = explorer.image.copy()
    explorer.sliders[0].value = 2.0
    assert (explorer.image != before).any()


def test_gan_trains_on_cuda():
    from gencourse.data import ring
    from gencourse.metrics import mode_coverage
    from gencourse.models.gan import (
        DCDiscriminator, DCGANConfig, DCGenerator, GANTrainConfig, MLPDiscriminator, MLPGANConfig,
        MLPGenerator, generate, train_gan,
    )

    dist = ring(std=0.05)
    torch.manual_seed(0)
    g, d = MLPGenerator(MLPGANConfig()).cuda(), MLPDiscriminator(MLPGANConfig()).cuda()
    train_gan(g, d, lambda n: (dist.sample(n).cuda(), None),
              GANTrainConfig(steps=1500, betas=(0.0, 0.9), r1_weight=0.1), progress=False, plot=False)
    assert mode_coverage(generate(g, 2500).cpu(), dist).modes >= 7
    digits = load_digits()
    cfg = DCGANConfig(channels=16, n_classes=10)
    gc, dc = DCGenerator(cfg).cuda(), DCDiscriminator(cfg).cuda()
    x, y = digits.x_train.cuda(), digits.y_train.cuda()
    train_gan(gc, dc, lambda n: (x[:n], y[:n]), GANTrainConfig(steps=20, batch_size=64),
              progress=False, plot=False)
    assert generate(gc, 10, torch.arange(10)).shape == (10, 1, 8, 8)


def test_vae_trains_and_measures_its_bound_on_cuda_as_on_cpu():
    from gencourse.models.vae import VAE, VAEConfig, importance_weighted_bound, sample, train_vae
    digits = load_digits()
    bounds = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        vae = VAE(VAEConfig(latent_dim=8, n_classes=10)).to(device)
        train_vae(vae, digits.x_train, digits.y_train, steps=800, progress=False, plot=False)
        bounds[device] = float(importance_weighted_bound(
            vae, digits.x_test.to(device), digits.y_test.to(device), k=100).mean())
        assert sample(vae, 10, torch.arange(10), seed=0).device.type == device
    assert bounds["cuda"] > -130
    assert abs(bounds["cuda"] - bounds["cpu"]) < 5
