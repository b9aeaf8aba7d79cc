"""A Gaussian mixture model p(x) = Σ_k π_k N(x; μ_k, Σ_k), fitted by EM.

Expectation-maximisation ("Maximum Likelihood from Incomplete Data via the EM
Algorithm", Dempster, Laird and Rubin, 1977) alternates two steps:
    E-step: responsibilities r_nk = p(z=k | x_n) under the current parameters
    M-step: weights, means and covariances re-estimated from the responsibilities
An iteration (an M-step followed by the E-step of the new parameters) never lowers
the training log-likelihood. The component index
z is the model's latent variable; sampling is ancestral: z ~ Cat(π), then x ~ N(μ_z, Σ_z).

All computation is in float64 for stable log-determinants; inputs may be float32.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def gaussian_log_prob(x: Tensor, means: Tensor, covs: Tensor) -> Tensor:
    """log N(x_n; μ_k, Σ_k) for every point and component.

    x: (N, D), means: (K, D), covs: (K, D, D)  ->  (N, K)
    """
    chol = torch.linalg.cholesky(covs)                                    # (K, D, D)
    diff = (x[None, :, :] - means[:, None, :]).transpose(1, 2)            # (K, D, N)
    solved = torch.linalg.solve_triangular(chol, diff, upper=False)       # (K, D, N)
    maha = (solved ** 2).sum(dim=1)                                       # (K, N)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(dim=1)  # (K,)
    d = x.shape[1]
    return (-0.5 * (maha + log_det[:, None] + d * math.log(2 * math.pi))).T


class GaussianMixture:
    """A K-component, full-covariance Gaussian mixture in D dimensions.

    After ``fit``: weights (K,), means (K, D), covs (K, D, D), all float64;
    ``history[t]`` is the mean training log-likelihood after t EM iterations:
    ``history[0]`` belongs to the initial parameters (before any update) and
    ``history[-1]`` to the fitted ones, so a run of n_iter iterations that does
    not stop early leaves n_iter + 1 values.
    """

    def __init__(self, n_components: int, reg_covar: float = 1e-6):
        if not isinstance(n_components, int) or n_components < 1:
            raise ValueError(f"n_components must be a positive int, got {n_components!r}")
        self.n_components = n_components
        self.reg_covar = reg_covar
        self.weights: Tensor | None = None
        self.means: Tensor | None = None
        self.covs: Tensor | None = None
        self.history: list[float] = []

    # --- the two EM steps -------------------------------------------------
    def e_step(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Responsibilities (N, K) and the per-point log-likelihood (N,)."""
        joint = gaussian_log_prob(x, self.means, self.covs) + torch.log(self.weights)  # (N, K)
        log_px = torch.logsumexp(joint, dim=1)
        return torch.exp(joint - log_px[:, None]), log_px

    def m_step(self, x: Tensor, resp: Tensor) -> None:
        """Re-estimate weights, means and covariances from responsibilities (N, K)."""
        nk = resp.sum(dim=0) + 10 * torch.finfo(resp.dtype).eps            # (K,)
        self.weights = nk / nk.sum()
        self.means = resp.T @ x / nk[:, None]                               # (K, D)
        diff = x[None, :, :] - self.means[:, None, :]                       # (K, N, D)
        self.covs = torch.einsum("nk,kni,knj->kij", resp, diff, diff) / nk[:, None, None]
        self.covs = self.covs + self.reg_covar * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)

    # --- fitting and using the model ---------------------------------------
    def fit(self, x: Tensor, n_iter: int = 100, tol: float = 1e-6, seed: int = 0,
            init_means: Tensor | None = None) -> "GaussianMixture":
        """Fit to x (N, D) by at most n_iter EM iterations, stopping once an iteration changes
        the mean log-likelihood by less than tol. Means start at K random data points unless given."""
        x = self._check_x(torch.as_tensor(x), fitted=False).double()
        n, d = x.shape
        if n < self.n_components:
            raise ValueError(f"need at least n_components={self.n_components} points, got {n}")
        if init_means is None:
            g = torch.Generator().manual_seed(seed)
            init_means = x[torch.randperm(n, generator=g)[: self.n_components].to(x.device)]
        init_means = torch.as_tensor(init_means, dtype=torch.float64, device=x.device)
        if init_means.shape != (self.n_components, d):
            raise ValueError(f"init_means must have shape ({self.n_components}, {d}), "
                             f"got {tuple(init_means.shape)}")
        # Start from hard assignments to the nearest initial mean, then iterate.
        nearest = torch.cdist(x, init_means).argmin(dim=1)
        self.m_step(x, torch.nn.functional.one_hot(nearest, self.n_components).to(x.dtype))
        resp, log_px = self.e_step(x)
        self.history = [float(log_px.mean())]            # iteration 0: the initial parameters
        for _ in range(n_iter):
            self.m_step(x, resp)
            resp, log_px = self.e_step(x)
            self.history.append(float(log_px.mean()))    # after len(history) - 1 iterations
            if abs(self.history[-1] - self.history[-2]) < tol:
                break
        return self

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) for each row of x (N, D) -> (N,), in nats."""
        x = self._check_x(torch.as_tensor(x)).double()
        return self.e_step(x)[1]

    def predict(self, x: Tensor) -> Tensor:
        """Most responsible component of each point: (N,) int64."""
        x = self._check_x(torch.as_tensor(x)).double()
        return self.e_step(x)[0].argmax(dim=1)

    def sample(self, n: int, seed: int | None = None,
               return_components: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Ancestral sampling: z ~ Cat(weights), x ~ N(means[z], covs[z]). Returns (n, D)."""
        self._require_fit()
        device = self.means.device
        g = torch.Generator(device=device).manual_seed(0 if seed is None else seed)
        z = torch.multinomial(self.weights, n, replacement=True, generator=g)
        eps = torch.randn(n, self.means.shape[1], 1, dtype=torch.float64, generator=g, device=device)
        x = self.means[z] + (torch.linalg.cholesky(self.covs)[z] @ eps).squeeze(-1)
        return (x, z) if return_components else x

    # --- helpers -------------------------------------------------------------
    def _require_fit(self) -> None:
        if self.means is None:
            raise RuntimeError("this GaussianMixture is not fitted yet: call .fit(x) first")

    def _check_x(self, x: Tensor, fitted: bool = True) -> Tensor:
        if x.ndim != 2:
            raise ValueError(f"x must have shape (N, D), got {tuple(x.shape)}")
        if fitted:
            self._require_fit()
            if x.shape[1] != self.means.shape[1]:
                raise ValueError(f"x has D={x.shape[1]} columns but the mixture was fitted "
                                 f"with D={self.means.shape[1]}")
        return x
