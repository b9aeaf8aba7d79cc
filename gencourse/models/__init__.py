"""Small reference models, one idea per module.

    mixture      Gaussian mixture fitted by expectation-maximisation
    pca          principal component analysis, the linear latent space
    autoencoder  an MLP autoencoder with a configurable code size
    gan          generators, discriminators, GAN losses and training
    vae          variational autoencoders: ELBO, importance-weighted bound, conditional option
    judge        the digits classifier used to score generated digits
    attention    scaled dot-product attention, masks, multi-head attention, sinusoidal positions
    gpt          a decoder-only transformer (GPTConfig, GPT, KVCache); gpt_train trains it
    sampling     greedy, temperature, top-k and top-p (nucleus) next-token sampling
    ngram        count-based language models (unigram, bigram, Kneser–Ney n-grams) as baselines
"""
from gencourse.models.autoencoder import Autoencoder, AutoencoderConfig, train_autoencoder
from gencourse.models.mixture import GaussianMixture
from gencourse.models.pca import PCA

__all__ = ["Autoencoder", "AutoencoderConfig", "train_autoencoder", "GaussianMixture", "PCA"]
