"""Checks for chapter 02 (GANs from scratch): losses, the optimal discriminator, one step."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close, expect_tensor


def _logits(seed: int, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g) * 3, torch.randn(n, generator=g) * 3


@exercise("02.1", "the discriminator's loss")
def check_discriminator_loss(discriminator_loss) -> None:
    real, fake = _logits(0)
    got = call(discriminator_loss, real, fake, what="discriminator_loss(real_logits, fake_logits)")
    expected = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    expect_close("discriminator_loss", got, float(expected), atol=1e-5)
    # Numerical stability: very confident logits must not give inf or nan.
    extreme = call(discriminator_loss, torch.tensor([200.0, -200.0]), torch.tensor([-200.0, 200.0]),
                   what="discriminator_loss on logits of ±200")
    expect_close("discriminator_loss on logits of ±200 (use softplus or "
                 "binary_cross_entropy_with_logits, not log(sigmoid))", extreme, 200.0, atol=1e-3)


@exercise("02.2", "the non-saturating generator loss")
def check_generator_loss(generator_loss) -> None:
    _, fake = _logits(1)
    got = call(generator_loss, fake, what="generator_loss(fake_logits)")
    expected = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    saturating = -F.softplus(fake).mean()
    if isinstance(got, torch.Tensor) and got.numel() == 1 and \
            abs(float(got) - float(saturating)) < 1e-5:
        raise ExerciseFailed("this is the saturating loss log(1 − D(G(z))); the non-saturating "
                             "loss is −log D(G(z))")
    expect_close("generator_loss", got, float(expected), atol=1e-5)


@exercise("02.3", "the optimal discriminator")
def check_optimal_discriminator(optimal_discriminator) -> None:
    p_data = torch.tensor([0.0, 0.1, 0.5, 2.0, 1.0])
    p_g = torch.tensor([1.0, 0.3, 0.5, 0.0, 1e-3])
    got = call(optimal_discriminator, p_data, p_g, what="optimal_discriminator(p_data, p_g)")
    expect_tensor("D*(x)", got, p_data / (p_data + p_g), low=0.0, high=1.0, atol=1e-6)


def _players(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    g = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    d = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    return g, d


def _reference_step(g, d, opt_g, opt_d, real, z):
    fake = g(z)
    loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = F.softplus(-d(fake)).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return float(loss_d.detach()), float(loss_g.detach())


@exercise("02.4", "one training step of the game")
def check_train_step(train_step) -> None:
    g_ref, d_ref = _players()
    g_you, d_you = copy.deepcopy(g_ref), copy.deepcopy(d_ref)
    gen = torch.Generator().manual_seed(1)
    real, z = torch.randn(32, 2, generator=gen) + 2, torch.randn(32, 2, generator=gen)
    opts_ref = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (g_ref, d_ref)]
    opts_you = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (g_you, d_you)]
    expected = _reference_step(g_ref, d_ref, *opts_ref, real, z)
    got = call(train_step, g_you, d_you, *opts_you, real, z,
               what="train_step(G, D, opt_g, opt_d, real, z)")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseFailed("train_step should return (discriminator_loss, generator_loss)")
    expect_close("the returned discriminator loss", got[0], expected[0], atol=1e-5)
    d_start = dict(_players()[1].named_parameters())
    for (name, p_ref), p_you in zip(d_ref.named_parameters(), d_you.parameters()):
        if torch.allclose(p_you, d_start[name]):
            raise ExerciseFailed("the discriminator's weights did not change: call opt_d.step()")
        expect_tensor(f"discriminator weight {name} after the step", p_you.detach(), p_ref.detach(),
                      atol=1e-5)
    for (name, p_ref), p_you in zip(g_ref.named_parameters(), g_you.parameters()):
        expect_tensor(f"generator weight {name} after the step (update D first, with fake.detach(); "
                      "then G with the non-saturating loss on the same z)", p_you.detach(),
                      p_ref.detach(), atol=1e-5)
    expect_close("the returned generator loss (computed after D's update)", got[1], expected[1],
                 atol=1e-5)
