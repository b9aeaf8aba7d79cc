"""Checks for chapter 01 (latent spaces): PCA, an autoencoder, interpolation."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gencourse.data import load_digits
from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close, expect_tensor
from gencourse.models.autoencoder import Autoencoder, AutoencoderConfig, reconstruction_mse
from gencourse.models.pca import PCA

# Held-out per-pixel MSE that a 16-D autoencoder reaches after TRAIN_STEPS correct
# Adam steps (~0.010 measured); an untrained one sits near 0.18.
TRAIN_STEPS = 1500
TRAINED_AE16_MAX_MSE = 0.02


def _data(n: int = 200) -> torch.Tensor:
    return load_digits(flatten=True).x_train[:n]


def _same(got: object, reference: Tensor, atol: float) -> bool:
    """True when ``got`` is a finite tensor with the reference's shape and values."""
    if not isinstance(got, Tensor) or tuple(got.shape) != tuple(reference.shape):
        return False
    got = got.detach().double().cpu()
    return bool(torch.isfinite(got).all()) and torch.allclose(got, reference.double(), atol=atol)


@exercise("01.1", "PCA from the SVD")
def check_pca_fit(pca_fit) -> None:
    x, k = _data(), 5
    got = call(pca_fit, x, k, what="pca_fit(x, k)")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseFailed("pca_fit should return a tuple (mean, components), got "
                             f"{type(got).__name__}")
    if (isinstance(got[0], Tensor) and isinstance(got[1], Tensor)
            and got[0].ndim == 2 and got[1].ndim == 1):
        raise ExerciseFailed("pca_fit returned (components, mean): return (mean, components)")
    ref = PCA(k).fit(x)
    expect_tensor("mean", got[0], ref.mean, atol=1e-4)
    comps = expect_tensor("components", got[1], shape=(k, x.shape[1])).detach().double()
    gram = comps @ comps.T
    if not torch.allclose(gram, torch.eye(k, dtype=gram.dtype), atol=1e-3):
        raise ExerciseFailed("the rows of components should be orthonormal (unit length, "
                             "mutually perpendicular); use the rows of Vᵀ from the SVD")
    # Same directions as the reference, up to sign, in order of explained variance.
    cos = (comps * ref.components.double()).sum(dim=1).abs()
    if not bool((cos > 0.99).all()):
        first = int((cos <= 0.99).nonzero()[0])
        raise ExerciseFailed(f"component {first} is not the direction of the "
                             f"{first + 1}-th largest variance (|cos| with it is "
                             f"{float(cos[first]):.3f}); centre x first and keep the first k rows")


@exercise("01.2", "PCA reconstruction")
def check_pca_reconstruct(pca_reconstruct) -> None:
    x = _data()
    ref = PCA(8).fit(x)
    got = call(pca_reconstruct, x, ref.mean, ref.components,
               what="pca_reconstruct(x, mean, components)")
    c = ref.components
    mistakes = {
        "the reconstruction lacks the mean: add it back after decoding (codes @ components + mean)":
            (x - ref.mean) @ c.T @ c,
        "x must be centred (subtract the mean) before it is projected onto the components":
            x @ c.T @ c + ref.mean,
    }
    for message, wrong in mistakes.items():
        if _same(got, wrong, atol=1e-4):
            raise ExerciseFailed(message)
    expect_tensor("reconstruction", got, ref.reconstruct(x), atol=1e-4)


@exercise("01.3", "an autoencoder with a chosen code size")
def check_build_autoencoder(build_autoencoder) -> None:
    x = _data(5)
    for latent_dim in (2, 16):
        model = call(build_autoencoder, latent_dim, what=f"build_autoencoder({latent_dim})")
        if isinstance(model, type):
            raise ExerciseFailed(f"build_autoencoder should return an instance of your module, "
                                 f"got the class {model.__name__} itself: call it, e.g. "
                                 f"{model.__name__}()")
        if not isinstance(model, nn.Module):
            raise ExerciseFailed(f"build_autoencoder should return an nn.Module, "
                                 f"got {type(model).__name__}")
        for method in ("encode", "decode"):
            if not callable(getattr(model, method, None)):
                raise ExerciseFailed(f"the autoencoder needs a .{method}() method")
        if type(model).forward is nn.Module.forward:
            raise ExerciseFailed("the autoencoder has no forward(x) method: define one that "
                                 "returns self.decode(self.encode(x)), so that model(x) "
                                 "reconstructs x")
        model.eval()
        z = call(model.encode, x, what="model.encode(x)")
        expect_tensor(f"model.encode(x) with latent_dim={latent_dim}", z, shape=(5, latent_dim))
        out = call(model.decode, z, what="model.decode(z)")
        expect_tensor("model.decode(z)", out, shape=(5, 64))
        expect_tensor("model.decode(z) (end the decoder with a sigmoid so that pixels lie in "
                      "[0, 1])", out, low=0.0, high=1.0)
        recon = call(model, x, what="model(x)")
        expect_tensor("model(x)", recon, shape=(5, 64))
        if not torch.allclose(recon.detach().double(), out.detach().double(), atol=1e-5):
            raise ExerciseFailed("model(x) differs from model.decode(model.encode(x)): forward "
                                 "must pass x through the bottleneck (encode, then decode) and "
                                 "return the reconstruction")


