"""Chapter 03 (GANs in practice): plausible wrong answers to exercises 03.1-03.4."""
from __future__ import annotations

import torch

from wrong_answers import WrongAnswer, one


# 03.1 -- coverage(samples, centers, std) -> (modes_covered, high_quality_fraction)
def _coverage(radius_in_std=3.0, count_all_samples=False, percent=False, tensors=False):
    def coverage(samples, centers, std):
        dist = torch.cdist(samples.float(), centers.float())
        nearest_dist, nearest = dist.min(dim=1)
        good = nearest_dist <= radius_in_std * std
        modes = nearest if count_all_samples else nearest[good]
        if tensors:
            return modes.unique().numel() * torch.ones(()), good.float().mean()
        return int(modes.unique().numel()), float(good.float().mean()) * (100 if percent else 1)
    return coverage


# 03.2 -- kl_from_uniform(counts) -> float
def _kl_with_empty_modes(counts):
    p = counts.double() / counts.sum()
    return float((p * torch.log(p * len(counts))).sum())        # 0 * log 0 = nan


def _kl_k_over_non_empty(counts):
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return float((p * torch.log(p * len(p))).sum())


def _kl_clamped(counts):
    # Right when every mode is hit; on empty modes a finite wrong value (which must not be
    # taken for the reversed KL, infinite there).
    p = (counts.double() / counts.sum()).clamp(min=0.01)
    return float((p * torch.log(p * len(counts))).sum())


def _kl_without_k(counts):
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return float((p * torch.log(p)).sum())


def _kl_as_tensor(counts):
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return (p * torch.log(p * len(counts))).sum()


# 03.3 -- penalty(critic, real, fake, eps) -> tensor that requires grad
def _penalty(where="mixed", create_graph=True, as_float=False, nan=False, reduce="sum",
             lam=1.0, over_samples="mean", own_eps=False):
    def penalty(critic, real, fake, eps):
        if own_eps:
            eps = torch.rand(len(real), 1)
        points = {"mixed": eps * real + (1 - eps) * fake, "real": real}[where]
        points = points.detach().requires_grad_(True)
        out = critic(points)
        out = out.sum() if reduce == "sum" else out.mean()
        (grad,) = torch.autograd.grad(out, points, create_graph=create_graph)
        per_sample = (grad.norm(dim=1) - 1) ** 2
        value = lam * (per_sample.mean() if over_samples == "mean" else per_sample.sum())
        if nan:
            value = value * float("nan")
        return float(value.detach()) if as_float else value
    return penalty


# 03.4 -- frechet(mu1, cov1, mu2, cov2) -> float
def _frechet(cross="sqrt", as_tensor=False, clamp=True):
    def frechet(mu1, cov1, mu2, cov2):
        if cross == "roots":
            def root(c):
                w, v = torch.linalg.eigh(c)
                return (v * w.clamp(min=0).sqrt()) @ v.T
            trace = torch.trace(root(cov1) @ root(cov2))
        elif cross == "sqrt":
            eig = torch.linalg.eigvals(cov1 @ cov2).real
            eig = eig.clamp(min=0) if clamp else eig - 1.0    # an off-by-one that makes negatives
            trace = eig.sqrt().sum()
        else:
            trace = torch.trace(cov1 @ cov2)
        value = ((mu1 - mu2) ** 2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * trace
        return value if as_tensor else float(value)
    return frechet


WRONG = [
    WrongAnswer("03.1", "classic", "radius of 2 std", one(_coverage(radius_in_std=2.0)),
                r"radius of 2 standard deviations.*within 3·std"),
    WrongAnswer("03.1", "other", "modes counted over all samples", one(_coverage(count_all_samples=True)),
                r"a mode counts only if a high-quality sample"),
    WrongAnswer("03.1", "nan", "NaN fraction", one(lambda s, c, std: (8, float("nan"))),
                r"nan, not a finite number"),
    WrongAnswer("03.1", "type", "a dict instead of a pair",
                one(lambda s, c, std: {"modes": 8, "high_quality": 1.0}),
                r"should return a pair \(modes_covered, high_quality_fraction\), got dict"),

    WrongAnswer("03.1", "other", "a percentage", one(_coverage(percent=True)),
                r"a percentage: return a fraction, not a percentage"),
    WrongAnswer("03.1", "type", "tensors instead of Python numbers", one(_coverage(tensors=True)),
                r"should be a Python float, got a torch.Tensor"),

    WrongAnswer("03.2", "classic", "empty modes give NaN", one(_kl_with_empty_modes),
                r"is NaN: modes with no samples give 0·log 0"),
    WrongAnswer("03.2", "other", "forgot the K", one(_kl_without_k), r"Σ p log p, without the K"),
    WrongAnswer("03.2", "type", "a tensor instead of a float", one(_kl_as_tensor),
                r"should be a Python float, got a torch.Tensor"),
    WrongAnswer("03.2", "other", "K over the non-empty modes only", one(_kl_k_over_non_empty),
                r"K counted only over the non-empty modes"),
    WrongAnswer("03.2", "other", "p clamped away from 0", one(_kl_clamped),
                r"has the wrong value: expected"),
    WrongAnswer("03.2", "other", "a bool", one(lambda counts: True), r"should be a number, got bool"),

    WrongAnswer("03.3", "classic", "penalty at the real samples", one(_penalty(where="real")),
                r"penalty at the real samples.*interpolates"),
    WrongAnswer("03.3", "classic", "without create_graph", one(_penalty(create_graph=False)),
                r"differentiable with respect to the critic's weights.*create_graph=True"),
    WrongAnswer("03.3", "type", "a Python float", one(_penalty(as_float=True)),
                r"torch.Tensor that requires grad, got float.*\.item\(\)"),
    WrongAnswer("03.3", "classic", "critic(x̂).mean() in autograd.grad", one(_penalty(reduce="mean")),
                r"critic\(x̂\)\.mean\(\).*divides every sample's gradient by N"),
    WrongAnswer("03.3", "other", "λ = 10 folded in", one(_penalty(lam=10.0)), r"10 × the penalty.*λ = 10"),
    WrongAnswer("03.3", "other", "sum over samples", one(_penalty(over_samples="sum")),
                r"the sum over samples: take the mean"),
    WrongAnswer("03.3", "other", "own random eps", one(_penalty(own_eps=True)),
                r"use the interpolation weights passed as the argument eps"),
    WrongAnswer("03.3", "nan", "NaN penalty", one(_penalty(nan=True)), r"not a finite number"),

    WrongAnswer("03.4", "classic", "cross term without the square root", one(_frechet(cross="plain")),
                r"Tr\(Σ₁Σ₂\) without the square root"),
    WrongAnswer("03.4", "classic", "Tr(Σ₁^½ Σ₂^½)", one(_frechet(cross="roots")),
                r"Tr\(Σ₁\^½ Σ₂\^½\).*only when the covariances commute"),
    WrongAnswer("03.4", "nan", "square root of negative eigenvalues", one(_frechet(clamp=False)),
                r"nan, not a finite number"),
    WrongAnswer("03.4", "type", "a tensor instead of a float", one(_frechet(as_tensor=True)),
                r"should be a Python float, got a torch.Tensor"),
]
