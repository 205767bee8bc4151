"""Tests of the candidate index: bands, anchors and passages, in memory and in Redis."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aggregator.fingerprint import fingerprint_batch, signature_array
from aggregator.index import (
    BAND_SLOTS,
    MAX_ANCHOR_FREQUENCY,
    BatchKeys,
    Hits,
    MemoryIndex,
    band_keys,
    band_layout,
    build_index,
    within_batch,
)
from aggregator.redisindex import RedisIndex
from aggregator.settings import DedupSettings, RedisSettings
from aggregator.types import Fingerprint

SETTINGS = DedupSettings()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
_VOCABULARY = [f"{a}{b}{c}" for a in "bdgklmnprstvz" for b in "aeiou" for c in "nrstlmk"]


class Texts:
    """Pseudo-word texts: any two share no 5-word shingle unless built to."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.markers = 0

    def around(self, inner: str, before: int, after: int) -> str:
        """``inner`` between fresh words, fenced by words no other text has (so that even
        the shingles that straddle its edges are this text's own)."""
        self.markers += 1
        fence = f"edge{self.markers}"
        return f"{self.text(before)} {fence} {inner} {fence} {self.text(after)}"

    def words(self, count: int) -> list[str]:
        return [self.rng.choice(_VOCABULARY) for _ in range(count)]

    def text(self, count: int) -> str:
        return " ".join(self.words(count))

    def edited(self, text: str, rate: float) -> str:
        return " ".join(
            w if self.rng.random() > rate else self.rng.choice(_VOCABULARY) for w in text.split()
        )


def fps(*texts: str) -> list[Fingerprint]:
    return fingerprint_batch(list(texts), SETTINGS)


def hit_map(hits: Hits) -> dict[int, tuple[int, int, int]]:
    """Candidate id → (bands, anchors, passages) shared with the query."""
    return {
        int(i): (int(b), int(a), int(p))
        for i, b, a, p in zip(hits.ids, hits.bands, hits.anchors, hits.passages, strict=True)
    }


def indexed(texts: list[str], ids: list[int] | None = None, at: datetime = T0) -> MemoryIndex:
    index = MemoryIndex(SETTINGS)
    index.add_many(ids or list(range(1, len(texts) + 1)), fps(*texts), at)
    return index


# --- band layout and keys ------------------------------------------------------------------


@pytest.mark.parametrize("num_perm", [64, 128, 256, 1024])
def test_band_layout_fits_the_band_slots_and_the_signature(num_perm: int) -> None:
    bands, rows = band_layout(0.4, num_perm)
    assert bands >= 1
    assert rows >= 1
    assert bands * rows <= min(BAND_SLOTS, num_perm)


def test_a_higher_threshold_asks_for_longer_bands() -> None:
    low, high = band_layout(0.3, 256), band_layout(0.7, 256)
    assert low[1] < high[1]


def test_band_keys_depend_on_each_bands_values_and_number() -> None:
    rng = np.random.default_rng(1)
    signature = rng.integers(0, 2**16, size=(1, 256), dtype=np.uint16)
    keys = band_keys(signature, 32, 4)
    assert keys.shape == (1, 32)
    assert keys.dtype == np.uint32
    assert np.array_equal(band_keys(signature.copy(), 32, 4), keys)
    changed = signature.copy()
    changed[0, 9] ^= 1  # a value of band 2 (rows 8-11)
    differs = band_keys(changed, 32, 4) != keys
    assert differs[0].tolist() == [b == 2 for b in range(32)]
    repeated = np.tile(signature[:, :4], (1, 32))  # every band holds the same values
    assert np.unique(band_keys(repeated, 32, 4)).size == 32
    tail = signature.copy()
    tail[0, 128:] = 0  # values beyond bands × rows are not used
    assert np.array_equal(band_keys(tail, 32, 4), keys)


# --- what the index proposes ---------------------------------------------------------------


def test_a_lightly_edited_copy_is_proposed_through_bands() -> None:
    t = Texts(1)
    original = t.text(400)
    index = indexed([original, t.text(400)])
    copy, unrelated = fps(t.edited(original, 0.03), t.text(400))
    found, nothing = index.query_many([copy, unrelated])
    assert set(hit_map(found)) == {1}
    bands, anchors, _ = hit_map(found)[1]
    assert bands >= 3
    assert anchors >= 5
    assert len(nothing) == 0


def test_a_copy_trimmed_to_a_quarter_is_proposed_through_anchors() -> None:
    t = Texts(2)
    words = t.words(800)
    index = indexed([" ".join(words)])
    (hits,) = index.query_many(fps(" ".join(words[:200])))
    bands, anchors, _ = hit_map(hits)[1]
    assert anchors >= 4  # ~196 shared shingles, one in 16 an anchor
    assert bands <= 1  # Jaccard ~0.25: bands alone would mostly miss it


