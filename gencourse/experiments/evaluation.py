"""Chapter 09's experiments on the digits: every sample metric at once, the course's conditional
generators side by side, and synthetic data as training data for a classifier.

    digit_scores(judge, images, labels, real)   FD, KD, Inception-score analogue, precision, recall,
                                                density, coverage, judge agreement and the
                                                classification accuracy score of one sample set
    conditional_generators(...)                 name -> draw(labels, seed): images (N, 1, 8, 8)
    classification_accuracy(x, y, x_test, y_test)   a logistic-regression classifier's test accuracy
    few_real(digits, per_class, seed)           a class-balanced subset of the training digits
    real_for_labels(digits, labels, seed)       training digits in the order of given labels
    shifted_copies                              classic augmentation: one-pixel shifts
    nearest_distances, copying_score            distance to the nearest training digit; a data-copying test
    JudgeFeatures, JudgeLogits                  the judge as torchmetrics' feature network

The classification accuracy score ("Classification Accuracy Score for Conditional Generative
Models", Ravuri and Vinyals, 2019) trains a classifier on generated digits only and tests it on
real ones: it is high only if the samples carry each class's variety, not just its typical shape.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gencourse.data.digits import Digits
from gencourse.metrics import (
    density_coverage, frechet_distance_from_features, inception_score, kernel_distance, mean_interval,
    precision_recall,
)

Draw = Callable[[Tensor, int], Tensor]


@dataclass(frozen=True)
class RealReference:
    """The real digits a sample set is compared with: images (N, 1, 8, 8), labels (N,), and their
    judge features (N, F) and class probabilities (N, 10), computed once."""

    images: Tensor
    labels: Tensor
    features: Tensor
    probs: Tensor


@torch.no_grad()
def real_reference(judge, images: Tensor, labels: Tensor) -> RealReference:
    judge.eval()
    features = judge.features(images)
    return RealReference(images, labels, features, judge.classify(features).softmax(dim=1))


def classification_accuracy(x: Tensor, y: Tensor, x_test: Tensor, y_test: Tensor, c: float = 1.0) -> float:
    """Test accuracy of a multinomial logistic regression (scikit-learn, L2 penalty ``c``) trained on
    images x (N, ...) with labels y (N,), tested on x_test, y_test."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    flat = lambda t: torch.as_tensor(t).detach().reshape(len(t), -1).double().numpy()  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=c, max_iter=300).fit(flat(x), torch.as_tensor(y).numpy())
    return float(model.score(flat(x_test), torch.as_tensor(y_test).numpy()))


@torch.no_grad()
def digit_scores(judge, images: Tensor, labels: Tensor, real: RealReference) -> dict[str, float]:
    """Every sample metric of chapter 09 for ``images`` (N, 1, 8, 8) drawn for ``labels`` (N,).

    fd, kd: Fréchet and kernel distance to the real digits in the judge's features (lower is better);
    inception: the Inception-score analogue with the judge's probabilities (1..10, higher is better);
    precision, recall (k = 3), density, coverage (k = 5); agree: share the judge reads as the asked
    label; cas: accuracy on the real digits of a classifier trained on these samples only.
    """
    if not torch.isfinite(images).all():
        raise ValueError("the images contain NaN or inf: check the generator before scoring it")
    judge.eval()
    features = judge.features(images)
    logits = judge.classify(features)
    pr = precision_recall(real.features, features, k=3)
    dc = density_coverage(real.features, features, k=5)
    return {"fd": frechet_distance_from_features(features, real.features),
            "kd": kernel_distance(features, real.features),
            "inception": inception_score(logits.softmax(dim=1)),
            "precision": pr.precision, "recall": pr.recall, "density": dc.density, "coverage": dc.coverage,
            "agree": float((logits.argmax(dim=1) == labels).float().mean()),
            "cas": classification_accuracy(images, labels, real.images, real.labels)}


def few_real(digits: Digits, per_class: int, seed: int) -> tuple[Tensor, Tensor]:
    """``per_class`` training digits of each class, drawn without replacement with ``seed``:
    images (10·per_class, 1, 8, 8) and labels."""
    g = torch.Generator().manual_seed(seed)
    idx = []
    for c in range(10):
        rows = torch.nonzero(digits.y_train == c)[:, 0]
        if per_class > len(rows):
            raise ValueError(f"per_class={per_class} but class {c} has only {len(rows)} training digits")
        idx.append(rows[torch.randperm(len(rows), generator=g)[:per_class]])
    idx = torch.cat(idx)
    return digits.x_train[idx], digits.y_train[idx]


def real_for_labels(digits: Digits, labels: Tensor, seed: int, draws: int = 1) -> Tensor | tuple[Tensor, ...]:
    """Training digits (N, 1, 8, 8) whose classes follow ``labels`` (N,), drawn without replacement:
    real data sampled exactly as the conditional generators are asked to sample. With ``draws`` > 1,
    a tuple of that many such sets with no digit in two of them."""
    sets = torch.empty(draws, len(labels), *digits.x_train.shape[1:])
    g = torch.Generator().manual_seed(seed)
    for c in labels.unique().tolist():
        rows, pool = torch.nonzero(labels == c)[:, 0], torch.nonzero(digits.y_train == c)[:, 0]
        if draws * len(rows) > len(pool):
            raise ValueError(f"asked for {draws} × {len(rows)} digits of class {c}; the training set has {len(pool)}")
        chosen = pool[torch.randperm(len(pool), generator=g)[:draws * len(rows)]].reshape(draws, len(rows))
        for d in range(draws):
            sets[d, rows] = digits.x_train[chosen[d]]
    return sets[0] if draws == 1 else tuple(sets)


