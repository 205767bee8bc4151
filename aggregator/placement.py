"""Placing a new article: index proposes → directory says where each candidate stands →
verifier decides. One function, used by the pipeline (the directory is the database) and
by the in-memory engine of the evaluation and the benchmarks (the directory is a dict).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Protocol

import numpy as np
import numpy.typing as npt

from aggregator import cluster
from aggregator.cluster import Candidate, Evidence
from aggregator.index import (
    BatchKeys,
    FlatHits,
    Hits,
    Sketch,
    StoryIndex,
    count_flat,
    within_batch_found,
)
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
    ids = [item.article_id for item in items]
    # candidates from the index and from earlier articles of the batch, counted together
    found = count_flat([*index.query_found(fps, keys), *within_batch_found(keys, ids)], len(fps))
    hits, sketches = _worth_verifying(items, keys, found, index, directory)
    pending = _Placed(items, keys)
    for i, item in enumerate(items):
        if len(hits[i]) == 0:  # the usual case, decided for the whole batch at once
            settle(item, Assignment(cluster_id=None))
        else:
            fp = item.fingerprint
            anchors = len(fp.anchors) // 4
            new = Candidate(
                item.article_id, 0, keys.signatures[i], fp.shingles, anchors, item.outlet
            )
            decided = place(
                new,
                hits[i],
                index,
                directory,
                credits=item.credits,
                pending=pending,
                plausible=sketches[i],
            )
            settle(item, decided)
        pending.count = i + 1
    index.add_many(ids, fps, seen_at, keys)


class _Placed(Mapping[int, Sketch]):
    """Sketches of the batch's articles placed so far (not indexed yet), made on demand."""

    def __init__(self, items: Sequence[NewArticle], keys: BatchKeys) -> None:
        self._position = {item.article_id: k for k, item in enumerate(items)}
        self._items = items
        self._signatures = keys.signatures
        self.count = 0  # items[:count] are placed

    def __getitem__(self, article_id: int) -> Sketch:
        k = self._position.get(article_id, self.count)
        if k >= self.count:
            raise KeyError(article_id)
        fp = self._items[k].fingerprint
        return Sketch(self._signatures[k], fp.shingles, len(fp.anchors) // 4)

    def __iter__(self) -> Iterator[int]:
        return (item.article_id for item in self._items[: self.count])

    def __len__(self) -> int:
        return self.count


def _worth_verifying(
    items: Sequence[NewArticle],
    keys: BatchKeys,
    hits: FlatHits,
    index: StoryIndex,
    directory: Directory,
) -> tuple[list[Hits], list[_Found | None]]:
    """Each article's hits that could pass some rule of the verifier, judged for the
    whole batch in one vectorized pass (most hits are stock phrases and end here), and
    the sketches of those candidates, row for row."""
    if hits.ids.size == 0:
        return hits.split(), [None] * len(items)
    doc, ids = hits.doc, hits.ids.astype(np.int64)
    bands, anchors, passages = hits.bands, hits.anchors, hits.passages
    credited = np.array([bool(item.credits) for item in items])[doc]
    strong = _strong(bands, anchors, passages, credited)
    found = _batch_sketches(ids, strong, items, keys, (index, directory))
    new_shingles = np.array([it.fingerprint.shingles for it in items], dtype=np.float64)[doc]
    jaccard, containment = cluster.estimate_pairs(
        keys.signatures[doc], new_shingles, found.signatures, found.shingles.astype(np.float64)
    )
    keep = _could_pass(jaccard, containment, anchors, passages, credited)
    keep &= strong & found.present
    kept = FlatHits(
        doc[keep], hits.ids[keep], bands[keep], anchors[keep], passages[keep], len(items)
    )
    bounds = np.searchsorted(kept.doc, np.arange(len(items) + 1)).tolist()
    rows = np.flatnonzero(keep)
    sketches: list[_Found | None] = [
        found.rows(rows[a:b]) if b > a else None for a, b in pairwise(bounds)
    ]
    return kept.split(), sketches


def _batch_sketches(
    ids: npt.NDArray[np.int64],
    wanted: npt.NDArray[np.bool_],
    items: Sequence[NewArticle],
    keys: BatchKeys,
    sources: tuple[StoryIndex, Directory],
) -> _Found:
    """Sketches for the ``wanted`` candidate ids: the batch's own, the index's rows, then
    one call to the store for the rest (candidates not wanted stay absent)."""
    index, directory = sources
    width = keys.signatures.shape[1]
    position = {item.article_id: k for k, item in enumerate(items)}
    present = np.zeros(ids.size, dtype=bool)
    signatures = np.zeros((ids.size, width), dtype=np.uint16)
    shingles = np.zeros(ids.size, dtype=np.int64)
    anchors = np.zeros(ids.size, dtype=np.int64)
    in_batch = wanted & np.isin(ids, np.fromiter(position, np.int64, len(position)))
    for k in np.flatnonzero(in_batch).tolist():
        j = position[int(ids[k])]
        signatures[k] = keys.signatures[j]
        fp = items[j].fingerprint
        shingles[k], anchors[k] = fp.shingles, len(fp.anchors) // 4
    present |= in_batch
    outside = np.flatnonzero(wanted & ~in_batch)
    rows = index.rows_of(ids[outside])
    indexed = outside[rows >= 0]
    signatures[indexed], shingles[indexed], anchors[indexed] = index.row_arrays(rows[rows >= 0])
    present[indexed] = True
    missing = outside[rows < 0]
    found = _Found(ids, present, signatures, shingles, anchors)
    if missing.size:
        found.fill(missing, directory.sketches(sorted({int(i) for i in ids[missing]})))
    return found


def place(
    new: Candidate,
    hits: Hits,
    index: StoryIndex,
    directory: Directory,
    *,
    credits: Sequence[Credit] = (),
    pending: Mapping[int, Sketch] | None = None,
    plausible: _Found | None = None,
) -> Assignment:
    """The cluster a new article joins (``cluster_id`` None: it opens its own).

    ``pending`` holds sketches of articles placed but not yet indexed (the same batch).
    ``plausible``: the sketches of ``hits``, row for row, when the batch's plausibility
    pass (``_worth_verifying``) already kept only hits that could pass the verifier.
    """
    if len(hits) == 0:
        return Assignment(cluster_id=None)
    credited = bool(credits)
    pending = pending or {}
    width = new.signature.size
    if plausible is not None:
        found = plausible
        candidates_found = [
            (int(found.ids[k]), k, int(hits.anchors[k]), int(hits.passages[k]))
            for k in range(found.ids.size)
        ]
    else:
        strong = _strong(hits.bands, hits.anchors, hits.passages, credited)
        if not strong.any():
            return Assignment(cluster_id=None)
        found = _sketch_arrays(hits.ids[strong].astype(np.int64), width, index, directory, pending)
        candidates_found = _plausible(
            new, found, hits.anchors[strong], hits.passages[strong], credited
        )
    if not candidates_found:
        return Assignment(cluster_id=None)
    sketches = {i: found.sketch(k) for i, k, _, _ in candidates_found}
    standings = directory.standings(list(sketches))
    reps = directory.representatives({s.cluster_id for s in standings.values()})
    missing_reps = np.asarray(sorted(set(reps.values()) - set(sketches)), dtype=np.int64)
    if missing_reps.size:
        more = _sketch_arrays(missing_reps, width, index, directory, pending)
        sketches.update(
            {int(more.ids[k]): more.sketch(int(k)) for k in np.flatnonzero(more.present)}
        )
    candidates = [
        (_candidate(i, standings[i], sketches[i]), Evidence(a, p))
        for i, _, a, p in candidates_found
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


Mask = npt.NDArray[np.bool_]
Counts = npt.NDArray[np.intp]


def _strong(bands: Counts, anchors: Counts, passages: Counts, credited: Mask | bool) -> Mask:
    """Hits worth verifying: one shared 5-word phrase (a single anchor) alone is usually a
    stock phrase, unless the new article credits someone (a rewrite may share one quote)."""
    strong = (bands > 0) | (passages > 0) | (anchors >= MIN_SHARED_ANCHORS)
    return strong | (credited & (anchors > 0))


def _could_pass(
    jaccard: npt.NDArray[np.float64],
    containment: npt.NDArray[np.float64],
    anchors: Counts,
    passages: Counts,
    credited: Mask | bool,
) -> Mask:
    """Candidates that could pass some rule of the verifier (cluster.verdict)."""
    keep = (jaccard >= cluster.LOWEST_JACCARD) | (containment >= cluster.LOWEST_CONTAINMENT)
    keep |= passages >= 1
    keep |= credited & (
        (anchors >= cluster.CREDITED_MIN_ANCHORS)
        | (containment >= cluster.CREDITED_MIN_CONTAINMENT)
    )
    return keep


@dataclass(frozen=True, slots=True)
class _Found:
    """Sketches of candidates as arrays, row k for ``ids[k]`` (``present[k]``: found)."""

    ids: npt.NDArray[np.int64]
    present: npt.NDArray[np.bool_]
    signatures: npt.NDArray[np.uint16]
    shingles: npt.NDArray[np.int64]
    anchors: npt.NDArray[np.int64]

    def sketch(self, k: int) -> Sketch:
        return Sketch(self.signatures[k], int(self.shingles[k]), int(self.anchors[k]))

    def fill(self, rows: npt.NDArray[np.intp], sketches: Mapping[int, Sketch]) -> None:
        """Set the given rows from ``sketches`` (by id); rows without one stay absent."""
        for k in rows.tolist():
            sketch = sketches.get(int(self.ids[k]))
            if sketch is not None:
                self.present[k] = True
                self.signatures[k] = sketch.signature
                self.shingles[k], self.anchors[k] = sketch.shingles, sketch.anchors

    def rows(self, which: npt.NDArray[np.intp]) -> _Found:
        return _Found(
            self.ids[which],
            self.present[which],
            self.signatures[which],
            self.shingles[which],
            self.anchors[which],
        )


def _sketch_arrays(
    ids: npt.NDArray[np.int64],
    width: int,
    index: StoryIndex,
    directory: Directory,
    pending: Mapping[int, Sketch],
) -> _Found:
    """The sketches of ``ids``: the index's rows in one vectorized lookup, then pending
    articles of the batch, then the store's."""
    rows = index.rows_of(ids)
    present = rows >= 0
    if present.all():  # the usual case: everything is in the index
        signatures, shingles, anchors = index.row_arrays(rows)
        return _Found(ids, present, signatures, shingles, anchors)
    signatures = np.zeros((ids.size, width), dtype=np.uint16)
    shingles = np.zeros(ids.size, dtype=np.int64)
    anchors = np.zeros(ids.size, dtype=np.int64)
    signatures[present], shingles[present], anchors[present] = index.row_arrays(rows[present])
    absent = np.flatnonzero(~present)
    found = _Found(ids, present, signatures, shingles, anchors)
    if absent.size:
        wanted = [int(ids[k]) for k in absent]
        others = {i: pending[i] for i in wanted if i in pending}
        stored = [i for i in wanted if i not in others]
        if stored:
            others.update(directory.sketches(stored))
        found.fill(absent, others)
    return found


def _plausible(
    new: Candidate,
    found: _Found,
    anchors: npt.NDArray[np.intp],
    passages: npt.NDArray[np.intp],
    credited: bool,
) -> list[tuple[int, int, int, int]]:
    """(id, row in ``found``, shared anchors, shared passages) of the candidates that could
    pass any rule of the verifier, judged for all at once; most (stock phrases) end here.
    ``anchors`` and ``passages`` are aligned with ``found.ids``."""
    jaccard, containment = cluster.estimate_many(
        new, found.signatures, found.shingles.astype(np.float64)
    )
    keep = _could_pass(jaccard, containment, anchors, passages, credited)
    keep &= found.present
    return [
        (int(found.ids[k]), int(k), int(anchors[k]), int(passages[k])) for k in np.flatnonzero(keep)
    ]


def _candidate(article_id: int, standing: Standing, sketch: Sketch) -> Candidate:
    return Candidate(
        article_id,
        standing.cluster_id,
        sketch.signature,
        sketch.shingles,
        sketch.anchors,
        standing.outlet,
    )
