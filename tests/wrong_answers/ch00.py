"""Chapter 00 (what generative AI is): plausible wrong answers to exercises 00.1-00.5."""
from __future__ import annotations

import math

import torch

from wrong_answers import WrongAnswer, one


# 00.1 -- log_gaussian(x, mean, cov) -> (N,)
def _log_gaussian(half=True, log_det_factor=2.0, inverse=True, d_fixed=None, nan=False,
                  as_numpy=False, keepdim=False, diagonal=False, constant=True):
    def log_gaussian(x, mean, cov):
        if diagonal:                                            # variances only
            cov = torch.diag_embed(torch.diagonal(cov))
        chol = torch.linalg.cholesky(cov)
        diff = (x - mean).T
        if inverse:
            quad = (torch.linalg.solve_triangular(chol, diff, upper=False) ** 2).sum(0)
        else:                                                   # Σ instead of Σ⁻¹
            quad = (diff * (cov @ diff)).sum(0)
        log_det = log_det_factor * torch.log(torch.diagonal(chol)).sum()
        d = x.shape[1] if d_fixed is None else d_fixed
        out = quad + log_det + (d * math.log(2 * math.pi) if constant else 0.0)
        out = -0.5 * out if half else -out
        if nan:
            out = out * torch.sqrt(torch.tensor(-1.0))          # sqrt of a negative number
        if keepdim:
            out = out[:, None]
        return out.numpy() if as_numpy else out
    return log_gaussian


# 00.2 -- responsibilities(x, weights, means, covs) -> (N, K)
def _densities(x, means, covs):
    return torch.stack([torch.distributions.MultivariateNormal(means[k], covs[k]).log_prob(x)
                        for k in range(len(means))], dim=1)


def _resp_probability_space(x, weights, means, covs):
    joint = weights * _densities(x, means, covs).exp()          # underflows far from the data
    return joint / joint.sum(dim=1, keepdim=True)


def _resp_no_weights(x, weights, means, covs):
    return torch.softmax(_densities(x, means, covs), dim=1)


def _resp_wrong_axis(x, weights, means, covs):
    return torch.softmax(_densities(x, means, covs) + weights.log(), dim=0)


def _resp_log(x, weights, means, covs):
    return torch.log_softmax(_densities(x, means, covs) + weights.log(), dim=1)


def _resp_naive_log_sum(x, weights, means, covs):
    joint = _densities(x, means, covs) + weights.log()
    return (joint - torch.log(joint.exp().sum(dim=1, keepdim=True))).exp()   # log(0) far away


def _resp_weights_not_logged(x, weights, means, covs):
    return torch.softmax(_densities(x, means, covs) + weights, dim=1)


def _resp_times_weights(x, weights, means, covs):
    return torch.softmax(_densities(x, means, covs) * weights, dim=1)


# 00.3 -- m_step(x, resp) -> (weights, means, covs)
def _m_step(weights_as_counts=False, means_over_n=False, covs_over_n=False, old_means=False,
            as_dict=False, nan=False, unweighted_covs=False):
    def m_step(x, resp):
        nk = resp.sum(0)
        weights = nk if weights_as_counts else nk / len(x)
        means = resp.T @ x / (len(x) if means_over_n else nk[:, None])
        centre = x.mean(0).expand_as(means) if old_means else means
        diff = x[None] - centre[:, None]
        covs = torch.einsum("nk,kni,knj->kij", torch.ones_like(resp) if unweighted_covs else resp,
                            diff, diff)
        covs = covs / (len(x) if covs_over_n else nk[:, None, None])
        if nan:
            means = means / (nk[:, None] * 0)
        if as_dict:
            return {"weights": weights, "means": means, "covs": covs}
        return weights, means, covs
    return m_step


# 00.4 -- sample_mixture(weights, means, covs, n, generator) -> (n, D)
def _sample(use_generator=True, noise="cholesky", uniform_components=False, as_numpy=False,
            nan=False, one_covariance=False):
    def sample_mixture(weights, means, covs, n, generator):
        g = generator if use_generator else None
        probs = torch.ones_like(weights) if uniform_components else weights
        z = torch.multinomial(probs, n, replacement=True, generator=g)
        eps = torch.randn(n, means.shape[1], 1, dtype=means.dtype, generator=g)
        scale = {"cholesky": torch.linalg.cholesky(covs), "cov": covs,
                 "cholesky_transposed": torch.linalg.cholesky(covs).mT}[noise]
        x = means[z] + ((scale[0] if one_covariance else scale[z]) @ eps).squeeze(-1)
        if nan:
            x = x * torch.sqrt(-weights[z])[:, None]
        return x.numpy() if as_numpy else x
    return sample_mixture


