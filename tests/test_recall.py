"""The long-range recall task: one marker far from the end, the target is the token after it."""
from __future__ import annotations

import pytest
import torch

from gencourse.data.recall import RecallTask


def test_sequences_hold_one_marker_far_back_and_end_with_the_query():
    task = RecallTask(length=64, vocab=16, min_distance=16)
    batch = task.sample(500, seed=0)
    assert batch.tokens.shape == (500, 64) and batch.tokens.dtype == torch.int64 and len(batch) == 500
    assert bool((batch.tokens[:, -1] == task.query).all())
    is_marker = batch.tokens == task.marker
    assert is_marker.sum(1).tolist() == [1] * 500, "exactly one marker per sequence"
    assert torch.equal(is_marker.float().argmax(1), batch.marker_at)
    content = batch.tokens[:, :-1][~is_marker[:, :-1]]
    assert int(content.min()) == 0 and int(content.max()) == task.vocab - 1
    assert task.n_tokens == 18 and task.marker == 16 and task.query == 17


def test_the_target_is_the_token_right_after_the_marker_and_far_from_the_query():
    task = RecallTask(length=64, vocab=16, min_distance=16)
    batch = task.sample(2000, seed=1)
    rows = torch.arange(len(batch))
    assert torch.equal(batch.targets, batch.tokens[rows, batch.marker_at + 1])
    assert bool((batch.targets < task.vocab).all())
    distance = (task.length - 1) - (batch.marker_at + 1)
    assert int(distance.min()) == task.min_distance, "the answer can sit exactly min_distance back"
    assert int(batch.marker_at.min()) == 0 and int(batch.marker_at.max()) == task.length - task.min_distance - 2
    assert list(task.positions) == list(range(0, 47))


def test_marker_position_and_targets_are_spread_evenly():
    task = RecallTask()
    batch = task.sample(20_000, seed=2)
    position_counts = torch.bincount(batch.marker_at, minlength=len(task.positions)).float()
    target_counts = torch.bincount(batch.targets, minlength=task.vocab).float()
    assert float(position_counts.min()) > 0.7 * float(position_counts.mean())
    assert float(target_counts.min()) > 0.85 * float(target_counts.mean())


def test_sampling_is_repeatable_with_a_seed_or_a_generator():
    task = RecallTask(length=70, vocab=5, min_distance=20)
    a, b = task.sample(10, seed=3), task.sample(10, seed=3)
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.tokens, task.sample(10, seed=4).tokens)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(task.sample(4, generator=g1).tokens, task.sample(4, generator=g2).tokens)
    assert a.tokens.shape == (10, 70)


def test_describe_names_the_marker_and_the_query():
    task = RecallTask(length=8, vocab=3, min_distance=2)
    batch = task.sample(1, seed=0)
    labels = task.describe(batch)
    assert len(labels) == 8 and labels[-1] == "?" and labels.count("M") == 1
    assert labels[labels.index("M") + 1] == str(int(batch.targets[0]))


@pytest.mark.parametrize("kwargs, message", [
    ({"length": 0}, "length must be a positive int"),
    ({"vocab": 1}, "at least 2 content tokens"),
    ({"length": 10, "min_distance": 9}, r"min_distance=9 must lie in \[2, length − 2 = 8\]"),
    ({"min_distance": 1}, "min_distance=1 must lie"),
])
def test_bad_settings_raise_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        RecallTask(**kwargs)
    assert "\n" not in str(error.value)


def test_bad_sample_arguments_raise():
    task = RecallTask()
    with pytest.raises(ValueError, match="n must be a positive int"):
        task.sample(0)
    with pytest.raises(ValueError, match="seed or generator, not both"):
        task.sample(3, seed=1, generator=torch.Generator())
