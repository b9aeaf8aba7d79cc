"""Checks for chapter 10 (ethics): the watermark's z-score, its green lists, a loss-threshold
membership attack read at a fixed false-positive rate, a group-share audit with intervals corrected
for the auditor, and a transformer's training FLOPs. Each answer is compared with
``gencourse.ethics`` and with the outputs of the usual mistakes, on inputs where those mistakes give
different numbers."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from gencourse.ethics.bias import corrected_shares
from gencourse.ethics.compute import transformer_training_flops
from gencourse.ethics.membership import loss_threshold_attack
from gencourse.ethics.watermark import detect, green_table
from gencourse.exercises.ch09 import agresti_coull, clopper_pearson, wilson_with
from gencourse.exercises.feedback import ExerciseFailed, call, exercise, expect_close, finite_number, matches
from gencourse.exercises.feedback import diagnose as _diagnose
from gencourse.metrics import wilson_interval
from gencourse.models.gpt import GPTConfig

Z95 = 1.959963984540054


def diagnose(got, mistakes: dict, expected, atol: float = 1e-6, rtol: float = 1e-6) -> None:
    """Name the first known mistake that ``got`` reproduces, skipping those that are right here."""
    _diagnose(got, {m: w for m, w in mistakes.items() if not matches(w, expected, atol, rtol)}, atol, rtol)


def _number(name: str, got) -> float:
    """A Python number or a one-element tensor, finite, as a float."""
    return finite_number(name, got, "look for a division by 0 (no token scored, an empty group) or a square root "
                                    "of a negative number")


# --------------------------------------------------------------------- 10.1
def _z(green: float, scored: float, gamma: float) -> float:
    return (green - gamma * scored) / math.sqrt(scored * gamma * (1 - gamma))


def _sequences() -> list[Tensor]:
    g = torch.Generator().manual_seed(10)
    loop = torch.tensor([3, 1, 4, 1, 4, 1, 4, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2])  # repeated pairs
    stutter = torch.tensor([5, 5, 5, 5, 3, 1, 4, 1, 4, 6, 1, 4, 2, 2, 2, 7, 1, 4, 9, 0, 8])   # repeats next to each other, and apart
    return [stutter, loop, torch.randint(10, (40,), generator=g), torch.cat([torch.randint(10, (25,), generator=g)] * 2)]


@exercise("10.1", "the watermark's z-score")
def check_z_score(z_score) -> None:
    tables = {0.3: green_table(10, 0.3, key=7),           # 3 of 10 tokens green after each token
              0.25: green_table(13, 0.25, key=7)}         # int(0.25 · 13) = 3 of 13: the table's γ is 3/13
    cases = [(tokens, 0.3) for tokens in _sequences()] + [(torch.tensor([0, 12, 5, 7, 3, 3, 9, 11, 2, 8, 12, 5, 1, 4, 6,
                                                                          10, 0, 2, 7, 9, 12, 3, 8]), 0.25)]
    for tokens, asked in cases:
        table = tables[asked]
        saved = tokens.clone()
        got = call(z_score, tokens, table, what=f"z_score(tokens of length {len(tokens)}, table of {table.shape[0]} tokens)")
        if not torch.equal(tokens, saved):
            raise ExerciseFailed("you changed the tokens in place: work on a copy")
        value = _number("z", got)
        expected = detect(tokens, table).z
        g = float(table[0].sum()) / table.shape[0]
        ids = tokens.tolist()
        all_pairs = list(zip(ids[:-1], ids[1:]))
        pairs = list(dict.fromkeys(all_pairs))
        green = sum(bool(table[p, t]) for p, t in pairs)
        transposed = sum(bool(table[t, p]) for p, t in pairs)
        t = len(pairs)
        runs = [pair for i, pair in enumerate(all_pairs) if i == 0 or pair != all_pairs[i - 1]]
        diagnose(value, {
            "repeated (previous, token) pairs were counted each time: count each distinct pair once, or a text that "
            "repeats itself (a loop, a refrain) piles up evidence that is not independent":
                detect(tokens, table, ignore_repeats=False).z,
            "only repeats that follow each other were dropped: a pair that comes back anywhere later in the text "
            "counts once too (keep a set of the pairs seen)":
                _z(sum(bool(table[p, t]) for p, t in runs), len(runs), g),
            "the table was read as table[token, previous]: row p lists the tokens that are green after token p, "
            "so look up table[previous, token]": _z(transposed, t, g),
            "γ was taken as 0.25 (the paper's default): read it from the table, table[0].sum() / vocabulary size":
                _z(green, t, 0.25),
            f"γ was hard-coded as {asked}, the share the table was built with: int(γV) rounds down, so the table's "
            f"own share, table[0].sum() / V = {g:.4f}, is the one to test against": _z(green, t, asked),
            "the square root is missing: the standard deviation of G is √(T γ (1 − γ))": (green - g * t) / (t * g * (1 - g)),
            "the variance is T γ (a Poisson count): a binomial count of green tokens has variance T γ (1 − γ)":
                (green - g * t) / math.sqrt(t * g),
            "that is (G/T − γ) / √(γ(1 − γ)), the share's z without √T: divide by √(T γ (1 − γ)) with counts, or "
            "multiply the share form by √T": (green / t - g) / math.sqrt(g * (1 - g)),
            "red tokens were counted: G counts the green tokens, those marked True in the table": _z(t - green, t, g),
            "T counts every token, the first included: only tokens with a previous token are scored, each "
            "distinct pair once": _z(green, len(ids), g),
        }, expected)
        if asked == 0.25 and not matches(value, expected, 1e-6, 1e-6):
            raise ExerciseFailed(f"z is {value:.6g}, expected {expected:.6g}, for a table in which {int(table[0].sum())} of "
                                 f"{table.shape[0]} tokens are green (the earlier tables were right): read γ from the "
                                 "table, table[0].sum() / V, rather than fixing it")
        expect_close(f"z for a sequence of {len(tokens)} tokens", value, expected, atol=1e-6, rtol=1e-6)


# --------------------------------------------------------------------- 10.2
def _ordered(previous: int, vocab: int, key: int) -> Tensor:
    return torch.randperm(vocab, generator=torch.Generator().manual_seed(key * 1_000_003 + previous))


def _mask(ids: Tensor, vocab: int) -> Tensor:
    out = torch.zeros(vocab, dtype=torch.bool)
    out[ids] = True
    return out


@exercise("10.2", "the green list")
def check_green_list(green_list) -> None:
    for vocab, gamma, key, previous in ((30, 0.25, 5, 7), (12, 0.3, 11, 0), (12, 0.3, 11, 9), (10, 0.25, 4, 3)):
        got = call(green_list, previous, vocab, gamma, key,
                   what=f"green_list(previous={previous}, vocab_size={vocab}, gamma={gamma}, key={key})")
        if isinstance(got, (list, tuple, np.ndarray)):
            raise ExerciseFailed(f"return a torch.Tensor (a (V,) bool mask), got {type(got).__name__}")
        if not isinstance(got, Tensor):
            raise ExerciseFailed(f"the green list should be a torch.Tensor, got {type(got).__name__}")
        size = int(gamma * vocab)
        perm = _ordered(previous, vocab, key)
        if got.dtype != torch.bool:
            if got.is_floating_point() and not bool(torch.isfinite(got).all()):
                raise ExerciseFailed("the green list contains NaN or inf values")
            if got.shape == (size,) and not got.is_floating_point():
                raise ExerciseFailed(f"that is a list of {size} green token ids: return a (V,) = ({vocab},) bool mask "
                                     "instead, True for green (mask[ids] = True)")
            raise ExerciseFailed(f"the green list should be a bool tensor (True = green), got dtype {got.dtype}: "
                                 "compare or index into torch.zeros(V, dtype=torch.bool)")
        if got.shape != (vocab,):
            raise ExerciseFailed(f"the green list should have shape ({vocab},), one entry per token, got {tuple(got.shape)}")
        expected = green_table(vocab, gamma, key)[previous]
        rand = torch.rand(vocab, generator=torch.Generator().manual_seed(key * 1_000_003 + previous)) < gamma
        diagnose(got, {
            "the list ignores the previous token (seeded by the key alone), so every token has the same green list "
            "and a reader could learn it from the text: seed with key * 1_000_003 + previous":
                _mask(torch.randperm(vocab, generator=torch.Generator().manual_seed(key))[:size], vocab),
            "the seed is key + previous: use key * 1_000_003 + previous, as the exercise says (with key + previous, "
            "keys 1 and 2 share most lists)":
                _mask(torch.randperm(vocab, generator=torch.Generator().manual_seed(key + previous))[:size], vocab),
            **{f"the count was rounded up or to the nearest ({how}): the list holds int(γ · V) = {size} green tokens, "
               "rounded down as in the authors' code": _mask(perm[:count(gamma * vocab)], vocab)
               for how, count in (("round", round), ("math.ceil", math.ceil), ("int(γV + 0.5)", lambda x: int(x + 0.5)))},
            "each token was made green with probability γ (torch.rand < γ): the split must hold exactly int(γV) "
            "green tokens, the first ones of the permutation": rand,
            "those are the last int(γV) tokens of the permutation: take the first": _mask(perm[vocab - size:], vocab),
            "that is the red list: the first int(γV) tokens of the permutation are green, the rest red":
                ~expected,
        }, expected)
        if int(got.sum()) != size:
            raise ExerciseFailed(f"{int(got.sum())} tokens are green: exactly int(γ · V) = {size} should be")
        if not torch.equal(got, expected):
            raise ExerciseFailed(f"the right number of tokens is green, but not the right ones for previous={previous}: "
                                 "g = torch.Generator().manual_seed(key * 1_000_003 + previous), then the first "
                                 "int(γV) ids of torch.randperm(V, generator=g)")


# --------------------------------------------------------------------- 10.3
def _losses(seed: int, n: int, shift: float) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=g, dtype=torch.float64) * 0.5 + 2.0 - shift).exp()


def _tpr(members: Tensor, others: Tensor, fpr: float, flag_high: bool = False, k_round=math.floor,
         inclusive: bool = False) -> float:
    m, o = (-members, -others) if flag_high else (members, others)
    o = torch.sort(o).values
    k = min(int(k_round(fpr * len(o))), len(o))
    if k >= len(o):
        return 1.0
    cut = o[k]                                        # the first outsider the threshold must leave out
    return float(((m <= cut) if inclusive else (m < cut)).double().mean())


@exercise("10.3", "a loss-threshold membership attack at a fixed false-positive rate")
def check_tpr_at_fpr(tpr_at_fpr) -> None:
    tie_members = torch.tensor([0.5, 1.0, 1.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    tie_others = torch.tensor([0.2, 1.0, 1.5, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0], dtype=torch.float64)
    cases = [(_losses(1, 300, 0.4), _losses(2, 250, 0.0), 0.01), (_losses(3, 200, 0.2), _losses(4, 400, 0.0), 0.05),
             (tie_members, tie_others, 0.1), (_losses(5, 100, 0.0), _losses(6, 120, 0.0), 0.1),
             (_losses(7, 150, 0.3), _losses(8, 170, 0.0), 0.01),            # f·M = 1.7: round and floor differ
             (tie_members, tie_others, 0.15)]                               # between ROC vertices: no interpolation
    for members, others, fpr in cases:
        saved = (members.clone(), others.clone())
        got = call(tpr_at_fpr, members, others, fpr,
                   what=f"tpr_at_fpr({len(members)} member losses, {len(others)} outsider losses, fpr={fpr})")
        if not (torch.equal(members, saved[0]) and torch.equal(others, saved[1])):
            raise ExerciseFailed("you changed the losses in place (an in-place sort?): sort a copy")
        value = _number("the true-positive rate", got)
        if value > 1:
            raise ExerciseFailed(f"{value:.4g} is not a rate: return a share in [0, 1], not a percentage")
        expected = loss_threshold_attack(members, others, fprs=(fpr,)).tpr[fpr]
        auc = loss_threshold_attack(members, others).auc
        from sklearn.metrics import roc_curve
        curve_fpr, curve_tpr, _ = roc_curve(np.r_[np.ones(len(members)), np.zeros(len(others))],
                                            -np.r_[members.numpy(), others.numpy()])
        diagnose(value, {
            "that interpolates the ROC curve between thresholds (np.interp): no single threshold reaches that point; "
            "take the best threshold whose false-positive rate is at most f": float(np.interp(fpr, curve_fpr, curve_tpr)),
            "strictly fewer than f·M outsiders were allowed: at most ⌊f·M⌋ may be flagged, equality included":
                _tpr(members, others, fpr, k_round=lambda x: math.ceil(x) - 1),
            "the attack flags high losses: members are the examples the model fits best, so flag losses *below* "
            "the threshold": _tpr(members, others, fpr, flag_high=True),
            "f·M was rounded to the nearest whole number: at most ⌊f·M⌋ outsiders may be flagged (round down, "
            "math.floor)": _tpr(members, others, fpr, k_round=round),
            "the threshold flags one outsider too many (rounded up, or ≤ at the cut): with M outsiders at most "
            "⌊f·M⌋ may be flagged": _tpr(members, others, fpr, k_round=lambda x: math.floor(x) + 1),
            "a member whose loss equals the first outsider left out was flagged: any threshold that flags it flags "
            "that outsider too (use < the cut, not ≤)": _tpr(members, others, fpr, inclusive=True),
            "that is the false-positive rate itself (a threshold set on the members' losses gives it too): set the "
            "threshold on the outsiders' losses and return the share of *members* flagged": fpr,
            "that is the ROC AUC: the question is the true-positive rate at one low false-positive rate": auc,
        }, expected)
        expect_close(f"the TPR at {fpr:.0%} FPR", value, expected, atol=1e-6, rtol=0.0)


# --------------------------------------------------------------------- 10.4
AUDIT_GROUPS = ("a", "b", "c")


def _audit_cases() -> list[tuple[list[str], Tensor]]:
    """Labels and confusion matrices whose corrected shares lie inside the simplex (so solving Cᵀ p = q
    gives the same p as the library's non-negative fit); the last has a group the auditor never saw."""
    blurry = torch.tensor([[0.8, 0.15, 0.05], [0.1, 0.7, 0.2], [0.05, 0.15, 0.8]], dtype=torch.float64)
    no_c = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.1, 0.9]], dtype=torch.float64)
    return [(["a"] * 52 + ["b"] * 30 + ["c"] * 18, blurry), (["a"] * 27 + ["b"] * 9 + ["c"] * 8 + ["b"] * 6, blurry),
            (["b"] * 14 + ["a"] * 11 + ["c"] * 15, blurry), (["b"] * 12 + ["a"] * 28, no_c)]


