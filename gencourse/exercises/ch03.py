"""Checks for chapter 03 (GANs in practice): measuring collapse, the gradient penalty, FID.

When an answer is wrong, each check recomputes the exercise's classic mistakes on the same
inputs and, if the answer matches one, says which mistake it is.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import Tensor, nn

from gencourse.data import grid, ring
from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close, matches
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


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))



def _coverage_with(x: Tensor, centers: Tensor, radius: float, only_good: bool = True) -> tuple[int, float]:
    dist = torch.cdist(x.double(), centers.double())
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= radius
    modes = nearest[good] if only_good else nearest
    return int(modes.unique().numel()), float(good.double().mean())


@exercise("03.1", "modes covered and % high-quality")
def check_coverage(coverage) -> None:
    for name, x, dist in _cases():
        ref = mode_coverage(x, dist)
        got = call(coverage, x, dist.centers, dist.std, what="coverage(samples, centers, std)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseFailed("coverage should return a pair (modes_covered, high_quality_fraction), "
                                 f"got {type(got).__name__}")
        if (ref.high_quality > 0 and not matches(got[1], ref.high_quality, 1e-6)
                and matches(got[1], 100 * ref.high_quality, 1e-4)):
            raise ExerciseFailed(f"for {name} your high-quality fraction is {float(got[1]):g}, a "
                                 "percentage: return a fraction, not a percentage "
                                 f"({ref.high_quality:g} here)")
        for n_std in (1.0, 2.0, 4.0):
            wrong = _coverage_with(x, dist.centers, n_std * dist.std)
            if (wrong != (ref.modes, ref.high_quality) and matches(got[0], wrong[0], 0)
                    and matches(got[1], wrong[1], 1e-6)):
                raise ExerciseFailed(f"for {name} your answer matches a radius of {n_std:g} standard "
                                     "deviations: a sample is high-quality within 3·std of its "
                                     "nearest mode")
        all_samples = _coverage_with(x, dist.centers, 3 * dist.std, only_good=False)
        if all_samples[0] != ref.modes and matches(got[0], all_samples[0], 0):
            raise ExerciseFailed(f"for {name} you counted {all_samples[0]} modes covered, the nearest "
                                 "modes of all samples: a mode counts only if a high-quality sample "
                                 f"(within 3·std) is nearest to it ({ref.modes} here)")
        expect_close(f"modes covered for {name}", got[0], ref.modes, atol=0, allow_tensor=False)
        expect_close(f"high-quality fraction for {name}", got[1], ref.high_quality, atol=1e-6,
                     allow_tensor=False)


def _kl_mistakes(counts: Tensor) -> dict[str, float]:
    p = counts.double() / counts.sum()
    nz = p[p > 0]
    k = len(counts)
    return {
        "K counted only over the non-empty modes (len(p) after dropping the zeros): K is the "
        "number of all modes, len(counts)": float((nz * torch.log(nz * len(nz))).sum()),
        "Σ p log p, without the K: the uniform distribution's p is 1/K, so the sum is Σ p log(K·p)":
            float((nz * torch.log(nz)).sum()),
        "a log base 2: use the natural log": float((nz * torch.log2(nz * k)).sum()),
        "KL(uniform ‖ p), the reversed direction: the exercise asks for KL(p ‖ uniform)":
            float((torch.log(1 / (k * p)) / k).sum()) if bool((p > 0).all()) else math.inf,
    }


@exercise("03.2", "evenness: KL of the mode histogram from uniform")
def check_kl(kl_from_uniform) -> None:
    cases = _cases()
    for name, x, dist in cases[:3] + cases[4:]:  # (the far-away case has no finite KL)
        ref = mode_coverage(x, dist)
        counts = torch.tensor(ref.counts)
        _check_kl_case(kl_from_uniform, counts, ref.kl, f"KL for {name} (counts {counts.tolist()[:8]}...)")
    _check_kl_case(kl_from_uniform, torch.tensor([5, 0, 5, 0]), math.log(2),
                   "KL for counts [5, 0, 5, 0] (empty modes contribute 0)")


def _check_kl_case(kl_from_uniform, counts: Tensor, expected: float, name: str) -> None:
    got = call(kl_from_uniform, counts.clone(), what=f"kl_from_uniform({name.split(' (')[0]})")
    value = got.detach().item() if isinstance(got, Tensor) and got.numel() == 1 else got
    if _is_number(value) and math.isnan(float(value)) and bool((counts == 0).any()):
        raise ExerciseFailed(f"{name} is NaN: modes with no samples give 0·log 0 = NaN; they "
                             "contribute 0 (the limit of p log p), so leave them out of the sum")
    if _is_number(value) and math.isinf(float(value)) and bool((counts == 0).any()):
        raise ExerciseFailed(f"{name} is infinite: a log of 0 from a mode with no samples; such "
                             "modes contribute 0, so leave them out of the sum")
    if not math.isclose(float(value) if _is_number(value) else math.nan, expected, abs_tol=1e-5):
        for mistake, wrong in _kl_mistakes(counts).items():
            if not math.isclose(wrong, expected, abs_tol=1e-5) and matches(got, wrong):
                raise ExerciseFailed(f"{name}: your answer matches {mistake}")
    expect_close(name, got, expected, atol=1e-5, allow_tensor=False)


def _penalty_mistakes(critic: nn.Module, real: Tensor, fake: Tensor, eps: Tensor) -> dict[str, float]:
    def grad_at(points: Tensor) -> Tensor:
        points = points.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(points).sum(), points)
        return g

    mixed = eps * real + (1 - eps) * fake
    g = grad_at(mixed)
    right = float(((g.norm(dim=1) - 1) ** 2).mean())
    n = len(real)
    return {
        "critic(x̂).mean() in torch.autograd.grad: the mean divides every sample's gradient by N; "
        "use critic(x̂).sum(), whose gradient at each sample is that sample's own ∇ₓ critic":
            float(((g.norm(dim=1) / n - 1) ** 2).mean()),
        "10 × the penalty: return the penalty itself; the weight λ = 10 is applied where it is "
        "added to the critic's loss": 10 * right,
        "the sum over samples: take the mean over samples": n * right,
        "the penalty at the real samples: take the gradient at the interpolates "
        "x̂ = eps·real + (1 − eps)·fake": float(((grad_at(real).norm(dim=1) - 1) ** 2).mean()),
        "the penalty at the fake samples: take the gradient at the interpolates "
        "x̂ = eps·real + (1 − eps)·fake": float(((grad_at(fake).norm(dim=1) - 1) ** 2).mean()),
        "interpolates with eps and 1 − eps swapped: x̂ = eps·real + (1 − eps)·fake":
            float(((grad_at((1 - eps) * real + eps * fake).norm(dim=1) - 1) ** 2).mean()),
        "(‖∇‖² − 1)²: use the norm, not the squared norm":
            float(((g.pow(2).sum(dim=1) - 1) ** 2).mean()),
        "‖∇‖² without subtracting 1: the penalty pulls the norm towards 1, (‖∇‖ − 1)²":
            float(g.pow(2).sum(dim=1).mean()),
        "the norm of the whole batch's gradient: take one norm per sample (dim=1), then the mean":
            float((g.norm() - 1) ** 2),
    }


@exercise("03.3", "the WGAN-GP gradient penalty")
def check_gradient_penalty(penalty) -> None:
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    real, fake = torch.randn(64, 2) + 1, torch.randn(64, 2) - 1
    eps = torch.rand(64, 1, generator=torch.Generator().manual_seed(3))
    got = call(penalty, critic, real, fake, eps, what="penalty(critic, real, fake, eps)")
    # The reference with the same interpolation weights.
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    expected = ((grad.norm(dim=1) - 1) ** 2).mean()
    if not isinstance(got, Tensor):
        raise ExerciseFailed(
            f"the penalty should be a torch.Tensor that requires grad, got {type(got).__name__}: it is "
            "added to the critic's loss and back-propagated into the critic's weights, so do not "
            "convert it with .item() or float()")
    if got.numel() != 1:
        raise ExerciseFailed(f"the penalty should be a single number (the mean over samples), got a "
                             f"tensor of shape {tuple(got.shape)}")
    if got.is_floating_point() and not bool(torch.isfinite(got.detach()).all()):
        raise ExerciseFailed(f"the penalty is {got.detach().item()}, not a finite number")
    if not math.isclose(got.detach().item(), expected.item(), abs_tol=1e-5):
        for mistake, wrong in _penalty_mistakes(critic, real, fake, eps).items():
            if matches(got, wrong):
                raise ExerciseFailed(f"your penalty matches {mistake}")
        again = call(penalty, critic, real, fake, eps, what="penalty(critic, real, fake, eps), again")
        if isinstance(again, Tensor) and again.numel() == 1 and not math.isclose(
                again.detach().item(), got.detach().item(), rel_tol=1e-6, abs_tol=1e-9):
            raise ExerciseFailed("your penalty changes between two calls with the same inputs: use "
                                 "the interpolation weights passed as the argument eps, do not "
                                 "draw your own")
    if not got.requires_grad:
        raise ExerciseFailed("the penalty must stay differentiable with respect to the critic's "
                             "weights (it has requires_grad=False): pass create_graph=True to "
                             "torch.autograd.grad and do not detach the result")
    expect_close("gradient penalty", got.detach(), expected.item(), atol=1e-5)
    # Its gradient with respect to the critic's weights must be the penalty's true gradient.
    params = list(critic.parameters())
    ref_grads = torch.autograd.grad(expected, params, allow_unused=True)
    got_grads = torch.autograd.grad(got, params, allow_unused=True)
    for (pname, p), g_ref, g_got in zip(critic.named_parameters(), ref_grads, got_grads):
        g_ref = torch.zeros_like(p) if g_ref is None else g_ref   # (the last bias has no effect)
        g_got = torch.zeros_like(p) if g_got is None else g_got
        if not torch.allclose(g_got, g_ref, atol=1e-5, rtol=1e-4):
            raise ExerciseFailed(f"the penalty's gradient with respect to the critic's {pname} is "
                                 "wrong: the gradient ∇ₓ critic(x̂) must be built with "
                                 "create_graph=True so that the penalty depends on the weights")
    # Consistency with gencourse's version (random weights, so compare on a unit-slope critic).
    unit = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[0.6, 0.8]]))
    unit_penalty = call(penalty, unit, real, fake, eps, what="penalty(unit-slope critic, ...)")
    expect_close("penalty for a critic whose gradient has norm 1 everywhere",
                 unit_penalty.detach() if isinstance(unit_penalty, Tensor) else unit_penalty,
                 float(gradient_penalty(unit, real, fake).detach()), atol=1e-6)


def frechet_mistakes(m1, c1, m2, c2) -> dict[str, float]:
    """The values that the usual mistakes in the Fréchet distance's formula give (chapters 03 and 09)."""
    m1, c1, m2, c2 = (np.asarray(t, dtype=float) for t in (m1, c1, m2, c2))
    mean_term = float(((m1 - m2) ** 2).sum())
    cross = float(np.sqrt(np.clip(np.linalg.eigvals(c1 @ c2).real, 0, None)).sum())
    traces = float(np.trace(c1) + np.trace(c2))

    def root(c):
        w, v = np.linalg.eigh(c)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    return {
        "Tr(Σ₁^½ Σ₂^½) as the cross term: that equals Tr((Σ₁Σ₂)^½) only when the covariances "
        "commute; take the square roots of the eigenvalues of Σ₁Σ₂":
            mean_term + traces - 2 * float(np.trace(root(c1) @ root(c2))),
        "Tr(Σ₁Σ₂) without the square root: the cross term is Tr((Σ₁Σ₂)^½)":
            mean_term + traces - 2 * float(np.trace(c1 @ c2)),
        "an element-wise square root of Σ₁Σ₂: (Σ₁Σ₂)^½ is a matrix square root (sum the square "
        "roots of its eigenvalues)": mean_term + traces - 2 * float(np.trace(np.sqrt(np.abs(c1 @ c2)))),
        "‖μ₁ − μ₂‖ without the square: the mean term is ‖μ₁ − μ₂‖²":
            math.sqrt(mean_term) + traces - 2 * cross,
        "a cross term without the factor 2: Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½)": mean_term + traces - cross,
    }


