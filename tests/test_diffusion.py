"""The diffusion reference code: schedules, closed-form noising, samplers, guidance; Hugging Face
``diffusers`` (its DDPM and DDIM schedulers, configured the same way, no download) as the oracle."""
from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from gencourse.models.denoisers import DenoiserConfig, MLPDenoiser, time_embedding
from gencourse.models.diffusion import (
    NoiseSchedule, cosine_schedule, ddim_step, ddpm_step, drop_labels, guided_noise, linear_schedule,
    noise_prediction_loss, predict_x0, sample, sampling_steps,
)
from gencourse.models.diffusion_train import DiffusionTrainConfig, train_denoiser

diffusers = pytest.importorskip("diffusers")


# --- schedules ------------------------------------------------------------------------------------

@pytest.mark.parametrize("ours, theirs", [
    (lambda: linear_schedule(1000), dict(beta_schedule="linear")),
    (lambda: cosine_schedule(1000), dict(beta_schedule="squaredcos_cap_v2")),
    (lambda: cosine_schedule(200), dict(num_train_timesteps=200, beta_schedule="squaredcos_cap_v2")),
])
def test_schedules_match_diffusers(ours, theirs):
    mine = ours()
    ref = diffusers.DDPMScheduler(**{"num_train_timesteps": 1000, **theirs})
    torch.testing.assert_close(mine.betas, ref.betas, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(mine.alpha_bars, ref.alphas_cumprod, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("make", [linear_schedule, cosine_schedule])
def test_schedule_identities(make):
    s = make(1000)
    torch.testing.assert_close(s.alphas, 1 - s.betas)
    torch.testing.assert_close(s.alpha_bars, torch.cumprod(s.alphas.double(), 0).float())
    assert bool((s.alpha_bars[1:] < s.alpha_bars[:-1]).all()), "the signal must fade at every step"
    assert bool((s.snr()[1:] < s.snr()[:-1]).all())
    assert float(s.alpha_bars[-1]) < 1e-4, "x_{T-1} must be (nearly) pure noise"
    assert float(s.alpha_bars[0]) > 0.999, "x_0 must be (nearly) the data"


def test_linear_schedule_scales_its_range_with_the_chain_length():
    short = linear_schedule(200)
    torch.testing.assert_close(short.betas[[0, -1]], torch.tensor([5e-4, 0.1]))
    assert float(short.alpha_bars[-1]) < 1e-4, "a 200-step linear chain must still end in noise"
    torch.testing.assert_close(linear_schedule(200, 1e-4, 0.02).betas[-1], torch.tensor(0.02))
    with pytest.raises(ValueError, match="beta_start < beta_end"):
        linear_schedule(10)            # the scaled end, 2.0, is not a variance per step


def test_cosine_schedule_keeps_signal_longer_than_linear():
    """The point of the cosine schedule: at mid-chain the linear one has destroyed far more signal."""
    lin, cos = linear_schedule(1000), cosine_schedule(1000)
    assert float(cos.alpha_bars[500]) > 3 * float(lin.alpha_bars[500])


def test_closed_form_matches_iterated_noising_in_distribution():
    """q(x_t | x_0) by the closed form vs by t single steps: same Gaussian (KS test and moments)."""
    s = linear_schedule(1000)
    x0 = torch.tensor([1.5, -0.5, 0.0]).repeat(20_000, 1)
    g = torch.Generator().manual_seed(0)
    x = x0.clone()
    for t in range(300):
        x = (1 - s.betas[t]).sqrt() * x + s.betas[t].sqrt() * torch.randn(x.shape, generator=g)
    a = float(s.alpha_bars[299])
    closed = s.q_sample(x0, 299, torch.randn(x0.shape, generator=g))
    for j, m in enumerate([1.5, -0.5, 0.0]):
        mean, std = math.sqrt(a) * m, math.sqrt(1 - a)
        for values in (x[:, j], closed[:, j]):
            assert abs(float(values.mean()) - mean) < 0.02 and abs(float(values.std()) - std) < 0.02
            assert stats.kstest(values.numpy(), "norm", args=(mean, std)).pvalue > 1e-3
        assert stats.ks_2samp(x[:, j].numpy(), closed[:, j].numpy()).pvalue > 1e-3


def test_closed_form_rejects_bad_steps():
    s = linear_schedule(100)
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="0..99"):
        s.q_sample(x, torch.tensor([0, 1, 2, 100]), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="integers"):
        s.q_sample(x, torch.tensor([0.5] * 4), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="shape of x0"):
        s.q_sample(x, 3, torch.zeros(4, 3))


@pytest.mark.parametrize("bad", [torch.tensor([0.1]), torch.tensor([0.1, 1.0]), torch.tensor([[0.1, 0.2]])])
def test_schedule_rejects_bad_betas(bad):
    with pytest.raises(ValueError):
        NoiseSchedule(bad)


@pytest.mark.parametrize("steps", [1, 0, 2.5, True])
def test_schedule_rejects_bad_step_counts(steps):
    with pytest.raises(ValueError, match="steps"):
        linear_schedule(steps)


# --- one step, against diffusers ------------------------------------------------------------------

@pytest.mark.parametrize("clip", [None, 1.0])
@pytest.mark.parametrize("t", [999, 500, 37, 1, 0])
def test_ddpm_step_matches_diffusers(t, clip):
    s = linear_schedule(1000)
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=clip is not None)
    g = torch.Generator().manual_seed(t)
    x, eps = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    theirs = ref.step(eps, t, x, generator=torch.Generator().manual_seed(1)).prev_sample
    mine = ddpm_step(s, x, t, eps, generator=torch.Generator().manual_seed(1), clip=clip)
    # diffusers recovers β_t as 1 - ᾱ_t/ᾱ_{t-1} in float32; at t = 1 (β ≈ 1e-4) that ratio carries a
    # relative error near 1e-3, so the tolerance there is wider.
    tol = 2e-3 if t == 1 else 1e-5
    torch.testing.assert_close(mine, theirs, atol=tol, rtol=tol)


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("schedule, name", [(linear_schedule, "linear"), (cosine_schedule, "squaredcos_cap_v2")])
def test_ddim_steps_match_diffusers(schedule, name, eta):
    s = schedule(1000)
    ref = diffusers.DDIMScheduler(num_train_timesteps=1000, beta_schedule=name, clip_sample=False,
                                  timestep_spacing="trailing")
    ref.set_timesteps(50)
    times = sampling_steps(1000, 50)
    assert times == ref.timesteps.tolist()
    g = torch.Generator().manual_seed(0)
    for i, t in enumerate(times):
        x, eps = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
        t_prev = times[i + 1] if i + 1 < len(times) else -1
        theirs = ref.step(eps, t, x, eta=eta, generator=torch.Generator().manual_seed(i)).prev_sample
        mine = ddim_step(s, x, t, t_prev, eps, eta=eta, generator=torch.Generator().manual_seed(i))
        torch.testing.assert_close(mine, theirs, atol=2e-5, rtol=1e-4)