def _wald(k: int, n: int) -> tuple[float, float]:
    p = k / n
    half = Z95 * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


@exercise("10.4", "a group-share audit with intervals, corrected for the auditor")
def check_audit(audit) -> None:
    for labels, truth_confusion in _audit_cases():
        confusion = truth_confusion.clone()
        got = call(audit, list(labels), list(AUDIT_GROUPS), confusion,
                   what=f"audit({len(labels)} labels, groups {list(AUDIT_GROUPS)}, confusion (3, 3))")
        if not torch.equal(confusion, truth_confusion):
            raise ExerciseFailed("you changed the confusion matrix in place: work on a copy")
        if not isinstance(got, dict):
            raise ExerciseFailed(f"return a dict group -> (share, low, high, corrected), got {type(got).__name__}")
        missing = [g for g in AUDIT_GROUPS if g not in got]
        if missing:
            raise ExerciseFailed(f"groups {missing} are missing from the audit: a group the auditor never saw has "
                                 "share 0, and it must be reported (with its interval), not left out")
        n, counts = len(labels), {g: labels.count(g) for g in AUDIT_GROUPS}
        q = torch.tensor([counts[g] / n for g in AUDIT_GROUPS], dtype=torch.float64)
        truth = corrected_shares(q.numpy(), truth_confusion.numpy())
        rows = {}
        for g in AUDIT_GROUPS:
            row = got[g]
            if isinstance(row, (np.ndarray, Tensor)) and row.ndim == 1:
                row = row.tolist()
            if not isinstance(row, (tuple, list)) or len(row) != 4:
                raise ExerciseFailed(f"audit[{g!r}] should be a tuple (share, low, high, corrected), got "
                                     f"{type(row).__name__}" + (f" of length {len(row)}" if isinstance(row, (tuple, list)) else ""))
            rows[g] = [_number(f"audit[{g!r}][{i}]", v) for i, v in enumerate(row)]
        for i, g in enumerate(AUDIT_GROUPS):
            share, low, high, corrected = rows[g]
            if share > 1:
                raise ExerciseFailed(f"audit[{g!r}] share {share:.4g} is not a share: divide the count by the number "
                                     "of labels (and keep percentages out)")
            diagnose(share, {f"the share of {g!r} counts another group's labels": counts[AUDIT_GROUPS[i - 1]] / n},
                     counts[g] / n)
            expect_close(f"the share of {g!r}", share, counts[g] / n, atol=1e-9, rtol=1e-9)
            w_low, w_high = wilson_interval(counts[g], n)
            wald = _wald(counts[g], n)
            others = {"Agresti–Coull": agresti_coull(counts[g], n, Z95), "Clopper–Pearson": clopper_pearson(counts[g], n),
                      "a 90% Wilson": wilson_with(counts[g], n, 1.6448536269514722)}
            for end, (name, value, right, wrong) in enumerate((("low", low, w_low, wald[0]), ("high", high, w_high, wald[1]))):
                diagnose(value, {
                    "that is the Wald interval p̂ ± z√(p̂(1−p̂)/n), which collapses at 0 and n: use the Wilson "
                    "interval (gencourse.metrics.wilson_interval, chapter 09)": wrong,
                    "that is the share itself: the interval's ends lie on either side of it": share,
                    **{f"that is {label} interval: use the 95% Wilson interval (wilson_interval(count, n))": other[end]
                       for label, other in others.items()},
                }, right, atol=1e-4, rtol=0.0)
                expect_close(f"the Wilson interval's {name} end for {g!r}", value, right, atol=1e-4, rtol=0.0)
        corrected = torch.tensor([rows[g][3] for g in AUDIT_GROUPS], dtype=torch.float64)
        diagnose(corrected, {
            "the correction solved C p = q: observed shares are q = Cᵀ p (row i of C is how group i's names are "
            "labelled), so solve Cᵀ p = q": torch.linalg.solve(truth_confusion, q),
            "the observed shares were multiplied by the confusion matrix (that adds the auditor's errors a second "
            "time): solve Cᵀ p = q instead": truth_confusion.T @ q,
            "the observed shares were multiplied by C (that adds the auditor's errors a second time): solve Cᵀ p = q "
            "instead": truth_confusion @ q,
            "the corrected shares are the observed ones: solve Cᵀ p = q for the true shares p": q,
        }, torch.as_tensor(truth))
        if not torch.allclose(corrected, torch.as_tensor(truth), atol=1e-6):
            raise ExerciseFailed(f"the corrected shares are {[round(v, 4) for v in corrected.tolist()]}, expected "
                                 f"{[round(v, 4) for v in truth.tolist()]}: solve Cᵀ p = q (torch.linalg.solve(C.T, q))")


