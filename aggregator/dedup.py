"""Story clustering in memory, without a database: the engine the evaluation and the
benchmarks drive, on exactly the fingerprint, index, placement and verifier the pipeline
uses.

    clusterer = StoryClusterer(DedupSettings())
    cluster_id = clusterer.add(1, text, outlet="Politico", seen_at=now)

Cluster ids are the id of the article that opened the cluster (a merge keeps the smaller).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.boilerplate import Boilerplate
from aggregator.cluster import Candidate, Evidence, estimate, is_clusterable
from aggregator.fingerprint import fingerprint_batch
from aggregator.index import MemoryIndex, Sketch
from aggregator.placement import NewArticle, Standing, place_batch
from aggregator.settings import DedupSettings
from aggregator.types import Assignment, Credit, Similarity

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Document:
    """One article to cluster."""

    doc_id: int
    text: str
    outlet: str = ""
    seen_at: datetime = _EPOCH
    credits: tuple[Credit, ...] = ()


class MemoryDirectory:
    """Cluster membership in dicts: the in-memory stand-in for the store."""

    def __init__(self) -> None:
        self.order: dict[int, int] = {}  # doc id → arrival number
        self.cluster_of: dict[int, int] = {}
        self.outlet_of: dict[int, str] = {}
        self.members: dict[int, list[int]] = {}
        self.representative: dict[int, int] = {}

    def standings(self, article_ids: Sequence[int]) -> dict[int, Standing]:
        return {
            i: Standing(self.cluster_of[i], self.outlet_of[i])
            for i in article_ids
            if i in self.cluster_of
        }

    def representatives(self, cluster_ids: Iterable[int]) -> dict[int, int]:
        return {c: self.representative[c] for c in cluster_ids if c in self.representative}

    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]:
        return {}  # everything the index proposes is in its memory

    def arrive(self, doc_id: int) -> None:
        self.order.setdefault(doc_id, len(self.order))

    def open(self, doc_id: int, outlet: str) -> int:
        self.arrive(doc_id)
        self.cluster_of[doc_id] = doc_id
        self.outlet_of[doc_id] = outlet
        self.members[doc_id] = [doc_id]
        self.representative[doc_id] = doc_id
        return doc_id

    def join(self, doc_id: int, outlet: str, cluster_id: int, merge: Iterable[int]) -> int:
        self.arrive(doc_id)
        target = min((cluster_id, *merge))
        merged = {cluster_id, *merge} - {target}
        for other in merged:
            for member in self.members.pop(other):
                self.cluster_of[member] = target
                self.members[target].append(member)
            self.representative.pop(other)
        self.cluster_of[doc_id] = target
        self.outlet_of[doc_id] = outlet
        self.members[target].append(doc_id)
        if merged:  # members stay in the order they were added
            self.members[target].sort(key=self.order.__getitem__)
        return target


class StoryClusterer:
    """Assigns each added article to a story cluster, as the pipeline would."""

    def __init__(self, settings: DedupSettings | None = None) -> None:
        self.settings = settings or DedupSettings()
        self.index = MemoryIndex(self.settings)
        self.directory = MemoryDirectory()
        self.boilerplate = Boilerplate()
        #: Long-paragraph hashes of each clustered article (for relation labels).
        self.passages: dict[int, tuple[int, ...]] = {}

    def add(
        self,
        doc_id: int,
        text: str,
        *,
        outlet: str = "",
        seen_at: datetime | None = None,
        credits: Sequence[Credit] = (),
    ) -> int:
        """Cluster one article; returns its cluster id."""
        document = Document(doc_id, text, outlet, seen_at or _EPOCH, tuple(credits))
        return self.add_many([document])[0]

    def add_many(self, documents: Sequence[Document]) -> list[int]:
        """Cluster articles in order (fingerprinted, queried and indexed together: faster).

        Documents of one call share one arrival time for the window (the first one's).
        """
        ids = [d.doc_id for d in documents]
        repeated = {i for i, n in Counter(ids).items() if n > 1} | (
            set(ids) & self.directory.order.keys()
        )
        if repeated:
            raise ValueError(f"articles already added: {sorted(repeated)}")
        texts = [self.boilerplate.prepare(d.outlet, d.text) for d in documents]
        fingerprints = fingerprint_batch(texts, self.settings)
        items: list[NewArticle] = []
        for document, fp in zip(documents, fingerprints, strict=True):
            self.directory.arrive(document.doc_id)
            if is_clusterable(fp, self.settings):
                items.append(NewArticle(document.doc_id, fp, document.outlet, document.credits))
                self.passages[document.doc_id] = fp.passages
            else:
                self.directory.open(document.doc_id, document.outlet)
        seen_at = documents[0].seen_at if documents else _EPOCH
        place_batch(items, self.index, self.directory, self._settle, seen_at=seen_at)
        return [self.directory.cluster_of[d.doc_id] for d in documents]

    def _settle(self, item: NewArticle, assignment: Assignment) -> None:
        if assignment.cluster_id is None:
            self.directory.open(item.article_id, item.outlet)
        else:
            self.directory.join(
                item.article_id, item.outlet, assignment.cluster_id, assignment.merge
            )

    def similarity(self, a: int, b: int) -> Similarity | None:
        """How two clustered articles compare (None when either is not indexed)."""
        first, second = self.index.sketch(a), self.index.sketch(b)
        if first is None or second is None:
            return None
        shared = len(set(self.passages.get(a, ())) & set(self.passages.get(b, ())))
        return estimate(
            Candidate(a, 0, first.signature, first.shingles, first.anchors),
            Candidate(b, 0, second.signature, second.shingles, second.anchors),
            Evidence(passages=shared),
        )

    def cluster_of(self, doc_id: int) -> int:
        return self.directory.cluster_of[doc_id]

    def clusters(self) -> dict[int, list[int]]:
        """Every cluster id with its members, in the order they were added."""
        return {cid: list(members) for cid, members in self.directory.members.items()}
