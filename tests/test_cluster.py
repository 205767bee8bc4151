"""Tests of the cluster stage: estimates, the verifier table, decide, and the LSH indexes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aggregator.cluster import (
    PASSAGES_PROVING_REUSE,
    THRESHOLDS,
    Candidate,
    LshIndex,
    WindowedIndex,
    decide,
    estimate,
    is_clusterable,
    is_same_story,
    redis_params,
    redis_storage,
    threshold_for,
)
from aggregator.fingerprint import fingerprint, version_of
from aggregator.settings import DedupSettings
from aggregator.types import Similarity

SETTINGS = DedupSettings()
NUM_PERM = SETTINGS.num_perm
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
VOCABULARY = [f"w{i}" for i in range(5000)]


def words(count: int, seed: int) -> list[str]:
    """A deterministic random text: word shingles of two seeds never coincide by chance."""
    rng = random.Random(seed)
    return [rng.choice(VOCABULARY) for _ in range(count)]


def candidate_of(text: str, article_id: int, cluster_id: int) -> Candidate:
    return Candidate.from_fingerprint(article_id, cluster_id, fingerprint(text, SETTINGS))


BASE = np.arange(1, NUM_PERM + 1, dtype=np.uint32) * np.uint32(1000)


def signature(shared_with_base: int, salt: int) -> np.ndarray:
    """A signature agreeing with BASE in its first ``shared_with_base`` positions."""
    values = BASE.copy()
    values[shared_with_base:] = np.uint32(10_000_000 * salt) + np.arange(
        NUM_PERM - shared_with_base, dtype=np.uint32
    )
    return values


def sig_from(*pieces: tuple[int, int]) -> np.ndarray:
    """A signature made of runs: (length, 0) copies BASE there, (length, salt) fills the run
    with values of that salt, equal in every signature that uses the salt at that place."""
    parts, start = [], 0
    for length, salt in pieces:
        places = np.arange(start, start + length, dtype=np.uint32)
        parts.append(BASE[places] if salt == 0 else np.uint32(10_000_000 * salt) + places)
        start += length
    assert start == NUM_PERM
    return np.concatenate(parts)


def cand(
    article_id: int,
    cluster_id: int,
    sig: np.ndarray,
    shingles: int = 400,
    passages: frozenset[int] = frozenset(),
) -> Candidate:
    return Candidate(article_id, cluster_id, sig, shingles, passages)


# --- estimate ----------------------------------------------------------------------------


def test_trimmed_copy_has_high_containment_but_low_jaccard() -> None:
    story = words(1000, seed=1)
    original = candidate_of(" ".join(story), 1, 1)
    trimmed = candidate_of(" ".join(story[:400]), 2, 2)  # the first 40 %
    sim = estimate(original, trimmed)
    assert sim.jaccard < 0.5
    assert sim.containment > 0.9
    shorter = min(original.shingles, trimmed.shingles)
    assert sim.jaccard < threshold_for(shorter).jaccard  # Jaccard alone would not join them
    assert is_same_story(sim, shorter)  # containment does


def test_unrelated_texts_have_low_jaccard_and_containment() -> None:
    sim = estimate(
        candidate_of(" ".join(words(600, 1)), 1, 1), candidate_of(" ".join(words(300, 2)), 2, 2)
    )
    assert sim.jaccard < 0.05
    assert sim.containment < 0.1
    assert not is_same_story(sim, 300)


def test_identical_signatures_estimate_one() -> None:
    sim = estimate(cand(1, 1, BASE), cand(2, 2, BASE.copy()))
    assert (sim.jaccard, sim.containment) == (1.0, 1.0)


def test_containment_follows_from_jaccard_and_set_sizes() -> None:
    # J = 0.25 with |A| = 300, |B| = 100: |A∩B| = 0.25·400/1.25 = 80, 80 % of the smaller
    sim = estimate(cand(1, 1, BASE, shingles=300), cand(2, 2, signature(32, 2), shingles=100))
    assert sim.jaccard == 0.25
    assert sim.containment == pytest.approx(0.8)


def test_containment_never_exceeds_one() -> None:
    sim = estimate(cand(1, 1, BASE, shingles=1000), cand(2, 2, signature(120, 2), shingles=10))
    assert sim.containment == 1.0


def test_estimate_of_an_empty_text_is_zero_even_against_another_empty_text() -> None:
    empty = fingerprint("", SETTINGS)
    sim = estimate(Candidate.from_fingerprint(1, 1, empty), Candidate.from_fingerprint(2, 2, empty))
    assert sim == Similarity(0.0, 0.0, 0)


def test_estimate_counts_shared_passages() -> None:
    a = cand(1, 1, BASE, passages=frozenset({1, 2, 3}))
    b = cand(2, 2, BASE, passages=frozenset({2, 3, 4}))
    assert estimate(a, b).shared_passages == 2


# --- the verifier table ------------------------------------------------------------------


def test_threshold_rows_apply_from_their_minimum_shingle_count() -> None:
    long_row, middle_row, short_row = THRESHOLDS
    assert threshold_for(10_000) is long_row
    assert threshold_for(long_row.min_shingles) is long_row
    assert threshold_for(long_row.min_shingles - 1) is middle_row
    assert threshold_for(middle_row.min_shingles) is middle_row
    assert threshold_for(middle_row.min_shingles - 1) is short_row
    assert threshold_for(0) is short_row


def test_shorter_texts_need_more_agreement() -> None:
    jaccards = [row.jaccard for row in THRESHOLDS]
    containments = [row.containment for row in THRESHOLDS]
    assert jaccards == sorted(jaccards)
    assert containments == sorted(containments)


def _boundary_cases() -> list[tuple[int, float, float, bool]]:
    cases = []
    for row in THRESHOLDS:
        for size in {row.min_shingles, row.min_shingles + 1}:
            cases += [
                (size, row.jaccard, 0.0, True),
                (size, row.jaccard - 0.001, 0.0, False),
                (size, 0.0, row.containment, True),
                (size, 0.0, row.containment - 0.001, False),
                (size, row.jaccard - 0.001, row.containment - 0.001, False),
            ]
    return cases


@pytest.mark.parametrize(("size", "jaccard", "containment", "same"), _boundary_cases())
def test_is_same_story_at_the_table_boundaries(
    size: int, jaccard: float, containment: float, same: bool
) -> None:
    assert is_same_story(Similarity(jaccard, containment, 0), size) is same


def test_a_pair_that_verifies_when_long_does_not_when_short() -> None:
    long_row, middle_row, _ = THRESHOLDS
    sim = Similarity(long_row.jaccard, long_row.containment, 0)
    assert is_same_story(sim, long_row.min_shingles)
    assert not is_same_story(sim, long_row.min_shingles - 1)
    assert not is_same_story(sim, middle_row.min_shingles - 1)


def test_shared_long_passages_prove_reuse_on_their_own() -> None:
    assert is_same_story(Similarity(0.0, 0.0, PASSAGES_PROVING_REUSE), 10)
    assert not is_same_story(Similarity(0.0, 0.0, PASSAGES_PROVING_REUSE - 1), 10)


def test_short_and_empty_texts_are_not_clusterable() -> None:
    assert not is_clusterable(fingerprint("", SETTINGS), SETTINGS)
    short = " ".join(words(SETTINGS.min_tokens - 1, 3))
    enough = " ".join(words(SETTINGS.min_tokens, 3))
    assert not is_clusterable(fingerprint(short, SETTINGS), SETTINGS)
    assert is_clusterable(fingerprint(enough, SETTINGS), SETTINGS)


# --- decide ------------------------------------------------------------------------------


def test_decide_opens_a_new_cluster_when_nothing_is_proposed() -> None:
    assert decide(cand(9, 0, BASE), [], {}).cluster_id is None


def test_decide_opens_a_new_cluster_when_no_candidate_verifies() -> None:
    rep = cand(1, 10, signature(10, 1))  # Jaccard 10/128 ≈ 0.08 with the new one
    result = decide(cand(9, 0, BASE), [rep], {10: rep})
    assert result.cluster_id is None
    assert result.merge == ()


def test_decide_joins_the_cluster_whose_representative_verifies_best() -> None:
    strong = cand(2, 20, sig_from((96, 0), (32, 2)))  # J = 0.75 with the new one
    weak = cand(1, 10, sig_from((64, 1), (64, 0)))  # J = 0.5; 0.25 with strong
    unrelated = cand(3, 30, signature(5, 3))
    new = cand(9, 0, BASE)
    assert not is_same_story(estimate(strong, weak), 400)
    result = decide(new, [weak, unrelated, strong], {10: weak, 20: strong, 30: unrelated})
    assert result.cluster_id == 20
    assert result.matched_article_id == 2
    assert result.similarity == estimate(new, strong)
    assert result.merge == ()  # weak and strong do not verify against each other


def test_decide_prefers_the_lower_cluster_id_on_equal_scores() -> None:
    a = cand(1, 20, signature(100, 1))
    b = cand(2, 10, signature(100, 2))
    result = decide(cand(9, 0, BASE), [a, b], {20: a, 10: b})
    assert result.cluster_id == 10


def test_decide_does_not_chain_through_a_member_that_is_not_the_representative() -> None:
    """The new article is a near-copy of a member, but not of the cluster's original."""
    member = cand(2, 10, sig_from((96, 0), (32, 5)))  # J 0.75 with the new one
    representative = cand(1, 10, sig_from((40, 0), (56, 6), (32, 5)))  # J 0.56 with member
    new = cand(9, 0, BASE)
    assert is_same_story(estimate(member, representative), 400)
    assert is_same_story(estimate(new, member), 400)
    assert not is_same_story(estimate(new, representative), 400)
    assert decide(new, [member], {10: representative}).cluster_id is None
    # the control: were the member the representative, the new article would join
    assert decide(new, [member], {10: member}).cluster_id == 10


