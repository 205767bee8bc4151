"""LSH proposes, a verifier decides: which story cluster a new article belongs to.

The candidate index is a cache: the database holds every signature, and the index is
rebuilt from it at start. ``decide`` is pure; the index classes hold no story state beyond
which article keys are near which signatures.

No chaining: a new article joins a cluster only when it verifies against that cluster's
representative (its original), never merely against some member, so a run of small edits
cannot walk one story into another.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from aggregator.fingerprint import SignatureArray, signature_array, version_of
from aggregator.settings import DedupSettings
from aggregator.types import Assignment, Fingerprint, Similarity


@dataclass(frozen=True, slots=True)
class Threshold:
    """Verification thresholds for texts whose shorter side has at least ``min_shingles``."""

    min_shingles: int
    jaccard: float
    containment: float


#: The verifier's table, shortest texts last. Short texts share shingles by chance
#: (datelines, names, stock phrases), so they must agree more to count as one story;
#: long texts can be trimmed to a fraction and still carry hundreds of shared shingles.
#: A rewrite that reuses a long original's quotes and passages sits at containment
#: 0.5-0.85; unrelated same-topic stories stay below 0.15 (ECB+: no different-event pair
#: above 0.13 word-3 Jaccard).
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(min_shingles=150, jaccard=0.45, containment=0.50),
    Threshold(min_shingles=60, jaccard=0.50, containment=0.65),
    Threshold(min_shingles=0, jaccard=0.60, containment=0.80),
)
#: Long paragraphs found verbatim in both texts that prove reuse on their own.
PASSAGES_PROVING_REUSE = 2


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the verifier needs about an article already in the index."""

    article_id: int
    cluster_id: int
    signature: SignatureArray
    shingles: int
    passages: frozenset[int]

    @classmethod
    def from_fingerprint(cls, article_id: int, cluster_id: int, fp: Fingerprint) -> Candidate:
        signature = signature_array(fp.signature)
        return cls(article_id, cluster_id, signature, fp.shingles, frozenset(fp.passages))


def estimate(a: Candidate, b: Candidate) -> Similarity:
    """Jaccard from the signatures; containment of the shorter text in the longer from it.

    With set sizes |A| and |B| and Jaccard J, the intersection is J·(|A|+|B|)/(1+J), and
    its share of the smaller set is the containment a trimmed copy keeps high.
    """
    jaccard = float(np.count_nonzero(a.signature == b.signature)) / a.signature.size
    smaller = min(a.shingles, b.shingles)
    if smaller == 0:
        return Similarity(jaccard=0.0, containment=0.0, shared_passages=0)
    intersection = jaccard * (a.shingles + b.shingles) / (1.0 + jaccard)
    containment = min(1.0, intersection / smaller)
    return Similarity(jaccard, containment, len(a.passages & b.passages))


def threshold_for(shorter_shingles: int) -> Threshold:
    """The row of THRESHOLDS that applies to a pair whose shorter text has this many shingles."""
    for row in THRESHOLDS:
        if shorter_shingles >= row.min_shingles:
            return row
    return THRESHOLDS[-1]


def is_same_story(sim: Similarity, shorter_shingles: int) -> bool:
    """The verifier: do two texts tell the same report (copied, trimmed or rewritten)?"""
    if sim.shared_passages >= PASSAGES_PROVING_REUSE:
        return True
    row = threshold_for(shorter_shingles)
    return sim.jaccard >= row.jaccard or sim.containment >= row.containment


def score(sim: Similarity) -> float:
    """Order for choosing among clusters that all verify: strongest reuse first."""
    return max(sim.jaccard, sim.containment) + 0.01 * sim.shared_passages


def decide(
    new: Candidate,
    candidates: Iterable[Candidate],
    representatives: Mapping[int, Candidate],
) -> Assignment:
    """Choose the cluster for ``new`` among the clusters of the LSH candidates.

    ``representatives`` maps each candidate cluster to its original. Clusters whose
    representatives verify against ``new`` and against each other are merged.
    """
    verified: list[tuple[float, Candidate, Similarity]] = []
    for cluster_id in sorted({c.cluster_id for c in candidates}):
        rep = representatives.get(cluster_id)
        if rep is None:
            continue
        sim = estimate(new, rep)
        if is_same_story(sim, min(new.shingles, rep.shingles)):
            verified.append((score(sim), rep, sim))
    if not verified:
        return Assignment(cluster_id=None)
    verified.sort(key=lambda item: (-item[0], item[1].cluster_id))
    _, best, best_sim = verified[0]
    merge = tuple(
        rep.cluster_id
        for _, rep, _ in verified[1:]
        if is_same_story(estimate(best, rep), min(best.shingles, rep.shingles))
    )
    return Assignment(best.cluster_id, best.article_id, best_sim, merge)


