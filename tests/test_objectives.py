"""BERT's masking rule, T5's span corruption, and the encoder / encoder-decoder they train."""
from __future__ import annotations

import pytest
import torch

from gencourse.models.gpt import GPTConfig
from gencourse.models.objectives import IGNORE, mask_tokens, restore_spans, span_batch, span_corrupt
from gencourse.models.seq2seq import Encoder, EncoderDecoder

V, MASK = 50, 50


def test_masking_statistics_follow_15_percent_and_80_10_10():
    ids = torch.randint(0, V, (400, 250), generator=torch.Generator().manual_seed(0))
    inputs, labels = mask_tokens(ids, mask_id=MASK, n_random=V, generator=torch.Generator().manual_seed(1))
    chosen = labels != IGNORE
    n = int(chosen.sum())
    assert abs(n / ids.numel() - 0.15) < 0.005
    assert torch.equal(labels[chosen], ids[chosen])                      # labels are the originals
    assert torch.equal(inputs[~chosen], ids[~chosen])                    # the rest is untouched
    masked = inputs[chosen] == MASK
    same = inputs[chosen] == ids[chosen]
    swapped = ~masked & ~same
    assert abs(float(masked.float().mean()) - 0.8) < 0.01
    # a random replacement equals the original 1/V of the time, so "same" is 10% + 10%/V
    assert abs(float(same.float().mean()) - (0.1 + 0.1 / V)) < 0.01
    assert abs(float(swapped.float().mean()) - (0.1 - 0.1 / V)) < 0.01
    assert int(inputs[chosen][swapped].max()) < V                        # drawn from ordinary tokens


def test_masking_leaves_the_input_unchanged_and_checks_its_arguments():
    ids = torch.arange(40).reshape(2, 20)
    saved = ids.clone()
    mask_tokens(ids, mask_id=MASK, n_random=V)
    assert torch.equal(ids, saved)
    with pytest.raises(ValueError, match="torch.long"):
        mask_tokens(ids.float(), mask_id=MASK, n_random=V)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        mask_tokens(ids, mask_id=MASK, n_random=V, p=1.5)


@pytest.mark.parametrize("T", [2, 5, 16, 64, 257])
def test_span_corruption_round_trip_restores_the_original(T):
    sentinels = list(range(1000, 1100))
    g = torch.Generator().manual_seed(T)
    for _ in range(20):
        seq = torch.randint(0, V, (T,), generator=g)
        inputs, targets = span_corrupt(seq, sentinels, generator=g)
        assert restore_spans(inputs, targets, sentinels) == seq.tolist()
        noise = min(max(1, round(0.15 * T)), T - 1)
        n = int(sum(int(t) in sentinels for t in targets))
        assert len(targets) == noise + n and len(inputs) == T - noise + n
        assert targets[0] == sentinels[0]
        assert [t for t in inputs.tolist() if t in sentinels] == sentinels[:n]


def test_spans_land_anywhere_not_only_at_the_end():
    sentinels = [900]
    starts = set()
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        inputs, _ = span_corrupt(torch.arange(16), sentinels, generator=g)
        starts.add(inputs.tolist().index(900))
    assert min(starts) == 0 and max(starts) == 14 and len(starts) > 10


def test_span_corruption_errors_and_batches():
    with pytest.raises(ValueError, match="sentinel"):
        span_corrupt(torch.arange(100), [900])
    with pytest.raises(ValueError, match="at least 2"):
        span_corrupt(torch.arange(1), [900])
    src, tgt_in, tgt = span_batch(torch.arange(48).reshape(3, 16), [900, 901], 999)
    assert src.shape == (3, 15) and tgt.shape == (3, 3)
    assert torch.equal(tgt_in[:, 0], torch.full((3,), 999)) and torch.equal(tgt_in[:, 1:], tgt[:, :-1])


CONFIG = GPTConfig(vocab_size=30, block_size=10, n_layer=2, n_head=2, n_embd=16)


def test_encoder_sees_both_sides_and_the_decoder_only_the_past():
    torch.manual_seed(0)
    enc = Encoder(CONFIG).eval()
    x = torch.randint(0, 30, (1, 10))
    y = x.clone()
    y[0, 9] = (x[0, 9] + 1) % 30                       # change the last token
    assert not torch.allclose(enc(x)[0][0, 0], enc(y)[0][0, 0])    # position 0 sees it
    model = EncoderDecoder(CONFIG).eval()
    src = torch.randint(0, 30, (1, 8))
    tgt = torch.randint(0, 30, (1, 6))
    tgt2 = tgt.clone()
    tgt2[0, 5] = (tgt[0, 5] + 1) % 30
    a, b = model(src, tgt)[0], model(src, tgt2)[0]
    torch.testing.assert_close(a[0, :5], b[0, :5])     # earlier target positions do not see it
    src2 = src.clone()
    src2[0, 7] = (src[0, 7] + 1) % 30
    assert not torch.allclose(model(src2, tgt)[0][0, 0], a[0, 0])  # every position reads the source


def test_encoder_decoder_loss_and_generation_shapes():
    model = EncoderDecoder(CONFIG)
    src, tgt = torch.randint(0, 30, (4, 8)), torch.randint(0, 30, (4, 5))
    logits, loss = model(src, tgt, tgt)
    assert logits.shape == (4, 5, 30) and loss.ndim == 0
    assert model.generate(src, start_id=0, max_new_tokens=3).shape == (4, 3)
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 11, dtype=torch.long), tgt[:1])
    with pytest.raises(ValueError, match="torch.long"):
        Encoder(CONFIG)(torch.zeros(1, 3))
