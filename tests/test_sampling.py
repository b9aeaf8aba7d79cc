"""Sampling knobs on hand-made distributions: what is kept, what gets exactly zero probability."""
import math

import pytest
import torch

from gencourse.models.sampling import sample_next, top_k_filter, top_p_filter


def logits_of(probs):
    return torch.tensor([probs]).log()


def kept(filtered):
    return torch.isfinite(filtered[0]).nonzero().flatten().tolist()


def test_top_k_keeps_exactly_the_k_largest():
    logits = logits_of([0.1, 0.4, 0.05, 0.3, 0.15])
    assert kept(top_k_filter(logits, 1)) == [1]
    assert kept(top_k_filter(logits, 3)) == [1, 3, 4]
    assert torch.equal(top_k_filter(logits, 3)[0, [1, 3, 4]], logits[0, [1, 3, 4]])  # untouched
    assert kept(top_k_filter(logits, 5)) == [0, 1, 2, 3, 4]
    assert kept(top_k_filter(logits, 50)) == [0, 1, 2, 3, 4]


def test_top_k_breaks_ties_towards_lower_ids_and_keeps_exactly_k():
    logits = torch.tensor([[1.0, 2.0, 2.0, 2.0, 0.0]])
    assert kept(top_k_filter(logits, 2)) == [1, 2]


def test_top_k_works_on_batches_row_by_row():
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    out = top_k_filter(logits, 1)
    assert torch.isfinite(out).tolist() == [[True, False, False], [False, False, True]]


@pytest.mark.parametrize("p, expected", [
    (0.3, [1]),            # the top token alone (0.4) already reaches 0.3
    (0.4, [1]),            # exactly reaches p: nothing more
    (0.41, [1, 3]),
    (0.7, [1, 3]),         # 0.4 + 0.3 = 0.7 reaches p exactly
    (0.71, [1, 3, 4]),
    (0.85, [1, 3, 4]),     # 0.85 exactly
    (0.9, [0, 1, 3, 4]),
    (1.0, [0, 1, 2, 3, 4]),
])
def test_top_p_keeps_the_smallest_set_reaching_p(p, expected):
    logits = logits_of([0.1, 0.4, 0.05, 0.3, 0.15])
    assert kept(top_p_filter(logits, p)) == expected


def test_top_p_always_keeps_the_most_likely_token_and_breaks_ties_by_id():
    logits = logits_of([0.2, 0.4, 0.4])
    assert kept(top_p_filter(logits, 0.01)) == [1]
    assert kept(top_p_filter(logits, 0.5)) == [1, 2]
    assert kept(top_p_filter(logits_of([0.25] * 4), 0.5)) == [0, 1]


def test_top_p_of_one_keeps_every_token_even_next_to_a_dominant_one():
    # softmax([20, 0, 0]) puts 2e-9 on each small token: the cumulative mass before them is within
    # rounding of 1, but p = 1 means no filtering at all.
    logits = torch.tensor([[20.0, 0.0, 0.0]])
    out = top_p_filter(logits, 1.0)
    assert torch.equal(out, logits) and out is not logits
    assert kept(top_p_filter(logits, 1)) == [0, 1, 2]


@pytest.mark.parametrize("temperature, top_p, expected", [
    # T = 2 flattens [0.5, 0.3, 0.2] to [0.415, 0.322, 0.263]: the top token alone no longer reaches
    # 0.45, so two tokens stay (filtering before dividing by T would keep only the top token).
    (2.0, 0.45, {0, 1}),
    # T = 0.5 sharpens it to [0.658, 0.237, 0.105]: the top token alone reaches 0.6 (filtering
    # before dividing by T would keep two).
    (0.5, 0.6, {0}),
])
def test_temperature_is_applied_before_top_p(temperature, top_p, expected):
    logits = logits_of([0.5, 0.3, 0.2]).repeat(2000, 1)
    draws = sample_next(logits, temperature=temperature, top_p=top_p, generator=torch.Generator().manual_seed(4))
    assert set(draws.tolist()) == expected


def test_draw_samples_rejects_an_empty_prompt_like_the_playground():
    from gencourse.data.chars import CharTokenizer
    from gencourse.models.gpt import GPT, GPTConfig
    from gencourse.widgets.sampling import SamplingPlayground, draw_samples

    tok = CharTokenizer.fit("\nada\nbob\n")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8))
    messages = []
    for make in (lambda: draw_samples(model, tok, prompt=""), lambda: SamplingPlayground(model, tok, prompt="")):
        with pytest.raises(ValueError, match="prompt must be a non-empty str") as err:
            make()
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "\n" not in messages[0]


def test_top_p_ignores_temperature_free_shift_of_logits():
    logits = logits_of([0.1, 0.4, 0.05, 0.3, 0.15])
    assert kept(top_p_filter(logits + 100.0, 0.7)) == [1, 3]


def test_filtered_tokens_are_never_drawn_and_kept_ones_keep_their_ratios():
    probs = [0.1, 0.4, 0.05, 0.3, 0.15]
    logits = logits_of(probs).repeat(20000, 1)
    gen = torch.Generator().manual_seed(0)
    draws = sample_next(logits, top_p=0.7, generator=gen)
    counts = torch.bincount(draws, minlength=5)
    assert counts[[0, 2, 4]].sum() == 0
    # Renormalised over {1, 3}: 4/7 and 3/7.
    assert abs(counts[1].item() / 20000 - 4 / 7) < 0.015
    draws = sample_next(logits, top_k=2, generator=gen)
    assert set(draws.tolist()) == {1, 3}


def test_temperature_sharpens_and_flattens():
    logits = logits_of([0.7, 0.2, 0.1]).repeat(20000, 1)
    gen = torch.Generator().manual_seed(1)
    cold = torch.bincount(sample_next(logits, temperature=0.5, generator=gen), minlength=3) / 20000
    hot = torch.bincount(sample_next(logits, temperature=2.0, generator=gen), minlength=3) / 20000
    # T = 0.5 squares the probabilities before renormalising: 0.49 / 0.54.
    assert abs(cold[0].item() - 0.49 / 0.54) < 0.015
    z = sum(math.sqrt(q) for q in (0.7, 0.2, 0.1))
    assert abs(hot[0].item() - math.sqrt(0.7) / z) < 0.015


def test_greedy_is_the_argmax_with_the_lowest_id_on_ties():
    logits = torch.tensor([[0.0, 5.0, 5.0], [9.0, 1.0, 2.0]])
    assert sample_next(logits, greedy=True).tolist() == [1, 0]


def test_sampling_is_repeatable_with_a_generator():
    logits = torch.randn(4, 50)
    a = sample_next(logits, generator=torch.Generator().manual_seed(3))
    b = sample_next(logits, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (4,) and a.dtype == torch.long


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0}, "temperature must be > 0"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"top_k": 0}, "top_k must be a whole number >= 1"),
    ({"top_k": 2.5}, "top_k must be a whole number >= 1"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
])
def test_bad_arguments_give_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        sample_next(torch.zeros(1, 3), **kwargs)
    assert "\n" not in str(err.value)


def test_greedy_needs_no_temperature_and_logits_must_be_2d():
    assert sample_next(torch.tensor([[0.0, 1.0]]), greedy=True, temperature=0).tolist() == [1]
    with pytest.raises(ValueError, match=r"\(B, V\)"):
        sample_next(torch.zeros(3))
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(torch.zeros(1, 3), 0)
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(torch.zeros(1, 3), 2)
