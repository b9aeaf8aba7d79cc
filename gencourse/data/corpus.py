"""Text and code from the Python standard library's own source files (always installed)."""
from __future__ import annotations

import sysconfig
from pathlib import Path

DEFAULT_MODULES = ("json", "csv", "textwrap", "string", "functools", "heapq", "bisect",
                   "fractions", "statistics", "shlex", "glob", "fnmatch", "queue", "copy")


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_source(modules: tuple[str, ...] = DEFAULT_MODULES, max_chars: int | None = None) -> str:
    """The concatenated source of standard-library modules, in the order given.

    ``modules`` are module names (a package such as "json" contributes all its .py
    files, sorted). Each file is preceded by a ``# file: <path>`` line. With
    ``max_chars`` the text is cut to that many characters. The text depends on the
    Python version installed.
    """
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars <= 0):
        raise ValueError(f"max_chars must be a positive int or None, got {max_chars!r}")
    if isinstance(modules, str):
        modules = (modules,)
    root = stdlib_root()
    parts: list[str] = []
    for name in modules:
        path = root / name.replace(".", "/")
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        files = [f for f in files if f.is_file() and "test" not in f.relative_to(root).parts[0:1]]
        if not files:
            available = sorted(p.stem for p in root.glob("*.py"))[:15]
            raise ValueError(f"no standard-library module named {name!r} under {root}; "
                             f"examples of valid names: {', '.join(available)}, ...")
        for f in files:
            parts.append(f"# file: {f.relative_to(root).as_posix()}\n"
                         + f.read_text(encoding="utf-8", errors="replace"))
    text = "\n".join(parts)
    return text[:max_chars] if max_chars is not None else text
