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


def test_gpt_trains_generates_and_caches_on_cuda(tmp_path):
    from gencourse.models.gpt import GPT, GPTConfig
    from gencourse.models.gpt_train import evaluate_gpt, fit_gpt, load_gpt, save_gpt, train_gpt

    ids = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 40)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=32)).cuda()
    fit_gpt(model, ids, 150, batch_size=16, lr=3e-3, warmup=10, progress=False)
    assert evaluate_gpt(model, ids) < 0.1
    prompt = torch.tensor([[3, 4]], device="cuda")
    cached = model.generate(prompt, 40, greedy=True)
    assert cached.device.type == "cuda"
    assert torch.equal(cached, model.generate(prompt, 40, greedy=True, use_cache=False))
    assert cached[0, :13].tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 4]
    sampled = model.generate(prompt, 20, top_p=0.9, generator=torch.Generator().manual_seed(0))
    assert sampled.device.type == "cuda"
    text = "the cat sat on the mat. the dog sat on the log. " * 200
    run = train_gpt(text, seconds=3, device="cuda", out=tmp_path / "m", progress=False)
    assert run.model.device.type == "cuda" and run.val_loss < 1.5
    again, _, record = load_gpt(tmp_path / "m", device="cuda")
    assert abs(record["val_loss"] - run.val_loss) < 1e-9


def test_sampling_filters_on_cuda_match_cpu():
    from gencourse.models.sampling import top_k_filter, top_p_filter

    logits = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    for f, arg in ((top_k_filter, 7), (top_p_filter, 0.8)):
        assert torch.equal(f(logits.cuda(), arg).cpu(), f(logits, arg))


def test_diffusion_trains_and_samples_on_cuda():
    """The chapter-08 loop on a GPU: the same two-mode task as the CPU test in test_diffusion.py."""
    from gencourse.models.denoisers import DenoiserConfig, MLPDenoiser
    from gencourse.models.diffusion import cosine_schedule, sample
    from gencourse.models.diffusion_train import DiffusionTrainConfig, train_denoiser

    torch.manual_seed(0)
    s = cosine_schedule(100)
    x = torch.cat([torch.full((2000, 1), -1.0), torch.full((2000, 1), 1.0)]) + 0.1 * torch.randn(4000, 1)
    model = MLPDenoiser(DenoiserConfig(dim=1, hidden=64, blocks=2)).cuda()
    ema, _ = train_denoiser(model, x.cuda(), s, DiffusionTrainConfig(steps=1000, batch_size=128, lr=3e-3), seed=0)
    out = sample(ema, s, (2000, 1), generator=torch.Generator().manual_seed(1), device="cuda")
    assert out.device.type == "cuda"
    assert float(((out.abs() - 1).abs() < 0.3).float().mean()) > 0.9
    assert 0.4 < float((out > 0).float().mean()) < 0.6


def test_watermarked_sampling_and_membership_losses_run_on_cuda():
    from gencourse.ethics.watermark import SettingsPerRow, detect, green_table
    from gencourse.experiments.ethics import token_nll
    from gencourse.models.gpt import GPT, GPTConfig
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=32)).cuda().eval()
    table = green_table(20, 0.25, key=3)
    processor = SettingsPerRow([table, table], [0.0, 6.0], torch.tensor([0, 0, 1, 1]))
    out = model.generate(torch.zeros(4, 1, dtype=torch.long, device="cuda"), 60,
                         generator=torch.Generator().manual_seed(0), logits_processor=processor)
    zs = [detect(row.cpu(), table).z for row in out]
    assert min(zs[2:]) > 4 > max(zs[:2]), "the watermark must show in the marked rows only"
    assert processor.kl()[2:].min() > processor.kl()[:2].max() and processor.nll().device.type == "cpu"
    nll = token_nll(model, out)
    assert nll.device.type == "cuda" and torch.allclose(nll.cpu(), token_nll(model.cpu(), out.cpu()), atol=1e-4)
