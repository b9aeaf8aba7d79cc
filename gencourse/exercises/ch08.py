"""Checks for chapter 08 (diffusion): the closed-form forward process, DDPM's training loss, one
ancestral step, one DDIM step and classifier-free guidance. Each answer is compared with the
reference in ``gencourse.models.diffusion`` and with the outputs of the usual mistakes."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gencourse.exercises.feedback import (
    ExerciseFailed, call, exercise, expect_close, expect_tensor, expect_tensor_type, matches,
)
from gencourse.exercises.feedback import diagnose as _diagnose
from gencourse.models.diffusion import cosine_schedule, linear_schedule


def _unchanged(saved: list[Tensor], now: list[Tensor], names: str) -> None:
    if any(not torch.equal(a, b) for a, b in zip(saved, now)):
        raise ExerciseFailed(f"you changed an input in place ({names}): compute new tensors instead")


def _repeatable(fn, args: tuple, first, what: str) -> None:
    """A second call with the same inputs must give the same answer (no fresh random noise)."""
    again = call(fn, *args, what=what)
    if isinstance(first, Tensor) and isinstance(again, Tensor) and first.shape == again.shape \
            and not torch.allclose(first.detach(), again.detach(), equal_nan=True):
        raise ExerciseFailed("two calls with the same inputs gave different answers: use the noise you are given "
                             "(the argument), do not draw new noise with torch.randn")


SCHEDULE = cosine_schedule(200)


def diagnose(got, mistakes: dict, expected=None) -> None:
    """Name the first known mistake that ``got`` reproduces, skipping any mistake that happens to give
    the right answer on these inputs (at ᾱ_t' = 1 a missing square root changes nothing)."""
    if expected is not None:
        mistakes = {m: wrong for m, wrong in mistakes.items() if not matches(wrong, expected)}
    _diagnose(got, mistakes)


@exercise("08.1", "the closed form of forward noising")
def check_forward(q_sample) -> None:
    g = torch.Generator().manual_seed(0)
    for n, d in ((4, 4), (6, 3)):          # a square batch first: it tells an (N,) factor broadcast along the wrong axis
        x0, noise = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
        a = SCHEDULE.alpha_bars[torch.tensor([0, 40, 99, 150, 199, 120][:n])]
        saved = [x0.clone(), a.clone(), noise.clone()]
        got = call(q_sample, x0, a, noise, what="q_sample(x0, alpha_bar, noise)")
        expect_tensor_type("x_t", got)
        _unchanged(saved, [x0, a, noise], "x0, alpha_bar or noise")
        _repeatable(q_sample, (x0, a, noise), got, "q_sample (a second call)")
        col = a[:, None]
        expected = col.sqrt() * x0 + (1 - col).sqrt() * noise
        diagnose(got, {
            "the square roots are missing: x_t = √ᾱ x0 + √(1-ᾱ) ε; ᾱ and 1-ᾱ are variances, the factors are "
            "their square roots": col * x0 + (1 - col) * noise,
            "the roles are swapped: the signal x0 is scaled by √ᾱ and the noise by √(1-ᾱ)":
                (1 - col).sqrt() * x0 + col.sqrt() * noise,
            "only the noise's factor has a square root: x0 is scaled by √ᾱ, not ᾱ": col * x0 + (1 - col).sqrt() * noise,
            "the noise is not added: x_t = √ᾱ x0 + √(1-ᾱ) ε": col.sqrt() * x0,
        }, expected)
        if n == d:
            diagnose(got, {"alpha_bar (N,) was broadcast along the last axis: give it a column, alpha_bar[:, None], "
                           "so each row (one example) gets its own ᾱ":
                           a.sqrt() * x0 + (1 - a).sqrt() * noise}, expected)
        expect_tensor("x_t", got, expected, atol=1e-5)


def _model_for_loss():
    """A tiny network with one weight matrix w (returned too, to check the gradient reaches it)."""
    w = torch.nn.Parameter(torch.randn(3, 3, generator=torch.Generator().manual_seed(3)) / 2)

    def model(x_t, t):
        return torch.tanh(x_t @ w) + 0.01 * t.float()[:, None]
    return model, w


@exercise("08.2", "DDPM's training loss")
def check_loss(diffusion_loss) -> None:
    g = torch.Generator().manual_seed(1)
    x0, noise = torch.randn(8, 3, generator=g), torch.randn(8, 3, generator=g)
    t = torch.tensor([0, 5, 17, 60, 99, 120, 180, 199])
    a = SCHEDULE.alpha_bars
    model, w = _model_for_loss()
    got = call(diffusion_loss, model, x0, t, noise, a, what="diffusion_loss(model, x0, t, noise, alpha_bars)")
    if isinstance(got, Tensor) and got.ndim != 0:
        raise ExerciseFailed(f"the loss should be one number (a 0-d tensor), got shape {tuple(got.shape)}: "
                             "average all the squared errors with .mean()")
    if isinstance(got, Tensor):
        _repeatable(diffusion_loss, (model, x0, t, noise, a), got, "diffusion_loss (a second call)")
    col = a[t][:, None]
    x_t = col.sqrt() * x0 + (1 - col).sqrt() * noise
    with torch.no_grad():
        pred = model(x_t, t)
        expected = float(((pred - noise) ** 2).mean())
        mistakes = {
            "the network is asked for x0: DDPM's network predicts the noise ε, so compare model(x_t, t) with noise":
                ((pred - x0) ** 2).mean(),
            "the network saw x0, not the noisy x_t: noise x0 first with the closed form":
                ((model(x0, t) - noise) ** 2).mean(),
            "the squared errors are summed: DDPM's loss is their mean": ((pred - noise) ** 2).sum(),
            "x_t uses ᾱ without square roots: x_t = √ᾱ_t x0 + √(1-ᾱ_t) ε":
                ((model(col * x0 + (1 - col) * noise, t) - noise) ** 2).mean(),
            "ᾱ was taken at step 0 for every example: index alpha_bars with each example's t":
                ((model(a[0].sqrt() * x0 + (1 - a[0]).sqrt() * noise, t) - noise) ** 2).mean(),
            "the error is not squared: use (prediction - noise) ** 2": (pred - noise).abs().mean(),
            "the squared errors are summed over each example's coordinates, then averaged over the batch "
            "(the paper's ‖·‖²): this exercise asks for the mean over every entry, .mean() of all of them":
                ((pred - noise) ** 2).sum(1).mean(),
            "ᾱ is taken one step early (alpha_bars[t - 1], the paper's 1-based t): steps here run 0..T-1, "
            "so use alpha_bars[t]": ((model(a[t - 1][:, None].sqrt() * x0 + (1 - a[t - 1][:, None]).sqrt() * noise, t)
                                      - noise) ** 2).mean(),
        }
    diagnose(got, mistakes, expected)
    expect_close("the loss", got, expected, atol=1e-5)
    if not isinstance(got, Tensor):
        raise ExerciseFailed("the loss is a plain number: return the tensor (no .item() or float()), so that "
                             "loss.backward() can reach the network's weights")
    cut_off = ExerciseFailed("the loss is cut off from the network (it was detached, or computed under "
                             "torch.no_grad()): loss.backward() could not reach the weights")
    if not got.requires_grad:
        raise cut_off
    got.backward()
    reference = ((model(x_t, t) - noise) ** 2).mean()
    expected_grad, = torch.autograd.grad(reference, w)
    if w.grad is None or not torch.allclose(w.grad, expected_grad, atol=1e-5):
        raise cut_off
    other = linear_schedule(200).alpha_bars          # a second schedule: the answer must use its argument
    again = call(diffusion_loss, model, x0, t, noise, other, what="diffusion_loss with another schedule")
    col2 = other[t][:, None]
    with torch.no_grad():
        expected2 = float(((model(col2.sqrt() * x0 + (1 - col2).sqrt() * noise, t) - noise) ** 2).mean())
    if isinstance(again, Tensor) and again.numel() == 1 and abs(float(again.detach()) - expected2) > 1e-5:
        raise ExerciseFailed("with another schedule the loss did not change as it should: use the alpha_bars "
                             "passed in, not a schedule from elsewhere in the notebook")


def _ddpm_reference(x: Tensor, eps: Tensor, t: int, betas: Tensor, a_bar: Tensor, z: Tensor) -> Tensor:
    """The ancestral step of the exercise at step ``t`` (t ≥ 1)."""
    beta, ab, ab_prev = float(betas[t]), float(a_bar[t]), float(a_bar[t - 1])
    mean = (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(1 - beta)
    return mean + math.sqrt((1 - ab_prev) / (1 - ab) * beta) * z


def _step_inputs(seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)


@exercise("08.3", "one ancestral (DDPM) step")
def check_ddpm_step(ddpm_step) -> None:
    betas, a_bar = SCHEDULE.betas, SCHEDULE.alpha_bars
    for t in (120, 7, 1):                 # t = 1 still adds noise: only t = 0 is noiseless
        x, eps, z = _step_inputs(t)
        saved = [x.clone(), eps.clone(), z.clone()]
        got = call(ddpm_step, x, eps, t, betas, a_bar, z, what=f"ddpm_step(x_t, eps, t={t}, betas, alpha_bars, z)")
        expect_tensor_type("x_{t-1}", got)
        _unchanged(saved, [x, eps, z], "x_t, eps or z")
        got = got.float() if got.dtype == torch.float64 else got
        beta, alpha, ab, ab_prev = float(betas[t]), 1 - float(betas[t]), float(a_bar[t]), float(a_bar[t - 1])
        mean = (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(alpha)
        var = (1 - ab_prev) / (1 - ab) * beta
        expected = mean + math.sqrt(var) * z
        diagnose(got, {
            "the noise has variance β_t: this exercise uses the posterior's β̃_t = (1-ᾱ_{t-1})/(1-ᾱ_t) β_t":
                mean + math.sqrt(beta) * z,
            "no noise was added: for t > 0 add √β̃_t z": mean,
            "the mean divides ε's factor by 1-ᾱ_t, not √(1-ᾱ_t)":
                (x - beta / (1 - ab) * eps) / math.sqrt(alpha) + math.sqrt(var) * z,
            "the mean divides by √ᾱ_t (the product), not √α_t = √(1-β_t) of this step":
                (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(ab) + math.sqrt(var) * z,
            "the noise is scaled by β̃_t, not its square root √β̃_t": mean + var * z,
            "the whole noise was subtracted: the mean removes only β_t/√(1-ᾱ_t) of ε":
                (x - eps) / math.sqrt(alpha) + math.sqrt(var) * z,
            "β and ᾱ are taken one step early (index t - 1, the paper's 1-based t): steps here run 0..T-1, "
            "so use betas[t], alpha_bars[t] and alpha_bars[t - 1] for ᾱ_{t-1}":
                _ddpm_reference(x, eps, t - 1, betas, a_bar, z),
        }, expected)
        expect_tensor(f"x_(t-1) at t = {t}", got, expected, atol=1e-4)
    x, eps, z = _step_inputs(0)
    saved = [x.clone(), eps.clone(), z.clone()]
    got = call(ddpm_step, x, eps, 0, betas, a_bar, z, what="ddpm_step at t = 0")
    expect_tensor_type("x at t = 0", got)
    _unchanged(saved, [x, eps, z], "x_t, eps or z at t = 0")
    got = got.float() if got.dtype == torch.float64 else got
    mean0 = (x - float(betas[0]) / math.sqrt(1 - float(a_bar[0])) * eps) / math.sqrt(1 - float(betas[0]))
    if got.shape == x.shape and torch.allclose(got, x, atol=1e-6):
        raise ExerciseFailed("at t = 0 the step returned x_t unchanged: it must still remove the noise estimate, "
                             "returning the mean (x_t - β_0/√(1-ᾱ_0) ε̂) / √α_0 without new noise")
    if got.shape == x.shape and not torch.allclose(got, mean0, atol=1e-4):
        raise ExerciseFailed("at t = 0 the step must return the mean alone, with no noise (there is no "
                             "ᾱ_{-1}: the chain ends there)")
    expect_tensor("x at t = 0", got, mean0, atol=1e-4)
    other = linear_schedule(200)          # a second schedule: the answer must use the betas it is given
    x, eps, z = _step_inputs(9)
    again = call(ddpm_step, x, eps, 50, other.betas, other.alpha_bars, z, what="ddpm_step with another schedule")
    expect_tensor_type("x_(t-1) with another schedule", again)
    if again.shape == x.shape and not torch.allclose(again.float(), _ddpm_reference(x, eps, 50, other.betas,
                                                                                   other.alpha_bars, z), atol=1e-4):
        raise ExerciseFailed("with another schedule the step is wrong: use the betas and alpha_bars passed in, "
                             "not a schedule from elsewhere in the notebook")


@exercise("08.4", "one DDIM step")
def check_ddim_step(ddim_step) -> None:
    x, eps, _ = _step_inputs(4)
    cases = ((float(SCHEDULE.alpha_bars[150]), float(SCHEDULE.alpha_bars[100])),
             (float(SCHEDULE.alpha_bars[40]), 1.0))
    for a_t, a_prev in cases:
        saved = [x.clone(), eps.clone()]
        got = call(ddim_step, x, eps, a_t, a_prev, what=f"ddim_step(x_t, eps, {a_t:.3f}, {a_prev:.3f})")
        expect_tensor_type("x_(t')", got)
        _unchanged(saved, [x, eps], "x_t or eps")
        x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        expected = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
        diagnose(got, {
            "x̂_0 is missing: first form x̂_0 = (x_t - √(1-ᾱ_t) ε) / √ᾱ_t, then x_t' = √ᾱ_t' x̂_0 + √(1-ᾱ_t') ε":
                math.sqrt(a_prev) * x + math.sqrt(1 - a_prev) * eps,
            "the new point uses ᾱ_t where ᾱ_t' belongs: the update moves to the earlier step's noise level":
                math.sqrt(a_t) * x0 + math.sqrt(1 - a_t) * eps,
            "the square roots are missing: x_t' = √ᾱ_t' x̂_0 + √(1-ᾱ_t') ε": a_prev * x0 + (1 - a_prev) * eps,
            "the step returns x̂_0: DDIM adds back √(1-ᾱ_t') ε to land on step t'": x0,
        }, expected)
        expect_tensor("x_(t')", got, expected, atol=1e-4)


@exercise("08.5", "classifier-free guidance")
def check_guidance(guided) -> None:
    g = torch.Generator().manual_seed(5)
    cond, uncond = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    for s in (2.5, 1.0, 0.0, 0.7):     # the mistakes are told apart at 2.5, so that scale comes first
        saved = [cond.clone(), uncond.clone()]
        got = call(guided, cond, uncond, s, what=f"guided(eps_cond, eps_uncond, {s})")
        expect_tensor_type("the guided noise", got)
        _unchanged(saved, [cond, uncond], "eps_cond or eps_uncond")
        expected = uncond + s * (cond - uncond)
        if s == 2.5:
            diagnose(got, {
                "this is the paper's form with w = s: here s = 1 must give the conditional prediction, so "
                "use ε_u + s (ε_c - ε_u) (the paper's w is s - 1)": cond + s * (cond - uncond),
                "the roles are swapped: start from the unconditional ε_u and move towards the conditional ε_c":
                    cond + s * (uncond - cond),
                "the conditional prediction is only scaled: guidance extrapolates from ε_u through ε_c":
                    s * cond,
                "the two predictions are averaged: guidance is ε_u + s (ε_c - ε_u)": (cond + uncond) / 2,
            }, expected)
        expect_tensor(f"the guided noise at s = {s}", got, expected, atol=1e-5)
