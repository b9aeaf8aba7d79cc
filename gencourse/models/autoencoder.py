"""An MLP autoencoder: encoder x -> z (the code), decoder z -> x̂.

Trained to reconstruct its input through a bottleneck of ``latent_dim`` numbers,
it learns a non-linear latent space (PCA is the linear special case). The
decoder ends in a sigmoid because the course's digits lie in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gencourse.train import History, fit, minibatches


@dataclass(frozen=True)
class AutoencoderConfig:
    input_dim: int = 64        # 8x8 digits, flattened
    latent_dim: int = 16
    hidden_dim: int = 128


class Autoencoder(nn.Module):
    """encode: (N, input_dim) or (N, 1, H, W) -> (N, latent_dim); decode: (N, latent_dim) -> (N, input_dim)."""

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()):
        super().__init__()
        self.config = config
        c = config
        self.encoder = nn.Sequential(
            nn.Linear(c.input_dim, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(c.latent_dim, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.hidden_dim), nn.ReLU(),
            nn.Linear(c.hidden_dim, c.input_dim), nn.Sigmoid(),
        )

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: Tensor) -> Tensor:
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.config.input_dim:
            raise ValueError(f"x has {x.shape[1]} values per sample but the autoencoder "
                             f"expects input_dim={self.config.input_dim}")
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


def reconstruction_mse(model: nn.Module, x: Tensor) -> float:
    """Mean squared error per pixel of ``model(x)`` against x (N, ...), no gradients."""
    with torch.no_grad():
        flat = x.reshape(len(x), -1)
        return float(((model(flat) - flat) ** 2).mean())


def train_autoencoder(model: Autoencoder, x_train: Tensor, n_steps: int = 2000,
                      batch_size: int = 128, lr: float = 3e-3, seed: int = 0,
                      progress: bool = True, plot: bool = True) -> History:
    """Fit ``model`` to reconstruct x_train (N, ...) with Adam and cosine learning-rate decay."""
    device = next(model.parameters()).device
    x = x_train.reshape(len(x_train), -1).to(device)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps)
    batches = minibatches(len(x), batch_size, torch.Generator().manual_seed(seed), device)

    def step(_: int) -> dict[str, Tensor]:
        xb = x[next(batches)]
        loss = ((model(xb) - xb) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return {"mse": loss.detach()}

    model.train()
    history = fit(step, n_steps, seed=seed, progress=progress, plot=plot,
                  title=f"autoencoder, {model.latent_dim}-D code")
    model.eval()
    return history
