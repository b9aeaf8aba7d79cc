"""Chapter 04 (VAEs): plausible wrong answers to exercises 04.1–04.5 and the feedback each must get."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from wrong_answers import WrongAnswer, one


def _sigma(logvar):
    return torch.exp(0.5 * logvar)


def _kl_terms(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar)      # (N, D), per dimension


def _log_choose(k):
    return math.lgamma(17) - torch.lgamma(k + 1) - torch.lgamma(17 - k)


def _binomial_without_choose(x, logits):
    k = x * 16
    return (k * F.logsigmoid(logits) + (16 - k) * F.logsigmoid(-logits)).sum(1)


def _weight_space_rescaled(log_w):
    w = torch.exp(log_w)                                     # underflows to 0 here
    top = w.max(0).values
    return torch.log(w.mean(0) / top) + torch.log(top)       # 0 / 0


def _auc_argsort_ranks(scores, labels):
    """Mann-Whitney rank sum with argsort ranks: tied scores get distinct ranks by position."""
    ranks = scores.argsort(stable=True).argsort().double() + 1
    n1, n0 = int((labels == 1).sum()), int((labels == 0).sum())
    return float((ranks[labels == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _auc_roc_per_sample(scores, labels):
    """Trapezoid area under an ROC curve that steps through the sorted samples one at a time."""
    order = torch.sort(scores, descending=True, stable=True).indices
    hits = labels[order].double()
    tpr = torch.cat([torch.zeros(1), hits.cumsum(0) / hits.sum()])
    fpr = torch.cat([torch.zeros(1), (1 - hits).cumsum(0) / (1 - hits).sum()])
    return float(torch.trapezoid(tpr, fpr))


def _auc(scores, labels, tie_value=0.5, positive=1):
    pos, neg = scores[labels == positive], scores[labels != positive]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).double() + tie_value * (diff == 0).double()).mean())


WRONG = [
    # 04.1 — the reparameterisation trick
    WrongAnswer("04.1", "classic", "sigma squared instead of sigma",
                one(lambda mu, logvar, eps: mu + logvar.exp() * eps), r"σ²"),
    WrongAnswer("04.1", "other", "sigma detached",
                one(lambda mu, logvar, eps: mu + _sigma(logvar).detach() * eps),
                r"no gradient reaches logvar: .*detached.*variance"),
    WrongAnswer("04.1", "other", "whole sample detached",
                one(lambda mu, logvar, eps: (mu + _sigma(logvar) * eps).detach()), r"detached"),
    WrongAnswer("04.1", "other", "logvar used as sigma",
                one(lambda mu, logvar, eps: mu + logvar * eps), r"logvar itself"),
    WrongAnswer("04.1", "other", "fresh noise instead of the given eps",
                one(lambda mu, logvar, eps: mu + _sigma(logvar) * torch.randn_like(mu)), r"fresh noise"),
    WrongAnswer("04.1", "other", "torch.normal instead of the given eps",
                one(lambda mu, logvar, eps: torch.normal(mu, _sigma(logvar))), r"fresh noise.*torch\.normal"),
    WrongAnswer("04.1", "other", "eps divided by sigma",
                one(lambda mu, logvar, eps: mu + eps / _sigma(logvar)), r"divided ε by σ"),
    WrongAnswer("04.1", "nan", "square root of logvar",
                one(lambda mu, logvar, eps: mu + torch.sqrt(logvar) * eps), r"NaN.*square root"),
    WrongAnswer("04.1", "type", "numpy array",
                one(lambda mu, logvar, eps: (mu + _sigma(logvar) * eps).detach().numpy()),
                r"torch\.Tensor, got ndarray"),
    # 04.2 — KL(N(μ, σ²) ‖ N(0, I))
    WrongAnswer("04.2", "classic", "not summed over dimensions",
                one(_kl_terms), r"summed over the 4 latent dimensions"),
    WrongAnswer("04.2", "other", "sign flipped",
                one(lambda mu, logvar: -_kl_terms(mu, logvar).sum(1)), r"sign is flipped"),
    WrongAnswer("04.2", "other", "mean over dimensions",
                one(lambda mu, logvar: _kl_terms(mu, logvar).mean(1)), r"averaged over the latent dimensions"),
    WrongAnswer("04.2", "other", "missing one half",
                one(lambda mu, logvar: 2 * _kl_terms(mu, logvar).sum(1)), r"factor ½ is missing"),
    WrongAnswer("04.2", "other", "logvar read as log sigma",
                one(lambda mu, logvar: 0.5 * (torch.exp(2 * logvar) + mu ** 2 - 1 - 2 * logvar).sum(1)),
                r"read logvar as log σ"),
    WrongAnswer("04.2", "other", "missing minus one",
                one(lambda mu, logvar: 0.5 * (logvar.exp() + mu ** 2 - logvar).sum(1)), r"− 1 is missing"),
    WrongAnswer("04.2", "nan", "log of logvar",
                one(lambda mu, logvar: 0.5 * (logvar.exp() + mu ** 2 - 1 - torch.log(logvar)).sum(1)),
                r"NaN.*no log or square root of logvar"),
    WrongAnswer("04.2", "type", "python list",
                one(lambda mu, logvar: _kl_terms(mu, logvar).sum(1).tolist()), r"torch\.Tensor, got list"),
    # 04.3 — the binomial log-likelihood
    WrongAnswer("04.3", "classic", "missing log C(16, k)",
                one(_binomial_without_choose), r"log C\(16, k\)"),
    WrongAnswer("04.3", "other", "Bernoulli on grey values",
                one(lambda x, logits: (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(1)),
                r"Bernoulli"),
    WrongAnswer("04.3", "other", "k = x instead of 16 x",
                one(lambda x, logits: (_log_choose(x) + x * F.logsigmoid(logits)
                                       + (16 - x) * F.logsigmoid(-logits)).sum(1)), r"16·x"),
    WrongAnswer("04.3", "other", "p and 1 - p swapped",
                one(lambda x, logits: _log_choose(x * 16).sum(1) + _binomial_without_choose(x, -logits)),
                r"p and 1 − p are swapped"),
    WrongAnswer("04.3", "other", "mean over pixels instead of sum",
                one(lambda x, logits: (_log_choose(x * 16).sum(1) + _binomial_without_choose(x, logits)) / 64),
                r"averaged over the 64 pixels"),
    WrongAnswer("04.3", "nan", "logits used as probabilities",
                one(lambda x, logits: (_log_choose(x * 16) + x * 16 * torch.log(logits)
                                       + (16 - x * 16) * torch.log(1 - logits)).sum(1)), r"NaN.*log-odds"),
    WrongAnswer("04.3", "type", "numpy array",
                one(lambda x, logits: (_log_choose(x * 16).sum(1) + _binomial_without_choose(x, logits)).numpy()),
                r"torch\.Tensor, got ndarray"),
    # 04.4 — the importance-weighted bound
    WrongAnswer("04.4", "classic", "missing minus log k",
                one(lambda log_w: torch.logsumexp(log_w, 0)), r"− log k is missing"),
    WrongAnswer("04.4", "other", "exp underflow",
                one(lambda log_w: torch.log(torch.exp(log_w).mean(0))), r"underflows"),
    WrongAnswer("04.4", "other", "mean of the log-weights",
                one(lambda log_w: log_w.mean(0)), r"averaged the log-weights: that is the ELBO"),
    WrongAnswer("04.4", "other", "reduced over the wrong dimension",
                one(lambda log_w: torch.logsumexp(log_w, 1) - math.log(log_w.shape[1])), r"reduce over dim 0"),
    WrongAnswer("04.4", "other", "minus log N instead of minus log k",
                one(lambda log_w: torch.logsumexp(log_w, 0) - math.log(log_w.shape[1])),
                r"subtracted log N .* instead of log k"),
    WrongAnswer("04.4", "nan", "rescaled in weight space (0 / 0)",
                one(_weight_space_rescaled), r"NaN"),
    WrongAnswer("04.4", "type", "python float",
                one(lambda log_w: float((torch.logsumexp(log_w, 0) - math.log(len(log_w))).mean())),
                r"torch\.Tensor, got float"),
    # 04.5 — ROC AUC by counting pairs
    WrongAnswer("04.5", "classic", "ties ignored",
                one(lambda scores, labels: _auc(scores, labels, tie_value=0.0)), r"ties were ignored"),
    WrongAnswer("04.5", "other", "ties counted as wins",
                one(lambda scores, labels: _auc(scores, labels, tie_value=1.0)), r"ties counted as wins"),
    WrongAnswer("04.5", "other", "labels swapped",
                one(lambda scores, labels: _auc(scores, labels, positive=0)), r"1 − AUC"),
    WrongAnswer("04.5", "other", "rank sum with argsort ranks (ties broken by position)",
                one(_auc_argsort_ranks), r"ties .*argsort"),
    WrongAnswer("04.5", "other", "ROC walked one sample at a time (ties not grouped)",
                one(_auc_roc_per_sample), r"ties .*one ROC step per distinct score"),
    WrongAnswer("04.5", "nan", "positives selected with labels > 1 (empty)",
                one(lambda scores, labels: float((scores[labels > 1][:, None] > scores[labels == 0]).double().mean())),
                r"nan, not a finite number"),
    WrongAnswer("04.5", "type", "tensor instead of float",
                one(lambda scores, labels: torch.tensor(_auc(scores, labels))), r"Python float, got a torch\.Tensor"),
]
