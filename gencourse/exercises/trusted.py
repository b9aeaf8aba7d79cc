"""Checks a submission cannot switch off: a private copy of the registry, taken before it runs.

A learner's notebook runs in the same Python process as the checks, so it can redefine
``check``, wrap its calls in ``try/except``, or patch the checker's modules
(``gencourse.exercises.ch02.expect_close = lambda *a, **k: None``). The grader therefore
calls :func:`arm` before any of the submission's code runs: it copies the namespace of every
``gencourse.exercises`` module and rebinds each of their functions to the copies, so later
changes to those modules' attributes no longer reach the checks it returns. The grader runs
the checks itself, at the positions of the canonical check cells, and reads pass or fail from
whether its own cell raised, never from printed text.

What this does not stop: a submission that patches the libraries the checks use (torch,
numpy) or the interpreter itself. For high-stakes grading run the grader in a container; it
already runs each notebook in its own process with time and memory limits and, on Linux,
without network (see ``gencourse.grader``).
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
    return {"EXERCISES": registry, "ExerciseFailed": feedback["ExerciseFailed"]}


def arm() -> Callable[[str, Callable[[], tuple]], None]:
    """A check runner bound to a private snapshot of the checks.

    ``runner(exercise_id, answers)`` calls ``answers()`` (a lambda returning the learner's
    objects, so a missing name is reported, not a crash) and runs the snapshot's check; it
    returns on success and raises ``ExerciseFailed`` with the learner-facing reason otherwise.
    """
    snapshot = _snapshot()
    registry, failed = snapshot["EXERCISES"], snapshot["ExerciseFailed"]

    def runner(exercise_id: str, answers: Callable[[], tuple]) -> None:
        __tracebackhide__ = True
        exercise = registry[exercise_id]
        try:
            given = answers()
        except NameError as exc:
            raise failed(f"Exercise {exercise_id} ({exercise.title}): {exc}: the cell that defines it is "
                         "missing, was not run, or failed (see the cell errors in this report)") from None
        try:
            exercise.run(*given)
        except failed as failure:
            raise failed(f"Exercise {exercise_id} ({exercise.title}): {failure}") from None
        except NotImplementedError:
            raise failed(f"Exercise {exercise_id} ({exercise.title}): not done yet — replace the "
                         "`raise NotImplementedError` stub with your code.") from None
        except Exception as exc:
            raise failed(f"Exercise {exercise_id} ({exercise.title}): the check stopped with "
                         f"{type(exc).__name__}: {exc}") from None

    return runner
