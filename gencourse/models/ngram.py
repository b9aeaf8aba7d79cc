"""Count-based language models over integer token streams: the baselines a GPT must beat.

An order-n model predicts the next token from the n-1 tokens before it, using counts
of the n-grams seen in training. Two ways to turn counts into probabilities:

add-k      P(w | h) = (c(h w) + k) / (c(h) + k V): pretend every n-gram was seen k more
           times. Simple, but an unseen context gives the uniform distribution.
kn         interpolated Kneser-Ney with one absolute discount D in (0, 1]:

               P(w | h) = max(c(h w) - D, 0) / c(h)  +  D N1+(h .) / c(h) * P(w | h')

           where h' is h without its first token, N1+(h .) is the number of distinct
           tokens seen after h, and a context never seen contributes nothing (P(w | h)
           = P(w | h')). The highest order uses raw counts c; every lower order uses
           continuation counts c(h' w) = N1+(. h' w), the number of distinct tokens seen
           before h' w, because a lower order only matters for contexts the higher order
           has not seen. The unigram level interpolates with the uniform distribution
           1 / V, so every token has probability > 0 and each distribution sums to 1.

The stream is one 1-D sequence of ids (join names or files with a separator token such
as "\\n" first). Position t is predicted from the min(t, n-1) tokens before it: the
first tokens of a stream use the lower-order model of their shorter context (its top
level with raw counts). Probabilities are float64 numpy arrays.

    >>> lm = NGramLM(order=2, vocab_size=3).fit([0, 1, 0, 2, 0, 1])
    >>> round(float(lm.probs([0]).sum()), 12)
    1.0
    >>> lm.ngram_counts(1, continuation=True)  # token 0 follows two distinct tokens
    {(1,): 1, (0,): 2, (2,): 1}
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter

import numpy as np

SMOOTHINGS = ("kn", "add_k")
Gram = tuple[int, ...]
_CONTEXT = itemgetter(slice(None, -1))  # (h..., w) -> (h...)
_MIDDLE = itemgetter(slice(1, -1))      # (v, h..., w) -> (h...)
_TAIL = itemgetter(slice(1, None))       # (v, h..., w) -> (h..., w)


def _as_ids(ids, vocab_size: int, what: str) -> list[int]:
    """``ids`` (list, numpy array or torch tensor of ints) as a list, range-checked."""
    if hasattr(ids, "detach"):
        ids = ids.detach().cpu().numpy()
    arr = np.asarray(ids)
    if arr.size == 0:
        return []
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be a 1-D sequence of integer token ids, got shape "
                         f"{arr.shape} and dtype {arr.dtype}; flatten or join your sequences first")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{what} holds token id {bad}, outside [0, {vocab_size}); "
                         f"pass vocab_size > {hi} or re-encode the ids")
    return arr.tolist()


def _grams(ids: Sequence[int], m: int) -> list[Gram]:
    """All m-grams of ``ids`` in order: the gram ending at position t is at index t - (m-1)."""
    return list(zip(*(ids[j:len(ids) - m + 1 + j] for j in range(m)))) if len(ids) >= m else []


class _Table:
    """Counts of m-grams (raw or continuation), with per-context sums for fast lookup.

    counts: gram (h, w) -> count; total: context h -> sum over w of count(h, w).
    """

    def __init__(self, counts: Counter, total: Counter) -> None:
        self.counts: dict[Gram, int] = counts
        self.total: dict[Gram, int] = total
        # context h -> number of distinct next tokens w (every stored count is > 0)
        self.types: dict[Gram, int] = Counter(map(_CONTEXT, counts))
        self._next: dict[Gram, list[int]] | None = None  # context -> next tokens, built on first use

    def vector(self, h: Gram, vocab_size: int) -> np.ndarray:
        """Counts of (h, w) for every w: shape (vocab_size,)."""
        if self._next is None:
            self._next = {}
            for gram in self.counts:
                self._next.setdefault(gram[:-1], []).append(gram[-1])
        out = np.zeros(vocab_size)
        ws = self._next.get(h, [])
        out[ws] = [self.counts[h + (w,)] for w in ws]
        return out


class NGramLM:
    """An order-n language model over ids in [0, vocab_size), smoothed by "kn" or "add_k".

    order: n >= 1 (1 = unigram, 2 = bigram, ...); discount: D in (0, 1] for "kn";
    k: the pseudo-count (> 0) for "add_k".
    """

    def __init__(self, order: int, vocab_size: int, smoothing: str = "kn",
                 discount: float = 0.75, k: float = 1.0) -> None:
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order={order!r} but an n-gram model needs order >= 1 (1 = unigram)")
        if not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"vocab_size={vocab_size!r}; pass the number of distinct token ids (>= 1)")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"unknown smoothing {smoothing!r}; choose one of {', '.join(SMOOTHINGS)}")
        if not 0 < discount <= 1:
            raise ValueError(f"discount={discount} must lie in (0, 1]: 0 gives unseen tokens "
                             "probability 0, above 1 makes probabilities negative")
        if not k > 0:
            raise ValueError(f"k={k} must be > 0 so that unseen n-grams get probability > 0")
        self.order, self.vocab_size, self.smoothing = order, vocab_size, smoothing
        self.discount, self.k = float(discount), float(k)
        self._raw: dict[int, _Table] = {}   # m -> raw m-gram counts
        self._cont: dict[int, _Table] = {}  # m -> continuation counts N1+(. g) of m-grams g
        self._cache: dict[Gram, np.ndarray] = {}

    # ---- training ------------------------------------------------------------------------

    def fit(self, ids) -> NGramLM:
        """Count every m-gram (m = 1..order) of the 1-D stream ``ids`` (length >= 1). Returns self."""
        ids = _as_ids(ids, self.vocab_size, "the training ids")
        if not ids:
            raise ValueError("cannot fit an n-gram model on an empty sequence; pass at least one token id")
        raw = {m: Counter(_grams(ids, m)) for m in range(1, self.order + 1)}
        self._raw = {m: _Table(raw[m], self._context_totals(raw, m, ids)) for m in raw}
        # N1+(. g): each distinct (m+1)-gram (v, g) adds one to the continuation count of g;
        # the continuation total of h counts the distinct (v, h, w).
        self._cont = {m: _Table(Counter(map(_TAIL, raw[m + 1])), Counter(map(_MIDDLE, raw[m + 1])))
                      for m in range(1, self.order)}
        self._cache = {}
        return self

    @staticmethod
    def _context_totals(raw: dict[int, Counter], m: int, ids: list[int]) -> Counter:
        """c(h) = sum over w of c(h w) for the contexts h of the m-grams: the (m-1)-grams
        that some token follows, i.e. all of them except the one that ends the stream."""
        if m == 1:
            return Counter({(): len(ids)})
        total = Counter(raw[m - 1])
        last = tuple(ids[len(ids) - m + 1:])
        total[last] -= 1
        if not total[last]:
            del total[last]
        return total

    def ngram_counts(self, m: int, continuation: bool = False) -> dict[Gram, int]:
        """The raw counts of m-grams, or (``continuation``) N1+(. g) for each m-gram g (m < order)."""
        self._check_fitted()
        tables = self._cont if continuation else self._raw
        if m not in tables:
            raise ValueError(f"no {'continuation ' if continuation else ''}counts of order {m}; "
                             f"choose m in [1, {self.order - 1 if continuation else self.order}]")
        return dict(tables[m].counts)

    def truncated(self, order: int) -> NGramLM:
        """The same counts used as a model of a lower ``order``, without refitting."""
        self._check_fitted()
        if not 1 <= order <= self.order:
            raise ValueError(f"order={order} must lie in [1, {self.order}] to reuse these counts")
        lm = NGramLM(order, self.vocab_size, self.smoothing, self.discount, self.k)
        lm._raw = {m: t for m, t in self._raw.items() if m <= order}
        lm._cont = {m: t for m, t in self._cont.items() if m < order}
        return lm

    def _check_fitted(self) -> None:
        if not self._raw:
            raise ValueError("this NGramLM has not been fitted; call .fit(ids) first")

    def _table(self, m: int, top: bool) -> _Table:
        return self._raw[m] if top or self.smoothing == "add_k" else self._cont[m]

    # ---- one context ---------------------------------------------------------------------

    def probs(self, context: Sequence[int] = ()) -> np.ndarray:
        """P(next token | the last order-1 tokens of ``context``): shape (vocab_size,), sums to 1."""
        self._check_fitted()
        context = _as_ids(context, self.vocab_size, "the context")
        h = tuple(context[max(0, len(context) - self.order + 1):])  # the last order-1 tokens
        p = self._cache.get(h)
        if p is None:
            p = self._probs(h)
            if len(self._cache) < 50_000:
                self._cache[h] = p
        return p.copy()

    def _probs(self, h: Gram) -> np.ndarray:
        V, top = self.vocab_size, len(h) + 1
        if self.smoothing == "add_k":
            table = self._raw[top]
            return (table.vector(h, V) + self.k) / (table.total.get(h, 0) + self.k * V)
        D = self.discount
        p = np.full(V, 1.0 / V)
        for m in range(1, top + 1):
            hm = h[len(h) - m + 1:]
            table = self._table(m, m == top)
            total = table.total.get(hm, 0)
            if total:  # an unseen context passes the lower order's distribution through
                p = (np.maximum(table.vector(hm, V) - D, 0) + D * table.types[hm] * p) / total
        return p

    def log_probs(self, context: Sequence[int] = ()) -> np.ndarray:
        """log P(next token | context) in nats: shape (vocab_size,), all finite."""
        return np.log(self.probs(context))

    # ---- a whole stream ------------------------------------------------------------------

    def token_log_probs(self, ids) -> np.ndarray:
        """log P(ids[t] | ids[max(0, t-order+1):t]) for every t: shape (len(ids),), in nats."""
        self._check_fitted()
        ids = _as_ids(ids, self.vocab_size, "the ids")
        N, n, V, D = len(ids), self.order, self.vocab_size, self.discount
        p = np.full(N, 1.0 / V)
        for m in range(1, min(n, N) + 1):
            grams = _grams(ids, m)  # gram i ends at position t = i + m - 1
            # Position t's top level is min(t, n-1) + 1, so level m is the top (raw counts)
            # for t = m-1 only, except level n, the top for every t >= n-1.
            if m < n:
                segments = [(m - 1, grams[:1], True), (m, grams[1:], False)]
            else:
                segments = [(n - 1, grams, True)]
            for start, seg, top in segments:
                if not seg or (self.smoothing == "add_k" and not top):
                    continue
                c, total, types = self._lookup(self._table(m, top), seg)
                q = p[start:start + len(seg)]  # a view: updating q updates p
                if self.smoothing == "add_k":
                    q[:] = (c + self.k) / (total + self.k * V)
                else:
                    seen = total > 0  # an unseen context leaves the lower order's value
                    q[seen] = (np.maximum(c - D, 0) + D * types * q)[seen] / total[seen]
        return np.log(p)

    @staticmethod
    def _lookup(table: _Table, grams: list[Gram]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each gram (h, w): c(h w), the total of h and the number of types after h."""
        counts, tot, typ = table.counts, table.total, table.types
        contexts = [g[:-1] for g in grams]
        return (np.array([counts.get(g, 0) for g in grams], float),
                np.array([tot.get(h, 0) for h in contexts], float),
                np.array([typ.get(h, 0) for h in contexts], float))

    def cross_entropy(self, ids) -> float:
        """Mean negative log-likelihood in nats per token of the stream ``ids``, predicting
        every position from the tokens before it (perplexity = exp of this)."""
        logp = self.token_log_probs(ids)
        if logp.size == 0:
            raise ValueError("cannot score an empty sequence; pass at least one token id")
        return float(-logp.mean())

    # ---- generation ----------------------------------------------------------------------

    def sample(self, n: int, context: Sequence[int] = (), seed: int | np.random.Generator | None = None,
               temperature: float = 1.0) -> list[int]:
        """``n`` new token ids drawn one at a time after ``context``; temperature < 1 sharpens
        the distribution (p ** (1/T), renormalised), > 1 flattens it."""
        if not temperature > 0:
            raise ValueError(f"temperature={temperature} must be > 0 (use a small value for near-greedy)")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        tokens = _as_ids(context, self.vocab_size, "the context")
        out: list[int] = []
        for _ in range(n):
            logits = self.log_probs(tokens[max(0, len(tokens) - self.order + 1):]) / temperature
            p = np.exp(logits - logits.max())
            token = int(rng.choice(self.vocab_size, p=p / p.sum()))
            tokens.append(token)
            out.append(token)
        return out

    def __repr__(self) -> str:
        extra = f"discount={self.discount}" if self.smoothing == "kn" else f"k={self.k}"
        return f"NGramLM(order={self.order}, vocab_size={self.vocab_size}, smoothing={self.smoothing!r}, {extra})"


def choose_order(train_ids, val_ids, vocab_size: int, orders: Iterable[int] = range(1, 8),
                 smoothing: str = "kn", discount: float = 0.75, k: float = 1.0,
                 ) -> tuple[int, dict[int, float]]:
    """The order with the lowest validation cross-entropy, and {order: validation nats per token}.

    Counts are collected once at the highest order and reused for the lower ones.
    Ties go to the smaller order.
    """
    orders = sorted(set(orders))
    if not orders or orders[0] < 1:
        raise ValueError(f"orders={orders} must be a non-empty collection of ints >= 1")
    full = NGramLM(orders[-1], vocab_size, smoothing, discount, k).fit(train_ids)
    losses = {m: full.truncated(m).cross_entropy(val_ids) for m in orders}
    best = min(orders, key=lambda m: (losses[m], m))
    return best, losses
