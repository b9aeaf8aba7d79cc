"""Principal component analysis: the best linear latent space in the squared-error sense.

PCA keeps the k directions of largest variance. Encoding is a projection onto
them, decoding maps the code back into the data space; among all rank-k linear
encoders/decoders this gives the smallest mean squared reconstruction error
(Eckart–Young theorem, 1936). Computed from the SVD of the centred data.
"""
from __future__ import annotations

import torch
from torch import Tensor


class PCA:
    """After ``fit``: mean (D,), components (k, D) with orthonormal rows,
    explained_variance (k,) and explained_variance_ratio (k,)."""

    def __init__(self, n_components: int):
        if not isinstance(n_components, int) or n_components < 1:
            raise ValueError(f"n_components must be a positive int, got {n_components!r}")
        self.n_components = n_components
        self.mean: Tensor | None = None
        self.components: Tensor | None = None

    def fit(self, x: Tensor) -> "PCA":
        """x: (N, D) with N > 1 and k <= min(N, D)."""
        x = self._flat(x)
        n, d = x.shape
        if self.n_components > min(n, d):
            raise ValueError(f"n_components={self.n_components} but x of shape {(n, d)} "
                             f"allows at most {min(n, d)}")
        self.mean = x.mean(dim=0)
        _, s, vh = torch.linalg.svd(x - self.mean, full_matrices=False)
        # Fix each component's sign (largest-magnitude entry positive) so results are stable.
        signs = torch.sign(vh[torch.arange(len(vh)), vh.abs().argmax(dim=1)])
        vh = vh * signs[:, None]
        variance = s ** 2 / (n - 1)
        self.components = vh[: self.n_components]
        self.explained_variance = variance[: self.n_components]
        self.explained_variance_ratio = self.explained_variance / variance.sum()
        return self

    def encode(self, x: Tensor) -> Tensor:
        """(N, D) -> (N, k) codes."""
        self._require_fit()
        return (self._flat(x) - self.mean) @ self.components.T

    def decode(self, z: Tensor) -> Tensor:
        """(N, k) -> (N, D) reconstructions."""
        self._require_fit()
        if z.ndim != 2 or z.shape[1] != self.n_components:
            raise ValueError(f"z must have shape (N, {self.n_components}), got {tuple(z.shape)}")
        return z @ self.components + self.mean

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def _require_fit(self) -> None:
        if self.components is None:
            raise RuntimeError("this PCA is not fitted yet: call .fit(x) first")

    @staticmethod
    def _flat(x: Tensor) -> Tensor:
        x = torch.as_tensor(x)
        if x.ndim < 2:
            raise ValueError(f"x must have shape (N, D) or (N, ...), got {tuple(x.shape)}")
        return x.reshape(len(x), -1).float()
