"""Checks for chapter 04 (VAEs): reparameterisation, the Gaussian KL, the binomial likelihood,
the importance-weighted bound, and ROC AUC."""
from __future__ import annotations

import math

import numbers

import torch
from sklearn.metrics import roc_auc_score
import torch.nn.functional as F
from torch import Tensor

from gencourse.exercises.feedback import (
    ExerciseFailed, call, exercise, expect_close, expect_tensor, matches,
)
from gencourse.models.vae import binomial_log_likelihood



def _gaussians(n: int = 6, d: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g) * 0.7


@exercise("04.1", "the reparameterisation trick")
def check_reparameterise(reparameterise) -> None:
    mu, logvar = _gaussians()
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(1))
    mu_, logvar_ = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    z = call(reparameterise, mu_, logvar_, eps, what="reparameterise(mu, logvar, eps)")
    expected = mu + torch.exp(0.5 * logvar) * eps
    if matches(z, mu + logvar.exp() * eps):
        raise ExerciseFailed("you scaled ε by exp(logvar) = σ²; the standard deviation is σ = exp(½·logvar)")
    if matches(z, mu + logvar * eps):
        raise ExerciseFailed("you scaled ε by logvar itself; logvar is log σ², so σ = exp(½·logvar)")
    if matches(z, mu + eps / torch.exp(0.5 * logvar)):
        raise ExerciseFailed("you divided ε by σ: the reparameterised sample multiplies, z = μ + σ·ε "
                             "(dividing by σ is how you would standardise a z, the opposite direction)")
    if isinstance(z, Tensor) and z.is_floating_point() and not bool(torch.isfinite(z.detach()).all()):
        raise ExerciseFailed("z contains NaN or inf values: logvar is log σ² and can be negative, so do not "
                             "take its square root or log; σ = exp(½·logvar)")
    if isinstance(z, Tensor) and z.is_floating_point() and tuple(z.shape) == tuple(mu.shape) \
            and not matches(z, expected):
        implied = ((z.detach().double() - mu.double()) / torch.exp(0.5 * logvar.double())).flatten()
        if abs(float(torch.corrcoef(torch.stack([implied, eps.double().flatten()]))[0, 1])) < 0.5:
            raise ExerciseFailed("z is not built from the ε you were given: (z − μ)/σ is unrelated to eps, so "
                                 "you drew fresh noise (torch.randn, torch.normal, Normal(...).sample()). Use "
                                 "the eps argument: z = μ + σ·eps, which also keeps z differentiable")
    expect_tensor("z", z, expected, shape=tuple(mu.shape))
    if not z.requires_grad:
        raise ExerciseFailed("z does not depend on mu and logvar through autograd (it was detached, or drawn "
                             "with torch.normal): build it from them with tensor operations, so that the "
                             "encoder can learn from the decoder's loss")
    z.sum().backward()
    for name, grad in (("mu", mu_.grad), ("logvar", logvar_.grad)):
        if grad is None:
            part = "μ" if name == "mu" else "σ = exp(½·logvar)"
            raise ExerciseFailed(f"no gradient reaches {name}: {part} was detached from the graph (.detach(), "
                                 f".item(), numpy or math.exp), so training could never adjust the encoder's "
                                 f"{'mean' if name == 'mu' else 'variance'} — compute it from {name} with torch "
                                 "operations")
    expect_tensor("∂Σz/∂mu (should be 1 everywhere)", mu_.grad, torch.ones_like(mu))
    expect_tensor("∂Σz/∂logvar (should be ½·σ·ε)", logvar_.grad, 0.5 * torch.exp(0.5 * logvar) * eps)


