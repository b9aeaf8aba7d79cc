"""gencourse: reference code, data and widgets for the generative-AI course.

Modules (one idea each):
    runtime     device choice, seeding, cache folder
    data        offline datasets (2-D mixtures, digits, names, Python source)
    models      small reference models (mixture, PCA, autoencoder, ...)
    train       a small training loop with a progress bar and a live loss plot
    plotting    image grids, sample scatters, latent maps, interpolation strips
    widgets     ipywidgets: latent explorer, interpolation
    exercises   checks used by the exercise notebooks
    assignments generate exercises from solutions and grade a learner's notebook
"""
__version__ = "0.1.0"
