"""Measuring the risks of generative models, and the mitigations that move the figures (chapter 10).

    bias        group shares with intervals, corrected for the auditor's errors; distances
    watermark   a green-list watermark for a language model and its z-test (Kirchenbauer et al., 2023)
    membership  copied training text, and a loss-threshold membership attack (AUC, TPR at low FPR)
    compute     training FLOPs by formula and by counter; energy
    model_card  a model card rendered from measured figures (Mitchell et al., 2019)
"""
