"""A model card renders every section it was given and refuses to be shipped empty."""
from __future__ import annotations

import pytest

from gencourse.ethics.model_card import ModelCard


def _card(**changes):
    fields = dict(name="names GPT", details={"parameters": "340k"}, intended_use=["teaching"],
                  out_of_scope=["naming real people"], training_data="faker's first names",
                  evaluation_data="held-out names", metrics={"test perplexity": "8.01"},
                  factors={"en_US female": "22% [18, 26]"}, ethical_considerations=["skewed locales"],
                  caveats=["characters only"])
    fields.update(changes)
    return ModelCard(**fields)


def test_every_section_appears_in_the_markdown():
    text = _card().to_markdown()
    for part in ("# Model card: names GPT", "## Intended use", "- teaching", "## Out of scope", "naming real people",
                 "| test perplexity | 8.01 |", "## Factors", "| en_US female | 22% [18, 26] |", "skewed locales",
                 "## Caveats", "characters only", "faker's first names", "held-out names"):
        assert part in text, part


def test_an_empty_card_is_refused():
    with pytest.raises(ValueError, match="intended use"):
        _card(intended_use=[])
    with pytest.raises(ValueError, match="metrics"):
        _card(metrics={})
