import math

import pytest
import torch
import torch.nn.functional as F

from gencourse.data import ring
from gencourse.metrics import mode_coverage
from gencourse.models.gan import (
    DCDiscriminator, DCGANConfig, DCGenerator, GANTrainConfig, MLPDiscriminator, MLPGANConfig,
    MLPGenerator, discriminator_loss, generate, generator_loss, gradient_penalty, train_gan,
)


def test_mlp_shapes_plain_packed_and_conditional():
    cfg = MLPGANConfig(latent_dim=3, pack=4, n_classes=5)
    g, d = MLPGenerator(cfg), MLPDiscriminator(cfg)
    y = torch.arange(8) % 5
    x = g(torch.randn(8, 3), y)
    assert x.shape == (8, 2)
    assert d(x, y).shape == (2,)  # 8 samples judged in packs of 4
    plain = MLPDiscriminator(MLPGANConfig())
    assert plain(torch.randn(6, 2)).shape == (6,)


def test_dc_shapes_and_range():
    cfg = DCGANConfig(latent_dim=16, channels=8, n_classes=10)
    g, d = DCGenerator(cfg), DCDiscriminator(cfg)
    y = torch.arange(6)
    images = g(torch.randn(6, 16), y).detach()
    assert images.shape == (6, 1, 8, 8)
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    assert d(images, y).shape == (6,)
    assert d(images.reshape(6, 64), y).shape == (6,)


def test_shape_errors_say_what_to_pass():
    g, d = MLPGenerator(MLPGANConfig(latent_dim=2)), MLPDiscriminator(MLPGANConfig(pack=2))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 2\)"):
        g(torch.randn(4, 3))
    with pytest.raises(ValueError, match="multiple of pack=2"):
        d(torch.randn(3, 2))
    cond = MLPGenerator(MLPGANConfig(n_classes=3))
    with pytest.raises(ValueError, match="conditional: pass class labels"):
        cond(torch.randn(4, 2))
    with pytest.raises(ValueError, match="choose one of minimax, non_saturating"):
        generator_loss("lsgan", torch.zeros(3))


def test_losses_match_hand_computed_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    sig = torch.sigmoid
    bce_d = -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean())
    assert torch.allclose(discriminator_loss("non_saturating", real, fake), bce_d)
    assert torch.allclose(discriminator_loss("minimax", real, fake), bce_d)
    assert torch.allclose(generator_loss("minimax", fake), torch.log(1 - sig(fake)).mean())
    assert torch.allclose(generator_loss("non_saturating", fake), -torch.log(sig(fake)).mean())
    assert discriminator_loss("wasserstein", real, fake).item() == pytest.approx(0.0 - 1.0)
    # hinge: relu(1 - 2) + relu(1 - 0) = 0 + 1 -> 0.5 ; relu(1 - 1) + relu(1 + 1) = 2 -> 1.0
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx(1.5)
    assert generator_loss("hinge", fake).item() == pytest.approx(0.0)


def test_saturating_generator_gradient_vanishes_when_the_discriminator_wins():
    # D is confident the fakes are fake (logit -8): the minimax loss gives almost no gradient.
    logits = torch.full((4,), -8.0, requires_grad=True)
    (g_minimax,) = torch.autograd.grad(generator_loss("minimax", logits), logits)
    (g_ns,) = torch.autograd.grad(generator_loss("non_saturating", logits), logits)
    assert g_minimax.abs().max() < 1e-3 < g_ns.abs().min()


def test_gradient_penalty_is_zero_for_a_unit_slope_critic_and_positive_otherwise():
    class Linear(torch.nn.Module):
        def __init__(self, w):
            super().__init__()
            self.w = torch.nn.Parameter(w)

        def forward(self, x):
            return x @ self.w

    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    unit = Linear(torch.tensor([0.6, 0.8]))     # ‖∇‖ = 1 everywhere
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    steep = Linear(torch.tensor([3.0, 4.0]))    # ‖∇‖ = 5 -> (5 - 1)² = 16
    assert gradient_penalty(steep, real, fake).item() == pytest.approx(16.0)
    gp = gradient_penalty(steep, real, fake)
    gp.backward()  # differentiable with respect to the critic's parameters
    assert steep.w.grad is not None and steep.w.grad.abs().sum() > 0


def test_a_short_gan_run_learns_the_ring_and_is_repeatable():
    dist = ring(std=0.05)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        cfg = MLPGANConfig(hidden_dim=64)
        g, d = MLPGenerator(cfg), MLPDiscriminator(cfg)
        before = mode_coverage(generate(g, 1000), dist)
        gen = torch.Generator().manual_seed(0)
        train_gan(g, d, lambda n: (dist.sample(n, generator=gen), None),
                  GANTrainConfig(steps=1500, batch_size=128, ema_decay=0.99),
                  seed=0, progress=False, plot=False)
        results.append(generate(g, 1000))
        after = mode_coverage(results[-1], dist)
        assert after.high_quality > before.high_quality + 0.3
        assert after.modes >= 6
    assert torch.equal(results[0], results[1])


def test_train_gan_rejects_bad_settings():
    g, d = MLPGenerator(), MLPDiscriminator()
    with pytest.raises(ValueError, match="ema_decay"):
        train_gan(g, d, lambda n: (torch.randn(n, 2), None), GANTrainConfig(steps=1, ema_decay=1.0),
                  progress=False, plot=False)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        train_gan(g, d, lambda n: (torch.randn(n, 2), None), GANTrainConfig(loss="bad"),
                  progress=False, plot=False)


