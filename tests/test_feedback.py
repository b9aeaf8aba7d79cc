"""The exercise checks explain what is wrong: type, shape, dtype, range, value."""
import pytest
import torch

from gencourse.exercises import ExerciseFailed, check
from gencourse.exercises.feedback import expect_close, expect_tensor


def test_expect_tensor_reports_each_kind_of_mistake():
    ref = torch.arange(6.0).reshape(2, 3)
    with pytest.raises(ExerciseFailed, match="should be a torch.Tensor, got list"):
        expect_tensor("y", [1, 2], ref)
    with pytest.raises(ExerciseFailed, match=r"wrong shape: expected \(2, 3\), got \(3, 2\)"):
        expect_tensor("y", ref.T, ref)
    with pytest.raises(ExerciseFailed, match="wrong dtype: expected torch.float64, got torch.float32"):
        expect_tensor("y", ref, dtype=torch.float64)
    with pytest.raises(ExerciseFailed, match="NaN or inf"):
        expect_tensor("y", torch.tensor([float("nan")]))
    with pytest.raises(ExerciseFailed, match="expected values <= 1"):
        expect_tensor("p", torch.tensor([0.5, 1.5]), high=1.0)
    wrong = ref.clone()
    wrong[1, 2] = 9.0
    with pytest.raises(ExerciseFailed, match=r"at index \(1, 2\) expected 5, got 9"):
        expect_tensor("y", wrong, ref)
    assert expect_tensor("y", ref.clone(), ref) is not None


def test_expect_close_for_scalars():
    assert expect_close("e", torch.tensor(2.0), 2.0) == 2.0
    with pytest.raises(ExerciseFailed, match="expected 2, got 3"):
        expect_close("e", 3.0, 2.0)
    with pytest.raises(ExerciseFailed, match="single number"):
        expect_close("e", torch.ones(2), 2.0)


def test_check_names_the_exercise_and_the_part_that_is_wrong(capsys):
    def transposed_log_gaussian(x, mean, cov):
        return torch.distributions.MultivariateNormal(mean, cov).log_prob(x)[None, :]

    with pytest.raises(ExerciseFailed, match=r"Exercise 00\.1 .*wrong shape: expected \(50,\)"):
        check("00.1", transposed_log_gaussian)

    def crashing(x, mean, cov):
        raise TypeError("bad operand")

    with pytest.raises(ExerciseFailed, match="raised TypeError: bad operand"):
        check("00.1", crashing)

    def correct(x, mean, cov):
        return torch.distributions.MultivariateNormal(mean, cov).log_prob(x)

    check("00.1", correct)
    assert "✔ Exercise 00.1" in capsys.readouterr().out


def test_unsolved_and_unknown_exercises():
    def stub(*args):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match="not done yet"):
        check("01.5", stub)
    with pytest.raises(ValueError, match="unknown exercise '99.1'"):
        check("99.1", stub)


def test_a_responsibility_check_catches_rows_that_do_not_sum_to_one():
    def unnormalised(x, weights, means, covs):
        return torch.full((len(x), len(weights)), 0.5, dtype=torch.float64)

    with pytest.raises(ExerciseFailed, match="sum to 1"):
        check("00.2", unnormalised)


def test_training_check_fails_when_the_model_does_not_learn():
    def no_training(model, x, n_steps):
        return None

    with pytest.raises(ExerciseFailed, match="did not change the model's parameters"):
        check("01.6", no_training)


def test_generator_loss_check_recognises_the_saturating_loss():
    import torch.nn.functional as F

    with pytest.raises(ExerciseFailed, match="saturating loss"):
        check("02.2", lambda fake_logits: -F.softplus(fake_logits).mean())


def test_discriminator_loss_check_catches_unstable_log_sigmoid():
    def unstable(real, fake):
        return -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())

    with pytest.raises(ExerciseFailed, match="softplus"):
        check("02.1", unstable)


def test_train_step_check_catches_updating_the_generator_first():
    import torch.nn.functional as F

    def generator_first(G, D, opt_g, opt_d, real, z):
        fake = G(z)
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(G(z).detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        return loss_d.item(), loss_g.item()

    with pytest.raises(ExerciseFailed, match="wrong value|weight"):
        check("02.4", generator_first)


def test_gradient_penalty_check_requires_a_differentiable_penalty():
    def detached(critic, real, fake, eps):
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed)  # no create_graph
        return ((grad.norm(dim=1) - 1) ** 2).mean()

    with pytest.raises(ExerciseFailed, match="create_graph=True"):
        check("03.3", detached)


