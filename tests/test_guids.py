"""Article identity against feeds that break the guid promise (PRODUCT.md §3, "Article
identity"): missing, duplicate, reused and rotating guids never duplicate or lose an article.

Each scenario runs the real pipeline (a real Fetcher against a loopback server) on a real
SQLite file and on the real PostgreSQL, refetching the feed the way a daemon would. The rule
itself is identity.item_keys / match_by_keys / match_by_content, described in
docs/design-notes.md ("Article identity").
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from aggregator.identity import (
    REPEAT_WINDOW_DAYS,
    ItemKeys,
    StoredItem,
    item_keys,
    match_by_content,
    match_by_keys,
    stored_item,
)
from aggregator.normalize import content_hash
from aggregator.pipeline import Pipeline
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.types import Article, OutletConfig
from tests.loopback import LoopbackServer, respond
from tests.test_pipeline import (
    FETCH,
    HTML_TYPE,
    START,
    Clock,
    Item,
    article_page,
    articles,
    cycle,
    page_paragraphs,
    page_requests,
    serve,
    stored_bodies,
    story,
    summary_of,
)

FEED = "/feed.xml"
NO_FULL_TEXT = dataclasses.replace(FETCH, full_text=False)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


Build = Callable[..., Pipeline]


@pytest.fixture
def build(store: Store, server: LoopbackServer, clock: Clock) -> Iterator[Build]:
    """A prepared pipeline on the test store with one outlet, "Alpha", whose feed is FEED."""
    made: list[Pipeline] = []

    def make(*, full_text: bool = False) -> Pipeline:
        outlet = OutletConfig("Alpha", None, (), (server.url(FEED),))
        fetch = dataclasses.replace(FETCH, full_text=full_text)
        pipeline = Pipeline(
            store, Settings(fetch=fetch), [outlet], clock=clock, rng=random.Random(7)
        )
        made.append(pipeline)
        pipeline.prepare()
        return pipeline

    yield make
    for pipeline in made:
        pipeline.close()


def fetch(pipeline: Pipeline, clock: Clock, server: LoopbackServer, *items: Item) -> int:
    """Serve ``items`` as the feed, an hour later fetch it; returns the new article count."""
    server.route(FEED, serve(*items))
    clock.advance(timedelta(hours=1))
    report = cycle(pipeline, clock, everything=True)
    assert [f.outcome for f in report.feeds] == ["ok"], report.feeds
    return report.new_articles


def titles(store: Store) -> list[str]:
    return sorted(a.title for a in articles(store))


def link(n: int, query: str = "") -> str:
    return f"https://news.example/2025/story-{n}{query}"


# --- missing guids: the canonical link -----------------------------------------------------


def test_without_guids_the_canonical_link_is_the_identity_across_refetches(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    pipeline = build()
    trackers = ["?utm_source=rss", "?utm_source=rss&fbclid=IwAR1", "?gclid=x&utm_medium=feed", ""]
    for n, query in enumerate(trackers):
        items = [Item(None, f"Story {k}", story(k), link=link(k, query)) for k in range(5)]
        items.append(Item(None, "No link either", story(99)))  # the title and text decide
        new = fetch(pipeline, clock, server, *reversed(items) if n % 2 else items)
        assert new == (6 if n == 0 else 0)
    assert len(articles(store)) == 6
    assert {a.canonical_url for a in articles(store)} == {link(k) for k in range(5)} | {None}


def test_without_guids_an_edited_text_at_the_same_link_stays_one_article(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    pipeline = build()
    assert fetch(pipeline, clock, server, Item(None, "Story", story(1), link=link(1))) == 1
    edited = Item(None, "Story (updated)", story(1) + " An update.", link=link(1, "?utm_x=1"))
    assert fetch(pipeline, clock, server, edited) == 0
    assert titles(store) == ["Story"]


# --- duplicate guids: one guid on several different items ----------------------------------


def test_different_items_sharing_one_guid_are_each_stored_once(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    pipeline = build()
    items = [Item("story", f"Story {n}", story(n), link=link(n)) for n in range(4)]
    assert fetch(pipeline, clock, server, *items) == 4
    assert titles(store) == [f"Story {n}" for n in range(4)]
    # Refetched as is, reordered, and with a fifth item under the same guid on top.
    assert fetch(pipeline, clock, server, *items) == 0
    assert fetch(pipeline, clock, server, *reversed(items)) == 0
    fifth = Item("story", "Story 4", story(4), link=link(4))
    assert fetch(pipeline, clock, server, fifth, *items[:3]) == 1
    assert fetch(pipeline, clock, server, fifth, *items) == 0
    assert titles(store) == [f"Story {n}" for n in range(5)]


def test_items_sharing_both_guid_and_link_are_told_apart_by_their_text(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    """A broken feed whose every item has the channel link as guid and as link."""
    pipeline = build()
    home = "https://news.example/"
    items = [Item(home, f"Bulletin {n}", story(n), link=home) for n in range(3)]
    assert fetch(pipeline, clock, server, *items) == 3
    newer = Item(home, "Bulletin 3", story(3), link=home)
    assert fetch(pipeline, clock, server, newer, *items[:2]) == 1
    assert fetch(pipeline, clock, server, newer, *items[:2]) == 0
    assert fetch(pipeline, clock, server, newer) == 0  # alone, the guid is still taken
    assert titles(store) == [f"Bulletin {n}" for n in range(4)]


def test_a_guid_reused_for_a_later_article_stores_the_later_article(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    """Guids that are positions ("1" is always the newest item) or recycled numbers."""
    pipeline = build()
    window = [
        Item(str(pos + 1), f"Story {n}", story(n), link=link(n)) for pos, n in enumerate((3, 2, 1))
    ]
    assert fetch(pipeline, clock, server, *window) == 3
    for newest in (4, 5, 6):
        shown = range(newest, newest - 3, -1)
        window = [
            Item(str(p + 1), f"Story {n}", story(n), link=link(n)) for p, n in enumerate(shown)
        ]
        assert fetch(pipeline, clock, server, *window) == 1
        assert fetch(pipeline, clock, server, *window) == 0
    assert titles(store) == [f"Story {n}" for n in range(1, 7)]
    # Without links, titles tell the stories apart.
    notes = [Item("x", f"Note {n}", story(10 + n)) for n in range(2)]
    assert fetch(pipeline, clock, server, notes[0]) == 1
    assert fetch(pipeline, clock, server, notes[1]) == 1
    assert fetch(pipeline, clock, server, *notes) == 0


def test_an_edited_item_keeps_its_guid_and_stays_one_article(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    pipeline = build()
    first = [Item("a", "Story A", story(1), link=link(1)), Item("b", "Story B", story(2))]
    assert fetch(pipeline, clock, server, *first) == 2
    edited = [
        Item("a", "Story A, updated", story(1) + " Update: more.", link=link(1)),  # same link
        Item("b", "Story B", story(2) + " Correction."),  # no link: same title
        Item("c", "Story C", story(3), link=link(3, "/amp")),
    ]
    assert fetch(pipeline, clock, server, *edited) == 1
    moved = Item("c", "Story C", story(3), link=link(3))  # same guid and text, new link
    assert fetch(pipeline, clock, server, moved) == 0
    assert titles(store) == ["Story A", "Story B", "Story C"]


# --- rotating guids: a new guid on every fetch ---------------------------------------------


def test_a_new_guid_on_every_fetch_does_not_store_the_item_again(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    pipeline = build()

    def items() -> list[Item]:
        linked = [Item(uuid.uuid4().hex, f"Story {n}", story(n), link=link(n)) for n in range(3)]
        return [*linked, Item(uuid.uuid4().hex, "Unlinked", story(7))]

    assert fetch(pipeline, clock, server, *items()) == 4
    for _ in range(3):
        assert fetch(pipeline, clock, server, *items()) == 0
    assert titles(store) == ["Story 0", "Story 1", "Story 2", "Unlinked"]
    fresh = Item(uuid.uuid4().hex, "Story 3", story(3), link=link(3))
    assert fetch(pipeline, clock, server, fresh, *items()) == 1
    assert len(articles(store)) == 5


def test_a_rotating_guid_with_a_shared_link_keeps_every_different_text(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    """A one-item "latest bulletin" feed: the link is the home page and the guid changes."""
    pipeline = build()
    home = "https://news.example/"
    for n in range(3):
        bulletin = Item(uuid.uuid4().hex, f"Bulletin {n}", story(n), link=home)
        assert fetch(pipeline, clock, server, bulletin) == 1
        again = dataclasses.replace(bulletin, guid=uuid.uuid4().hex)
        assert fetch(pipeline, clock, server, again) == 0
    assert titles(store) == ["Bulletin 0", "Bulletin 1", "Bulletin 2"]


def test_a_text_repeated_word_for_word_long_after_is_a_new_article(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    pipeline = build()
    notice = Item("n-1", "Office closed", "The office is closed today for the holiday.")
    assert fetch(pipeline, clock, server, notice) == 1
    assert fetch(pipeline, clock, server, dataclasses.replace(notice, guid="n-2")) == 0
    clock.advance(timedelta(days=REPEAT_WINDOW_DAYS + 1))
    assert fetch(pipeline, clock, server, dataclasses.replace(notice, guid="n-3")) == 1
    assert len(articles(store)) == 2


def test_a_rotating_guid_on_a_summary_item_fetches_its_page_once(
    build: Build, server: LoopbackServer, store: Store, clock: Clock
) -> None:
    """Identity is decided on the feed's text, never on the page text stored in its place."""
    pipeline = build(full_text=True)
    server.route("/news/1", respond(200, article_page(1), HTML_TYPE))
    url = server.url("/news/1?utm_source=rss")
    for _ in range(3):
        summary = Item(uuid.uuid4().hex, "Story 1", summary_of(1), link=url)
        fetch(pipeline, clock, server, summary)
    assert page_requests(server) == ["/news/1"]
    ((text, summary_text),) = stored_bodies(store).values()
    assert text.endswith(page_paragraphs(1)[-1])
    assert summary_text == summary_of(1)


