"""How many CPU threads PyTorch uses: one per process, unless you say otherwise.

The course's models are small (a few thousand to a few hundred thousand weights,
batches of a few hundred), so a second thread buys almost nothing, while PyTorch's
default of one thread per core collapses when anything else is busy: its OpenMP
threads wait for each other at every small operation, and a descheduled thread
stalls all of them. On the 2-core development machine (2026-11-25), beside one
CPU-bound process (standing for a browser tab, an IDE indexing, a second notebook),
chapter 00's lesson took 26 s with one thread and 291 s with PyTorch's default; idle,
the two took 11.0 s and 11.8 s. ``benchmarks/notebooks.py`` times every notebook idle,
beside a busy process and with the default threads; the README shows the table.

``import gencourse`` calls :func:`configure_threads` once. Choose differently with
the environment variable ``GENCOURSE_THREADS`` (a number, or ``auto`` for PyTorch's
default), or by setting ``OMP_NUM_THREADS`` yourself, which the course respects.

The same count goes to the BLAS libraries under numpy and scipy (OpenBLAS, MKL), which
scikit-learn's solvers and scipy's linear algebra use. A notebook usually imports numpy
before gencourse, so they have already started one thread per core; ``threadpoolctl``
(a scikit-learn dependency) lowers that in place. Chapter 09's lesson, which fits many small
scikit-learn models, took 4.0 times as long beside a busy process before this (159 s against
39 s idle, 2026-12-07).

This module does not import torch: when torch is not loaded yet it only sets
``OMP_NUM_THREADS`` (torch reads it on import, and worker processes inherit it).
"""
from __future__ import annotations

import os
import sys

THREADS_ENV = "GENCOURSE_THREADS"
DEFAULT_THREADS = 1


def _parse(value: int | str, source: str) -> int | None:
    """A thread count from ``value`` (None for "auto"); a clear error otherwise."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        threads = int(value)
    except (TypeError, ValueError):
        threads = 0
    if isinstance(value, bool) or threads < 1:
        raise ValueError(f"{source}={value!r} is not a thread count: use a whole number >= 1, "
                         "or 'auto' for PyTorch's default")
    return threads


def _limit_blas(threads: int) -> None:
    """Cap the BLAS libraries already loaded (numpy's, scipy's) at ``threads``; later ones read
    OMP_NUM_THREADS when they load."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:            # scikit-learn brings threadpoolctl; without it, leave BLAS alone
        return
    threadpool_limits(limits=threads, user_api="blas")


def configure_threads(threads: int | str | None = None) -> int | None:
    """Set the number of threads PyTorch uses in this process and its workers.

    ``threads`` (or ``$GENCOURSE_THREADS`` when None) is a count or "auto". With
    neither given, an ``OMP_NUM_THREADS`` the user set is kept; otherwise the course
    uses one thread. Returns the count chosen, or None when PyTorch's own choice
    is left in place.
    """
    if threads is not None:
        chosen = _parse(threads, "threads")
    elif os.environ.get(THREADS_ENV):
        chosen = _parse(os.environ[THREADS_ENV], THREADS_ENV)
    elif os.environ.get("OMP_NUM_THREADS"):
        return None  # the user's own choice
    else:
        chosen = DEFAULT_THREADS
    if chosen is None:
        return None
    os.environ["OMP_NUM_THREADS"] = str(chosen)  # for torch's first import and for workers
    _limit_blas(chosen)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(chosen)
    return chosen
