"""A compact multimap from 32-bit keys to 32-bit article ids, in numpy arrays.

Entries arrive in batches; each batch is sorted into a run, and runs of similar size are
merged (a log-structured layout), so an entry costs 8 bytes and a lookup is one binary
search per run for all the keys of a query at once. Python containers of the same content
take ten times the memory (DESIGN.md §8: ~9.5 GB per million articles for datasketch's
dict-backed LSH).

Ids are removed lazily: ``forget`` marks an id (it left the time window, or its batch was
rolled back); lookups skip it at once, and merges or ``compact`` drop it for good.

Most keys of a new article are in no run (its bands and passages are new unless it is a
copy), yet each would cost a binary search per run in a large array. A two-hash bit filter
over every stored key (4–8 bits per entry, two bits per key, so 5–16 % of absent keys get
through) answers "certainly absent" for most of them first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

U32 = np.uint32
KeyArray = npt.NDArray[np.uint32]
IndexArray = npt.NDArray[np.intp]

#: A run is merged with the one before it when that one is less than this many times
#: larger: at most ~log4(entries) runs, each entry rewritten ~log4(entries) times.
MERGE_RATIO = 4

#: The key filter has at least this many bits per entry (and fewer than twice as many).
FILTER_BITS_PER_ENTRY = 4
_MIN_FILTER_BITS = 1 << 16
#: Multiplicative hashes of the filter (two bits per key): they spread keys whose low bits
#: agree (anchors are chosen by their low bits).
_MULTIPLIERS = (np.uint32(0x9E3779B1), np.uint32(0x85EBCA77))


@dataclass(slots=True)
class _Run:
    keys: KeyArray
    ids: KeyArray


@dataclass(slots=True)
class PostingTable:
    """key → article ids, with lookups for many keys at once."""

    _runs: list[_Run] = field(default_factory=list)
    _forgotten: set[int] = field(default_factory=set)
    _filter: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    _filter_shift: int = 32

    def add(self, ids: KeyArray, keys: KeyArray) -> None:
        """Record that article ``ids[i]`` has key ``keys[i]`` (one entry per pair)."""
        if keys.size == 0:
            return
        self._runs.append(self._sorted_run(keys, ids))
        if (self.entries * FILTER_BITS_PER_ENTRY) > self._filter.size * 8:
            self._rebuild_filter()
        else:
            self._mark(keys)
        runs = self._runs
        while len(runs) > 1 and runs[-2].keys.size < MERGE_RATIO * runs[-1].keys.size:
            newer, older = runs.pop(), runs.pop()
            runs.append(self._merged(older, newer))

    def lookup(self, keys: KeyArray, *, cap: int | None = None) -> tuple[KeyArray, IndexArray]:
        """Every (article id, index into ``keys``) pair; forgotten ids are left out.

        Keys with more than ``cap`` entries (stock phrases, when the keys are anchors)
        are skipped before any of their ids is gathered. The keys are searched in sorted
        order: successive binary searches then walk each run in one direction, which
        keeps them in cache.
        """
        maybe = np.flatnonzero(self._may_hold(keys))
        order = maybe[np.argsort(keys[maybe])]
        sorted_keys = keys[order]
        spans = []
        total = np.zeros(order.size, dtype=np.intp)
        for run in self._runs:
            left, count = _spans(run.keys, sorted_keys)
            spans.append((run, left, count))
            total += count
        allowed = total <= cap if cap is not None else None
        id_parts: list[KeyArray] = []
        which_parts: list[IndexArray] = []
        for run, left, found in spans:
            count = found if allowed is None else np.where(allowed, found, 0)
            size = int(count.sum())
            if size:
                which = np.repeat(np.arange(order.size), count)
                offsets = np.arange(size) - np.repeat(np.cumsum(count) - count, count)
                id_parts.append(run.ids[left[which] + offsets])
                which_parts.append(order[which])
        if not id_parts:
            return np.empty(0, dtype=U32), np.empty(0, dtype=np.intp)
        ids = np.concatenate(id_parts)
        which_all = np.concatenate(which_parts)
        live = self._live(ids)
        return ids[live], which_all[live]

    def frequency(self, keys: KeyArray) -> IndexArray:
        """How many entries each key has (forgotten ones count until they are merged away)."""
        counts = np.zeros(keys.size, dtype=np.intp)
        maybe = np.flatnonzero(self._may_hold(keys))
        wanted = keys[maybe]
        for run in self._runs:
            counts[maybe] += _spans(run.keys, wanted)[1]
        return counts

    # --- the key filter ---------------------------------------------------------------

    def _slots(self, keys: KeyArray) -> list[npt.NDArray[np.uint32]]:
        """The filter bit of each key under each of the filter's hashes."""
        keys = keys.astype(U32, copy=False)
        shift = U32(self._filter_shift)
        return [(keys * multiplier) >> shift for multiplier in _MULTIPLIERS]

    def _may_hold(self, keys: KeyArray) -> npt.NDArray[np.bool_]:
        """False where no run holds the key; True where one may."""
        if self._filter.size == 0:
            return np.zeros(keys.size, dtype=bool)
        held = np.ones(keys.size, dtype=bool)
        for slots in self._slots(keys):
            byte = self._filter[slots >> U32(3)]
            held &= ((byte >> (slots & U32(7)).astype(np.uint8)) & 1).astype(bool)
        return held

    def _mark(self, keys: KeyArray) -> None:
        for slots in self._slots(keys):
            bits = np.left_shift(np.uint8(1), (slots & U32(7)).astype(np.uint8))
            # intp indices: ufunc.at's fast path (a third faster than with uint32 ones)
            np.bitwise_or.at(self._filter, (slots >> U32(3)).astype(np.intp), bits)

    def _rebuild_filter(self) -> None:
        """A filter sized for the entries now held (forgotten keys drop out too)."""
        if self.entries == 0:
            self._filter = np.zeros(0, dtype=np.uint8)
            return
        wanted = max(_MIN_FILTER_BITS, self.entries * FILTER_BITS_PER_ENTRY)
        bits = 1 << (wanted - 1).bit_length()
        self._filter_shift = 32 - (bits.bit_length() - 1)
        present = np.zeros(bits, dtype=bool)
        for run in self._runs:
            for slots in self._slots(run.keys):
                present[slots] = True
        self._filter = np.packbits(present, bitorder="little")

    def _live(self, ids: KeyArray) -> npt.NDArray[np.bool_]:
        if not self._forgotten:
            return np.ones(ids.size, dtype=bool)
        return ~np.isin(ids, np.fromiter(self._forgotten, U32, len(self._forgotten)))

    def forget(self, article_id: int) -> None:
        self._forgotten.add(article_id)

    def forgets(self, article_ids: Sequence[int]) -> bool:
        """Is any of these ids forgotten but not yet dropped?"""
        return bool(self._forgotten) and not self._forgotten.isdisjoint(article_ids)

    def _merged(self, older: _Run, newer: _Run) -> _Run:
        """Two sorted runs as one, dropping forgotten ids. A stable sort of the two runs
        end to end is numpy's timsort, which finds the two runs and merges them in linear
        time (about three times faster than placing the new entries with np.insert)."""
        keys = np.concatenate((older.keys, newer.keys))
        order = np.argsort(keys, kind="stable")
        run = _Run(keys[order], np.concatenate((older.ids, newer.ids))[order])
        if self._forgotten:
            live = self._live(run.ids)
            run = _Run(run.keys[live], run.ids[live])
        return run

    def _sorted_run(self, keys: KeyArray, ids: KeyArray) -> _Run:
        live = self._live(ids)
        if not live.all():
            keys, ids = keys[live], ids[live]
        # by key, then id: one sort of a 64-bit code
        order = np.argsort((keys.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64))
        return _Run(keys[order], ids[order])

    def compact(self) -> None:
        """Merge everything into one run, dropping forgotten ids for good."""
        if not self._runs:
            self._forgotten.clear()
            self._filter = np.zeros(0, dtype=np.uint8)
            return
        keys = np.concatenate([r.keys for r in self._runs])
        ids = np.concatenate([r.ids for r in self._runs])
        run = self._sorted_run(keys, ids)
        self._runs = [run] if run.keys.size else []
        self._forgotten.clear()
        self._rebuild_filter()

    @property
    def entries(self) -> int:
        return sum(r.keys.size for r in self._runs)

    @property
    def runs(self) -> int:
        return len(self._runs)

    @property
    def nbytes(self) -> int:
        return self._filter.nbytes + sum(r.keys.nbytes + r.ids.nbytes for r in self._runs)


def _spans(run_keys: KeyArray, keys: KeyArray) -> tuple[IndexArray, IndexArray]:
    """Where each key's entries begin in a sorted run, and how many there are.

    Most keys are not in a given run (the filter only says "in some run"), so the second
    binary search, for where a key's entries end, is made only for keys found at their
    start: a gather and a compare instead of a search through a large array.
    """
    left = np.searchsorted(run_keys, keys, "left")
    count = np.zeros(keys.size, dtype=np.intp)
    if run_keys.size == 0:
        return left, count
    found = np.flatnonzero(run_keys[np.minimum(left, run_keys.size - 1)] == keys)
    if found.size:
        count[found] = np.searchsorted(run_keys, keys[found], "right") - left[found]
    return left, count
