"""Placing a new article: index proposes → directory says where each candidate stands →
verifier decides. One function, used by the pipeline (the directory is the database) and
by the in-memory engine of the evaluation and the benchmarks (the directory is a dict).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from aggregator import cluster
from aggregator.cluster import Candidate, Evidence
from aggregator.index import Hits, Sketch, StoryIndex, merge_hits, within_batch
from aggregator.types import Assignment, Credit, Fingerprint

#: A candidate proposed by anchors alone must share at least this many of them.
MIN_SHARED_ANCHORS = 2


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an indexed article stands: its cluster and its outlet."""

    cluster_id: int
    outlet: str


class Directory(Protocol):
    """Cluster membership, as the store (or an in-memory stand-in) knows it."""

    def standings(self, article_ids: Sequence[int]) -> dict[int, Standing]:
        """The clustered articles among ``article_ids``."""
        ...

    def representatives(self, cluster_ids: Iterable[int]) -> dict[int, int]:
        """The original (representative article id) of each live cluster."""
        ...

    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]:
        """Stored sketches of articles the index does not hold in memory."""
        ...


@dataclass(frozen=True, slots=True)
class NewArticle:
    """A stored, clusterable article waiting for its cluster."""

    article_id: int
    fingerprint: Fingerprint
    outlet: str = ""
    credits: tuple[Credit, ...] = ()


def place_batch(
    items: Sequence[NewArticle],
    index: StoryIndex,
    directory: Directory,
    settle: Callable[[NewArticle, Assignment], None],
    *,
    seen_at: datetime,
) -> None:
    """Place a batch of new articles in order, then index them.

    The index is queried once for the whole batch; articles of the batch also see the
    earlier ones of the same batch. ``settle`` records each decision (in the directory)
    before the next article is placed.
    """
    if not items:
        return
    fps = [item.fingerprint for item in items]
    keys = index.keys(fps)
    prior = index.query_many(fps, keys)
    local = within_batch(keys, [item.article_id for item in items])
    pending: dict[int, Sketch] = {}
    for i, item in enumerate(items):
        new = Candidate.of(item.article_id, item.fingerprint, outlet=item.outlet)
        hits = merge_hits(prior[i], local[i])
        settle(item, place(new, hits, index, directory, credits=item.credits, pending=pending))
        pending[item.article_id] = Sketch(new.signature, new.shingles, new.anchors)
    index.add_many([item.article_id for item in items], fps, seen_at, keys)


def place(
    new: Candidate,
    hits: Hits,
    index: StoryIndex,
    directory: Directory,
    *,
    credits: Sequence[Credit] = (),
    pending: Mapping[int, Sketch] | None = None,
) -> Assignment:
    """The cluster a new article joins (``cluster_id`` None: it opens its own).

    ``pending`` holds sketches of articles placed but not yet indexed (the same batch).
    """
    if len(hits) == 0:
        return Assignment(cluster_id=None)
    pending = pending or {}
    strong = _strong(hits, credited=bool(credits))
    if not strong.any():
        return Assignment(cluster_id=None)
    sketches = _sketches([int(i) for i in hits.ids[strong]], index, directory, pending)
    plausible = _plausible(new, hits, sketches, credited=bool(credits))
    if not plausible:
        return Assignment(cluster_id=None)
    ids = [i for i, _, _ in plausible]
    standings = directory.standings(ids)
    reps = directory.representatives({s.cluster_id for s in standings.values()})
    missing_reps = sorted(set(reps.values()) - set(sketches))
    sketches.update(_sketches(missing_reps, index, directory, pending))
    candidates = [
        (_candidate(i, standings[i], sketches[i]), Evidence(a, p))
        for i, a, p in plausible
        if i in standings
    ]
    rep_standings = directory.standings(sorted(set(reps.values()) - set(standings)))
    rep_standings.update(standings)
    representatives = {
        cid: _candidate(aid, rep_standings[aid], sketches[aid])
        for cid, aid in reps.items()
        if aid in sketches and aid in rep_standings
    }
    return cluster.decide(new, candidates, representatives, credits=credits)


def _strong(hits: Hits, *, credited: bool) -> npt.NDArray[np.bool_]:
    """Hits worth verifying: one shared 5-word phrase (a single anchor) alone is usually a
    stock phrase, unless the new article credits someone (a rewrite may share one quote)."""
    strong = (hits.bands > 0) | (hits.passages > 0) | (hits.anchors >= MIN_SHARED_ANCHORS)
    return strong | (hits.anchors > 0) if credited else strong


def _plausible(
    new: Candidate, hits: Hits, sketches: Mapping[int, Sketch], *, credited: bool
) -> list[tuple[int, int, int]]:
    """(id, shared anchors, shared passages) of the hits that could pass any rule of the
    verifier, judged for all at once; most hits (stock phrases) end here."""
    ids = [int(i) for i in hits.ids]
    strong = _strong(hits, credited=credited)
    present = [k for k, i in enumerate(ids) if strong[k] and i in sketches]
    if not present:
        return []
    matrix = np.stack([sketches[ids[k]].signature for k in present])
    shingles = np.array([sketches[ids[k]].shingles for k in present], dtype=np.float64)
    jaccard, containment = cluster.estimate_many(new, matrix, shingles)
    anchors, passages = hits.anchors[present], hits.passages[present]
    keep = (jaccard >= cluster.LOWEST_JACCARD) | (containment >= cluster.LOWEST_CONTAINMENT)
    keep |= passages >= 1
    if credited:
        keep |= (anchors >= cluster.CREDITED_MIN_ANCHORS) | (
            containment >= cluster.CREDITED_MIN_CONTAINMENT
        )
    return [(ids[k], int(anchors[j]), int(passages[j])) for j, k in enumerate(present) if keep[j]]


def _sketches(
    ids: list[int], index: StoryIndex, directory: Directory, pending: Mapping[int, Sketch]
) -> dict[int, Sketch]:
    found = {i: pending[i] for i in ids if i in pending}
    rest = [i for i in ids if i not in found]
    found.update(index.sketches(rest))
    missing = [i for i in rest if i not in found]
    if missing:
        found.update(directory.sketches(missing))
    return found


def _candidate(article_id: int, standing: Standing, sketch: Sketch) -> Candidate:
    return Candidate(
        article_id,
        standing.cluster_id,
        sketch.signature,
        sketch.shingles,
        sketch.anchors,
        standing.outlet,
    )
