"""A toy molecular string language: SMILES-like strings with a checkable grammar.

No molecule dataset ships with the course's packages, so chapter 04 demonstrates
what a VAE over molecular strings does on a small language that shares SMILES's
difficulties ("SMILES", Weininger, 1988):

    atoms     C (4 bonds), N (3), O (2), F (1); hydrogens are implicit, bonds single
    branches  "(...)" after an atom: a side chain, e.g. "CC(O)C"
    rings     a digit after two atoms bonds them, e.g. "C1CCCC1" is a five-membered ring

A string is **valid** if it parses (branches balanced and non-empty, every ring digit
closed, a ring at least 3 atoms long) and no atom has more bonds than its valence.
``random_molecules`` draws valid strings by growing random molecules atom by atom;
``is_valid`` checks any string; ``one_hot`` / ``decode_one_hot`` convert to and from
the (N, max_len · alphabet) vectors a VAE reads and writes.
"""
from __future__ import annotations

import random

import torch
from torch import Tensor

VALENCE = {"C": 4, "N": 3, "O": 2, "F": 1}
PAD = " "
ALPHABET = "CNOF()12" + PAD
MAX_LEN = 24


def is_valid(s: str) -> bool:
    """Whether ``s`` is a well-formed molecule of the toy language (see the module docstring)."""
    if not s or s[0] not in VALENCE:
        return False
    bonds: list[int] = []          # bonds used by each atom so far
    elements: list[str] = []
    stack: list[int] = []          # atoms a branch hangs from
    open_rings: dict[str, int] = {}
    prev: int | None = None        # the atom the next atom bonds to
    just_opened = False            # "(" must be followed by an atom
    for ch in s:
        if ch in VALENCE:
            elements.append(ch)
            bonds.append(0)
            atom = len(elements) - 1
            if prev is not None:
                bonds[prev] += 1
                bonds[atom] += 1
            prev, just_opened = atom, False
        elif ch == "(":
            if prev is None or just_opened:
                return False
            stack.append(prev)
            just_opened = True
        elif ch == ")":
            if not stack or just_opened:
                return False
            prev = stack.pop()
        elif ch in "12":
            if prev is None or just_opened:
                return False
            if ch in open_rings:
                other = open_rings.pop(ch)
                if prev - other < 2:           # a ring needs at least 3 atoms
                    return False
                bonds[other] += 1
                bonds[prev] += 1
            else:
                open_rings[ch] = prev
        else:
            return False
    if stack or open_rings or just_opened:
        return False
    return all(b <= VALENCE[e] for e, b in zip(elements, bonds))


def _grow(rng: random.Random, max_atoms: int) -> str:
    """One random valid molecule: a main chain with side branches and the odd ring."""
    weights = {"C": 0.65, "N": 0.12, "O": 0.15, "F": 0.08}

    def atom(free_needed: int) -> str:
        choices = [e for e in weights if VALENCE[e] >= free_needed]
        return rng.choices(choices, [weights[e] for e in choices])[0]

    def chain(n_atoms: int, depth: int) -> str:
        out = []
        for i in range(n_atoms):
            last = i == n_atoms - 1
            # bonds this atom needs: one to its predecessor (the chain or the branch point),
            # one to its successor unless last, one per branch
            branch = depth < 2 and not last and i > 0 and rng.random() < 0.3
            need = 1 + (not last) + branch
            e = atom(need)
            out.append(e)
            if branch:
                out.append("(" + chain(rng.randint(1, 3), depth + 1) + ")")
        return "".join(out)

    n = rng.randint(3, max_atoms)
    if rng.random() < 0.35 and n >= 5:                      # a ring of 3..6 atoms, then a tail
        ring_size = rng.randint(3, min(6, n - 1))
        ring_atoms = ["C" if rng.random() < 0.8 else "N" for _ in range(ring_size)]
        ring_text = ring_atoms[0] + "1" + "".join(ring_atoms[1:]) + "1"
        tail = chain(n - ring_size, 1)
        return ring_text + tail
    return chain(n, 0)


def random_molecules(n: int, seed: int = 0, max_len: int = MAX_LEN, max_atoms: int = 12) -> list[str]:
    """n distinct valid molecules of at most ``max_len`` characters, reproducible under ``seed``."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = random.Random(seed)
    out: dict[str, None] = {}
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 200 * n:
            raise ValueError(f"could not find {n} distinct molecules of at most {max_len} characters; "
                             "ask for fewer or allow longer strings")
        s = _grow(rng, max_atoms)
        if len(s) <= max_len and is_valid(s):
            out[s] = None
    return list(out)


def one_hot(strings: list[str], max_len: int = MAX_LEN) -> Tensor:
    """Strings -> (N, max_len · len(ALPHABET)) float one-hot vectors, padded with PAD."""
    idx = torch.full((len(strings), max_len), ALPHABET.index(PAD), dtype=torch.long)
    for i, s in enumerate(strings):
        if len(s) > max_len:
            raise ValueError(f"{s!r} has {len(s)} characters; the limit is max_len={max_len}")
        bad = set(s) - set(ALPHABET)
        if bad:
            raise ValueError(f"{s!r} uses {sorted(bad)}, outside the alphabet {ALPHABET!r}")
        idx[i, :len(s)] = torch.tensor([ALPHABET.index(c) for c in s])
    return torch.nn.functional.one_hot(idx, len(ALPHABET)).float().reshape(len(strings), -1)


def decode_one_hot(x: Tensor) -> list[str]:
    """(N, max_len · len(ALPHABET)) scores or probabilities -> strings (most likely symbol per
    position, cut at the first PAD)."""
    k = len(ALPHABET)
    if x.ndim != 2 or x.shape[1] % k:
        raise ValueError(f"expected shape (N, max_len · {k}), got {tuple(x.shape)}")
    idx = x.reshape(len(x), -1, k).argmax(-1)
    return ["".join(ALPHABET[i] for i in row).split(PAD)[0] for row in idx.tolist()]
