"""The sampling playground: samples follow the sliders, are repeatable per seed, match the
GPT's own generate(), and bad input fails with a one-line ValueError."""
import pytest
import torch
from torch import nn

from gencourse.data.chars import CharTokenizer
from gencourse.models.gpt import GPT, GPTConfig
from gencourse.widgets.sampling import SamplingPlayground, draw_samples

TEXT = "\nada\nbob\ncleo\ndora\nemil\n<b>\n"


class Bigram(nn.Module):
    """A stand-in language model: the logits of the next token depend on the current token only."""

    def __init__(self, vocab_size: int, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.table = nn.Embedding(vocab_size, vocab_size)
        with torch.no_grad():
            self.table.weight.mul_(2.0)

    def forward(self, idx):
        return self.table(idx)          # (B, T, V)


@pytest.fixture
def tok():
    return CharTokenizer.fit(TEXT)


@pytest.fixture
def model(tok):
    return Bigram(tok.vocab_size)


def _greedy_by_hand(model, tok, length):
    ids = tok.encode("\n")
    for _ in range(length):
        ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    return tok.decode(ids[1:])


def test_samples_are_a_list_of_strings_cut_at_the_stop_character(model, tok):
    play = SamplingPlayground(model, tok, n_samples=6, max_new_tokens=12)
    assert isinstance(play.samples, list) and len(play.samples) == 6
    assert all(isinstance(s, str) and "\n" not in s and len(s) <= 12 for s in play.samples)
    assert all(set(s) <= set(tok.chars) for s in play.samples)
    assert "6 samples" in play.label.value and "distinct" in play.label.value
    assert play.html.value.count("<li>") == 6


def test_moving_a_control_redraws_and_the_same_seed_repeats(model, tok):
    play = SamplingPlayground(model, tok, n_samples=8, max_new_tokens=10, seed=3)
    first = list(play.samples)
    again = draw_samples(model, tok, n_samples=8, max_new_tokens=10, seed=3)
    assert again == first                                   # repeatable for a seed
    play.temperature.value = 1.8
    assert play.settings["temperature"] == 1.8
    assert play.samples != first and "T=1.80" in play.label.value
    play.temperature.value = 1.0
    assert play.samples == first
    play.button.click()                                     # next seed
    assert play.seed.value == 4 and play.samples != first


def test_greedy_top_k_1_and_a_tiny_top_p_all_give_the_argmax_path(model, tok):
    expected = _greedy_by_hand(model, tok, 10).split("\n")[0]
    play = SamplingPlayground(model, tok, n_samples=4, max_new_tokens=10)
    play.greedy.value = True
    assert play.samples == [expected] * 4 and "greedy" in play.label.value
    play.greedy.value = False
    play.top_k.value = 1
    assert play.samples == [expected] * 4
    play.top_k.value = 0
    play.top_p.value = 0.05
    assert play.samples == [expected] * 4
    assert "top-p 0.05" in play.label.value


def test_low_temperature_is_less_diverse_than_high(model, tok):
    cold = draw_samples(model, tok, n_samples=64, max_new_tokens=8, temperature=0.2, seed=0)
    hot = draw_samples(model, tok, n_samples=64, max_new_tokens=8, temperature=2.0, seed=0)
    assert len(set(cold)) < len(set(hot))


def test_known_strings_are_counted_and_marked(model, tok):
    play = SamplingPlayground(model, tok, n_samples=5, max_new_tokens=6, greedy=True)
    greedy = play.samples[0]
    marked = SamplingPlayground(model, tok, n_samples=5, max_new_tokens=6, greedy=True, known={greedy})
    assert "0 not in the training set" in marked.label.value and "(new)" not in marked.html.value
    unmarked = SamplingPlayground(model, tok, n_samples=5, max_new_tokens=6, greedy=True, known={"zzz"})
    assert "5 not in the training set" in unmarked.label.value and unmarked.html.value.count("(new)") == 5


def test_samples_are_html_escaped(tok):
    model = Bigram(tok.vocab_size)
    lt, b, gt = tok.encode("<b>")
    with torch.no_grad():                                   # force "\n" -> "<" -> "b" -> ">" -> "\n"
        model.table.weight.fill_(-10.0)
        for a, z in ((tok.encode("\n")[0], lt), (lt, b), (b, gt), (gt, tok.encode("\n")[0])):
            model.table.weight[a, z] = 10.0
    play = SamplingPlayground(model, tok, n_samples=2, max_new_tokens=6, greedy=True)
    assert play.samples == ["<b>", "<b>"]
    assert play.html.value.count("&lt;b&gt;") == 2 and "<b>" not in play.html.value


def test_without_a_stop_character_samples_have_max_new_tokens(model, tok):
    play = SamplingPlayground(model, tok, n_samples=3, max_new_tokens=15, stop=None)
    assert [len(s) for s in play.samples] == [15, 15, 15]
    assert "<pre" in play.html.value


def test_draw_samples_equals_gpt_generate_without_cache(tok):
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=16))
    settings = dict(temperature=0.9, top_k=5, top_p=0.9)
    ours = draw_samples(gpt, tok, n_samples=3, max_new_tokens=12, stop=None, seed=7, **settings)
    idx = torch.tensor([tok.encode("\n")] * 3)
    theirs = gpt.generate(idx, 12, use_cache=False, generator=torch.Generator().manual_seed(7), **settings)
    assert ours == [tok.decode(row[1:].tolist()) for row in theirs]     # 12 > block_size: crops too


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=0.0), r"temperature must be > 0"),
    (dict(top_p=1.5), r"top_p must be in \(0, 1\]"),
    (dict(top_k=-1), r"top_k must be a whole number >= 0"),
    (dict(top_k=99), r"top_k=99 exceeds the vocabulary"),
    (dict(n_samples=0), r"n_samples must be a whole number >= 1"),
    (dict(max_new_tokens=2.5), r"max_new_tokens must be a whole number >= 1"),
    (dict(seed=-1), r"seed must be a whole number >= 0"),
    (dict(prompt=""), r"prompt must be a non-empty str"),
    (dict(prompt="xyz"), r"prompt 'xyz' cannot be encoded"),
    (dict(stop="Q"), r"stop character 'Q' is not in the tokenizer's vocabulary"),
    (dict(stop="ab"), r"stop must be a single character"),
])
def test_bad_settings_raise_one_line_value_errors(model, tok, kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        SamplingPlayground(model, tok, **kwargs)
    assert "\n" not in str(err.value).replace("'\\n'", "")


def test_a_model_that_does_not_fit_the_tokenizer_is_rejected(tok):
    with pytest.raises(ValueError, match=rf"predicts 5 tokens but the tokenizer has {tok.vocab_size}"):
        SamplingPlayground(Bigram(5), tok)
    with pytest.raises(ValueError, match=r"the model failed on the encoded prompt"):
        SamplingPlayground(Bigram(3), CharTokenizer.fit("abcdefgh\n"), prompt="h")
    with pytest.raises(ValueError, match=r"must be a torch\.nn\.Module"):
        SamplingPlayground(lambda idx: idx, tok)
    with pytest.raises(ValueError, match=r"no encode\(\) method"):
        SamplingPlayground(Bigram(tok.vocab_size), object())
    with pytest.raises(ValueError, match=r"logits of shape \(1, 1, V\)"):
        SamplingPlayground(nn.Identity(), tok)
