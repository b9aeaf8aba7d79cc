"""Figures the lessons reuse: image grids, 2-D samples over data, latent maps,
interpolation strips. Every function titles and labels what it draws and returns
the matplotlib Figure (so notebooks show it and tests can inspect it)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor


def to_images(x: Tensor | np.ndarray, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """(N, H, W), (N, 1, H, W) or (N, H*W) -> (N, H, W) numpy float array."""
    arr = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        if image_shape is None:
            side = int(math.isqrt(arr.shape[1]))
            if side * side != arr.shape[1]:
                raise ValueError(f"cannot infer a square image from {arr.shape[1]} values; "
                                 "pass image_shape=(H, W)")
            image_shape = (side, side)
        arr = arr.reshape(len(arr), *image_shape)
    if arr.ndim != 3:
        raise ValueError(f"images must be (N, H, W), (N, 1, H, W) or (N, H*W), got {arr.shape}")
    return arr


def image_grid(images: Tensor | np.ndarray, ncols: int = 10, title: str = "",
               labels: Sequence[str] | None = None, vmin: float = 0.0, vmax: float = 1.0,
               cell_size: float = 0.8) -> Figure:
    """A grid of grey-scale images, with optional per-image labels."""
    imgs = to_images(images)
    n = len(imgs)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} images")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell_size * ncols, cell_size * nrows + 0.4),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap="gray_r", vmin=vmin, vmax=vmax, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def samples_over_data(samples: Tensor, data: Tensor | None = None, centers: Tensor | None = None,
                      title: str = "samples", ax: plt.Axes | None = None,
                      sample_label: str = "generated", data_label: str = "data") -> Figure:
    """Scatter of 2-D samples (N, 2) over real data (M, 2) and known mode centres (K, 2)."""
    fig, ax = _fig_ax(ax, (4.5, 4.5))
    if data is not None:
        d = _np2d(data, "data")
        ax.scatter(d[:, 0], d[:, 1], s=4, alpha=0.3, color="tab:blue", label=data_label)
    s = _np2d(samples, "samples")
    ax.scatter(s[:, 0], s[:, 1], s=4, alpha=0.5, color="tab:orange", label=sample_label)
    if centers is not None:
        c = _np2d(centers, "centers")
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, color="black", label="mode centres")
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize=8, markerscale=2)
    return fig


def latent_map(z: Tensor, labels: Tensor | None = None, title: str = "latent space",
               ax: plt.Axes | None = None, axis_names: tuple[str, str] = ("$z_1$", "$z_2$")) -> Figure:
    """2-D codes (N, 2) coloured by class label (N,)."""
    fig, ax = _fig_ax(ax, (5, 4.2))
    pts = _np2d(z, "z")
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.7)
    else:
        lab = np.asarray(labels.cpu() if isinstance(labels, Tensor) else labels)
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=lab, cmap="tab10", s=6, alpha=0.8,
                        vmin=-0.5, vmax=9.5)
        fig.colorbar(sc, ax=ax, ticks=range(10), label="class")
    ax.set(title=title, xlabel=axis_names[0], ylabel=axis_names[1])
    return fig


def interpolation_strip(images: Tensor | np.ndarray, title: str = "interpolation",
                        alphas: Sequence[float] | None = None) -> Figure:
    """One row of images, e.g. decodes of (1-α)·z_a + α·z_b, labelled with α."""
    imgs = to_images(images)
    labels = [f"α={a:.2f}" for a in alphas] if alphas is not None else None
    return image_grid(imgs, ncols=len(imgs), title=title, labels=labels)


def _fig_ax(ax: plt.Axes | None, size: tuple[float, float]) -> tuple[Figure, plt.Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def _np2d(x: Tensor | np.ndarray, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {arr.shape}")
    return arr
