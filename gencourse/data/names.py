"""First names by locale and gender, from the lists that the ``faker`` package ships."""
from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from functools import lru_cache

# Latin-script locales: one alphabet (with accents), so a character model of all of them stays
# small. "en" is faker's base English list (6,824 US first names; en_US's 690 are a subset of
# it, kept because en_US is load_names' default locale); together the 32 give 16,690 distinct
# names.
SPLIT_LOCALES = ("en", "en_US", "en_GB", "en_IE", "en_NZ", "en_KE", "de_DE", "de_CH", "de_AT",
                 "fr_FR", "fr_BE", "es_ES", "es_CL", "es_CO", "it_IT", "pt_BR", "pt_PT", "nl_NL",
                 "nl_BE", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "is_IS", "ro_RO", "cs_CZ",
                 "sk_SK", "ga_IE", "id_ID", "hr_HR", "sl_SI")
# Locales whose faker person provider has separate female and male first-name lists.
NAME_LOCALES = SPLIT_LOCALES + ("hi_IN", "ja_JP")
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


@dataclass(frozen=True)
class NameSplit:
    """Disjoint lists of first names for training, validation and testing."""
    train: list[str]
    val: list[str]
    test: list[str]


def names_corpus(locales: tuple[str, ...] = SPLIT_LOCALES, seed: int = 0,
                 fractions: tuple[float, float] = (0.1, 0.1)) -> NameSplit:
    """First names of several locales (both genders, de-duplicated) split by name.

    The sorted union of the locales' names is shuffled with ``seed`` and cut into
    train / val / test, val and test taking ``fractions`` of the names: no name is in
    two parts, and the same arguments always give the same split.
    """
    if isinstance(locales, str):
        locales = (locales,)
    if not locales:
        raise ValueError(f"give at least one locale, e.g. one of {', '.join(NAME_LOCALES)}")
    f_val, f_test = fractions
    if not (0 < f_val < 1 and 0 < f_test < 1 and f_val + f_test < 1):
        raise ValueError(f"fractions (val, test) must be in (0, 1) and sum below 1, got {fractions!r}")
    names = sorted({name for locale in locales for name in load_names(locale)})
    random.Random(seed).shuffle(names)
    n_val, n_test = round(len(names) * f_val), round(len(names) * f_test)
    if min(n_val, n_test, len(names) - n_val - n_test) < 1:
        raise ValueError(f"{len(names)} names are too few to split three ways; add locales")
    return NameSplit(train=names[n_val + n_test:], val=names[:n_val], test=names[n_val:n_val + n_test])
