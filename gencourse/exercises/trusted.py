"""Checks a submission cannot switch off: a private copy of the registry, taken before it runs.

A learner's notebook runs in the same Python process as the checks, so it can redefine
``check``, wrap its calls in ``try/except``, or patch the checker's modules
(``gencourse.exercises.ch02.expect_close = lambda *a, **k: None``). The grader therefore
calls :func:`arm` before any of the submission's code runs: it copies the namespace of every
``gencourse.exercises`` module and rebinds each of their functions to the copies, so later
changes to those modules' attributes no longer reach the checks it returns. The grader runs
the checks itself, at the positions of the canonical check cells, and reads pass or fail from
whether its own cell raised, never from printed text.

A check counts as passed only if the grader's cell raised nothing *and* displayed the success
marker with that call's one-time token, so replacing the runner with a no-op, swallowing errors
with IPython's custom exception hooks, or rewriting the grader's cells with an input transformer
scores nothing.

What this does not stop: the checks run in the learner's process, so a submission written to
attack the grader can still win — by forging the marker (reading the token from the cell it
rewrites), by patching the reference code the checks call outside ``gencourse.exercises``
(``gencourse.models``, torch, numpy), or by writing outside its folder. For high-stakes grading
run ``gencourse grade`` in a disposable container, as a user who cannot write to the course.
"""
from __future__ import annotations

import sys
from types import FunctionType
from typing import Any, Callable

PACKAGE = "gencourse.exercises"


def _snapshot() -> dict[str, Any]:
    """Copies of the checker modules' namespaces, with their functions rebound to the copies;
    returns the copied registry ``EXERCISES`` (id -> Exercise with a rebound ``run``)."""
    import gencourse.exercises  # noqa: F401  (registers every chapter's checks)

    modules = {name: module for name, module in sys.modules.items()
               if module is not None and (name == PACKAGE or name.startswith(PACKAGE + "."))}
    spaces = {name: dict(vars(module)) for name, module in modules.items()}
    rebound: dict[int, FunctionType] = {}
    for space in spaces.values():
        for value in space.values():
            if isinstance(value, FunctionType) and value.__module__ in spaces and id(value) not in rebound:
                copy = FunctionType(value.__code__, spaces[value.__module__], value.__name__,
                                    value.__defaults__, value.__closure__)
                copy.__kwdefaults__ = value.__kwdefaults__
                copy.__dict__.update(value.__dict__)
                rebound[id(value)] = copy
    for space in spaces.values():
        for key, value in list(space.items()):
            if id(value) in rebound:
                space[key] = rebound[id(value)]
    feedback = spaces[f"{PACKAGE}.feedback"]
    exercise_type = feedback["Exercise"]
    registry = {ex_id: exercise_type(ex.id, ex.title, rebound.get(id(ex.run), ex.run))
                for ex_id, ex in feedback["EXERCISES"].items()}
    return {"EXERCISES": registry, "ExerciseFailed": feedback["ExerciseFailed"],
            "run_exercise": feedback["run_exercise"]}


def arm(passed_mime: str) -> Callable[[str, Callable[[], tuple], str], None]:
    """A check runner bound to a private snapshot of the checks.

    ``runner(exercise_id, answers, nonce)`` calls ``answers()`` (a lambda returning the learner's
    objects, so a missing name is reported, not a crash) and runs the snapshot's check. On
    success it displays ``{passed_mime: {"id", "nonce"}}``, the marker the grader requires (so a
    runner replaced by a no-op, or errors hidden from display, score nothing); otherwise it raises
    ``ExerciseFailed`` with the learner-facing reason.
    """
    from IPython.display import display

    snapshot = _snapshot()
    registry, failed, run_exercise = snapshot["EXERCISES"], snapshot["ExerciseFailed"], snapshot["run_exercise"]

    def runner(exercise_id: str, answers: Callable[[], tuple], nonce: str) -> None:
        __tracebackhide__ = True
        exercise = registry[exercise_id]
        try:
            given = answers()
        except NameError as exc:
            raise failed(f"Exercise {exercise_id} ({exercise.title}): {exc}: the cell that defines it is "
                         "missing, was not run, or failed (see the cell errors in this report)") from None
        try:
            run_exercise(exercise, given)      # the snapshot's copy: names the exercise on failure
        except failed:
            raise
        except Exception as exc:
            raise failed(f"Exercise {exercise_id} ({exercise.title}): the check stopped with "
                         f"{type(exc).__name__}: {exc}") from None
        display({passed_mime: {"id": exercise_id, "nonce": nonce},
                 "text/plain": f"Exercise {exercise_id} ({exercise.title}): passed"}, raw=True)

    return runner
