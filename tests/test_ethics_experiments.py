"""Chapter 10's experiment helpers: the name groups and their generator, the digit detector, and the
token-level tools of the watermark experiments."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from gencourse.experiments.ethics import (
    GROUPS, NameAuditor, NameGenerator, group_tag, name_groups, name_losses, substitute, token_nll,
    tokens_for_characters, train_detector, weighted_names,
)
from gencourse.models.gpt import GPT, GPTConfig


def test_name_groups_are_disjoint_within_and_across_groups():
    split = name_groups(seed=0)
    everyone = Counter()
    for g in GROUPS:
        parts = [set(split.generator[g]), set(split.audit_train[g]), set(split.audit_test[g])]
        assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        everyone.update(set().union(*parts))
    assert max(everyone.values()) == 1, "a name in two groups would make the audit's labels ambiguous"


def test_weighted_names_follow_the_weights_and_tag_by_the_groups_order():
    names = {"x": ["Ann", "Eve"], "y": ["Bo", "Al", "Cy"]}
    out = weighted_names(names, {"y": 0.8, "x": 0.2}, 50, seed=1, tag=True)
    tags = Counter(n[0] for n in out)
    assert tags == {group_tag(0): 10, group_tag(1): 40}, "tags follow the order of the names dict, not of the weights"
    assert all(n[1:] in names["x"] for n in out if n[0] == group_tag(0))
    with pytest.raises(ValueError, match="sum to 1"):
        weighted_names(names, {"x": 0.5, "y": 0.6}, 10)


def test_the_auditor_learns_a_rule_that_is_in_the_letters():
    a = [s + "ina" for s in ("Al", "Ber", "Car", "Dor", "El", "Fr", "Gal", "Hel", "Ir", "Jul")]
    b = [s + "onzo" for s in ("Al", "Ber", "Car", "Dor", "El", "Fr", "Gal", "Hel", "Ir", "Jul")]
    auditor = NameAuditor().fit(a + b, ["a"] * 10 + ["b"] * 10)
    assert list(auditor.predict(["Marina", "Sonzo"])) == ["a", "b"]


def test_the_name_generator_samples_its_own_kind_of_names_and_scores_them_better():
    training = ["Anna", "Hanna", "Joanna", "Susanna", "Marianna", "Ana", "Annabel"] * 20
    model = NameGenerator(order=3).fit(training)
    samples = model.sample(200, seed=0)
    assert len(samples) == 200 and all(set(s) <= set("".join(training)) for s in samples)
    assert np.mean(["nn" in s or s.endswith("a") for s in samples]) > 0.8
    cold, warm = model.sample(300, temperature=0.5, seed=2), model.sample(300, temperature=1.5, seed=2)
    assert model.losses(cold).mean() < model.losses(warm).mean() - 0.1, "sharper sampling gives likelier names"
    losses = model.losses(["Anna", "Mels"])
    assert losses[0] < losses[1]
    with pytest.raises(ValueError, match="never saw"):
        model.losses(["Zoe"])
    tagged = NameGenerator(order=4).fit([group_tag(0) + "Xaver"] * 30 + [group_tag(1) + "Yolanda"] * 30)
    chosen = tagged.sample(50, seed=1, prefix=group_tag(1))
    assert all(n.startswith("Y") for n in chosen) and Counter(chosen).most_common(1)[0][0] == "Yolanda", \
        "the tag must select the group"


def test_the_detector_separates_digits_from_noise_on_new_images():
    from gencourse.data import load_digits
    digits = load_digits()
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(200, 1, 8, 8, generator=g)
    score = train_detector(digits.x_train[:200], noise, steps=60, seed=0)
    fresh = torch.rand(100, 1, 8, 8, generator=g)
    auc = roc_auc_score(np.r_[np.ones(100), np.zeros(100)], np.r_[score(digits.x_test[:100]), score(fresh)])
    assert auc > 0.95


def _tiny_gpt() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=16)).eval()


def test_token_nll_is_the_models_cross_entropy_with_a_sliding_window():
    model = _tiny_gpt()
    ids = torch.randint(11, (3, 5), generator=torch.Generator().manual_seed(1))
    logits, _ = model(ids[:, :-1])
    expected = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    assert torch.allclose(token_nll(model, ids), expected, atol=1e-5)
    long = torch.randint(11, (2, 12), generator=torch.Generator().manual_seed(2))
    last, _ = model(long[:, -7:-1])                          # the last token sees the 6 before it
    assert torch.allclose(token_nll(model, long)[:, -1],
                          torch.nn.functional.cross_entropy(last[:, -1], long[:, -1], reduction="none"), atol=1e-5)


def test_substitute_replaces_about_the_share_asked_and_never_the_first_token():
    ids = torch.zeros(50, 101, dtype=torch.long)
    assert torch.equal(substitute(ids, 0.0, 1000), ids)
    for share in (0.1, 0.3):
        out = substitute(ids, share, 1000, seed=3)
        assert (out[:, 0] == 0).all()
        assert share - 0.03 < float((out[:, 1:] != 0).float().mean()) < share + 0.03
        assert torch.equal(out, substitute(ids, share, 1000, seed=3))


def test_name_losses_score_each_name_and_its_newline_alone():
    from gencourse.data.chars import CharTokenizer
    tokenizer = CharTokenizer.fit(["\nAbc\nBd\n", "Cae"])
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=6, n_layer=1, n_head=2, n_embd=16)).eval()
    names = ["Abc", "Bd", "Cabeda"]                            # the last is longer than the context: cut
    got = name_losses(model, tokenizer, names)
    for name, loss in zip(names, got):
        ids = torch.tensor([tokenizer.encode("\n" + name + "\n")[:7]])
        assert torch.isclose(loss, token_nll(model, ids).mean(), atol=1e-5)


def test_tokens_for_characters_counts_decoded_text():
    words = ["ab", "cde", "f", "ghij"]
    decode = lambda ids: "".join(words[i] for i in ids)         # noqa: E731
    ids = torch.tensor([0, 1, 2, 3])
    assert [tokens_for_characters(ids, decode, c) for c in (1, 2, 3, 6, 7, 99)] == [1, 1, 2, 3, 4, 4]
