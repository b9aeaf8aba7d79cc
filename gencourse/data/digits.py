"""scikit-learn's bundled 8x8 handwritten digits (1,797 images), as torch tensors.

The images ship with scikit-learn (no download). Pixel values in the original
data are integers 0..16; here they are divided by 16, so every pixel lies in
[0, 1] with 0 the background. The train/test split is stratified by class and
fixed by ``seed``, so every chapter sees the same held-out digits.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

IMAGE_SHAPE = (8, 8)
N_CLASSES = 10


@dataclass(frozen=True)
class Digits:
    """A train/test split of the digits.

    x_train: (N_train, 1, 8, 8) float32 in [0, 1]   y_train: (N_train,) int64 in 0..9
    x_test:  (N_test, 1, 8, 8)  float32 in [0, 1]   y_test:  (N_test,)  int64 in 0..9
    (with ``flatten=True`` the images are (N, 64) instead).
    """

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return bunch.data.astype(np.float32) / 16.0, bunch.target.astype(np.int64)


def load_digits(test_fraction: float = 0.2, seed: int = 0, flatten: bool = False) -> Digits:
    """The digits split into train and test sets (stratified; fixed by ``seed``).

    ``test_fraction`` must lie strictly between 0 and 1 (default 0.2: 1,437 train,
    360 test images).
    """
    if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1 (e.g. 0.2), "
                         f"got {test_fraction!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    from sklearn.model_selection import train_test_split

    x, y = _raw()
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=test_fraction,
                                           stratify=y, random_state=seed)
    shape = (-1, 64) if flatten else (-1, 1, *IMAGE_SHAPE)

    def tensors(idx: np.ndarray) -> tuple[Tensor, Tensor]:
        return torch.from_numpy(x[idx]).reshape(shape), torch.from_numpy(y[idx])

    return Digits(*tensors(idx_train), *tensors(idx_test))