def test_clipped_ddim_step_matches_diffusers_with_the_clipped_noise():
    """With x̂_0 clamped, our DDIM step re-derives ε̂ from the clamped x̂_0, which diffusers does with
    use_clipped_model_output=True (its default keeps the unclamped ε̂)."""
    s = cosine_schedule(200)
    ref = diffusers.DDIMScheduler(num_train_timesteps=200, beta_schedule="squaredcos_cap_v2", clip_sample=True,
                                  timestep_spacing="trailing")
    ref.set_timesteps(20)
    g = torch.Generator().manual_seed(0)
    x, eps = 3 * torch.randn(64, 8, generator=g), torch.randn(64, 8, generator=g)   # large: clamping acts
    theirs = ref.step(eps, 99, x, use_clipped_model_output=True).prev_sample
    torch.testing.assert_close(ddim_step(s, x, 99, 89, eps, clip=1.0), theirs, atol=2e-5, rtol=1e-4)
    assert not torch.allclose(ddim_step(s, x, 99, 89, eps, clip=1.0), ref.step(eps, 99, x).prev_sample, atol=1e-3)


def test_ddpm_step_at_zero_returns_the_clean_estimate():
    s = cosine_schedule(100)
    x, eps = torch.randn(3, 2), torch.randn(3, 2)
    torch.testing.assert_close(ddpm_step(s, x, 0, eps), predict_x0(s, x, 0, eps))


