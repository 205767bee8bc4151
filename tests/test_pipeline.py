"""The pipeline end to end: a real Fetcher against loopback servers, a real store.

Every test runs on a real SQLite file and on the real PostgreSQL (``store`` fixture), with
a fixed clock the test advances, so schedules and windows are exact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from aggregator.fetch import Fetcher
from aggregator.fingerprint import fingerprint, version_of
from aggregator.parse import parse_feed
from aggregator.pipeline import CycleReport, Pipeline
from aggregator.settings import DedupSettings, FetchSettings, RedisSettings, Settings
from aggregator.store import Batch, Store
from aggregator.store.models import ArticleRow, FeedRow
from aggregator.types import (
    ArticleView,
    FeedState,
    FeedStatusView,
    FetchRequest,
    FetchResult,
    OutletConfig,
)
from tests.loopback import (
    Gauge,
    Handler,
    LoopbackServer,
    conditional,
    hold,
    loopback_fetch_settings,
    respond,
    trickle,
)

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
FETCH = loopback_fetch_settings()
BACKOFF_BASE = timedelta(minutes=15)  # ScheduleSettings.error_backoff_base
JITTER = 1.25  # ScheduleSettings.jitter: intervals stretch by up to 25 %


# --- a fixed clock, feeds and stories ------------------------------------------------------


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def story(seed: int, words: int = 120) -> str:
    """A text of ``words`` pseudo-random words: different seeds share no shingles."""
    rng = random.Random(seed)
    return " ".join(f"w{rng.randrange(1_000_000)}" for _ in range(words))


@dataclass(frozen=True)
class Item:
    guid: str | None
    title: str
    text: str = ""
    link: str | None = None


def rss(*items: Item) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        "<title>Test feed</title><link>https://news.example/</link>",
    ]
    for item in items:
        parts.append("<item>")
        if item.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.link is not None:
            parts.append(f"<link>{escape(item.link)}</link>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.text:
            parts.append(f"<description>{escape(item.text)}</description>")
        parts.append(f"<pubDate>{format_datetime(START - timedelta(hours=1))}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(*items: Item, headers: dict[str, str] | None = None) -> Handler:
    return respond(200, rss(*items), {**RSS_TYPE, **(headers or {})})


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


Build = Callable[..., Pipeline]


@pytest.fixture
def build(store: Store, server: LoopbackServer, clock: Clock) -> Iterator[Build]:
    """Pipelines on the test store; ``outlets`` maps outlet names to feed paths or URLs."""
    made: list[Pipeline] = []

    def make(
        outlets: dict[str, tuple[str, ...]],
        *,
        dedup: DedupSettings | None = None,
        redis: RedisSettings | None = None,
        prepare: bool = True,
        fetch: FetchSettings = FETCH,
    ) -> Pipeline:
        configs = [
            OutletConfig(
                name=name,
                homepage=None,
                aliases=(),
                feeds=tuple(p if p.startswith("http") else server.url(p) for p in paths),
            )
            for name, paths in outlets.items()
        ]
        settings = Settings(
            fetch=fetch, dedup=dedup or DedupSettings(), redis=redis or RedisSettings()
        )
        pipeline = Pipeline(store, settings, configs, clock=clock, rng=random.Random(7))
        made.append(pipeline)
        if prepare:
            pipeline.prepare()
        return pipeline

    yield make
    for pipeline in made:
        pipeline.close()


def cycle(
    pipeline: Pipeline,
    clock: Clock,
    *,
    everything: bool = False,
    fetcher: Callable[[], Fetcher] | None = None,
) -> CycleReport:
    """One fetch cycle with a real Fetcher (the pipeline's fetch settings) on the test clock."""

    async def run() -> CycleReport:
        made = fetcher() if fetcher else Fetcher(pipeline.settings.fetch, clock=clock)
        async with made as fetcher_:
            return await pipeline.run_cycle(fetcher_, everything=everything)

    return asyncio.run(run())


def outcomes(report: CycleReport) -> dict[str, str]:
    return {f.url: f.outcome for f in report.feeds}


def articles(store: Store, feed_url: str | None = None) -> list[ArticleView]:
    return [a for a in store.export_articles() if feed_url is None or a.feed_url == feed_url]


def status(store: Store, feed_url: str) -> FeedStatusView:
    (found,) = [s for s in store.feed_statuses() if s.feed_url == feed_url]
    return found


def validators(store: Store, feed_url: str) -> tuple[str | None, str | None]:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(FeedRow.etag, FeedRow.last_modified).where(FeedRow.url == feed_url)
        ).one()
    return row.etag, row.last_modified


