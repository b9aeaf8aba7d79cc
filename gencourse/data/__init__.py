"""Offline datasets: nothing here ever downloads anything.

    toy2d    2-D distributions with known modes: ring of 8, grid of 25, moons, spiral
    digits   scikit-learn's bundled 8x8 handwritten digits as tensors
    names    first names by locale and gender, from the lists faker ships
    chars    a character-level tokenizer (the vocabulary is the text's set of characters)
    bpe      byte-level byte-pair encoding written from scratch
    recall   the long-range recall task of chapter 05 (the token after a far-away marker)
    corpus   the Python standard library's source (code splits by file) and its prose
    molecules  a toy SMILES-like string language with an exact validity check
"""
from gencourse.data.bpe import BPETokenizer, train_bpe
from gencourse.data.chars import CharTokenizer
from gencourse.data.corpus import stdlib_source
from gencourse.data.digits import Digits, load_digits
from gencourse.data.names import NAME_LOCALES, load_names
from gencourse.data.toy2d import ModeAssignment, Toy2D, grid, moons, ring, spiral, toy2d

__all__ = [
    "BPETokenizer", "train_bpe", "CharTokenizer", "Digits", "load_digits", "NAME_LOCALES", "load_names", "stdlib_source",
    "ModeAssignment", "Toy2D", "grid", "moons", "ring", "spiral", "toy2d",
]
