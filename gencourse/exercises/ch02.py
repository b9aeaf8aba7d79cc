"""Checks for chapter 02 (GANs from scratch): losses, the optimal discriminator, one step."""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gencourse.exercises.feedback import (
    ExerciseFailed, call, exercise, expect_close, expect_tensor, matches,
)


def _logits(seed: int, n_real: int = 64, n_fake: int = 48) -> tuple[Tensor, Tensor]:
    """Real and fake logits of different batch sizes (a hard-coded batch size shows)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_real, generator=g) * 3, torch.randn(n_fake, generator=g) * 3



def _expect_differentiable_loss(name: str, got: object) -> None:
    """A loss must stay a 0-d tensor attached to the graph, or backward() cannot use it."""
    if not isinstance(got, Tensor):
        raise ExerciseFailed(f"{name} should return a 0-d torch.Tensor, got {type(got).__name__}: "
                             "keep it a tensor (no .item() or float()) so that backward() works")
    if got.numel() != 1:
        raise ExerciseFailed(f"{name} should return a single number (a 0-d tensor), got shape "
                             f"{tuple(got.shape)}: average over the batch with .mean()")
    if not got.requires_grad:
        raise ExerciseFailed(f"{name} returned a tensor cut off from the logits (no gradient): "
                             "do not .detach() it or compute it under torch.no_grad()")


@exercise("02.1", "the discriminator's loss")
def check_discriminator_loss(discriminator_loss) -> None:
    real, fake = _logits(0)
    got = call(discriminator_loss, real.clone().requires_grad_(True),
               fake.clone().requires_grad_(True), what="discriminator_loss(real_logits, fake_logits)")
    if isinstance(got, Tensor) and got.numel() == 1 and not torch.isfinite(got).all():
        raise ExerciseFailed(f"discriminator_loss is {float(got.detach())}, not a finite number: look for a "
                             "log of 0 (log(sigmoid) underflows) — use F.softplus")
    _expect_differentiable_loss("discriminator_loss", got)
    expected = float(F.softplus(-real).mean() + F.softplus(fake).mean())
    if matches(got, float(F.softplus(real).mean() + F.softplus(-fake).mean())):
        raise ExerciseFailed("the labels are swapped: real samples have label 1 (loss −log D(x)) "
                             "and generated ones label 0 (loss −log(1 − D(G(z))))")
    if matches(got, float(F.softplus(-real).sum() + F.softplus(fake).sum())):
        raise ExerciseFailed("this is the sum over the batch: average each term with .mean()")
    if matches(got, float(torch.cat([F.softplus(-real), F.softplus(fake)]).mean())):
        raise ExerciseFailed("you averaged over both batches together: the loss is the mean over "
                             "the real batch plus the mean over the fake batch")
    if matches(got, expected / 2):
        raise ExerciseFailed("this is half the loss: add the two means, do not average them")
    if matches(got, -expected):
        raise ExerciseFailed("the sign is flipped: you returned the value V = E[log D(x)] + "
                             "E[log(1 − D(G(z)))], which D maximises; the loss D minimises is −V, "
                             "softplus(−real).mean() + softplus(fake).mean()")
    if matches(got, float(F.softplus(-real).mean())) or matches(got, float(F.softplus(fake).mean())):
        raise ExerciseFailed("only one of the two terms: the loss is −log D(x) averaged over the "
                             "real batch plus −log(1 − D(G(z))) averaged over the fake batch")
    if matches(got, float(F.softplus(-real).mean() + F.softplus(-fake).mean())):
        raise ExerciseFailed("the fakes are labelled real: their term is −log(1 − D(G(z))) = "
                             "softplus(fake_logits), not −log D(G(z))")
    expect_close("discriminator_loss", got, expected, atol=1e-5)
    # Numerical stability: very confident logits must not give inf or nan.
    extreme = call(discriminator_loss, torch.tensor([200.0, -200.0]), torch.tensor([-200.0, 200.0]),
                   what="discriminator_loss on logits of ±200")
    expect_close("discriminator_loss on logits of ±200 (use F.softplus or "
                 "F.binary_cross_entropy_with_logits, not log(sigmoid))", extreme, 200.0, atol=1e-3)


@exercise("02.2", "the non-saturating generator loss")
def check_generator_loss(generator_loss) -> None:
    _, fake = _logits(1)
    got = call(generator_loss, fake.clone().requires_grad_(True), what="generator_loss(fake_logits)")
    if isinstance(got, Tensor) and got.numel() == 1 and not torch.isfinite(got).all():
        raise ExerciseFailed(f"generator_loss is {float(got.detach())}, not a finite number: look for a log "
                             "of 0 (log(sigmoid) underflows) — use F.softplus")
    _expect_differentiable_loss("generator_loss", got)
    if matches(got, float(-F.softplus(fake).mean())):
        raise ExerciseFailed("this is the saturating loss log(1 − D(G(z))); the non-saturating "
                             "loss is −log D(G(z))")
    if matches(got, float(F.softplus(fake).mean())):
        raise ExerciseFailed("this is −log(1 − D(G(z))), the discriminator's loss on fakes (label "
                             "0): the generator wants D to call its samples real, −log D(G(z))")
    if matches(got, float(F.softplus(-fake).sum())):
        raise ExerciseFailed("this is the sum over the batch: average with .mean()")
    if matches(got, float(-F.softplus(-fake).mean())):
        raise ExerciseFailed("the sign is flipped: this is log D(G(z)), which the generator wants "
                             "large; the loss to minimise is −log D(G(z)) = softplus(−fake_logits)")
    expect_close("generator_loss", got, float(F.softplus(-fake).mean()), atol=1e-5)
    extreme = call(generator_loss, torch.tensor([-200.0, -200.0]),
                   what="generator_loss on logits of −200")
    expect_close("generator_loss on logits of −200 (use F.softplus, not log(sigmoid))", extreme,
                 200.0, atol=1e-3)


def _game_value_reference(p_data: Tensor, p_g: Tensor, dx: float) -> float:
    """−log 4 + 2·JS(p_data ‖ p_g), computed from the divergence (not from D*)."""
    p, q = p_data.double(), p_g.double()
    m = (p + q) / 2
    js = 0.5 * (torch.xlogy(p, p) - torch.xlogy(p, m) + torch.xlogy(q, q) - torch.xlogy(q, m))
    return -math.log(4) * float(m.sum() * dx) + 2 * float(js.sum() * dx)


def _densities() -> dict[str, tuple[Tensor, Tensor, float]]:
    """Densities on a grid: identical, overlapping, and with disjoint supports."""
    dx = 0.01
    x = torch.arange(-5.0, 6.5, dx)   # wide enough for the mass, narrow enough that D* < 1 in float32
    normal = lambda mu, sd: torch.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    box = lambda lo, hi: ((x >= lo - dx / 2) & (x < hi - dx / 2)).float() / (hi - lo)
    return {"identical densities": (normal(0.0, 1.0), normal(0.0, 1.0), dx),
            "overlapping densities N(0, 1) and N(1.5, 1)": (normal(0.0, 1.0), normal(1.5, 1.0), dx),
            "densities with disjoint supports (uniform on [0, 1) and on [2, 3))":
                (box(0.0, 1.0), box(2.0, 3.0), dx)}


@exercise("02.3", "the optimal discriminator and the value of the game")
def check_optimal_discriminator(optimal_discriminator, game_value) -> None:
    # (a) D* on hand-picked points: ordinary, one-sided, and both-zero or tiny densities.
    p_data = torch.tensor([0.0, 0.1, 0.5, 2.0, 1.0, 0.0, 1e-30, 0.3])
    p_g = torch.tensor([1.0, 0.3, 0.5, 0.0, 1e-3, 0.0, 3e-30, 0.0])
    expected = torch.tensor([0.0, 0.25, 0.5, 1.0, 1.0 / 1.001, 0.5, 0.25, 1.0])
    both_zero, tiny = 5, 6
    got = call(optimal_discriminator, p_data.clone(), p_g.clone(),
               what="optimal_discriminator(p_data, p_g)")
    if isinstance(got, Tensor) and got.shape == expected.shape and got.is_floating_point():
        got_d = got.detach().double()
        if torch.isnan(got_d[both_zero]):
            raise ExerciseFailed("D*(x) is NaN where p_data = p_g = 0 (0/0). No sample ever lands "
                                 "there and V does not depend on D there: return ½ deliberately, "
                                 "e.g. torch.where(p_data + p_g > 0, p_data / (p_data + p_g), 0.5)")
        ordinary = [0, 1, 3, 4, 7]
        if torch.allclose(got_d[ordinary], 1 - expected[ordinary].double(), atol=1e-4):
            raise ExerciseFailed("D* is inverted: D(x) is the probability that x is REAL, "
                                 "p_data / (p_data + p_g), not p_g / (p_data + p_g)")
        if torch.isfinite(got_d[tiny]) and abs(float(got_d[tiny]) - 0.25) > 1e-3:
            raise ExerciseFailed(f"where p_data = 1e-30 and p_g = 3e-30, D* is 0.25, got "
                                 f"{float(got_d[tiny]):.4g}: an epsilon added to the denominator "
                                 "changes D* wherever the densities are small; treat only "
                                 "p_data + p_g == 0 as a special case")
        if torch.isfinite(got_d[both_zero]) and abs(float(got_d[both_zero]) - 0.5) > 1e-6:
            raise ExerciseFailed(f"where p_data = p_g = 0, D* should be ½ as the exercise asks (D "
                                 f"is indifferent there), got {float(got_d[both_zero]):.4g}")
    expect_tensor("D*(x)", got, expected, low=0.0, high=1.0, atol=1e-6)

    # (b) the value of the game at D*, against −log 4 + 2·JS computed independently.
    for case, (pd, pg, dx) in _densities().items():
        value = call(game_value, pd.clone(), pg.clone(), dx, what=f"game_value on {case}")
        reference = _game_value_reference(pd, pg, dx)
        if isinstance(value, float) and not math.isfinite(value) or \
                isinstance(value, Tensor) and value.numel() == 1 and not torch.isfinite(value).all():
            raise ExerciseFailed(
                f"game_value is {float(value)} on {case}: where p_g = 0, D* = 1 and p_g·log(1 − D*) "
                "is 0·log 0, which floating point makes NaN; that term is 0 (torch.xlogy(p_g, 1 − D) "
                "computes it), and likewise p_data·log D* where p_data = 0")
        if abs(reference) > 1e-3 and matches(value, reference / dx, atol=1e-3, rtol=1e-3):
            raise ExerciseFailed(f"on {case} you returned the plain sum: an integral on a grid is "
                                 "the sum of (density × dx) — multiply by dx")
        if abs(reference) > 1e-3 and matches(value, reference / dx / len(pd), atol=1e-3, rtol=1e-3):
            raise ExerciseFailed(f"on {case} you returned a mean: an integral on a grid is the sum "
                                 "of (density × dx), not the mean")
        if matches(value, reference + math.log(4), atol=1e-3, rtol=1e-3):
            raise ExerciseFailed(f"on {case} your value is 2·JS: V(D*, G) is −log 4 + 2·JS — "
                                 "sum p_data·log D* + p_g·log(1 − D*), not the divergence alone")
        if abs(reference) > 1e-3 and matches(value, reference / math.log(2), atol=1e-3, rtol=1e-3):
            raise ExerciseFailed(f"on {case} your value is in bits (log base 2): V is defined with "
                                 "the natural log, as the losses are — use torch.log / torch.xlogy")
        p64, q64 = pd.double(), pg.double()
        d_star = torch.where(p64 + q64 > 0, p64 / (p64 + q64).clamp_min(1e-300), 0.5)
        log_d_twice = float(((torch.xlogy(p64, d_star) + torch.xlogy(q64, d_star)) * dx).sum())
        if not matches(reference, log_d_twice, atol=1e-3, rtol=1e-3) and \
                matches(value, log_d_twice, atol=1e-3, rtol=1e-3):
            raise ExerciseFailed(f"on {case} the generated samples' term used log D*: it is "
                                 "p_g·log(1 − D*), the log-probability D gives to 'fake' where "
                                 "the fakes are")
        half_js = (reference - math.log(4)) / 2        # −log 4 + JS, the factor 2 forgotten
        if not matches(reference, half_js, atol=1e-3, rtol=1e-3) and \
                matches(value, half_js, atol=1e-3, rtol=1e-3):
            raise ExerciseFailed(f"on {case} you returned −log 4 + JS: the value at D* is "
                                 "−log 4 + 2·JS (each of the two terms carries half of the JS "
                                 "divergence); sum p_data·log D* + p_g·log(1 − D*) directly")
        expect_close(f"game_value on {case} (V(D*, G) = −log 4 + 2·JS; −log 4 ≈ −1.386 for "
                     "identical densities, 0 for disjoint supports)", value, reference, atol=1e-4,
                     allow_tensor=False)


def _players(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    g = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    d = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    return g, d


def _reference_step(g, d, opt_g, opt_d, real, z, *, g_first=False, saturating=False):
    """The correct step; ``g_first`` / ``saturating`` reproduce two classic mistakes."""
    def d_update():
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        return loss_d

    def g_update():
        logits = d(fake)
        loss_g = -F.softplus(logits).mean() if saturating else F.softplus(-logits).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return loss_g

    fake = g(z)
    if g_first:
        loss_g = g_update()
        loss_d = d_update()
    else:
        loss_d = d_update()
        loss_g = g_update()
    return float(loss_d.detach()), float(loss_g.detach())


def _run_step(train_step: Callable, variant: dict | None = None, stale_grads: bool = False):
    """Run a step (the learner's, or the reference ``variant``) on fresh players; return all."""
    g, d = _players()
    opt_g, opt_d = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (g, d))
    gen = torch.Generator().manual_seed(1)
    real, z = torch.randn(32, 2, generator=gen) + 2, torch.randn(32, 2, generator=gen)
    if stale_grads:   # what a previous step leaves behind; a correct step clears it first
        for i, p in enumerate([*g.parameters(), *d.parameters()]):
            p.grad = torch.randn(p.shape, generator=torch.Generator().manual_seed(100 + i))
    if variant is not None:
        return g, d, _reference_step(g, d, opt_g, opt_d, real, z, **variant)
    # Record whether any gradient flows back into G's output during the step: none does when
    # the fakes are made under torch.no_grad() or detached before the generator's loss.
    g.fakes_got_gradient = False

    def mark(_grad):
        g.fakes_got_gradient = True

    def watch(_module, _inputs, output):
        if isinstance(output, Tensor) and output.requires_grad:
            output.register_hook(mark)

    handle = g.register_forward_hook(watch)
    try:
        got = call(train_step, g, d, opt_g, opt_d, real, z,
                   what="train_step(G, D, opt_g, opt_d, real, z)")
    except ExerciseFailed as failure:
        text = str(failure)
        if "backward through the graph a second time" in text:
            raise ExerciseFailed(
                "backward() went through the generator's graph twice: the discriminator's loss "
                "must use D(fake.detach()), so that its backward() stops at the fakes and leaves "
                "G's graph for the generator's backward()") from None
        if "modified by an inplace operation" in text:
            raise ExerciseFailed(
                "the generator's loss used D's output from before opt_d.step() changed D's weights: "
                "score the fakes again with the updated D (a new D(fake)) after the "
                "discriminator's update") from None
        raise
    finally:
        handle.remove()
    return g, d, got