def test_decide_skips_clusters_without_a_known_representative() -> None:
    orphan = cand(1, 10, BASE.copy())
    assert decide(cand(9, 0, BASE), [orphan], {}).cluster_id is None


def test_decide_merges_clusters_whose_representatives_verify_against_each_other() -> None:
    """Two daemons opened two clusters for one story; the next copy joins them."""
    first = cand(1, 10, sig_from((100, 0), (28, 1)))  # J 0.78 with the new one
    second = cand(2, 20, sig_from((90, 0), (38, 2)))  # J 0.70 with new, 0.70 with first
    far = cand(3, 30, sig_from((64, 3), (64, 0)))  # J 0.5 with new, 0.28 with first
    new = cand(9, 0, BASE)
    assert is_same_story(estimate(first, second), 400)
    assert not is_same_story(estimate(first, far), 400)
    result = decide(new, [second, far, first], {10: first, 20: second, 30: far})
    assert result.cluster_id == 10
    assert result.merge == (20,)


def test_decide_merges_through_containment_of_a_trimmed_original() -> None:
    story = words(1000, seed=5)
    full = candidate_of(" ".join(story), 1, 10)
    trimmed = candidate_of(" ".join(story[:400]), 2, 20)
    new = candidate_of(" ".join(story[:900]), 9, 0)
    result = decide(new, [trimmed, full], {10: full, 20: trimmed})
    assert result.cluster_id == 10
    assert result.merge == (20,)