# --- the pure rule ---------------------------------------------------------------------------


def _article(guid: str | None, title: str, text: str, url: str | None = None) -> Article:
    return Article(
        outlet="Alpha",
        feed_url="https://news.example/feed",
        identity_key="",
        guid=guid,
        url=url,
        canonical_url=url,
        title=title,
        text=text,
        summary=text,
        content_html=None,
        author=None,
        published_at=None,
        first_seen_at=START,
    )


def test_item_keys_trust_a_guid_or_link_only_when_no_other_text_shares_it() -> None:
    keys = item_keys(
        [
            _article("g", "One", "first", "https://x.example/1"),
            _article("g", "Two", "second", "https://x.example/2"),
            _article("h", "Three", "third", "https://x.example/home"),
            _article("i", "Four", "fourth", "https://x.example/home"),
            _article("g", "One", "first", "https://x.example/1?utm_source=a"),  # listed twice
            _article(None, "Five", "fifth"),
        ]
    )
    assert [k.key for k in keys] == [
        "url:https://x.example/1",
        "url:https://x.example/2",
        "guid:h",
        "guid:i",
        "url:https://x.example/1",
        "hash:" + content_hash("Five", "fifth"),
    ]
    assert [k.link for k in keys][2:4] == [None, None]  # the shared home page is no identity
    assert all(k.guid == "guid:g" for k in (keys[0], keys[1], keys[4]))


