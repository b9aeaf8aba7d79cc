"""Checks for chapter 05 (attention). Exercises are registered with ``@exercise("05.N", title)``."""
from __future__ import annotations
