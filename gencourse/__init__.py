"""gencourse: reference code, data and widgets for the generative-AI course.

Modules (one idea each):
    threads     one CPU thread per process (set on import; GENCOURSE_THREADS overrides)
    runtime     device choice, seeding, cache folder
    data        offline datasets (2-D mixtures, digits, names, Python source, toy molecules)
    models      small reference models (mixture, PCA, autoencoder, GAN, VAE, digits judge)
    metrics     mode coverage on toy mixtures, precision and recall, the Fréchet distance
    zoo         models rebuilt from in-repo recipes and cached (the digits judge)
    experiments experiments shared by a lesson and its benchmark (mode collapse, digit recipes)
    train       a small training loop with a progress bar and a live loss plot
    plotting    image grids, sample scatters, latent maps, interpolation strips
    widgets     ipywidgets: latent explorer, interpolation (one module per widget family)
    exercises   checks used by the exercise notebooks
    assignments generate exercises from solutions and grade a learner's notebook
"""
from gencourse.threads import configure_threads

__version__ = "0.1.0"

# PyTorch's default of one thread per core stalls small models when another process is
# busy (see gencourse/threads.py); every lesson imports gencourse, so choose here.
configure_threads()