def cluster_of(store: Store, outlet: str, title: str) -> int:
    (found,) = [a for a in store.export_articles() if (a.outlet, a.title) == (outlet, title)]
    assert found.cluster_id is not None
    return found.cluster_id


# --- conditional GET -----------------------------------------------------------------------

ETAG = '"v1-abc"'
LAST_MODIFIED = "Sat, 01 Mar 2025 11:00:00 GMT"


def test_a_200_saves_validators_and_a_304_keeps_articles_and_validators(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    body = rss(Item("a-1", "First", story(1)), Item("a-2", "Second", story(2)))
    fresh = conditional(body, etag=ETAG, last_modified=LAST_MODIFIED, headers=RSS_TYPE)
    server.route("/feed.xml", fresh)
    url = server.url("/feed.xml")
    pipeline = build({"Alpha": ("/feed.xml",)})

    first = cycle(pipeline, clock)
    assert outcomes(first) == {url: "ok"}
    assert first.new_articles == 2
    stored = articles(store)
    assert sorted(a.guid or "" for a in stored) == ["a-1", "a-2"]
    assert validators(store, url) == (ETAG, LAST_MODIFIED)
    assert "if-none-match" not in server.requests[0].headers

    clock.advance(timedelta(hours=1))
    server.route("/feed.xml", respond(500, b"down"))  # one error in between
    assert outcomes(cycle(pipeline, clock)) == {url: "http_5xx"}
    assert status(store, url).error_count == 1

    clock.advance(timedelta(hours=1))
    server.route("/feed.xml", fresh)
    assert outcomes(cycle(pipeline, clock)) == {url: "not_modified"}
    asked = server.requests[-1].headers
    assert asked["if-none-match"] == ETAG
    assert asked["if-modified-since"] == LAST_MODIFIED
    after = status(store, url)
    assert (after.state, after.error_count, after.last_status) == (FeedState.OK, 0, 304)
    assert after.error_kind is None
    assert after.last_fetched_at == clock.now
    assert after.next_fetch_at is not None and after.next_fetch_at > clock.now
    assert articles(store) == stored
    assert validators(store, url) == (ETAG, LAST_MODIFIED)


def test_validators_are_ignored_for_the_forced_full_refetch_every_12_hours(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    body = rss(Item("a-1", "First", story(1)))
    server.route(
        "/feed.xml", conditional(body, etag=ETAG, last_modified=LAST_MODIFIED, headers=RSS_TYPE)
    )
    pipeline = build({"Alpha": ("/feed.xml",)})
    cycle(pipeline, clock)
    clock.advance(timedelta(hours=6))
    cycle(pipeline, clock)
    assert server.requests[-1].headers.get("if-none-match") == ETAG
    clock.advance(timedelta(hours=6, minutes=1))
    report = cycle(pipeline, clock)
    assert outcomes(report) == {server.url("/feed.xml"): "ok"}
    assert "if-none-match" not in server.requests[-1].headers
    assert len(articles(store)) == 1


# --- the batch is all or nothing -----------------------------------------------------------


class InjectedFault(Exception):
    pass


def test_validators_are_saved_only_with_the_items(
    build: Build,
    server: LoopbackServer,
    store: Store,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = [Item(f"a-{n}", f"Story {n}", story(n)) for n in range(3)]
    server.route(
        "/feed.xml",
        conditional(rss(*items), etag=ETAG, last_modified=LAST_MODIFIED, headers=RSS_TYPE),
    )
    url = server.url("/feed.xml")
    pipeline = build({"Alpha": ("/feed.xml",)})

    real_insert = Batch.insert_article
    inserted: list[int] = []

    def failing_insert(self: Batch, **kwargs: Any) -> int:
        if len(inserted) == 1:
            raise InjectedFault("the database went away on the 2nd article")
        article_id = real_insert(self, **kwargs)
        inserted.append(article_id)
        return article_id

    monkeypatch.setattr(Batch, "insert_article", failing_insert)
    failed = cycle(pipeline, clock)  # a store fault is that feed's result, not the cycle's end
    assert outcomes(failed) == {url: "store_error"}
    assert "InjectedFault" in (failed.feeds[0].message or "")
    assert len(inserted) == 1
    assert store.count_articles() == 0
    assert store.list_clusters(limit=0) == []
    assert validators(store, url) == (None, None)
    assert status(store, url).last_fetched_at is None
    assert pipeline.index.sketch(inserted[0]) is None
    assert len(pipeline.index) == 0

    monkeypatch.undo()
    report = cycle(pipeline, clock)  # the feed was given back and is still due
    assert outcomes(report) == {url: "ok"}
    assert "if-none-match" not in server.requests[-1].headers
    assert sorted(a.guid or "" for a in articles(store)) == ["a-0", "a-1", "a-2"]
    assert validators(store, url) == (ETAG, LAST_MODIFIED)
    assert len(pipeline.index) == 3


# --- failures ------------------------------------------------------------------------------

HTML_PAGE = b"<!doctype html><html><body><p>Our feed moved.</p></body></html>"
FAILURES = {
    "http_5xx": (respond(500, b"internal error"), 500),
    "http_4xx": (respond(404, b"gone"), 404),
    "parse_error": (respond(200, HTML_PAGE, {"Content-Type": "text/html"}), 200),
    "broken_xml": (respond(200, b"<rss><channel><title>x</ch", RSS_TYPE), 200),
    "empty_body": (respond(200, b"", RSS_TYPE), 200),
    "network_error": (None, None),  # the server is gone: connection refused
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_failing_feed_records_a_typed_error_and_the_other_feeds_go_on(
    case: str, build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    handler, expected_status = FAILURES[case]
    expected_kind = "parse_error" if case == "broken_xml" else case
    server.route("/beta.xml", serve(Item("b-1", "Beta one", story(2))))
    beta = server.url("/beta.xml")

    def next_cycle() -> CycleReport:
        server.route(
            "/beta.xml",
            serve(Item("b-1", "Beta one", story(2)), Item("b-2", "Beta two", story(3))),
        )
        clock.advance(timedelta(hours=1))
        return cycle(pipeline, clock)

    with LoopbackServer() as alpha_server:
        alpha_server.route("/alpha.xml", serve(Item("a-1", "Alpha one", story(1))))
        alpha = alpha_server.url("/alpha.xml")
        pipeline = build({"Alpha": (alpha,), "Beta": (beta,)})
        assert outcomes(cycle(pipeline, clock)) == {alpha: "ok", beta: "ok"}
        before = articles(store, alpha)
        assert len(before) == 1
        if handler is not None:
            alpha_server.route("/alpha.xml", handler)
            report = next_cycle()
    if handler is None:
        report = next_cycle()  # alpha's server has stopped: its port refuses connections

    assert outcomes(report) == {alpha: expected_kind, beta: "ok"}
    failed = status(store, alpha)
    assert str(failed.error_kind) == expected_kind
    assert (failed.error_count, failed.state) == (1, FeedState.OK)
    assert failed.last_status == expected_status
    assert failed.error_message and alpha in failed.error_message
    assert failed.next_fetch_at is not None
    assert clock.now + BACKOFF_BASE <= failed.next_fetch_at <= clock.now + BACKOFF_BASE * JITTER
    assert articles(store, alpha) == before
    assert [a.guid for a in articles(store, beta)] == ["b-1", "b-2"]
    assert status(store, beta).error_count == 0


def test_errors_back_off_exponentially_and_make_the_feed_failing_after_three(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    server.route("/bad.xml", respond(500, b"broken"))
    url = server.url("/bad.xml")
    pipeline = build({"Alpha": ("/bad.xml",)})
    for count in range(1, 6):
        report = cycle(pipeline, clock)
        assert outcomes(report) == {url: "http_5xx"}
        now_status = status(store, url)
        assert now_status.error_count == count
        expected_state = FeedState.FAILING if count >= 3 else FeedState.OK
        assert now_status.state is expected_state
        delay = BACKOFF_BASE * 2 ** (count - 1)
        assert now_status.next_fetch_at is not None
        assert clock.now + delay <= now_status.next_fetch_at <= clock.now + delay * JITTER
        clock.now = now_status.next_fetch_at - timedelta(seconds=1)
        assert cycle(pipeline, clock).feeds == []  # not due a second early
        clock.now = now_status.next_fetch_at

    server.route("/bad.xml", serve(Item("a-1", "Back", story(1))))
    assert outcomes(cycle(pipeline, clock)) == {url: "ok"}
    recovered = status(store, url)
    assert (recovered.state, recovered.error_count, recovered.error_kind) == (
        FeedState.OK, 0, None
    )  # fmt: skip


def test_a_429_with_retry_after_waits_as_asked(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    server.route("/feed.xml", serve(Item("a-1", "Kept", story(1))))
    url = server.url("/feed.xml")
    pipeline = build({"Alpha": ("/feed.xml",)})
    cycle(pipeline, clock)
    before = articles(store)
    clock.advance(timedelta(hours=1))
    server.route("/feed.xml", respond(429, b"slow down", {"Retry-After": "120"}))
    assert outcomes(cycle(pipeline, clock)) == {url: "rate_limited"}
    limited = status(store, url)
    assert (limited.last_status, limited.error_count) == (429, 1)
    assert limited.next_fetch_at is not None
    asked = timedelta(seconds=120)
    assert clock.now + asked <= limited.next_fetch_at <= clock.now + asked * JITTER
    assert articles(store) == before


# --- identity: no duplicates ---------------------------------------------------------------


def test_refetching_a_feed_never_duplicates_rows(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    items = [
        Item("g-1", "With guid", story(1)),
        Item(None, "Only a link", story(2), link="https://news.example/only-link"),
        Item(None, "Neither guid nor link", story(3)),
    ]
    server.route("/feed.xml", serve(*items))
    pipeline = build({"Alpha": ("/feed.xml",)})
    first = cycle(pipeline, clock)
    assert first.new_articles == 3
    ids = [a.id for a in articles(store)]
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        again = cycle(pipeline, clock, everything=True)
        assert again.new_articles == 0
        assert [f.items for f in again.feeds] == [3]
    assert [a.id for a in articles(store)] == ids
    assert status(store, server.url("/feed.xml")).articles == 3


def test_tracking_parameters_in_links_never_make_two_articles(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    text = story(1)
    base = "https://news.example/politics/story?id=7"
    server.route(
        "/feed.xml",
        serve(
            Item(None, "Link only", text, link=f"{base}&utm_source=rss&utm_medium=feed"),
            Item("https://news.example/guid-story?utm_campaign=x", "Guid link", story(2)),
        ),
    )
    pipeline = build({"Alpha": ("/feed.xml",)})
    cycle(pipeline, clock)
    clock.advance(timedelta(hours=1))
    server.route(
        "/feed.xml",
        serve(
            Item(None, "Link only", text, link=f"{base}&fbclid=IwAR0xyz&gclid=abc#comments"),
            Item("https://news.example/guid-story?fbclid=1", "Guid link", story(2)),
            Item(None, "Link only", text, link=base),
        ),
    )
    report = cycle(pipeline, clock, everything=True)
    assert report.new_articles == 0
    stored = articles(store)
    assert sorted(a.title for a in stored) == ["Guid link", "Link only"]
    (linked,) = [a for a in stored if a.title == "Link only"]
    assert linked.canonical_url == base


def test_the_same_item_in_two_feeds_of_one_outlet_is_stored_once(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    shared = Item("shared-1", "Shared story", story(1))
    server.route("/politics.xml", serve(shared, Item("p-1", "Politics only", story(2))))
    server.route("/world.xml", serve(Item("w-1", "World only", story(3)), shared))
    server.route("/other.xml", serve(shared))  # another outlet: its own article
    pipeline = build({"Alpha": ("/politics.xml", "/world.xml"), "Beta": ("/other.xml",)})
    report = cycle(pipeline, clock)
    assert report.new_articles == 4
    keys = [(a.outlet, a.guid) for a in articles(store)]
    assert sorted(keys) == [
        ("Alpha", "p-1"), ("Alpha", "shared-1"), ("Alpha", "w-1"), ("Beta", "shared-1")
    ]  # fmt: skip
    clock.advance(timedelta(hours=1))
    assert cycle(pipeline, clock, everything=True).new_articles == 0
    assert len(articles(store)) == 4


# --- the index: a cache of the store -------------------------------------------------------


def _copy_feeds(server: LoopbackServer) -> None:
    server.route("/alpha.xml", serve(Item("a-1", "Original", story(1))))
    server.route("/beta.xml", serve(Item("b-0", "Unrelated", story(9))))


def test_a_new_pipeline_rebuilds_its_index_from_stored_signatures(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    _copy_feeds(server)
    outlets = {"Alpha": ("/alpha.xml",), "Beta": ("/beta.xml",)}
    first = build(outlets)
    cycle(first, clock)
    first.close()
    original = cluster_of(store, "Alpha", "Original")

    second = build(outlets)  # prepare() fills the index from the store
    stored_ids = {a.id for a in articles(store)}
    assert len(second.index) == 2
    assert all(second.index.sketch(article_id) is not None for article_id in stored_ids)
    server.route(
        "/beta.xml",
        serve(Item("b-0", "Unrelated", story(9)), Item("b-1", "Copy", story(1))),
    )
    clock.advance(timedelta(hours=1))
    assert cycle(second, clock).new_articles == 1
    assert cluster_of(store, "Beta", "Copy") == original
    assert cluster_of(store, "Beta", "Unrelated") != original
    cluster = store.get_cluster(original)
    assert cluster is not None
    assert (cluster.size, cluster.first_reporter.outlet) == (2, "Alpha")


def test_articles_older_than_the_window_are_not_in_the_rebuilt_index(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    _copy_feeds(server)
    outlets = {"Alpha": ("/alpha.xml",), "Beta": ("/beta.xml",)}
    first = build(outlets)
    cycle(first, clock)  # "Original" and "Unrelated" at START
    clock.advance(timedelta(days=10))
    server.route(
        "/alpha.xml", serve(Item("a-1", "Original", story(1)), Item("a-2", "Recent", story(2)))
    )
    cycle(first, clock, everything=True)  # "Recent" at START + 10 days
    first.close()
    recent = {a.id for a in articles(store) if a.title == "Recent"}

    window = DedupSettings().window
    clock.now = START + window + timedelta(hours=1)
    second = build(outlets)
    indexed = {a.id for a in articles(store) if second.index.sketch(a.id) is not None}
    assert indexed == recent
    assert len(second.index) == 1
    server.route(
        "/beta.xml",
        serve(Item("b-1", "Copy of old", story(1)), Item("b-2", "Copy of recent", story(2))),
    )
    cycle(second, clock, everything=True)
    assert cluster_of(store, "Beta", "Copy of old") != cluster_of(store, "Alpha", "Original")
    assert cluster_of(store, "Beta", "Copy of recent") == cluster_of(store, "Alpha", "Recent")


def test_changed_fingerprint_parameters_rebuild_the_stored_signatures(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    _copy_feeds(server)
    outlets = {"Alpha": ("/alpha.xml",), "Beta": ("/beta.xml",)}
    five = DedupSettings(shingle_size=5)
    first = build(outlets, dedup=five)
    cycle(first, clock)
    first.close()
    assert store.get_meta("fingerprint_version") == version_of(five)
    texts = {a.id: story(1 if a.title == "Original" else 9) for a in articles(store)}
    before = stored_signatures(store)
    assert before == {aid: fingerprint(text, five).signature for aid, text in texts.items()}

    four = DedupSettings(shingle_size=4)
    second = build(outlets, dedup=four)
    assert store.get_meta("fingerprint_version") == version_of(four) != version_of(five)
    after = stored_signatures(store)
    assert after == {aid: fingerprint(text, four).signature for aid, text in texts.items()}
    assert all(after[aid] != before[aid] for aid in texts)
    # the rebuilt index speaks the new parameters: a copy still finds its original
    server.route("/beta.xml", serve(Item("b-1", "Copy", story(1))))
    clock.advance(timedelta(hours=1))
    cycle(second, clock, everything=True)
    assert cluster_of(store, "Beta", "Copy") == cluster_of(store, "Alpha", "Original")


def test_empty_and_short_texts_never_join_a_cluster_even_when_identical(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    short = "Markets rose today after the announcement, traders said."
    assert len(short.split()) < DedupSettings().min_tokens
    same = [
        Item("empty", "Breaking headline"),
        Item("short", "Short one", short),
        Item("long", "Long one", story(5)),  # the control: identical long texts do cluster
    ]
    server.route("/alpha.xml", serve(*same))
    server.route("/beta.xml", serve(*same))
    pipeline = build({"Alpha": ("/alpha.xml",), "Beta": ("/beta.xml",)})
    cycle(pipeline, clock)
    for title in ("Breaking headline", "Short one"):
        assert cluster_of(store, "Alpha", title) != cluster_of(store, "Beta", title)
        assert store.get_cluster(cluster_of(store, "Beta", title)).size == 1  # type: ignore[union-attr]
    assert cluster_of(store, "Alpha", "Long one") == cluster_of(store, "Beta", "Long one")
    assert len(pipeline.index) == 2  # only the long texts are indexed


# --- scale-out: the index in Redis ---------------------------------------------------------


@pytest.fixture
def shared_redis(redis_url: str, redis_prefix: str) -> RedisSettings:
    """The real Redis, under a key prefix of this test's own."""
    return RedisSettings(url=redis_url, prefix=redis_prefix)


@pytest.mark.redis
def test_pipelines_configured_with_redis_share_one_index(
    build: Build, server: LoopbackServer, store: Store, clock: Clock, shared_redis: RedisSettings
) -> None:
    import redis

    _copy_feeds(server)
    outlets = {"Alpha": ("/alpha.xml",), "Beta": ("/beta.xml",)}
    first = build(outlets, redis=shared_redis)
    cycle(first, clock)
    assert shared_redis.url is not None
    client = redis.Redis.from_url(shared_redis.url)
    try:
        keys = client.scan_iter(match=f"{shared_redis.prefix}:index:*", count=1000)
        assert any(True for _ in keys)
    finally:
        client.close()

    second = build(outlets, redis=shared_redis, prepare=False)  # nothing read from the store
    server.route("/beta.xml", serve(Item("b-1", "Copy", story(1))))
    clock.advance(timedelta(hours=1))
    assert cycle(second, clock, everything=True).new_articles == 1
    assert cluster_of(store, "Beta", "Copy") == cluster_of(store, "Alpha", "Original")


# --- several daemons on one PostgreSQL database --------------------------------------------


def test_two_daemons_storing_the_same_item_at_once_store_it_once(
    build: Build, store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: two batches never interleave")
    shared = Item("shared-1", "Shared story", story(1))
    feeds = {"/politics.xml": Item("p-1", "Politics", story(2)), "/world.xml": None}
    pipelines = [build({"Alpha": tuple(feeds)}), build({"Alpha": tuple(feeds)})]
    urls = [s.feed_url for s in store.feed_statuses()]

    # Both batches look for known items before either has committed its insert: the
    # window in which two daemons processing two feeds of one outlet really race.
    real_known_keys = Batch.known_keys
    both_looked = threading.Barrier(2)
    first_look: set[int] = set()

    def racing_known_keys(self: Batch, outlet_id: int, keys: Sequence[str]) -> set[str]:
        found = real_known_keys(self, outlet_id, keys)
        if threading.get_ident() not in first_look:
            first_look.add(threading.get_ident())
            both_looked.wait(timeout=10)
        return found

    monkeypatch.setattr(Batch, "known_keys", racing_known_keys)
    errors: list[BaseException] = []

    def ingest(pipeline: Pipeline, path: str, extra: Item | None) -> None:
        url = next(u for u in urls if u.endswith(path))
        body = rss(shared, *([extra] if extra else []))
        try:
            pipeline.ingester.ingest(
                "Alpha", parse_feed(body, {}, url), clock(), feed_id=None, feed_url=url
            )
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=ingest, args=(pipeline, path, extra))
        for pipeline, (path, extra) in zip(pipelines, feeds.items(), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(a.guid or "" for a in articles(store)) == ["p-1", "shared-1"]


def stored_signatures(store: Store) -> dict[int, bytes]:
    """Every stored signature, by article id."""
    chunks = store.index_rows(START - timedelta(days=1), 0)
    return {aid: fp.signature for chunk in chunks for aid, fp, _ in chunk}


# --- full text: the article page of a summary-only item ------------------------------------

HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}
FOOTER = "Copyright 2025 Example News. All rights reserved."


def page_paragraphs(seed: int) -> list[str]:
    """The article on a page: six paragraphs of 40 pseudo-random words."""
    words = story(seed, 240).split()
    return [" ".join(words[start : start + 40]) + "." for start in range(0, 240, 40)]


def article_page(seed: int, *, padding: int = 0) -> bytes:
    """A news page: navigation, the article, a sidebar, comments and a footer."""
    body = "".join(f"<p>{p}</p>" for p in page_paragraphs(seed))
    filler = f"<!-- {'x' * padding} -->" if padding else ""
    return f"""<!DOCTYPE html><html><head><title>Story {seed}</title></head><body>{filler}
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/login">Sign in</a></nav>
</header><main><article><h1>Story {seed}</h1>{body}</article></main>
<aside><h2>Most read</h2><ul><li><a href="/o">Other story</a></li></ul></aside>
<section class="comments"><h2>Comments</h2><p>Great article, thanks!</p></section>
<footer><p>{FOOTER}</p></footer></body></html>""".encode()


def summary_of(seed: int) -> str:
    """What a summary-only feed says of story ``seed``: its first 20 words."""
    return " ".join(page_paragraphs(seed)[0].split()[:20]) + "…"


def summary_item(server: LoopbackServer, seed: int, path: str | None = None) -> Item:
    link = server.url(path or f"/news/{seed}")
    return Item(f"s-{seed}", f"Story {seed}", summary_of(seed), link=link)


def stored_bodies(store: Store) -> dict[str, tuple[str, str]]:
    """(text, summary) of every stored article, by guid."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(ArticleRow.guid, ArticleRow.text, ArticleRow.summary)).all()
    return {row.guid: (row.text, row.summary) for row in rows}


def page_requests(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests if r.path.startswith("/news/")]


def full_text_count(pipeline: Pipeline, outcome: str) -> float:
    value = pipeline.metrics.registry.get_sample_value(
        "aggregator_full_text_pages_total", {"outcome": outcome}
    )
    return value or 0.0


FULL_TEXT = dataclasses.replace(FETCH, full_text=True)


def test_full_text_stores_the_page_text_of_summary_items_and_keeps_the_summary(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    for seed in (1, 2, 3):
        server.route(f"/news/{seed}", respond(200, article_page(seed), HTML_TYPE))
    long_item = Item("long", "Long one", story(9, 150), link=server.url("/news/9"))
    server.route("/alpha.xml", serve(summary_item(server, 1), summary_item(server, 2), long_item))
    # Beta carries story 1 in full: only Alpha's page text can make the two one cluster.
    server.route("/beta.xml", serve(Item("b-1", "Story one", "\n\n".join(page_paragraphs(1)))))
    pipeline = build({"Alpha": ("/alpha.xml",), "Beta": ("/beta.xml",)}, fetch=FULL_TEXT)

    report = cycle(pipeline, clock)
    assert set(outcomes(report).values()) == {"ok"}
    assert {f.url: f.full_texts for f in report.feeds}[server.url("/alpha.xml")] == 2
    assert sorted(page_requests(server)) == ["/news/1", "/news/2"]  # not the long item's page
    page_request = next(r for r in server.requests if r.path == "/news/1")
    assert page_request.headers["user-agent"] == FETCH.user_agent
    assert page_request.headers["accept"].startswith("text/html")
    bodies = stored_bodies(store)
    for seed in (1, 2):
        text, summary = bodies[f"s-{seed}"]
        assert text == "\n\n".join([f"Story {seed}", *page_paragraphs(seed)])
        assert summary == summary_of(seed)
        assert FOOTER not in text and "Sign in" not in text and "Great article" not in text
    assert bodies["long"] == (story(9, 150), story(9, 150))
    assert full_text_count(pipeline, "extracted") == 2
    assert cluster_of(store, "Alpha", "Story 1") == cluster_of(store, "Beta", "Story one")

    # Known articles are never fetched again; a new one is.
    server.route("/news/3", respond(200, article_page(3), HTML_TYPE))
    server.route(
        "/alpha.xml",
        serve(summary_item(server, 1), summary_item(server, 2), summary_item(server, 3)),
    )
    clock.advance(timedelta(hours=1))
    again = cycle(pipeline, clock, everything=True)
    assert again.new_articles == 1  # story 3
    assert sorted(page_requests(server)) == ["/news/1", "/news/2", "/news/3"]
    assert stored_bodies(store)["s-3"][0].endswith(page_paragraphs(3)[-1])


PAGE_FAILURES: dict[str, tuple[Handler, FetchSettings]] = {
    "http_4xx": (respond(404, b"<html><body>Not found</body></html>", HTML_TYPE), FULL_TEXT),
    "http_5xx": (respond(500, b"oops", HTML_TYPE), FULL_TEXT),
    "timeout": (
        trickle(0.05, b" ", HTML_TYPE),
        dataclasses.replace(FULL_TEXT, page_total_timeout=0.5),
    ),
    "too_large": (
        respond(200, article_page(1, padding=50_000), HTML_TYPE),
        dataclasses.replace(FULL_TEXT, max_page_bytes=20_000),
    ),
    "empty_body": (respond(200, b"", HTML_TYPE), FULL_TEXT),
    "no_text": (respond(200, b"\x00\x01 not a page \xff", HTML_TYPE), FULL_TEXT),
}


@pytest.mark.parametrize("case", sorted(PAGE_FAILURES))
def test_a_page_that_fails_keeps_the_summary_and_the_feed_is_ok(
    case: str, build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    handler, fetch = PAGE_FAILURES[case]
    server.route("/news/1", handler)
    server.route("/news/2", respond(200, article_page(2), HTML_TYPE))
    server.route("/alpha.xml", serve(summary_item(server, 1), summary_item(server, 2)))
    url = server.url("/alpha.xml")
    pipeline = build({"Alpha": ("/alpha.xml",)}, fetch=fetch)

    report = cycle(pipeline, clock)
    assert outcomes(report) == {url: "ok"}
    assert (report.new_articles, report.feeds[0].full_texts) == (2, 1)
    bodies = stored_bodies(store)
    assert bodies["s-1"] == (summary_of(1), summary_of(1))
    assert bodies["s-2"][0].endswith(page_paragraphs(2)[-1])
    assert full_text_count(pipeline, case) == 1
    after = status(store, url)
    assert (after.state, after.error_count, after.error_kind) == (FeedState.OK, 0, None)


class GuardedPages(Fetcher):
    """Feeds from the loopback server as usual; article pages through a guard that refuses
    private networks, as in production."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(dataclasses.replace(FULL_TEXT, allow_private_networks=False), clock=clock)
        self._feeds = Fetcher(FULL_TEXT, clock=clock)

    async def fetch_feed(self, request: FetchRequest) -> FetchResult:
        return await self._feeds.fetch_feed(request)

    async def aclose(self) -> None:
        await self._feeds.aclose()
        await super().aclose()


def test_page_fetches_go_through_the_ssrf_guard(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    server.route("/news/1", respond(200, article_page(1), HTML_TYPE))
    server.route("/alpha.xml", serve(summary_item(server, 1)))
    pipeline = build({"Alpha": ("/alpha.xml",)}, fetch=FULL_TEXT)

    report = cycle(pipeline, clock, fetcher=lambda: GuardedPages(clock))
    assert outcomes(report) == {server.url("/alpha.xml"): "ok"}
    assert page_requests(server) == []  # refused before any connection
    assert full_text_count(pipeline, "blocked_destination") == 1
    assert stored_bodies(store)["s-1"] == (summary_of(1), summary_of(1))

    # The same page with private networks allowed (tests, demos) is fetched.
    server.route("/alpha.xml", serve(summary_item(server, 1), summary_item(server, 2)))
    server.route("/news/2", respond(200, article_page(2), HTML_TYPE))
    clock.advance(timedelta(hours=1))
    cycle(pipeline, clock, everything=True)
    assert page_requests(server) == ["/news/2"]
    assert full_text_count(pipeline, "extracted") == 1


def test_without_full_text_no_page_is_requested(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    server.route("/news/1", respond(200, article_page(1), HTML_TYPE))
    server.route("/alpha.xml", serve(summary_item(server, 1)))
    off = dataclasses.replace(FETCH, full_text=False)
    pipeline = build({"Alpha": ("/alpha.xml",)}, fetch=off)
    report = cycle(pipeline, clock)
    assert outcomes(report) == {server.url("/alpha.xml"): "ok"}
    assert [r.path for r in server.requests] == ["/alpha.xml"]
    assert stored_bodies(store)["s-1"] == (summary_of(1), summary_of(1))
    assert report.feeds[0].full_texts == 0


def test_page_fetches_are_bounded_per_feed_and_cycle_and_polite_per_host(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    in_flight = Gauge()
    for seed in range(1, 7):
        server.route(
            f"/news/{seed}", hold(0.2, respond(200, article_page(seed), HTML_TYPE), in_flight)
        )
    server.route("/alpha.xml", serve(*(summary_item(server, seed) for seed in range(1, 7))))
    bounded = dataclasses.replace(FULL_TEXT, full_text_max_pages=4, per_host_connections=2)
    pipeline = build({"Alpha": ("/alpha.xml",)}, fetch=bounded)

    report = cycle(pipeline, clock)
    assert (report.new_articles, report.feeds[0].full_texts) == (6, 4)
    assert sorted(page_requests(server)) == [f"/news/{seed}" for seed in range(1, 5)]
    assert in_flight.peak == 2  # the per-host limit holds for pages too
    bodies = stored_bodies(store)
    assert [bodies[f"s-{seed}"][0] == summary_of(seed) for seed in range(1, 7)] == [
        False, False, False, False, True, True
    ]  # fmt: skip
    clock.advance(timedelta(hours=1))
    cycle(pipeline, clock, everything=True)  # nothing is new: no page is asked for again
    assert len(page_requests(server)) == 4
