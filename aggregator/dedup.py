"""Story clustering in memory, without a database: the engine the evaluation and the
benchmarks drive, on exactly the fingerprint, index and verifier the pipeline uses.

    clusterer = StoryClusterer(DedupSettings())
    cluster_id = clusterer.add(1, text, outlet="Politico", seen_at=now)

Cluster ids are the id of the article that opened the cluster (merges keep the smaller).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from aggregator import cluster
from aggregator.cluster import Candidate, WindowedIndex
from aggregator.fingerprint import fingerprint
from aggregator.settings import DedupSettings
from aggregator.types import Assignment, Credit, Fingerprint

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class StoryClusterer:
    """Assigns each added article to a story cluster, as the pipeline would."""

    def __init__(self, settings: DedupSettings | None = None) -> None:
        self.settings = settings or DedupSettings()
        self.index = WindowedIndex(cluster.LshIndex(self.settings), self.settings.window)
        self._entries: dict[int, Candidate] = {}
        self._cluster_of: dict[int, int] = {}
        self._members: dict[int, list[int]] = {}
        self._representative: dict[int, int] = {}

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
        return self.add_fingerprint(doc_id, fingerprint(text, self.settings), seen_at=seen_at)

    def add_fingerprint(
        self, doc_id: int, fp: Fingerprint, *, seen_at: datetime | None = None
    ) -> int:
        """Cluster one already fingerprinted article; returns its cluster id."""
        if doc_id in self._cluster_of:
            raise ValueError(f"article {doc_id} was already added")
        new = Candidate.from_fingerprint(doc_id, 0, fp)
        if not cluster.is_clusterable(fp, self.settings):
            return self._open(doc_id)
        assignment = self._decide(new)
        cluster_id = (
            self._open(doc_id) if assignment.cluster_id is None else self._join(doc_id, assignment)
        )
        self._entries[doc_id] = Candidate(
            doc_id, cluster_id, new.signature, new.shingles, new.passages
        )
        self.index.add(doc_id, new.signature, seen_at or _EPOCH)
        return cluster_id

    def _decide(self, new: Candidate) -> Assignment:
        found = [self._current(i) for i in self.index.query(new.signature) if i in self._entries]
        reps = {c.cluster_id: self._current(self._representative[c.cluster_id]) for c in found}
        return cluster.decide(new, found, reps)

    def _current(self, article_id: int) -> Candidate:
        entry = self._entries[article_id]
        cluster_id = self._cluster_of[article_id]
        if entry.cluster_id != cluster_id:
            entry = Candidate(
                article_id, cluster_id, entry.signature, entry.shingles, entry.passages
            )
            self._entries[article_id] = entry
        return entry

    def _open(self, doc_id: int) -> int:
        self._cluster_of[doc_id] = doc_id
        self._members[doc_id] = [doc_id]
        self._representative[doc_id] = doc_id
        return doc_id

    def _join(self, doc_id: int, assignment: Assignment) -> int:
        assert assignment.cluster_id is not None
        target = (
            min(assignment.cluster_id, *assignment.merge)
            if assignment.merge
            else assignment.cluster_id
        )
        for other in {assignment.cluster_id, *assignment.merge} - {target}:
            for member in self._members.pop(other):
                self._cluster_of[member] = target
                self._members[target].append(member)
            self._representative.pop(other)
        self._cluster_of[doc_id] = target
        self._members[target].append(doc_id)
        return target

    def cluster_of(self, doc_id: int) -> int:
        return self._cluster_of[doc_id]

    def clusters(self) -> dict[int, list[int]]:
        """Every cluster id with its members, in the order they were added."""
        return {cid: list(members) for cid, members in self._members.items()}
