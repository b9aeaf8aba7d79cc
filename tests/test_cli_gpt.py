"""`gencourse gpt train` and `gencourse gpt sample` on a small file, and their error messages."""
import json
import math

import pytest

from gencourse.cli import main

TEXT = ("It was a bright cold day in April, and the clocks were striking thirteen. "
        "The hallway smelt of boiled cabbage and old rag mats. ") * 60


def test_train_then_sample(tmp_path, capsys):
    src = tmp_path / "story.txt"
    src.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "model"
    assert main(["gpt", "train", str(src), "--seconds", "4", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "held-out loss:" in printed and "nats per character" in printed
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    record = json.loads((out / "config.json").read_text())["record"]
    assert f"{record['val_loss']:.4f}" in printed
    vocab = len(json.loads((out / "tokenizer.json").read_text())["chars"])
    assert record["val_loss"] < math.log(vocab) - 0.4     # it learned something (2.7 on a busy machine)
    assert main(["gpt", "sample", str(out), "--tokens", "40", "--prompt", "The ", "--top-k", "5",
                 "--seed", "1"]) == 0
    sample = capsys.readouterr().out
    assert sample.startswith("The ") and len(sample.rstrip("\n")) >= 44
    assert main(["gpt", "sample", str(out), "--tokens", "40", "--prompt", "The ", "--top-k", "5",
                 "--seed", "1"]) == 0
    assert capsys.readouterr().out == sample            # same seed, same text
    with pytest.raises(SystemExit, match="not in the tokenizer's vocabulary"):
        main(["gpt", "sample", str(out), "--prompt", "Z€"])
    with pytest.raises(SystemExit, match="temperature must be > 0"):
        main(["gpt", "sample", str(out), "--temperature", "0"])


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"hello\x00world" * 40, "looks binary"),
    (b"caf\xe9 au lait " * 40, "not UTF-8 text"),
    (b"too short", "give at least 160 characters"),
])
def test_train_rejects_unusable_files_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    with pytest.raises(SystemExit, match=message) as err:
        main(["gpt", "train", str(path), "--seconds", "1"])
    assert "\n" not in str(err.value)


def test_missing_file_and_missing_model(tmp_path):
    with pytest.raises(SystemExit, match="is not a file"):
        main(["gpt", "train", str(tmp_path / "nope.txt")])
    with pytest.raises(SystemExit, match="gencourse gpt train FILE --out DIR"):
        main(["gpt", "sample", str(tmp_path)])


def test_unknown_option_says_where_to_find_the_options(tmp_path, capsys):
    path = tmp_path / "t.txt"
    path.write_text(TEXT)
    with pytest.raises(SystemExit) as err:
        main(["gpt", "train", str(path), "--epochs", "3"])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert "unrecognised argument(s): --epochs 3" in message
    assert "run `gencourse gpt train --help` to see the options" in message
    with pytest.raises(SystemExit):
        main(["gpt", "sample", str(tmp_path), "--temp", "0.5"])
    assert "gencourse gpt sample --help" in capsys.readouterr().err
