"""The classical baselines of chapter 09: exact, normalised likelihoods, EM that climbs, faithful samples."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from gencourse.models.pixel_mixture import BinomialMixture, CategoricalMixture, ClassConditional, CopyKernel

LEVELS = 2                                          # 3 grey levels per pixel: small enough to enumerate


def _every_image(d: int = 2) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(LEVELS + 1), repeat=d)), dtype=torch.float32) / LEVELS


def _data(n: int = 60, d: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    k = torch.where(torch.rand(n, 1, generator=g) < 0.5, torch.zeros(n, d), torch.full((n, d), float(LEVELS)))
    noisy = torch.randint(0, LEVELS + 1, (n, d), generator=g).float()
    return torch.where(torch.rand(n, d, generator=g) < 0.2, noisy, k) / LEVELS


@pytest.mark.parametrize("model", [
    lambda x: BinomialMixture(3, levels=LEVELS).fit(x),
    lambda x: CategoricalMixture(3, levels=LEVELS).fit(x),
    lambda x: CopyKernel(x, 0.1, levels=LEVELS),
], ids=["binomial", "categorical", "copy kernel"])
def test_likelihoods_sum_to_one_over_every_possible_image(model):
    m = model(_data())
    assert float(m.log_prob(_every_image()).exp().sum()) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("family", [BinomialMixture, CategoricalMixture])
def test_em_never_lowers_the_training_likelihood(family):
    m = family(4, levels=LEVELS, smoothing=0.0).fit(_data(d=3), iterations=30)   # no prior: plain maximum likelihood
    assert all(b >= a - 1e-9 for a, b in zip(m.history, m.history[1:]))
    assert m.history[-1] > m.history[0]


@pytest.mark.parametrize("family", [BinomialMixture, CategoricalMixture])
def test_samples_follow_the_model(family):
    m = family(2, levels=LEVELS).fit(_data(), seed=1)
    samples = m.sample(40_000, seed=2)
    images = _every_image()
    freq = torch.stack([(samples == img).all(dim=1).float().mean() for img in images])
    assert torch.allclose(freq.double(), m.log_prob(images).exp(), atol=0.01)


def test_one_categorical_component_is_the_smoothed_pixel_histogram():
    x = _data(d=3)
    k = (x * LEVELS).round().long()
    counts = torch.nn.functional.one_hot(k, LEVELS + 1).double().sum(0) + 1          # (D, levels + 1)
    log_q = (counts / counts.sum(1, keepdim=True)).log()
    expected = log_q[torch.arange(3), k].sum(1)
    assert torch.allclose(CategoricalMixture(1, levels=LEVELS).fit(x, iterations=1).log_prob(x), expected)


def test_one_binomial_component_is_the_smoothed_mean_ink():
    x = _data(d=3)
    k = (x * LEVELS).round().double()
    p = (k.sum(0) + 1) / (LEVELS * len(k) + 2)
    log_choose = torch.tensor([[math.log(math.comb(LEVELS, int(v))) for v in row] for row in k])
    expected = (log_choose + k * p.log() + (LEVELS - k) * (1 - p).log()).sum(1)
    assert torch.allclose(BinomialMixture(1, levels=LEVELS).fit(x, iterations=1).log_prob(x), expected)


def test_copy_kernel_copies_as_epsilon_shrinks_and_loses_unseen_images():
    x = _data(n=20, d=4)
    tight, loose = CopyKernel(x, 1e-6, levels=LEVELS), CopyKernel(x, 0.5, levels=LEVELS)
    copies = tight.sample(200, seed=0)
    assert (torch.cdist(copies, x).min(dim=1).values == 0).float().mean() > 0.99
    unseen = torch.full((1, 4), 0.5)                                   # a grey image not in x
    assert float(tight.log_prob(unseen)) < float(loose.log_prob(unseen)) - 10


def test_class_conditional_fits_one_mixture_per_class_and_follows_labels():
    x = torch.cat([torch.zeros(30, 2), torch.ones(30, 2)])
    y = torch.cat([torch.zeros(30, dtype=torch.long), torch.ones(30, dtype=torch.long)])
    model = ClassConditional(lambda: BinomialMixture(1, levels=LEVELS)).fit(x, y)
    samples = model.sample(torch.tensor([0, 1, 0, 1]), seed=0)
    assert samples[0::2].mean() < 0.2 and samples[1::2].mean() > 0.8
    lp = model.log_prob(torch.zeros(2, 2), torch.tensor([0, 1]))
    assert float(lp[0]) > float(lp[1]) + 5


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="multiples of 1/16"):
        BinomialMixture(2).fit(torch.rand(10, 4))
    with pytest.raises(ValueError, match="cannot fit"):
        CategoricalMixture(5, levels=LEVELS).fit(_data(n=3))
    with pytest.raises(RuntimeError, match="fit the mixture first"):
        BinomialMixture(2).log_prob(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="epsilon"):
        CopyKernel(_data(), 0)
    with pytest.raises(ValueError, match="n_components"):
        BinomialMixture(0)
