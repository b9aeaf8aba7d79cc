import pytest
import torch

from gencourse.experiments.digit_recipes import Recipe, rebuild, train
from gencourse.models.gan import DCGenerator
from gencourse.models.vae import VAE


def test_recipes_train_rebuild_and_keep_checkpoints():
    vae_run = train(Recipe("vae", conditional=True, steps=40, hidden_dim=32, checkpoints=(20, 40),
                           n_checkpoint_samples=30))
    assert vae_run.seconds > 0 and sorted(vae_run.checkpoint_samples) == [20, 40]
    assert vae_run.checkpoint_samples[40].shape == (30, 1, 8, 8)
    vae = rebuild(vae_run)
    assert isinstance(vae, VAE) and vae.config.n_classes == 10 and not vae.training
    assert vae_run.history.values["loss"]
    gan_run = train(Recipe("gan", steps=10, checkpoints=(10,), n_checkpoint_samples=20))
    gen = rebuild(gan_run)
    assert isinstance(gen, DCGenerator) and gen.latent_dim == 32
    images = gan_run.checkpoint_samples[10]
    assert images.shape == (20, 1, 8, 8) and 0 <= float(images.min()) and float(images.max()) <= 1
    ae = rebuild(train(Recipe("ae", steps=5, hidden_dim=16)))
    assert ae.decode(torch.zeros(2, 16)).shape == (2, 64)


def test_recipes_restore_the_thread_count():
    before = torch.get_num_threads()
    train(Recipe("ae", steps=2, hidden_dim=8, threads=1))
    assert torch.get_num_threads() == before


def test_held_out_digit_is_left_out():
    # A held-out recipe must not see that class: its rebuilt model differs from the full one.
    a = rebuild(train(Recipe("vae", steps=20, hidden_dim=16, held_out=3)))
    b = rebuild(train(Recipe("vae", steps=20, hidden_dim=16)))
    assert not torch.equal(a.decoder[0].weight, b.decoder[0].weight)


def test_bad_recipes_are_rejected():
    with pytest.raises(ValueError, match="unknown family"):
        Recipe("diffusion")
    with pytest.raises(ValueError, match="no conditional version"):
        Recipe("ae", conditional=True)
    with pytest.raises(ValueError, match="checkpoints"):
        Recipe("vae", steps=10, checkpoints=(20,))


def test_a_recipe_gives_the_same_model_in_another_process():
    # Chapter 04 trains whichever anomaly recipes its background process has not started in the
    # notebook itself; that is only sound if a recipe's result does not depend on the process.
    from concurrent.futures import ProcessPoolExecutor

    recipe = Recipe("vae", steps=20, hidden_dim=16, held_out=4, seed=3)
    here = train(recipe)
    with ProcessPoolExecutor(max_workers=1) as pool:
        there = pool.submit(train, recipe).result()
    assert here.state.keys() == there.state.keys()
    assert all(torch.equal(here.state[k], there.state[k]) for k in here.state)
