"""Checks for chapter 00 (what generative AI is): a Gaussian mixture by hand."""
from __future__ import annotations

import torch

from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_tensor
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
    x, _, means, covs = _problem()
    got = call(log_gaussian, x, means[0], covs[0], what="log_gaussian(x, mean, cov)")
    expected = torch.distributions.MultivariateNormal(means[0], covs[0]).log_prob(x)
    expect_tensor("log_gaussian(x, mean, cov)", got, expected, atol=1e-4)


@exercise("00.2", "E-step: responsibilities")
def check_responsibilities(responsibilities) -> None:
    x, weights, means, covs = _problem(1)
    got = call(responsibilities, x, weights, means, covs,
               what="responsibilities(x, weights, means, covs)")
    expect_tensor("responsibilities", got, shape=(len(x), len(weights)), low=0.0, high=1.0)
    row_sums = got.detach().double().sum(dim=1)
    if not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-4):
        raise ExerciseFailed(f"each row of the responsibilities should sum to 1 (they are "
                             f"p(z=k | x)); row 0 sums to {float(row_sums[0]):.4f}")
    joint = gaussian_log_prob(x, means, covs) + weights.log()
    expected = torch.softmax(joint, dim=1)
    expect_tensor("responsibilities", got, expected, atol=1e-4)


@exercise("00.3", "M-step: new weights, means, covariances")
def check_m_step(m_step) -> None:
    x, weights, means, covs = _problem(2)
    resp = torch.softmax(gaussian_log_prob(x, means, covs) + weights.log(), dim=1)
    got = call(m_step, x, resp, what="m_step(x, resp)")
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise ExerciseFailed("m_step should return a tuple (weights, means, covs)")
    ref = GaussianMixture(len(weights), reg_covar=0.0)
    ref.m_step(x, resp)
    expect_tensor("weights", got[0], ref.weights, low=0.0, high=1.0, atol=1e-4)
    expect_tensor("means", got[1], ref.means, atol=1e-4)
    expect_tensor("covs", got[2], ref.covs, atol=1e-3)


@exercise("00.4", "sampling from a mixture")
def check_sample_mixture(sample_mixture) -> None:
    # Three well-separated components, so each sample's component can be read off.
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    means = torch.tensor([[-6.0, 0.0], [6.0, 0.0], [0.0, 8.0]], dtype=torch.float64)
    covs = torch.stack([torch.tensor([[1.0, 0.6], [0.6, 1.0]]), torch.eye(2) * 0.5,
                        torch.tensor([[2.0, -0.5], [-0.5, 0.5]])]).double()
    n = 20_000
    got = call(sample_mixture, weights, means, covs, n, torch.Generator().manual_seed(0),
               what="sample_mixture(weights, means, covs, n, generator)")
    x = expect_tensor("samples", got, shape=(n, 2)).detach().double()
    if not bool(torch.isfinite(x).all()):
        raise ExerciseFailed("samples contain NaN or inf values")
    comp = torch.cdist(x, means).argmin(dim=1)
    share = torch.bincount(comp, minlength=3).double() / n
    if not torch.allclose(share, weights, atol=0.02):
        raise ExerciseFailed(f"the share of samples per component should match the weights "
                             f"{weights.tolist()}, got {[round(v, 3) for v in share.tolist()]}")
    for k in range(3):
        xs = x[comp == k]
        mean, cov = xs.mean(0), torch.cov(xs.T)
        if not torch.allclose(mean, means[k], atol=0.1):
            raise ExerciseFailed(f"component {k}: sample mean should be {means[k].tolist()}, "
                                 f"got {[round(v, 3) for v in mean.tolist()]}")
        if not torch.allclose(cov, covs[k], atol=0.15):
            raise ExerciseFailed(f"component {k}: sample covariance should be {covs[k].tolist()}, "
                                 f"got {[[round(v, 2) for v in r] for r in cov.tolist()]} "
                                 "(scale the noise by the Cholesky factor of the covariance)")


@exercise("00.5", "Bayes' rule: a classifier from class densities")
def check_class_posterior(class_posterior) -> None:
    g = torch.Generator().manual_seed(5)
    log_lik = torch.randn(40, 3, generator=g, dtype=torch.float64) * 3 - 10
    prior = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    got = call(class_posterior, log_lik, prior, what="class_posterior(log_lik, prior)")
    expected = torch.softmax(log_lik + prior.log(), dim=1)
    expect_tensor("class_posterior", got, expected, low=0.0, high=1.0, atol=1e-5)
    # Must also be numerically stable for very small likelihoods.
    tiny = call(class_posterior, log_lik - 2000, prior, what="class_posterior(log_lik - 2000, prior)")
    expect_tensor("class_posterior for very small likelihoods (work in log space)", tiny,
                  expected, atol=1e-5)
