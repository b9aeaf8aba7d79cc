import pytest
import torch

from gencourse.data.molecules import ALPHABET, decode_one_hot, is_valid, one_hot, random_molecules


@pytest.mark.parametrize("s", ["C", "CCO", "CC(C)C", "C1CCCCC1", "N(C)(C)C", "FC(F)(F)F", "C1CC1CO"])
def test_valid_molecules(s):
    assert is_valid(s)


@pytest.mark.parametrize("s, why", [
    ("", "empty"), ("(C)", "starts with a branch"), ("C(", "unclosed branch"), ("C()", "empty branch"),
    ("CC)", "unopened branch"), ("C1CC", "unclosed ring"), ("C1C1", "two-atom ring"),
    ("FCFF", "fluorine with two bonds"), ("O(C)(C)C", "oxygen with three bonds"),
    ("CC(C)(C)(C)C", "carbon with five bonds"), ("CXC", "unknown symbol"),
])
def test_invalid_molecules(s, why):
    assert not is_valid(s), why


def test_random_molecules_are_valid_distinct_short_and_repeatable():
    mols = random_molecules(500, seed=3, max_len=16, max_atoms=6)
    assert len(set(mols)) == 500
    assert all(is_valid(m) and len(m) <= 16 for m in mols)
    assert mols == random_molecules(500, seed=3, max_len=16, max_atoms=6)
    assert any("(" in m for m in mols) and any("1" in m for m in mols)


def test_one_hot_round_trip_and_errors():
    mols = ["CC(O)C", "C1CCC1", "N"]
    x = one_hot(mols, 10)
    assert x.shape == (3, 10 * len(ALPHABET))
    assert torch.equal(x.reshape(3, 10, -1).sum(-1), torch.ones(3, 10))
    assert decode_one_hot(x) == mols
    with pytest.raises(ValueError, match="limit is max_len=4"):
        one_hot(["CCCCC"], 4)
    with pytest.raises(ValueError, match="outside the alphabet"):
        one_hot(["CS"], 4)
    with pytest.raises(ValueError, match="expected shape"):
        decode_one_hot(torch.zeros(2, 10))
