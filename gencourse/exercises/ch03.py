"""Checks for chapter 03 (GANs in practice): measuring collapse, the gradient penalty, FID."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gencourse.data import grid, ring
from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close
from gencourse.metrics import frechet_distance, mode_coverage
from gencourse.models.gan import gradient_penalty


def _cases():
    r, g = ring(), grid()
    return [
        ("real ring samples", r.sample(2500, seed=0), r),
        ("everything on one mode", r.centers[3].repeat(500, 1), r),
        ("one sample per mode, the rest on mode 0",
         torch.cat([g.centers, g.centers[0].repeat(475, 1)]), g),
        ("samples far from every mode", torch.full((100, 2), 9.0), r),
        ("a mixture of good and stray samples",
         torch.cat([g.sample(300, seed=1), torch.rand(200, 2, generator=torch.Generator().manual_seed(2)) * 8 - 4]), g),
    ]


@exercise("03.1", "modes covered and % high-quality")
def check_coverage(coverage) -> None:
    for name, x, dist in _cases():
        ref = mode_coverage(x, dist)
        got = call(coverage, x, dist.centers, dist.std, what="coverage(samples, centers, std)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseFailed("coverage should return (modes_covered, high_quality_fraction)")
        expect_close(f"modes covered for {name}", got[0], ref.modes, atol=0)
        expect_close(f"high-quality fraction for {name}", got[1], ref.high_quality, atol=1e-6)


@exercise("03.2", "evenness: KL of the mode histogram from uniform")
def check_kl(kl_from_uniform) -> None:
    cases = _cases()
    for name, x, dist in cases[:3] + cases[4:]:  # (the far-away case has no finite KL)
        ref = mode_coverage(x, dist)
        counts = torch.tensor(ref.counts)
        got = call(kl_from_uniform, counts, what="kl_from_uniform(counts)")
        expect_close(f"KL for {name} (counts {counts.tolist()[:8]}...)", got, ref.kl, atol=1e-5)
    empty_mode = torch.tensor([5, 0, 5, 0])
    got = call(kl_from_uniform, empty_mode, what="kl_from_uniform([5, 0, 5, 0])")
    expect_close("KL for counts [5, 0, 5, 0] (empty modes contribute 0)", got, math.log(2), atol=1e-6)


@exercise("03.3", "the WGAN-GP gradient penalty")
def check_gradient_penalty(penalty) -> None:
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    real, fake = torch.randn(64, 2) + 1, torch.randn(64, 2) - 1
    eps = torch.rand(64, 1, generator=torch.Generator().manual_seed(3))
    got = call(penalty, critic, real, fake, eps, what="penalty(critic, real, fake, eps)")
    # The reference with the same interpolation weights.
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed)
    expected = ((grad.norm(dim=1) - 1) ** 2).mean()
    if isinstance(got, torch.Tensor) and not got.requires_grad:
        raise ExerciseFailed("the penalty must stay differentiable with respect to the critic's "
                             "weights: pass create_graph=True to torch.autograd.grad")
    expect_close("gradient penalty", got, float(expected), atol=1e-5)
    # Consistency with gencourse's version (random weights, so compare on a unit-slope critic).
    unit = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[0.6, 0.8]]))
    expect_close("penalty for a critic whose gradient has norm 1 everywhere",
                 call(penalty, unit, real, fake, eps, what="penalty(unit-slope critic, ...)"),
                 float(gradient_penalty(unit, real, fake)), atol=1e-6)


@exercise("03.4", "the Fréchet distance")
def check_frechet(frechet) -> None:
    rng = np.random.default_rng(0)
    for d in (1, 3, 8):
        a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        c1, c2 = torch.tensor(a @ a.T + 0.1 * np.eye(d)), torch.tensor(b @ b.T + 0.1 * np.eye(d))
        m1, m2 = torch.tensor(rng.normal(size=d)), torch.tensor(rng.normal(size=d))
        got = call(frechet, m1, c1, m2, c2, what=f"frechet(mu1, cov1, mu2, cov2) in {d}-D")
        expect_close(f"Fréchet distance in {d}-D", got,
                     frechet_distance(m1.numpy(), c1.numpy(), m2.numpy(), c2.numpy()), rtol=1e-4, atol=1e-6)
    same = call(frechet, m1, c1, m1, c1, what="frechet of a Gaussian with itself")
    expect_close("Fréchet distance of a Gaussian with itself", same, 0.0, atol=1e-5)