def is_clusterable(fp: Fingerprint, settings: DedupSettings) -> bool:
    """Empty, teaser and boilerplate-only texts never cluster."""
    return fp.tokens >= settings.min_tokens


class CandidateIndex(Protocol):
    """Near-neighbour index over signatures, keyed by article id."""

    def insert(self, article_id: int, signature: SignatureArray) -> None: ...
    def query(self, signature: SignatureArray) -> list[int]: ...
    def remove(self, article_id: int) -> None: ...
    def __contains__(self, article_id: object) -> bool: ...
    def __len__(self) -> int: ...


class LshIndex:
    """datasketch MinHashLSH, in memory or on Redis (shared by several daemons)."""

    def __init__(self, settings: DedupSettings, *, storage: dict[str, Any] | None = None) -> None:
        self._num_perm = settings.num_perm
        self._seed = settings.seed
        self._lsh = MinHashLSH(
            threshold=settings.lsh_threshold,
            num_perm=settings.num_perm,
            storage_config=storage or {"type": "dict"},
            prepickle=False if storage is None else None,
        )

    def _lean(self, signature: SignatureArray) -> LeanMinHash:
        return LeanMinHash(seed=self._seed, hashvalues=signature, scheme="affine32")

    def insert(self, article_id: int, signature: SignatureArray) -> None:
        if article_id not in self._lsh:
            self._lsh.insert(article_id, self._lean(signature), check_duplication=False)

    def query(self, signature: SignatureArray) -> list[int]:
        return [int(key) for key in self._lsh.query(self._lean(signature))]

    def remove(self, article_id: int) -> None:
        if article_id in self._lsh:
            self._lsh.remove(article_id)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._lsh

    def __len__(self) -> int:
        return len(self._lsh.keys)


def redis_storage(url: str, prefix: str, settings: DedupSettings) -> dict[str, Any]:
    """datasketch storage config for an index shared through Redis.

    The base name carries the fingerprint parameters, so daemons with different
    parameters never mix signatures in one index.
    """
    basename = f"{prefix}:lsh:{version_of(settings)}:t{settings.lsh_threshold}"
    return {"type": "redis", "basename": basename.encode(), "redis": redis_params(url)}


def redis_params(url: str) -> dict[str, Any]:
    """Connection keywords for ``redis.Redis`` from a redis:// URL."""
    problem = f"redis url {url!r}: expected redis://[user:password@]host[:port][/db]"
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ValueError(problem)
    try:
        params: dict[str, Any] = {"host": parts.hostname, "port": parts.port or 6379}
    except ValueError:
        raise ValueError(f"{problem} (the port is not a number)") from None
    database = parts.path.strip("/")
    if database:
        if not database.isascii() or not database.isdigit():
            raise ValueError(f"{problem} (the database {database!r} is not a number)")
        params["db"] = int(database)
    if parts.password:
        params["password"] = unquote(parts.password)
    if parts.username:
        params["username"] = unquote(parts.username)
    if parts.scheme == "rediss":
        params["ssl"] = True
    return params


def build_index(settings: DedupSettings, redis_url: str | None, prefix: str) -> LshIndex:
    """The candidate index the settings ask for."""
    if redis_url:
        return LshIndex(settings, storage=redis_storage(redis_url, prefix, settings))
    return LshIndex(settings)


class WindowedIndex:
    """A candidate index that forgets articles older than the time window.

    Keys are remembered with their first sighting in arrival order, so pruning is a walk
    from the old end; the underlying index does the lookups.
    """

    def __init__(self, index: CandidateIndex, window: timedelta) -> None:
        self.index = index
        self.window = window
        self._arrivals: deque[tuple[datetime, int]] = deque()

    def add(self, article_id: int, signature: SignatureArray, seen_at: datetime) -> None:
        self.index.insert(article_id, signature)
        self._arrivals.append((seen_at, article_id))

    def discard(self, article_id: int) -> None:
        """Take back a key whose transaction did not commit."""
        self.index.remove(article_id)

    def query(self, signature: SignatureArray) -> list[int]:
        return self.index.query(signature)

    def prune(self, now: datetime) -> int:
        """Drop keys first seen before the window; returns how many left."""
        cutoff = now - self.window
        dropped = 0
        while self._arrivals and self._arrivals[0][0] < cutoff:
            _, article_id = self._arrivals.popleft()
            self.index.remove(article_id)
            dropped += 1
        return dropped

    def __len__(self) -> int:
        return len(self.index)