@pytest.mark.parametrize("kwargs, match", [
    (dict(t=10, t_prev=10), "t_prev"), (dict(t=10, t_prev=-2), "t_prev"), (dict(t=10, t_prev=3, eta=1.5), "eta"),
    (dict(t=100, t_prev=3), "0..99"),
])
def test_ddim_step_rejects_bad_arguments(kwargs, match):
    s = cosine_schedule(100)
    with pytest.raises(ValueError, match=match):
        ddim_step(s, torch.zeros(2, 2), eps=torch.zeros(2, 2), **kwargs)


def test_sampling_steps():
    assert sampling_steps(10, 10) == list(range(9, -1, -1))
    assert sampling_steps(200, 4) == [199, 149, 99, 49]
    for bad in (0, 201, 2.0):
        with pytest.raises(ValueError, match="sampling steps"):
            sampling_steps(200, bad)


# --- samplers with the exact denoiser of a Gaussian -------------------------------------------------

def gaussian_denoiser(schedule: NoiseSchedule, mean: float, std: float):
    """The optimal ε̂ for data N(mean, std²): E[ε | x_t] = √(1-ᾱ) (x_t - √ᾱ mean) / (ᾱ std² + 1 - ᾱ)."""
    def model(x, t, labels=None):
        a = schedule.alpha_bars[t].reshape(-1, *([1] * (x.ndim - 1)))
        return (1 - a).sqrt() * (x - a.sqrt() * mean) / (a * std ** 2 + 1 - a)
    return model


@pytest.mark.parametrize("method, steps", [("ddpm", None), ("ddim", 200)])
def test_samplers_recover_a_gaussian_with_its_exact_denoiser(method, steps):
    """An independent oracle for the whole chain: with the true ε̂ of N(2, 0.5²), both samplers
    must return that distribution (a sign error or a wrong coefficient moves the mean or the width)."""
    s = cosine_schedule(200)
    x = sample(gaussian_denoiser(s, 2.0, 0.5), s, (20_000, 1), method=method, steps=steps,
               generator=torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 1)
    assert abs(float(x.mean()) - 2.0) < 0.02
    assert abs(float(x.std()) - 0.5) < 0.02


def test_ddim_with_few_steps_narrows_the_distribution_and_converges_with_more():
    """DDIM's deterministic update is exact only in the limit of many steps: on a Gaussian with the
    exact denoiser, 5 and 20 steps give samples that are too narrow, and the error shrinks."""
    s = cosine_schedule(200)
    stds = [float(sample(gaussian_denoiser(s, 2.0, 0.5), s, (20_000, 1), method="ddim", steps=n,
                         generator=torch.Generator().manual_seed(0)).std()) for n in (5, 20, 50, 200)]
    errors = [abs(v - 0.5) for v in stds]
    assert errors == sorted(errors, reverse=True) and errors[0] > 0.1 and errors[-1] < 0.01, stds