def test_coverage_check_catches_a_wrong_radius():
    def two_std(samples, centers, std):
        d, nearest = torch.cdist(samples, centers).min(dim=1)
        good = d <= 2 * std
        return int(nearest[good].unique().numel()), float(good.float().mean())

    with pytest.raises(ExerciseFailed, match="radius of 2 standard deviations"):
        check("03.1", two_std)


def test_reparameterisation_check_spots_variance_for_std_and_detached_samples():
    with pytest.raises(ExerciseFailed, match="standard deviation is σ"):
        check("04.1", lambda mu, logvar, eps: mu + logvar.exp() * eps)
    with pytest.raises(ExerciseFailed, match="does not depend on mu and logvar"):
        check("04.1", lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps).detach())


def test_kl_check_asks_to_sum_over_dimensions():
    with pytest.raises(ExerciseFailed, match="summed over the 4 latent dimensions"):
        check("04.2", lambda mu, logvar: 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar))


def test_binomial_check_names_the_missing_binomial_coefficient():
    def no_choose(x, logits):
        k = x * 16
        logsig = torch.nn.functional.logsigmoid
        return (k * logsig(logits) + (16 - k) * logsig(-logits)).sum(1)
    with pytest.raises(ExerciseFailed, match="log C\\(16, k\\)"):
        check("04.3", no_choose)


def test_bound_check_explains_underflow():
    with pytest.raises(ExerciseFailed, match="logsumexp"):
        check("04.4", lambda log_w: torch.log(log_w.exp().mean(0)))
    with pytest.raises(ExerciseFailed, match="− log k is missing"):
        check("04.4", lambda log_w: torch.logsumexp(log_w, 0))   # forgot − log k


def test_auc_check_catches_ignoring_ties():
    def strict(scores, labels):
        pos, neg = scores[labels == 1], scores[labels == 0]
        return float((pos[:, None] > neg[None, :]).double().mean())
    with pytest.raises(ExerciseFailed, match="ties were ignored"):
        check("04.5", strict)


def test_expect_close_rejects_nan_inf_bools_and_tensors_when_a_float_is_asked_for():
    for bad in (float("nan"), torch.tensor(float("nan")), float("inf"), -float("inf")):
        with pytest.raises(ExerciseFailed, match="not a finite number"):
            expect_close("e", bad, 2.0, atol=1e9)
    with pytest.raises(ExerciseFailed, match="should be a number, got bool"):
        expect_close("e", True, 1.0)
    with pytest.raises(ExerciseFailed, match=r"should be a Python float, got a torch.Tensor: .*\.item\(\)"):
        expect_close("e", torch.tensor(2.0), 2.0, allow_tensor=False)
    import numpy as np
    assert expect_close("e", np.float32(2.0), 2.0) == 2.0


def test_a_module_without_forward_is_named_not_reported_as_an_unfinished_stub():
    from gencourse.exercises.feedback import call

    class NoForward(torch.nn.Module):
        pass

    with pytest.raises(ExerciseFailed, match=r"no forward\(\) method"):
        call(lambda: NoForward()(torch.zeros(1)), what="model(x)")
    with pytest.raises(NotImplementedError):  # a learner's stub still reads as "not done yet"
        call(lambda: (_ for _ in ()).throw(NotImplementedError("Exercise")), what="stub")


def test_matches_recognises_a_known_mistake_only_for_finite_equal_answers():
    from gencourse.exercises.feedback import diagnose, matches

    ref = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert matches(ref.clone(), ref) and not matches(ref.T, ref) and not matches(ref[0], ref)
    assert not matches(ref.tolist(), ref) and not matches(ref + 1e-2, ref)
    assert matches(torch.tensor(0.5), 0.5) and matches(0.5, torch.tensor(0.5)) and not matches(True, 1.0)
    # An infinite mistake must not match every finite answer (abs(x - inf) <= rtol * inf is True).
    assert not matches(0.123, float("inf")) and not matches(float("nan"), float("nan"))
    with pytest.raises(ExerciseFailed, match="the second"):
        diagnose(2.0, {"the first": 1.0, "the second": 2.0})
    diagnose(3.0, {"the first": 1.0})  # no known mistake: no feedback, the caller goes on


def test_finite_number_accepts_numbers_and_one_element_tensors_and_names_the_rest():
    import torch

    from gencourse.exercises.feedback import ExerciseFailed, finite_number
    assert finite_number("x", 3) == 3.0 and finite_number("x", torch.tensor([2.5])) == 2.5
    for bad, message in ((torch.ones(2), "single number"), ("1.0", "should be a number"), (True, "should be a number"),
                         (float("nan"), "not a finite number: mind the log")):
        with pytest.raises(ExerciseFailed, match=message):
            finite_number("x", bad, "mind the log")
