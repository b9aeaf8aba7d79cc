import math

import pytest
import torch

from gencourse.data import load_digits
from gencourse.models.vae import (
    VAE, VAEConfig, binomial_log_likelihood, elbo, gaussian_kl, importance_weighted_bound,
    log_marginal_by_quadrature, log_normal, reparameterise, sample, train_vae,
)


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(7), torch.ones(7))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected, atol=1e-5)
    assert torch.allclose(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))


def test_log_normal_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = (torch.randn(4, 3, generator=g) for _ in range(3))
    expected = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    assert torch.allclose(log_normal(z, mu, logvar), expected, atol=1e-5)


def test_binomial_likelihood_matches_torch_and_bernoulli_is_n_1():
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 17, (6, 64), generator=g).float() / 16
    logits = torch.randn(6, 64, generator=g) * 3
    expected = torch.distributions.Binomial(16, logits=logits).log_prob(x * 16).sum(1)
    assert torch.allclose(binomial_log_likelihood(x, logits, 16), expected, atol=1e-3)
    bits = (torch.rand(6, 64, generator=g) > 0.5).float()
    bernoulli = torch.distributions.Bernoulli(logits=logits).log_prob(bits).sum(1)
    assert torch.allclose(binomial_log_likelihood(bits, logits, 1), bernoulli, atol=1e-4)


def test_binomial_likelihood_is_a_normalised_distribution():
    # Summing p(k) over the 17 possible values of one pixel gives 1.
    logits = torch.tensor([[-1.3]]).repeat(17, 1)
    values = torch.arange(17.0)[:, None] / 16
    total = binomial_log_likelihood(values, logits, 16).exp().sum()
    assert abs(float(total) - 1.0) < 1e-5


def test_binomial_likelihood_rejects_values_that_are_not_grey_levels():
    with pytest.raises(ValueError, match="multiples of 1/16"):
        binomial_log_likelihood(torch.full((2, 64), 0.3), torch.zeros(2, 64), 16)


def test_reparameterised_samples_have_the_right_moments_and_gradients():
    mu = torch.tensor([2.0, -1.0], requires_grad=True)
    logvar = torch.tensor([math.log(0.25), math.log(4.0)], requires_grad=True)
    z = reparameterise(mu.expand(50_000, 2), logvar.expand(50_000, 2), torch.Generator().manual_seed(3))
    assert torch.allclose(z.mean(0), mu.detach(), atol=0.03)
    assert torch.allclose(z.std(0), torch.tensor([0.5, 2.0]), atol=0.03)
    z.mean(0).sum().backward()
    assert torch.allclose(mu.grad, torch.ones(2))


def test_shapes_plain_and_conditional():
    plain = VAE(VAEConfig(latent_dim=3, hidden_dim=16))
    with torch.no_grad():
        mu, logvar = plain.encode(torch.rand(5, 1, 8, 8))
        images = plain.decode(mu)
    assert mu.shape == logvar.shape == (5, 3)
    assert images.shape == (5, 64)
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    cond = VAE(VAEConfig(latent_dim=3, hidden_dim=16, n_classes=10))
    y = torch.arange(5)
    assert cond(torch.rand(5, 64), y).shape == (5, 64)
    strings = VAE(VAEConfig(input_dim=12, latent_dim=2, hidden_dim=8, likelihood="categorical", categories=4))
    probs = strings.decode(torch.zeros(3, 2)).reshape(3, 3, 4)
    assert torch.allclose(probs.sum(-1), torch.ones(3, 3))


def test_errors_say_what_is_wrong():
    vae = VAE(VAEConfig(latent_dim=4, hidden_dim=16))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 4\)"):
        vae.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="expects input_dim=64"):
        vae.encode(torch.zeros(2, 50))
    with pytest.raises(ValueError, match="not conditional"):
        vae.encode(torch.zeros(2, 64), torch.zeros(2, dtype=torch.long))
    cond = VAE(VAEConfig(latent_dim=4, hidden_dim=16, n_classes=10))
    with pytest.raises(ValueError, match="pass class labels"):
        cond.encode(torch.zeros(2, 64))
    with pytest.raises(ValueError, match=r"labels must lie in 0..9"):
        cond.encode(torch.zeros(2, 64), torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="must have the same shape"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="unknown likelihood"):
        VAE(VAEConfig(likelihood="gaussian"))
    with pytest.raises(ValueError, match="multiple of categories"):
        VAE(VAEConfig(input_dim=10, likelihood="categorical", categories=3))
    with pytest.raises(ValueError, match="positive int"):
        importance_weighted_bound(vae, torch.zeros(2, 64), k=0)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    digits = load_digits()
    vae = VAE(VAEConfig(latent_dim=4, hidden_dim=64))
    train_vae(vae, digits.x_train, steps=400, progress=False, plot=False)
    return vae, digits