def test_sample_keeps_the_asked_steps_and_checks_its_arguments():
    s = cosine_schedule(50)
    model = gaussian_denoiser(s, 0.0, 1.0)
    x, kept = sample(model, s, (8, 3), method="ddim", steps=10, keep=(49, 4), generator=torch.Generator().manual_seed(0))
    assert x.shape == (8, 3) and set(kept) == {49, 4} and kept[49].shape == (8, 3)
    with pytest.raises(ValueError, match="ancestral"):
        sample(model, s, (8, 3), method="ddpm", steps=10)
    with pytest.raises(ValueError, match="method"):
        sample(model, s, (8, 3), method="euler")
    with pytest.raises(ValueError, match="sampling steps"):
        sample(model, s, (8, 3), method="ddim", steps=0)
    with pytest.raises(ValueError, match="one label per sample"):
        sample(model, s, (8, 3), labels=torch.zeros(3, dtype=torch.long), guidance=2.0, null_label=10)


# --- guidance --------------------------------------------------------------------------------------

def test_guidance_mixes_the_two_predictions():
    calls = []

    def model(x, t, labels):
        calls.append(len(x))
        return labels.float()[:, None].expand_as(x) + 0 * x     # ε̂ = the label: cond 3, uncond 10

    x, t, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.full((4,), 3)
    torch.testing.assert_close(guided_noise(model, x, t, y, 1.0, 10), torch.full((4, 2), 3.0))
    torch.testing.assert_close(guided_noise(model, x, t, y, 0.0, 10), torch.full((4, 2), 10.0))
    torch.testing.assert_close(guided_noise(model, x, t, y, 3.0, 10), torch.full((4, 2), 10 + 3 * (3 - 10.0)))
    assert calls == [4, 8, 8], "scale 1 calls the model once; guidance batches both predictions in one call"
    for bad in (-1.0, float("nan"), float("inf"), "2"):
        with pytest.raises(ValueError, match="guidance scale"):
            guided_noise(model, x, t, y, bad, 10)
    with pytest.raises(ValueError, match="null label"):
        guided_noise(model, x, t, y, 2.0, None)


def test_drop_labels_rate():
    y = torch.zeros(20_000, dtype=torch.long)
    dropped = drop_labels(y, 10, 0.1, torch.Generator().manual_seed(0))
    assert abs(float((dropped == 10).float().mean()) - 0.1) < 0.01
    assert set(dropped.unique().tolist()) == {0, 10}
    with pytest.raises(ValueError):
        drop_labels(y, 10, 1.5)


# --- networks and training -------------------------------------------------------------------------

def test_time_embedding_and_denoiser_shapes():
    e = time_embedding(torch.tensor([0, 5, 199]), 16)
    assert e.shape == (3, 16)
    torch.testing.assert_close(e[0], torch.cat([torch.ones(8), torch.zeros(8)]))
    m = MLPDenoiser(DenoiserConfig(dim=64, hidden=32, blocks=2, n_classes=10))
    x = torch.randn(5, 1, 8, 8)
    assert m(x, torch.zeros(5, dtype=torch.long), torch.arange(5)).shape == x.shape
    assert m.null_label == 10
    with pytest.raises(ValueError, match="64 values"):
        m(torch.randn(5, 10), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="unconditional"):
        MLPDenoiser(DenoiserConfig(dim=2))(torch.randn(2, 2), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long))


def test_training_learns_a_two_mode_distribution():
    """A short run on ±1 (std 0.1) must put its samples near both modes, evenly; the untrained
    network (ε̂ = 0 at start) must not."""
    torch.manual_seed(0)
    s = cosine_schedule(100)
    x = torch.cat([torch.full((2000, 1), -1.0), torch.full((2000, 1), 1.0)]) + 0.1 * torch.randn(4000, 1)
    model = MLPDenoiser(DenoiserConfig(dim=1, hidden=64, blocks=2))

    def near_modes(m):
        out = sample(m, s, (2000, 1), generator=torch.Generator().manual_seed(1))
        return float(((out.abs() - 1).abs() < 0.3).float().mean()), float((out > 0).float().mean())

    untrained_near, _ = near_modes(model)
    ema, history = train_denoiser(model, x, s, DiffusionTrainConfig(steps=1000, batch_size=128, lr=3e-3), seed=0)
    near, right = near_modes(ema)
    assert untrained_near < 0.5
    assert near > 0.9 and 0.4 < right < 0.6, (near, right)
    assert history.values["loss"][-1] < history.values["loss"][0]