def conditional_generators(cgan, cvae, diffusion, mixture, guidance: float = 1.5,
                           steps: int = 50) -> dict[str, Draw]:
    """The course's class-conditional digit generators as name -> draw(labels (N,), seed) -> (N, 1, 8, 8).

    cgan: chapter 03's conditional GAN (an nn.Module with ``latent_dim``); cvae: chapter 04's
    conditional VAE; diffusion: chapter 08's pixel model (DDIM with ``steps`` steps and guidance
    scale ``guidance``); mixture: a fitted ``ClassConditional`` mixture (the classical baseline).
    """
    from gencourse.models.vae import sample as vae_sample

    def gan(labels: Tensor, seed: int) -> Tensor:
        z = torch.randn(len(labels), cgan.latent_dim, generator=torch.Generator().manual_seed(seed))
        return cgan(z, labels).reshape(-1, 1, 8, 8)

    return {
        "GAN (ch. 03)": gan,
        "VAE (ch. 04)": lambda labels, seed: vae_sample(cvae, len(labels), labels, seed=seed).reshape(-1, 1, 8, 8),
        f"diffusion (ch. 08, DDIM {steps})": lambda labels, seed: diffusion.generate(
            labels, guidance=guidance, method="ddim", steps=steps, seed=seed),
        "mixture of binomials": lambda labels, seed: mixture.sample(labels, seed=seed).reshape(-1, 1, 8, 8),
    }


@torch.no_grad()
def timed_draw(draw: Draw, labels: Tensor, seed: int) -> tuple[Tensor, float]:
    """(images, milliseconds per image) for one call of ``draw``."""
    start = time.perf_counter()
    images = draw(labels, seed)
    return images, (time.perf_counter() - start) / len(labels) * 1000


def summarise(runs: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Per metric over runs (seeds, ≥ 2): (mean, half-width of the 95% Student-t interval)."""
    out = {}
    for key in runs[0]:
        mean, low, high = mean_interval([r[key] for r in runs])
        out[key] = (mean, high - mean)
    return out


class JudgeFeatures(torch.nn.Module):
    """The judge's penultimate features (N, 128) as a module with ``num_features``, the interface
    torchmetrics' FrechetInceptionDistance and KernelInceptionDistance accept instead of Inception."""

    def __init__(self, judge: torch.nn.Module):
        super().__init__()
        self.judge = judge.eval()
        self.num_features = judge.config.feature_dim

    def forward(self, images: Tensor) -> Tensor:
        return self.judge.features(images)


class JudgeLogits(torch.nn.Module):
    """The judge's class logits (N, 10), for torchmetrics' InceptionScore (it applies the softmax)."""

    def __init__(self, judge: torch.nn.Module):
        super().__init__()
        self.judge = judge.eval()

    def forward(self, images: Tensor) -> Tensor:
        return self.judge(images)


def shifted_copies(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Classic augmentation: each image (N, 1, 8, 8) and its four one-pixel shifts (up, down, left,
    right; the pixels moved in are blank): (5N, 1, 8, 8) images and their labels."""
    out = [images]
    for shift, dim in ((1, 2), (-1, 2), (1, 3), (-1, 3)):
        moved = torch.roll(images, shift, dims=dim)
        edge = 0 if shift == 1 else -1
        if dim == 2:
            moved[:, :, edge, :] = 0
        else:
            moved[:, :, :, edge] = 0
        out.append(moved)
    return torch.cat(out), labels.repeat(5)


def copying_score(samples: Tensor, training: Tensor, held_out: Tensor) -> float:
    """How much closer the samples (N, ...) lie to the training images (T, ...) than new real images
    (``held_out``, (M, ...)) do: P(d(sample) < d(held-out)) + ½ P(tie), with d the pixel distance to
    the nearest training image (the Mann–Whitney statistic).

    The global form of the data-copying test ("A Non-Parametric Test to Detect Data-Copying in
    Generative Models", Meehan, Chaudhuri and Dasgupta, 2020): about 0.5 when samples sit as far from
    the training set as unseen real data, up to 1 for copies, below 0.5 when they sit farther away.
    """
    d_samples, d_held = nearest_distances(samples, training), nearest_distances(held_out, training)
    less = (d_samples[:, None] < d_held[None, :]).double().mean()
    ties = (d_samples[:, None] == d_held[None, :]).double().mean()
    return float(less + ties / 2)


def nearest_distances(samples: Tensor, reference: Tensor) -> Tensor:
    """Pixel-space distance (N,) from each sample (N, ...) to its nearest image in ``reference`` (M, ...)."""
    a = samples.reshape(len(samples), -1).double()
    b = reference.reshape(len(reference), -1).double()
    return torch.cdist(a, b).min(dim=1).values