def test_a_shared_long_paragraph_is_proposed_through_its_passage() -> None:
    t = Texts(3)
    quote = t.text(22)  # one paragraph of PASSAGE_MIN_TOKENS+ words, few anchors
    index = indexed([t.text(300) + "\n\n" + quote + "\n\n" + t.text(200)])
    (hits,) = index.query_many(fps(t.text(150) + "\n\n" + quote + "\n\n" + t.text(250)))
    assert hit_map(hits)[1][2] == 1
    (none,) = index.query_many(fps(t.text(150) + "\n\n" + t.text(250)))
    assert len(none) == 0


def stock_phrase(t: Texts) -> str:
    """60 words with at least two anchors: shared by texts that are otherwise unrelated."""
    while True:
        phrase = t.text(60)
        if len(fps(phrase)[0].anchors) >= 2 * 4:
            return phrase


@pytest.mark.parametrize(("articles", "proposed"), [(MAX_ANCHOR_FREQUENCY, True), (51, False)])
def test_anchors_of_very_many_articles_propose_nothing(articles: int, proposed: bool) -> None:
    t = Texts(4)
    phrase = stock_phrase(t)  # inside a paragraph: shared anchors, no shared passage
    texts = [t.around(phrase, 250, 250) for _ in range(articles)]
    index = indexed(texts)
    (hits,) = index.query_many(fps(t.around(phrase, 300, 200)))
    found = hit_map(hits)
    if proposed:
        assert {i for i, (_, anchors, _) in found.items() if anchors >= 2} == set(
            range(1, articles + 1)
        )
    else:
        assert all(anchors == 0 for _, anchors, _ in found.values())


