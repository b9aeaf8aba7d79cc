"""The green-list watermark: its lists, its z-test against a hand computation, and its power."""
from __future__ import annotations

import math

import pytest
import torch

from gencourse.ethics.watermark import Detection, WatermarkProcessor, detect, green_table


def test_green_lists_have_the_right_size_and_depend_on_the_key_and_previous_token():
    table = green_table(20, 0.25, key=7)
    assert table.shape == (20, 20) and table.sum(dim=1).tolist() == [5] * 20
    assert torch.equal(table, green_table(20, 0.25, key=7))
    assert not torch.equal(table, green_table(20, 0.25, key=8))
    assert len({tuple(row.tolist()) for row in table}) > 15              # rows differ with the previous token


def test_z_score_matches_a_hand_computation():
    table = torch.zeros(4, 4, dtype=torch.bool)
    table[:, 0] = True                                                    # token 0 is green after anything: γ = 1/4
    tokens = [1, 0, 0, 2, 0, 3, 1]                                        # pairs: (1,0) (0,0) (0,2) (2,0) (0,3) (3,1)
    d = detect(tokens, table)
    green, t = 3, 6
    assert d.green == green and d.scored == t
    assert d.z == pytest.approx((green - 0.25 * t) / math.sqrt(t * 0.25 * 0.75))


def test_repeated_pairs_are_counted_once():
    table = torch.zeros(3, 3, dtype=torch.bool)
    table[:, 2] = True
    repeated = [1, 2] * 10
    assert detect(repeated, table).scored == 2                      # (1, 2) and (2, 1)
    assert detect(repeated, table, ignore_repeats=False).scored == 19


def test_unwatermarked_random_text_gives_z_near_zero():
    table = green_table(50, 0.25, key=1)
    g = torch.Generator().manual_seed(0)
    zs = torch.tensor([detect(torch.randint(50, (200,), generator=g), table).z for _ in range(200)])
    assert abs(float(zs.mean())) < 0.25 and 0.8 < float(zs.std()) < 1.2
    assert float((zs > 4).float().mean()) == 0.0


def test_the_processor_shifts_probability_onto_green_tokens():
    table = green_table(10, 0.5, key=3)
    idx = torch.tensor([[4], [7]])
    logits = torch.zeros(2, 10)
    out = WatermarkProcessor(table, delta=2.0)(idx, logits)
    assert torch.equal(out, 2.0 * table[[4, 7]].float())
    probs = out.softmax(dim=1)
    assert float((probs * table[[4, 7]]).sum(dim=1).min()) == pytest.approx(math.exp(2) / (math.exp(2) + 1))


def test_a_watermarked_sampler_is_detected():
    table = green_table(30, 0.25, key=5)
    processor = WatermarkProcessor(table, delta=4.0)
    g = torch.Generator().manual_seed(0)
    idx = torch.zeros(1, 1, dtype=torch.long)
    for _ in range(150):                                                  # a "model" with flat logits
        logits = processor(idx, torch.zeros(1, 30))
        idx = torch.cat([idx, torch.multinomial(logits.softmax(dim=1), 1, generator=g)], dim=1)
    assert detect(idx[0], table).flagged()
    assert not detect(idx[0], green_table(30, 0.25, key=6)).flagged()    # the wrong key sees nothing


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        green_table(10, 1.0, key=0)
    with pytest.raises(ValueError, match="at least one token"):
        green_table(3, 0.1, key=0)
    with pytest.raises(ValueError, match="same tokenizer"):
        detect([0, 5], green_table(4, 0.5, key=0))
    assert math.isnan(detect([1], green_table(4, 0.5, key=0)).z)
    assert isinstance(detect([1, 2], green_table(4, 0.5, key=0)), Detection)


def test_per_row_settings_match_one_processor_per_setting():
    from gencourse.ethics.watermark import SettingsPerRow
    tables = [green_table(12, 0.25, key=1), green_table(12, 0.5, key=1)]
    settings = torch.tensor([0, 1, 1, 0])
    idx = torch.tensor([[3], [5], [7], [2]])
    logits = torch.randn(4, 12, generator=torch.Generator().manual_seed(0))
    out = SettingsPerRow(tables, [2.0, 0.0], settings)(idx, logits)
    for r, s in enumerate(settings.tolist()):
        expected = WatermarkProcessor(tables[s], [2.0, 0.0][s])(idx[r:r + 1], logits[r:r + 1])
        assert torch.allclose(out[r:r + 1], expected)


def test_the_recorded_cost_is_the_models_own_loss_on_its_samples():
    from gencourse.ethics.watermark import SettingsPerRow
    from gencourse.experiments.ethics import token_nll
    from gencourse.models.gpt import GPT, GPTConfig
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=2, n_embd=16)).eval()
    tables = [green_table(12, 0.5, key=1)]
    processor = SettingsPerRow(tables * 2, [0.0, 3.0], torch.tensor([0, 0, 1, 1]))
    out = model.generate(torch.zeros(4, 1, dtype=torch.long), 12, generator=torch.Generator().manual_seed(0),
                         logits_processor=processor)
    expected = token_nll(model, out)[:, :-1].mean(dim=1)          # every sampled token but the last
    assert torch.allclose(processor.nll(), expected, atol=1e-5)


def test_the_recorded_entropy_is_that_of_the_unwatermarked_distributions():
    from gencourse.ethics.watermark import SettingsPerRow
    torch.manual_seed(0)
    uniform, peaked = torch.zeros(1, 12), torch.full((1, 12), -30.0)
    peaked[0, 4] = 0.0
    processor = SettingsPerRow([green_table(12, 0.25, key=1)], [4.0], torch.tensor([0, 0]))
    processor(torch.tensor([[1], [2]]), torch.cat([uniform, peaked]))
    # the watermark's δ must not leak into the recorded entropy: ln 12 for uniform logits, 0 for a spike
    assert torch.allclose(processor.entropy(), torch.tensor([math.log(12), 0.0]), atol=1e-4)


def test_the_recorded_distortion_is_the_kl_from_plain_to_watermarked_sampling():
    from gencourse.ethics.watermark import SettingsPerRow
    table = green_table(12, 0.25, key=1)
    logits = torch.randn(2, 12, generator=torch.Generator().manual_seed(0))
    processor = SettingsPerRow([table, table], [0.0, 2.0], torch.tensor([0, 1]))
    idx = torch.tensor([[5], [5]])
    marked = processor(idx, logits)
    p, q = torch.softmax(logits[1], -1), torch.softmax(marked[1], -1)
    kl = processor.kl()
    assert kl[0].abs() < 1e-6, "no watermark, no distortion"
    assert torch.isclose(kl[1], (q * (q / p).log()).sum(), atol=1e-5) and kl[1] > 0.05
