"""Mixtures of independent pixels: the classical baselines for grey-level images, with exact
likelihoods.

The digits are counts: each pixel holds k ∈ {0, ..., n} inked cells of a 4×4 block (n = 16), so
pixel value x = k / n and an image is a point of a finite set. A latent-class model picks a
component c (a "prototype") with probability π_c and then draws each pixel independently:

    BinomialMixture     k_d ~ Binomial(n, p_cd)           one ink probability per pixel
    CategoricalMixture  k_d ~ Categorical(q_cd0..q_cdn)   a free distribution over the n + 1 levels

Both are fitted by EM ("Maximum Likelihood from Incomplete Data via the EM Algorithm", Dempster,
Laird and Rubin, 1977), exactly like chapter 00's Gaussian mixture:

    E-step: responsibilities r_ic = p(c | x_i)
    M-step: π_c = mean_i r_ic, and each pixel's parameters from the responsibility-weighted counts

with ``smoothing`` pseudo-counts (a Beta or Dirichlet prior) that keep every probability away from
0, so no held-out digit gets probability zero. Their log-likelihoods are exact sums over components
(no bound). The categorical family can put its mass on "blank or fully inked", which real pixels
mostly are; the binomial family cannot, so it has a worse likelihood, but it draws smoother pixels.

``CopyKernel`` is a kernel density estimate for grey levels (the kernel of "Multivariate Binary
Discrimination by the Kernel Method", Aitchison and Aitken, 1976): pick a training image, keep each
pixel with probability 1 − ε, else replace it by a uniformly drawn level. As ε → 0 its samples
become exact copies of the training set and the probability of any unseen image goes to zero.

``ClassConditional`` fits one mixture per class. All parameters are float64 tensors; images may be
(N, 1, 8, 8) or (N, D).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def pixel_counts(x: Tensor, n: int) -> Tensor:
    """Images (N, ...) with values in {0, 1/n, ..., 1} -> counts (N, D) float64."""
    flat = torch.as_tensor(x).detach().double().cpu().reshape(len(x), -1)
    k = flat * n
    if (k - k.round()).abs().max() > 1e-4 or flat.min() < 0 or flat.max() > 1:
        raise ValueError(f"the pixel mixtures need pixel values in {{0, 1/{n}, ..., 1}} (the digits scaled to "
                         f"[0, 1]); got values that are not multiples of 1/{n}")
    return k.round()


class _PixelMixture:
    """EM, likelihood and sampling shared by the two families; subclasses say how one component
    scores counts (``_component_log_prob``), re-estimates its pixels (``_m_step``) and draws them."""

    def __init__(self, n_components: int, levels: int = 16, smoothing: float = 1.0):
        if not isinstance(n_components, int) or isinstance(n_components, bool) or n_components < 1:
            raise ValueError(f"n_components must be a positive int, got {n_components!r}")
        if not isinstance(levels, int) or levels < 1:
            raise ValueError(f"levels must be a positive int (n: 16 for the digits), got {levels!r}")
        if smoothing < 0:
            raise ValueError(f"smoothing must be ≥ 0 pseudo-counts, got {smoothing!r}")
        self.n_components, self.levels, self.smoothing = n_components, levels, float(smoothing)
        self.weights: Tensor | None = None
        self.history: list[float] = []     # mean training log-likelihood after each iteration (with smoothing
                                           # > 0, EM climbs the likelihood plus the prior, so it can dip slightly)

    def _component_log_prob(self, k: Tensor) -> Tensor:            # counts (N, D) -> (N, K)
        raise NotImplementedError

    def _m_step(self, resp: Tensor, k: Tensor) -> None:              # (N, K), (N, D)
        raise NotImplementedError

    def _draw(self, components: Tensor, g: torch.Generator) -> Tensor:   # (m,) -> counts (m, D)
        raise NotImplementedError

    def _joint(self, k: Tensor) -> Tensor:
        if self.weights is None:
            raise RuntimeError(f"fit the mixture first ({type(self).__name__}(...).fit(images))")
        return self._component_log_prob(k) + self.weights.log()       # (N, K)

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log p(x) in nats for images (N, ...) -> (N,)."""
        return torch.logsumexp(self._joint(pixel_counts(x, self.levels)), dim=1)

    def fit(self, x: Tensor, iterations: int = 40, seed: int = 0):
        """EM from random responsibilities; images (N, ...) with N ≥ n_components. Returns self."""
        k = pixel_counts(x, self.levels)
        if len(k) < self.n_components:
            raise ValueError(f"{len(k)} images cannot fit {self.n_components} components")
        g = torch.Generator().manual_seed(seed)
        resp = torch.rand(len(k), self.n_components, generator=g, dtype=torch.float64) ** 4
        resp = resp / resp.sum(dim=1, keepdim=True)
        self.history = []
        for _ in range(iterations):
            self.weights = (resp.sum(dim=0) / len(k)).clamp_min(1e-12)
            self._m_step(resp, k)
            joint = self._joint(k)
            log_px = torch.logsumexp(joint, dim=1)
            resp = (joint - log_px[:, None]).exp()
            self.history.append(float(log_px.mean()))
        return self

    def sample(self, m: int, seed: int = 0) -> Tensor:
        """m images (m, D) float32 in [0, 1]: a component by its weight, then each pixel."""
        if self.weights is None:
            raise RuntimeError(f"fit the mixture first ({type(self).__name__}(...).fit(images))")
        g = torch.Generator().manual_seed(seed)
        components = torch.multinomial(self.weights, m, replacement=True, generator=g)
        return (self._draw(components, g) / self.levels).float()


