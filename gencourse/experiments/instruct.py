"""Instruction-style fine-tuning at the smallest honest scale: describe a function from its signature.

Prompt/response pairs come from the standard library: for every documented function, the
prompt is its signature and the response the first line of its docstring,

    "Q: rotate(self, n)\\nA: Rotate the deque n steps to the right.\\n"

held out by module (no test pair shares a module with a training pair). Pairs are kept
only if they fit the code GPT's 64-character context. A model answers by continuing
``"Q: <signature>\\nA: "`` up to the next newline; answers are scored with ROUGE-L F1 over
lower-cased words against the docstring's own first line.
"""
from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass

import torch

from gencourse.data.chars import CharTokenizer
from gencourse.models.gpt import GPT


@dataclass(frozen=True)
class Pair:
    module: str
    signature: str      # "rotate(self, n)"
    response: str       # "Rotate the deque n steps to the right."

    def prompt(self) -> str:
        return f"Q: {self.signature}\nA: "

    def text(self) -> str:
        return self.prompt() + self.response + "\n"


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return f"{fn.name}({', '.join(names)})"


def function_pairs(source: str, module: str) -> list[Pair]:
    """(signature, first docstring line) of every documented public function in ``source``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    pairs = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            doc = ast.get_docstring(node, clean=True)
            if not doc:
                continue
            first = doc.strip().split("\n")[0].strip()
            if len(first) >= 10 and first.isascii() and first.endswith("."):
                pairs.append(Pair(module, _signature(node), first))
    return pairs


def instruction_pairs(block_size: int = 64, test_share: float = 0.2, seed: int = 0,
                      tokenizer: CharTokenizer | None = None) -> tuple[list[Pair], list[Pair]]:
    """(train, test) pairs from the standard library's top-level modules and packages, split
    by module with ``seed``: about ``test_share`` of the modules are held out, chosen among
    those outside the code GPT's pre-training corpus (``CODE_MODULES``). Only pairs whose
    text fits in ``block_size`` characters (and, given a tokenizer, uses only its characters)
    are kept; a signature+docstring pair that appears in two modules is kept once."""
    from gencourse.data.corpus import stdlib_root

    root = stdlib_root()
    by_module: dict[str, list[Pair]] = {}
    seen: set[tuple[str, str]] = set()
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        rel = path.relative_to(root).parts
        if rel[0] in ("test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo") or "test" in path.stem:
            continue
        module = rel[0].removesuffix(".py")
        for pair in function_pairs(path.read_text(encoding="utf-8", errors="replace"), module):
            key = (pair.signature, pair.response)
            fits = len(pair.text()) <= block_size
            known = tokenizer is None or all(c in tokenizer.index for c in pair.text())
            if fits and known and key not in seen:
                seen.add(key)
                by_module.setdefault(module, []).append(pair)
    from gencourse.data.corpus import CODE_MODULES
    modules = sorted(m for m in by_module if m not in CODE_MODULES)   # test modules: none the code GPT read
    random.Random(seed).shuffle(modules)
    held = set(modules[: max(1, round(test_share * len(modules)))])
    train = [p for m in sorted(by_module) if m not in held for p in by_module[m]]
    test = [p for m in sorted(by_module) if m in held for p in by_module[m]]
    return train, test


def pairs_stream(pairs: list[Pair], tokenizer: CharTokenizer, seed: int = 0) -> torch.Tensor:
    """All pairs' texts, shuffled with ``seed`` and concatenated, as a 1-D id stream."""
    order = list(pairs)
    random.Random(seed).shuffle(order)
    return torch.tensor(tokenizer.encode("".join(p.text() for p in order)), dtype=torch.long)


def pairs_rows(pairs: list[Pair], tokenizer: CharTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """One row per pair, for supervised fine-tuning with the loss on the response only.

    inputs (N, L): the pair's text without its last character, padded with newlines;
    targets (N, L): the next character where it belongs to the response (its final newline
    included), -1 on the prompt and the padding. L is the longest text minus one."""
    texts = [p.text() for p in pairs]
    L = max(map(len, texts)) - 1
    pad = tokenizer.index["\n"]
    x = torch.full((len(pairs), L), pad, dtype=torch.long)
    y = torch.full((len(pairs), L), -1, dtype=torch.long)
    for i, (pair, text) in enumerate(zip(pairs, texts)):
        ids = tokenizer.encode(text)
        x[i, : len(ids) - 1] = torch.tensor(ids[:-1])
        start = len(pair.prompt()) - 1                  # position whose next character opens the response
        y[i, start: len(ids) - 1] = torch.tensor(ids[start + 1:])
    return x, y


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased words: the longest common subsequence of the two word
    lists, as a harmonic mean of its share of the candidate (precision) and of the reference
    (recall). 1 for the same words in the same order, 0 when no word is shared."""
    c, r = words(candidate), words(reference)
    if not c or not r:
        return 0.0
    lcs = [0] * (len(r) + 1)
    for wc in c:
        prev = 0
        for j, wr in enumerate(r, start=1):
            prev, lcs[j] = lcs[j], prev + 1 if wc == wr else max(lcs[j], lcs[j - 1])
    best = lcs[-1]
    if best == 0:
        return 0.0
    precision, recall = best / len(c), best / len(r)
    return 2 * precision * recall / (precision + recall)


@torch.no_grad()
def answer(model: GPT, tokenizer: CharTokenizer, prompts: list[str], max_new: int = 48) -> list[str]:
    """Greedy continuation of each prompt up to its first newline (prompts batched by length)."""
    out: dict[int, str] = {}
    by_length: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_length.setdefault(len(p), []).append(i)
    for length, idx in by_length.items():
        ids = torch.tensor([tokenizer.encode(prompts[i]) for i in idx], dtype=torch.long, device=model.device)
        new = min(max_new, model.config.block_size - length)
        gen = model.generate(ids, max(new, 1), greedy=True)[:, length:]
        for i, row in zip(idx, gen.tolist()):
            out[i] = tokenizer.decode(row).split("\n")[0].strip()
    return [out[i] for i in range(len(prompts))]


def mean_rouge(answers: list[str], pairs: list[Pair]) -> float:
    return sum(rouge_l(a, p.response) for a, p in zip(answers, pairs)) / len(pairs)


def copy_baseline(pair: Pair) -> str:
    """The function's own name as words: ``get_close_matches`` -> "get close matches"."""
    return pair.signature.split("(")[0].replace("_", " ")


def retrieval_baseline(train: list[Pair]):
    """Answer with the response of the training pair whose signature shares the most
    character trigrams with the question's (Jaccard similarity)."""
    def grams(s: str) -> set[str]:
        s = f"  {s.lower()} "
        return {s[i:i + 3] for i in range(len(s) - 2)}
    index = [(grams(p.signature), p.response) for p in train]

    def respond(pair: Pair) -> str:
        q = grams(pair.signature)
        return max(index, key=lambda item: len(q & item[0]) / len(q | item[0]))[1]
    return respond


__all__ = ["Pair", "function_pairs", "instruction_pairs", "pairs_stream", "pairs_rows", "words", "rouge_l", "answer",
           "mean_rouge", "copy_baseline", "retrieval_baseline"]
