"""Interactive widgets (ipywidgets), one module per idea.

    latent      LatentExplorer, InterpolationWidget: walk a model's latent space (chapters 01, 04)
    attention   AttentionViewer: a model's attention maps by layer, head and input (chapter 05)
    sampling    SamplingPlayground: temperature / top-k / top-p sliders over a GPT's samples (chapter 06)
    denoising   DenoisingViewer: a digit, a guidance scale and a step count; samples emerge from noise (chapter 08)

Widgets need a live kernel; lessons put a static figure of the same idea beside them.
"""
from gencourse.widgets.latent import InterpolationWidget, LatentExplorer

__all__ = ["InterpolationWidget", "LatentExplorer"]
