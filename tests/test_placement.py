"""Tests of placement: the index proposes, the directory says where candidates stand, the
verifier decides — with a directory that is not the in-memory one."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np

from aggregator.cluster import Candidate
from aggregator.fingerprint import fingerprint_batch
from aggregator.index import Hits, MemoryIndex, Sketch
from aggregator.placement import NewArticle, Standing, place, place_batch
from aggregator.settings import DedupSettings
from aggregator.types import Assignment, Fingerprint

SETTINGS = DedupSettings()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_VOCABULARY = [f"{a}{b}{c}" for a in "bdgklmnprstvz" for b in "aeiou" for c in "nrstlmk"]


def story(seed: int, words: int = 400) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_VOCABULARY) for _ in range(words))


def fps(*texts: str) -> list[Fingerprint]:
    return fingerprint_batch(list(texts), SETTINGS)


class StoreDirectory:
    """A Directory as the store would be: dicts, plus stored sketches of any article, and a
    log of what was asked."""

    def __init__(self, stored: dict[int, Fingerprint] | None = None) -> None:
        self.standing: dict[int, Standing] = {}
        self.representative: dict[int, int] = {}
        self.stored = {i: Sketch.of(fp) for i, fp in (stored or {}).items()}
        self.sketches_asked: list[list[int]] = []

    def add(self, article_id: int, cluster_id: int, outlet: str = "") -> None:
        self.standing[article_id] = Standing(cluster_id, outlet)
        self.representative.setdefault(cluster_id, article_id)

    def standings(self, article_ids: Sequence[int]) -> dict[int, Standing]:
        return {i: self.standing[i] for i in article_ids if i in self.standing}

    def representatives(self, cluster_ids: Iterable[int]) -> dict[int, int]:
        return {c: self.representative[c] for c in cluster_ids if c in self.representative}

    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]:
        self.sketches_asked.append(list(article_ids))
        return {i: self.stored[i] for i in article_ids if i in self.stored}

    def settle(self, item: NewArticle, assignment: Assignment) -> None:
        cluster_id = item.article_id if assignment.cluster_id is None else assignment.cluster_id
        self.add(item.article_id, cluster_id, item.outlet)


def hits_for(*ids: int, anchors: int = 0, passages: int = 0) -> Hits:
    n = len(ids)
    return Hits(
        np.asarray(ids, np.uint32),
        np.ones(n, np.intp),
        np.full(n, anchors, np.intp),
        np.full(n, passages, np.intp),
    )


def new(article_id: int, fp: Fingerprint, outlet: str = "") -> Candidate:
    return Candidate.of(article_id, fp, outlet=outlet)


# --- place ---------------------------------------------------------------------------------


def test_nothing_proposed_opens_a_cluster_without_asking_the_directory() -> None:
    directory = StoreDirectory()
    (fp,) = fps(story(1))
    assignment = place(new(9, fp), Hits.empty(), MemoryIndex(SETTINGS), directory)
    assert assignment.cluster_id is None
    assert directory.sketches_asked == []


def test_a_copy_joins_the_cluster_of_its_original() -> None:
    original, copy = fps(story(2), story(2) + " said the minister")
    index = MemoryIndex(SETTINGS)
    index.add_many([1], [original], T0)
    directory = StoreDirectory()
    directory.add(1, 1, "Politico")
    (hits,) = index.query_many([copy])
    assignment = place(new(2, copy), hits, index, directory)
    assert assignment.cluster_id == 1
    assert assignment.matched_article_id == 1
    assert assignment.similarity is not None
    assert assignment.similarity.jaccard > 0.9
    assert directory.sketches_asked == []  # the index held the sketch


def test_sketches_the_index_does_not_hold_come_from_the_directory() -> None:
    # As with the Redis index: it proposes ids, the store supplies their sketches.
    original, copy = fps(story(3), story(3))
    directory = StoreDirectory(stored={7: original})
    directory.add(7, 70, "Reuters")
    index = MemoryIndex(SETTINGS)  # holds nothing
    assignment = place(new(8, copy), hits_for(7), index, directory)
    assert directory.sketches_asked == [[7]]
    assert assignment.cluster_id == 70
    assert assignment.matched_article_id == 7


def test_a_candidate_without_any_sketch_is_not_verified() -> None:
    (copy,) = fps(story(4))
    directory = StoreDirectory()  # stores no sketch
    directory.add(7, 70)
    assignment = place(new(8, copy), hits_for(7), MemoryIndex(SETTINGS), directory)
    assert assignment.cluster_id is None


def test_the_representative_is_read_from_the_store_when_only_a_member_was_proposed() -> None:
    text = story(5)
    original, member, copy = fps(text, text + " update", text)
    index = MemoryIndex(SETTINGS)
    index.add_many([12], [member], T0)  # the index knows the member only
    directory = StoreDirectory(stored={11: original})
    directory.add(11, 11, "AP")
    directory.add(12, 11, "Daily")
    assignment = place(new(13, copy), hits_for(12), index, directory)
    assert directory.sketches_asked == [[11]]
    assert assignment.cluster_id == 11
    assert assignment.matched_article_id == 11


def test_an_unclustered_candidate_is_ignored() -> None:
    original, copy = fps(story(6), story(6))
    index = MemoryIndex(SETTINGS)
    index.add_many([1], [original], T0)
    directory = StoreDirectory()  # article 1 stands nowhere (its batch was rolled back)
    assert place(new(2, copy), hits_for(1), index, directory).cluster_id is None


def test_two_clusters_of_one_story_are_merged() -> None:
    # Two daemons opened a cluster each for copies of one story at the same instant.
    text = story(7)
    first, second, third = fps(text, text + " the end", text)
    index = MemoryIndex(SETTINGS)
    index.add_many([1, 2], [first, second], T0)
    directory = StoreDirectory()
    directory.add(1, 1, "Wire")
    directory.add(2, 2, "Other")
    (hits,) = index.query_many([third])
    assignment = place(new(3, third), hits, index, directory)
    assert (assignment.cluster_id, assignment.merge) == (1, (2,))


# --- place_batch ---------------------------------------------------------------------------


def test_place_batch_places_in_order_sees_earlier_items_and_indexes_all() -> None:
    a, b = story(8), story(9)
    items = [
        NewArticle(1, fps(a)[0], "Politico"),
        NewArticle(2, fps(b)[0], "BBC"),
        NewArticle(3, fps(a + " more")[0], "AzerNEWS"),
        NewArticle(4, fps(" ".join(b.split()[:150]))[0], "Daily"),
    ]
    directory = StoreDirectory()
    decisions: list[tuple[int, int | None]] = []

    def settle(item: NewArticle, assignment: Assignment) -> None:
        decisions.append((item.article_id, assignment.cluster_id))
        directory.settle(item, assignment)

    index = MemoryIndex(SETTINGS)
    place_batch(items, index, directory, settle, seen_at=T0)
    assert decisions == [(1, None), (2, None), (3, 1), (4, 2)]
    assert len(index) == 4
    assert all(index.sketch(i) is not None for i in range(1, 5))
    (hits,) = index.query_many(fps(a))
    assert set(hits.ids.tolist()) == {1, 3}


def test_place_batch_sees_the_index_and_the_batch_together() -> None:
    a = story(10)
    index = MemoryIndex(SETTINGS)
    index.add_many([1], fps(a), T0)
    directory = StoreDirectory()
    directory.add(1, 1, "Politico")
    items = [NewArticle(2, fps(a + " one")[0]), NewArticle(3, fps(a + " two")[0])]
    place_batch(items, index, directory, directory.settle, seen_at=T0)
    assert directory.standings([2, 3]) == {2: Standing(1, ""), 3: Standing(1, "")}


def test_an_empty_batch_does_nothing() -> None:
    def settle(item: NewArticle, assignment: Assignment) -> None:
        raise AssertionError("nothing to settle")

    index = MemoryIndex(SETTINGS)
    place_batch([], index, StoreDirectory(), settle, seen_at=T0)
    assert len(index) == 0
