"""The store on a real SQLite file and on the real PostgreSQL (``database_url`` / ``store``).

Every test here runs once per backend: the guarantees of DESIGN.md §4 hold on both, and
what one backend stores the other reads back identically.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Row, create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from aggregator.errors import SchemaOutOfDate
from aggregator.fingerprint import fingerprint
from aggregator.identity import item_keys
from aggregator.normalize import content_hash
from aggregator.settings import DedupSettings
from aggregator.store import Batch, FeedOutcome, Store
from aggregator.store import schema as store_schema
from aggregator.store.models import ArticleRow, Base, FeedRow, OutletRow
from aggregator.types import (
    Article,
    Basis,
    ClusterState,
    FeedState,
    FeedStatusView,
    MemberRole,
    OutletConfig,
    Relation,
)
from tests.conftest import cli_env, run_cli

NOW = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(minutes=10)
PLUS_FOUR = timezone(timedelta(hours=4))
DEDUP = DedupSettings()
TABLES = {"alembic_version", "articles", "clusters", "feeds", "meta", "outlets"}


# --- helpers -------------------------------------------------------------------------------


def outlet(name: str, *feeds: str, aliases: tuple[str, ...] = ()) -> OutletConfig:
    return OutletConfig(name=name, homepage=None, aliases=aliases, feeds=tuple(feeds))


def article(
    outlet_name: str,
    key: str,
    *,
    title: str = "A headline",
    text: str = "",
    seen: datetime = NOW,
    published: datetime | None = None,
    author: str | None = None,
) -> Article:
    return Article(
        outlet=outlet_name,
        feed_url="",
        identity_key=key,
        guid=key,
        url=None,
        canonical_url=None,
        title=title,
        text=text,
        summary=text,
        content_html=None,
        author=author,
        published_at=published,
        first_seen_at=seen,
    )


def insert(batch: Batch, item: Article, *, feed_id: int | None = None) -> int:
    outlet_id = batch.outlet_id(item.outlet)
    assert outlet_id is not None, f"outlet {item.outlet} not synced"
    return batch.insert_article(
        outlet_id=outlet_id,
        feed_id=feed_id,
        article=item,
        fingerprint=fingerprint(item.text, DEDUP),
        credits=(),
        absent_at=None,
    )


def add(store: Store, item: Article, *, feed_id: int | None = None) -> tuple[int, int]:
    """Store one article in a cluster of its own; returns (article id, cluster id)."""
    with store.batch() as batch:
        article_id = insert(batch, item, feed_id=feed_id)
        outlet_id = batch.outlet_id(item.outlet)
        assert outlet_id is not None
        return article_id, batch.open_cluster(article_id, outlet_id, item)


def feed_ids(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {row.url: row.id for row in conn.execute(select(FeedRow.id, FeedRow.url))}


def feed_row(store: Store, url: str) -> Row[Any]:
    with store.engine.connect() as conn:
        return conn.execute(select(FeedRow.__table__).where(FeedRow.url == url)).one()


def outcome(at: datetime = NOW, **overrides: object) -> FeedOutcome:
    base = FeedOutcome(
        fetched_at=at,
        status=200,
        next_fetch_at=at + timedelta(minutes=30),
        state=FeedState.OK,
        error_count=0,
        success=True,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def statuses(store: Store) -> dict[str, FeedStatusView]:
    return {s.feed_url: s for s in store.feed_statuses()}


@pytest.fixture
def synced(store: Store) -> Store:
    """Two outlets, three feeds."""
    store.sync_outlets(
        [outlet("Politico", "https://p.example/a.xml", "https://p.example/b.xml"),
         outlet("AzerNEWS", "https://az.example/rss")],
        NOW,
    )  # fmt: skip
    return store


# --- schema and migrations -----------------------------------------------------------------


def test_db_upgrade_from_empty_creates_the_schema_and_a_second_upgrade_is_a_no_op(
    database_url: str, tmp_path: Path
) -> None:
    outlets_file = tmp_path / "outlets.toml"
    outlets_file.write_text("")
    env = cli_env(database_url, outlets_file)
    first = run_cli(["db", "upgrade"], env, tmp_path)
    head = store_schema.head_revision()
    assert head is not None
    assert f"empty → {head}" in first.stderr
    engine = create_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        again = Store.open(database_url)  # the schema is current: opening is allowed
        try:
            assert again.upgrade() == (head, head)  # what a second `db upgrade` does
        finally:
            again.close()
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert versions == [(head,)]
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(store: Store) -> None:
    assert store.upgrade() == (store_schema.head_revision(),) * 2  # again: nothing to do
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_opening_an_empty_database_says_to_run_db_upgrade(database_url: str) -> None:
    with pytest.raises(SchemaOutOfDate, match=r"run `aggregator db upgrade`"):
        Store.open(database_url)


def test_opening_a_database_with_a_newer_schema_says_so(store: Store, database_url: str) -> None:
    Store.open(database_url).close()  # at head: accepted
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(SchemaOutOfDate, match="newer than this program"):
        Store.open(database_url)


def test_upgrading_to_0003_fills_the_content_hash_of_stored_articles(database_url: str) -> None:
    from alembic import command

    old = Store.open(database_url, check_schema=False)
    try:
        config = store_schema._config()
        with old.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        with old.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outlets (id, name, aliases, active, created_at) "
                    "VALUES (1, 'Politico', '[]', :yes, :now)"
                ),
                {"yes": True, "now": NOW},
            )
            for n, title in enumerate(["Storm  Warning", "Élysée speaks"]):
                conn.execute(
                    text(
                        "INSERT INTO articles (outlet_id, identity_key, title, summary, text, "
                        "first_seen_at, credits, shingles, tokens, passages) VALUES "
                        "(1, :key, :title, '', :text, :now, '[]', 0, 0, '[]')"
                    ),
                    {"key": f"guid:{n}", "title": title, "text": f"Body {n}.", "now": NOW},
                )
        assert old.upgrade() == ("0002", store_schema.head_revision())
        with old.engine.connect() as conn:
            rows = conn.execute(select(ArticleRow.title, ArticleRow.text, ArticleRow.content_hash))
            hashes = {
                row.title: (row.content_hash, content_hash(row.title, row.text)) for row in rows
            }
    finally:
        old.close()
    assert len(hashes) == 2
    assert all(stored == expected for stored, expected in hashes.values())


def test_match_items_finds_known_guids_links_texts_and_keys_new_items(synced: Store) -> None:
    """Batch.match_items over stored rows (the rules themselves: tests/test_guids.py)."""
    stored = [
        replace(
            article("Politico", "guid:g", title="One", text="first"), url="https://p.example/1"
        ),
        replace(
            article("Politico", "url:https://p.example/2", title="Two", text="second"),
            guid=None,
            url="https://p.example/2",
        ),
    ]
    with synced.batch() as batch:
        for item in stored:
            insert(batch, item)
    items = item_keys(
        [
            replace(stored[0], guid="g", title="One, edited", text="first, edited"),  # edit
            replace(stored[0], guid="g", url="https://p.example/3", title="Three", text="third"),
            replace(stored[1], guid="rotated"),  # a new guid on a known link and text
            replace(stored[1], guid="fresh", url="https://p.example/4", title="Four", text="x"),
        ]
    )
    with synced.batch() as batch:
        outlet_id = batch.outlet_id("Politico")
        assert outlet_id is not None
        matches = batch.match_items(outlet_id, items, since=NOW - timedelta(days=1))
        other = batch.outlet_id("AzerNEWS")
        assert other is not None
        elsewhere = batch.match_items(other, items, since=NOW - timedelta(days=1))
    assert [(m.key, m.known) for m in matches] == [
        ("guid:g", True),
        ("url:https://p.example/3", False),  # the guid belongs to another article
        ("guid:rotated", True),
        ("guid:fresh", False),
    ]
    assert not any(m.known for m in elsewhere)  # identity is per outlet


# --- datetimes -----------------------------------------------------------------------------


def test_datetimes_round_trip_as_aware_utc_including_other_offsets(synced: Store) -> None:
    published = datetime(2025, 2, 28, 23, 30, 15, 654321, tzinfo=PLUS_FOUR)
    seen = NOW.astimezone(PLUS_FOUR)
    article_id, _ = add(synced, article("Politico", "guid:1", published=published, seen=seen))
    with synced.batch() as batch:
        batch.record_fetch(feed_ids(synced)["https://p.example/a.xml"], outcome(at=seen))

    view = synced.get_article(article_id)
    assert view is not None
    assert view.published_at == published
    assert view.published_at.tzinfo is UTC
    assert view.published_at.hour == 19  # 23:30 at +04:00
    assert view.first_seen_at == NOW
    assert view.first_seen_at.tzinfo is UTC
    status = statuses(synced)["https://p.example/a.xml"]
    assert status.last_fetched_at == NOW
    assert status.last_fetched_at.tzinfo is UTC
    assert status.next_fetch_at == NOW + timedelta(minutes=30)


def test_naive_datetimes_are_refused(synced: Store) -> None:
    naive = datetime(2025, 3, 1, 12, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        add(synced, article("Politico", "guid:naive", published=naive))
    with pytest.raises(StatementError, match="naive datetime"):
        synced.claim_due(naive, LEASE)
    assert synced.count_articles() == 0


# --- outlets and feeds ---------------------------------------------------------------------


def test_sync_outlets_adds_outlets_and_feeds_that_are_due_at_once(synced: Store) -> None:
    found = statuses(synced)
    assert set(found) == {
        "https://p.example/a.xml",
        "https://p.example/b.xml",
        "https://az.example/rss",
    }
    assert {s.state for s in found.values()} == {FeedState.OK}
    assert all(s.next_fetch_at is None for s in found.values())
    due = synced.claim_due(NOW, LEASE)
    assert sorted((d.outlet, d.url) for d in due) == [
        ("AzerNEWS", "https://az.example/rss"),
        ("Politico", "https://p.example/a.xml"),
        ("Politico", "https://p.example/b.xml"),
    ]


def test_a_feed_removed_from_the_outlets_file_is_disabled_keeps_its_articles_and_returns(
    synced: Store,
) -> None:
    removed = "https://p.example/b.xml"
    add(synced, article("Politico", "guid:kept"), feed_id=feed_ids(synced)[removed])
    synced.sync_outlets(
        [
            outlet("Politico", "https://p.example/a.xml"),
            outlet("AzerNEWS", "https://az.example/rss"),
        ],
        NOW,
    )
    status = statuses(synced)[removed]
    assert status.state is FeedState.DISABLED
    assert status.articles == 1
    assert [a.feed_url for a in synced.export_articles()] == [removed]
    assert removed not in {d.url for d in synced.claim_due(NOW, LEASE, everything=True)}

    synced.release(list(feed_ids(synced).values()))
    synced.sync_outlets(
        [outlet("Politico", "https://p.example/a.xml", removed), outlet("AzerNEWS", "https://az.example/rss")],
        NOW,
    )  # fmt: skip
    assert statuses(synced)[removed].state is FeedState.OK
    assert removed in {d.url for d in synced.claim_due(NOW, LEASE)}


def test_outlets_removed_from_the_file_become_inactive(synced: Store) -> None:
    synced.sync_outlets([outlet("AzerNEWS", "https://az.example/rss")], NOW)
    with synced.engine.connect() as conn:
        active = dict(conn.execute(select(OutletRow.name, OutletRow.active)).all())
    assert active == {"Politico": False, "AzerNEWS": True}
    assert statuses(synced)["https://p.example/a.xml"].state is FeedState.DISABLED
    synced.sync_outlets([outlet("Politico", "https://p.example/a.xml")], NOW)
    with synced.engine.connect() as conn:
        active = dict(conn.execute(select(OutletRow.name, OutletRow.active)).all())
    assert active == {"Politico": True, "AzerNEWS": False}


def test_daemons_starting_together_on_postgresql_sync_the_same_outlets_without_conflict(
    store: Store, database_url: str
) -> None:
    _skip_unless_postgres(store, "SQLite's BEGIN IMMEDIATE serializes writers by itself")
    outlets = [outlet(f"Outlet {i}", f"https://o{i}.example/a", f"https://o{i}.example/b")
               for i in range(30)]  # fmt: skip
    workers = 3
    stores = [Store.open(database_url) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def start(each: Store) -> None:
        try:
            barrier.wait(timeout=10)
            each.sync_outlets(outlets, NOW)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(each,)) for each in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for each in stores:
            each.close()
    assert errors == []
    assert len(store.feed_statuses()) == 60


# --- claiming feeds ------------------------------------------------------------------------


def test_a_claimed_feed_is_not_claimed_again_before_its_lease_expires(synced: Store) -> None:
    first = synced.claim_due(NOW, LEASE)
    assert len(first) == 3
    assert synced.claim_due(NOW, LEASE) == []
    assert synced.claim_due(NOW + LEASE - timedelta(seconds=1), LEASE, everything=True) == []
    again = synced.claim_due(NOW + LEASE + timedelta(seconds=1), LEASE)
    assert sorted(d.id for d in again) == sorted(d.id for d in first)


def test_claim_everything_ignores_the_schedule_but_not_leases_or_disabled_feeds(
    synced: Store,
) -> None:
    ids = feed_ids(synced)
    with synced.batch() as batch:  # all fetched: next due in 30 minutes
        for feed_id in ids.values():
            batch.record_fetch(feed_id, outcome())
    assert synced.claim_due(NOW, LEASE) == []
    synced.sync_outlets(
        [outlet("Politico", "https://p.example/a.xml", "https://p.example/b.xml")], NOW
    )  # AzerNEWS's feed is disabled
    leased = synced.claim_due(NOW + timedelta(hours=1), LEASE)  # due again: claims both
    assert {d.url for d in leased} == {"https://p.example/a.xml", "https://p.example/b.xml"}
    synced.release([ids["https://p.example/b.xml"]])

    everything = synced.claim_due(NOW + timedelta(hours=1), LEASE, everything=True)
    assert [d.url for d in everything] == ["https://p.example/b.xml"]


def test_after_the_clock_goes_back_schedules_and_leases_from_the_future_are_due(
    synced: Store,
) -> None:
    ids = feed_ids(synced)
    with synced.batch() as batch:  # all fetched at NOW: next due in 30 minutes
        for feed_id in ids.values():
            batch.record_fetch(feed_id, outcome())
    slack = timedelta(minutes=5)
    yesterday = NOW - timedelta(days=1)  # the wall clock was set back a day
    assert synced.claim_due(yesterday, LEASE) == []  # without slack: wait a day
    # another daemon's clock a little behind: not a jump
    assert synced.claim_due(NOW - timedelta(minutes=4), LEASE, slack=slack) == []
    claimed = synced.claim_due(yesterday, LEASE, slack=slack)
    assert sorted(d.id for d in claimed) == sorted(ids.values())
    # those leases run to yesterday + LEASE: honoured at that clock ...
    assert synced.claim_due(yesterday, LEASE, everything=True) == []
    # ... and a lease longer than LEASE was taken before a further jump back: expired
    back_again = synced.claim_due(yesterday - timedelta(days=1), LEASE, everything=True)
    assert sorted(d.id for d in back_again) == sorted(ids.values())


def test_release_gives_claimed_feeds_back(synced: Store) -> None:
    claimed = synced.claim_due(NOW, LEASE)
    keep, give_back = claimed[0], claimed[1:]
    synced.release([d.id for d in give_back])
    again = synced.claim_due(NOW, LEASE)
    assert sorted(d.id for d in again) == sorted(d.id for d in give_back)
    assert keep.id not in {d.id for d in again}


def test_claim_due_carries_what_the_fetcher_and_scheduler_need(synced: Store) -> None:
    url = "https://p.example/a.xml"
    with synced.batch() as batch:
        batch.record_fetch(
            feed_ids(synced)[url],
            outcome(etag='"abc"', last_modified="Sat, 01 Mar 2025 11:00:00 GMT",
                    keep_validators=False, full_fetch=True, next_fetch_at=NOW),
        )  # fmt: skip
    due = {d.url: d for d in synced.claim_due(NOW, LEASE)}[url]
    assert (due.etag, due.last_modified) == ('"abc"', "Sat, 01 Mar 2025 11:00:00 GMT")
    assert due.last_success_at == due.last_full_fetch_at == NOW
    assert due.error_count == 0
    # the never-fetched feeds come first
    assert [d.url for d in synced.claim_due(NOW + LEASE * 2, LEASE)][-1] == url


def _skip_unless_postgres(store: Store, reason: str) -> None:
    if store.dialect != "postgresql":
        pytest.skip(reason)


def test_concurrent_claims_on_postgresql_never_return_the_same_feed(
    store: Store, database_url: str
) -> None:
    _skip_unless_postgres(store, "row locks (FOR UPDATE SKIP LOCKED) are a PostgreSQL feature")
    feeds = [f"https://f{i}.example/rss" for i in range(120)]
    store.sync_outlets([outlet("Many", *feeds)], NOW)
    workers = 4
    stores = [Store.open(database_url) for _ in range(workers)]
    try:
        for round_number in range(3):
            claims = _claim_at_once(stores, NOW + round_number * 2 * LEASE)
            claimed = [feed_id for result in claims for feed_id in result]
            assert len(claimed) == len(set(claimed)), "a feed was claimed twice"
            assert len(claimed) == len(feeds)
    finally:
        for each in stores:
            each.close()


def _claim_at_once(stores: list[Store], when: datetime) -> list[list[int]]:
    """Every store claims due feeds at the same moment, each on its own thread."""
    barrier = threading.Barrier(len(stores))
    results: list[list[int]] = [[] for _ in stores]
    errors: list[BaseException] = []

    def claim(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = [d.id for d in stores[index].claim_due(when, LEASE)]
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return results


def test_claims_on_postgresql_skip_rows_another_daemon_is_claiming(
    synced: Store, database_url: str
) -> None:
    _skip_unless_postgres(synced, "row locks (FOR UPDATE SKIP LOCKED) are a PostgreSQL feature")
    locked = feed_ids(synced)["https://p.example/a.xml"]
    other = Store.open(database_url)
    try:
        with synced.engine.connect() as holder, holder.begin():
            # another daemon in the middle of its claim: the row is locked, no lease yet
            holder.execute(select(FeedRow.id).where(FeedRow.id == locked).with_for_update())
            result: list[list[str]] = []
            worker = threading.Thread(
                target=lambda: result.append([d.url for d in other.claim_due(NOW, LEASE)])
            )
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive(), "claim_due waited for a locked row instead of skipping it"
        assert sorted(result[0]) == ["https://az.example/rss", "https://p.example/b.xml"]
    finally:
        other.close()


# --- batches -------------------------------------------------------------------------------


def test_a_duplicate_identity_key_raises_and_rolls_back_the_whole_batch(synced: Store) -> None:
    with pytest.raises(IntegrityError), synced.batch() as batch:
        insert(batch, article("Politico", "guid:first"))
        insert(batch, article("Politico", "guid:dup"))
        insert(batch, article("Politico", "guid:dup", title="again"))
    assert synced.count_articles() == 0
    # the same key in another outlet is another article
    add(synced, article("Politico", "guid:dup"))
    add(synced, article("AzerNEWS", "guid:dup"))
    assert synced.count_articles() == 2


def test_a_batch_that_fails_midway_leaves_no_rows_and_no_validators(synced: Store) -> None:
    feed_id = feed_ids(synced)["https://p.example/a.xml"]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), synced.batch() as batch:
        first = article("Politico", "guid:1")
        article_id = insert(batch, first, feed_id=feed_id)
        outlet_id = batch.outlet_id("Politico")
        assert outlet_id is not None
        batch.open_cluster(article_id, outlet_id, first)
        batch.record_fetch(feed_id, outcome(etag='"v1"', last_modified="x", keep_validators=False))
        raise Boom
    assert synced.count_articles() == 0
    assert synced.list_clusters(limit=0) == []
    row = feed_row(synced, "https://p.example/a.xml")
    assert (row.etag, row.last_modified, row.last_fetched_at) == (None, None, None)


def test_record_fetch_saves_validators_only_when_told_not_to_keep_them(synced: Store) -> None:
    url = "https://p.example/a.xml"
    feed_id = feed_ids(synced)[url]
    with synced.batch() as batch:
        batch.record_fetch(
            feed_id, outcome(etag='"v1"', last_modified="Mon", keep_validators=False)
        )
    later = NOW + timedelta(hours=1)
    with synced.batch() as batch:  # a 304 or a failure: validators are kept
        batch.record_fetch(feed_id, outcome(at=later, status=304, etag='"v2"', last_modified="Tue"))
    row = feed_row(synced, url)
    assert (row.etag, row.last_modified) == ('"v1"', "Mon")
    assert (row.last_status, row.last_fetched_at) == (304, later)
    with synced.batch() as batch:
        batch.record_fetch(feed_id, outcome(etag=None, last_modified=None, keep_validators=False))
    row = feed_row(synced, url)
    assert (row.etag, row.last_modified) == (None, None)


def test_record_fetch_clears_the_lease_and_stores_the_error(synced: Store) -> None:
    url = "https://az.example/rss"
    (due,) = [d for d in synced.claim_due(NOW, LEASE) if d.url == url]
    with synced.batch() as batch:
        batch.record_fetch(
            due.id,
            outcome(status=500, success=False, error_count=3, state=FeedState.FAILING,
                    error_kind="http_5xx", error_message="HTTP 500", next_fetch_at=NOW),
        )  # fmt: skip
    status = statuses(synced)[url]
    assert (status.state, status.error_count, status.last_status) == (FeedState.FAILING, 3, 500)
    assert str(status.error_kind) == "http_5xx"
    assert [d.url for d in synced.claim_due(NOW, LEASE)] == [url]  # lease cleared


def test_merge_clusters_moves_members_and_the_old_id_follows_the_merge(synced: Store) -> None:
    a_id, a_cluster = add(synced, article("Politico", "guid:a", title="Original"))
    b_id, b_cluster = add(synced, article("AzerNEWS", "guid:b", seen=NOW + timedelta(hours=1)))
    c_id, c_cluster = add(synced, article("AzerNEWS", "guid:c", seen=NOW + timedelta(hours=2)))
    with synced.batch() as batch:
        batch.merge_clusters(a_cluster, [b_cluster, a_cluster, c_cluster])
    merged = synced.get_cluster(b_cluster)
    assert merged is not None
    assert merged.id == a_cluster
    assert sorted(m.id for m in merged.members) == sorted([a_id, b_id, c_id])
    assert {m.cluster_id for m in merged.members} == {a_cluster}
    followed = synced.get_cluster(c_cluster)
    assert followed is not None and followed.id == a_cluster
    assert [c.id for c in synced.list_clusters(limit=0)] == [a_cluster]


CONTROL = "bell\x07 escape\x1b tab\t cr\r vt\x0b del\x7f c1\x85\x9f"
TEXTS = [
    CONTROL,
    "Emoji 📰🗞️👩🏽‍💻🇦🇿 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "العربية: خبر عاجل من باكو — עברית: חדשות \u200fRTL\u200f mark \u202eoverride\u202c",
    "Combining e\u0301 vs é, zero width\u200bspace, BOM\ufeff, ideographic　space",
    "   leading and trailing whitespace kept   \n\n",
]


def test_unusual_text_is_stored_identically_on_both_backends(synced: Store) -> None:
    ids = []
    for value in TEXTS:
        item = article("Politico", f"guid:{value}", title=value, text=value, author=value)
        ids.append(add(synced, item)[0])
    with synced.engine.connect() as conn:
        rows = conn.execute(
            select(
                ArticleRow.identity_key, ArticleRow.title, ArticleRow.text, ArticleRow.author
            ).order_by(ArticleRow.id)
        ).all()
    assert [tuple(row) for row in rows] == [(f"guid:{v}", v, v, v) for v in TEXTS]
    assert [synced.get_article(i).title for i in ids] == TEXTS  # type: ignore[union-attr]


# --- queries -------------------------------------------------------------------------------


def _two_member_cluster(store: Store, first: Article, second: Article) -> int:
    """A cluster of two with provenance applied (size 2, last seen = the later member)."""
    first_id, cluster_id = add(store, first)
    with store.batch() as batch:
        second_id = insert(batch, second)
        batch.join_cluster(second_id, cluster_id)
        roles = (
            MemberRole(first_id, Relation.ORIGINAL, 1.0, None, first.first_seen_at),
            MemberRole(second_id, Relation.COPY, 0.9, None, second.first_seen_at),
        )
        state = ClusterState(
            first_id, first.outlet, first.first_seen_at, Basis.OBSERVED, 1.0, None, roles
        )
        batch.apply_state(cluster_id, state)
    return cluster_id


@pytest.fixture
def corpus(synced: Store) -> dict[str, int]:
    """Clusters with known titles, texts, outlets and activity times."""
    day = timedelta(days=1)
    clusters = {}
    _, clusters["old"] = add(
        synced, article("Politico", "guid:old", title="Senate vote", text="budget passes",
                        seen=NOW - 10 * day)
    )  # fmt: skip
    _, clusters["percent"] = add(
        synced, article("AzerNEWS", "guid:pct", title="Growth report",
                        text="exports grew 50% in the quarter; file a_b attached",
                        seen=NOW - 3 * day)
    )  # fmt: skip
    _, clusters["plain"] = add(
        synced, article("AzerNEWS", "guid:plain", title="Growth report again",
                        text="exports grew 50 percent; file axb attached", seen=NOW - 2 * day)
    )  # fmt: skip
    clusters["pair"] = _two_member_cluster(
        synced,
        article("Politico", "guid:pair1", title="Élysée summit in Baku", text="Leaders meet",
                seen=NOW - 5 * day),
        article("AzerNEWS", "guid:pair2", title="Baku hosts talks",
                text="ÉLYSÉE officials and Москва envoys", seen=NOW - day),
    )  # fmt: skip
    return clusters


def _ids(store: Store, **filters: object) -> list[int]:
    return [c.id for c in store.list_clusters(**filters)]  # type: ignore[arg-type]


def test_list_clusters_is_newest_activity_first_with_since_and_limit(
    synced: Store, corpus: dict[str, int]
) -> None:
    newest_first = [corpus["pair"], corpus["plain"], corpus["percent"], corpus["old"]]
    assert _ids(synced, limit=0) == newest_first
    assert _ids(synced) == newest_first  # the default limit (100) is not reached
    assert _ids(synced, limit=2) == newest_first[:2]
    assert _ids(synced, since=NOW - timedelta(days=3)) == newest_first[:3]
    assert _ids(synced, since=NOW - timedelta(days=2, seconds=1)) == newest_first[:2]
    assert _ids(synced, since=NOW) == []
    pair = synced.list_clusters(limit=1)[0]
    assert pair.size == 2
    assert pair.outlets == ("Politico", "AzerNEWS")
    assert pair.last_seen_at == NOW - timedelta(days=1)
    assert pair.first_reporter.outlet == "Politico"


def test_list_clusters_filters_by_outlet_case_insensitively_and_by_size(
    synced: Store, corpus: dict[str, int]
) -> None:
    politico = [corpus["pair"], corpus["old"]]
    assert _ids(synced, outlet="Politico", limit=0) == politico
    assert _ids(synced, outlet="POLITICO", limit=0) == politico
    assert _ids(synced, outlet="azernews", limit=0) == [
        corpus["pair"], corpus["plain"], corpus["percent"]
    ]  # fmt: skip
    assert _ids(synced, outlet="Nobody", limit=0) == []
    assert _ids(synced, min_size=2, limit=0) == [corpus["pair"]]
    assert _ids(synced, min_size=3, limit=0) == []


def test_list_clusters_query_needs_every_word_in_a_title_or_text(
    synced: Store, corpus: dict[str, int]
) -> None:
    assert _ids(synced, query="growth EXPORTS", limit=0) == [corpus["plain"], corpus["percent"]]
    assert _ids(synced, query="senate budget", limit=0) == [corpus["old"]]  # title + text
    assert _ids(synced, query="senate growth", limit=0) == []
    # any member may match; the cluster is listed once
    assert _ids(synced, query="baku", limit=0) == [corpus["pair"]]
    assert _ids(synced, query="talks officials", limit=0) == [corpus["pair"]]


def test_list_clusters_query_is_case_insensitive_beyond_ascii(
    synced: Store, corpus: dict[str, int]
) -> None:
    # Search finds a word as the user types it, capitalised or not, on both backends.
    assert _ids(synced, query="Élysée", limit=0) == [corpus["pair"]]
    assert _ids(synced, query="élysée", limit=0) == [corpus["pair"]]
    assert _ids(synced, query="москва", limit=0) == [corpus["pair"]]
    assert _ids(synced, query="МОСКВА", limit=0) == [corpus["pair"]]


def test_like_metacharacters_in_the_query_are_literal(
    synced: Store, corpus: dict[str, int]
) -> None:
    assert _ids(synced, query="50%", limit=0) == [corpus["percent"]]
    assert _ids(synced, query="a_b", limit=0) == [corpus["percent"]]
    assert _ids(synced, query="%", limit=0) == [corpus["percent"]]
    assert _ids(synced, query="_", limit=0) == [corpus["percent"]]
    assert _ids(synced, query="\\", limit=0) == []


def test_export_articles_in_id_order_and_since_first_seen(synced: Store) -> None:
    order = [NOW - timedelta(days=1), NOW - timedelta(days=5), NOW]
    ids = [add(synced, article("Politico", f"guid:{i}", seen=s))[0] for i, s in enumerate(order)]
    exported = list(synced.export_articles())
    assert [a.id for a in exported] == sorted(ids)
    assert [a.first_seen_at for a in exported] == order
    assert [a.id for a in synced.export_articles(since=NOW - timedelta(days=1))] == [
        ids[0], ids[2]
    ]  # fmt: skip
    assert list(synced.export_articles(since=NOW + timedelta(seconds=1))) == []


def test_feed_statuses_count_articles_per_feed(synced: Store) -> None:
    ids = feed_ids(synced)
    for n in range(3):
        add(synced, article("Politico", f"guid:a{n}"), feed_id=ids["https://p.example/a.xml"])
    add(synced, article("AzerNEWS", "guid:z"), feed_id=ids["https://az.example/rss"])
    add(synced, article("AzerNEWS", "guid:no-feed"))  # ingested without a feed
    counts = {s.feed_url: (s.outlet, s.articles) for s in synced.feed_statuses()}
    assert counts == {
        "https://p.example/a.xml": ("Politico", 3),
        "https://p.example/b.xml": ("Politico", 0),
        "https://az.example/rss": ("AzerNEWS", 1),
    }
    assert [s.outlet for s in synced.feed_statuses()] == ["AzerNEWS", "Politico", "Politico"]


# --- meta and the index side ---------------------------------------------------------------


def test_meta_values_are_inserted_then_replaced(store: Store) -> None:
    assert store.get_meta("fingerprint_version") is None
    store.set_meta("fingerprint_version", "v1")
    store.set_meta("fingerprint_version", "v2")
    assert store.get_meta("fingerprint_version") == "v2"


def test_index_rows_hold_recent_clusterable_signatures_oldest_first(synced: Store) -> None:
    words = " ".join(f"word{i}" for i in range(DEDUP.min_tokens + 10))
    recent, _ = add(synced, article("Politico", "guid:r", text=words, seen=NOW))
    older, _ = add(synced, article("Politico", "guid:o", text=words, seen=NOW - timedelta(days=3)))
    add(synced, article("Politico", "guid:short", text="too short"))
    add(synced, article("Politico", "guid:ancient", text=words, seen=NOW - timedelta(days=30)))
    rows = [
        row
        for chunk in synced.index_rows(NOW - timedelta(days=14), DEDUP.min_tokens)
        for row in chunk
    ]
    assert [(r[0], r[2]) for r in rows] == [(older, NOW - timedelta(days=3)), (recent, NOW)]
    expected = fingerprint(words, DEDUP)
    assert rows[0][1].signature == expected.signature
    assert rows[0][1].anchors == expected.anchors
