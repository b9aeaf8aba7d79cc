"""The reference GPT: shapes, causality, weight tying, the KV cache, training and files."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gencourse.models.gpt import GPT, GPTConfig, KVCache
from gencourse.models.gpt_train import (
    evaluate_gpt, fit_gpt, load_gpt, lr_factor, plan_training, save_gpt, split_text, train_gpt,
)

SMALL = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=32)


def small_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**SMALL.__dict__, **overrides})).eval()


def lively_model(seed=0):
    """Random weights large enough that greedy generation does not just repeat one token
    (small token embeddings: the tied head otherwise favours the last token)."""
    model = small_model(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" not in name:
                p.normal_(0, 0.02 if name == "tok_emb.weight" else 0.3)
    return model


def test_shapes_and_loss_of_an_untrained_model_is_about_ln_v():
    model = GPT(GPTConfig(vocab_size=65)).eval()
    idx = torch.randint(65, (8, 64), generator=torch.Generator().manual_seed(0))
    targets = torch.randint(65, (8, 64), generator=torch.Generator().manual_seed(1))
    logits, loss = model(idx, targets)
    assert logits.shape == (8, 64, 65)
    assert abs(loss.item() - math.log(65)) < 0.05
    assert model(idx)[1] is None


def test_weights_are_tied_and_counted_once():
    model = small_model()
    assert model.head.weight is model.tok_emb.weight
    assert model.n_params() == SMALL.n_params()
    assert sum(p.numel() for p in model.parameters()) == model.n_params()


def test_init_follows_gpt2_with_scaled_residual_projections():
    model = GPT(GPTConfig(vocab_size=50, n_layer=8, n_embd=256, n_head=4))
    assert abs(model.blocks[0].attn.qkv.weight.std().item() - 0.02) < 0.001
    assert abs(model.blocks[0].mlp.proj.weight.std().item() - 0.02 / 4) < 0.0005
    assert abs(model.blocks[3].attn.proj.weight.std().item() - 0.02 / 4) < 0.0005
    assert model.blocks[0].attn.qkv.bias.abs().max() == 0


def test_changing_a_future_token_never_changes_earlier_logits():
    model = small_model()
    idx = torch.randint(11, (1, 16), generator=torch.Generator().manual_seed(0))
    changed = idx.clone()
    changed[0, 10] = (idx[0, 10] + 1) % 11
    a, b = model(idx)[0], model(changed)[0]
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)
    assert not torch.allclose(a[:, 10:], b[:, 10:], atol=1e-4)


class ScratchGPT(nn.Module):
    """An independent implementation with manual attention and the same parameter names."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.c = c
        self.tok_emb = nn.Embedding(c.vocab_size, c.n_embd)
        self.pos_emb = nn.Embedding(c.block_size, c.n_embd)
        self.blocks = nn.ModuleList()
        for _ in range(c.n_layer):
            b = nn.Module()
            b.ln1, b.ln2 = nn.LayerNorm(c.n_embd), nn.LayerNorm(c.n_embd)
            b.attn = nn.Module()
            b.attn.qkv, b.attn.proj = nn.Linear(c.n_embd, 3 * c.n_embd), nn.Linear(c.n_embd, c.n_embd)
            b.mlp = nn.Module()
            b.mlp.fc, b.mlp.proj = nn.Linear(c.n_embd, 4 * c.n_embd), nn.Linear(4 * c.n_embd, c.n_embd)
            self.blocks.append(b)
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.head = nn.Linear(c.n_embd, c.vocab_size, bias=False)

    def forward(self, idx):
        B, T = idx.shape
        H, C = self.c.n_head, self.c.n_embd
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T))
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for b in self.blocks:
            q, k, v = b.attn.qkv(b.ln1(x)).split(C, dim=-1)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            x = x + b.attn.proj((att @ v).transpose(1, 2).reshape(B, T, C))
            x = x + b.mlp.proj(F.gelu(b.mlp.fc(b.ln2(x))))
        return self.head(self.ln_f(x))


