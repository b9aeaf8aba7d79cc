"""The course's digits judge: a small convolutional classifier for 8x8 digits.

Used (a) to label generated digits ("does this look like a 3?") and (b) as the
feature network of the Fréchet distance, through its penultimate layer — the
course's offline stand-in for the Inception network used by FID. Built and cached
by ``gencourse.zoo.digits_judge()``; never downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class JudgeConfig:
    channels: int = 32
    feature_dim: int = 128
    dropout: float = 0.3


class DigitsJudge(nn.Module):
    """(N, 1, 8, 8) or (N, 64) images in [0, 1] -> (N, 10) class logits.

    ``features`` gives the (N, feature_dim) penultimate activations.
    """

    def __init__(self, config: JudgeConfig = JudgeConfig()):
        super().__init__()
        self.config = c = config
        self.conv = nn.Sequential(
            nn.Conv2d(1, c.channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c.channels, 2 * c.channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),                                                  # 8 -> 4
            nn.Conv2d(2 * c.channels, 2 * c.channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),                                                  # 4 -> 2
            nn.Flatten(),
            nn.Linear(2 * c.channels * 4, c.feature_dim), nn.ReLU(),
        )
        self.classify = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.feature_dim, 10))

    @staticmethod
    def _images(x: Tensor) -> Tensor:
        if x.ndim == 2 and x.shape[1] == 64:
            x = x.reshape(len(x), 1, 8, 8)
        if x.ndim != 4 or x.shape[1:] != (1, 8, 8):
            raise ValueError(f"images must have shape (N, 1, 8, 8) or (N, 64), got {tuple(x.shape)}")
        return x

    def features(self, x: Tensor) -> Tensor:
        return self.conv(self._images(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.classify(self.features(x))

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """(N,) predicted classes, in eval mode."""
        self.eval()
        return self(x).argmax(dim=1)