# 00.5 -- class_posterior(log_lik, prior) -> (N, C)
def _posterior_probability_space(log_lik, prior):
    joint = log_lik.exp() * prior                               # exp(-2000) == 0
    return joint / joint.sum(dim=1, keepdim=True)


def _posterior_no_prior(log_lik, prior):
    return torch.softmax(log_lik, dim=1)


def _posterior_unnormalised(log_lik, prior):
    return (log_lik + prior.log()).exp()


def _posterior_divides_prior(log_lik, prior):
    return torch.softmax(log_lik - prior.log(), dim=1)


def _posterior_naive_log_sum(log_lik, prior):
    joint = log_lik + prior.log()
    return (joint - torch.log(joint.exp().sum(dim=1, keepdim=True))).exp()


def _posterior_log(log_lik, prior):
    return torch.log_softmax(log_lik + prior.log(), dim=1)


def _posterior_wrong_axis(log_lik, prior):
    return torch.softmax(log_lik + prior.log(), dim=0)


def _posterior_prior_not_logged(log_lik, prior):
    return torch.softmax(log_lik + prior, dim=1)


def _posterior_list(log_lik, prior):
    return torch.softmax(log_lik + prior.log(), dim=1).tolist()


WRONG = [
    WrongAnswer("00.1", "classic", "the factor 2 of log det Σ is missing",
                one(_log_gaussian(log_det_factor=1.0)), r"log det Σ is 2·Σ log diag\(L\)"),
    WrongAnswer("00.1", "classic", "D written in as 2", one(_log_gaussian(d_fixed=2)),
                r"D=1 .*constant term.*D = x\.shape\[1\]"),
    WrongAnswer("00.1", "other", "the ½ is missing", one(_log_gaussian(half=False)),
                r"multiplied by −½"),
    WrongAnswer("00.1", "other", "Σ instead of Σ⁻¹ in the quadratic form",
                one(_log_gaussian(inverse=False)), r"quadratic form needs Σ⁻¹"),
    WrongAnswer("00.1", "other", "returns shape (N, 1)", one(_log_gaussian(keepdim=True)),
                r"wrong shape: expected \(50,\), got \(50, 1\)"),
    WrongAnswer("00.1", "other", "sign of log det Σ flipped", one(_log_gaussian(log_det_factor=-2.0)),
                r"sign of log det Σ is flipped"),
    WrongAnswer("00.1", "other", "no constant term", one(_log_gaussian(constant=False)),
                r"constant term D·log 2π is missing"),
    WrongAnswer("00.1", "other", "log 2π without the factor D", one(_log_gaussian(d_fixed=1)),
                r"D=2: the constant term is D·log 2π .*you wrote log 2π once"),
    WrongAnswer("00.1", "other", "only the diagonal of Σ", one(_log_gaussian(diagonal=True)),
                r"only the diagonal of Σ"),
    WrongAnswer("00.1", "type", "returns a numpy array", one(_log_gaussian(as_numpy=True)),
                r"should be a torch\.Tensor, got ndarray"),
    WrongAnswer("00.1", "nan", "NaN values", one(_log_gaussian(nan=True)), r"NaN"),

    WrongAnswer("00.2", "classic", "normalises in probability space (underflow)",
                one(_resp_probability_space), r"exp underflows to 0.*logsumexp"),
    WrongAnswer("00.2", "classic", "forgets the mixture weights", one(_resp_no_weights),
                r"ignore the mixture weights"),
    WrongAnswer("00.2", "other", "normalises over the points", one(_resp_wrong_axis),
                r"normalised over the points \(dim 0\)"),
    WrongAnswer("00.2", "other", "returns log-responsibilities", one(_resp_log),
                r"log-responsibilities"),
    WrongAnswer("00.2", "nan", "log of a sum of exps that underflows (inf/NaN far away)",
                one(_resp_naive_log_sum), r"exp underflows to 0.*logsumexp"),
    WrongAnswer("00.2", "other", "adds π_k instead of log π_k", one(_resp_weights_not_logged),
                r"add log π_k \(weights\.log\(\)\).*not π_k itself"),
    WrongAnswer("00.2", "other", "multiplies the log-density by π_k", one(_resp_times_weights),
                r"multiplied the log-density by π_k"),
    WrongAnswer("00.2", "type", "returns a list", one(lambda *a: _resp_no_weights(*a).tolist()),
                r"should be a torch\.Tensor, got list"),

    WrongAnswer("00.3", "classic", "covariances divided by N, not N_k", one(_m_step(covs_over_n=True)),
                r"covariances should divide by N_k"),
    WrongAnswer("00.3", "classic", "weights are the counts N_k", one(_m_step(weights_as_counts=True)),
                r"π_k = N_k / N"),
    WrongAnswer("00.3", "other", "means divided by N", one(_m_step(means_over_n=True)),
                r"means should divide by N_k"),
    WrongAnswer("00.3", "other", "covariances around the data mean", one(_m_step(old_means=True)),
                r"around each component's new mean μ_k"),
    WrongAnswer("00.3", "other", "covariances not weighted by r_nk", one(_m_step(unweighted_covs=True)),
                r"covariances ignore the responsibilities"),
    WrongAnswer("00.3", "type", "returns a dict", one(_m_step(as_dict=True)),
                r"should return a tuple \(weights, means, covs\), got dict"),
    WrongAnswer("00.3", "nan", "NaN means", one(_m_step(nan=True)), r"means contains NaN"),

    WrongAnswer("00.4", "classic", "ignores the generator (global RNG)", one(_sample(use_generator=False)),
                r"generators seeded identically gave different samples.*global random state"),
    WrongAnswer("00.4", "classic", "scales the noise by Σ, not its Cholesky factor",
                one(_sample(noise="cov")), r"Cholesky factor L"),
    WrongAnswer("00.4", "other", "scales the noise by Lᵀ", one(_sample(noise="cholesky_transposed")),
                r"Cholesky factor L"),
    WrongAnswer("00.4", "other", "components drawn uniformly", one(_sample(uniform_components=True)),
                r"share of samples per component should match the weights"),
    WrongAnswer("00.4", "other", "component 0's covariance for every sample",
                one(_sample(one_covariance=True)),
                r"component 1 have the covariance of component 0.*L\[z\]"),
    WrongAnswer("00.4", "type", "returns a numpy array", one(_sample(as_numpy=True)),
                r"should be a torch\.Tensor, got ndarray"),
    WrongAnswer("00.4", "nan", "NaN samples", one(_sample(nan=True)), r"NaN"),

    WrongAnswer("00.5", "classic", "probability space (underflows)", one(_posterior_probability_space),
                r"very small likelihoods \(work in log space\) contains NaN"),
    WrongAnswer("00.5", "classic", "forgets the prior", one(_posterior_no_prior),
                r"ignores the prior"),
    WrongAnswer("00.5", "other", "not normalised", one(_posterior_unnormalised), r"not normalised"),
    WrongAnswer("00.5", "other", "divides by the prior", one(_posterior_divides_prior),
                r"multiply the likelihood"),
    WrongAnswer("00.5", "other", "returns log-probabilities", one(_posterior_log),
                r"log-probabilities log p\(y \| x\)"),
    WrongAnswer("00.5", "other", "normalises over the points", one(_posterior_wrong_axis),
                r"normalised over the points \(dim 0\)"),
    WrongAnswer("00.5", "other", "adds the prior, not its log", one(_posterior_prior_not_logged),
                r"add log p\(y\) \(prior\.log\(\)\).*not p\(y\) itself"),
    WrongAnswer("00.5", "type", "returns a list", one(_posterior_list),
                r"should be a torch\.Tensor, got list"),
    WrongAnswer("00.5", "nan", "log of a sum of exps (inf for tiny likelihoods)",
                one(_posterior_naive_log_sum), r"very small likelihoods \(work in log space\) contains NaN or inf"),
]