def test_minibatch_std_lets_the_discriminator_see_batch_diversity():
    torch.manual_seed(0)
    d = MLPDiscriminator(MLPGANConfig(minibatch_std=True))
    with torch.no_grad():
        d.spread_weight.fill_(1.0)
    varied, collapsed = torch.randn(64, 2), torch.zeros(64, 2)
    x = varied[:1]
    # The same sample is scored differently depending on the batch it arrives in.
    with torch.no_grad():
        in_varied = d(torch.cat([x, varied[1:]]))[0]
        in_collapsed = d(torch.cat([x, collapsed[1:]]))[0]
    assert not torch.allclose(in_varied, in_collapsed)
    assert MLPDiscriminator(MLPGANConfig()).spread_weight is None


def test_r1_penalty_trains_and_changes_the_discriminator_update():
    dist = ring(std=0.05)
    finals = []
    for r1 in (0.0, 1.0):
        torch.manual_seed(0)
        g, d = MLPGenerator(MLPGANConfig(hidden_dim=32)), MLPDiscriminator(MLPGANConfig(hidden_dim=32))
        gen = torch.Generator().manual_seed(0)
        train_gan(g, d, lambda n: (dist.sample(n, generator=gen), None),
                  GANTrainConfig(steps=20, batch_size=64, r1_weight=r1), progress=False, plot=False)
        finals.append(torch.cat([p.detach().flatten() for p in d.parameters()]))
    assert torch.isfinite(finals[1]).all()
    assert not torch.allclose(finals[0], finals[1])


def test_gradient_penalty_is_taken_at_the_interpolates_between_real_and_fake():
    # D(x) = ½‖x‖² has ∇D(x) = x, so the penalty at x̂ is (‖x̂‖ − 1)²: taken at the real or
    # the fake points instead of x̂ = ε·real + (1 − ε)·fake, it comes out different.
    class HalfSquaredNorm(torch.nn.Module):
        def forward(self, x):
            return 0.5 * (x ** 2).sum(dim=1)

    real, fake = torch.randn(64, 2) * 3 + 2, torch.randn(64, 2) - 1
    got = gradient_penalty(HalfSquaredNorm(), real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(64, 1, generator=torch.Generator().manual_seed(7))
    mixed = eps * real + (1 - eps) * fake
    assert got.item() == pytest.approx(((mixed.norm(dim=1) - 1) ** 2).mean().item(), rel=1e-6)
    for wrong_points in (real, fake):
        assert abs(got.item() - ((wrong_points.norm(dim=1) - 1) ** 2).mean().item()) > 0.1


def test_minibatch_std_adds_the_spread_across_the_batch_not_across_features():
    torch.manual_seed(0)
    cfg = MLPGANConfig(minibatch_std=True)
    d = MLPDiscriminator(cfg)
    with torch.no_grad():
        d.spread_weight.normal_()
    plain = MLPDiscriminator(MLPGANConfig())
    plain.load_state_dict({k: v for k, v in d.state_dict().items() if k != "spread_weight"})
    with torch.no_grad():
        # A batch of identical samples has zero spread: the feature adds nothing.
        copies = torch.randn(1, 2).repeat(32, 1)
        assert torch.allclose(d(copies), plain(copies), atol=1e-6)
        # A varied batch: the logits move by <head weights, spread_weight> · (mean std over the batch).
        x = torch.randn(32, 2)
        spread = d.body(x).std(dim=0).mean()
        shift = (d.head.weight[0] * d.spread_weight).sum() * spread
        assert torch.allclose(d(x), plain(x) + shift, atol=1e-5)


def test_r1_penalty_adds_half_gamma_times_the_squared_gradient_norm_on_real_data():
    # A linear critic D(x) = w·x + b has ∇D = w everywhere, and a constant generator makes the
    # first step's discriminator loss computable by hand: softplus terms + (γ/2)·‖w‖².
    class ConstantGenerator(torch.nn.Module):
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.c = torch.nn.Parameter(torch.tensor([0.5, -1.0]))

        def forward(self, z):
            return self.c.expand(len(z), 2) + 0 * z

    class LinearCritic(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([1.5, -2.0]))
            self.b = torch.nn.Parameter(torch.tensor(0.25))

        def forward(self, x):
            return x @ self.w + self.b

    real = torch.randn(16, 2, generator=torch.Generator().manual_seed(3))
    for gamma in (0.0, 0.4, 3.0):
        history = train_gan(ConstantGenerator(), LinearCritic(), lambda n: (real[:n], None),
                            GANTrainConfig(steps=1, batch_size=16, r1_weight=gamma, log_every=1),
                            progress=False, plot=False)
        with torch.no_grad():
            w, b = torch.tensor([1.5, -2.0]), 0.25
            expected = (torch.nn.functional.softplus(-(real @ w + b)).mean()
                        + torch.nn.functional.softplus(torch.tensor([0.5, -1.0]) @ w + b)
                        + 0.5 * gamma * (w ** 2).sum())
        assert history.values["discriminator"][0] == pytest.approx(expected.item(), rel=1e-5)
