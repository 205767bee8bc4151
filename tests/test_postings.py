"""Tests of the posting table: a log-structured multimap from 32-bit keys to article ids."""

from __future__ import annotations

import math

import numpy as np

from aggregator.postings import FILTER_BITS_PER_ENTRY, MERGE_RATIO, PostingTable

U32 = np.uint32


def u32(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=U32)


def pairs(table: PostingTable, keys: np.ndarray) -> set[tuple[int, int]]:
    """(article id, index of the key in ``keys``) of every live entry found."""
    ids, which = table.lookup(keys)
    assert ids.size == which.size
    return set(zip(ids.tolist(), which.tolist(), strict=True))


def filled(batches: int, per_batch: int, keys_modulo: int) -> PostingTable:
    """Ids 0..batches*per_batch-1 in batches; id i has key i % keys_modulo."""
    table = PostingTable()
    for b in range(batches):
        ids = np.arange(b * per_batch, (b + 1) * per_batch, dtype=U32)
        table.add(ids, ids % U32(keys_modulo))
    return table


def test_an_empty_table_finds_nothing() -> None:
    table = PostingTable()
    assert pairs(table, u32(1, 2, 3)) == set()
    assert table.entries == table.runs == table.nbytes == 0
    assert table.frequency(u32(1)).tolist() == [0]


def test_lookup_finds_every_key_of_a_query_at_once() -> None:
    table = PostingTable()
    table.add(u32(1, 2, 3), u32(10, 20, 30))
    assert pairs(table, u32(20, 99, 10, 20)) == {(2, 0), (1, 2), (2, 3)}


def test_a_key_holds_many_ids_and_an_id_many_keys() -> None:
    table = PostingTable()
    table.add(u32(1, 1, 2), u32(7, 8, 7))
    table.add(u32(3), u32(7))
    assert pairs(table, u32(7)) == {(1, 0), (2, 0), (3, 0)}
    assert pairs(table, u32(8)) == {(1, 0)}


def test_empty_batches_are_ignored() -> None:
    table = PostingTable()
    table.add(u32(), u32())
    assert table.runs == 0


def test_runs_are_merged_so_that_their_number_stays_logarithmic() -> None:
    batches, per_batch = 2000, 5
    table = filled(batches, per_batch, keys_modulo=997)
    entries = batches * per_batch
    assert table.entries == entries
    assert table.runs <= math.log(entries / per_batch, MERGE_RATIO) + 2
    # Nothing is lost or duplicated by the merges.
    ids, which = table.lookup(np.arange(997, dtype=U32))
    assert sorted(ids.tolist()) == list(range(entries))
    assert np.array_equal(ids % 997, which)


def test_runs_stay_sorted_by_key_after_merges() -> None:
    table = filled(300, 7, keys_modulo=50)
    for key in range(50):
        ids, _ = table.lookup(u32(key))
        assert sorted(ids.tolist()) == list(range(key, 2100, 50))


def test_frequency_counts_entries_per_key() -> None:
    table = filled(10, 10, keys_modulo=30)  # ids 0..99
    counts = table.frequency(u32(0, 9, 10, 29, 30, 1000)).tolist()
    assert counts == [4, 4, 3, 3, 0, 0]


def test_forget_hides_an_id_at_once_and_compact_drops_it_for_good() -> None:
    table = filled(4, 5, keys_modulo=3)  # ids 0..19
    table.forget(4)
    table.forget(7)
    found = {i for i, _ in pairs(table, u32(0, 1, 2))}
    assert found == set(range(20)) - {4, 7}
    assert table.frequency(u32(1)).tolist() == [7]  # hidden, still stored
    before = table.nbytes
    table.compact()
    assert table.entries == 18
    assert table.runs == 1
    assert table.nbytes == before - 2 * 8
    assert table.frequency(u32(1)).tolist() == [5]
    assert {i for i, _ in pairs(table, u32(0, 1, 2))} == set(range(20)) - {4, 7}


def test_forgetting_many_ids_hides_them_and_compact_drops_them() -> None:
    table = filled(10, 10, keys_modulo=5)  # ids 0..99
    for article_id in range(60):
        table.forget(article_id)
    assert table.forgets([59, 200]) and not table.forgets([60, 200])
    assert {i for i, _ in pairs(table, np.arange(5, dtype=U32))} == set(range(60, 100))
    table.compact()
    assert not table.forgets(range(60))
    assert table.entries == 40
    assert table.frequency(np.arange(5, dtype=U32)).tolist() == [8] * 5


def test_forgotten_ids_leave_when_runs_merge() -> None:
    table = PostingTable()
    table.add(u32(1, 2, 3, 4), u32(5, 5, 5, 5))
    table.forget(2)
    table.add(u32(5, 6, 7, 8), u32(5, 5, 5, 5))  # same size: merged with the first run
    assert table.runs == 1
    assert table.entries == 7
    assert sorted(i for i, _ in pairs(table, u32(5))) == [1, 3, 4, 5, 6, 7, 8]


def test_compact_of_everything_forgotten_leaves_an_empty_table() -> None:
    table = filled(3, 4, keys_modulo=2)
    for article_id in range(1000):
        table.forget(article_id)
    table.compact()
    assert (table.entries, table.runs, table.nbytes) == (0, 0, 0)
    assert pairs(table, u32(0, 1)) == set()


def test_an_id_forgotten_and_compacted_can_be_added_again() -> None:
    table = PostingTable()
    table.add(u32(9), u32(1))
    table.forget(9)
    table.compact()
    table.add(u32(9), u32(2))
    assert pairs(table, u32(1, 2)) == {(9, 1)}


def test_each_entry_takes_eight_bytes_and_under_two_filter_bits_per_filter_step() -> None:
    table = filled(100, 37, keys_modulo=1000)
    assert table.entries == 3700
    small = table.nbytes - 8 * 3700  # the key filter, at its minimum size here
    assert 0 < small <= 8192
    big = PostingTable()
    rng = np.random.default_rng(3)
    for start in range(0, 400_000, 50_000):
        ids = np.arange(start, start + 50_000, dtype=U32)
        big.add(ids, rng.integers(0, 2**32, ids.size, dtype=np.uint64).astype(U32))
    filter_bits = (big.nbytes - 8 * big.entries) * 8
    assert (
        FILTER_BITS_PER_ENTRY * big.entries
        <= filter_bits
        < 2 * FILTER_BITS_PER_ENTRY * (big.entries)
    )


def test_the_key_filter_never_hides_a_stored_key_and_stops_most_absent_ones() -> None:
    rng = np.random.default_rng(5)
    table = PostingTable()
    stored: list[np.ndarray] = []
    for start in range(0, 200_000, 20_000):
        ids = np.arange(start, start + 20_000, dtype=U32)
        # keys whose low bits agree (as anchors' do) must spread over the filter too
        keys = (rng.integers(0, 2**28, ids.size, dtype=np.uint64) << np.uint64(4)).astype(U32)
        table.add(ids, keys)
        stored.append(keys)
    every = np.concatenate(stored)
    sample = every[rng.integers(0, every.size, 5_000)]
    assert table._may_hold(sample).all()
    _, which = table.lookup(sample)
    assert set(which.tolist()) == set(range(sample.size))  # every stored key is found
    absent = np.setdiff1d(rng.integers(0, 2**32, 20_000, dtype=np.uint64).astype(U32), every)
    passed = table._may_hold(absent).mean()
    assert passed < 0.15  # 4–8 bits per entry, two hashes: 5–16 % get through
    assert table.lookup(absent)[0].size == 0
