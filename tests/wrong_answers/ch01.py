"""Chapter 01 (latent spaces): plausible wrong answers to exercises 01.1-01.6."""
from __future__ import annotations

import torch
from torch import nn

from gencourse.train import minibatches
from wrong_answers import WrongAnswer, one


# 01.1 -- pca_fit(x, k) -> (mean (D,), components (k, D))
def _pca_fit(centre=True, columns=False, swapped=False, as_numpy=False, nan=False):
    def pca_fit(x, k):
        mean = x.mean(0)
        _, _, vt = torch.linalg.svd(x - mean if centre else x, full_matrices=False)
        components = vt[:, :k].T if columns else vt[:k]
        if nan:
            components = components / (components.norm(dim=1, keepdim=True) * 0)
        if as_numpy:
            return mean.numpy(), components.numpy()
        return (components, mean) if swapped else (mean, components)
    return pca_fit


def _pca_fit_eigh(largest=False):
    """Eigenvectors of the covariance from torch.linalg.eigh, which sorts them ascending."""
    def pca_fit(x, k):
        mean = x.mean(0)
        _, vecs = torch.linalg.eigh(torch.cov((x - mean).T))
        components = vecs[:, -k:].T if largest else vecs[:, :k].T   # never reversed
        return mean, components
    return pca_fit


# 01.2 -- pca_reconstruct(x, mean, components) -> (N, D)
def _pca_reconstruct(centre=True, add_mean=True, as_numpy=False, nan=False):
    def pca_reconstruct(x, mean, components):
        codes = (x - mean if centre else x) @ components.T
        out = codes @ components + (mean if add_mean else 0)
        if nan:
            out = out / (out - out)
        return out.numpy() if as_numpy else out
    return pca_reconstruct


# 01.3 -- build_autoencoder(latent_dim) -> nn.Module with encode, decode, forward
def _build(forward="bottleneck", sigmoid=True, fixed_latent=None, return_class=False, nan=False):
    def build_autoencoder(latent_dim):
        k = fixed_latent or latent_dim

        class Autoencoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, k))
                layers = [nn.Linear(k, 128), nn.ReLU(), nn.Linear(128, 64)]
                self.decoder = nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))
                if nan:
                    nn.init.constant_(self.encoder[0].bias, float("nan"))

            def encode(self, x):
                return self.encoder(x)

            def decode(self, z):
                return self.decoder(z)

        if forward == "bottleneck":
            Autoencoder.forward = lambda self, x: self.decode(self.encode(x))
        elif forward == "identity":                           # "reconstructs" without the code
            Autoencoder.forward = lambda self, x: x
        return Autoencoder if return_class else Autoencoder()
    return build_autoencoder


# 01.4 -- reconstruction_error(model, x) -> float
def _error(kind="mean", as_tensor=False):
    def reconstruction_error(model, x):
        with torch.no_grad():
            sq = (model(x) - x) ** 2
            value = {"mean": sq.mean(), "sum_per_image": sq.sum(1).mean(), "rmse": sq.mean().sqrt(),
                     "nan": sq.mean() * float("nan")}[kind]
        return value if as_tensor else value.item()
    return reconstruction_error


# 01.5 -- interpolate(z_a, z_b, n) -> (n, d)
def _interpolate(alphas="linspace", as_list=False, nan=False):
    def interpolate(z_a, z_b, n):
        a = {"linspace": torch.linspace(0, 1, n), "arange": torch.arange(n) / n,
             "backwards": torch.linspace(1, 0, n)}[alphas][:, None]
        if nan:
            a = torch.arange(n)[:, None] / torch.tensor(n - 1) * (0 / torch.tensor(0.0))
        codes = (1 - a) * z_a + a * z_b
        return list(codes) if as_list else codes
    return interpolate


# 01.6 -- train(model, x, n_steps), in place
def _train(zero_grad=True, step=True, standardise=False, lr=3e-3, fixed_batch=False,
           own_steps=None):
    def train(model, x, n_steps):
        if standardise:                                       # constant pixels: 0 / 0 = NaN
            x = (x - x.mean(0)) / x.std(0)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        batches = minibatches(len(x), 128, torch.Generator().manual_seed(0))
        for _ in range(own_steps or n_steps):
            xb = x[:128] if fixed_batch else x[next(batches)]
            loss = ((model(xb) - xb) ** 2).mean()
            if zero_grad:
                opt.zero_grad()
            loss.backward()
            if step:
                opt.step()
    return train


