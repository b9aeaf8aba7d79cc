import json
import math
import sys

import pytest
import torch

from gencourse.data import load_digits
from gencourse.models.judge import DigitsJudge
from gencourse.zoo import JudgeRecipe, _shift, digits_judge, judge_record


def test_shift_moves_pixels_without_wrapping():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 4] = 1.0
    gen = torch.Generator().manual_seed(0)
    shifted = _shift(x.repeat(200, 1, 1, 1), 1, gen)
    assert shifted.shape == (200, 1, 8, 8)
    positions = {tuple(p) for p in (shifted[:, 0] == 1).nonzero()[:, 1:].tolist()}
    assert positions == {(r, c) for r in (2, 3, 4) for c in (3, 4, 5)}  # all 9 offsets, ±1
    assert torch.equal(_shift(x, 0, gen), x)


def test_judge_shapes_and_errors():
    judge = DigitsJudge()
    assert judge(torch.rand(3, 64)).shape == (3, 10)
    assert judge.features(torch.rand(3, 1, 8, 8)).shape == (3, 128)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\) or \(N, 64\)"):
        judge(torch.rand(3, 1, 28, 28))


def test_digits_judge_is_trained_once_cached_and_accurate(tmp_path, monkeypatch):
    monkeypatch.setenv("GENCOURSE_CACHE", str(tmp_path))
    recipe = JudgeRecipe(steps=800)
    judge = digits_judge(recipe)
    files = sorted(p.name for p in (tmp_path / "zoo").iterdir())
    assert files == [f"digits_judge-{recipe.key()}.json", f"digits_judge-{recipe.key()}.safetensors"]
    record = judge_record(recipe)
    assert record["test_accuracy"] >= 0.97
    digits = load_digits()
    accuracy = float((judge.predict(digits.x_test) == digits.y_test).float().mean())
    assert accuracy == pytest.approx(record["test_accuracy"])
    # A second call loads the same weights instead of training again.
    weights = tmp_path / "zoo" / f"digits_judge-{recipe.key()}.safetensors"
    stamp = weights.stat().st_mtime_ns
    again = digits_judge(recipe)
    assert weights.stat().st_mtime_ns == stamp
    assert all(torch.equal(a, b) for a, b in zip(judge.state_dict().values(), again.state_dict().values()))
    # A different recipe is a different cache entry.
    assert JudgeRecipe(steps=801).key() != recipe.key()
    assert json.loads(weights.with_suffix(".json").read_text())["recipe"]["steps"] == 800


def test_zoo_gpts_are_trained_once_cached_and_reloaded(tmp_path, monkeypatch):
    from dataclasses import replace

    from gencourse.zoo import CODE_GPT, NAMES_GPT, generate_names, gpt_record, names_gpt, zoo_gpt
    monkeypatch.setenv("GENCOURSE_CACHE", str(tmp_path))
    quick = replace(NAMES_GPT, steps=40)          # the mechanics, not the quality (see the record test)
    model, tok = names_gpt(quick)
    files = sorted(p.name for p in (tmp_path / "zoo").iterdir())
    assert files == [f"names_gpt-{quick.key()}.json", f"names_gpt-{quick.key()}.safetensors"]
    record = gpt_record(quick)
    assert record["recipe"]["steps"] == 40 and record["params"] == model.n_params()
    assert record["val_loss"] < math.log(tok.vocab_size)     # 40 steps already beat uniform
    assert model.head.weight is model.tok_emb.weight and not model.training
    weights = tmp_path / "zoo" / f"names_gpt-{quick.key()}.safetensors"
    stamp = weights.stat().st_mtime_ns
    again, tok2 = zoo_gpt(quick)
    assert weights.stat().st_mtime_ns == stamp and tok2.chars == tok.chars
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    names = generate_names(model, tok, 5, seed=0)
    assert len(names) == 5 and all("\n" not in n for n in names)
    assert quick.key() != NAMES_GPT.key() != CODE_GPT.key()
    with pytest.raises(ValueError, match="GPTRecipe"):
        zoo_gpt("names")