def test_loss_is_the_noise_mse():
    s = cosine_schedule(50)
    zero = lambda x, t, y: torch.zeros_like(x)       # noqa: E731 - predicts no noise at all
    loss = noise_prediction_loss(zero, torch.randn(20_000, 2), s, generator=torch.Generator().manual_seed(0))
    assert abs(float(loss) - 1.0) < 0.02, "predicting 0 must cost E‖ε‖² per entry = 1"


def test_train_denoiser_rejects_labels_for_an_unconditional_model():
    with pytest.raises(ValueError, match="null label"):
        train_denoiser(MLPDenoiser(DenoiserConfig(dim=2)), torch.randn(10, 2), cosine_schedule(10),
                       DiffusionTrainConfig(steps=1), labels=torch.zeros(10, dtype=torch.long))


# --- added after the chapter's review: checks that a one-line slip in the loop would fail ----------

def test_closed_form_equals_diffusers_add_noise():
    s = cosine_schedule(200)
    ref = diffusers.DDPMScheduler(num_train_timesteps=200, beta_schedule="squaredcos_cap_v2")
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(16, 5, generator=g), torch.randn(16, 5, generator=g)
    t = torch.randint(200, (16,), generator=g)
    torch.testing.assert_close(s.q_sample(x0, t, noise), ref.add_noise(x0, noise, t), atol=1e-6, rtol=1e-5)


