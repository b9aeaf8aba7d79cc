"""Where zoo models live on disk and how they are written (atomically) and read."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from torch import Tensor
from safetensors.torch import save_file

from gencourse.runtime import cache_dir


def recipe_key(fields: dict) -> str:
    """A short hash of a recipe's fields: a changed recipe is a different cache entry."""
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def zoo_folder() -> Path:
    folder = cache_dir() / "zoo"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def temporary_twin(path: Path) -> Path:
    """A per-process temporary name beside ``path``: write it, then ``os.replace`` it onto
    ``path``, so another process (a second notebook) never sees a half-written file."""
    return Path(f"{path}.tmp{os.getpid()}")


def store(weights: Path, tensors: dict[str, Tensor], record: dict) -> None:
    """Write ``weights`` (safetensors) and its JSON record beside it under temporary names,
    then rename, so another process (a second notebook) never sees half-written files."""
    record_path = weights.with_suffix(".json")
    record_tmp, weights_tmp = temporary_twin(record_path), temporary_twin(weights)
    record_tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(weights_tmp))
    os.replace(record_tmp, record_path)
    os.replace(weights_tmp, weights)