def test_training_raises_the_held_out_elbo(trained):
    vae, digits = trained
    fresh = VAE(VAEConfig(latent_dim=4, hidden_dim=64))
    with torch.no_grad():
        before = elbo(fresh, digits.x_test).elbo.mean()
        after = elbo(vae, digits.x_test).elbo.mean()
    assert after > before + 200


def test_importance_weighted_bound_is_above_the_elbo_and_grows_with_k(trained):
    vae, digits = trained
    x = digits.x_test[:100]
    with torch.no_grad():
        elbos = torch.stack([elbo(vae, x, generator=torch.Generator().manual_seed(s)).elbo.mean()
                             for s in range(20)])
    bounds = [float(importance_weighted_bound(vae, x, k=k, seed=1).mean()) for k in (1, 10, 100)]
    assert abs(bounds[0] - float(elbos.mean())) < 1.5      # L_1 is the ELBO
    assert bounds[0] < bounds[1] < bounds[2]
    assert bounds[2] > float(elbos.mean())


def test_chunking_does_not_change_the_bound(trained):
    vae, digits = trained
    x = digits.x_test[:30]
    whole = importance_weighted_bound(vae, x, k=50, seed=4)
    pieces = importance_weighted_bound(vae, x, k=50, seed=4, chunk=200)
    assert whole.shape == (30,)
    assert torch.isfinite(pieces).all()
    assert abs(float(whole.mean()) - float(pieces.mean())) < 1.0


def test_beta_trades_rate_for_distortion():
    digits = load_digits()
    rates = []
    for beta in (0.3, 3.0):
        torch.manual_seed(0)
        vae = VAE(VAEConfig(latent_dim=4, hidden_dim=64))
        train_vae(vae, digits.x_train, steps=300, beta=beta, progress=False, plot=False)
        with torch.no_grad():
            rates.append(float(elbo(vae, digits.x_test).kl.mean()))
    assert rates[0] > rates[1] + 3


def test_sample_is_repeatable_and_conditional_sampling_uses_labels():
    cond = VAE(VAEConfig(latent_dim=3, hidden_dim=16, n_classes=10))
    labels = torch.arange(10)
    a, b = sample(cond, 10, labels, seed=5), sample(cond, 10, labels, seed=5)
    assert torch.equal(a, b) and a.shape == (10, 64)
    with pytest.raises(ValueError, match="pass class labels"):
        sample(cond, 10)


def test_snapshots_are_called_at_the_requested_steps():
    seen = []
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    train_vae(vae, torch.rand(64, 64).mul(16).round().div(16), steps=30, progress=False, plot=False,
              snapshots=(10, 30), on_snapshot=seen.append)
    assert seen == [10, 30]


def test_log_likelihood_rejects_logits_of_the_wrong_shape():
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    with pytest.raises(ValueError, match=r"logits \(3, 63\) and x \(3, 64\)"):
        vae.log_likelihood(torch.zeros(3, 64), torch.zeros(3, 63))


def test_log_likelihood_broadcasts_over_leading_dimensions_of_the_logits():
    g = torch.Generator().manual_seed(6)
    for config in (VAEConfig(latent_dim=2, hidden_dim=8),
                   VAEConfig(input_dim=12, latent_dim=2, hidden_dim=8, likelihood="categorical", categories=4)):
        vae = VAE(config)
        if config.likelihood == "binomial":
            x = torch.randint(0, 17, (5, 64), generator=g).float() / 16
        else:
            x = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 3), generator=g), 4).float().reshape(5, 12)
        logits = torch.randn(7, 5, config.input_dim, generator=g)
        together = vae.log_likelihood(x, logits)
        assert together.shape == (7, 5)
        one_by_one = torch.stack([vae.log_likelihood(x, l) for l in logits])
        assert torch.allclose(together, one_by_one, atol=1e-5)


def test_training_and_the_bound_reject_data_the_likelihood_cannot_score():
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    bad = torch.full((4, 64), 0.3)
    with pytest.raises(ValueError, match="multiples of 1/16"):
        train_vae(vae, bad, steps=2, progress=False, plot=False)
    with pytest.raises(ValueError, match="multiples of 1/16"):
        importance_weighted_bound(vae, bad, k=2)


