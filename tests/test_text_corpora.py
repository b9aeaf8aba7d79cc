"""Chapter 06's text data: names split by name, stdlib code split by file, stdlib prose."""
import pytest

from gencourse.data.corpus import code_corpus, stdlib_prose
from gencourse.data.names import SPLIT_LOCALES, load_names, names_corpus


def test_names_corpus_is_a_deterministic_disjoint_split_of_all_locales():
    split = names_corpus()
    parts = [set(split.train), set(split.val), set(split.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    union = set().union(*parts)
    assert union == {n for loc in SPLIT_LOCALES for n in load_names(loc)}
    assert len(split.val) == pytest.approx(0.1 * len(union), abs=1)
    assert names_corpus() == split
    assert names_corpus(seed=1).val != split.val
    assert "Heinz-Günter" in union and len(split.train) > 3000


def test_names_corpus_errors():
    with pytest.raises(ValueError, match="unknown locale"):
        names_corpus(("xx_XX",))
    with pytest.raises(ValueError, match="fractions"):
        names_corpus(fractions=(0.6, 0.5))
    assert names_corpus("fr_FR").train   # one locale given as a string works too


def test_code_corpus_holds_out_whole_files():
    split = code_corpus()
    files = split.files
    assert not set(files["train"]) & set(files["val"]) and not set(files["val"]) & set(files["test"])
    total = len(split.train) + len(split.val) + len(split.test)
    assert 0.1 <= len(split.val) / total < 0.3 and 0.1 <= len(split.test) / total < 0.3
    assert "def " in split.val and "import " in split.train
    assert code_corpus() == split and code_corpus(seed=1).files != files
    with pytest.raises(ValueError, match="no standard-library module"):
        code_corpus(("json", "not_a_module"))
    with pytest.raises(ValueError, match="split three ways"):
        code_corpus(("bisect", "copy"))


def test_stdlib_prose_is_english_like_text_of_the_requested_size():
    text = stdlib_prose(50_000)
    assert len(text) == 50_000 and text.isascii()
    words = text.split()
    common = sum(w.lower() in {"the", "a", "of", "to", "is", "and", "in"} for w in words)
    assert common / len(words) > 0.1              # English prose, not code
    assert "def " not in text[:5000] or text.count("def ") < 20
    assert stdlib_prose(50_000) == text
    with pytest.raises(ValueError, match="positive int"):
        stdlib_prose(0)
