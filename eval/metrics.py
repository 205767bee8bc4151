"""Scores of a clustering against gold labels.

Pairwise: every pair of documents in one predicted cluster is a predicted pair; every pair
in one gold story is a gold pair. Precision = shared / predicted, recall = shared / gold.
With no predicted pair, precision is 1 (nothing was merged wrongly).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from eval.records import COPY, NEGATIVE, ORIGINAL, REWRITE, Doc
from eval.syndication import COPY_KINDS, NEGATIVE_KINDS, WIRE_COPY_KINDS

Clustering = Mapping[int, int]


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass(frozen=True, slots=True)
class Pairwise:
    shared: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.shared / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.shared / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(gold: Mapping[int, str], predicted: Clustering) -> Pairwise:
    """Pairwise counts over the documents of ``gold``."""
    cells = Counter((predicted[d], story) for d, story in gold.items())
    sizes = Counter(predicted[d] for d in gold)
    stories = Counter(gold.values())
    return Pairwise(
        shared=sum(_pairs(n) for n in cells.values()),
        predicted=sum(_pairs(n) for n in sizes.values()),
        gold=sum(_pairs(n) for n in stories.values()),
    )


@dataclass(frozen=True, slots=True)
class Share:
    """``hits`` of ``total`` (a recall over derived items, a false-merge rate …)."""

    hits: int
    total: int

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else float("nan")


def together(docs: Iterable[Doc], predicted: Clustering) -> Share:
    """How many derived documents share a cluster with the document they came from."""
    pairs = [(d.doc_id, d.parent) for d in docs if d.parent is not None]
    return Share(sum(predicted[a] == predicted[b] for a, b in pairs), len(pairs))


def derived_groups(docs: Sequence[Doc]) -> dict[str, list[Doc]]:
    """Derived documents by copy kind (a copy counts under each kind it carries), plus the
    PRODUCT.md §5 groups: wire copies, every copy, rewrites."""
    groups: dict[str, list[Doc]] = {kind: [] for kind in COPY_KINDS}
    groups |= {"wire copies (§5)": [], "all copies": [], "rewrites (§5)": []}
    for doc in docs:
        if doc.role == COPY:
            for kind in doc.kinds:
                groups[kind].append(doc)
            groups["all copies"].append(doc)
            if set(doc.kinds) <= WIRE_COPY_KINDS:
                groups["wire copies (§5)"].append(doc)
        elif doc.role == REWRITE:
            groups["rewrites (§5)"].append(doc)
    return groups


def merged_elsewhere(docs: Sequence[Doc], predicted: Clustering) -> dict[int, list[int]]:
    """For every document, the documents of other gold stories in its predicted cluster."""
    members: dict[int, list[Doc]] = defaultdict(list)
    for doc in docs:
        members[predicted[doc.doc_id]].append(doc)
    wrong: dict[int, list[int]] = {}
    for doc in docs:
        others = [o.doc_id for o in members[predicted[doc.doc_id]] if o.story != doc.story]
        if others:
            wrong[doc.doc_id] = others
    return wrong


def false_merges(docs: Sequence[Doc], predicted: Clustering) -> dict[str, Share]:
    """Per kind of hard negative (and for originals): how many were merged with another
    story."""
    wrong = merged_elsewhere(docs, predicted)
    picked: dict[str, list[Doc]] = {kind: [] for kind in NEGATIVE_KINDS}
    picked[ORIGINALS_ROW] = []
    for doc in docs:
        if doc.role == NEGATIVE and doc.kind in picked:
            picked[doc.kind].append(doc)
        elif doc.role == ORIGINAL:
            picked[ORIGINALS_ROW].append(doc)
    return {
        name: Share(sum(d.doc_id in wrong for d in chosen), len(chosen))
        for name, chosen in picked.items()
    }


ORIGINALS_ROW = "original (other syndicated stories)"


def cluster_sizes(predicted: Clustering) -> Counter[int]:
    """How many clusters have each size."""
    return Counter(Counter(predicted.values()).values())
