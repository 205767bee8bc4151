"""The web app: feeds, JSON API, HTML pages, health and metrics, over an in-memory reader.

The in-memory ``ClusterReader`` is the unit-level seam; integration tests with the real
store live elsewhere. One test serves the app with a real uvicorn on loopback.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser
import httpx
import prometheus_client
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from aggregator.errors import StoreError
from aggregator.outputs.feed import Channel
from aggregator.outputs.params import MAX_LIMIT
from aggregator.outputs.serialize import cluster_to_dict
from aggregator.outputs.web import create_app
from aggregator.settings import HttpSettings
from aggregator.types import ArticleView, ClusterView, FeedState, FeedStatusView
from tests.loopback import serve_app
from tests.viewfactory import all_clusters, hostile_cluster, politico_cluster, without_members

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its TestClient; the project pins httpx (PRODUCT §4),
    # which the TestClient still supports.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
CHANNEL = Channel(
    title="Newsroom stories",
    link="https://news.example/",
    self_url="https://news.example/feed.xml",
    description="One item per story",
)
SETTINGS = HttpSettings(feed_items=25)


@dataclass
class InMemoryReader:
    """A ClusterReader over a list of clusters; records the listing calls it receives."""

    clusters: list[ClusterView]
    feeds: list[FeedStatusView] = field(default_factory=list)
    healthy: bool = True
    broken: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)

    def list_clusters(
        self,
        *,
        since: datetime | None,
        outlet: str | None,
        min_size: int,
        limit: int | None,
        query: str | None,
        with_members: bool,
    ) -> list[ClusterView]:
        self.calls.append(
            {
                "since": since,
                "outlet": outlet,
                "min_size": min_size,
                "limit": limit,
                "query": query,
                "with_members": with_members,
            }
        )
        if self.broken:
            raise StoreError("database is locked")
        found = [
            c if with_members else without_members(c)
            for c in sorted(self.clusters, key=lambda c: c.last_seen_at, reverse=True)
            if (since is None or c.last_seen_at >= since)
            and (outlet is None or outlet in c.outlets)
            and c.size >= min_size
            and (query is None or query.lower() in c.title.lower())
        ]
        return found[:limit] if limit else found

    def get_cluster(self, cluster_id: int) -> ClusterView | None:
        return next((c for c in self.clusters if c.id == cluster_id), None)

    def get_article(self, article_id: int) -> ArticleView | None:
        members = (m for c in self.clusters for m in c.members)
        return next((m for m in members if m.id == article_id), None)

    def feed_statuses(self) -> list[FeedStatusView]:
        return list(self.feeds)

    def ping(self) -> None:
        if not self.healthy:
            raise ConnectionError("database unreachable")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_of(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def assert_inert_page(page: str) -> None:
    """No script anywhere, no event handlers, no style attributes, links http(s) or local."""
    assert "<script" not in page.lower()
    for tag, attrs in tags_of(page):
        assert tag not in {"script", "iframe", "object", "embed", "img", "foreignobject"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in {"href", "src", "action", "xlink:href"}:
                # A chart's <use> may point at its own shapes ("#tl-copy"); nothing else local.
                local = tag == "use" and value is not None and value.startswith("#tl-")
                assert local or (value is not None and re.match(r"(https?://|/)", value)), (
                    tag,
                    value,
                )


def marks(svg: str) -> list[str]:
    return re.findall(r'class="mark m-(\w+)"', svg)


def credit_arrows(svg: str) -> list[dict[str, str | None]]:
    """The credit arrows of a chart: their data-from / data-to / data-to-outlet and title."""
    found = []
    for group in re.findall(r'<g class="credit[^"]*".*?</g>', svg, re.S):
        attrs = dict(tags_of(group)[0][1])
        (title,) = re.findall(r"<title>([^<]*)</title>", group)
        found.append({**attrs, "title": title})
    return found


def texts(svg: str, css_class: str) -> list[str]:
    """The text of every <text> element with ``css_class`` (its own text, no <title>)."""
    pattern = rf'<text class="{css_class}"[^>]*>(?:<title>[^<]*</title>)?([^<]*)'
    return re.findall(pattern, svg)


def svg_blocks(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<svg class="{css_class}".*?</svg>', page, re.S)


@pytest.fixture
def reader() -> InMemoryReader:
    feeds = [
        FeedStatusView(
            outlet="Politico",
            feed_url="https://rss.politico.example/politics.xml",
            state=FeedState.OK,
            last_fetched_at=NOW,
            last_status=200,
            error_kind=None,
            error_message=None,
            error_count=0,
            next_fetch_at=NOW + timedelta(minutes=30),
            articles=12,
        )
    ]
    return InMemoryReader(clusters=all_clusters(), feeds=feeds)


@pytest.fixture
def registry() -> prometheus_client.CollectorRegistry:
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "aggregator_test_fetches", "Fetches in this test.", registry=registry
    )
    counter.inc(3)
    return registry


@pytest.fixture
def app(reader: InMemoryReader, registry: prometheus_client.CollectorRegistry) -> FastAPI:
    return create_app(
        reader, settings=SETTINGS, channel=CHANNEL, registry=registry, clock=lambda: NOW
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# --- feeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media_type", "version"),
    [
        ("/feed.xml", "application/rss+xml; charset=utf-8", "rss20"),
        ("/feed.atom", "application/atom+xml; charset=utf-8", "atom10"),
    ],
)
def test_xml_feeds_parse_with_one_item_per_cluster(
    client: TestClient, path: str, media_type: str, version: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    assert parsed.version == version
    assert [e.id for e in parsed.entries] == [f"aggregator:cluster:{c.id}" for c in all_clusters()]


def test_json_feed_route(client: TestClient) -> None:
    response = client.get("/feed.json")
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    document = json.loads(response.content)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == "https://news.example/feed.json"
    assert len(document["items"]) == len(all_clusters())


def test_each_feed_names_its_own_url_as_self(client: TestClient) -> None:
    atom = feedparser.parse(client.get("/feed.atom").content)
    assert {"rel": "self", "href": "https://news.example/feed.atom"}.items() <= next(
        link for link in atom.feed.links if link.get("rel") == "self"
    ).items()


def test_feed_asks_for_members_and_the_configured_number_of_items(
    client: TestClient, reader: InMemoryReader
) -> None:
    client.get("/feed.xml")
    assert reader.calls[-1] == {
        "since": None,
        "outlet": None,
        "min_size": 1,
        "limit": SETTINGS.feed_items,
        "query": None,
        "with_members": True,
    }


@pytest.mark.parametrize(("given", "expected"), [("5", 5), ("5000", MAX_LIMIT), ("0", MAX_LIMIT)])
def test_feed_limit_is_capped(
    client: TestClient, reader: InMemoryReader, given: str, expected: int
) -> None:
    assert client.get("/feed.xml", params={"limit": given}).status_code == 200
    assert reader.calls[-1]["limit"] == expected


def test_feed_filters_reach_the_reader_and_filter(
    client: TestClient, reader: InMemoryReader
) -> None:
    response = client.get("/feed.xml", params={"q": " chip ", "outlet": "MSN", "min_size": "2"})
    call = reader.calls[-1]
    assert (call["query"], call["outlet"], call["min_size"]) == ("chip", "MSN", 2)
    entries = feedparser.parse(response.content).entries
    assert [e.id for e in entries] == ["aggregator:cluster:17"]


def test_feed_answers_not_modified_to_a_matching_etag(client: TestClient) -> None:
    first = client.get("/feed.xml")
    etag = first.headers["etag"]
    again = client.get("/feed.xml", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert client.get("/feed.atom", headers={"If-None-Match": etag}).status_code == 200


# --- JSON API --------------------------------------------------------------------------------


def test_api_clusters_defaults_to_the_last_seven_days(
    client: TestClient, reader: InMemoryReader
) -> None:
    response = client.get("/api/clusters")
    assert response.status_code == 200
    assert response.json() == {"clusters": []}  # the fixtures are from 2024-05-01
    call = reader.calls[-1]
    assert call["since"] == NOW - timedelta(days=7)
    assert (call["limit"], call["with_members"]) == (100, False)


def test_api_clusters_lists_serialized_clusters(client: TestClient) -> None:
    body = client.get("/api/clusters", params={"since": "all"}).json()
    expected = [cluster_to_dict(without_members(c)) for c in all_clusters()]
    assert [c["id"] for c in body["clusters"]] == [c["id"] for c in expected]
    assert body["clusters"][:2] == expected[:2]


def test_api_survives_text_utf8_cannot_carry(client: TestClient) -> None:
    # A lone surrogate cannot be encoded; it becomes "?" instead of a 500.
    response = client.get("/api/clusters/19")
    assert response.status_code == 200
    assert response.json()["title"].endswith("\x1b?\uffff")


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T15:00:00+02:00", datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("12h", NOW - timedelta(hours=12)),
        ("all", None),
    ],
)
def test_api_since_forms(
    client: TestClient, reader: InMemoryReader, since: str, expected: datetime | None
) -> None:
    assert client.get("/api/clusters", params={"since": since}).status_code == 200
    assert reader.calls[-1]["since"] == expected


def test_api_clusters_with_members(client: TestClient) -> None:
    body = client.get("/api/clusters", params={"since": "all", "members": "true"}).json()
    assert all("members" in c for c in body["clusters"])


def test_api_cluster_by_id_has_members(client: TestClient) -> None:
    response = client.get("/api/clusters/17")
    assert response.status_code == 200
    assert response.json() == cluster_to_dict(politico_cluster())


def test_api_cluster_members_carry_the_timeline_and_the_credits(client: TestClient) -> None:
    members = client.get("/api/clusters/17").json()["members"]
    timeline = [(m["outlet"], m["relation"], m["at"], m["credits_outlet"]) for m in members]
    assert timeline == [
        ("Politico", "original", "2024-05-01T12:00:00Z", None),
        ("MSN", "copy", "2024-05-01T12:40:00Z", None),
        ("AzerNEWS", "rewrite", "2024-05-01T13:35:00Z", "Politico"),
    ]
    assert members[2]["credits"] == ["Politico", "CBS News"]


def test_api_article_by_id(client: TestClient) -> None:
    body = client.get("/api/articles/103").json()
    assert body["relation"] == "rewrite"
    assert body["credits_outlet"] == "Politico"


@pytest.mark.parametrize(
    ("path", "message"),
    [("/api/clusters/999", "cluster 999"), ("/api/articles/999", "article 999")],
)
def test_api_missing_things_are_json_404(client: TestClient, path: str, message: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "not_found"
    assert message in response.json()["message"]


def test_api_feeds(client: TestClient) -> None:
    feeds = client.get("/api/feeds").json()["feeds"]
    assert feeds[0]["outlet"] == "Politico"
    assert feeds[0]["state"] == "ok"
    assert feeds[0]["next_fetch_at"] == "2024-05-10T12:30:00Z"


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/clusters", {"limit": "-3"}, "limit"),
        ("/api/clusters", {"since": "garbage"}, "since"),
        ("/api/clusters", {"since": "99999999999d"}, "since"),
        ("/api/clusters", {"min_size": "x"}, "min_size"),
        ("/api/clusters", {"min_size": "0"}, "min_size"),
        ("/feed.xml", {"limit": "many"}, "limit"),
        ("/", {"since": "yesterday"}, "since"),
        ("/api/clusters/abc", {}, "cluster_id"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert body["parameter"] == parameter
    assert repr(parameter) in body["message"]


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_store_failure_is_a_503(client: TestClient, reader: InMemoryReader) -> None:
    reader.broken = True
    response = client.get("/api/clusters")
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def test_openapi_documents_the_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in ("/api/clusters", "/api/clusters/{cluster_id}", "/api/articles/{article_id}"):
        operation = paths[path]["get"]
        assert operation["summary"]
        assert "$ref" in json.dumps(operation["responses"]["200"])
        assert "422" not in operation["responses"]
    assert {"ClusterOut", "ArticleOut", "FirstReporterOut", "ErrorOut"} <= set(
        document["components"]["schemas"]
    )
    assert {"/feed.xml", "/feed.atom", "/feed.json", "/healthz", "/"} <= set(paths)


def test_no_script_based_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


# --- health and metrics ----------------------------------------------------------------------


def test_healthz_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthz_503_when_the_database_is_unreachable(
    client: TestClient, reader: InMemoryReader
) -> None:
    reader.healthy = False
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_exposes_the_given_registry(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "aggregator_test_fetches_total 3.0" in response.text


def test_metrics_404_without_a_registry(reader: InMemoryReader) -> None:
    app = create_app(reader, settings=SETTINGS, channel=CHANNEL)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404


# --- security headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/clusters/17", "/feed.xml", "/api/clusters", "/nope", "/healthz", "/metrics"]
)
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "img-src 'self';",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "script-src" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_csp_allows_exactly_the_page_stylesheet(client: TestClient) -> None:
    response = client.get("/")
    styles = re.findall(r"<style>(.*?)</style>", response.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]


# --- HTML pages ------------------------------------------------------------------------------


def test_index_lists_every_cluster_with_a_sparkline_mark_per_member(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    sparks = svg_blocks(page, "spark")
    clusters = all_clusters()
    assert len(sparks) == len(clusters)
    for cluster, svg in zip(clusters, sparks, strict=True):
        assert len(marks(svg)) == len(cluster.members)
        assert f'href="/clusters/{cluster.id}"' in page
    assert "Senate passes sweeping chip subsidy bill" in page
    assert "First reported by <strong>Politico</strong>" in page
    assert_inert_page(page)


def test_index_keeps_the_filters_in_its_form(client: TestClient, reader: InMemoryReader) -> None:
    page = client.get("/", params={"q": "chip", "outlet": "MSN", "min_size": "2"}).text
    assert 'name="q" value="chip"' in page
    assert 'name="outlet" value="MSN"' in page
    assert 'name="min_size" min="1" value="2"' in page
    assert reader.calls[-1]["with_members"] is True
    assert "1 story," in page
    quoted = client.get("/", params={"q": '"><b>'}).text
    assert 'value="&quot;&gt;&lt;b&gt;"' in quoted


def test_index_says_so_when_nothing_matches(client: TestClient) -> None:
    page = client.get("/", params={"q": "no such story"}).text
    assert "No stories match" in page


def test_cluster_page_timeline_marks_original_copy_rewrite_and_credit(
    client: TestClient,
) -> None:
    page = client.get("/clusters/17").text
    (chart,) = svg_blocks(page, "chart")
    assert marks(chart) == ["original", "copy", "rewrite"]
    assert re.findall(r'data-article="(\d+)" data-relation="(\w+)"', chart) == [
        ("101", "original"),
        ("102", "copy"),
        ("103", "rewrite"),
    ]
    arrows = credit_arrows(chart)
    # The rewrite's "via Politico" points at Politico's article; its other credit, CBS News,
    # has no article in the story and points at a dashed row of its own.
    assert arrows[0] == {
        "class": "credit",
        "data-from": "103",
        "data-to": "101",
        "title": "AzerNEWS credits Politico",
    }
    assert arrows[1]["class"] == "credit to-absent"
    assert (arrows[1]["data-from"], arrows[1]["data-to-outlet"]) == ("103", "CBS News")
    assert len(arrows) == 2
    assert texts(chart, "name") == ["Politico", "MSN", "AzerNEWS"]
    assert texts(chart, "name ghost") == ["CBS News"]
    assert_inert_page(page)


def test_cluster_chart_labels_lags_first_report_and_utc_ticks(client: TestClient) -> None:
    (chart,) = svg_blocks(client.get("/clusters/17").text, "chart")
    assert texts(chart, "lag") == ["+40m", "+1h35m"]
    assert "first report · 1 May 12:00 UTC" in chart
    assert texts(chart, "tick") == ["12:00", "12:30", "13:00", "13:30"]
    assert texts(chart, "tick day") == ["1 May"]  # the day, once: it never changes
    assert "(+1h35m after the original)" in chart  # the rewrite's tooltip


def test_cluster_chart_scales_with_the_page_but_not_its_text(client: TestClient) -> None:
    """No viewBox: x positions are percentages, so text keeps its size on a phone."""
    (chart,) = svg_blocks(client.get("/clusters/17").text, "chart")
    assert "viewBox" not in chart.split(">", 1)[0]
    assert 'width="100%"' in chart.split(">", 1)[0]
    for tag, attrs in tags_of(chart):
        for name in ("x", "x1", "x2"):
            value = attrs.get(name)
            if value is not None and tag not in {"rect", "marker"}:
                assert value.endswith("%"), (tag, name, value)


def test_cluster_page_legend_names_only_what_the_chart_shows(
    client: TestClient, reader: InMemoryReader
) -> None:
    page = client.get("/clusters/17").text
    legend = page[page.index('<ul class="legend">') :]
    legend = legend[: legend.index("</ul>")]
    labels = re.findall(r"</svg>([^<]+)</li>", legend)
    assert labels == [
        "original",
        "copy",
        "rewrite",
        "credits",
        "credits an outlet not in this story",
    ]
    assert "times in UTC" in legend
    single = client.get("/clusters/18").text
    legend = single[single.index('<ul class="legend">') :]
    legend = legend[: legend.index("</ul>")]
    assert re.findall(r"</svg>([^<]+)</li>", legend) == [
        "original",
        "credits an outlet not in this story",
    ]


def test_cluster_page_summary_names_first_reporter_basis_and_confidence(
    client: TestClient,
) -> None:
    page = client.get("/clusters/17").text
    summary = page[page.index('<section class="summary"') : page.index("</section>")]
    assert '<a href="https://politico.example/a/101">Politico</a>' in summary
    assert "Decided by its published time · confidence 90%" in summary
    assert 'value="0.90"' in summary  # the confidence meter
    assert "<dd>1h35m</dd>" in summary  # the spread from first to last report
    assert "Credited source" not in summary
    single = client.get("/clusters/18").text
    assert "Credited source: <strong>Yonhap</strong>" in single
    assert "by when we first saw it" in single
    (chart,) = svg_blocks(single, "chart")
    assert texts(chart, "name ghost") == ["Yonhap"]  # the untracked source has a row
    assert credit_arrows(chart)[0]["data-to-outlet"] == "Yonhap"


def test_cluster_page_member_table(client: TestClient) -> None:
    page = client.get("/clusters/17").text
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    assert table.count("<tr>") == 3
    assert (
        '<span class="rel rel-rewrite">rewrite</span> <span class="via">crediting Politico</span>'
        in table
    )
    assert 'href="https://azernews.example/a/103"' in table
    assert "Politico, CBS News" in table
    assert '<span class="lag">+1h35m</span>' in table
    assert "0.41" in table
    # Each cell names its column, so the table can become a stack of cards on a phone.
    assert table.count('data-label="Similarity"') == 3


def test_index_cards_show_who_was_first_and_how_far_behind_the_others_were(
    client: TestClient,
) -> None:
    page = client.get("/").text
    card = page[page.index('<li class="story multi">') :]
    card = card[: card.index("</li></ul>")]
    chips = re.findall(r'<li class="rel-(\w+)"[^>]*>([^<]+)(?:<span class="lag">([^<]+))?', card)
    assert chips == [
        ("original", "Politico", ""),
        ("copy", "MSN", "+40m"),
        ("rewrite", "AzerNEWS", "+1h35m"),
    ]
    assert "2 carried by more than one outlet" in page  # Politico's and the hostile one
    assert '<a class="clear"' not in page
    assert '<a class="clear" href="/">' in client.get("/", params={"q": "chip"}).text


def test_missing_cluster_page_is_an_html_404(client: TestClient) -> None:
    response = client.get("/clusters/999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no story 999." in response.text


def test_hostile_cluster_page_is_inert(client: TestClient) -> None:
    page = client.get("/clusters/19").text
    assert_inert_page(page)
    (chart,) = svg_blocks(page, "chart")
    assert len(marks(chart)) == len(hostile_cluster().members)
    assert "&lt;script&gt;" in page  # shown as text
    assert "javascript:" not in page.lower()
    assert "data:text" not in page
    assert "\x00" not in page and "\ud800" not in page
    # Each credited outlet that is not in the cluster gets a dashed row of its own.
    assert chart.count('class="row-line ghost"') == 2
    assert len(texts(chart, "name ghost")) == 2


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_overrides_in_feed_text_never_reach_a_page(
    client: TestClient, reader: InMemoryReader
) -> None:
    base = politico_cluster()
    spoofed = dataclasses.replace(
        base,
        title="Invoice \u202egnp.exe\u202c and \u2067more\u2069",
        members=tuple(
            dataclasses.replace(m, outlet=f"\u202d{m.outlet}", title=f"\u202e{m.title}")
            for m in base.members
        ),
    )
    reader.clusters = [spoofed]
    for path in ("/", f"/clusters/{spoofed.id}"):
        page = client.get(path).text
        assert not any(ch in page for ch in BIDI_CONTROLS), path
        assert "Invoice gnp.exe and more" in page


def test_hostile_index_is_inert(client: TestClient, reader: InMemoryReader) -> None:
    reader.clusters = [hostile_cluster()]
    assert_inert_page(client.get("/").text)


def test_page_of_a_cluster_without_members(client: TestClient, reader: InMemoryReader) -> None:
    reader.clusters = [without_members(politico_cluster())]
    page = client.get("/clusters/17").text
    assert "No articles are stored" in page
    assert not svg_blocks(page, "chart")


def test_dense_coverage_draws_every_member(client: TestClient, reader: InMemoryReader) -> None:
    base = politico_cluster()
    copies = tuple(
        replace(base.members[1], id=500 + i, outlet=f"Outlet {i}", at=base.members[0].at)
        for i in range(30)
    )
    dense = replace(base, members=(base.members[0], *copies), size=31)
    reader.clusters = [dense]
    index = client.get("/").text
    assert len(marks(svg_blocks(index, "spark")[0])) == 31
    page = client.get("/clusters/17").text
    assert len(marks(svg_blocks(page, "chart")[0])) == 31


# --- a real server ---------------------------------------------------------------------------


def test_real_uvicorn_serves_the_feed_and_the_page(app: FastAPI) -> None:
    with serve_app(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        feed = http.get("/feed.xml")
        page = http.get("/")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert len(feedparser.parse(feed.content).entries) == len(all_clusters())
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<svg" in page.text and "<script" not in page.text
