"""Feed discovery (``aggregator outlets add URL``) against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Sequence

import httpx
import pytest

from aggregator.discover import (
    Discovery,
    NoFeedFound,
    discover,
    discover_feeds,
    find_feed_links,
    normalize_site_url,
    page_site_title,
)
from aggregator.errors import BlockedDestination, FetchError
from aggregator.fetch import Fetcher, GuardedTransport
from aggregator.netguard import IPAddress
from aggregator.outletsfile import site_name
from aggregator.settings import FetchSettings
from tests.loopback import LoopbackServer, redirect, respond

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS_TYPE = {"Content-Type": "application/rss+xml"}
ATOM_TYPE = {"Content-Type": "application/atom+xml"}
JSON_TYPE = {"Content-Type": "application/feed+json"}


def settings(**overrides: object) -> FetchSettings:
    base = {
        "allow_private_networks": True,
        "user_agent": "aggregator-test/1.0",
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 3.0,
        "page_total_timeout": 3.0,
    }
    base.update(overrides)
    return FetchSettings(**base)  # type: ignore[arg-type]


def rss(title: str, link: str = "https://example.org/") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link><description>d</description>"
        "<item><title>One</title><link>https://example.org/1</link><guid>1</guid></item>"
        "</channel></rss>"
    ).encode()


def atom(title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:example:feed</id><updated>2024-05-01T12:00:00Z</updated>"
        "<entry><title>One</title><id>urn:example:1</id><updated>2024-05-01T12:00:00Z</updated>"
        '<link href="https://example.org/1"/></entry></feed>'
    ).encode()


def json_feed(title: str) -> bytes:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": []}
    return json.dumps(document).encode()


def page(head: str, body: str = "<p>Hello</p>") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def run(url: str, **overrides: object) -> Discovery:
    return discover_feeds(url, settings(**overrides))


# --- <link rel="alternate"> ----------------------------------------------------------------


def test_a_homepage_advertising_feeds_gives_them_with_title_and_format(
    server: LoopbackServer,
) -> None:
    server.route(
        "/",
        respond(
            200,
            page(
                "<title>Example Times - Home</title>"
                '<link rel="alternate" type="application/rss+xml" title="Top stories" '
                'href="/feeds/top.xml">'
                '<link rel="alternate" type="application/atom+xml" href="world.atom">'
                '<link rel="alternate" type="application/feed+json" href="/feed.json">'
                '<link rel="stylesheet" type="text/css" href="/style.css">'
                '<link rel="alternate" hreflang="fr" href="/fr/">'
            ),
            HTML,
        ),
    )
    server.route("/feeds/top.xml", respond(200, rss("Example Times: top stories"), RSS_TYPE))
    server.route("/world.atom", respond(200, atom("Example Times: world"), ATOM_TYPE))
    server.route("/feed.json", respond(200, json_feed("Example Times JSON"), JSON_TYPE))

    found = run(server.url("/"))

    assert found.site_title == "Example Times"
    assert found.homepage == server.url("/")
    assert [(f.url, f.format, f.source) for f in found.feeds] == [
        (server.url("/feeds/top.xml"), "rss20", "link"),
        (server.url("/world.atom"), "atom10", "link"),
        (server.url("/feed.json"), "json11", "link"),
    ]
    assert found.feeds[0].title == "Example Times: top stories"
    assert found.feeds[0].advertised_title == "Top stories"
    # no fallback was tried: the page said where its feeds are
    assert sorted(r.path for r in server.requests) == [
        "/",
        "/feed.json",
        "/feeds/top.xml",
        "/world.atom",
    ]


def test_relative_links_resolve_against_the_page_and_its_base(server: LoopbackServer) -> None:
    server.route(
        "/news/index.html",
        respond(
            200,
            page(
                '<base href="/static/v2/">'
                '<link rel="alternate" type="application/rss+xml" href="feeds/main.xml">'
                '<link rel="alternate" type="application/rss+xml" href="../../other.xml">'
            ),
            HTML,
        ),
    )
    server.route("/static/v2/feeds/main.xml", respond(200, rss("Main"), RSS_TYPE))
    server.route("/other.xml", respond(200, rss("Other"), RSS_TYPE))
    found = run(server.url("/news/index.html"))
    assert [f.url for f in found.feeds] == [
        server.url("/static/v2/feeds/main.xml"),
        server.url("/other.xml"),
    ]


def test_without_base_relative_links_resolve_against_the_page_url(
    server: LoopbackServer,
) -> None:
    server.route(
        "/section/",
        respond(
            200, page('<link rel="alternate" type="application/rss+xml" href="rss.xml">'), HTML
        ),
    )
    server.route("/section/rss.xml", respond(200, rss("Section"), RSS_TYPE))
    assert [f.url for f in run(server.url("/section/")).feeds] == [server.url("/section/rss.xml")]


def test_an_advertised_link_that_is_not_a_feed_is_dropped(server: LoopbackServer) -> None:
    server.route(
        "/",
        respond(
            200,
            page(
                '<link rel="alternate" type="application/rss+xml" href="/gone.xml">'
                '<link rel="alternate" type="application/rss+xml" href="/soft404.xml">'
                '<link rel="alternate" type="application/rss+xml" href="/real.xml">'
            ),
            HTML,
        ),
    )
    server.route("/soft404.xml", respond(200, page("<title>Not found</title>"), HTML))
    server.route("/real.xml", respond(200, rss("Real"), RSS_TYPE))
    found = run(server.url("/"))
    assert [f.url for f in found.feeds] == [server.url("/real.xml")]
    reasons = dict(found.rejected)
    assert "http_4xx" in reasons[server.url("/gone.xml")]
    assert reasons[server.url("/soft404.xml")] == "not a feed"


def test_a_comments_feed_is_found_but_not_primary(server: LoopbackServer) -> None:
    server.route(
        "/",
        respond(
            200,
            page(
                '<link rel="alternate" type="application/rss+xml" title="Blog » Feed" '
                'href="/feed/">'
                '<link rel="alternate" type="application/rss+xml" title="Blog » Comments Feed" '
                'href="/comments/feed/">'
            ),
            HTML,
        ),
    )
    server.route("/feed/", respond(200, rss("Blog"), RSS_TYPE))
    server.route("/comments/feed/", respond(200, rss("Comments on: Blog"), RSS_TYPE))
    found = run(server.url("/"))
    assert len(found.feeds) == 2
    assert [f.url for f in found.primary] == [server.url("/feed/")]


# --- fallbacks -----------------------------------------------------------------------------


def test_without_links_the_usual_paths_are_tried_and_verified(server: LoopbackServer) -> None:
    server.route("/", respond(200, page("<title>Quiet Site</title>"), HTML))
    # a soft 404 at /feed (an HTML page with 200) must not count as a feed
    server.route("/feed", respond(200, page("<title>Page not found</title>"), HTML))
    server.route("/rss", redirect("/atom.xml", 301))
    server.route("/atom.xml", respond(200, atom("Quiet Site"), ATOM_TYPE))
    server.route("/index.xml", respond(200, rss("Quiet Site RSS"), RSS_TYPE))

    found = run(server.url("/"))

    assert found.site_title == "Quiet Site"
    # /rss redirects to /atom.xml: one feed, found once
    assert [(f.url, f.source) for f in found.feeds] == [
        (server.url("/atom.xml"), "fallback"),
        (server.url("/index.xml"), "fallback"),
    ]
    tried = {r.path for r in server.requests}
    assert {"/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml"} <= tried


def test_fallbacks_under_the_pages_own_folder_come_first(server: LoopbackServer) -> None:
    server.route("/blog/", respond(200, page("<title>A blog</title>"), HTML))
    server.route("/blog/feed", respond(200, rss("Blog feed"), RSS_TYPE))
    server.route("/feed", respond(200, rss("Site feed"), RSS_TYPE))
    found = run(server.url("/blog/"))
    assert [f.url for f in found.feeds] == [server.url("/blog/feed"), server.url("/feed")]


def test_a_broken_advertised_link_falls_back_to_the_usual_paths(server: LoopbackServer) -> None:
    server.route(
        "/",
        respond(
            200, page('<link rel="alternate" type="application/rss+xml" href="/old.rss">'), HTML
        ),
    )
    server.route("/feed.xml", respond(200, rss("New"), RSS_TYPE))
    found = run(server.url("/"))
    assert [(f.url, f.source) for f in found.feeds] == [(server.url("/feed.xml"), "fallback")]
    assert server.url("/old.rss") in dict(found.rejected)


def test_a_page_with_no_feed_is_a_clear_error(server: LoopbackServer) -> None:
    server.route("/", respond(200, page("<title>No feeds here</title>"), HTML))
    with pytest.raises(NoFeedFound) as caught:
        run(server.url("/"))
    message = str(caught.value)
    assert message.startswith(server.url("/") + ": no feed found")
    assert "advertises no feed" in message
    assert "/feed" in message and "/rss" in message


def test_an_unreachable_homepage_is_a_fetch_error_naming_it(server: LoopbackServer) -> None:
    server.route("/", respond(500, b"oops"))
    with pytest.raises(FetchError) as caught:
        run(server.url("/"))
    assert caught.value.kind.value == "http_5xx"
    assert server.url("/") in str(caught.value)


# --- the URL is a feed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "fmt"),
    [
        (rss("Direct News - World", "https://direct.example/"), RSS_TYPE, "rss20"),
        (atom("Direct News - World"), ATOM_TYPE, "atom10"),
        (json_feed("Direct News - World"), JSON_TYPE, "json11"),
    ],
    ids=["rss", "atom", "json"],
)
def test_a_feed_url_given_directly_is_returned(
    server: LoopbackServer, body: bytes, headers: dict[str, str], fmt: str
) -> None:
    server.route("/direct", respond(200, body, headers))
    found = run(server.url("/direct"))
    assert [(f.url, f.format, f.source) for f in found.feeds] == [
        (server.url("/direct"), fmt, "direct")
    ]
    assert found.site_title == "Direct News"
    if fmt == "rss20":
        assert found.homepage == "https://direct.example/"
    assert len(server.requests) == 1  # nothing else was fetched


# --- the SSRF guard ------------------------------------------------------------------------


def test_a_homepage_on_a_private_address_is_refused_without_a_request(
    server: LoopbackServer,
) -> None:
    server.route("/", respond(200, page("<title>x</title>"), HTML))
    with pytest.raises(BlockedDestination) as caught:
        run(server.url("/"), allow_private_networks=False)
    assert "127.0.0.1" in str(caught.value)
    assert "loopback" in str(caught.value)
    assert server.requests == []


def _resolver(address: str) -> object:
    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address(address)]

    return resolve


def test_a_host_name_resolving_to_a_private_address_is_refused_at_connect_time(
    server: LoopbackServer,
) -> None:
    server.route("/", respond(200, page("<title>x</title>"), HTML))
    url = f"http://news.test:{server.port}/"

    async def attempt(allow: bool) -> Discovery:
        transport = GuardedTransport(allow_private=allow, resolver=_resolver("127.0.0.1"))  # type: ignore[arg-type]
        fetch_settings = settings(allow_private_networks=allow)
        async with Fetcher(fetch_settings, transport=transport) as fetcher:
            return await discover(url, fetch_settings, fetcher=fetcher)

    with pytest.raises(BlockedDestination) as caught:
        asyncio.run(attempt(False))
    assert "news.test" in str(caught.value)
    assert server.requests == []
    # the same page is fine when private networks are allowed (tests, demos)
    server.route("/feed", respond(200, rss("Test"), RSS_TYPE))
    found = asyncio.run(attempt(True))
    assert [f.url for f in found.feeds] == [f"http://news.test:{server.port}/feed"]


def test_an_advertised_feed_on_a_private_address_is_refused() -> None:
    requested: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        if request.url.path == "/":
            link = '<link rel="alternate" type="application/rss+xml" href="http://10.0.0.5/f.xml">'
            return httpx.Response(200, stream=httpx.ByteStream(page(link)), headers=HTML)
        return httpx.Response(404)

    async def attempt() -> Discovery:
        fetch_settings = settings(allow_private_networks=False)
        transport = httpx.MockTransport(answer)
        async with Fetcher(fetch_settings, transport=transport) as fetcher:
            return await discover("http://news.example/", fetch_settings, fetcher=fetcher)

    with pytest.raises(NoFeedFound) as caught:
        asyncio.run(attempt())
    assert "10.0.0.5" in str(caught.value)
    assert "private" in str(caught.value)
    assert not any("10.0.0.5" in url for url in requested)


# --- the HTML scan -------------------------------------------------------------------------


def test_find_feed_links_reads_only_feed_alternates_once_each() -> None:
    body = page(
        '<LINK REL="Alternate feed" TYPE="Application/RSS+XML; charset=utf-8" HREF="/a.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/a.xml#dup">'
        '<link rel="alternate" type="application/atom+xml" href="javascript:alert(1)">'
        '<link rel="alternate" type="application/json" href="//cdn.example/feed.json" title=J>'
        '<link rel="alternate" type="text/html" href="/mobile">'
        '<link rel="alternate" type="application/rss+xml">'
    )
    links = find_feed_links(body, {}, "https://example.org/x/y")
    assert links == [
        ("https://example.org/a.xml", None),
        ("https://cdn.example/feed.json", "J"),
    ]


def test_the_page_charset_is_honoured_for_the_site_name(server: LoopbackServer) -> None:
    head = '<meta charset="windows-1251"><title>Новости дня</title>'
    server.route(
        "/", respond(200, page(head).decode().encode("cp1251"), {"Content-Type": "text/html"})
    )
    assert page_site_title(server.url("/"), settings()) == "Новости дня"


def test_og_site_name_wins_over_the_title(server: LoopbackServer) -> None:
    head = (
        "<title>Breaking stories all day long - EN</title>"
        '<meta property="og:site_name" content="The Daily Example">'
    )
    server.route("/", respond(200, page(head), HTML))
    server.route("/rss.xml", respond(200, rss("x"), RSS_TYPE))
    assert run(server.url("/")).site_title == "The Daily Example"


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("example.com", "https://example.com"),
        ("  http://example.com/news ", "http://example.com/news"),
        ("https://example.com", "https://example.com"),
    ],
)
def test_a_url_without_scheme_gets_https(typed: str, url: str) -> None:
    assert normalize_site_url(typed) == url


@pytest.mark.parametrize(
    ("titles", "name"),
    [
        (["BBC News - Home"], "BBC News"),
        (["Latest news, sport and opinion from the Guardian | The Guardian"], "The Guardian"),
        (["Home | Example"], "Example"),
        (["NYT > World News"], "NYT"),
        (["World news | The Guardian", "Politics | The Guardian"], "The Guardian"),
        (["BBC News - World", "BBC News - UK"], "BBC News"),
        (["Politico"], "Politico"),
        ([None, "  "], None),
    ],
)
def test_site_name_picks_the_name_out_of_titles(titles: list[str | None], name: str | None) -> None:
    assert site_name(*titles) == name