# --------------------------------------------------------------------- 10.5
def _flops(layers: int, d: int, vocab: int, context: int, tokens: float, *, factor: float = 3.0,
           per_layer: int = 12, head: bool = True, attention: float = 4.0, embeddings: int = 0) -> float:
    forward = (2.0 * (per_layer * layers * d * d + (d * vocab if head else 0)) + attention * layers * context * d
               + 2.0 * embeddings)
    return factor * forward * tokens


@exercise("10.5", "a transformer's training FLOPs")
def check_training_flops(training_flops) -> None:
    for layers, d, vocab, context, tokens in ((3, 96, 80, 64, 3.6e6), (2, 64, 512, 256, 1e5), (12, 768, 50257, 1024, 3e11)):
        got = call(training_flops, layers, d, vocab, context, tokens,
                   what=f"training_flops(n_layer={layers}, n_embd={d}, vocab_size={vocab}, context={context}, tokens={tokens:g})")
        value = _number("the training FLOPs", got)
        config = GPTConfig(vocab_size=vocab, block_size=context, n_layer=layers, n_head=1, n_embd=d)
        expected = transformer_training_flops(config, tokens)
        diagnose(value, {
            "that is the forward pass only: training adds the backward pass, about twice the forward's FLOPs, so "
            "multiply by 3": _flops(layers, d, vocab, context, tokens, factor=1.0),
            "the backward pass was counted as one forward: it costs about two (gradients for the activations and "
            "for the weights), so training is 3 × the forward": _flops(layers, d, vocab, context, tokens, factor=2.0),
            "the attention scores are missing: each token's QKᵀ and its weighted sum of V cost 2·T·d each per layer, "
            "so add 4·L·T·d per token to the forward": _flops(layers, d, vocab, context, tokens, attention=0.0),
            "that counts the attention scores as 2·L·T·d per token (Kaplan et al.'s convention, or only one of QKᵀ and "
            "the weighted sum of V, or the causal half of both): this exercise counts both products over the full "
            "context, 4·L·T·d": _flops(layers, d, vocab, context, tokens, attention=2.0),
            "the output head (d × V weights) is missing: its matrix product costs 2·d·V per token":
                _flops(layers, d, vocab, context, tokens, head=False),
            "each layer has 12 d² weights (4 d² in attention, 8 d² in the MLP of width 4d), not 4 d²":
                _flops(layers, d, vocab, context, tokens, per_layer=4),
            "each weight costs 2 FLOPs per token in the forward pass (a multiply and an add), not 1":
                _flops(layers, d, vocab, context, tokens) / 2,
            "the input embedding was counted as a matrix product: looking up a row costs no FLOPs (only the output "
            "head, d × V, multiplies)": _flops(layers, d, vocab, context, tokens, embeddings=d * vocab),
            "the token and position embeddings were counted as matrix products: looking up rows costs no FLOPs":
                _flops(layers, d, vocab, context, tokens, embeddings=d * vocab + d * context),
        }, expected, rtol=1e-9)
        expect_close(f"the training FLOPs for L={layers}, d={d}", value, expected, atol=0.0, rtol=1e-6)


__all__: Sequence[str] = ["check_z_score", "check_green_list", "check_tpr_at_fpr", "check_audit", "check_training_flops"]
