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
