"""Text and code from the Python standard library's own source files (always installed).

    stdlib_source   the concatenated source of some modules
    code_corpus     module source split by file into train / val / test
    stdlib_prose    docstrings and comments: English-like text (about 1 MB and more)
"""
from __future__ import annotations

import ast
import io
import random
import sysconfig
import tokenize
from dataclasses import dataclass
from functools import lru_cache
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


# Pure-Python standard-library modules for the code corpus (about 0.67 MB in 35 files
# with Python 3.11): enough text for what a small model sees in a minute of CPU time,
# with held-out parts small enough to score in a few seconds.
CODE_MODULES = DEFAULT_MODULES + (
    "calendar", "contextlib", "gettext", "numbers", "operator", "pprint", "random", "reprlib",
    "sched", "selectors", "smtplib", "tempfile", "tokenize", "traceback", "types", "uuid", "weakref")


@dataclass(frozen=True)
class TextSplit:
    """Training, validation and test text; ``files`` names the source files of each part."""
    train: str
    val: str
    test: str
    files: dict[str, list[str]]


def _module_files(modules: tuple[str, ...]) -> list[Path]:
    root = stdlib_root()
    found: list[Path] = []
    for name in modules:
        path = root / name.replace(".", "/")
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        files = [f for f in files if f.is_file() and "test" not in f.relative_to(root).parts]
        if not files:
            raise ValueError(f"no standard-library module named {name!r} under {root}")
        found.extend(f for f in files if f not in found)
    return found


def code_corpus(modules: tuple[str, ...] = CODE_MODULES, seed: int = 0,
                fractions: tuple[float, float] = (0.1, 0.1)) -> TextSplit:
    """Python source of standard-library modules, split by file into train / val / test.

    The files are shuffled with ``seed``; validation then test take whole files until
    each holds at least its fraction of the characters; the rest is training text.
    Held-out files are code the model never saw. Files are joined with a blank line.
    """
    f_val, f_test = fractions
    if not (0 < f_val < 1 and 0 < f_test < 1 and f_val + f_test < 1):
        raise ValueError(f"fractions (val, test) must be in (0, 1) and sum below 1, got {fractions!r}")
    if isinstance(modules, str):
        modules = (modules,)
    root = stdlib_root()
    files = _module_files(tuple(modules))
    if len(files) < 3:
        raise ValueError(f"{len(files)} source files cannot be split three ways; name more modules")
    texts = {f: f.read_text(encoding="utf-8", errors="replace") for f in files}
    total = sum(map(len, texts.values()))
    order = list(files)
    random.Random(seed).shuffle(order)
    parts: dict[str, list[Path]] = {"val": [], "test": [], "train": []}
    for f in order:
        if sum(len(texts[g]) for g in parts["val"]) < f_val * total and len(order) - len(parts["val"]) > 2:
            parts["val"].append(f)
        elif sum(len(texts[g]) for g in parts["test"]) < f_test * total:
            parts["test"].append(f)
        else:
            parts["train"].append(f)
    if not parts["train"] or not parts["test"]:
        raise ValueError("the files are too few or too uneven to split three ways; name more modules")
    join = lambda fs: "\n\n".join(texts[f] for f in fs)  # noqa: E731
    return TextSplit(train=join(parts["train"]), val=join(parts["val"]), test=join(parts["test"]),
                     files={k: [f.relative_to(root).as_posix() for f in v] for k, v in parts.items()})


def _prose_pieces(source: str) -> list[str]:
    """Docstrings (cleaned) and runs of comment lines (without '#') of one Python source."""
    pieces: list[str] = []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return pieces
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc and len(doc) > 20:
                pieces.append(doc)
    run: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                line = tok.string.lstrip("#").strip()
                if line and not line.startswith(("!", "-*-", "type:", "noqa", "pragma")):
                    run.append(line)
                    continue
            elif tok.type in (tokenize.NL, tokenize.NEWLINE) and run:
                continue
            if run:
                comment = " ".join(run)
                if len(comment) > 20 and sum(c.isalpha() or c == " " for c in comment) > 0.8 * len(comment):
                    pieces.append(comment)
                run = []
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return pieces


@lru_cache(maxsize=4)
def stdlib_prose(max_chars: int = 1_000_000) -> str:
    """English-like text: docstrings and comments of the standard library's source files.

    Files are read in sorted path order (tests, idlelib and site-packages left out);
    module, class and function docstrings (dedented) and runs of comment lines
    (joined into one line) are kept, ASCII only, separated by blank lines, until
    ``max_chars`` characters. The text depends on the Python version installed.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars <= 0:
        raise ValueError(f"max_chars must be a positive int, got {max_chars!r}")
    root = stdlib_root()
    out: list[str] = []
    size = 0
    for f in sorted(root.rglob("*.py")):
        parts = f.relative_to(root).parts
        if any(p in ("test", "tests", "idlelib", "site-packages", "lib2to3") or p.startswith("idle_test")
               for p in parts):
            continue
        for piece in _prose_pieces(f.read_text(encoding="utf-8", errors="replace")):
            if not piece.isascii():
                continue
            out.append(piece)
            size += len(piece) + 2
            if size >= max_chars:
                return "\n\n".join(out)[:max_chars]
    return "\n\n".join(out)[:max_chars]
