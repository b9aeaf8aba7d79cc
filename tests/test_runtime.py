import random

import numpy as np
import pytest
import torch

from gencourse.runtime import cache_dir, pick_device, seed_everything


def test_pick_device_auto_falls_back_to_an_available_device():
    device = pick_device("auto")
    expected = "cuda" if torch.cuda.is_available() else device.type
    assert device.type == expected
    assert pick_device("cpu") == torch.device("cpu")


def test_auto_never_picks_apple_mps_but_mps_can_be_asked_for_by_name(monkeypatch):
    import gencourse.runtime as runtime
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device("mps") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")


def test_pick_device_reads_the_environment(monkeypatch):
    monkeypatch.setenv("GENCOURSE_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_pick_device_rejects_unknown_names_listing_the_choices():
    with pytest.raises(ValueError, match="auto, cuda, mps, cpu"):
        pick_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_pick_device_says_what_is_available_when_cuda_is_missing():
    with pytest.raises(ValueError, match="not available.*cpu"):
        pick_device("cuda")


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(3))
    g = seed_everything(7)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])
    assert torch.equal(torch.rand(2, generator=g), torch.rand(2, generator=torch.Generator().manual_seed(7)))


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(bad)


def test_cache_dir_is_overridable_and_created(monkeypatch, tmp_path):
    target = tmp_path / "nested" / "cache"
    monkeypatch.setenv("GENCOURSE_CACHE", str(target))
    assert cache_dir() == target
    assert target.is_dir()
