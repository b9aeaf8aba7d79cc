"""Checks for chapter 01 (latent spaces): PCA, an autoencoder, interpolation."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gencourse.data import load_digits
from gencourse.exercises.feedback import (
    ExerciseFailed, call, exercise, expect_close, expect_tensor, matches,
)
from gencourse.models.autoencoder import Autoencoder, AutoencoderConfig, reconstruction_mse
from gencourse.models.pca import PCA

# Held-out per-pixel MSE that a 16-D autoencoder reaches after TRAIN_STEPS correct
# Adam steps: 0.009 with the solution (lr 3e-3, batch 128; three seeds), 0.011 with
# lr 1e-3. An untrained one sits near 0.18, 300 steps near 0.020, 500 steps 0.014-0.016,
# one fixed batch of 128 near 0.037.
TRAIN_STEPS = 1500
TRAINED_AE16_MAX_MSE = 0.014


def _data(n: int = 200) -> torch.Tensor:
    return load_digits(flatten=True).x_train[:n]



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
        xc = (x - x.mean(0)).double()
        variances = ((xc @ comps.T) ** 2).mean(0)           # variance along each given row
        top = ((xc @ ref.components.double().T) ** 2).mean(0)
        _, _, vt_raw = torch.linalg.svd(x.double(), full_matrices=False)
        if bool(((comps * vt_raw[:k]).sum(dim=1).abs() > 0.99).all()):
            raise ExerciseFailed("these are the directions of the uncentred data (the first "
                                 "one points at the mean image): subtract the mean from x "
                                 "before the SVD")
        in_top = (comps @ ref.components.double().T).pow(2).sum(dim=1)   # 1 inside the top-k span
        if bool((in_top > 0.99).all()):
            raise ExerciseFailed("these are the top-k directions but not in order of decreasing "
                                 f"variance (variances along them: "
                                 f"{[round(float(v), 3) for v in variances]}): torch.linalg.eigh "
                                 "sorts eigenvalues in ascending order, so reverse its columns; "
                                 "the SVD already sorts singular values in descending order")
        # Rows that are eigenvectors of the covariance, all of small variance: eigh's first k.
        cov = xc.T @ xc / len(xc)
        residual = (comps @ cov - variances[:, None] * comps).norm(dim=1).max()
        if float(residual) < 1e-3 * float(top[0]) and float(variances.max()) < 0.5 * float(top[-1]):
            raise ExerciseFailed("these are directions of small variance (the largest variance "
                                 f"along them is {float(variances.max()):.2g}, against "
                                 f"{float(top[0]):.2g} along the first principal direction): "
                                 "torch.linalg.eigh sorts eigenvalues in ascending order, so the "
                                 "largest-variance directions are its last columns — take those, "
                                 "largest first (or use the first k rows of Vᵀ from the SVD)")
        first = int((cos <= 0.99).nonzero()[0])
        raise ExerciseFailed(f"component {first} is not the direction of the "
                             f"{first + 1}-th largest variance (|cos| with it is "
                             f"{float(cos[first]):.3f}): take the first k rows of Vᵀ from the "
                             "SVD of the centred data (rows, not columns)")


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
        if matches(got, wrong, atol=1e-4):
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
        if matches(got, (1 - wrong_alphas) * z_a + wrong_alphas * z_b, atol=1e-5):
            raise ExerciseFailed(message)
    expect_tensor("interpolate(z_a, z_b, 5)", got, expected, atol=1e-5)


@exercise("01.6", "training the autoencoder")
def check_train(train) -> None:
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(latent_dim=16))
    digits = load_digits(flatten=True)
    before = [p.detach().clone() for p in model.parameters()]
    # Watch the encoder's first layer: how many forward passes build a graph (one per
    # optimiser step at least) and which training images they see.
    key = torch.randn(64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    passes, seen = [0], []

    def watch(_module, inputs):
        if torch.is_grad_enabled():
            passes[0] += 1
            seen.append((inputs[0].detach().double().cpu() @ key).round(decimals=6))

    hook = model.encoder[0].register_forward_pre_hook(watch)
    try:
        call(train, model, digits.x_train, TRAIN_STEPS,
             what=f"train(model, x_train, {TRAIN_STEPS})")
    finally:
        hook.remove()
    model.eval()
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise ExerciseFailed("after training, the model's parameters contain NaN or inf: the loss "
                             "diverged; check the loss and lower the learning rate")
    if all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters())):
        raise ExerciseFailed("train did not change the model's parameters: call loss.backward() "
                             "and optimizer.step() at every step, with an optimizer built on "
                             "model.parameters()")
    if passes[0] < TRAIN_STEPS:
        raise ExerciseFailed(f"train(model, x_train, n_steps={TRAIN_STEPS}) ran only "
                             f"{passes[0]} forward passes with gradients: take n_steps optimiser "
                             "steps (one minibatch, loss, backward and step per iteration), "
                             "not a fixed number of your own")
    n_distinct = len(torch.unique((digits.x_train.double() @ key).round(decimals=6)))
    n_seen = len(torch.unique(torch.cat(seen)))
    if n_seen < 0.5 * n_distinct:
        raise ExerciseFailed(f"training saw only {n_seen} of the {n_distinct} distinct training "
                             "images: draw a new minibatch at every step (for example with "
                             "gencourse.train.minibatches), not one fixed batch")
    mse = reconstruction_mse(model, digits.x_test)
    if not mse < TRAINED_AE16_MAX_MSE:
        raise ExerciseFailed(f"after training, the held-out reconstruction error is {mse:.4f}; "
                             f"expected below {TRAINED_AE16_MAX_MSE} (an untrained network scores "
                             "about 0.18). Check the loss, that you call optimizer.step() and "
                             "zero the gradients (optimizer.zero_grad()) at every step, and the "
                             "learning rate.")
