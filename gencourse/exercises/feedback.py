"""The registry of exercise checks and the helpers they use to explain failures."""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor


class ExerciseFailed(AssertionError):
    """An exercise check failed; the message says what to fix."""


@dataclass(frozen=True)
class Exercise:
    id: str            # "CC.N"
    title: str
    run: Callable[..., None]

    @property
    def chapter(self) -> str:
        return self.id.split(".")[0]


EXERCISES: dict[str, Exercise] = {}


def exercise(exercise_id: str, title: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn`` as the check of exercise ``exercise_id``."""
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        EXERCISES[exercise_id] = Exercise(exercise_id, title, fn)
        return fn
    return register


def exercises_for_chapter(chapter: str) -> list[Exercise]:
    return sorted((e for e in EXERCISES.values() if e.chapter == chapter),
                  key=lambda e: int(e.id.split(".")[1]))


def check(exercise_id: str, *answers: Any) -> None:
    """Run the check of ``exercise_id`` on the learner's answer(s)."""
    __tracebackhide__ = True  # IPython and pytest hide this frame from learners
    if exercise_id not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}")
    ex = EXERCISES[exercise_id]
    run_exercise(ex, answers)
    print(f"✔ Exercise {ex.id} ({ex.title}): passed")


def run_exercise(ex: Exercise, answers: tuple) -> None:
    """Run ``ex``'s check on the answers; raise ``ExerciseFailed`` naming the exercise on failure
    (an unfinished stub fails with "not done yet"). Used by ``check`` and by the grader."""
    __tracebackhide__ = True
    try:
        ex.run(*answers)
    except ExerciseFailed as failure:
        raise ExerciseFailed(f"Exercise {ex.id} ({ex.title}): {failure}") from None
    except NotImplementedError:
        raise ExerciseFailed(f"Exercise {ex.id} ({ex.title}): not done yet — replace the "
                             "`raise NotImplementedError` stub with your code.") from None


