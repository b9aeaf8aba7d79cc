"""LoRA (gencourse.models.lora): zero-initialised B, merge equivalence, freezing, and agreement
with Hugging Face peft on the same model and the same adapter weights."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gencourse.models.gpt import GPT, GPTConfig
from gencourse.models.lora import (LoRALinear, add_lora, count_parameters, lora_state, merge_lora,
                                   to_peft_state)

TARGETS = ("attn.qkv", "attn.proj", "mlp.fc")


@pytest.fixture
def gpt() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=23, block_size=12, n_layer=2, n_head=2, n_embd=16)).eval()


def _randomise_b(model: nn.Module, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, LoRALinear):
            with torch.no_grad():
                m.lora_B.copy_(torch.randn(m.lora_B.shape, generator=g))


def _ids(n: int = 3, t: int = 12) -> torch.Tensor:
    return torch.randint(0, 23, (n, t), generator=torch.Generator().manual_seed(2))


def test_zero_initialised_b_gives_the_base_models_output_exactly(gpt):
    adapted = copy.deepcopy(gpt)
    add_lora(adapted, TARGETS, rank=4, alpha=8)
    assert torch.equal(adapted(_ids())[0], gpt(_ids())[0])


def test_lora_forward_is_base_plus_scaled_low_rank_update():
    torch.manual_seed(0)
    base = nn.Linear(6, 5)
    layer = LoRALinear(copy.deepcopy(base), rank=2, alpha=6)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(4, 6)
    expected = base(x) + (6 / 2) * x @ layer.lora_A.T @ layer.lora_B.T
    torch.testing.assert_close(layer(x), expected)
    torch.testing.assert_close(layer.delta_weight(), 3.0 * layer.lora_B @ layer.lora_A)


def test_only_the_adapters_train_and_their_count_is_rank_times_in_plus_out(gpt):
    names = add_lora(gpt, TARGETS, rank=4, alpha=8)
    assert names == ["blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.0.mlp.fc",
                     "blocks.1.attn.qkv", "blocks.1.attn.proj", "blocks.1.mlp.fc"]
    trainable = {n for n, p in gpt.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith(("lora_A", "lora_B")) for n in trainable)
    per_block = 4 * (16 + 48) + 4 * (16 + 16) + 4 * (16 + 64)
    assert count_parameters(gpt)[0] == 2 * per_block


def test_merged_weights_give_the_same_logits_as_base_plus_adapter(gpt):
    add_lora(gpt, TARGETS, rank=4, alpha=8)
    _randomise_b(gpt)
    before = gpt(_ids())[0]
    merge_lora(gpt)
    assert not any(isinstance(m, LoRALinear) for m in gpt.modules())
    torch.testing.assert_close(gpt(_ids())[0], before, atol=1e-5, rtol=1e-5)


def test_a_wrong_merge_is_detected():
    """The merge equivalence test would catch a merge that forgets the scaling."""
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(6, 5), rank=2, alpha=6)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(3, 6)
    wrong = layer.base.weight + layer.lora_B @ layer.lora_A
    assert not torch.allclose(x @ wrong.T + layer.base.bias, layer(x), atol=1e-4)
    torch.testing.assert_close(layer.merged()(x), layer(x))


def test_errors_name_the_problem(gpt):
    with pytest.raises(ValueError, match="no nn.Linear named"):
        add_lora(gpt, ("attn.query",))
    with pytest.raises(ValueError, match="rank must be"):
        LoRALinear(nn.Linear(4, 4), rank=0, alpha=1)
    with pytest.raises(ValueError, match="exceeds"):
        LoRALinear(nn.Linear(4, 4), rank=5, alpha=1)
    with pytest.raises(ValueError, match="no LoRA adapters"):
        merge_lora(gpt)
    add_lora(gpt, ("mlp.fc",))
    with pytest.raises(ValueError, match="already has LoRA"):
        add_lora(gpt, ("mlp.fc",))


def test_same_trainable_count_and_outputs_as_peft(gpt):
    peft = pytest.importorskip("peft")
    ours = copy.deepcopy(gpt)
    add_lora(ours, TARGETS, rank=4, alpha=8)
    _randomise_b(ours)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=list(TARGETS), lora_dropout=0.0)
    theirs = peft.get_peft_model(copy.deepcopy(gpt), config)
    assert count_parameters(theirs)[0] == count_parameters(ours)[0]
    result = theirs.base_model.model.load_state_dict(to_peft_state(lora_state(ours)), strict=False)
    assert not result.unexpected_keys
    loaded = [k for k in theirs.base_model.model.state_dict() if ".lora_" in k]
    assert len(loaded) == len(lora_state(ours))
    torch.testing.assert_close(theirs(_ids())[0], ours(_ids())[0])
    merged_theirs = theirs.merge_and_unload()
    torch.testing.assert_close(merged_theirs(_ids())[0], merge_lora(ours)(_ids())[0], atol=1e-5, rtol=1e-5)
