"""The candidate index: which stored articles might tell the same story as a new one.

Three ways to be proposed, each a posting table (``postings.py``):

* bands — LSH over the signature: the first ``bands × rows`` values cut into bands, each
  band hashed to a key; a shared band key means a Jaccard around ``lsh_threshold`` or
  more (near-duplicates, re-headlined and lightly edited copies);
* anchors — sampled shingles (fingerprint.py); a shared anchor means a shared passage
  whatever the rest of either text (trimmed copies, partial reuse). Anchors that occur in
  very many articles are stock phrases or boilerplate and propose nothing;
* passages — hashes of long paragraphs reused verbatim.

The in-memory index also keeps every indexed signature (16-bit values in one matrix), so
the verifier needs no database round trip. The database stays the source of truth: the
index is rebuilt from stored fingerprints at start and is a cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import chain, pairwise
from typing import Protocol

import numpy as np
import numpy.typing as npt
from datasketch.lsh import _optimal_param

from aggregator.fingerprint import SignatureArray, anchor_array, signature_array
from aggregator.postings import PostingTable
from aggregator.settings import DedupSettings, RedisSettings
from aggregator.sigmatrix import SignatureMatrix
from aggregator.tokens import mix
from aggregator.types import Fingerprint

U32 = np.uint32
U64 = np.uint64
KeyArray = npt.NDArray[np.uint32]
IndexArray = npt.NDArray[np.intp]
#: Signature values the band index uses at most (bands × rows ≤ this), bounding its memory.
BAND_SLOTS = 128
#: An anchor shared by more indexed articles than this is a stock phrase or boilerplate.
MAX_ANCHOR_FREQUENCY = 50


@lru_cache(maxsize=8)
def band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that best separate Jaccard above and below ``threshold``."""
    bands, rows = _optimal_param(threshold, min(BAND_SLOTS, num_perm), 0.5, 0.5)
    return int(bands), int(rows)


def band_keys(signatures: npt.NDArray[np.uint16], bands: int, rows: int) -> KeyArray:
    """(texts, bands) 32-bit keys: each band's values and its number, hashed together."""
    values = signatures[:, : bands * rows].astype(U64).reshape(signatures.shape[0], bands, rows)
    acc = np.broadcast_to(np.arange(bands, dtype=U64) * U64(0x9E3779B97F4A7C15), values.shape[:2])
    for r in range(rows):
        acc = (acc ^ values[:, :, r]) * U64(0xBF58476D1CE4E5B9)
    return (mix(acc) >> U64(32)).astype(U32)


def passage_keys(passages: Sequence[int] | npt.NDArray[np.int64]) -> KeyArray:
    """32-bit keys of the passage hashes."""
    return (np.asarray(passages, dtype=np.int64).view(U64) >> U64(32)).astype(U32)


@dataclass(frozen=True, slots=True)
class _KindKeys:
    """One kind of key for a batch of texts: the keys, and the text each belongs to."""

    keys: KeyArray
    owner: IndexArray


