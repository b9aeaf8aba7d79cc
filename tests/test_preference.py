"""The blind two-alternative study and its widget, answered in Python."""
from __future__ import annotations

import pytest
import torch

from gencourse.experiments.preference import PairwiseStudy, detector_score, run_rater, simulated_rater
from gencourse.widgets.preference import PreferenceWidget, pair_figure


def _sets(n=100, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g) * 0.5, torch.rand(n, 1, 8, 8, generator=g) * 0.5 + 0.5


def test_sides_are_random_and_pairs_show_one_of_each():
    real, fake = _sets()
    study = PairwiseStudy(real, fake, n_trials=100, seed=0)
    left_share = sum(t.generated_left for t in study.trials) / 100
    assert 0.35 < left_share < 0.65
    for i, t in enumerate(study.trials[:10]):
        left, right = study.pair(i)
        generated = left if t.generated_left else right
        assert torch.equal(generated, fake[t.generated]) and not torch.equal(generated, real[t.real])


def test_a_rater_who_knows_the_answer_gives_0_or_100_percent_and_a_coin_gives_50():
    real, fake = _sets()
    study = PairwiseStudy(real, fake, n_trials=80, seed=1)
    brightness = lambda images: images.reshape(len(images), -1).mean(1)         # noqa: E731 (fake images are brighter)
    always_right = run_rater(study, "expert", simulated_rater(lambda im: -brightness(im), sharpness=100))
    fooled = run_rater(study, "fooled", simulated_rater(brightness, sharpness=100))
    coin = run_rater(study, "coin", simulated_rater(lambda im: torch.zeros(len(im)), seed=4))
    assert always_right.wins == 0 and fooled.wins == 80
    assert coin.low < 0.5 < coin.high
    assert always_right.high < 0.06 and fooled.low > 0.94               # Wilson never collapses to zero width
    run_rater(study, "expert too", simulated_rater(lambda im: -brightness(im), sharpness=100))
    assert study.agreement(["expert", "expert too"]) == pytest.approx(1.0)
    pooled = study.win_rate()
    assert pooled.n == 320


def test_agreement_is_cohens_kappa_of_the_raters_picks():
    from sklearn.metrics import cohen_kappa_score
    real, fake = _sets()
    study = PairwiseStudy(real, fake, n_trials=60, seed=2)
    score = lambda im: -im.reshape(len(im), -1).mean(1)                        # noqa: E731
    run_rater(study, "a", simulated_rater(score, sharpness=5, seed=1))
    run_rater(study, "b", simulated_rater(score, sharpness=5, seed=2))
    assert study.agreement(["a", "b"]) == pytest.approx(cohen_kappa_score(study.picked_generated("a"),
                                                                           study.picked_generated("b")))


def test_detector_score_tells_clearly_different_sets_apart():
    real, fake = _sets()
    score = detector_score(real, fake)
    assert float(score(real[:20]).mean()) > 0 > float(score(fake[:20]).mean())


def test_study_errors_say_what_to_do():
    real, fake = _sets(10)
    with pytest.raises(ValueError, match="n_trials"):
        PairwiseStudy(real, fake, n_trials=11)
    study = PairwiseStudy(real, fake, n_trials=1)
    with pytest.raises(ValueError, match="'left' or 'right'"):
        study.answer("me", "middle")
    study.answer("me", "left")
    with pytest.raises(ValueError, match="answered all"):
        study.answer("me", "left")
    with pytest.raises(ValueError, match="no answers yet"):
        study.win_rate("you")
    with pytest.raises(ValueError, match="two raters"):
        study.agreement()


def test_widget_records_answers_and_reports_the_win_rate():
    real, fake = _sets()
    study = PairwiseStudy(real, fake, n_trials=4, seed=0)
    widget = PreferenceWidget(study, rater="ana")
    assert "trial 1 of 4" in widget.label
    first_left = widget.left_image.value
    widget.left.click()
    assert "trial 2 of 4" in widget.label and widget.left_image.value != first_left
    for _ in range(3):
        widget.right.click()
    assert "done" in widget.label and "win rate" in widget.label and widget.left.disabled
    assert study.answers["ana"] == ["left", "right", "right", "right"]
    widget.rater.value = "ben"                                        # a second rater on the same trials
    assert "ben: trial 1 of 4" in widget.label and not widget.left.disabled
    for _ in range(4):
        widget.left.click()
    assert "κ =" in widget.label
    widget.rater.value = " "
    assert "type a rater name" in widget.label


def test_pair_figure_shows_two_rows_of_trials():
    real, fake = _sets()
    study = PairwiseStudy(real, fake, n_trials=6, seed=0)
    fig = pair_figure(study, trials=5, reveal=True)
    assert len(fig.axes) == 10


def test_the_lesson_shows_the_static_pairs_beside_the_widget():
    from pathlib import Path

    import nbformat
    lesson = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "09_evaluation.ipynb", as_version=4)
    cells = [c for c in lesson.cells if c.cell_type == "code" and "pair_figure(" in c.source]
    assert cells, "the lesson no longer draws the static pairs"
    assert any("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", [])), \
        "the static figure beside the widget has no image output: display(...) the Figure"
