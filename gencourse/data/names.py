"""First names by locale and gender, from the lists that the ``faker`` package ships."""
from __future__ import annotations

import importlib
from functools import lru_cache

# Locales whose faker person provider has separate female and male first-name lists.
NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL",
                "pl_PL", "sv_SE", "hi_IN", "ja_JP")
GENDERS = ("female", "male", "any")


@lru_cache(maxsize=None)
def _provider_lists(locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    module = importlib.import_module(f"faker.providers.person.{locale}")
    provider = module.Provider
    # en_US stores weighted OrderedDicts, most locales plain tuples: keys are the names.
    female = tuple(dict.fromkeys(provider.first_names_female))
    male = tuple(dict.fromkeys(provider.first_names_male))
    return female, male


def load_names(locale: str = "en_US", gender: str = "any") -> list[str]:
    """Sorted, de-duplicated first names for ``locale`` and ``gender``.

    locale: one of NAME_LOCALES; gender: "female", "male" or "any" (the union).
    """
    if locale not in NAME_LOCALES:
        raise ValueError(f"unknown locale {locale!r}; choose one of {', '.join(NAME_LOCALES)}")
    if gender not in GENDERS:
        raise ValueError(f"unknown gender {gender!r}; choose one of {', '.join(GENDERS)}")
    female, male = _provider_lists(locale)
    chosen = {"female": female, "male": male, "any": female + male}[gender]
    return sorted(set(chosen))
