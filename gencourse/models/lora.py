"""Low-rank adapters (LoRA) for any model built from ``nn.Linear`` layers.

"LoRA: Low-Rank Adaptation of Large Language Models" (Hu et al., 2021) freezes a
pre-trained weight W0 (out, in) and learns a low-rank update beside it:

    h = W0 x + b + (alpha / r) · B A x        A: (r, in), B: (out, r), r << min(in, out)

Only A and B train: r·(in + out) numbers per wrapped layer instead of in·out. B starts
at zero, so before the first step the wrapped model computes exactly what the base
model computes; A starts like an ``nn.Linear`` weight (Kaiming-uniform, as Hugging Face
``peft`` does). ``alpha / r`` keeps the update's size roughly independent of the rank,
so a learning rate tuned at one rank still works at another.

For inference the update folds into the weight, W = W0 + (alpha / r) · B A, and the
adapter costs nothing: :func:`merge_lora` swaps every :class:`LoRALinear` back for a
plain ``nn.Linear`` holding the merged weight.

Target names follow ``peft``'s convention: a target matches a module whose full name
equals it or ends with ``"." + target``, so ``"attn.qkv"`` wraps ``blocks.0.attn.qkv``,
``blocks.1.attn.qkv``, ... The names of the adapter's weights differ from ``peft``'s
(``lora_A`` / ``lora_B`` here, ``lora_A.default.weight`` / ``lora_B.default.weight``
there); :func:`to_peft_state` maps one to the other.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update (alpha / rank) · B A."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise ValueError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a whole number >= 1, got {rank!r}")
        if rank > min(base.in_features, base.out_features):
            raise ValueError(f"rank={rank} exceeds min(in, out) = {min(base.in_features, base.out_features)} "
                             "of the layer it adapts: a low-rank update needs a smaller rank")
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive number, got {alpha!r}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.rank, self.alpha, self.scaling = rank, float(alpha), float(alpha) / rank
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, **factory))    # (r, in)
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, **factory))   # (out, r): zero at start
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.drop = nn.Dropout(dropout)

    def delta_weight(self) -> Tensor:
        """The update (alpha / rank) · B A, shaped like the base weight (out, in)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: Tensor) -> Tensor:                        # (..., in) -> (..., out)
        return self.base(x) + self.scaling * (self.drop(x) @ self.lora_A.T @ self.lora_B.T)

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` computing the same function: weight W0 + (alpha / rank) · B A."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        device=self.base.weight.device, dtype=self.base.weight.dtype)
        out.weight.copy_(self.base.weight + self.delta_weight())
        if self.base.bias is not None:
            out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}"


def _matches(name: str, targets: Sequence[str]) -> bool:
    return any(name == t or name.endswith("." + t) for t in targets)


def add_lora(model: nn.Module, targets: Sequence[str], rank: int = 4, alpha: float = 8.0,
             dropout: float = 0.0) -> list[str]:
    """Freeze every weight of ``model`` and wrap the ``nn.Linear`` layers named by ``targets``
    in :class:`LoRALinear` (in place). Returns the names of the wrapped layers.

    Only the adapters' A and B train afterwards. A target that matches no ``nn.Linear``
    raises a one-line error listing the names that would match.
    """
    if isinstance(targets, str):
        targets = (targets,)
    if any(isinstance(m, LoRALinear) for m in model.modules()):
        raise ValueError("the model already has LoRA adapters; merge them (merge_lora) or start from the base model")
    linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    chosen = [n for n in linear if _matches(n, targets)]
    missing = [t for t in targets if not any(_matches(n, (t,)) for n in linear)]
    if missing or not chosen:
        raise ValueError(f"no nn.Linear named {missing or list(targets)} in the model; its linear layers are "
                         f"{', '.join(linear[:8])}{', ...' if len(linear) > 8 else ''}")
    for p in model.parameters():
        p.requires_grad_(False)
    for name in chosen:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha, dropout))
    return chosen


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight (in place): each :class:`LoRALinear` becomes
    an ``nn.Linear`` with weight W0 + (alpha / rank) · B A. Returns ``model``."""
    wrapped = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    if not wrapped:
        raise ValueError("the model has no LoRA adapters to merge; add them with add_lora first")
    for name in wrapped:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, getattr(parent, child).merged())
    return model


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) numbers of weights; a tensor shared by two modules counts once."""
    seen = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in seen if p.requires_grad), sum(p.numel() for p in seen)


def lora_state(model: nn.Module) -> dict[str, Tensor]:
    """The adapters' weights only, ``{"<layer>.lora_A": (r, in), "<layer>.lora_B": (out, r)}``."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if k.endswith((".lora_A", ".lora_B"))}


def to_peft_state(state: dict[str, Tensor], adapter: str = "default") -> dict[str, Tensor]:
    """Rename :func:`lora_state`'s keys to ``peft``'s (``<layer>.lora_A.<adapter>.weight``), so
    the same adapter weights can be loaded into a model prepared by ``peft``."""
    out = {}
    for key, value in state.items():
        layer, _, which = key.rpartition(".")
        out[f"{layer}.{which}.{adapter}.weight"] = value
    return out


__all__ = ["LoRALinear", "add_lora", "merge_lora", "count_parameters", "lora_state", "to_peft_state"]