def call(fn: Callable[..., Any], *args: Any, what: str, **kwargs: Any) -> Any:
    """Call the learner's function; turn an unexpected error into clear feedback."""
    if not callable(fn):
        raise ExerciseFailed(f"expected a function for {what}, got {type(fn).__name__}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        if 'missing the required "forward" function' in str(exc):
            # torch's own error for an nn.Module without forward(), not an unfinished stub
            raise ExerciseFailed(f"{what} called a module that has no forward() method: define "
                                 "forward(self, x) in your nn.Module class") from None
        raise
    except ExerciseFailed:
        raise
    except Exception as exc:
        raise ExerciseFailed(f"{what} raised {type(exc).__name__}: {exc}") from None


def expect_tensor(name: str, got: Any, expected: Tensor | None = None, *,
                  shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None,
                  low: float | None = None, high: float | None = None,
                  atol: float = 1e-5, rtol: float = 1e-4) -> Tensor:
    """Compare the learner's tensor with what is expected, part by part.

    The order of the checks (type, shape, dtype, finiteness, range, value) is the
    order in which a learner should fix things.
    """
    if not isinstance(got, Tensor):
        raise ExerciseFailed(f"{name} should be a torch.Tensor, got {type(got).__name__}")
    shape = tuple(expected.shape) if shape is None and expected is not None else shape
    if shape is not None and tuple(got.shape) != tuple(shape):
        raise ExerciseFailed(f"{name} has the wrong shape: expected {tuple(shape)}, "
                             f"got {tuple(got.shape)}")
    if dtype is not None and got.dtype != dtype:
        raise ExerciseFailed(f"{name} has the wrong dtype: expected {dtype}, got {got.dtype}")
    got_f = got.detach().double().cpu()
    if got.is_floating_point() and not bool(torch.isfinite(got_f).all()):
        raise ExerciseFailed(f"{name} contains NaN or inf values")
    if low is not None and got_f.numel() and float(got_f.min()) < low - atol:
        raise ExerciseFailed(f"{name} is out of range: expected values >= {low}, "
                             f"got a minimum of {float(got_f.min()):.4g}")
    if high is not None and got_f.numel() and float(got_f.max()) > high + atol:
        raise ExerciseFailed(f"{name} is out of range: expected values <= {high}, "
                             f"got a maximum of {float(got_f.max()):.4g}")
    if expected is not None:
        exp_f = expected.detach().double().cpu()
        if not torch.allclose(got_f, exp_f, atol=atol, rtol=rtol):
            err = (got_f - exp_f).abs()
            where = tuple(int(i) for i in torch.unravel_index(err.argmax(), err.shape))
            raise ExerciseFailed(
                f"{name} has wrong values: at index {where} expected {float(exp_f[where]):.6g}, "
                f"got {float(got_f[where]):.6g} (largest error {float(err.max()):.3g})")
    return got


def expect_close(name: str, got: Any, expected: float, atol: float = 1e-5, rtol: float = 1e-4,
                 *, allow_tensor: bool = True) -> float:
    """Compare a scalar answer with ``expected``.

    Accepts a Python int or float (and a one-element tensor unless ``allow_tensor``
    is False, for answers the exercise asks to return as a plain float). A bool, a
    string, NaN or an infinity fails with a message that names the problem: NaN in
    particular must never pass, since ``abs(nan - x) > tol`` is False.
    """
    if isinstance(got, Tensor):
        if not allow_tensor:
            raise ExerciseFailed(f"{name} should be a Python float, got a torch.Tensor: "
                                 "convert it with .item() (or float(...))")
        if got.numel() != 1:
            raise ExerciseFailed(f"{name} should be a single number, got a tensor of shape "
                                 f"{tuple(got.shape)}")
        got = got.item()
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
        raise ExerciseFailed(f"{name} should be a number, got {type(got).__name__}")
    got = float(got)
    if not math.isfinite(got):
        raise ExerciseFailed(f"{name} is {got}, not a finite number: look for a log of 0, a "
                             "division by 0 or an overflow in exp")
    if abs(got - expected) > atol + rtol * abs(expected):
        raise ExerciseFailed(f"{name} has the wrong value: expected {expected:.6g}, got {got:.6g}")
    return float(got)


def finite_number(name: str, got: Any, hint: str = "look for a division by 0 or a log of 0") -> float:
    """A Python number or a one-element tensor, finite, as a float; otherwise ``ExerciseFailed`` that
    names the problem (a NaN or an infinity adds ``hint``, where such values usually come from)."""
    if isinstance(got, Tensor):
        if got.numel() != 1:
            raise ExerciseFailed(f"{name} should be a single number, got a tensor of shape {tuple(got.shape)}")
        got = got.detach().item()
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
        raise ExerciseFailed(f"{name} should be a number, got {type(got).__name__}")
    if not math.isfinite(float(got)):
        raise ExerciseFailed(f"{name} is {float(got)}, not a finite number: {hint}")
    return float(got)


def expect_tensor_type(name: str, got: Any) -> None:
    """One tensor with finite values, checked first because a tuple, a numpy array, a list or NaN
    would hide every other diagnosis."""
    if isinstance(got, tuple):
        raise ExerciseFailed(f"{name} should be one tensor, got a tuple of {len(got)}")
    if isinstance(got, np.ndarray):
        raise ExerciseFailed(f"{name} should be a torch.Tensor, got a numpy array: stay in torch (no .numpy())")
    if not isinstance(got, Tensor):
        raise ExerciseFailed(f"{name} should be a torch.Tensor, got {type(got).__name__}")
    if got.is_floating_point() and not bool(torch.isfinite(got.detach()).all()):
        raise ExerciseFailed(f"{name} contains NaN or inf values")


def matches(got: Any, reference: Tensor | float, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Whether the learner's answer equals ``reference``, the output of a known mistake.

    A tensor reference needs a tensor of its shape; a number needs a number or a
    one-element tensor. Both must be finite: ``abs(x - inf) <= tol + rtol * inf`` holds
    for every finite x, so an infinite mistake would otherwise match any answer.
    """
    whole_tensor = isinstance(reference, Tensor) and (
        reference.numel() != 1 or isinstance(got, Tensor) and got.shape == reference.shape)
    if whole_tensor:
        if not isinstance(got, Tensor) or tuple(got.shape) != tuple(reference.shape):
            return False
        got_f, ref_f = got.detach().double().cpu(), reference.detach().double().cpu()
        return (bool(torch.isfinite(got_f).all()) and bool(torch.isfinite(ref_f).all())
                and torch.allclose(got_f, ref_f, atol=atol, rtol=rtol))
    if isinstance(got, Tensor):
        if got.numel() != 1:
            return False
        got = got.detach().item()
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
        return False
    value = float(reference.item() if isinstance(reference, Tensor) else reference)
    return (math.isfinite(float(got)) and math.isfinite(value)
            and abs(float(got) - value) <= atol + rtol * abs(value))


def diagnose(got: Any, mistakes: dict[str, Tensor | float], atol: float = 1e-5,
             rtol: float = 1e-4) -> None:
    """Raise ``ExerciseFailed(message)`` for the first known mistake whose output ``got`` matches."""
    for message, wrong in mistakes.items():
        if matches(got, wrong, atol=atol, rtol=rtol):
            raise ExerciseFailed(message)
