"""Checks for chapter 06 (transformers and GPT). Exercises are registered with ``@exercise("06.N", title)``."""
from __future__ import annotations
