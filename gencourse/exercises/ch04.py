"""Checks for chapter 04 (VAEs): reparameterisation, the Gaussian KL, the binomial likelihood,
the importance-weighted bound, and ROC AUC."""
from __future__ import annotations

import math

import torch
from sklearn.metrics import roc_auc_score

from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close, expect_tensor
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
    if isinstance(z, torch.Tensor) and torch.allclose(z.detach(), mu + logvar.exp() * eps, atol=1e-5):
        raise ExerciseFailed("you scaled ε by exp(logvar) = σ²; the standard deviation is σ = exp(½·logvar)")
    expect_tensor("z", z, expected, shape=tuple(mu.shape))
    if not z.requires_grad:
        raise ExerciseFailed("z does not depend on mu and logvar through autograd: build it from them "
                             "with tensor operations (no .detach(), no torch.normal)")
    z.sum().backward()
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
    expect_tensor("log p(x|z)", got, expected, shape=(5,), high=0.0, atol=1e-3)
    ref = torch.distributions.Binomial(16, logits=logits[:1]).log_prob(x[:1] * 16).sum()
    expect_close("log p(x|z) of the first image (torch.distributions.Binomial)", got[0], float(ref), atol=1e-3)


@exercise("04.4", "the importance-weighted bound from log-weights")
def check_iwae(bound_from_log_weights) -> None:
    g = torch.Generator().manual_seed(4)
    log_w = torch.randn(50, 7, generator=g) * 3 - 150     # (k, N): e^-150 underflows in float32
    got = call(bound_from_log_weights, log_w, what="bound_from_log_weights(log_w)")
    expected = torch.logsumexp(log_w, 0) - math.log(len(log_w))
    if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
        raise ExerciseFailed("got -inf or NaN: exp(log_w) underflows for weights around e^-150; "
                             "average the weights in log space with torch.logsumexp")
    expect_tensor("L_k", got, expected, shape=(7,), atol=1e-4)
    one = call(bound_from_log_weights, log_w[:1], what="bound_from_log_weights(log_w[:1])")
    expect_tensor("L_1 (k = 1: the ELBO estimate itself)", one, log_w[0], shape=(7,), atol=1e-4)


@exercise("04.5", "ROC AUC by counting pairs")
def check_auc(auc) -> None:
    g = torch.Generator().manual_seed(5)
    for name, scores, labels in [
        ("separable scores", torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([0, 0, 1, 1])),
        ("reversed scores", torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([0, 0, 1, 1])),
        ("ties count one half", torch.tensor([0.5, 0.5, 0.5, 0.9]), torch.tensor([0, 1, 0, 1])),
        ("random scores", torch.randn(200, generator=g), (torch.rand(200, generator=g) < 0.3).long()),
    ]:
        got = call(auc, scores, labels, what=f"auc(scores, labels) for {name}")
        expect_close(f"AUC for {name}", got, float(roc_auc_score(labels.numpy(), scores.numpy())), atol=1e-6)