class BinomialMixture(_PixelMixture):
    """K components, each inking pixel d with probability p_cd: probs (K, D) after ``fit``."""

    probs: Tensor

    def _component_log_prob(self, k: Tensor) -> Tensor:
        n = self.levels
        if k.shape[1] != self.probs.shape[1]:
            raise ValueError(f"images have {k.shape[1]} pixels but the mixture was fitted on {self.probs.shape[1]}")
        log_choose = (math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)).sum(dim=1)   # (N,)
        return log_choose[:, None] + k @ self.probs.log().T + (n - k) @ (1 - self.probs).log().T

    def _m_step(self, resp: Tensor, k: Tensor) -> None:
        mass = resp.sum(dim=0)[:, None]                                    # (K, 1)
        self.probs = ((resp.T @ k + self.smoothing) / (self.levels * mass + 2 * self.smoothing)).clamp(1e-9, 1 - 1e-9)

    def _draw(self, components: Tensor, g: torch.Generator) -> Tensor:
        p = self.probs[components][:, :, None].expand(-1, -1, self.levels)          # (m, D, n) trials
        return (torch.rand(p.shape, generator=g, dtype=torch.float64) < p).sum(dim=2).double()


class CategoricalMixture(_PixelMixture):
    """K components, each with a distribution over the n + 1 levels of every pixel: probs (K, D, n+1)."""

    probs: Tensor

    def _one_hot(self, k: Tensor) -> Tensor:
        return torch.nn.functional.one_hot(k.long(), self.levels + 1).double()        # (N, D, n+1)

    def _component_log_prob(self, k: Tensor) -> Tensor:
        if k.shape[1] != self.probs.shape[1]:
            raise ValueError(f"images have {k.shape[1]} pixels but the mixture was fitted on {self.probs.shape[1]}")
        return torch.einsum("ndl,kdl->nk", self._one_hot(k), self.probs.log())

    def _m_step(self, resp: Tensor, k: Tensor) -> None:
        counts = torch.einsum("nk,ndl->kdl", resp, self._one_hot(k)) + self.smoothing
        self.probs = (counts / counts.sum(dim=2, keepdim=True)).clamp_min(1e-12)    # no log 0 without smoothing

    def _draw(self, components: Tensor, g: torch.Generator) -> Tensor:
        q = self.probs[components]                                                   # (m, D, n+1)
        return torch.multinomial(q.reshape(-1, q.shape[-1]), 1, generator=g).reshape(q.shape[:2]).double()


class CopyKernel:
    """A kernel density estimate over the training images (N, ...) with n + 1 grey levels per pixel.

    p(x) = (1/N) Σ_i Π_d [(1 − ε) 1(k_d = k_id) + ε / (n + 1)]: each pixel of a training image is kept
    with probability 1 − ε, else drawn uniformly from the n + 1 levels.
    """

    def __init__(self, points: Tensor, epsilon: float, levels: int = 16):
        if not isinstance(epsilon, float) or not 0 < epsilon <= 1:
            raise ValueError(f"epsilon must be a float in (0, 1], got {epsilon!r}")
        self.points, self.epsilon, self.levels = pixel_counts(points, levels), epsilon, levels

    def log_prob(self, x: Tensor, chunk: int = 64) -> Tensor:
        """Exact log p(x) in nats for images (M, ...) -> (M,)."""
        k = pixel_counts(x, self.levels)
        same = math.log(1 - self.epsilon + self.epsilon / (self.levels + 1))
        other = math.log(self.epsilon / (self.levels + 1))
        out = []
        for start in range(0, len(k), chunk):
            matches = (k[start:start + chunk, None, :] == self.points[None]).sum(dim=2).double()   # (m, N)
            out.append(torch.logsumexp(matches * same + (k.shape[1] - matches) * other, dim=1)
                       - math.log(len(self.points)))
        return torch.cat(out)

    def sample(self, m: int, seed: int = 0) -> Tensor:
        """m images (m, D) float32 in [0, 1]: a training image with each pixel redrawn with probability ε."""
        g = torch.Generator().manual_seed(seed)
        chosen = self.points[torch.randint(len(self.points), (m,), generator=g)]
        redraw = torch.rand(chosen.shape, generator=g, dtype=torch.float64) < self.epsilon
        levels = torch.randint(self.levels + 1, chosen.shape, generator=g).double()
        return (torch.where(redraw, levels, chosen) / self.levels).float()


class ClassConditional:
    """One mixture per class, p(x | y) for labels 0..C-1, made by ``make()`` (e.g.
    ``lambda: BinomialMixture(10)``); samples follow the labels asked for."""

    def __init__(self, make):
        self.make = make
        self.mixtures: list = []

    def fit(self, x: Tensor, y: Tensor, iterations: int = 40, seed: int = 0) -> "ClassConditional":
        """Images (N, ...) with labels (N,) in 0..C-1; every class needs ≥ n_components images."""
        y = torch.as_tensor(y)
        self.mixtures = [self.make().fit(x[y == c], iterations, seed + c) for c in range(int(y.max()) + 1)]
        return self

    def log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """log p(x | y) (N,) in nats."""
        out = torch.empty(len(x), dtype=torch.float64)
        for c, mix in enumerate(self.mixtures):
            rows = torch.as_tensor(y) == c
            if rows.any():
                out[rows] = mix.log_prob(x[rows])
        return out

    def sample(self, labels: Tensor, seed: int = 0) -> Tensor:
        """Images (N, D) float32, row i drawn from class labels[i]."""
        if not self.mixtures:
            raise RuntimeError("fit the mixtures first (ClassConditional(...).fit(images, labels))")
        labels = torch.as_tensor(labels)
        out = torch.empty(len(labels), self.mixtures[0].probs.shape[1])
        for c, mix in enumerate(self.mixtures):
            rows = labels == c
            if rows.any():
                out[rows] = mix.sample(int(rows.sum()), seed=seed * 100 + c)
        return out
