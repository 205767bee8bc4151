"""The feed renderers, tested by parsing their output back (feedparser, lxml, json)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.outputs.feed import (
    Channel,
    cluster_guid,
    describe_cluster,
    render_atom,
    render_json,
    render_rss,
)
from aggregator.outputs.story import lag_text
from aggregator.types import ClusterView
from tests.viewfactory import (
    all_clusters,
    hostile_cluster,
    politico_cluster,
    singleton_cluster,
    without_members,
)

CHANNEL = Channel(
    title="aggregator: all stories",
    link="https://news.example/",
    self_url="https://news.example/feed.xml",
    description="One item per story, across outlets.",
)
Renderer = Callable[[Sequence[ClusterView], Channel], bytes]
XML_RENDERERS = [pytest.param(render_rss, id="rss"), pytest.param(render_atom, id="atom")]
ALL_RENDERERS = [*XML_RENDERERS, pytest.param(render_json, id="json")]
#: What describe_cluster may produce: these tags, and only http(s) hrefs on links.
ALLOWED_TAGS = {"p", "strong", "ul", "li", "a"}


class _TagCollector(HTMLParser):
    """Collects every start tag with its attributes, as a browser's tokenizer would see it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def html_tags(fragment: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    collector = _TagCollector()
    collector.feed(fragment)
    collector.close()
    return collector.tags


def assert_inert_html(fragment: str) -> None:
    """Only the allowed tags, no event handlers, only http(s) links."""
    for tag, attrs in html_tags(fragment):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name == "href" and tag == "a", (tag, name)
            assert value is not None and re.match(r"https?://", value), value


def parse(body: bytes) -> Any:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


# --- RSS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_rss_has_one_item_per_cluster_in_the_given_order(reverse: bool) -> None:
    clusters = [politico_cluster(), singleton_cluster()]
    if reverse:
        clusters.reverse()
    parsed = parse(render_rss(clusters, CHANNEL))
    assert parsed.version == "rss20"
    assert [e.id for e in parsed.entries] == [cluster_guid(c.id) for c in clusters]
    assert [e.title for e in parsed.entries] == [c.title for c in clusters]


def test_rss_guid_is_a_non_permalink_ending_in_the_cluster_id() -> None:
    body = render_rss([politico_cluster()], CHANNEL)
    assert b'<guid isPermaLink="false">aggregator:cluster:17</guid>' in body
    entry = parse(body).entries[0]
    assert entry.id.endswith(":17")
    assert entry.guidislink is False


def test_rss_item_links_to_the_first_reporter_and_names_it_as_source() -> None:
    entry = parse(render_rss([politico_cluster()], CHANNEL)).entries[0]
    assert entry.link == "https://politico.example/a/101"
    assert entry.source == {"href": "https://politico.example/a/101", "title": "Politico"}
    assert entry.published == "Wed, 01 May 2024 12:00:00 +0000"


def test_rss_description_lists_every_outlet_with_time_and_relation() -> None:
    description = parse(render_rss([politico_cluster()], CHANNEL)).entries[0].description
    assert "12:00 UTC" in description and "Politico</a>: original" in description
    assert "12:40 UTC" in description and "MSN</a>: copy" in description
    assert "13:35 UTC" in description and "rewrite crediting Politico" in description
    assert_inert_html(description)


def test_description_names_the_first_reporter_and_every_credit_with_its_lag() -> None:
    description = describe_cluster(politico_cluster())
    assert "First reported by <strong>Politico</strong>" in description
    assert "(by its published time, confidence 90%)" in description
    assert "2024-05-01 12:40 UTC (+40m)" in description
    assert (
        "2024-05-01 13:35 UTC (+1h35m) — "
        '<a href="https://azernews.example/a/103">AzerNEWS</a>: '
        "rewrite crediting Politico; credits Politico, CBS News"
    ) in description
    # The original has no lag and credits nobody.
    assert "12:00 UTC — <a" in description
    assert_inert_html(description)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "+0m"),
        (timedelta(seconds=59), "+0m"),
        (timedelta(seconds=-59), "+0m"),
        (timedelta(minutes=40), "+40m"),
        (timedelta(hours=6, minutes=8), "+6h08m"),
        (timedelta(hours=23, minutes=59), "+23h59m"),
        (timedelta(days=2, hours=3, minutes=5), "+2d03h"),
        (timedelta(minutes=-65), "\u22121h05m"),
    ],
)
def test_lag_text_is_compact(delta: timedelta, text: str) -> None:
    assert lag_text(delta) == text


def test_rss_channel_fields_come_from_the_channel() -> None:
    parsed = parse(render_rss(all_clusters(), CHANNEL))
    assert parsed.feed.title == CHANNEL.title
    assert parsed.feed.link == CHANNEL.link
    assert parsed.feed.subtitle == CHANNEL.description
    assert any(
        link.get("rel") == "self" and link.href == CHANNEL.self_url for link in parsed.feed.links
    )


# --- Atom ------------------------------------------------------------------------------------


def test_atom_has_one_entry_per_cluster_with_source_and_dates() -> None:
    clusters = all_clusters()
    parsed = parse(render_atom(clusters, CHANNEL))
    assert parsed.version == "atom10"
    assert [e.id for e in parsed.entries] == [cluster_guid(c.id) for c in clusters]
    politico = next(e for e in parsed.entries if e.id == cluster_guid(17))
    assert politico.link == "https://politico.example/a/101"
    assert politico.source.title == "Politico"
    assert politico.source.link == "https://politico.example/a/101"
    assert politico.published == "2024-05-01T12:00:00+00:00"
    assert politico.updated == "2024-05-01T13:38:00+00:00"
    assert politico.author == "Politico"