def test_quadrature_is_exact_when_the_decoder_ignores_the_code():
    # With the code cut off, p(x|z) is the same for every z, so log p(x) = log p(x|z) exactly.
    for config in (VAEConfig(latent_dim=2, hidden_dim=8),
                   VAEConfig(input_dim=12, latent_dim=1, hidden_dim=8, likelihood="categorical", categories=4)):
        torch.manual_seed(7)
        vae = VAE(config)
        with torch.no_grad():
            vae.decoder[0].weight.zero_()
        if config.likelihood == "binomial":
            x = torch.randint(0, 17, (5, 64), generator=torch.Generator().manual_seed(8)).float() / 16
        else:
            x = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 3)), 4).float().reshape(5, 12)
        exact = vae.log_likelihood(x, vae.decode_logits(torch.zeros(5, config.latent_dim)))
        assert torch.allclose(log_marginal_by_quadrature(vae, x, points=101), exact, atol=1e-3)


def test_quadrature_does_not_depend_on_the_grid_or_the_chunks_and_refuses_large_codes():
    torch.manual_seed(9)
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=16))
    x = load_digits().x_test[:20]
    fine = log_marginal_by_quadrature(vae, x, points=201)
    assert torch.allclose(log_marginal_by_quadrature(vae, x, points=151, chunk=1000), fine, atol=1e-2)
    with pytest.raises(ValueError, match="latent_dim 1 or 2, not 4"):
        log_marginal_by_quadrature(VAE(VAEConfig(latent_dim=4, hidden_dim=8)), x)


def test_importance_weighted_bounds_rise_with_k_and_stay_below_the_exact_log_likelihood():
    # Ground truth for a trained 2-D VAE: log p(x) by quadrature. E[L_k] ≤ log p(x) for every k
    # (Burda et al., 2015); the L_k of 60 digits averaged must respect it up to Monte-Carlo noise.
    # A bound that forgets the −log k of the average overshoots log p(x) by nats at k = 1000.
    digits = load_digits()
    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=64))
    train_vae(vae, digits.x_train, steps=400, progress=False, plot=False)
    x = digits.x_test[:60]
    exact = float(log_marginal_by_quadrature(vae, x, points=201).mean())
    bounds = [float(importance_weighted_bound(vae, x, k=k, seed=2).mean()) for k in (1, 10, 100, 1000)]
    assert all(b > a for a, b in zip(bounds, bounds[1:])), bounds
    assert bounds[-1] <= exact + 0.25, f"L_1000 = {bounds[-1]:.2f} exceeds log p(x) = {exact:.2f}"
    assert exact - bounds[-1] < 4.0, f"L_1000 = {bounds[-1]:.2f} should approach log p(x) = {exact:.2f}"


# ---------------------------------------------------------------------- independent oracles
def _independent_bound(model, x, y, k, seed):
    """L_k recomputed with torch.distributions from the noise importance_weighted_bound draws:
    ε (k, N, d) from one generator seeded with ``seed``, z = μ + σ ε; each of the k codes is
    decoded with the images' own labels, one sample at a time (no repeat of the labels)."""
    with torch.no_grad():
        mu, logvar = model.encode(x, y)
        eps = torch.randn((k, *mu.shape), generator=torch.Generator().manual_seed(seed))
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        z = mu + q.scale * eps                                                        # (k, N, d)
        prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        log_px = torch.stack([torch.distributions.Binomial(16, logits=model.decode_logits(z_i, y))
                              .log_prob(x.reshape(len(x), -1) * 16).sum(-1) for z_i in z])
        log_w = log_px + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
        return torch.logsumexp(log_w, 0) - math.log(k)


@pytest.mark.parametrize("n_classes", [0, 10])
def test_importance_weighted_bound_matches_an_independent_computation_with_the_same_noise(n_classes):
    # Different labels in one batch, k > 1: decoding k copies of the batch with the labels in the
    # wrong order (repeat_interleave instead of repeat), or a wrong log q(z|x), changes L_k.
    torch.manual_seed(11)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=32, n_classes=n_classes))
    with torch.no_grad():
        model.encoder[-1].bias[3:].fill_(-1.5)     # σ < 1: q(z|x) far from the prior, log q matters
    x = load_digits().x_test[:6]
    y = torch.tensor([0, 3, 7, 1, 9, 4]) if n_classes else None
    for k in (1, 5):
        got = importance_weighted_bound(model, x, y, k=k, seed=12)
        expected = _independent_bound(model, x, y, k, seed=12)
        assert torch.allclose(got, expected, atol=1e-3), (k, got, expected)


