"""ROUGE-L and the response-only rows of chapter 07's instruction tuning, and fine-tuning's errors."""
from __future__ import annotations

import pytest
import torch

from gencourse.data.chars import CharTokenizer
from gencourse.experiments.finetune import finetune
from gencourse.experiments.instruct import Pair, pairs_rows, rouge_l
from gencourse.models.gpt import GPT, GPTConfig


def test_rouge_l_by_hand():
    assert rouge_l("Return the sum.", "Return the sum.") == 1.0
    assert rouge_l("a b c", "x y") == 0.0
    # LCS "return the sum" = 3 words; precision 3/6, recall 3/3
    assert rouge_l("Return the sum of a list.", "Return the sum.") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert rouge_l("sum the return", "return the sum") == pytest.approx(1 / 3)   # order matters


def test_rows_put_the_loss_on_the_response_only():
    pair = Pair("m", "f(x)", "Do it.")
    tok = CharTokenizer.fit(pair.text())
    x, y = pairs_rows([pair], tok)
    scored = tok.decode([t for t in y[0].tolist() if t != -1])
    assert scored == "Do it.\n"
    assert tok.decode(x[0, : len(pair.text()) - 1].tolist()) == pair.text()[:-1]


def test_finetune_refuses_what_it_cannot_do():
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8))
    ids = torch.randint(0, 5, (50,))
    with pytest.raises(ValueError, match="general_ids"):
        finetune(model, ids, 1, general_share=0.5)
    with pytest.raises(ValueError, match="rows"):
        finetune(model, (ids[:8].view(2, 4), ids[:8].view(2, 4)), 1, general_share=0.5, general_ids=ids)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        finetune(model, ids, 1)