WRONG = [
    WrongAnswer("01.1", "classic", "does not centre x", one(_pca_fit(centre=False)),
                r"uncentred data.*subtract the mean from x before the SVD"),
    WrongAnswer("01.1", "other", "columns of Vᵀ instead of rows", one(_pca_fit(columns=True)),
                r"not the direction of the 1-th largest variance.*rows"),
    WrongAnswer("01.1", "other", "eigh's first k eigenvectors (the smallest variances)",
                one(_pca_fit_eigh()), r"directions of small variance.*eigh sorts eigenvalues in "
                r"ascending order.*last columns"),
    WrongAnswer("01.1", "other", "eigh's last k eigenvectors, left in ascending order",
                one(_pca_fit_eigh(largest=True)), r"not in order of decreasing variance.*eigh "
                r"sorts eigenvalues in ascending order"),
    WrongAnswer("01.1", "other", "returns (components, mean)", one(_pca_fit(swapped=True)),
                r"returned \(components, mean\)"),
    WrongAnswer("01.1", "type", "returns numpy arrays", one(_pca_fit(as_numpy=True)),
                r"should be a torch\.Tensor, got ndarray"),
    WrongAnswer("01.1", "nan", "NaN components", one(_pca_fit(nan=True)), r"NaN"),

    WrongAnswer("01.2", "classic", "forgets to add the mean back", one(_pca_reconstruct(add_mean=False)),
                r"lacks the mean"),
    WrongAnswer("01.2", "other", "projects x without centring it", one(_pca_reconstruct(centre=False)),
                r"must be centred"),
    WrongAnswer("01.2", "type", "returns a numpy array", one(_pca_reconstruct(as_numpy=True)),
                r"should be a torch\.Tensor, got ndarray"),
    WrongAnswer("01.2", "nan", "NaN values", one(_pca_reconstruct(nan=True)), r"NaN"),

    WrongAnswer("01.3", "classic", "forward skips the bottleneck", one(_build(forward="identity")),
                r"forward must pass x through the bottleneck"),
    WrongAnswer("01.3", "classic", "no forward method", one(_build(forward=None)),
                r"has no forward\(x\) method"),
    WrongAnswer("01.3", "other", "decoder without a sigmoid", one(_build(sigmoid=False)),
                r"end the decoder with a sigmoid"),
    WrongAnswer("01.3", "other", "latent_dim ignored (fixed 16)", one(_build(fixed_latent=16)),
                r"latent_dim=2 has the wrong shape"),
    WrongAnswer("01.3", "type", "returns the class, not an instance", one(_build(return_class=True)),
                r"got the class Autoencoder itself"),
    WrongAnswer("01.3", "nan", "NaN weights", one(_build(nan=True)), r"contains NaN"),

    WrongAnswer("01.4", "classic", "sums over the pixels", one(_error("sum_per_image")),
                r"64 times too large"),
    WrongAnswer("01.4", "type", "returns a tensor, not a float", one(_error(as_tensor=True)),
                r"should be a Python float, got a torch\.Tensor"),
    WrongAnswer("01.4", "other", "root mean squared error", one(_error("rmse")),
                r"root of the mean squared error"),
    WrongAnswer("01.4", "nan", "NaN", one(_error("nan")), r"not a finite number"),

    WrongAnswer("01.5", "classic", "leaves out the end point", one(_interpolate("arange")),
                r"include both endpoints"),
    WrongAnswer("01.5", "other", "runs from z_b to z_a", one(_interpolate("backwards")),
                r"runs backwards"),
    WrongAnswer("01.5", "type", "returns a list of codes", one(_interpolate(as_list=True)),
                r"one \(n, d\) tensor, got a list"),
    WrongAnswer("01.5", "nan", "NaN codes", one(_interpolate(nan=True)), r"NaN"),

    WrongAnswer("01.6", "classic", "never zeroes the gradients", one(_train(zero_grad=False)),
                r"zero the gradients"),
    WrongAnswer("01.6", "other", "forgets optimizer.step()", one(_train(step=False)),
                r"did not change the model's parameters"),
    WrongAnswer("01.6", "other", "trains on one fixed batch of 128", one(_train(fixed_batch=True)),
                r"saw only 128 of the .* distinct training images.*new minibatch at every step"),
    WrongAnswer("01.6", "other", "ignores n_steps (300 steps of its own)", one(_train(own_steps=300)),
                r"ran only 300 forward passes.*take n_steps optimiser steps"),
    WrongAnswer("01.6", "nan", "standardises constant pixels (0/0)", one(_train(standardise=True)),
                r"parameters contain NaN"),
]