@exercise("03.4", "the Fréchet distance")
def check_frechet(frechet) -> None:
    rng = np.random.default_rng(0)
    for d in (1, 3, 8):
        a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        c1, c2 = torch.tensor(a @ a.T + 0.1 * np.eye(d)), torch.tensor(b @ b.T + 0.1 * np.eye(d))
        m1, m2 = torch.tensor(rng.normal(size=d)), torch.tensor(rng.normal(size=d))
        got = call(frechet, m1.clone(), c1.clone(), m2.clone(), c2.clone(),
                   what=f"frechet(mu1, cov1, mu2, cov2) in {d}-D")
        expected = frechet_distance(m1.numpy(), c1.numpy(), m2.numpy(), c2.numpy())
        if not matches(got, expected):
            for mistake, wrong in frechet_mistakes(m1, c1, m2, c2).items():
                if not math.isclose(wrong, expected, rel_tol=1e-4) and matches(got, wrong):
                    raise ExerciseFailed(f"Fréchet distance in {d}-D: your answer matches {mistake}")
        expect_close(f"Fréchet distance in {d}-D", got, expected, rtol=1e-4, atol=1e-6, allow_tensor=False)
    same = call(frechet, m1, c1, m1, c1, what="frechet of a Gaussian with itself")
    expect_close("Fréchet distance of a Gaussian with itself", same, 0.0, atol=1e-5, allow_tensor=False)
