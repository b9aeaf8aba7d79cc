import os
from pathlib import Path

import nbformat
import pytest

from gencourse.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_list_shows_each_chapter_with_its_twins(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "00_generative_ai" in out and "exercises + solutions" in out


def test_check_reports_a_score_and_fails_on_unsolved_work(capsys, tmp_path):
    # A learner's notebook that solves 01.5 only, and calls 01.1's check on a lambda of its own:
    # the grader checks the names the exercise asks for (pca_fit), not what the cell passes.
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import torch\nfrom gencourse.exercises import check\n"
        "def interpolate(a, b, n):\n    t = torch.linspace(0, 1, n)[:, None]\n"
        "    return (1 - t) * a + t * b\n"),
        nbformat.v4.new_code_cell('check("01.5", interpolate)'),
        nbformat.v4.new_code_cell('check("01.1", lambda x, k: x)')]
    path = tmp_path / "01_latent_spaces.ipynb"
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[PASS] 01.5" in out and "[FAIL] 01.1" in out
    assert "name 'pca_fit' is not defined" in out
    assert "name 'pca_reconstruct' is not defined" in out     # its check cell is missing: run at the end
    assert "Score: 1/6" in out
    assert (tmp_path / "01_latent_spaces.graded.ipynb").exists()


def test_check_rejects_notebooks_without_a_chapter_number_in_one_line(tmp_path, capsys):
    path = tmp_path / "mywork.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "NN_slug.ipynb" in err and err.count("\n") == 1