def test_the_bpe_code_gpt_caches_its_tokenizer_and_scores_per_character(tmp_path, monkeypatch):
    from dataclasses import asdict, replace

    from gencourse.data.bpe import BPETokenizer
    from gencourse.zoo import CODE_BPE_GPT, CODE_GPT, gpt_record, zoo_gpt
    from gencourse.zoo._cache import recipe_key
    from gencourse.zoo.gpt import corpus_fingerprint
    monkeypatch.setenv("GENCOURSE_CACHE", str(tmp_path))
    quick = replace(CODE_BPE_GPT, steps=3, block_size=16)
    model, tok = zoo_gpt(quick)
    assert isinstance(tok, BPETokenizer) and tok.vocab_size == 512 == model.config.vocab_size
    assert sorted(p.name for p in (tmp_path / "zoo").iterdir())[0] == f"code_bpe_gpt-{quick.key()}.json"
    record = gpt_record(quick)
    text = "def f(x):\n    return x + 1\n"
    assert tok.decode(tok.encode(text)) == text and len(tok.encode(text)) < len(text)
    ratio = record["test_loss"] / record["test_loss_per_char"]          # characters per token on the test files
    assert 1.5 < ratio < 3.5
    # the tokenizer fields leave the character recipes' keys (and so their caches) as they were
    fields = {k: v for k, v in asdict(CODE_GPT).items() if k not in ("tokenizer", "bpe_vocab")}
    assert CODE_GPT.key() == recipe_key({**fields, "python": list(sys.version_info[:2]),
                                         "data_sha256": corpus_fingerprint("code")})
    assert CODE_BPE_GPT.key() != replace(CODE_BPE_GPT, tokenizer="chars", bpe_vocab=0).key()


def test_zoo_gpt_data_holds_out_names_and_files():
    from gencourse.zoo import gpt_data
    names = gpt_data("names")
    text = names.tokenizer.decode(names.val.tolist())
    assert text.startswith("\n") and text.endswith("\n")
    assert not set(text.strip().split("\n")) & set(names.tokenizer.decode(names.train.tolist()).split("\n"))
    with pytest.raises(ValueError, match="names, code"):
        gpt_data("poems")


def test_gpt_recipe_key_changes_when_the_corpus_text_changes(monkeypatch):
    import gencourse.zoo.gpt as zoo_gpt_module
    before = zoo_gpt_module.NAMES_GPT.key()
    monkeypatch.setattr(zoo_gpt_module, "corpus_texts", lambda data: ("\nAda\n", "\nBo\n", "\nCy\n"))
    assert zoo_gpt_module.NAMES_GPT.key() != before, "a changed corpus must not load the old model"


def test_zoo_digit_runs_are_trained_once_and_reloaded_whole(tmp_path, monkeypatch):
    from dataclasses import replace

    from gencourse.experiments.digit_recipes import rebuild
    from gencourse.zoo import DIGITS_CGAN, zoo_digits_run
    from gencourse.zoo.digits import digits_run_cached
    monkeypatch.setenv("GENCOURSE_CACHE", str(tmp_path))
    quick = replace(DIGITS_CGAN, steps=6, checkpoints=(3, 6), n_checkpoint_samples=20)
    assert not digits_run_cached(quick)
    run = zoo_digits_run(quick)
    assert digits_run_cached(quick) and sorted(run.checkpoint_samples) == [3, 6]
    again = zoo_digits_run(quick)                                 # loaded, not retrained
    assert again.seconds == run.seconds and again.recipe == quick
    assert all(torch.equal(a, b) for a, b in zip(run.state.values(), again.state.values()))
    assert torch.equal(again.checkpoint_samples[6], run.checkpoint_samples[6])
    z = torch.randn(4, 32)
    assert torch.equal(rebuild(run)(z, torch.arange(4)), rebuild(again)(z, torch.arange(4)))
    assert len(again.history.steps) == len(run.history.steps)
    with pytest.raises(ValueError, match="Recipe"):
        zoo_digits_run("gan")


def test_build_zoo_trains_only_what_is_missing(tmp_path, monkeypatch):
    import gencourse.zoo.build as build
    monkeypatch.setenv("GENCOURSE_CACHE", str(tmp_path))
    built = []
    monkeypatch.setattr(build, "is_cached", lambda name: name != "digits-ae")
    monkeypatch.setattr(build, "_build_one", lambda name: (built.append(name), (name, 0.5))[1])
    lines = []
    assert build.build_zoo(jobs=1, echo=lines.append) == {"digits-ae": 0.5}
    assert built == ["digits-ae"] and any("judge is cached" in line for line in lines)
    with pytest.raises(ValueError, match="unknown zoo model"):
        build.build_zoo(["gpt"])
    with pytest.raises(ValueError, match="jobs"):
        build.build_zoo(jobs=0)


def test_zoo_cli_lists_models_and_rejects_unknown_names(capsys):
    from gencourse.cli import main
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("judge", "digits-cgan", "digits-gan", "digits-cvae", "digits-ae",
                                        "names-gpt", "code-gpt"))
    assert main(["zoo", "build", "poems"]) == 2
    assert "unknown model" in capsys.readouterr().err