# --- LshIndex in memory ------------------------------------------------------------------


def test_lsh_index_insert_query_remove_contains_len() -> None:
    index = LshIndex(SETTINGS)
    story = candidate_of(" ".join(words(500, 1)), 1, 1)
    copy = candidate_of(" ".join(words(500, 1)[:450]), 2, 2)
    other = candidate_of(" ".join(words(500, 2)), 3, 3)
    for c in (story, copy, other):
        index.insert(c.article_id, c.signature)
    assert len(index) == 3
    assert 1 in index and 3 in index and 4 not in index
    assert sorted(index.query(story.signature)) == [1, 2]
    assert index.query(other.signature) == [3]
    index.remove(1)
    assert 1 not in index
    assert len(index) == 2
    assert index.query(story.signature) == [2]
    index.remove(1)  # removing an absent key is harmless
    assert len(index) == 2


def test_lsh_index_insert_of_a_known_key_is_ignored() -> None:
    index = LshIndex(SETTINGS)
    index.insert(1, BASE)
    index.insert(1, signature(0, 7))
    assert len(index) == 1
    assert index.query(BASE) == [1]


def test_lsh_index_returns_int_keys() -> None:
    index = LshIndex(SETTINGS)
    index.insert(42, BASE)
    (key,) = index.query(BASE)
    assert key == 42 and type(key) is int


# --- WindowedIndex -----------------------------------------------------------------------