@exercise("04.2", "the closed-form Gaussian KL")
def check_kl(kl_to_standard_normal) -> None:
    mu, logvar = _gaussians(seed=2)
    got = call(kl_to_standard_normal, mu, logvar, what="kl_to_standard_normal(mu, logvar)")
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    if isinstance(got, torch.Tensor) and got.shape == mu.shape:
        raise ExerciseFailed(f"the KL should be summed over the {mu.shape[1]} latent dimensions: "
                             f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    if isinstance(got, Tensor) and got.is_floating_point() and not bool(torch.isfinite(got.detach()).all()):
        raise ExerciseFailed("the KL contains NaN or inf values: logvar is already log σ² (it can be negative), "
                             "so use it as it is — no log or square root of logvar")
    for wrong, why in ((-expected, "the sign is flipped: a KL divergence is never negative; per dimension it is "
                                   "+½(σ² + μ² − 1 − log σ²)"),
                       (expected / mu.shape[1], "you averaged over the latent dimensions: the KL of independent "
                                                "dimensions is their sum"),
                       (2 * expected, "the factor ½ is missing: per dimension ½(σ² + μ² − 1 − log σ²)"),
                       (expected + 0.5 * mu.shape[1], "the − 1 is missing: per dimension ½(σ² + μ² − 1 − log σ²); "
                                                      "without it N(0, I) would be ½ nat from itself"),
                       (0.5 * (torch.exp(2 * logvar) + mu ** 2 - 1 - 2 * logvar).sum(1),
                        "you read logvar as log σ: it is log σ², so σ² = exp(logvar) and log σ² = logvar"),
                       (expected.sum().expand(len(mu)), "you summed over the whole batch: return one KL per row")):
        if matches(got, wrong):
            raise ExerciseFailed(why)
    expect_tensor("KL", got, expected, shape=(len(mu),), low=0.0)
    zero = call(kl_to_standard_normal, torch.zeros(2, 3), torch.zeros(2, 3), what="KL of N(0, I) to itself")
    expect_tensor("KL of N(0, I) from itself", zero, torch.zeros(2))


@exercise("04.3", "the binomial log-likelihood of a digit")
def check_binomial(log_likelihood) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 17, (5, 64), generator=g).float() / 16
    logits = torch.randn(5, 64, generator=g) * 2
    got = call(log_likelihood, x, logits, what="log_likelihood(x, logits)")
    expected = binomial_log_likelihood(x, logits, 16)
    without_choose = expected - (torch.lgamma(torch.tensor(17.0)) - torch.lgamma(x * 16 + 1)
                                 - torch.lgamma(17 - x * 16)).sum(1)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and \
            torch.allclose(got.detach().double(), without_choose.double(), atol=1e-3):
        raise ExerciseFailed("the values are missing the log C(16, k) term: without it the result is "
                             "not a log-probability (it does not sum to 1 over the 17 values)")
    p = torch.sigmoid(logits)
    bernoulli = (x * p.log() + (1 - x) * (1 - p).log()).sum(1)
    if matches(got, bernoulli, atol=1e-3):
        raise ExerciseFailed("that is the Bernoulli log-likelihood (binary cross-entropy) on grey values, which "
                             "is not a distribution over the 17 levels: use the binomial with k = 16·x")
    if matches(got, binomial_log_likelihood(x, -logits, 16), atol=1e-3):
        raise ExerciseFailed("p and 1 − p are swapped: sigmoid(logits) is the probability of an inked cell, so "
                             "k = 16·x goes with log p = logsigmoid(logits) and 16 − k with log(1 − p)")
    if matches(got, expected / x.shape[1], atol=1e-3):
        raise ExerciseFailed("you averaged over the 64 pixels: the pixels are independent given z, so log p(x|z) "
                             "is the *sum* of their log-probabilities (a mean is not a log-probability of x)")
    unscaled = (math.lgamma(17) - torch.lgamma(x + 1) - torch.lgamma(17 - x)
                + x * F.logsigmoid(logits) + (16 - x) * F.logsigmoid(-logits)).sum(1)
    if matches(got, unscaled, atol=1e-3):
        raise ExerciseFailed("k must be the count 16·x (an integer 0..16), not the pixel value x in [0, 1]")
    if isinstance(got, Tensor) and got.is_floating_point() and not bool(torch.isfinite(got.detach()).all()):
        raise ExerciseFailed("log p(x|z) contains NaN or inf values: logits are log-odds, not probabilities — "
                             "p = sigmoid(logits); take logs with logsigmoid(logits) and logsigmoid(−logits)")
    expect_tensor("log p(x|z)", got, expected, shape=(5,), high=0.0, atol=1e-3)
    ref = torch.distributions.Binomial(16, logits=logits[:1]).log_prob(x[:1] * 16).sum()
    expect_close("log p(x|z) of the first image (torch.distributions.Binomial)", got[0], float(ref), atol=1e-3)