def test_conditional_l1_is_the_elbo_in_expectation_and_shares_its_reconstruction():
    torch.manual_seed(13)
    model = VAE(VAEConfig(latent_dim=4, hidden_dim=32, n_classes=10))
    with torch.no_grad():
        model.encoder[-1].bias[4:].fill_(-1.0)
    x = load_digits().x_test[:4].reshape(4, -1).repeat(2000, 1)      # each image 2,000 times
    y = torch.tensor([2, 5, 8, 0]).repeat(2000)
    l1 = importance_weighted_bound(model, x, y, k=1, seed=14)
    with torch.no_grad():
        terms = elbo(model, x, y, generator=torch.Generator().manual_seed(14))
        mu, logvar = model.encode(x, y)
        z = reparameterise(mu, logvar, torch.Generator().manual_seed(14))
    # Same noise: L_1 − log p(x|z) is the one-sample estimate log p(z) − log q(z|x) of −KL.
    log_ratio = (torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
                 - torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1))
    assert torch.allclose(l1 - terms.reconstruction, log_ratio, atol=1e-3)
    # In expectation over the noise, L_1 is the ELBO with its closed-form KL.
    assert abs(float(l1.mean()) - float(terms.elbo.mean())) < 0.1


def test_the_conditional_decoder_and_encoder_use_the_label():
    torch.manual_seed(15)
    model = VAE(VAEConfig(latent_dim=3, hidden_dim=16, n_classes=10))
    z, y = torch.randn(10, 3), torch.arange(10)
    with torch.no_grad():
        by_hand = model.decoder(torch.cat([z, torch.nn.functional.one_hot(y, 10).float()], 1))
        assert torch.allclose(model.decode_logits(z, y), by_hand, atol=1e-6)
        same_z = model.decode(z[:1].repeat(10, 1), y)
        assert float((same_z - same_z[:1]).abs().amax(1)[1:].min()) > 1e-3, "decoder ignores the label"
        x = torch.rand(1, 64).repeat(10, 1)
        mu, _ = model.encode(x, y)
        assert float((mu - mu[:1]).abs().amax(1)[1:].min()) > 1e-4, "encoder ignores the label"


def test_training_weights_the_kl_by_beta_during_and_after_warmup():
    # The logged loss is β·w·KL − reconstruction with w = min(1, (i+1)/warmup): both factors count.
    x = load_digits().x_train[:256]
    torch.manual_seed(16)
    model = VAE(VAEConfig(latent_dim=4, hidden_dim=16))
    with torch.no_grad():
        model.encoder[-1].bias[:4].fill_(2.0)      # μ ≈ 2: a KL of several nats, so β·w visibly matters
    beta, warmup = 0.25, 40
    history = train_vae(model, x, steps=60, beta=beta, warmup=warmup, lr=1e-4, progress=False, plot=False)
    v = history.values
    for i, loss, rec, kl in zip(history.steps, v["loss"], v["reconstruction"], v["kl"]):
        w = min(1.0, (i + 1) / warmup)
        assert kl > 2.0 and abs(loss - (beta * w * kl - rec)) < 0.01, (i, loss, rec, kl)


def test_sample_decodes_standard_normal_codes():
    model = VAE(VAEConfig(latent_dim=4, hidden_dim=8, n_classes=10))
    seen = []
    model.decode = lambda z, y=None: seen.append(y) or z       # hand back the codes themselves
    z = sample(model, 20_000, torch.arange(10).repeat(2000), seed=17)
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=0.03)
    assert torch.allclose(z.std(0), torch.ones(4), atol=0.03)
    assert torch.equal(seen[0], torch.arange(10).repeat(2000))


def test_encoder_variance_may_be_small():
    # The clamp on log σ² only guards against overflow: a confident encoder keeps σ² = e^-8.
    model = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    with torch.no_grad():
        model.encoder[-1].weight.zero_()
        model.encoder[-1].bias.copy_(torch.tensor([0.0, 0.0, -8.0, -8.0]))
        _, logvar = model.encode(torch.zeros(3, 64))
    assert torch.allclose(logvar, torch.full((3, 2), -8.0))
