import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SkPCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gencourse.data import load_digits, moons
from gencourse.models import PCA, Autoencoder, AutoencoderConfig, GaussianMixture, train_autoencoder
from gencourse.models.autoencoder import reconstruction_mse
from gencourse.models.mixture import gaussian_log_prob


def test_gaussian_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 3, generator=g, dtype=torch.float64)
    means = torch.randn(4, 3, generator=g, dtype=torch.float64)
    a = torch.randn(4, 3, 3, generator=g, dtype=torch.float64)
    covs = a @ a.transpose(1, 2) + torch.eye(3, dtype=torch.float64)
    expected = torch.distributions.MultivariateNormal(means, covs).log_prob(x[:, None])
    assert torch.allclose(gaussian_log_prob(x, means, covs), expected, atol=1e-10)


def test_em_matches_scikit_learn_from_the_same_start():
    x = moons().sample(600, seed=0).double()
    ours = GaussianMixture(5).fit(x, n_iter=60, tol=0.0, seed=1)
    # Rebuild our initial parameters for scikit-learn: hard assignment to 5 random points.
    init = x[torch.randperm(600, generator=torch.Generator().manual_seed(1))[:5]]
    ref0 = GaussianMixture(5)
    ref0.m_step(x, torch.nn.functional.one_hot(torch.cdist(x, init).argmin(1), 5).double())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkGaussianMixture(5, max_iter=60, tol=0.0, reg_covar=1e-6,
                               weights_init=ref0.weights.numpy(), means_init=ref0.means.numpy(),
                               precisions_init=np.linalg.inv(ref0.covs.numpy())).fit(x.numpy())
    assert np.allclose(ours.means.numpy(), sk.means_, atol=1e-6)
    assert np.allclose(ours.covs.numpy(), sk.covariances_, atol=1e-6)
    assert abs(ours.log_prob(x).mean().item() - sk.score(x.numpy())) < 1e-8


def test_em_never_lowers_the_likelihood_and_samples_follow_the_fit():
    x = moons().sample(800, seed=2).double()
    gm = GaussianMixture(6).fit(x, n_iter=100, seed=0)
    assert all(b >= a - 1e-9 for a, b in zip(gm.history, gm.history[1:]))
    samples, z = gm.sample(5000, seed=0, return_components=True)
    assert samples.shape == (5000, 2) and z.shape == (5000,)
    share = torch.bincount(z, minlength=6).double() / 5000
    assert torch.allclose(share, gm.weights, atol=0.03)
    assert gm.predict(x).shape == (800,)


def test_mixture_history_starts_at_the_initial_parameters_and_ends_at_the_fitted_ones():
    x = moons().sample(400, seed=3).double()
    n_iter = 7
    gm = GaussianMixture(4).fit(x, n_iter=n_iter, tol=0.0, seed=2)
    assert len(gm.history) == n_iter + 1
    # history[0]: the initial parameters (hard assignment to 4 random points), before any update.
    init = x[torch.randperm(400, generator=torch.Generator().manual_seed(2))[:4]]
    start = GaussianMixture(4)
    start.m_step(x, torch.nn.functional.one_hot(torch.cdist(x, init).argmin(1), 4).double())
    assert gm.history[0] == pytest.approx(start.log_prob(x).mean().item(), abs=1e-12)
    # history[t]: after t iterations; the last value is the fitted model's log-likelihood.
    for t in (1, n_iter):
        after_t = GaussianMixture(4).fit(x, n_iter=t, tol=0.0, seed=2)
        assert gm.history[t] == pytest.approx(after_t.log_prob(x).mean().item(), abs=1e-12)
    assert gm.history[-1] == pytest.approx(gm.log_prob(x).mean().item(), abs=1e-12)
    assert gm.history[1] > gm.history[0]
    # Stopping early: the last recorded change is below tol and belongs to the returned model.
    early = GaussianMixture(4).fit(x, n_iter=500, tol=1e-3, seed=2)
    assert len(early.history) < 501 and abs(early.history[-1] - early.history[-2]) < 1e-3
    assert early.history[-1] == pytest.approx(early.log_prob(x).mean().item(), abs=1e-12)


def test_mixture_errors_are_clear():
    with pytest.raises(ValueError, match="positive int"):
        GaussianMixture(0)
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianMixture(2).log_prob(torch.zeros(3, 2))
    gm = GaussianMixture(2).fit(torch.randn(50, 2))
    with pytest.raises(ValueError, match="D=3 columns but the mixture was fitted with D=2"):
        gm.log_prob(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="at least n_components"):
        GaussianMixture(10).fit(torch.randn(5, 2))


def test_pca_matches_scikit_learn():
    x = load_digits(flatten=True).x_train
    ours = PCA(10).fit(x)
    sk = SkPCA(10).fit(x.numpy())
    assert np.allclose(ours.explained_variance_ratio.numpy(), sk.explained_variance_ratio_, atol=1e-5)
    # Same directions up to sign.
    cos = (ours.components.numpy() * sk.components_).sum(1)
    assert np.allclose(np.abs(cos), 1.0, atol=1e-4)
    recon_ours = ours.reconstruct(x).numpy()
    recon_sk = sk.inverse_transform(sk.transform(x.numpy()))
    assert np.allclose(recon_ours, recon_sk, atol=1e-4)


def test_pca_errors():
    with pytest.raises(ValueError, match="allows at most 3"):
        PCA(5).fit(torch.randn(3, 10))
    with pytest.raises(RuntimeError, match="not fitted"):
        PCA(2).encode(torch.randn(3, 4))
    p = PCA(2).fit(torch.randn(20, 4))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        p.decode(torch.randn(3, 3))


def test_autoencoder_shapes_and_errors():
    model = Autoencoder(AutoencoderConfig(latent_dim=3))
    z = model.encode(torch.rand(5, 1, 8, 8))
    assert z.shape == (5, 3)
    out = model.decode(z).detach()
    assert out.shape == (5, 64) and float(out.min()) >= 0 and float(out.max()) <= 1
    with pytest.raises(ValueError, match="expects input_dim=64"):
        model.encode(torch.rand(5, 10))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        model.decode(torch.rand(5, 4))


def test_training_an_autoencoder_is_repeatable_and_learns():
    x = load_digits(flatten=True).x_train[:400]
    errors = []
    for _ in range(2):
        torch.manual_seed(0)
        model = Autoencoder(AutoencoderConfig(latent_dim=8, hidden_dim=64))
        before = reconstruction_mse(model, x)
        history = train_autoencoder(model, x, n_steps=300, seed=0, progress=False, plot=False)
        errors.append(reconstruction_mse(model, x))
        assert history.last("mse") < 0.5 * before
    assert errors[0] == errors[1]
