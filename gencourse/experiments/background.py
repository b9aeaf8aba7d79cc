"""A background worker for a lesson, only when a CPU core is actually free.

A lesson that trains side models in a second process finishes sooner on an idle 2-core
laptop. On a busy one it does not: Linux's autogroup scheduler gives the notebook's kernel
and the worker it forked one share together, so beside a single busy program they take turns
on one core, and each switch costs cache (on the course's test machine lesson 04 ran 2.07x
slower beside one busy process, while running its models one after the other in one process
costs no switching). :func:`background_pool` therefore measures how busy the machine is
right now and returns either a one-worker process pool or :class:`InPlace`, which runs each
job in the notebook's own process when its result is first asked for. Both answer
``submit``, ``result``, ``cancel`` and ``shutdown`` alike, and a job gives the same result in
either (seeded, one thread).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Callable


def busy_cores(seconds: float = 0.3) -> float | None:
    """How many CPU cores other programs kept busy over the last ``seconds`` (Linux: from
    /proc/stat; None where that cannot be read). This process sleeps meanwhile."""
    def totals() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]                      # idle + iowait
        return sum(values[:8]), idle
    try:
        total_a, idle_a = totals()
        time.sleep(seconds)
        total_b, idle_b = totals()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total_b - total_a
    if elapsed <= 0:
        return None
    return (os.cpu_count() or 1) * (1 - (idle_b - idle_a) / elapsed)


class _Later:
    """A future that runs its job in this process the first time its result is asked for."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict):
        self._job, self._done, self._value = (fn, args, kwargs), False, None

    def result(self) -> Any:
        if not self._done:
            fn, args, kwargs = self._job
            self._value, self._done = fn(*args, **kwargs), True
        return self._value

    def cancel(self) -> bool:
        """Always succeeds before the job ran: the caller then runs it itself, as with a pool
        whose worker had not started it."""
        return not self._done

    def done(self) -> bool:
        return self._done


class InPlace(Executor):
    """The stand-in for a process pool on a busy machine: jobs run in this process, lazily."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> _Later:  # type: ignore[override]
        return _Later(fn, args, kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def background_pool(free_below: float = 0.5) -> Executor:
    """A one-worker process pool if fewer than ``free_below`` cores are busy with other work
    (or the load cannot be read), else :class:`InPlace`. ``GENCOURSE_BACKGROUND=process`` or
    ``inplace`` overrides the measurement."""
    choice = os.environ.get("GENCOURSE_BACKGROUND", "auto").lower()
    if choice not in ("auto", "process", "inplace"):
        raise ValueError(f"GENCOURSE_BACKGROUND={choice!r}: use auto, process or inplace")
    if choice == "auto":
        busy = busy_cores()
        cores = os.cpu_count() or 1
        choice = "process" if cores > 1 and (busy is None or busy < free_below) else "inplace"
    return ProcessPoolExecutor(max_workers=1) if choice == "process" else InPlace()