def _same(module_a: nn.Module, module_b: nn.Module) -> bool:
    return all(torch.allclose(a, b, atol=1e-5) for a, b in
               zip(module_a.parameters(), module_b.parameters()))


@exercise("02.4", "one training step of the game")
def check_train_step(train_step) -> None:
    g_ref, d_ref, expected = _run_step(train_step, variant={})
    g_you, d_you, got = _run_step(train_step)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseFailed("train_step should return (discriminator_loss, generator_loss)")
    g_start, d_start = _players()
    if _same(d_you, d_start):
        raise ExerciseFailed("the discriminator's weights did not change: call opt_d.step() after "
                             "loss_d.backward() (and zero_grad() before backward(), not after)")
    if _same(g_you, g_start) and not g_you.fakes_got_gradient:
        raise ExerciseFailed("the generator got no gradient, so opt_g.step() had nothing to apply: "
                             "the fakes for the generator's step were made under torch.no_grad() "
                             "or detached. Make fake = G(z) with gradients on, use fake.detach() "
                             "only in the discriminator's loss, and D(fake) in the generator's")
    if _same(g_you, g_start):
        raise ExerciseFailed("the generator's weights did not change: call opt_g.step() after "
                             "loss_g.backward() (and zero_grad() before backward(), not after)")
    for name, variant in (("you updated the generator before the discriminator: update D first "
                           "(on real and fake.detach()), then G against the updated D",
                           {"g_first": True}),
                          ("the generator step used the saturating loss log(1 − D(G(z))); use "
                           "generator_loss, −log D(G(z))", {"saturating": True})):
        g_bad, d_bad, _ = _run_step(train_step, variant=variant)
        if _same(g_you, g_bad) and _same(d_you, d_bad) and not _same(g_you, g_ref):
            raise ExerciseFailed(name)
    if matches(got[0], expected[1]) and matches(got[1], expected[0]) and \
            not matches(expected[0], expected[1]):
        raise ExerciseFailed("the two losses are returned in the wrong order: return "
                             "(discriminator loss, generator loss), not (loss_g, loss_d)")
    for (name, p_ref), p_you in zip(d_ref.named_parameters(), d_you.parameters()):
        expect_tensor(f"discriminator weight {name} after the step", p_you.detach(), p_ref.detach(),
                      atol=1e-5)
    for (name, p_ref), p_you in zip(g_ref.named_parameters(), g_you.parameters()):
        expect_tensor(f"generator weight {name} after the step (update D first, with fake.detach(); "
                      "then G with the non-saturating loss on the same z)", p_you.detach(),
                      p_ref.detach(), atol=1e-5)
    expect_close("the returned discriminator loss", got[0], expected[0], atol=1e-5,
                 allow_tensor=False)
    expect_close("the returned generator loss (computed after D's update)", got[1], expected[1],
                 atol=1e-5, allow_tensor=False)
    # Gradients left over from a previous step must not leak into this one.
    g_you, d_you, _ = _run_step(train_step, stale_grads=True)
    if not _same(d_you, d_ref):
        raise ExerciseFailed(
            "the discriminator's update added this step's gradients to those left over from the "
            "previous step (.grad accumulates until cleared): call opt_d.zero_grad() before "
            "loss_d.backward(), and opt_g.zero_grad() before loss_g.backward()")
    if not _same(g_you, g_ref):
        raise ExerciseFailed(
            "the generator's update added this step's gradients to those left over from before "
            "(.grad accumulates until cleared; loss_d.backward() and earlier steps leave some): call "
            "opt_g.zero_grad() right before loss_g.backward()")