def test_agrees_with_a_from_scratch_model_with_manual_attention():
    model = small_model()
    scratch = ScratchGPT(SMALL)
    scratch.load_state_dict(model.state_dict())
    idx = torch.randint(11, (3, 16), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(model(idx)[0], scratch(idx), atol=1e-5)


@pytest.mark.parametrize("prompt_len, new", [(1, 15), (5, 11), (3, 40), (20, 10)])
def test_cached_greedy_generation_equals_uncached(prompt_len, new):
    # (3, 40) and (20, 10) run past block_size=16: the sliding-window fallback.
    model = lively_model(seed=4)
    prompt = torch.randint(11, (2, prompt_len), generator=torch.Generator().manual_seed(2))
    cached = model.generate(prompt, new, greedy=True, use_cache=True)
    uncached = model.generate(prompt, new, greedy=True, use_cache=False)
    assert cached.shape == (2, prompt_len + new)
    assert torch.equal(cached[:, :prompt_len], prompt)
    assert torch.equal(cached, uncached)
    assert len(set(cached[:, prompt_len:].flatten().tolist())) > 2   # not a degenerate constant output


def test_cache_in_chunks_gives_the_same_logits_as_one_pass():
    model = small_model(seed=3)
    idx = torch.randint(11, (2, 12), generator=torch.Generator().manual_seed(0))
    cache = KVCache(SMALL.n_layer)
    parts = [model(idx[:, :5], cache=cache)[0], model(idx[:, 5:6], cache=cache)[0],
             model(idx[:, 6:], cache=cache)[0]]
    assert cache.length == 12 and cache.keys[1].shape == (2, 2, 12, 16)
    assert torch.allclose(torch.cat(parts, dim=1), model(idx)[0], atol=1e-5)
    with pytest.raises(ValueError, match="block_size=16"):
        model(idx[:, :5], cache=cache)


def test_sampled_generation_is_repeatable_and_respects_top_k():
    model = small_model(seed=4)
    prompt = torch.zeros(1, 1, dtype=torch.long)
    a = model.generate(prompt, 30, temperature=1.0, generator=torch.Generator().manual_seed(0))
    b = model.generate(prompt, 30, temperature=1.0, generator=torch.Generator().manual_seed(0),
                       use_cache=False)
    assert torch.equal(a, b)
    one = model.generate(prompt, 30, top_k=1, generator=torch.Generator().manual_seed(5))
    assert torch.equal(one, model.generate(prompt, 30, greedy=True))


def test_generate_restores_training_mode_and_checks_arguments():
    model = small_model().train()
    model.generate(torch.zeros(1, 2, dtype=torch.long), 3)
    assert model.training
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(torch.zeros(1, 2, dtype=torch.long), -1)
    with pytest.raises(ValueError, match=r"\(B, T0\)"):
        model.generate(torch.zeros(2, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="block_size=16"):
        model(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.parametrize("idx, message", [
    (torch.tensor([[1.0, 2.0]]), r"integer token ids \(torch\.long\), got dtype torch\.float32"),
    (torch.tensor([[True, False]]), r"integer token ids \(torch\.long\), got dtype torch\.bool"),
    (torch.tensor([[3, 11, 2]]), r"token id 11 is outside \[0, 11\): this model has vocab_size=11"),
    (torch.tensor([[3, -1, 2]]), r"token id -1 is outside \[0, 11\)"),
])
def test_ids_that_are_not_tokens_of_this_model_give_one_line_errors(idx, message):
    """A tokenizer with more tokens than the model (or float ids) fails with a ValueError that names the
    vocabulary size, not an index error deep inside the embedding."""
    with pytest.raises(ValueError, match=message) as err:
        small_model()(idx)
    assert "\n" not in str(err.value)
    assert small_model()(torch.tensor([[0, 10]], dtype=torch.int32))[0].shape == (1, 2, 11)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_embd": 30, "n_head": 4}, "not divisible by n_head=4"),
    ({"n_layer": 0}, "n_layer must be a whole number >= 1"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
])
def test_config_errors_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(vocab_size=10, **kwargs)


def test_evaluate_scores_every_token_once_whatever_the_stride():
    model = small_model(seed=5)
    ids = torch.randint(11, (100,), generator=torch.Generator().manual_seed(0))
    # Oracle: non-overlapping windows of 16 inputs starting at 0, 16, ..., 80; the last 3
    # targets (97..99) are scored after a full window of context, ids[83:99].
    total, count = 0.0, 0
    for a in range(0, 96, 16):
        logits = model(ids[a:a + 16][None])[0]
        total += F.cross_entropy(logits[0], ids[a + 1:a + 17], reduction="sum").item()
        count += 16
    logits = model(ids[83:99][None])[0]
    total += F.cross_entropy(logits[0, -3:], ids[97:100], reduction="sum").item()
    count += 3
    assert evaluate_gpt(model, ids) == pytest.approx(total / count, rel=1e-5)
    # One token at a time with the full 16-token context, by hand:
    total = sum(F.cross_entropy(model(ids[max(0, t - 16):t][None])[0][0, -1:], ids[t:t + 1]).item()
                for t in range(1, 100))
    assert evaluate_gpt(model, ids, stride=1) == pytest.approx(total / 99, rel=1e-5)


def test_fit_gpt_learns_a_repeating_text_and_records_history():
    ids = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 40)
    model = small_model(seed=0)
    history = fit_gpt(model, ids, 60, batch_size=16, lr=1e-2, warmup=5, val_ids=ids[:60],
                      eval_every=20, progress=False)
    assert history.steps == [20, 40, 60] and len(history.values["val"]) == 3
    assert history.values["val"][-1] < 0.1 < math.log(11)
    assert evaluate_gpt(model, ids) < 0.1
    assert not model.training


def test_fit_gpt_is_repeatable_for_a_seed():
    ids = torch.randint(11, (500,), generator=torch.Generator().manual_seed(0))
    runs = []
    for _ in range(2):
        model = small_model(seed=0)
        fit_gpt(model, ids, 20, batch_size=8, seed=7, progress=False)
        runs.append(model.tok_emb.weight.detach().clone())
    assert torch.equal(*runs)


def test_learning_rate_warms_up_then_follows_a_cosine():
    assert lr_factor(0, 0.0, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 0.0, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor(100, 0.5, 10, 0.1) == pytest.approx(0.55)
    assert lr_factor(100, 1.0, 10, 0.1) == pytest.approx(0.1)


def test_save_and_load_round_trip(tmp_path):
    from gencourse.data.chars import CharTokenizer
    tok = CharTokenizer.fit("abcdefghijk")
    model = small_model(seed=6)
    save_gpt(tmp_path / "m", model, tok, {"val_loss": 1.5})
    again, tok2, record = load_gpt(tmp_path / "m")
    assert record == {"val_loss": 1.5} and tok2.chars == tok.chars and again.config == SMALL
    assert again.head.weight is again.tok_emb.weight
    idx = torch.randint(11, (2, 9))
    assert torch.equal(again(idx)[0], model(idx)[0])
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "model.safetensors", "tokenizer.json"]
    with pytest.raises(FileNotFoundError, match="gencourse gpt train"):
        load_gpt(tmp_path)


def test_split_text_errors():
    train, val = split_text("x" * 1000, 0.1)
    assert len(val) == 100 and train + val == "x" * 1000
    with pytest.raises(ValueError, match="empty"):
        split_text("")
    with pytest.raises(ValueError, match="give at least 160 characters"):
        split_text("abc" * 30)


def test_plan_training_picks_bigger_models_for_bigger_budgets():
    small = plan_training(200_000, 60, 1.0, "cpu")
    big = plan_training(300_000, 60, 1e5, "cpu")      # data caps it at 600k weights: rung 2
    assert small.config.n_params() < big.config.n_params()
    tiny_data = plan_training(2_000, 30, 600.0, "cpu")
    assert tiny_data.config.n_params() < LADDER_SMALLEST_PARAMS(30)      # the small-data shape
    assert tiny_data.config.n_embd == 32 and tiny_data.config.dropout == 0.0


def LADDER_SMALLEST_PARAMS(vocab):
    from gencourse.models.gpt_train import LADDER
    r = LADDER[0]
    return GPTConfig(vocab, r.block_size, r.n_layer, r.n_head, r.n_embd).n_params()


def test_train_gpt_on_a_small_text_within_its_budget(tmp_path):
    text = "the cat sat on the mat. the dog sat on the log. " * 200
    run = train_gpt(text, seconds=3, out=tmp_path / "run", progress=False)
    assert run.history.seconds < 3.5 and run.steps >= 5    # stops at the budget (less planning time)
    assert run.val_loss < math.log(run.tokenizer.vocab_size) - 0.4
    model, tok, record = load_gpt(tmp_path / "run")
    assert record["val_loss"] == pytest.approx(run.val_loss)
    assert tok.decode(tok.encode("the cat")) == "the cat"


def test_the_trainer_is_reachable_from_the_model_module():
    import gencourse.models.gpt as gpt
    import gencourse.models.gpt_train as gpt_train
    assert gpt.train_gpt is gpt_train.train_gpt and gpt.load_gpt is gpt_train.load_gpt
    with pytest.raises(AttributeError):
        gpt.not_a_name
