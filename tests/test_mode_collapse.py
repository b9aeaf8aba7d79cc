"""The chapter-03 experiment finds its stored results wherever the lesson runs from."""
from __future__ import annotations

import pytest

from gencourse.experiments.mode_collapse import CONFIGS, DATASETS, RESULTS, load_results


def test_results_load_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a copy of the lesson run outside notebooks/
    results = load_results()
    assert results, f"no results in {RESULTS}"
    assert {r["config"] for r in results} <= set(CONFIGS), "stored results under unknown names"
    for name in CONFIGS:
        for dataset in DATASETS:
            seeds = {r["seed"] for r in results if r["config"] == name and r["dataset"] == dataset}
            assert len(seeds) >= 2, f"{name} on {dataset} has {len(seeds)} seeds stored"


def test_missing_results_say_where_they_were_looked_for_and_how_to_make_them(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(FileNotFoundError, match=r"no benchmark results at .*none\.json.*"
                                                 r"python benchmarks/mode_collapse\.py"):
        load_results(missing)


def test_run_one_can_train_a_shorter_run_and_says_how_long():
    # The lesson's live rerun is shorter than the benchmark's rows; the result must say so.
    from gencourse.experiments.mode_collapse import COURSE_NAME, run_one

    short = run_one((COURSE_NAME, "ring", 0), steps=3)
    assert short["steps"] == 3 and CONFIGS[COURSE_NAME][1].steps == 8000, "the stored config must not change"
    assert 0 <= short["modes"] <= 8 and "samples" not in short
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="steps must be a positive int"):
            run_one((COURSE_NAME, "ring", 0), steps=bad)
