"""FLOP counts of the course's transformer, by formula and by PyTorch's counter; energy units."""
from __future__ import annotations

import pytest
import torch

from gencourse.ethics.compute import (
    counted_flops, energy_kwh, rapl_joules, transformer_forward_flops, transformer_training_flops,
)
from gencourse.models.gpt import GPT, GPTConfig


@pytest.mark.parametrize("config", [GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32),
                                    GPTConfig(vocab_size=117, block_size=32, n_layer=3, n_head=4, n_embd=96)])
def test_the_formula_matches_pytorchs_flop_counter(config):
    from torch.utils.flop_counter import FlopCounterMode
    model = GPT(config).eval()
    batch, t, d = 3, config.block_size, config.n_embd
    idx = torch.randint(config.vocab_size, (batch, t))
    # On the CPU the counter does not see inside the fused attention kernel: it counts the weight matrices ...
    weights_only = transformer_forward_flops(config) - 4 * config.n_layer * t * d
    assert counted_flops(model, idx) == pytest.approx(weights_only * batch * t, rel=1e-9)
    # ... so the attention term is checked on attention written as two matrix products
    q = k = v = torch.randn(batch, config.n_head, t, d // config.n_head)
    with FlopCounterMode(display=False) as counter:
        torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
    assert counter.get_total_flops() * config.n_layer == pytest.approx(4 * config.n_layer * t * d * batch * t)


def test_one_transformer_layer_by_hand():
    config = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=4)
    d, t, v = 4, 8, 10
    per_token = 2 * (3 * d * d + d * d + 4 * d * d + 4 * d * d) + 2 * d * v + 2 * t * d + 2 * t * d
    assert transformer_forward_flops(config) == per_token
    assert transformer_training_flops(config, tokens=1000) == 3 * per_token * 1000


def test_training_is_about_three_forward_passes_by_the_counter():
    config = GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=32)
    model = GPT(config)
    idx = torch.randint(40, (2, 16))
    forward = counted_flops(model, idx)
    both = counted_flops(model, idx, backward=True)
    assert 2.5 < both / forward < 3.05          # the first layer's input gradient (embeddings) is not needed


def test_energy_units_and_rapl_absence(tmp_path):
    assert energy_kwh(3600, 1000) == pytest.approx(1.0)
    assert rapl_joules(tmp_path) is None
    package = tmp_path / "intel-rapl:0"
    package.mkdir()
    (package / "energy_uj").write_text("2500000\n")
    assert rapl_joules(tmp_path) == pytest.approx(2.5)
    second = tmp_path / "intel-rapl:1"
    second.mkdir()
    (second / "energy_uj").write_text("500000\n")
    (tmp_path / "intel-rapl:0:0").mkdir()                     # a sub-zone (the cores) is part of package 0:
    (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text("900000\n")   # it must not be counted twice
    assert rapl_joules(tmp_path) == pytest.approx(3.0), "every package counts"
    with pytest.raises(ValueError, match="≥ 0"):
        energy_kwh(-1, 10)


def test_a_zoo_gpts_training_flops_use_every_token_of_every_window():
    from gencourse.experiments.ethics import gpt_training_tokens
    from gencourse.zoo.gpt import NAMES_GPT
    assert gpt_training_tokens(NAMES_GPT) == NAMES_GPT.steps * NAMES_GPT.batch_size * NAMES_GPT.block_size == 4_096_000
