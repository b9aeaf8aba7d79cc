"""Small reference models, one idea per module.

    mixture      Gaussian mixture fitted by expectation-maximisation
    pca          principal component analysis, the linear latent space
    autoencoder  an MLP autoencoder with a configurable code size
    gan          generators, discriminators, GAN losses and training
    vae          variational autoencoders: ELBO, importance-weighted bound, conditional option
    judge        the digits classifier used to score generated digits
"""
from gencourse.models.autoencoder import Autoencoder, AutoencoderConfig, train_autoencoder
from gencourse.models.mixture import GaussianMixture
from gencourse.models.pca import PCA

__all__ = ["Autoencoder", "AutoencoderConfig", "train_autoencoder", "GaussianMixture", "PCA"]
