import pytest
import torch

from gencourse.train import History, LiveLossPlot, fit, minibatches


def _regression_step(seed_data: int = 0):
    g = torch.Generator().manual_seed(seed_data)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(256, generator=g)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = minibatches(256, 32)

    def step(_):
        idx = next(batches)
        loss = ((model(x[idx]).squeeze(1) - y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"mse": loss}

    return model, step


def test_fit_records_losses_and_learns():
    _, step = _regression_step()
    history = fit(step, 200, seed=0, progress=False, plot=False, log_every=10)
    assert history.steps[0] == 0 and history.steps[-1] == 199
    assert len(history.values["mse"]) == len(history.steps) == 21
    assert history.last("mse", window=3) < 0.1 * history.values["mse"][0]
    assert history.seconds > 0


def test_fit_is_deterministic_under_a_seed():
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # model initialisation
        model, step = _regression_step()
        fit(step, 50, seed=1, progress=False, plot=False)  # seed fixes the batch order
        runs.append(model.weight.detach().clone())
    assert torch.equal(runs[0], runs[1])


def test_fit_accepts_a_plain_float_loss():
    history = fit(lambda i: 1.0 / (i + 1), 5, progress=False, plot=False, log_every=1)
    assert history.values["loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]


def test_fit_and_minibatches_reject_bad_arguments():
    with pytest.raises(ValueError, match="positive int"):
        fit(lambda i: 0.0, 0)
    with pytest.raises(ValueError, match="log_every"):
        fit(lambda i: 0.0, 5, log_every=0)
    with pytest.raises(ValueError, match="positive"):
        next(minibatches(0, 4))


def test_minibatches_cover_every_index_once_per_epoch():
    batches = minibatches(10, 4, torch.Generator().manual_seed(0))
    epoch = torch.cat([next(batches) for _ in range(3)])
    assert sorted(epoch.tolist()) == list(range(10))


def test_history_last_names_the_recorded_losses():
    h = History()
    h.record(0, {"a": 1.0})
    with pytest.raises(KeyError, match="recorded: \\['a'\\]"):
        h.last("b")


def test_live_plot_is_inactive_outside_a_notebook():
    plot = LiveLossPlot("t")
    assert not plot.active
    h = History()
    h.record(0, {"loss": 1.0})
    plot.update(h, force=True)  # must not fail or draw
    assert plot._handle is None
