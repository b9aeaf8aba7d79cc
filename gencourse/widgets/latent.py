"""Interactive widgets (ipywidgets) for exploring a model's latent space.

    LatentExplorer       one slider per latent dimension; the decoded image updates live
    InterpolationWidget  a slider that walks the straight line between two inputs' codes

Both take the model's ``decode`` (and, for interpolation, ``encode``) functions,
check them once with a dummy input, and raise a ValueError that says what is
wrong (latent size, output size) rather than failing on the first slider move.
Each exposes ``.widget`` (what Jupyter shows) and ``.image`` (the current decoded
image as an (H, W) numpy array) so they can be tested without a browser.

Widgets need a live kernel; lessons put a static figure of the same idea beside them.
"""
from __future__ import annotations

import io
from collections.abc import Callable

import ipywidgets as w
import numpy as np
import torch
from PIL import Image
from torch import Tensor

Decoder = Callable[[Tensor], Tensor]


def _png(image: np.ndarray, scale: int) -> bytes:
    """(H, W) array in [0, 1] (ink = 1) -> PNG bytes, enlarged ``scale`` times, dark ink."""
    pixels = (255 * (1.0 - np.clip(image, 0.0, 1.0))).astype(np.uint8)
    img = Image.fromarray(pixels).resize(
        (image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _checked_decode(decode: Decoder, latent_dim: int, image_shape: tuple[int, int]) -> Decoder:
    """Try ``decode`` on a zero code and return a wrapper giving (H, W) numpy images."""
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive int, got {latent_dim!r}")
    owner = getattr(decode, "__self__", None)
    model_dim = getattr(owner, "latent_dim", None)
    if isinstance(model_dim, int) and model_dim != latent_dim:
        raise ValueError(f"latent_dim={latent_dim} but the decoder expects {model_dim}")
    need = int(np.prod(image_shape))
    try:
        with torch.no_grad():
            out = decode(_zeros_like_model(decode, latent_dim))
    except Exception as exc:
        raise ValueError(f"the decoder failed on a latent code of shape (1, {latent_dim}): "
                         f"{exc}. Check latent_dim against the model's code size.") from exc
    if not isinstance(out, Tensor) or out.numel() != need:
        got = out.numel() if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"the decoder returns {got} values per code, but image_shape "
                         f"{image_shape} needs {need}; pass the image_shape the model produces")

    def render(z: Tensor) -> np.ndarray:
        with torch.no_grad():
            return decode(z).detach().float().cpu().reshape(image_shape).numpy()

    return render


def _zeros_like_model(decode: Decoder, latent_dim: int) -> Tensor:
    owner = getattr(decode, "__self__", None)
    param = next(owner.parameters(), None) if isinstance(owner, torch.nn.Module) else None
    device = param.device if param is not None else "cpu"
    return torch.zeros(1, latent_dim, device=device)


class LatentExplorer:
    """Sliders over the latent dimensions of a decoder; the image follows them.

    decode: (1, latent_dim) -> anything with prod(image_shape) values
    value_range: slider range per dimension (use the spread of real codes)
    """

    def __init__(self, decode: Decoder, latent_dim: int, image_shape: tuple[int, int] = (8, 8),
                 value_range: tuple[float, float] | Tensor = (-3.0, 3.0),
                 start: Tensor | None = None, scale: int = 20, max_sliders: int = 16):
        self._render = _checked_decode(decode, latent_dim, image_shape)
        self.latent_dim, self.scale = latent_dim, scale
        if latent_dim > max_sliders:
            raise ValueError(f"latent_dim={latent_dim} gives too many sliders (max_sliders="
                             f"{max_sliders}); explore a smaller code or raise max_sliders")
        lows, highs = self._ranges(value_range)
        start = torch.zeros(latent_dim) if start is None else torch.as_tensor(start).flatten()
        if start.numel() != latent_dim:
            raise ValueError(f"start has {start.numel()} values but latent_dim={latent_dim}")
        self._device = _zeros_like_model(decode, latent_dim).device
        self.sliders = [
            w.FloatSlider(value=float(start[i].clamp(lows[i], highs[i])), min=lows[i],
                          max=highs[i], step=(highs[i] - lows[i]) / 100,
                          description=f"z{i + 1}", continuous_update=True,
                          layout=w.Layout(width="320px"))
            for i in range(latent_dim)
        ]
        self.view = w.Image(format="png")
        self.readout = w.Label()
        for slider in self.sliders:
            slider.observe(self._update, names="value")
        self.widget = w.HBox([w.VBox(self.sliders), w.VBox([self.view, self.readout])])
        self._update()

    def _ranges(self, value_range) -> tuple[list[float], list[float]]:
        r = torch.as_tensor(value_range, dtype=torch.float32)
        if r.shape == (2,):
            r = r[None].expand(self.latent_dim, 2)
        if r.shape != (self.latent_dim, 2) or bool((r[:, 0] >= r[:, 1]).any()):
            raise ValueError(f"value_range must be (low, high) or shape ({self.latent_dim}, 2) "
                             f"with low < high, got {tuple(r.shape)}")
        return r[:, 0].tolist(), r[:, 1].tolist()

    @property
    def code(self) -> Tensor:
        """(1, latent_dim): the code the sliders point at."""
        return torch.tensor([[s.value for s in self.sliders]], device=self._device)

    def _update(self, _change=None) -> None:
        self.image = self._render(self.code)
        self.view.value = _png(self.image, self.scale)
        self.readout.value = "z = (" + ", ".join(f"{s.value:+.2f}" for s in self.sliders) + ")"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class InterpolationWidget:
    """Decode (1 - α)·encode(x_a) + α·encode(x_b) for α chosen with a slider.

    encode: (1, ...) -> (1, latent_dim); decode: (1, latent_dim) -> prod(image_shape) values
    x_a, x_b: two inputs with the encoder's input shape (a leading batch dim of 1 is added).
    """

    def __init__(self, encode: Callable[[Tensor], Tensor], decode: Decoder, x_a: Tensor,
                 x_b: Tensor, image_shape: tuple[int, int] = (8, 8), scale: int = 20):
        if tuple(x_a.shape) != tuple(x_b.shape):
            raise ValueError(f"x_a and x_b must have the same shape, got {tuple(x_a.shape)} "
                             f"and {tuple(x_b.shape)}")
        try:
            with torch.no_grad():
                self.z_a = encode(x_a.unsqueeze(0)).reshape(1, -1)
                self.z_b = encode(x_b.unsqueeze(0)).reshape(1, -1)
        except Exception as exc:
            raise ValueError(f"the encoder failed on an input of shape {(1, *x_a.shape)}: {exc}. "
                             "Pass single inputs (no batch dimension).") from exc
        self._render = _checked_decode(decode, self.z_a.shape[1], image_shape)
        self.scale = scale
        self.slider = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="α",
                                    continuous_update=True)
        self.view = w.Image(format="png")
        self.ends = w.HBox([w.Image(value=_png(self._render(self.z_a), scale // 2), format="png"),
                            w.Label("→"),
                            w.Image(value=_png(self._render(self.z_b), scale // 2), format="png")])
        self.slider.observe(self._update, names="value")
        self.widget = w.VBox([self.ends, self.slider, self.view])
        self._update()

    def _update(self, _change=None) -> None:
        alpha = self.slider.value
        self.image = self._render((1 - alpha) * self.z_a + alpha * self.z_b)
        self.view.value = _png(self.image, self.scale)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
