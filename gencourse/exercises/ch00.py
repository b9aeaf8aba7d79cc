"""Checks for chapter 00 (what generative AI is): a Gaussian mixture by hand."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gencourse.exercises.feedback import (
    ExerciseFailed, call, diagnose, exercise, expect_tensor, matches,
)
from gencourse.models.mixture import GaussianMixture, gaussian_log_prob


def _problem(seed: int = 0, n: int = 50, k: int = 3, d: int = 2):
    """A small random mixture problem: points, weights, means, SPD covariances (float64)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * 2
    weights = torch.rand(k, generator=g, dtype=torch.float64) + 0.2
    weights = weights / weights.sum()
    means = torch.randn(k, d, generator=g, dtype=torch.float64) * 2
    a = torch.randn(k, d, d, generator=g, dtype=torch.float64)
    covs = a @ a.transpose(1, 2) + 0.5 * torch.eye(d, dtype=torch.float64)
    return x, weights, means, covs




@exercise("00.1", "log-density of a Gaussian")
def check_log_gaussian(log_gaussian) -> None:
    # D = 2 first (the lesson's case), then D = 1 and D = 5: a formula with D written in
    # as a number, or a vector-only shortcut, passes one and fails the others.
    for d, seed in ((2, 0), (1, 1), (5, 2)):
        x, _, means, covs = _problem(seed, d=d)
        mean, cov = means[0], covs[0]
        what = f"log_gaussian(x, mean, cov) with D={d}"
        got = call(log_gaussian, x, mean, cov, what=what)
        dist = torch.distributions.MultivariateNormal(mean, cov)
        expected = dist.log_prob(x)
        if d != 2:
            two_d = expected + 0.5 * (d - 2) * math.log(2 * math.pi)
            diagnose(got, {f"{what} is wrong by the constant term: it must be D·log 2π with "
                            f"D = x.shape[1] = {d}, not a fixed 2": two_d}, atol=1e-4)
        quad = ((x - mean) @ torch.linalg.inv(cov) * (x - mean)).sum(1)
        log_det = torch.logdet(cov)
        const = d * math.log(2 * math.pi)
        mistakes = {
            f"{what}: the sign of log det Σ is flipped — inside the bracket it is "
            "+log det Σ (a wider Gaussian has a lower peak), so −½ log det Σ overall":
                -0.5 * (quad - log_det + const),
            f"{what}: the constant term D·log 2π is missing (the density must integrate to 1)":
                -0.5 * (quad + log_det),
        }
        if d != 1:  # with D = 1 these mistakes give the right answer
            var = torch.diagonal(cov)
            mistakes[f"{what}: you used only the diagonal of Σ (the variances), as if the "
                     "coordinates were independent; use the full covariance matrix "
                     "(Cholesky factor, or torch.linalg.solve)"] = \
                -0.5 * (((x - mean) ** 2 / var).sum(1) + var.log().sum() + const)
            mistakes[f"{what}: the constant term is D·log 2π with D = x.shape[1] = {d}; you "
                     "wrote log 2π once"] = -0.5 * (quad + log_det + math.log(2 * math.pi))
        diagnose(got, mistakes, atol=1e-4)
        diagnose(got, {
            f"{what}: the whole bracket must be multiplied by −½ (you left out the ½)":
                -(quad + log_det + const),
            f"{what}: log det Σ is 2·Σ log diag(L) (the factor 2 is missing; det Σ = det(L)²)":
                -0.5 * (quad + 0.5 * log_det + const),
            f"{what}: the quadratic form needs Σ⁻¹, not Σ — solve with the Cholesky factor "
            "(‖L⁻¹(x−μ)‖²)": -0.5 * (((x - mean) @ cov * (x - mean)).sum(1) + log_det + const),
            f"{what}: the log det Σ term is missing": -0.5 * (quad + const),
        }, atol=1e-4)
        expect_tensor(what, got, expected, atol=1e-4)


