"""Checks for chapter 01 (latent spaces): PCA, an autoencoder, interpolation."""
from __future__ import annotations

import torch
from torch import nn

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


@exercise("01.1", "PCA from the SVD")
def check_pca_fit(pca_fit) -> None:
    x, k = _data(), 5
    got = call(pca_fit, x, k, what="pca_fit(x, k)")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseFailed("pca_fit should return a tuple (mean, components)")
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
    expect_tensor("reconstruction", got, ref.reconstruct(x), atol=1e-4)


@exercise("01.3", "an autoencoder with a chosen code size")
def check_build_autoencoder(build_autoencoder) -> None:
    x = _data(5)
    for latent_dim in (2, 16):
        model = call(build_autoencoder, latent_dim, what=f"build_autoencoder({latent_dim})")
        if not isinstance(model, nn.Module):
            raise ExerciseFailed(f"build_autoencoder should return an nn.Module, "
                                 f"got {type(model).__name__}")
        for method in ("encode", "decode"):
            if not callable(getattr(model, method, None)):
                raise ExerciseFailed(f"the autoencoder needs a .{method}() method")
        z = call(model.encode, x, what="model.encode(x)")
        expect_tensor(f"model.encode(x) with latent_dim={latent_dim}", z, shape=(5, latent_dim))
        out = call(model.decode, z, what="model.decode(z)")
        expect_tensor("model.decode(z)", out, shape=(5, 64), low=0.0, high=1.0)


@exercise("01.4", "reconstruction error")
def check_reconstruction_error(reconstruction_error) -> None:
    torch.manual_seed(0)
    x = _data(50)
    model = nn.Sequential(nn.Linear(64, 4), nn.Linear(4, 64), nn.Sigmoid())
    got = call(reconstruction_error, model, x, what="reconstruction_error(model, x)")
    expect_close("reconstruction_error (mean squared error per pixel)", got,
                 reconstruction_mse(model, x), atol=1e-6)


@exercise("01.5", "linear interpolation between two codes")
def check_interpolate(interpolate) -> None:
    z_a, z_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([4.0, -1.0, 2.0])
    got = call(interpolate, z_a, z_b, 5, what="interpolate(z_a, z_b, 5)")
    alphas = torch.linspace(0, 1, 5)[:, None]
    expected = (1 - alphas) * z_a + alphas * z_b
    expect_tensor("interpolate(z_a, z_b, 5)", got, expected, atol=1e-5)


@exercise("01.6", "training the autoencoder")
def check_train(train) -> None:
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(latent_dim=16))
    digits = load_digits(flatten=True)
    call(train, model, digits.x_train, TRAIN_STEPS, what=f"train(model, x_train, {TRAIN_STEPS})")
    model.eval()
    mse = reconstruction_mse(model, digits.x_test)
    if not mse < TRAINED_AE16_MAX_MSE:
        raise ExerciseFailed(f"after training, the held-out reconstruction error is {mse:.4f}; "
                             f"expected below {TRAINED_AE16_MAX_MSE} (an untrained network scores "
                             "about 0.18). Check the loss, that you call optimizer.step() and "
                             "zero the gradients, and the learning rate.")
