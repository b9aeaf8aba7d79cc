"""Chapter 08's digit models: word prompts, and the latent model's decoding of standardised codes."""
import pytest
import torch

from gencourse.experiments.digit_diffusion import DigitDiffusionRecipe, prompt_digits, prompt_labels


@pytest.mark.parametrize("prompt, digits", [("a three", [3]), ("Seven", [7]), ("a zero or a one", [0, 1]),
                                            ("draw a 4, please", [4]), ("ONE, two", [1, 2])])
def test_prompt_digits(prompt, digits):
    assert prompt_digits(prompt) == digits


@pytest.mark.parametrize("bad", ["a cat", "01", "", 3])
def test_prompt_digits_rejects_prompts_without_a_digit(bad):
    with pytest.raises(ValueError, match="digit|string"):
        prompt_digits(bad)


def test_prompt_labels_draw_from_the_named_digits_evenly():
    y = prompt_labels("a zero or a one", 2000, seed=0)
    assert set(y.tolist()) == {0, 1} and abs(float((y == 1).float().mean()) - 0.5) < 0.05


def test_recipe_checks_its_space():
    with pytest.raises(ValueError, match="space"):
        DigitDiffusionRecipe("voxels")


def test_latent_model_decodes_through_its_standardisation():
    from gencourse.zoo.diffusion import latent_diffusion
    torch.set_num_threads(1)
    run = latent_diffusion()
    codes = torch.randn(4, run.model.config.dim)
    expected = run.decoder.decode(codes * run.scale + run.shift).reshape(-1, 1, 8, 8)
    torch.testing.assert_close(run.to_images(codes), expected)
    assert not torch.allclose(run.scale, torch.ones_like(run.scale)) and run.bound > 2