@exercise("00.2", "E-step: responsibilities")
def check_responsibilities(responsibilities) -> None:
    x, weights, means, covs = _problem(1)
    got = call(responsibilities, x, weights, means, covs,
               what="responsibilities(x, weights, means, covs)")
    expect_tensor("responsibilities", got, shape=(len(x), len(weights)))
    log_dens = gaussian_log_prob(x, means, covs)
    expected = torch.softmax(log_dens + weights.log(), dim=1)
    diagnose(got, {
        "the responsibilities ignore the mixture weights: r_nk ∝ π_k N(x_n; μ_k, Σ_k), so add "
        "log π_k to each log-density before normalising": torch.softmax(log_dens, dim=1),
        "each row of the responsibilities should sum to 1 (they are p(z=k | x_n)): you "
        "normalised over the points (dim 0) instead of the components (dim 1)":
            torch.softmax(log_dens + weights.log(), dim=0),
        "these are the log-responsibilities log r_nk: return r_nk itself (exponentiate, or use "
        "torch.softmax instead of torch.log_softmax)": torch.log_softmax(log_dens + weights.log(), dim=1),
        "the mixture weights enter in log space: add log π_k (weights.log()) to the "
        "log-densities, not π_k itself": torch.softmax(log_dens + weights, dim=1),
        "you multiplied the log-density by π_k: r_nk ∝ π_k N(x_n; μ_k, Σ_k), so in log space "
        "add log π_k instead of multiplying": torch.softmax(log_dens * weights, dim=1),
    }, atol=1e-4)
    expect_tensor("responsibilities", got, low=0.0, high=1.0)
    row_sums = got.detach().double().sum(dim=1)
    if not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-4):
        raise ExerciseFailed(f"each row of the responsibilities should sum to 1 (they are "
                             f"p(z=k | x)); row 0 sums to {float(row_sums[0]):.4f}")
    expect_tensor("responsibilities", got, expected, atol=1e-4)
    # Points far from every component: every density exp(log N) underflows to 0 in float64,
    # yet the responsibilities are well defined. Normalising in probability space gives 0/0.
    far = x + 1000.0
    far_expected = torch.softmax(gaussian_log_prob(far, means, covs) + weights.log(), dim=1)
    got_far = call(responsibilities, far, weights, means, covs,
                   what="responsibilities(x_far, weights, means, covs)")
    underflow = ("for points far from every component (log-densities around "
                 f"{float(gaussian_log_prob(far, means, covs).max()):.0f}) exp underflows to 0 and "
                 "the normalisation divides 0 by 0: normalise in log space with torch.logsumexp "
                 "(or torch.softmax of the log-densities plus log π)")
    if isinstance(got_far, Tensor) and tuple(got_far.shape) == tuple(far_expected.shape):
        got_far_f = got_far.detach().double()
        if not bool(torch.isfinite(got_far_f).all()) or not torch.allclose(
                got_far_f.sum(dim=1), torch.ones(len(far), dtype=torch.float64), atol=1e-4):
            raise ExerciseFailed(underflow)
    expect_tensor("responsibilities for points far from every component", got_far, far_expected,
                  atol=1e-4)


@exercise("00.3", "M-step: new weights, means, covariances")
def check_m_step(m_step) -> None:
    x, weights, means, covs = _problem(2)
    resp = torch.softmax(gaussian_log_prob(x, means, covs) + weights.log(), dim=1)
    got = call(m_step, x, resp, what="m_step(x, resp)")
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise ExerciseFailed("m_step should return a tuple (weights, means, covs), got "
                             f"{type(got).__name__}")
    ref = GaussianMixture(len(weights), reg_covar=0.0)
    ref.m_step(x, resp)
    nk = resp.sum(0)
    diagnose(got[0], {"the weights should be π_k = N_k / N (they must sum to 1); you returned "
                       "the effective counts N_k": nk}, atol=1e-4)
    expect_tensor("weights", got[0], ref.weights, low=0.0, high=1.0, atol=1e-4)
    diagnose(got[1], {"the means should divide by N_k = Σ_n r_nk, not by N": resp.T @ x / len(x),
                       "the means ignore the responsibilities: weight each point by r_nk":
                           x.mean(0).expand_as(ref.means)}, atol=1e-4)
    expect_tensor("means", got[1], ref.means, atol=1e-4)
    around_data_mean = (x - x.mean(0))[None].expand(len(weights), -1, -1)
    around_new_means = x[None] - ref.means[:, None]
    unweighted = torch.einsum("kni,knj->kij", around_new_means, around_new_means)
    diagnose(got[2], {
        "the covariances should divide by N_k = Σ_n r_nk, not by N": ref.covs * nk[:, None, None] / len(x),
        "the covariances must be taken around each component's new mean μ_k, not around the "
        "mean of all the data": torch.einsum("nk,kni,knj->kij", resp, around_data_mean,
                                             around_data_mean) / nk[:, None, None],
        "the covariances ignore the responsibilities: weight each outer product "
        "(x_n − μ_k)(x_n − μ_k)ᵀ by r_nk before summing (then divide by N_k)": unweighted / len(x),
        "the covariances ignore the responsibilities: weight each outer product "
        "(x_n − μ_k)(x_n − μ_k)ᵀ by r_nk before summing": unweighted / nk[:, None, None],
        "the covariances keep only their diagonal (the variances): the off-diagonal "
        "covariances are part of a full-covariance M-step": torch.diag_embed(
            torch.diagonal(ref.covs, dim1=1, dim2=2)),
    }, atol=1e-3)
    expect_tensor("covs", got[2], ref.covs, atol=1e-3)


def _separated_mixture():
    """Three well-separated 2-D components, so each sample's component can be read off."""
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    means = torch.tensor([[-6.0, 0.0], [6.0, 0.0], [0.0, 8.0]], dtype=torch.float64)
    covs = torch.stack([torch.tensor([[1.0, 0.6], [0.6, 1.0]]), torch.eye(2) * 0.5,
                        torch.tensor([[2.0, -0.5], [-0.5, 0.5]])]).double()
    return weights, means, covs


