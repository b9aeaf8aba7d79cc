"""Likelihood in comparable units: bits per dimension and perplexity.

A model's negative log-likelihood of held-out data, −log p(x) in nats, grows with the size of
x, so it is reported per dimension and in bits: bits/dim = −log p(x) / (D ln 2) for an image of
D values (64 for the course's digits). For discrete data (the digits take 17 grey levels) a
model that spreads its probability uniformly scores log₂ 17 ≈ 4.09 bits/dim: a useful model
must do better. For text the same quantity per token gives the perplexity,
exp(mean −log p(token)): the number of equally likely tokens the model is, on average, choosing
between. Lower is better for both. Models are comparable only on the same data, split and
discretisation; a continuous density on discrete data must be dequantised first ("A note on the
evaluation of generative models", Theis, van den Oord and Bethge, 2016), or its likelihood can
grow without bound.

Known limits: likelihood can disagree with sample quality in both directions (the same paper):
a model that memorises the training set draws perfect samples and gives held-out data zero
probability; a mixture of 1% good model and 99% noise loses at most log 100 ≈ 4.6 nats per
image (0.10 bits/dim on the digits) while 99% of its samples are noise.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def bits_per_dim(nll_nats: float | Tensor, dims: int) -> float:
    """Mean negative log-likelihood in nats per example (a float, or (N,) per example) ->
    bits per dimension, for examples of ``dims`` values each."""
    if not isinstance(dims, int) or isinstance(dims, bool) or dims < 1:
        raise ValueError(f"dims must be the number of values per example (a positive int), got {dims!r}")
    nll = float(torch.as_tensor(nll_nats, dtype=torch.float64).mean())
    if not math.isfinite(nll):
        raise ValueError(f"the negative log-likelihood is {nll}: a model that gives some test example zero "
                         "probability has infinite bits/dim")
    return nll / (dims * math.log(2))


def perplexity(nll_nats_per_token: float | Tensor) -> float:
    """exp(mean negative log-likelihood per token, in nats): (N,) per token, or their mean."""
    return float(torch.as_tensor(nll_nats_per_token, dtype=torch.float64).mean().exp())