def test_windowed_index_prune_drops_keys_older_than_the_window_and_only_those() -> None:
    windowed = WindowedIndex(LshIndex(SETTINGS), timedelta(days=14))
    ages = {
        1: timedelta(days=30),
        2: timedelta(days=14, seconds=1),
        3: timedelta(days=14),  # exactly at the edge: still inside
        4: timedelta(days=2),
        5: timedelta(0),
    }
    for article_id, age in ages.items():
        windowed.add(article_id, signature(0, article_id), NOW - age)
    assert len(windowed) == 5
    assert windowed.prune(NOW) == 2
    assert len(windowed) == 3
    assert [k for k in ages if k in windowed.index] == [3, 4, 5]
    assert windowed.query(signature(0, 1)) == []
    assert windowed.query(signature(0, 4)) == [4]
    assert windowed.prune(NOW) == 0  # nothing more to drop at the same time
    assert windowed.prune(NOW + timedelta(days=13)) == 2  # cutoff: one day before NOW
    assert [k for k in ages if k in windowed.index] == [5]


def test_windowed_index_discard_takes_a_key_back() -> None:
    windowed = WindowedIndex(LshIndex(SETTINGS), timedelta(days=14))
    windowed.add(1, BASE, NOW)
    windowed.discard(1)
    assert 1 not in windowed.index
    assert windowed.query(BASE) == []
    windowed.prune(NOW + timedelta(days=30))  # pruning a discarded key is harmless
    assert len(windowed) == 0


# --- Redis configuration -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("redis://localhost", {"host": "localhost", "port": 6379}),
        ("redis://cache.example:6380/2", {"host": "cache.example", "port": 6380, "db": 2}),
        (
            "redis://user:p%40ss@cache.example/0",
            {
                "host": "cache.example",
                "port": 6379,
                "db": 0,
                "username": "user",
                "password": "p@ss",
            },
        ),
        ("redis://:secret@h:1/", {"host": "h", "port": 1, "password": "secret"}),
        ("rediss://h", {"host": "h", "port": 6379, "ssl": True}),
    ],
)
def test_redis_params_from_url(url: str, params: dict[str, object]) -> None:
    assert redis_params(url) == params


@pytest.mark.parametrize(
    "url", ["http://cache.example:6379", "redis://", "cache.example:6379", "", "redis:///0"]
)
def test_redis_params_rejects_a_bad_url_naming_it(url: str) -> None:
    with pytest.raises(ValueError, match="redis url") as raised:
        redis_params(url)
    assert repr(url) in str(raised.value)


@pytest.mark.parametrize("url", ["redis://cache.example/zero", "redis://cache.example:port/0"])
def test_redis_params_names_the_url_when_port_or_database_is_not_a_number(url: str) -> None:
    with pytest.raises(ValueError, match="redis url"):
        redis_params(url)


def test_redis_storage_basename_carries_the_fingerprint_version_and_threshold() -> None:
    config = redis_storage("redis://h:6379/1", "agg", SETTINGS)
    assert config["type"] == "redis"
    assert config["redis"] == {"host": "h", "port": 6379, "db": 1}
    basename = config["basename"]
    assert isinstance(basename, bytes)
    assert basename.startswith(b"agg:")
    assert version_of(SETTINGS).encode() in basename
    other = redis_storage("redis://h:6379/1", "agg", DedupSettings(seed=2))
    assert other["basename"] != basename


# --- the Redis-backed index (real server) ------------------------------------------------


@pytest.mark.redis
def test_redis_index_is_shared_between_two_instances(redis_url: str, redis_prefix: str) -> None:
    import redis

    storage = redis_storage(redis_url, redis_prefix, SETTINGS)
    first = LshIndex(SETTINGS, storage=storage)
    second = LshIndex(SETTINGS, storage=storage)  # another daemon, same index
    story = candidate_of(" ".join(words(500, 1)), 1, 1)
    copy = candidate_of(" ".join(words(500, 1)[:450]), 2, 2)
    other = candidate_of(" ".join(words(500, 2)), 3, 3)

    first.insert(1, story.signature)
    second.insert(2, copy.signature)
    first.insert(3, other.signature)
    first.insert(1, story.signature)  # known key: ignored
    assert len(first) == len(second) == 3
    assert 2 in first and 1 in second and 4 not in second
    assert sorted(second.query(story.signature)) == [1, 2]
    assert all(type(key) is int for key in second.query(story.signature))
    assert first.query(other.signature) == [3]

    second.remove(1)
    assert 1 not in first
    assert first.query(story.signature) == [2]
    assert len(first) == 2

    # every key the index wrote lives under the test's prefix (the fixture deletes them)
    client = redis.Redis(**storage["redis"])
    try:
        keys = list(client.scan_iter(match=f"{redis_prefix}*"))
        assert keys
        assert all(k.startswith(storage["basename"]) for k in keys)
    finally:
        client.close()
