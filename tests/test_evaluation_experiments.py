"""Chapter 09's experiment helpers: scoring sample sets, drawing real digits like the generators,
classic augmentation and the nearest-training-digit check."""
from __future__ import annotations

import pytest
import torch

from gencourse.data import load_digits
from gencourse.experiments.evaluation import (
    classification_accuracy, conditional_generators, copying_score, digit_scores, few_real, nearest_distances,
    real_for_labels,
    real_reference, shifted_copies, summarise,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def judge():
    from gencourse.zoo import digits_judge
    return digits_judge()


def test_real_for_labels_follows_the_labels_without_repeats(digits):
    labels = torch.tensor([3, 1, 3, 0, 9, 3])
    images = real_for_labels(digits, labels, seed=0)
    for image, label in zip(images, labels):
        matches = (digits.x_train == image).flatten(1).all(dim=1)
        assert int(digits.y_train[matches][0]) == int(label)
    assert len({tuple(im.flatten().tolist()) for im in images}) == len(labels)
    with pytest.raises(ValueError, match="training set has"):
        real_for_labels(digits, torch.zeros(500, dtype=torch.long), seed=0)
    a, b = real_for_labels(digits, torch.arange(10).repeat(20), seed=0, draws=2)
    assert torch.cdist(a.flatten(1), b.flatten(1)).min() > 0                # no digit in both draws


def test_the_copying_score_flags_copies_and_not_fresh_real_digits(digits):
    from scipy.stats import mannwhitneyu
    copies = digits.x_train[torch.randperm(len(digits.x_train), generator=torch.Generator().manual_seed(1))[:200]]
    assert copying_score(copies, digits.x_train, digits.x_test) == 1.0
    fresh, held_out = digits.x_test[:180], digits.x_test[180:]
    assert 0.4 < copying_score(fresh, digits.x_train, held_out) < 0.6
    # it is the Mann-Whitney U statistic of the two distance samples, divided by N·M
    d_fresh, d_held = nearest_distances(fresh, digits.x_train), nearest_distances(held_out, digits.x_train)
    u = mannwhitneyu(-d_fresh.numpy(), -d_held.numpy()).statistic
    assert copying_score(fresh, digits.x_train, held_out) == pytest.approx(u / (180 * 180))


def test_few_real_is_class_balanced_and_seeded(digits):
    x, y = few_real(digits, 5, seed=1)
    assert x.shape == (50, 1, 8, 8) and torch.bincount(y).tolist() == [5] * 10
    assert torch.equal(x, few_real(digits, 5, seed=1)[0]) and not torch.equal(x, few_real(digits, 5, seed=2)[0])


def test_shifted_copies_move_each_digit_by_one_pixel():
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 3, 4] = 1.0
    out, labels = shifted_copies(image, torch.tensor([7]))
    assert out.shape == (5, 1, 8, 8) and labels.tolist() == [7] * 5
    spots = {tuple(torch.nonzero(o[0])[0].tolist()) for o in out}
    assert spots == {(3, 4), (4, 4), (2, 4), (3, 5), (3, 3)}
    edge = torch.zeros(1, 1, 8, 8)
    edge[0, 0, 7, 0] = 1.0                                              # nothing wraps round the border
    moved, _ = shifted_copies(edge, torch.tensor([0]))
    assert moved[1].sum() == 0 and moved[4].sum() == 0


def test_nearest_distances_are_zero_for_copies(digits):
    d = nearest_distances(digits.x_train[:5], digits.x_train)
    assert torch.all(d == 0)
    assert torch.all(nearest_distances(digits.x_test[:20], digits.x_train) > 0)


def test_digit_scores_tell_real_digits_from_a_collapsed_set(digits, judge):
    real = real_reference(judge, digits.x_test, digits.y_test)
    labels = torch.arange(10).repeat(18)
    good = digit_scores(judge, real_for_labels(digits, labels, 0), labels, real)
    collapsed = digit_scores(judge, real_for_labels(digits, labels, 0)[:1].repeat(180, 1, 1, 1), labels, real)
    assert good["fd"] < 15 and good["recall"] > 0.7 and good["agree"] > 0.95 and good["cas"] > 0.8
    assert collapsed["fd"] > 10 * good["fd"] and collapsed["recall"] < 0.05 and collapsed["inception"] < 1.1
    assert collapsed["cas"] < 0.2 and collapsed["agree"] < 0.2
    with pytest.raises(ValueError, match="NaN"):
        digit_scores(judge, torch.full((180, 1, 8, 8), float("nan")), labels, real)


def test_digit_scores_compute_each_metric_on_the_right_sets(digits, judge):
    from gencourse.metrics import (
        density_coverage, frechet_distance_from_features, inception_score, kernel_distance, precision_recall,
    )
    real = real_reference(judge, digits.x_test, digits.y_test)
    labels = torch.arange(10).repeat(18)
    images = real_for_labels(digits, labels, 3) ** 2                     # darker strokes: not like the test digits
    got = digit_scores(judge, images, labels, real)
    with torch.no_grad():
        features, probs = judge.features(images), judge(images).softmax(dim=1)
    pr, dc = precision_recall(real.features, features), density_coverage(real.features, features)
    expected = {"fd": frechet_distance_from_features(features, real.features),
                "kd": kernel_distance(features, real.features), "inception": inception_score(probs),
                "precision": pr.precision, "recall": pr.recall, "density": dc.density, "coverage": dc.coverage,
                "agree": float((probs.argmax(1) == labels).float().mean()),
                "cas": classification_accuracy(images, labels, digits.x_test, digits.y_test)}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_classification_accuracy_learns_from_real_digits(digits):
    x, y = few_real(digits, 20, seed=0)
    assert classification_accuracy(x, y, digits.x_test, digits.y_test) > 0.85
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    assert classification_accuracy(x, shuffled, digits.x_test, digits.y_test) < 0.3


def test_summarise_gives_means_and_t_intervals():
    out = summarise([{"fd": 1.0}, {"fd": 3.0}])
    assert out["fd"][0] == pytest.approx(2.0) and out["fd"][1] == pytest.approx(12.706 * 1.0, rel=1e-3)


def test_the_courses_generators_follow_their_labels(digits, judge):
    from gencourse.experiments.digit_recipes import rebuild
    from gencourse.models.pixel_mixture import BinomialMixture, ClassConditional
    from gencourse.zoo import digits_cgan, digits_cvae
    from gencourse.zoo.diffusion import pixel_diffusion
    mixture = ClassConditional(lambda: BinomialMixture(2)).fit(digits.x_train, digits.y_train, iterations=5)
    generators = conditional_generators(rebuild(digits_cgan()), rebuild(digits_cvae()), pixel_diffusion(), mixture,
                                        steps=10)
    labels = torch.arange(10).repeat(3)
    for name, draw in generators.items():
        with torch.no_grad():
            images = draw(labels, 0)
            assert images.shape == (30, 1, 8, 8) and images.min() >= 0 and images.max() <= 1, name
            assert float((judge.predict(images) == labels).float().mean()) > 0.8, name
            assert not torch.equal(images, draw(labels, 1)), f"{name}: the seed must change the draw"