@exercise("04.4", "the importance-weighted bound from log-weights")
def check_iwae(bound_from_log_weights) -> None:
    g = torch.Generator().manual_seed(4)
    log_w = torch.randn(50, 7, generator=g) * 3 - 150     # (k, N): e^-150 underflows in float32
    got = call(bound_from_log_weights, log_w, what="bound_from_log_weights(log_w)")
    expected = torch.logsumexp(log_w, 0) - math.log(len(log_w))
    if isinstance(got, Tensor) and got.is_floating_point() and bool(torch.isneginf(got.detach()).any()):
        raise ExerciseFailed("got -inf: exp(log_w) underflows to 0 for weights around e^-150; "
                             "average the weights in log space with torch.logsumexp")
    if isinstance(got, Tensor) and got.is_floating_point() and not bool(torch.isfinite(got.detach()).all()):
        raise ExerciseFailed("L_k contains NaN or +inf values: average the weights in log space with "
                             "torch.logsumexp over the k samples, then subtract log k")
    if isinstance(got, Tensor) and tuple(got.shape) == (len(log_w),):
        raise ExerciseFailed(f"L_k has shape {tuple(got.shape)}, one value per importance sample: log_w is "
                             "(k, N), so reduce over dim 0 (the k samples) and return one value per image")
    for wrong, why in ((expected + math.log(len(log_w)), "the − log k is missing: L_k is the log of the *average* "
                                                         "weight, (1/k) Σ w_i, not of the sum"),
                       (expected + math.log(len(log_w)) - math.log(log_w.shape[1]),
                        f"you subtracted log N (N = {log_w.shape[1]} images) instead of log k (k = {len(log_w)} "
                        "samples): the average is over the k importance samples of each image"),
                       (log_w.mean(0), "you averaged the log-weights: that is the ELBO estimate (k separate "
                                       "L_1s), which Jensen's inequality puts below L_k — average the weights "
                                       "themselves, in log space")):
        if matches(got, wrong):
            raise ExerciseFailed(why)
    expect_tensor("L_k", got, expected, shape=(7,), atol=1e-4)
    one = call(bound_from_log_weights, log_w[:1], what="bound_from_log_weights(log_w[:1])")
    expect_tensor("L_1 (k = 1: the ELBO estimate itself)", one, log_w[0], shape=(7,), atol=1e-4)


_BY_POSITION = (". Ranks from argsort, or an ROC curve walked one sample at a time, put tied scores in an "
                "arbitrary order: give tied scores their average rank, or take one ROC step per distinct score")


@exercise("04.5", "ROC AUC by counting pairs")
def check_auc(auc) -> None:
    g = torch.Generator().manual_seed(5)
    for name, scores, labels in [
        ("separable scores", torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([0, 0, 1, 1])),
        ("reversed scores", torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([0, 0, 1, 1])),
        ("a tie, positive listed first", torch.tensor([0.5, 0.5]), torch.tensor([1, 0])),
        ("a tie, positive listed last", torch.tensor([0.5, 0.5]), torch.tensor([0, 1])),
        ("ties at the edges of a group", torch.tensor([0.2, 0.5, 0.5, 0.5, 0.9, 0.5]), torch.tensor([0, 1, 0, 0, 1, 1])),
        ("random scores with ties (rounded to one decimal)", torch.rand(200, generator=g).round(decimals=1),
         (torch.rand(200, generator=g) < 0.3).long()),
        ("random scores", torch.randn(200, generator=g), (torch.rand(200, generator=g) < 0.3).long()),
    ]:
        got = call(auc, scores, labels, what=f"auc(scores, labels) for {name}")
        expected = float(roc_auc_score(labels.numpy(), scores.numpy()))
        if isinstance(got, numbers.Real) and not isinstance(got, bool) and math.isfinite(got) \
                and abs(got - expected) > 1e-6:
            diff = scores[labels == 1][:, None] - scores[labels == 0][None, :]
            wins, ties = float((diff > 0).double().mean()), float((diff == 0).double().mean())
            for wrong, why in ((wins, "ties were ignored: a tie between a positive and a negative counts one half"),
                               (wins + ties, "ties counted as wins: a tie counts one half, not one"),
                               (1 - expected, "you computed how often a *negative* outranks a positive (1 − AUC): "
                                              "count pairs where the positive (label 1) scores higher")):
                if abs(got - wrong) < 1e-6:
                    raise ExerciseFailed(f"AUC for {name}: {why} (expected {expected:.4g}, got {got:.4g})"
                                         + (_BY_POSITION if ties > 0 and why.startswith("ties") else ""))
            if ties > 0 and wins - 1e-9 <= got <= wins + ties + 1e-9:
                raise ExerciseFailed(f"AUC for {name}: ties were broken by the order of the samples (expected "
                                     f"{expected:.4g}, got {got:.4g}){_BY_POSITION}")
        expect_close(f"AUC for {name}", got, expected, atol=1e-6, allow_tensor=False)
