"""The repository's own rules: packaging in step, notebooks paired and executed, CI wiring."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest

from gencourse.cli import py_percent_twin

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
PAIRED = LESSONS + SOLUTIONS
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_split(r) for r in reqs)


def _conda_requirements() -> dict[str, str]:
    reqs, section = {}, None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        header = re.match(r"^(\w+):", line)
        section = header.group(1) if header else section
        item = re.match(r"^  - ([^\s:#]+)\s*$", line)  # top-level dependency entries only
        if item and section == "dependencies":
            name, spec = _split(item.group(1))
            if name not in {"python", "pip"}:
                reqs[CONDA_NAMES.get(name, name)] = spec
    return reqs


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    pip_reqs, conda_reqs = _pyproject_requirements(), _conda_requirements()
    assert pip_reqs.keys() == conda_reqs.keys(), (
        f"only in pyproject: {sorted(pip_reqs.keys() - conda_reqs.keys())}; "
        f"only in environment.yml: {sorted(conda_reqs.keys() - pip_reqs.keys())}")
    for name, spec in pip_reqs.items():
        assert conda_reqs[name] == spec, f"{name}: pyproject says {spec!r}, environment.yml {conda_reqs[name]!r}"


def test_there_are_lessons_and_solutions():
    assert [p.name[:2] for p in LESSONS][:2] == ["00", "01"]
    assert SOLUTIONS


@pytest.mark.parametrize("notebook", PAIRED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_and_its_py_percent_twin_are_in_sync(notebook):
    twin = notebook.with_suffix(".py")
    assert twin.exists(), f"{notebook.name} has no paired {twin.name}: run `gencourse build`"
    expected = py_percent_twin(nbformat.read(notebook, as_version=4))
    assert twin.read_text() == expected, (
        f"{twin.relative_to(ROOT)} and {notebook.name} differ: edit the .py, then run "
        f"`gencourse build {notebook.name[:2]}`")


@pytest.mark.parametrize("notebook", PAIRED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_notebooks_are_executed_without_errors(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "some cells were never run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error: {errors[0]['ename']}: {errors[0]['evalue']}"
    assert nb.metadata["kernelspec"]["name"] == "gencourse"


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_lessons_follow_the_course_template(notebook):
    text = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells)
    for required in ("You will learn to", "Prerequisites", "Run time", "## Parameters",
                     "## Checks", "## Summary", "Interview question"):
        assert required in text, f"{notebook.name} lacks its '{required}' section"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [l for l in ci if l.strip() and not re.match(r"\s*(#|set |cd |export )", l)]
    assert commands == ["python3 course.py test"]
    assert "python3 course.py test" in (ROOT / "README.md").read_text()
    assert "python3 course.py lab" in (ROOT / "README.md").read_text()


def test_nothing_downloads_at_run_time():
    pattern = re.compile(r"download=True|urlopen\(|requests\.get\(|hf_hub_download|"
                         r"from_pretrained\(|urlretrieve|import urllib|import requests")
    for folder in ("gencourse", "notebooks", "solutions"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not pattern.search(path.read_text()), f"{path} may download at run time"


def test_readme_shows_the_benchmark_table_for_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for nb in PAIRED:
        assert f"{nb.parent.name}/{nb.name}" in readme, f"benchmark table lacks {nb.name}"


def test_readme_benchmark_times_every_notebook_idle_busy_and_with_default_threads():
    # The budgets themselves (90 s / 30 s, 2 GB, busy/idle <= 2) are enforced by
    # benchmarks/notebooks.py, whose exit status is 1 when one is exceeded; the table must at
    # least hold every notebook's three runs, consistently.
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- benchmark:start -->", 1)[1].split("<!-- benchmark:end -->", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].endswith(".ipynb"):
            rows[cells[0]] = cells
    for nb in PAIRED:
        name = f"{nb.parent.name}/{nb.name}"
        assert name in rows, f"the benchmark table lacks {name}: run benchmarks/notebooks.py"
        _, idle, busy, ratio, default, budget, peak = rows[name]
        assert min(float(idle), float(busy), float(default), float(peak)) > 0, f"{name}: {rows[name]}"
        assert abs(float(busy) / float(idle) - float(ratio)) < 0.02, f"{name}: ratio {ratio} ≠ busy/idle"
        assert budget == {"notebooks": "90", "solutions": "30"}[nb.parent.name], f"{name}: budget {budget}"
