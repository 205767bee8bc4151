"""Exact text overlap, independent of the engine: word shingles, Jaccard, containment, and
the verbatim-paragraph rule that finds real syndication in unlabelled data.

Words are lower-cased runs of letters and digits (every other character separates words),
the same reading of a text the product's fingerprint uses, so the numbers are comparable.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_NON_WORD = re.compile(r"[\W_]+")
#: A paragraph longer than this (characters, as written) is "long" in the verbatim rule;
#: shorter ones are mostly furniture ("Advertisement", bylines) shared by unrelated pages.
LONG_PARAGRAPH_CHARS = 120
#: Pairs sharing at least this many long paragraphs verbatim count as syndicated copies.
SHARED_LONG_PARAGRAPHS = 3
QUANTILES = (10, 25, 50, 75, 90)


def words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text.lower()).split()


def shingle_set(text: str, size: int) -> set[int]:
    """Hashes of the distinct runs of ``size`` consecutive words (a shorter text: one)."""
    tokens = words(text)
    if not tokens:
        return set()
    if len(tokens) < size:
        return {hash(tuple(tokens))}
    return {hash(tuple(tokens[i : i + size])) for i in range(len(tokens) - size + 1)}


def jaccard_containment(a: set[int], b: set[int]) -> tuple[float, float]:
    """Jaccard, and the share of the smaller set found in the larger (0 when one is empty)."""
    if not a or not b:
        return 0.0, 0.0
    shared = len(a & b)
    return shared / len(a | b), shared / min(len(a), len(b))


def long_paragraphs(text: str) -> set[str]:
    """The long paragraphs of a text, stripped but otherwise as written."""
    return {p.strip() for p in text.split("\n\n") if len(p.strip()) > LONG_PARAGRAPH_CHARS}


def verbatim_pairs(
    texts: Sequence[tuple[int, str]], minimum: int = SHARED_LONG_PARAGRAPHS
) -> dict[tuple[int, int], int]:
    """Pairs of ids whose texts share ``minimum`` or more long paragraphs verbatim.

    Returns each pair (smaller id first) with the number of paragraphs it shares.
    """
    holders: dict[str, list[int]] = {}
    for doc_id, text in texts:
        for paragraph in long_paragraphs(text):
            holders.setdefault(paragraph, []).append(doc_id)
    counts: Counter[tuple[int, int]] = Counter()
    for ids in holders.values():
        for a, b in itertools.combinations(sorted(set(ids)), 2):
            counts[a, b] += 1
    return {pair: n for pair, n in counts.items() if n >= minimum}


def pair_overlaps(
    pairs: Iterable[tuple[int, int]], texts: dict[int, str], size: int = 3
) -> tuple[list[float], list[float]]:
    """Exact word-``size`` Jaccard and containment of every pair."""
    cache: dict[int, set[int]] = {}

    def shingles(doc_id: int) -> set[int]:
        if doc_id not in cache:
            cache[doc_id] = shingle_set(texts[doc_id], size)
        return cache[doc_id]

    jaccards: list[float] = []
    containments: list[float] = []
    for a, b in pairs:
        j, c = jaccard_containment(shingles(a), shingles(b))
        jaccards.append(j)
        containments.append(c)
    return jaccards, containments


def quantiles(values: Sequence[float]) -> tuple[float, ...]:
    """The QUANTILES (percent) of the values; NaN when there are none."""
    if not values:
        return tuple(float("nan") for _ in QUANTILES)
    return tuple(float(q) for q in np.percentile(np.asarray(values), QUANTILES))