def test_atom_content_is_the_html_description() -> None:
    entry = parse(render_atom([politico_cluster()], CHANNEL)).entries[0]
    assert entry.content[0].type == "text/html"
    assert "rewrite crediting Politico" in entry.content[0].value
    assert_inert_html(entry.content[0].value)


# --- JSON Feed -------------------------------------------------------------------------------


def test_json_feed_is_version_1_1_with_one_item_per_cluster() -> None:
    clusters = all_clusters()
    document = json.loads(render_json(clusters, CHANNEL))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == CHANNEL.title
    assert document["home_page_url"] == CHANNEL.link
    assert document["feed_url"] == CHANNEL.self_url
    assert [i["id"] for i in document["items"]] == [cluster_guid(c.id) for c in clusters]


def test_json_feed_item_fields() -> None:
    item = json.loads(render_json([politico_cluster()], CHANNEL))["items"][0]
    assert item["url"] == "https://politico.example/a/101"
    assert item["title"] == "Senate passes sweeping chip subsidy bill"
    assert item["date_published"] == "2024-05-01T12:00:00Z"
    assert item["date_modified"] == "2024-05-01T13:38:00Z"
    assert item["authors"] == [{"name": "Politico"}]
    assert "rewrite crediting Politico" in item["content_html"]
    assert item["_aggregator"]["id"] == 17
    assert item["_aggregator"]["first_reporter"]["outlet"] == "Politico"
    assert "members" not in item["_aggregator"]


# --- all formats -----------------------------------------------------------------------------


@pytest.mark.parametrize("render", ALL_RENDERERS)
def test_empty_feed_is_valid_and_has_no_items(render: Renderer) -> None:
    body = render([], CHANNEL)
    if render is render_json:
        assert json.loads(body)["items"] == []
    else:
        assert parse(body).entries == []


@pytest.mark.parametrize("render", ALL_RENDERERS)
def test_rendering_is_deterministic(render: Renderer) -> None:
    assert render(all_clusters(), CHANNEL) == render(all_clusters(), CHANNEL)


def test_item_without_a_usable_url_links_to_the_channel() -> None:
    cluster = politico_cluster()
    no_url = replace(cluster, first_reporter=replace(cluster.first_reporter, url=None))
    assert parse(render_rss([no_url], CHANNEL)).entries[0].link == CHANNEL.link
    assert json.loads(render_json([no_url], CHANNEL))["items"][0]["url"] == CHANNEL.link


def test_credited_source_is_named_in_the_description() -> None:
    description = describe_cluster(singleton_cluster())
    assert "Credited source: <strong>Yonhap</strong>" in description
    assert "1 article from 1 outlet" in description


def test_description_without_members_still_names_the_outlets() -> None:
    description = describe_cluster(without_members(politico_cluster()))
    assert "Politico, MSN, AzerNEWS" in description
    assert_inert_html(description)


def test_description_lists_members_oldest_first() -> None:
    cluster = politico_cluster()
    shuffled = replace(cluster, members=tuple(reversed(cluster.members)))
    description = describe_cluster(shuffled)
    assert description.index("Politico</a>") < description.index("MSN</a>")
    assert description.index("MSN</a>") < description.index("AzerNEWS</a>")


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize("render", XML_RENDERERS)
def test_hostile_cluster_yields_well_formed_inert_xml(render: Renderer) -> None:
    body = render([hostile_cluster(), politico_cluster()], CHANNEL)
    etree.fromstring(body)  # strict XML parse: raises on any invalid character or markup
    assert re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", body) is None
    assert b"<script" not in body.lower()
    parsed = parse(body)
    assert len(parsed.entries) == 2
    hostile = parsed.entries[0]
    assert hostile.id == cluster_guid(19)
    assert hostile.link == CHANNEL.link  # javascript: never becomes a link
    assert hostile.source.get("href", hostile.source.get("link")) == CHANNEL.link
    description = hostile.get("description") or hostile.content[0].value
    assert_inert_html(description)
    assert "&lt;script&gt;" in description  # kept as visible text, not dropped silently


def test_hostile_cluster_yields_inert_json_feed() -> None:
    body = render_json([hostile_cluster()], CHANNEL)
    assert b"<" not in body and b">" not in body  # escaped as \u003c / \u003e
    item = json.loads(body)["items"][0]
    assert item["url"] == CHANNEL.link
    assert "\x00" not in item["title"] and "\ud800" not in item["title"]
    assert_inert_html(item["content_html"])
    assert "javascript:" not in item["content_html"].lower()
    assert "data:" not in item["content_html"]


def test_hostile_channel_is_cleaned_too() -> None:
    channel = Channel(
        title="Evil\x00<script>",
        link="javascript:alert(1)",
        self_url="https://news.example/feed.xml",
        description="\ud800",
    )
    for render in (render_rss, render_atom):
        body = render([politico_cluster()], channel)
        etree.fromstring(body)
        assert b"javascript:" not in body


printable_or_not = st.text(
    st.characters(exclude_categories=()),  # every code point, surrogates and controls included
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(title=printable_or_not, outlet=printable_or_not, url=printable_or_not)
def test_any_text_renders_to_well_formed_feeds(title: str, outlet: str, url: str) -> None:
    base = politico_cluster()
    member = replace(base.members[0], outlet=outlet, title=title, url=url)
    cluster = replace(
        base,
        title=title,
        outlets=(outlet,),
        first_reporter=replace(base.first_reporter, outlet=outlet, url=url),
        members=(member,),
    )
    etree.fromstring(render_rss([cluster], CHANNEL))
    etree.fromstring(render_atom([cluster], CHANNEL))
    item = json.loads(render_json([cluster], CHANNEL))["items"][0]
    assert item["url"].startswith(("http://", "https://"))
    assert_inert_html(item["content_html"])