def _stored(url: str | None, title: str, text: str, seen: datetime = START) -> StoredItem:
    return stored_item(1, url, title, content_hash(title, text), seen)


def _item(guid: str | None, title: str, text: str, link: str | None = None) -> ItemKeys:
    (keys,) = item_keys([_article(guid, title, text, link)])
    return keys


@pytest.mark.parametrize(
    ("holder", "item", "known"),
    [
        # same guid, same link, edited text: one article
        (
            _stored("https://x.example/1", "A", "a"),
            _item("g", "A2", "a2", "https://x.example/1"),
            True,
        ),
        # same guid, same text, moved link: one article
        (
            _stored("https://x.example/1", "A", "a"),
            _item("g", "A", "a", "https://x.example/9"),
            True,
        ),
        # same guid, another link and text: the guid was reused
        (
            _stored("https://x.example/1", "A", "a"),
            _item("g", "B", "b", "https://x.example/2"),
            False,
        ),
        # no links: the title decides
        (_stored(None, "A", "a"), _item("g", "A", "a, edited"), True),
        (_stored(None, "A", "a"), _item("g", "B", "b"), False),
    ],
)
def test_a_stored_guid_counts_only_when_the_stored_article_agrees(
    holder: StoredItem, item: ItemKeys, known: bool
) -> None:
    match = match_by_keys(item, {"guid:g"}, {"guid:g": holder})
    assert match.known is known
    if not known:
        assert match.key == item.fallback


def test_match_by_content_needs_the_same_link_or_a_recent_sighting() -> None:
    now = START
    since = now - timedelta(days=REPEAT_WINDOW_DAYS)
    linked = _item("new", "A", "a", "https://x.example/1")
    unlinked = _item("new", "A", "a")
    same_link = _stored("https://x.example/1", "A", "a", now - timedelta(days=400))
    other_link = _stored("https://x.example/2", "A", "a")
    old_unlinked = _stored(None, "A", "a", since - timedelta(seconds=1))
    assert match_by_content(linked, [same_link], since) is same_link  # any age
    assert match_by_content(linked, [other_link], since) is None
    assert match_by_content(unlinked, [other_link], since) is other_link
    assert match_by_content(unlinked, [old_unlinked], since) is None
    assert match_by_content(linked, [_stored(None, "A", "b")], since) is None


def test_keys_never_depend_on_the_order_of_items() -> None:
    docs = [
        _article("g", "One", "first", "https://x.example/1"),
        _article("g", "Two", "second", "https://x.example/1"),
        _article("h", "Three", "third", None),
        _article(None, "Four", "fourth", "https://x.example/4"),
    ]
    expected = {k.content: k.key for k in item_keys(docs)}
    for order in itertools.permutations(docs):
        assert {k.content: k.key for k in item_keys(list(order))} == expected
