"""The character tokenizer: exact round trips, errors that say what to do, serialisation."""
import json

import pytest

from gencourse.data import CharTokenizer


def test_round_trip_on_non_ascii_text():
    text = "Zoë, Łukasz, 山田 and Ørjan\n\ttabs"
    tok = CharTokenizer.fit(text)
    assert tok.decode(tok.encode(text)) == text
    assert tok.vocab_size == len(set(text))


def test_vocabulary_is_sorted_and_fits_a_list_of_strings():
    tok = CharTokenizer.fit(["bob", "ada"])
    assert tok.chars == ["a", "b", "d", "o"]
    assert tok.encode("abba") == [0, 1, 1, 0]


def test_unknown_character_and_bad_ids_get_one_line_errors():
    tok = CharTokenizer.fit("abc")
    with pytest.raises(ValueError, match=r"character 'z' is not in the tokenizer's vocabulary"):
        tok.encode("az")
    with pytest.raises(ValueError, match=r"token id 3 is outside \[0, 3\)"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="fit it on non-empty text"):
        CharTokenizer.fit("")
    with pytest.raises(ValueError, match="twice"):
        CharTokenizer(["a", "a"])


def test_json_round_trip():
    tok = CharTokenizer.fit("héllo wörld")
    again = CharTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.chars == tok.chars
    with pytest.raises(ValueError, match="not a character tokenizer"):
        CharTokenizer.from_dict({"type": "bpe"})
