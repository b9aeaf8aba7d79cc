"""The denoising viewer: its pictures follow the controls, start from noise and end at the model's
samples, and bad input fails with a one-line ValueError. Uses the zoo's pixel diffusion model."""
import numpy as np
import pytest
import torch

from gencourse.widgets.denoising import DenoisingViewer, denoising_chain
from gencourse.zoo import digits_judge
from gencourse.zoo.diffusion import pixel_diffusion


@pytest.fixture(scope="module")
def run():
    torch.set_num_threads(1)
    return pixel_diffusion()


def test_chain_starts_from_noise_and_ends_at_the_sample(run):
    frames, shown, images = denoising_chain(run, 3, 1.5, 20, seed=0)
    assert frames.shape == (6, 6, 8, 8) and shown[0] == run.schedule.steps - 1 and len(shown) == 5
    np.testing.assert_allclose(frames[:, -1], images[:, 0].numpy())
    # Pure noise N(0, 1) mapped by (x + 1) / 2 and clamped: about 32% of the pixels land at 0 or 1
    # (|x| > 1), and the mean is about 0.5; the final column is a digit the judge reads as a 3.
    first_extremes = float(((frames[:, 0] == 0) | (frames[:, 0] == 1)).mean())
    assert 0.2 < first_extremes < 0.45 and abs(float(frames[:, 0].mean()) - 0.5) < 0.1
    assert float((digits_judge().predict(images) == 3).float().mean()) >= 5 / 6
    again, _, _ = denoising_chain(run, 3, 1.5, 20, seed=0)
    np.testing.assert_array_equal(frames, again)


def test_viewer_follows_its_controls(run):
    viewer = DenoisingViewer(run, judge=digits_judge(), digit=3, steps=20)
    first, png = viewer.frames.copy(), viewer.image.value
    assert "digit 3" in viewer.label and "20 DDIM steps" in viewer.label and "/6 as 3" in viewer.label
    viewer.digit.value = 7
    assert "digit 7" in viewer.label and not np.array_equal(first, viewer.frames) and viewer.image.value != png
    viewer.button.click()
    assert "seed 1" in viewer.label
    viewer.steps.value = run.schedule.steps
    assert "ancestral (DDPM)" in viewer.label
    viewer.guidance.value = 0.0
    assert "s = 0.0" in viewer.label


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=7), "steps must be one of"),
    (dict(judge=object()), "predict"),
])
def test_viewer_rejects_bad_input(run, kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenoisingViewer(run, **kwargs)


def test_viewer_rejects_a_model_without_generate():
    with pytest.raises(ValueError, match="generate"):
        DenoisingViewer(object())


@pytest.mark.parametrize("digit, steps, match", [(10, 20, "digit"), (True, 20, "digit"), (3, 0, "steps"),
                                                  (3, 500, "steps")])
def test_chain_rejects_bad_arguments(run, digit, steps, match):
    with pytest.raises(ValueError, match=match):
        denoising_chain(run, digit, 1.5, steps)