@exercise("00.4", "sampling from a mixture")
def check_sample_mixture(sample_mixture) -> None:
    weights, means, covs = _separated_mixture()
    what = "sample_mixture(weights, means, covs, n, generator)"
    with torch.random.fork_rng(devices=[]):  # leave the learner's global random state alone
        # The same generator seed must give the same samples whatever the global seed is.
        torch.manual_seed(1)
        first = call(sample_mixture, weights, means, covs, 50, torch.Generator().manual_seed(7),
                     what=what)
        expect_tensor("samples", first, shape=(50, 2))
        torch.manual_seed(2)
        second = call(sample_mixture, weights, means, covs, 50, torch.Generator().manual_seed(7),
                      what=what)
        if not (isinstance(second, Tensor) and second.shape == first.shape
                and bool(torch.isfinite(first).all())
                and torch.equal(first.detach(), second.detach())):
            raise ExerciseFailed("two calls with generators seeded identically gave different "
                                 "samples (only the global seed changed in between): the sampler "
                                 "uses the global random state; pass generator=generator to "
                                 "torch.multinomial and torch.randn")
        n = 20_000
        got = call(sample_mixture, weights, means, covs, n, torch.Generator().manual_seed(0),
                   what=what)
    x = expect_tensor("samples", got, shape=(n, 2)).detach().double()
    comp = torch.cdist(x, means).argmin(dim=1)
    share = torch.bincount(comp, minlength=3).double() / n
    if not torch.allclose(share, weights, atol=0.02):
        raise ExerciseFailed(f"the share of samples per component should match the weights "
                             f"{weights.tolist()}, got {[round(v, 3) for v in share.tolist()]} "
                             "(draw z from Cat(weights) with torch.multinomial(weights, n, "
                             "replacement=True, ...))")
    for k in range(3):
        xs = x[comp == k]
        mean, cov = xs.mean(0), torch.cov(xs.T)
        if not torch.allclose(mean, means[k], atol=0.1):
            raise ExerciseFailed(f"component {k}: sample mean should be {means[k].tolist()}, "
                                 f"got {[round(v, 3) for v in mean.tolist()]}")
        if not torch.allclose(cov, covs[k], atol=0.15):
            for j in range(3):
                if j != k and torch.allclose(cov, covs[j], atol=0.15):
                    raise ExerciseFailed(
                        f"the samples of component {k} have the covariance of component {j}: "
                        f"pick each sample's covariance (or Cholesky factor) with its own "
                        f"component index, L[z] (as you do for the mean, means[z]), not one "
                        f"fixed component's")
            raise ExerciseFailed(f"component {k}: sample covariance should be {covs[k].tolist()}, "
                                 f"got {[[round(v, 2) for v in r] for r in cov.tolist()]} "
                                 "(scale the noise by the Cholesky factor L of the covariance, "
                                 "Σ = L Lᵀ: x = μ + L ε, not Σ ε or Lᵀ ε)")


@exercise("00.5", "Bayes' rule: a classifier from class densities")
def check_class_posterior(class_posterior) -> None:
    g = torch.Generator().manual_seed(5)
    log_lik = torch.randn(40, 3, generator=g, dtype=torch.float64) * 3 - 10
    prior = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    got = call(class_posterior, log_lik, prior, what="class_posterior(log_lik, prior)")
    expected = torch.softmax(log_lik + prior.log(), dim=1)
    diagnose(got, {
        "the posterior ignores the prior: p(y | x) ∝ p(x | y) p(y), so add log p(y)":
            torch.softmax(log_lik, dim=1),
        "the posterior is not normalised: divide p(x | y) p(y) by its sum over the classes, "
        "p(x) = Σ_c p(x | c) p(c)": (log_lik + prior.log()).exp(),
        "the prior should multiply the likelihood (add its log), not divide it":
            torch.softmax(log_lik - prior.log(), dim=1),
        "these are log-probabilities log p(y | x): return the probabilities themselves "
        "(torch.softmax, not torch.log_softmax)": torch.log_softmax(log_lik + prior.log(), dim=1),
        "each row should sum to 1 over the classes (dim 1): you normalised over the points "
        "(dim 0)": torch.softmax(log_lik + prior.log(), dim=0),
        "the prior enters in log space: add log p(y) (prior.log()) to the log-likelihoods, "
        "not p(y) itself": torch.softmax(log_lik + prior, dim=1),
        "you multiplied the log-likelihood by the prior: p(y | x) ∝ p(x | y) p(y), so in log "
        "space add log p(y)": torch.softmax(log_lik * prior, dim=1),
    }, atol=1e-5)
    expect_tensor("class_posterior", got, expected, low=0.0, high=1.0, atol=1e-5)
    # Must also be numerically stable for very small likelihoods.
    tiny = call(class_posterior, log_lik - 2000, prior, what="class_posterior(log_lik - 2000, prior)")
    expect_tensor("class_posterior for very small likelihoods (work in log space)", tiny,
                  expected, atol=1e-5)
