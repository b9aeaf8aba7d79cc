"""What training costs: floating-point operations, counted and by formula, and an energy estimate.

**FLOPs.** A matrix product of (m, k) by (k, n) costs 2mkn floating-point operations (a multiply and
an add each). A decoder-only transformer with L layers of width d, vocabulary V and context T spends
per token, going forward,

    2 · (12 L d² + d V)      the weight matrices: 3d² for q, k, v, d² for the output, 8d² for the MLP,
                             dV for the output head
    + 4 · L · T · d          attention: scores QKᵀ and the weighted sum of values, each 2Td

and a training step costs about three times the forward pass (the backward pass computes two
products per forward product: the gradient with respect to the input and to the weights). The
weight term is the C ≈ 6N per token of "Scaling Laws for Neural Language Models" (Kaplan et al.,
2020), with the head included in N. The attention term counts both products over the full context,
as "Training Compute-Optimal Large Language Models" (Hoffmann et al., 2022, appendix F) does; Kaplan
et al. count 2·L·T·d, and a kernel that skips the masked half of a causal attention halves it. ``counted_flops`` measures the same thing with
PyTorch's ``FlopCounterMode``, which works for any model (on the CPU it does not see inside the fused
attention kernel, so it misses the attention term there; in training mode with dropout, attention
falls back to plain matrix products, which it counts).

**Energy.** E = P · t for a device drawing P watts for t seconds. A laptop or server CPU package
draws tens of watts; without a power meter, state the assumption. Linux exposes Intel's RAPL energy
counters under /sys/class/powercap on machines that allow it (``rapl_joules``; None elsewhere).
Carbon is energy times the grid's intensity (grams of CO₂-equivalent per kWh), which varies more
than tenfold between grids.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from gencourse.models.gpt import GPTConfig


def transformer_forward_flops(config: GPTConfig, context: int | None = None) -> float:
    """Forward FLOPs per token of a GPT (weights, head and attention over ``context`` positions,
    default the block size), counting every attention score as PyTorch's fused kernel computes it."""
    t = context if context is not None else config.block_size
    d, layers, v = config.n_embd, config.n_layer, config.vocab_size
    return 2.0 * (12 * layers * d * d + d * v) + 4.0 * layers * t * d


def transformer_training_flops(config: GPTConfig, tokens: float, context: int | None = None) -> float:
    """Training FLOPs for ``tokens`` tokens: three times the forward pass (forward + backward)."""
    return 3.0 * transformer_forward_flops(config, context) * tokens


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of everything ``fn()`` computes, counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def counted_flops(model: nn.Module, *inputs, backward: bool = False) -> int:
    """FLOPs of one forward pass of ``model`` on ``inputs`` (and its backward pass if ``backward``),
    counted by torch.utils.flop_counter (matrix products, convolutions, attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        out = model(*inputs)
        if backward:
            first = out[0] if isinstance(out, tuple) else out
            first.float().sum().backward()
    return int(counter.get_total_flops())


def energy_kwh(seconds: float, watts: float) -> float:
    """Energy in kWh of a device drawing ``watts`` for ``seconds``."""
    if seconds < 0 or watts < 0:
        raise ValueError(f"seconds and watts must be ≥ 0, got {seconds!r} and {watts!r}")
    return seconds * watts / 3.6e6


def rapl_joules(root: str | Path = "/sys/class/powercap") -> float | None:
    """Total energy in joules of the CPU packages' RAPL counters, or None where the machine does not
    expose them (read it before and after a run; the counters wrap around at max_energy_range_uj)."""
    packages = sorted(Path(root).glob("intel-rapl:[0-9]"))
    total = 0.0
    for package in packages:
        try:
            total += int((package / "energy_uj").read_text()) / 1e6
        except (OSError, ValueError):
            return None
    return total if packages else None