def test_a_query_with_precomputed_keys_finds_the_same() -> None:
    t = Texts(5)
    original = t.text(300)
    index = indexed([original])
    queries = fps(t.edited(original, 0.05), original[: len(original) // 3], t.text(100))
    again = index.query_many(queries, index.keys(queries))
    assert [hit_map(h) for h in index.query_many(queries)] == [hit_map(h) for h in again]


def test_an_empty_index_and_an_empty_query_find_nothing() -> None:
    index = MemoryIndex(SETTINGS)
    assert [len(h) for h in index.query_many(fps("some words here", ""))] == [0, 0]
    assert index.query_many([]) == []
    index.add_many([], [], T0)
    assert len(index) == 0


# --- batches -------------------------------------------------------------------------------


def test_within_batch_sees_only_earlier_texts_of_the_same_batch() -> None:
    t = Texts(6)
    story, other = t.text(300), t.text(300)
    batch = fps(story, t.edited(story, 0.02), other, story[: len(story) // 2], story)
    index = MemoryIndex(SETTINGS)
    hits = within_batch(index.keys(batch), [11, 12, 13, 14, 15])
    assert [set(hit_map(h)) for h in hits] == [set(), {11}, set(), {11, 12}, {11, 12, 14}]
    assert hit_map(hits[4])[11][1] > 0  # anchors counted too


def test_within_batch_ignores_anchors_shared_by_too_many_texts() -> None:
    t = Texts(7)
    phrase = stock_phrase(t)
    shared = len(fps(phrase)[0].anchors) // 4
    few = fps(*(t.around(phrase, 200, 200) for _ in range(3)))
    hits = within_batch(MemoryIndex(SETTINGS).keys(few), [1, 2, 3])
    assert [h.anchors.tolist() for h in hits] == [[], [shared], [shared, shared]]
    many = fps(*(t.around(phrase, 200, 200) for _ in range(MAX_ANCHOR_FREQUENCY + 2)))
    hits = within_batch(MemoryIndex(SETTINGS).keys(many), list(range(100, 152)))
    assert all(h.anchors.sum() == 0 for h in hits)


def test_batch_keys_hold_every_kind_for_every_text() -> None:
    t = Texts(8)
    texts = fps(t.text(300) + "\n\n" + t.text(30), "", t.text(10))
    keys = BatchKeys.of(texts, 32, 4)
    bands, anchors, passages = keys.kinds
    assert bands.owner.tolist() == [0] * 32 + [1] * 32 + [2] * 32
    assert set(anchors.owner.tolist()) <= {0, 2}
    assert passages.owner.tolist() == [0, 0]
    assert keys.signatures.shape == (3, SETTINGS.num_perm)


# --- keeping the index -----------------------------------------------------------------


def test_discard_takes_an_article_back() -> None:
    t = Texts(9)
    story = t.text(300)
    index = indexed([story, story, t.text(300)])
    index.discard(2)
    index.discard(99)  # never indexed: nothing happens
    (hits,) = index.query_many(fps(story))
    assert set(hit_map(hits)) == {1}
    assert index.sketch(2) is None
    assert index.sketch(1) is not None
    assert len(index) == 2


def test_len_counts_live_articles_after_a_discarded_one_ages_out() -> None:
    t = Texts(10)
    index = indexed([t.text(100), t.text(100)])
    index.discard(1)  # its row goes at once
    assert len(index) == 1
    assert index.prune(T0 + 15 * DAY) == 1
    assert len(index) == 0


def test_a_discarded_id_can_be_indexed_again() -> None:
    t = Texts(11)
    rolled_back, stored = fps(t.text(300), t.text(300))
    index = MemoryIndex(SETTINGS)
    index.add_many([7], [rolled_back], T0)
    index.discard(7)
    index.add_many([7], [stored], T0)
    (hits,) = index.query_many([stored])
    assert set(hit_map(hits)) == {7}
    sketch = index.sketch(7)
    assert sketch is not None
    assert np.array_equal(sketch.signature, signature_array(stored.signature))


def test_prune_drops_exactly_the_articles_seen_before_the_window() -> None:
    t = Texts(12)
    texts = [t.text(200) for _ in range(6)]
    prints = fps(*texts)
    index = MemoryIndex(SETTINGS)
    for i, fp in enumerate(prints):
        index.add_many([i + 1], [fp], T0 + i * DAY)
    now = T0 + SETTINGS.window + 2.5 * DAY  # articles 1-3 are older than the window
    assert index.prune(now) == 3
    assert index.prune(now) == 0
    found = [set(hit_map(h)) for h in index.query_many(prints)]
    assert found == [set(), set(), set(), {4}, {5}, {6}]
    assert [index.sketch(i) is not None for i in range(1, 7)] == [False] * 3 + [True] * 3
    assert len(index) == 3


def test_prune_drops_exactly_the_old_articles_when_ids_arrive_out_of_order() -> None:
    t = Texts(13)
    prints = fps(*(t.text(200) for _ in range(6)))
    ids = [10, 4, 12, 2, 7, 3]  # arrival order; the old ones are 10, 12 and 7
    seen = [T0, T0 + 10 * DAY, T0, T0 + 10 * DAY, T0 + DAY, T0 + 12 * DAY]
    index = MemoryIndex(SETTINGS)
    index.add_many(ids, prints, seen)
    assert index.prune(T0 + SETTINGS.window + 1.5 * DAY) == 3
    alive = {4, 2, 3}
    for article_id, hits in zip(ids, index.query_many(prints), strict=True):
        assert set(hit_map(hits)) == ({article_id} & alive)
        assert (index.sketch(article_id) is not None) == (article_id in alive)
    assert len(index) == 3
    extra = fps(t.text(200))
    index.add_many([20], extra, T0 + 13 * DAY)
    assert set(hit_map(index.query_many(extra)[0])) == {20}


def test_an_out_of_order_arrival_after_a_prune_is_still_proposed() -> None:
    t = Texts(14)
    old, young, late = fps(t.text(200), t.text(200), t.text(200))
    index = MemoryIndex(SETTINGS)
    index.add_many([5, 8], [old, young], [T0, T0 + 10 * DAY])
    assert index.prune(T0 + SETTINGS.window + DAY) == 1
    index.add_many([6], [late], T0 + 11 * DAY)  # id 6 < 8, the smallest kept id
    assert index.sketch(6) is not None
    assert set(hit_map(index.query_many([late])[0])) == {6}


def test_sketch_holds_the_signature_and_sizes_for_verification() -> None:
    t = Texts(15)
    fp = fps(t.text(300))[0]
    index = MemoryIndex(SETTINGS)
    index.add_many([42], [fp], T0)
    sketch = index.sketch(42)
    assert sketch is not None
    assert np.array_equal(sketch.signature, signature_array(fp.signature))
    assert sketch.shingles == fp.shingles
    assert sketch.anchors == len(fp.anchors) // 4
    assert index.sketch(41) is None


def test_sketch_finds_ids_that_arrived_out_of_order() -> None:
    t = Texts(16)
    prints = fps(*(t.text(60) for _ in range(5)))
    index = MemoryIndex(SETTINGS)
    ids = [50, 10, 40, 20, 30]
    index.add_many(ids, prints, T0)
    for article_id, fp in zip(ids, prints, strict=True):
        sketch = index.sketch(article_id)
        assert sketch is not None
        assert np.array_equal(sketch.signature, signature_array(fp.signature))
    assert index.sketch(35) is None


def test_memory_per_indexed_article_stays_within_the_target() -> None:
    # PRODUCT.md §5: ≤ 1.5 GB per million indexed articles, signatures included.
    rng = np.random.default_rng(17)
    vocabulary = np.array(_VOCABULARY)
    texts = [" ".join(vocabulary[rng.integers(0, vocabulary.size, 350)]) for _ in range(4096)]
    index = MemoryIndex(SETTINGS)
    index.add_many(list(range(1, 4097)), fingerprint_batch(texts, SETTINGS), T0)
    assert index.nbytes / 4096 <= 1500
    assert index.nbytes > 4096 * SETTINGS.num_perm * 2  # the signatures are in it


def test_build_index_is_in_memory_without_a_redis_url() -> None:
    index = build_index(SETTINGS, RedisSettings(url=None), lambda: T0)
    assert isinstance(index, MemoryIndex)


# --- Redis ---------------------------------------------------------------------------------

RedisPair = tuple[RedisIndex, RedisIndex, list[datetime]]


@pytest.fixture
def redis_pair(redis_url: str, redis_prefix: str) -> Iterator[RedisPair]:
    """Two RedisIndex instances (two daemons) on one server, with one settable clock."""
    now = [T0]
    first = RedisIndex(SETTINGS, redis_url, redis_prefix, clock=lambda: now[0])
    second = RedisIndex(SETTINGS, redis_url, redis_prefix, clock=lambda: now[0])
    yield first, second, now
    first.close()
    second.close()


@pytest.mark.redis
def test_build_index_uses_redis_when_a_url_is_set(redis_url: str, redis_prefix: str) -> None:
    index = build_index(SETTINGS, RedisSettings(url=redis_url, prefix=redis_prefix), lambda: T0)
    assert isinstance(index, RedisIndex)
    index.close()


@pytest.mark.redis
def test_redis_index_is_shared_between_instances(redis_pair: RedisPair) -> None:
    first, second, _ = redis_pair
    t = Texts(20)
    story = t.text(400)
    first.add_many([1, 2], fps(story, t.text(400)), T0)
    copy, trimmed, unrelated = fps(t.edited(story, 0.03), story[: len(story) // 4], t.text(300))
    found = second.query_many([copy, trimmed, unrelated])
    assert [set(hit_map(h)) for h in found] == [{1}, {1}, set()]
    assert hit_map(found[0])[1][0] >= 3  # bands
    assert hit_map(found[1])[1][1] >= 3  # anchors
    assert second.sketch(1) is None  # signatures come from the store


@pytest.mark.redis
def test_redis_index_proposes_what_the_memory_index_proposes(redis_pair: RedisPair) -> None:
    first, _, _ = redis_pair
    t = Texts(21)
    stories = [t.text(300) + "\n\n" + t.text(40) for _ in range(5)]
    memory = MemoryIndex(SETTINGS)
    memory.add_many([1, 2, 3, 4, 5], fps(*stories), T0)
    first.add_many([1, 2, 3, 4, 5], fps(*stories), T0)
    queries = fps(*(t.edited(s, 0.1) for s in stories), stories[2][:600], t.text(300))
    assert [hit_map(h) for h in first.query_many(queries)] == [
        hit_map(h) for h in memory.query_many(queries)
    ]


@pytest.mark.redis
def test_redis_index_reads_and_keeps_only_the_window(redis_pair: RedisPair) -> None:
    first, second, now = redis_pair
    t = Texts(22)
    story = t.text(300)
    first.add_many([1], fps(story), T0)
    now[0] = T0 + SETTINGS.window - timedelta(minutes=1)
    assert set(hit_map(second.query_many(fps(story))[0])) == {1}
    now[0] = T0 + SETTINGS.window + timedelta(minutes=1)
    assert len(second.query_many(fps(story))[0]) == 0  # scored before the window
    second.add_many([2], fps(story), now[0])  # writing the same keys trims article 1
    client = second.client
    names = list(client.scan_iter(match=f"{second.base}:*"))
    assert names
    members = {m for name in names for m in client.zrange(name, 0, -1)}
    assert members == {b"2"}
    assert all(0 < client.ttl(name) <= (SETTINGS.window + DAY).total_seconds() for name in names)


@pytest.mark.redis
def test_redis_index_discards_a_rolled_back_article(redis_pair: RedisPair) -> None:
    first, second, _ = redis_pair
    t = Texts(23)
    story = t.text(300)
    first.add_many([1, 2], fps(story, story), T0)
    first.discard(2)
    assert set(hit_map(second.query_many(fps(story))[0])) == {1}
    assert len(first) == 1


@pytest.mark.redis
def test_redis_index_ignores_anchors_of_very_many_articles(redis_pair: RedisPair) -> None:
    first, _, _ = redis_pair
    t = Texts(24)
    phrase = stock_phrase(t)
    texts = [t.around(phrase, 200, 200) for _ in range(MAX_ANCHOR_FREQUENCY + 1)]
    first.add_many(list(range(1, len(texts) + 1)), fps(*texts), T0)
    (hits,) = first.query_many(fps(t.around(phrase, 300, 100)))
    assert all(anchors == 0 for _, anchors, _ in hit_map(hits).values())