def test_loss_feeds_the_model_the_noised_input_its_step_and_its_labels():
    s = cosine_schedule(50)
    seen = {}

    def recording(x_t, t, labels):
        seen.update(x_t=x_t.clone(), t=t.clone(), labels=labels)
        return torch.zeros_like(x_t)

    x0, labels = torch.randn(64, 3), torch.arange(64) % 10
    loss = noise_prediction_loss(recording, x0, s, labels, generator=torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)                   # the loss draws t, then the noise
    t = torch.randint(50, (64,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    assert torch.equal(seen["t"], t) and seen["labels"] is labels
    torch.testing.assert_close(seen["x_t"], s.q_sample(x0, t, noise))
    torch.testing.assert_close(loss, (noise ** 2).mean())


def test_sample_passes_labels_and_starts_from_the_seeded_noise():
    s = cosine_schedule(20)
    calls = []

    def recording(x, t, labels):
        calls.append(labels)
        return torch.zeros_like(x)

    y = torch.tensor([3, 7])
    _, kept = sample(recording, s, (2, 4), method="ddim", steps=5, labels=y, guidance=1.0, null_label=10,
                     keep=(19,), generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(c, y) for c in calls) and len(calls) == 5
    torch.testing.assert_close(kept[19], torch.randn((2, 4), generator=torch.Generator().manual_seed(3)))


def test_ddim_with_eta_one_recovers_a_gaussian():
    s = cosine_schedule(200)
    x = sample(gaussian_denoiser(s, 2.0, 0.5), s, (20_000, 1), method="ddim", steps=200, eta=1.0,
               generator=torch.Generator().manual_seed(0))
    assert abs(float(x.mean()) - 2.0) < 0.02 and abs(float(x.std()) - 0.5) < 0.02


def test_the_first_step_of_the_cosine_chain_amplifies_noise_errors():
    """Why the digit samplers clamp x̂_0: at t = T-1 an error δ in ε̂ moves x̂_0 by δ √((1-ᾱ)/ᾱ)."""
    s = cosine_schedule(200)
    x = torch.zeros(1, 1)
    shift = predict_x0(s, x, 199, torch.full((1, 1), 1e-3)) - predict_x0(s, x, 199, torch.zeros(1, 1))
    assert abs(float(shift)) > 3.0, "an ε̂ error of 0.001 must move x̂_0 by several units at the last step"
    assert abs(float(predict_x0(s, x, 100, torch.full((1, 1), 1e-3)))) < 2e-3


def test_ema_update_by_hand_and_after_training():
    from gencourse.models.diffusion_train import update_ema
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = [p.clone() for p in a.parameters()]
    update_ema(a, b, 0.9)
    for e, old, p in zip(a.parameters(), before, b.parameters()):
        torch.testing.assert_close(e, 0.9 * old + 0.1 * p)
    model = MLPDenoiser(DenoiserConfig(dim=1, hidden=16, blocks=1))
    ema, _ = train_denoiser(model, torch.randn(256, 1), cosine_schedule(20), DiffusionTrainConfig(steps=50, batch_size=32),
                            seed=0)
    assert ema is not model and not ema.training
    assert any(not torch.equal(e, p) for e, p in zip(ema.parameters(), model.parameters())), \
        "the returned model must be the moving average, not the last iterate"


def test_a_conditional_denoiser_follows_its_labels_and_guidance_sharpens_them():
    """Label 0 -> the mode at -1, label 1 -> +1. A denoiser that ignored its labels (or a sampler that
    dropped them) would put half of each label's samples on the wrong mode."""
    torch.manual_seed(0)
    s = cosine_schedule(50)
    y = torch.arange(2).repeat(1000)
    x = (2.0 * y - 1).float()[:, None] + 0.1 * torch.randn(2000, 1)
    model = MLPDenoiser(DenoiserConfig(dim=1, hidden=64, blocks=2, n_classes=2))
    ema, _ = train_denoiser(model, x, s, DiffusionTrainConfig(steps=800, batch_size=128, lr=3e-3), labels=y, seed=0)
    asked = torch.arange(2).repeat(500)
    right = {}
    for scale in (0.0, 1.0, 3.0):
        out = sample(ema, s, (1000, 1), labels=asked, guidance=scale, null_label=2,
                     generator=torch.Generator().manual_seed(1))
        right[scale] = float(((out[:, 0] > 0).long() == asked).float().mean())
    assert right[0.0] < 0.65, "without guidance the labels must not matter"
    assert right[1.0] > 0.9 and right[3.0] >= right[1.0]


def test_ancestral_sampler_visits_every_step_once_from_the_top():
    s = cosine_schedule(30)
    seen = []

    def recording(x, t, labels):
        seen.append(int(t[0]))
        return torch.zeros_like(x)

    sample(recording, s, (2, 1), generator=torch.Generator().manual_seed(0))
    assert seen == list(range(29, -1, -1))


def test_snr_by_hand():
    s = cosine_schedule(10)
    torch.testing.assert_close(s.snr(), s.alpha_bars / (1 - s.alpha_bars))
    assert float(s.snr()[0]) > 10 and float(s.snr()[-1]) < 1e-3


def test_ema_averages_recent_weights_and_decay_zero_keeps_the_last_iterate():
    x = torch.randn(256, 1)
    for decay, check in ((0.0, "equal"), (0.995, "near_start")):
        torch.manual_seed(0)
        model = MLPDenoiser(DenoiserConfig(dim=1, hidden=16, blocks=1))
        start = [p.detach().clone() for p in model.parameters()]
        ema, _ = train_denoiser(model, x, cosine_schedule(20),
                                DiffusionTrainConfig(steps=50, batch_size=32, ema_decay=decay, warmup=1), seed=0)
        moved_model = sum(float((p - s).norm()) for p, s in zip(model.parameters(), start))
        moved_ema = sum(float((e - s).norm()) for e, s in zip(ema.parameters(), start))
        if check == "equal":
            assert all(torch.equal(e, p) for e, p in zip(ema.parameters(), model.parameters()))
        else:   # 50 steps at decay 0.995: the average still sits near the start (1 - 0.995^50 ≈ 0.22)
            assert moved_ema < 0.5 * moved_model, (moved_ema, moved_model)
