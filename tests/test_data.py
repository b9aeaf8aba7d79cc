import math

import pytest
import torch

from gencourse.data import (
    NAME_LOCALES, grid, load_digits, load_names, moons, ring, spiral, stdlib_source, toy2d,
)


def test_ring_means_are_distinct_and_on_the_unit_circle():
    r = ring()
    angles = torch.atan2(r.centers[:, 1], r.centers[:, 0]) % (2 * math.pi)
    expected = torch.arange(8) * 2 * math.pi / 8
    assert torch.allclose(angles.sort().values, expected, atol=1e-5)
    assert torch.allclose(r.centers.norm(dim=1), torch.ones(8), atol=1e-6)
    # No duplicated mode (the endpoint bug of a linspace over [0, 2π]).
    gaps = torch.cdist(r.centers, r.centers) + 10 * torch.eye(8)
    assert gaps.min() > 0.7
    assert r.std == 0.01


def test_grid_means_are_the_published_lattice():
    g = grid()
    values = {round(v, 6) for v in g.centers.flatten().tolist()}
    assert values == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert g.n_modes == 25 and g.std == 0.05


@pytest.mark.parametrize("name", ["ring", "grid", "moons", "spiral"])
def test_real_samples_cover_every_mode_and_are_high_quality(name):
    dist = toy2d(name)
    x, modes = dist.sample(2500, seed=3, return_modes=True)
    assert x.shape == (2500, 2)
    report = dist.assign(x)
    assert report.modes_covered == dist.n_modes
    assert report.high_quality_fraction > 0.97
    # The assigned mode is the generating mode for high-quality samples.
    hq = report.high_quality
    assert (report.mode[hq] == modes[hq]).float().mean() > 0.99


def test_assign_flags_collapsed_and_far_away_samples():
    r = ring()
    collapsed = r.centers[2].repeat(100, 1)
    report = r.assign(collapsed)
    assert report.modes_covered == 1
    assert report.counts()[2] == 100
    far = r.assign(torch.full((50, 2), 5.0))
    assert far.high_quality_fraction == 0.0 and far.modes_covered == 0


def test_sampling_is_repeatable_under_a_seed():
    assert torch.equal(spiral().sample(10, seed=1), spiral().sample(10, seed=1))
    assert not torch.equal(moons().sample(10, seed=1), moons().sample(10, seed=2))


def test_toy_errors_list_the_choices():
    with pytest.raises(ValueError, match="ring, grid, moons, spiral"):
        toy2d("swiss")
    with pytest.raises(ValueError, match="non-negative"):
        ring().sample(-5)
    with pytest.raises(ValueError, match="positive int"):
        ring(n_modes=0)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        ring().assign(torch.zeros(4, 3))


def test_digits_split_is_fixed_stratified_and_in_range():
    d = load_digits()
    assert d.x_train.shape == (1437, 1, 8, 8) and d.x_test.shape == (360, 1, 8, 8)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert float(d.x_train.min()) == 0.0 and float(d.x_train.max()) == 1.0
    assert torch.bincount(d.y_test, minlength=10).min() >= 35
    again = load_digits()
    assert torch.equal(d.x_test, again.x_test)
    flat = load_digits(flatten=True)
    assert flat.x_train.shape == (1437, 64)
    assert torch.equal(flat.x_train.reshape(-1, 1, 8, 8), d.x_train)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.2, "0.2"])
def test_digits_reject_bad_split(bad):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        load_digits(test_fraction=bad)


def test_names_by_locale_and_gender():
    female, male = load_names("en_US", "female"), load_names("en_US", "male")
    assert len(female) > 300 and len(male) > 300
    assert "Mary" in female and "James" in male
    assert set(load_names("en_US")) == set(female) | set(male)
    for locale in NAME_LOCALES:
        assert load_names(locale, "female") and load_names(locale, "male"), locale


def test_names_errors_list_valid_choices():
    with pytest.raises(ValueError, match="en_US"):
        load_names("xx_XX")
    with pytest.raises(ValueError, match="female, male, any"):
        load_names("en_US", "robot")


def test_stdlib_corpus_is_python_source():
    text = stdlib_source(("json",))
    assert "# file: json/__init__.py" in text and "def dumps(" in text
    assert len(stdlib_source(max_chars=1000)) == 1000
    with pytest.raises(ValueError, match="no standard-library module"):
        stdlib_source(("definitely_not_a_module",))
    with pytest.raises(ValueError, match="positive int"):
        stdlib_source(max_chars=0)