@dataclass(frozen=True, slots=True)
class BatchKeys:
    """Every key of a batch of fingerprints, by kind (bands, anchors, passages)."""

    kinds: tuple[_KindKeys, _KindKeys, _KindKeys]
    signatures: npt.NDArray[np.uint16]  # (texts, num_perm)

    @classmethod
    def of(cls, fps: Sequence[Fingerprint], bands: int, rows: int) -> BatchKeys:
        signatures = (
            np.frombuffer(b"".join(fp.signature for fp in fps), dtype="<u2")
            .astype(np.uint16)
            .reshape(len(fps), -1)
            if fps
            else np.empty((0, 0), np.uint16)
        )
        band = band_keys(signatures, bands, rows) if fps else np.empty((0, bands), U32)
        docs = np.arange(len(fps))
        anchors = _KindKeys(
            anchor_array(b"".join(fp.anchors for fp in fps)),
            np.repeat(docs, [len(fp.anchors) // 4 for fp in fps]),
        )
        # passage hashes are distinct per text; their 32-bit keys collide with p ≈ 2**-32
        counts = [len(fp.passages) for fp in fps]
        every = np.fromiter(chain.from_iterable(fp.passages for fp in fps), np.int64, sum(counts))
        passages = _KindKeys(passage_keys(every), np.repeat(docs, counts))
        return cls(
            (_KindKeys(band.ravel(), np.repeat(docs, bands)), anchors, passages),
            signatures,
        )


@dataclass(frozen=True, slots=True)
class Sketch:
    """An indexed article's signature and the sizes containment estimates need."""

    signature: SignatureArray
    shingles: int
    anchors: int

    @classmethod
    def of(cls, fp: Fingerprint) -> Sketch:
        return cls(signature_array(fp.signature), fp.shingles, len(fp.anchors) // 4)


@dataclass(frozen=True, slots=True)
class Hits:
    """Candidates for one query, with how each was proposed."""

    ids: npt.NDArray[np.uint32]
    bands: npt.NDArray[np.intp]
    anchors: npt.NDArray[np.intp]
    passages: npt.NDArray[np.intp]

    @classmethod
    def empty(cls) -> Hits:
        none = np.empty(0, dtype=np.intp)
        return cls(np.empty(0, dtype=U32), none, none, none)

    def __len__(self) -> int:
        return int(self.ids.size)


#: Candidate proposals before they are counted: (text in the batch, candidate id, kind).
Found = tuple[IndexArray, npt.NDArray[np.int64], IndexArray]


@dataclass(frozen=True, slots=True)
class FlatHits:
    """The Hits of a whole batch in flat arrays, ordered by text, then candidate id."""

    doc: IndexArray
    ids: npt.NDArray[np.uint32]
    bands: npt.NDArray[np.intp]
    anchors: npt.NDArray[np.intp]
    passages: npt.NDArray[np.intp]
    docs: int  # texts in the batch

    def split(self) -> list[Hits]:
        """One Hits per text of the batch."""
        bounds = np.searchsorted(self.doc, np.arange(self.docs + 1)).tolist()
        return [
            Hits(self.ids[a:b], self.bands[a:b], self.anchors[a:b], self.passages[a:b])
            if b > a
            else _NO_HITS
            for a, b in pairwise(bounds)
        ]


class StoryIndex(Protocol):
    """What the clustering needs from an index (in memory, or shared through Redis).

    Batches: ``keys`` computes a batch's keys once; ``query_many`` and ``add_many`` reuse
    them. ``sketch`` returns None for articles whose signature the index does not hold
    (the caller then reads it from the store).
    """

    def keys(self, fps: Sequence[Fingerprint]) -> BatchKeys: ...
    def query_found(self, fps: Sequence[Fingerprint], keys: BatchKeys) -> list[Found]: ...
    def query_many(
        self, fps: Sequence[Fingerprint], keys: BatchKeys | None = None
    ) -> list[Hits]: ...
    def add_many(
        self,
        ids: Sequence[int],
        fps: Sequence[Fingerprint],
        seen_at: datetime | Sequence[datetime],
        keys: BatchKeys | None = None,
    ) -> None: ...
    def discard(self, article_id: int) -> None: ...
    def prune(self, now: datetime) -> int: ...
    def sketch(self, article_id: int) -> Sketch | None: ...
    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]: ...
    def rows_of(self, article_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]: ...
    def row_arrays(
        self, rows: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def __len__(self) -> int: ...


class MemoryIndex:
    """The whole index in this process's memory."""

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self.window = settings.window
        self.bands, self.rows = band_layout(settings.lsh_threshold, settings.num_perm)
        self._tables = (PostingTable(), PostingTable(), PostingTable())  # bands, anchors, passages
        self._signatures = SignatureMatrix(settings.num_perm)

    def keys(self, fps: Sequence[Fingerprint]) -> BatchKeys:
        return BatchKeys.of(fps, self.bands, self.rows)

    def query_many(self, fps: Sequence[Fingerprint], keys: BatchKeys | None = None) -> list[Hits]:
        """For each fingerprint, the indexed articles sharing a band, anchor or passage."""
        return count_hits(self.query_found(fps, keys or self.keys(fps)), len(fps))

    def query_found(self, fps: Sequence[Fingerprint], keys: BatchKeys) -> list[Found]:
        """query_many's proposals before they are counted per text and candidate."""
        found: list[Found] = []
        for kind, (table, kind_keys) in enumerate(zip(self._tables, keys.kinds, strict=True)):
            cap = MAX_ANCHOR_FREQUENCY if kind == ANCHORS else None
            ids, which = table.lookup(kind_keys.keys, cap=cap)
            found.append((kind_keys.owner[which], ids.astype(np.int64), np.full(ids.size, kind)))
        return found

    def add_many(
        self,
        ids: Sequence[int],
        fps: Sequence[Fingerprint],
        seen_at: datetime | Sequence[datetime],
        keys: BatchKeys | None = None,
    ) -> None:
        """Index articles; ``seen_at`` one time for all, or one per article."""
        if not fps:
            return
        keys = keys or self.keys(fps)
        if any(table.forgets(ids) for table in self._tables):
            # an id taken back earlier comes again (SQLite reuses a rolled-back rowid):
            # drop its old postings for good first
            for table in self._tables:
                table.compact()
        id_array = np.asarray(ids, dtype=U32)
        for table, kind_keys in zip(self._tables, keys.kinds, strict=True):
            table.add(id_array[kind_keys.owner], kind_keys.keys)
        self._signatures.extend(
            id_array.astype(np.int64),
            keys.signatures,
            np.fromiter((fp.shingles for fp in fps), np.int32, len(fps)),
            np.fromiter((len(fp.anchors) // 4 for fp in fps), np.int32, len(fps)),
            np.asarray(stamps(seen_at, len(ids)), dtype=np.float64),
        )

    def discard(self, article_id: int) -> None:
        """Take back an article whose transaction did not commit (no-op if not indexed).

        Its signature row goes at once (a copy of the matrix: rollbacks are rare); its
        postings are skipped by lookups and dropped at the next compaction.
        """
        row = self._signatures.row_of(article_id)
        if row is None:
            return
        keep = np.ones(self._signatures.rows, dtype=bool)
        keep[row] = False
        self._signatures.keep(keep)
        for table in self._tables:
            table.forget(article_id)

    def prune(self, now: datetime) -> int:
        """Forget articles first seen before the window; returns how many."""
        sigs = self._signatures
        old = sigs.seen[: sigs.rows] < (now - self.window).timestamp()
        dropped = int(old.sum())
        if dropped == 0:
            return 0
        expired = sigs.ids[: sigs.rows][old].tolist()
        for table in self._tables:
            for article_id in expired:
                table.forget(article_id)
            table.compact()
        sigs.keep(~old)
        return dropped

    def rows_of(self, article_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Each id's row in the signature matrix, -1 where it is not indexed."""
        return self._signatures.rows_of(article_ids)

    def row_arrays(
        self, rows: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Signatures, shingle counts and anchor counts of the given rows."""
        sigs = self._signatures
        shingles = sigs.shingles[rows].astype(np.int64)
        return sigs.matrix[rows], shingles, sigs.anchors[rows].astype(np.int64)

    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]:
        """The indexed sketches among ``article_ids`` (one vectorized lookup)."""
        sigs = self._signatures
        rows = sigs.rows_of(np.asarray(article_ids, dtype=np.int64))
        return {
            int(article_id): Sketch(
                sigs.matrix[row], int(sigs.shingles[row]), int(sigs.anchors[row])
            )
            for article_id, row in zip(article_ids, rows.tolist(), strict=True)
            if row >= 0
        }

    def sketch(self, article_id: int) -> Sketch | None:
        """The indexed signature and counts of an article, or None if it is not indexed."""
        row = self._signatures.row_of(article_id)
        if row is None:
            return None
        sigs = self._signatures
        return Sketch(sigs.matrix[row], int(sigs.shingles[row]), int(sigs.anchors[row]))

    def __len__(self) -> int:
        return self._signatures.rows

    @property
    def nbytes(self) -> int:
        """Memory held by the index, signatures included."""
        sigs = self._signatures
        arrays = sum(
            a.nbytes for a in (sigs.matrix, sigs.ids, sigs.shingles, sigs.anchors, sigs.seen)
        )
        return sum(t.nbytes for t in self._tables) + arrays


BANDS, ANCHORS, PASSAGES = 0, 1, 2
_NO_HITS = Hits.empty()


def stamps(seen_at: datetime | Sequence[datetime], count: int) -> list[float]:
    """POSIX times of ``count`` arrivals: one time for all, or one per article."""
    if isinstance(seen_at, datetime):
        return [seen_at.timestamp()] * count
    return [moment.timestamp() for moment in seen_at]


def count_hits(found: Sequence[Found], docs: int) -> list[Hits]:
    """Group (text, candidate id, kind) triples into one Hits per text."""
    return count_flat(found, docs).split()


def count_flat(found: Sequence[Found], docs: int) -> FlatHits:
    """Count (text, candidate id, kind) triples per text and candidate, for the whole batch."""
    none = np.empty(0, dtype=np.intp)
    if not found or all(part[1].size == 0 for part in found):
        return FlatHits(none, np.empty(0, dtype=U32), none, none, none, docs)
    owner = np.concatenate([f[0] for f in found])
    ids = np.concatenate([f[1] for f in found])
    kind = np.concatenate([f[2] for f in found])
    # one code per (text, candidate, kind); sorted, equal codes are adjacent
    codes = (owner.astype(np.int64) << 34) | (ids << 2) | kind
    codes.sort()
    pair = codes >> 2
    first = np.concatenate(([True], pair[1:] != pair[:-1]))
    unique = pair[first]
    group = np.cumsum(first) - 1
    counts = np.zeros((3, unique.size), dtype=np.intp)
    np.add.at(counts, ((codes & 3).astype(np.intp), group), 1)
    return FlatHits(
        (unique >> 32).astype(np.intp),
        (unique & 0xFFFFFFFF).astype(U32),  # ids are < 2**32
        counts[BANDS],
        counts[ANCHORS],
        counts[PASSAGES],
        docs,
    )


def within_batch(keys: BatchKeys, ids: Sequence[int]) -> list[Hits]:
    """For each text of a batch, the EARLIER texts of the same batch it shares keys with.

    A batch is indexed only after it is placed, so texts must also see each other. For
    every key, each text is paired with the texts before it that carry the same key, all
    pairs generated at once from the sorted keys.
    """
    return count_hits(within_batch_found(keys, ids), len(ids))


def within_batch_found(keys: BatchKeys, ids: Sequence[int]) -> list[Found]:
    """within_batch's proposals before they are counted per text and candidate."""
    found: list[Found] = []
    id_array = np.asarray(ids, dtype=np.int64)
    for kind, kind_keys in enumerate(keys.kinds):
        later, earlier = _pairs_sharing_keys(
            kind_keys, cap=MAX_ANCHOR_FREQUENCY if kind == ANCHORS else None
        )
        found.append((later, id_array[earlier], np.full(later.size, kind)))
    return found


def _pairs_sharing_keys(kind_keys: _KindKeys, *, cap: int | None) -> tuple[IndexArray, IndexArray]:
    """(later text, earlier text) for every two texts that carry one key (texts of keys
    carried by more than ``cap`` texts are left out)."""
    # by key, then text: one sort of a 64-bit code (equal codes are equal pairs)
    code = (kind_keys.keys.astype(U64) << U64(32)) | kind_keys.owner.astype(U64)
    order = np.argsort(code)
    keys, owner = kind_keys.keys[order], kind_keys.owner[order]
    if keys.size < 2:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    group_start = np.maximum.accumulate(np.where(first, np.arange(keys.size), 0))
    if cap is not None:
        sizes = np.diff(np.append(np.flatnonzero(first), keys.size))
        too_common = np.repeat(sizes > cap, sizes)
        group_start = np.where(too_common, np.arange(keys.size), group_start)
    before = np.arange(keys.size) - group_start  # texts earlier in the same group
    total = int(before.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    later_pos = np.repeat(np.arange(keys.size), before)
    offsets = np.arange(total) - np.repeat(np.cumsum(before) - before, before)
    earlier_pos = np.repeat(group_start, before) + offsets
    later, earlier = owner[later_pos], owner[earlier_pos]
    distinct = later != earlier
    return later[distinct], earlier[distinct]


def build_index(
    settings: DedupSettings, redis: RedisSettings, clock: Callable[[], datetime]
) -> StoryIndex:
    """The index the settings ask for: shared through Redis when a URL is set."""
    if redis.url:
        from aggregator.redisindex import RedisIndex  # only scale-out mode needs redis

        return RedisIndex(settings, redis.url, redis.prefix, clock=clock)
    return MemoryIndex(settings)
