"""The course runs PyTorch on one thread per process unless the learner chooses otherwise."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gencourse.threads import configure_threads

PROBE = "import {first}; import {second}; import torch; print(torch.get_num_threads())"


def _threads_in_fresh_python(env_extra: dict[str, str], torch_first: bool = False) -> int:
    env = {k: v for k, v in os.environ.items() if k not in {"OMP_NUM_THREADS", "GENCOURSE_THREADS"}}
    env.update(env_extra)
    first, second = ("torch", "gencourse") if torch_first else ("gencourse", "torch")
    out = subprocess.run([sys.executable, "-c", PROBE.format(first=first, second=second)],
                         env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.parametrize("torch_first", [False, True], ids=["gencourse-first", "torch-first"])
def test_importing_gencourse_chooses_one_thread_whatever_the_import_order(torch_first):
    assert _threads_in_fresh_python({}, torch_first=torch_first) == 1


def test_gencourse_threads_overrides_and_omp_num_threads_is_respected():
    assert _threads_in_fresh_python({"GENCOURSE_THREADS": "2"}) == 2
    assert _threads_in_fresh_python({"OMP_NUM_THREADS": "2"}, torch_first=True) == 2


def test_auto_leaves_pytorchs_default():
    env = {k: v for k, v in os.environ.items() if k not in {"OMP_NUM_THREADS", "GENCOURSE_THREADS"}}
    default = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                             env=env, capture_output=True, text=True, check=True).stdout
    assert _threads_in_fresh_python({"GENCOURSE_THREADS": "auto"}, torch_first=True) == int(default)


def test_worker_processes_inherit_the_choice(monkeypatch):
    import torch
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        assert configure_threads(1) == 1
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("bad", ["0", "two", "-1", "1.5"])
def test_a_bad_thread_count_says_what_to_write(monkeypatch, bad):
    monkeypatch.setenv("GENCOURSE_THREADS", bad)
    with pytest.raises(ValueError, match=r"GENCOURSE_THREADS=.* whole number >= 1, or 'auto'"):
        configure_threads()


def test_blas_libraries_loaded_before_gencourse_are_capped_too():
    import subprocess
    import sys
    code = ("import numpy, scipy.linalg\n"
            "from threadpoolctl import threadpool_info\n"
            "before = max(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas')\n"
            "import gencourse\n"
            "after = max(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas')\n"
            "print(before, after)")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "GENCOURSE_THREADS",
                                                             "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    before, after = map(int, out.stdout.split())
    assert after == 1, f"BLAS still uses {after} threads after import gencourse (it started with {before})"
