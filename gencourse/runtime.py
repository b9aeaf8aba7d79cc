"""Where code runs and how it is made repeatable: device, seeds, cache folder."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

DEVICE_ENV = "GENCOURSE_DEVICE"
CACHE_ENV = "GENCOURSE_CACHE"
_DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(prefer: str | None = None) -> torch.device:
    """The device to train on: cuda if present, else the cpu, unless told otherwise.

    ``prefer`` (or the ``GENCOURSE_DEVICE`` environment variable when ``prefer`` is
    None) may be "auto", "cuda", "mps" or "cpu". Apple's MPS backend is used only when
    asked for by name: it has given silently wrong losses in other courses' notebooks
    (kernels that differ from the CPU's without an error), so "auto" never picks it.
    Asking for a device that is not available raises a ValueError saying what is
    available instead.
    """
    choice = (prefer if prefer is not None else os.environ.get(DEVICE_ENV, "auto")).lower()
    if choice not in _DEVICE_CHOICES:
        raise ValueError(f"device={choice!r} is not one of {', '.join(_DEVICE_CHOICES)}")
    available = ["cpu"]
    if _mps_available():
        available.insert(0, "mps")
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if choice == "auto":
        return torch.device("cuda" if "cuda" in available else "cpu")
    if choice not in available:
        raise ValueError(f"device={choice!r} is not available on this machine; "
                         f"available: {', '.join(available)} (or 'auto')")
    return torch.device(choice)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's random generators.

    Returns a fresh CPU ``torch.Generator`` seeded the same way, for code that
    prefers an explicit generator to the global one.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cache_dir() -> Path:
    """The folder where the course caches things it builds (trained models, ...).

    ``$GENCOURSE_CACHE`` if set, else ``~/.cache/gencourse``. Created if missing.
    """
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gencourse").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
