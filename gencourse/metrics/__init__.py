"""Measures of generative models, one module per family.

    likelihood  bits per dimension, perplexity (lower is better; comparable only on the same data)
    frechet     the Fréchet distance (FID's formula) and the kernel distance (KID's), between two
                feature sets; the Fréchet distance extrapolated to infinitely many samples
    manifold    precision and recall (Kynkäänniemi et al., 2019), density and coverage
                (Naeem et al., 2020), from k-nearest-neighbour balls in a feature space;
                a realism score per sample
    classifier  the Inception score, computed with any classifier's probabilities
    modes       mode coverage on toy mixtures with known modes
    intervals   intervals over seeds, for proportions (Wilson) and by bootstrap; Cohen's κ

Each function's docstring says what it measures, its range and its known biases.
"""
from gencourse.metrics.classifier import inception_score
from gencourse.metrics.frechet import (
    FrechetAtInfinity, frechet_distance, frechet_distance_at_infinity, frechet_distance_from_features, kernel_distance,
)
from gencourse.metrics.intervals import (
    bootstrap_interval, cohens_kappa, mean_and_stderr, mean_interval, wilson_interval,
)
from gencourse.metrics.likelihood import bits_per_dim, perplexity
from gencourse.metrics.manifold import (
    DensityCoverage, PrecisionRecall, density_coverage, precision_recall, realism_score,
)
from gencourse.metrics.modes import ModeCoverage, mode_coverage

__all__ = ["ModeCoverage", "mode_coverage", "mean_and_stderr", "mean_interval", "wilson_interval",
           "bootstrap_interval", "cohens_kappa", "frechet_distance", "frechet_distance_from_features",
           "frechet_distance_at_infinity", "FrechetAtInfinity", "kernel_distance", "PrecisionRecall", "precision_recall",
           "DensityCoverage", "density_coverage", "realism_score", "inception_score", "bits_per_dim", "perplexity"]