@exercise("01.4", "reconstruction error")
def check_reconstruction_error(reconstruction_error) -> None:
    torch.manual_seed(0)
    x = _data(50)
    model = nn.Sequential(nn.Linear(64, 4), nn.Linear(4, 64), nn.Sigmoid())
    name = "reconstruction_error (mean squared error per pixel)"
    got = call(reconstruction_error, model, x, what="reconstruction_error(model, x)")
    expected = reconstruction_mse(model, x)
    if isinstance(got, float) and math.isfinite(got):
        if abs(got - expected * x.shape[1]) < 1e-4 * expected * x.shape[1]:
            raise ExerciseFailed(f"{name} is {x.shape[1]} times too large: you summed the squared "
                                 "errors over the pixels; take the mean over every pixel of every "
                                 "image")
        if abs(got - math.sqrt(expected)) < 1e-6:
            raise ExerciseFailed(f"{name}: you returned the root of the mean squared error; "
                                 "return the mean squared error itself")
    expect_close(name, got, expected, atol=1e-6, allow_tensor=False)


@exercise("01.5", "linear interpolation between two codes")
def check_interpolate(interpolate) -> None:
    z_a, z_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([4.0, -1.0, 2.0])
    got = call(interpolate, z_a, z_b, 5, what="interpolate(z_a, z_b, 5)")
    alphas = torch.linspace(0, 1, 5)[:, None]
    expected = (1 - alphas) * z_a + alphas * z_b
    if isinstance(got, (list, tuple)):
        raise ExerciseFailed(f"interpolate should return one (n, d) tensor, got a "
                             f"{type(got).__name__}: stack the codes with torch.stack")
    for message, wrong_alphas in (
            ("the codes must include both endpoints: the first is z_a and the last z_b "
             "(use torch.linspace(0, 1, n))", torch.arange(5)[:, None] / 5),
            ("the codes must include both endpoints: the first is z_a and the last z_b "
             "(use torch.linspace(0, 1, n))", torch.arange(1, 6)[:, None] / 6),
            ("the path runs backwards: it must start at z_a and end at z_b", 1 - alphas)):
        if _same(got, (1 - wrong_alphas) * z_a + wrong_alphas * z_b, atol=1e-5):
            raise ExerciseFailed(message)
    expect_tensor("interpolate(z_a, z_b, 5)", got, expected, atol=1e-5)


@exercise("01.6", "training the autoencoder")
def check_train(train) -> None:
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(latent_dim=16))
    digits = load_digits(flatten=True)
    before = [p.detach().clone() for p in model.parameters()]
    call(train, model, digits.x_train, TRAIN_STEPS, what=f"train(model, x_train, {TRAIN_STEPS})")
    model.eval()
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise ExerciseFailed("after training, the model's parameters contain NaN or inf: the loss "
                             "diverged; check the loss and lower the learning rate")
    if all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters())):
        raise ExerciseFailed("train did not change the model's parameters: call loss.backward() "
                             "and optimizer.step() at every step, with an optimizer built on "
                             "model.parameters()")
    mse = reconstruction_mse(model, digits.x_test)
    if not mse < TRAINED_AE16_MAX_MSE:
        raise ExerciseFailed(f"after training, the held-out reconstruction error is {mse:.4f}; "
                             f"expected below {TRAINED_AE16_MAX_MSE} (an untrained network scores "
                             "about 0.18). Check the loss, that you call optimizer.step() and "
                             "zero the gradients (optimizer.zero_grad()) at every step, and the "
                             "learning rate.")
