"""Hostile content end to end: loopback feeds → the real pipeline → the store → the web app.

An XSS corpus fills every text field of an RSS, an Atom and a JSON feed (titles, authors,
summaries, content, item / enclosure / author / source links, hrefs and srcs inside the
content; entity-encoded, mixed-case and whitespace-smuggled schemes; ``</title>``
breakouts; CSS ``expression`` and ``url(javascript:)``; iframes, meta refresh, event
handlers on attribute-less tags), and a fourth feed and the JSON feed carry NUL, C0
controls, lone surrogates (``"\\ud800"`` escapes in the JSON), U+FFFE/U+FFFF and bidi
overrides; a fifth feed writes surrogates as XML character references. A real Fetcher
fetches them (and the hostile page of each summary-only item) from a loopback server; the
real Pipeline stores them on a real SQLite file and on the real PostgreSQL (when
AGGREGATOR_TEST_DATABASE_URL is set). Then:

* every text column holds only text XML 1.0, UTF-8 and PostgreSQL can carry, every stored
  link is http(s), every stored HTML fragment is inert, and the same input is stored the
  same on both databases;
* every output, served by the real app under uvicorn on loopback (/feed.xml, /feed.atom,
  /feed.json, /api/clusters, /api/clusters/{id}, /api/articles/{id}, /api/feeds, / and
  every cluster page), parses, holds nothing executable and links only to http(s) or to
  the app itself, and carries a CSP that forbids scripts and ``nosniff``;
* the outputs stay so when hostile rows are written into the store past the ingest (the
  renderers' own defence, which the ingest otherwise hides).

The unit tests of each stage are in test_parse.py, test_normalize.py,
test_outputs_feed.py and test_outputs_web.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest
from defusedxml import ElementTree
from sqlalchemy import select, update

from aggregator.fetch import Fetcher
from aggregator.outputs.feed import Channel
from aggregator.outputs.web import create_app
from aggregator.pipeline import CycleReport, Pipeline
from aggregator.settings import HttpSettings, Settings
from aggregator.store import Store
from aggregator.store.models import ArticleRow, Base, ClusterRow
from aggregator.types import OutletConfig
from tests.loopback import LoopbackServer, loopback_fetch_settings, respond, serve_app

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# one feed after another: the two databases see the same order
FETCH = loopback_fetch_settings(concurrency=1)
CHANNEL = Channel(
    title="Hostile test",
    link="https://news.example/",
    self_url="https://news.example/feed.xml",
    description="stories from hostile feeds",
)

#: What a stored text must never hold: C0 controls but tab/LF/CR, surrogates, U+FFFE/F.
FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: What no output may hold: the same, plus DEL and the C1 controls (safety.clean_text).
FORBIDDEN_IN_OUTPUT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: Schemes that run code or smuggle documents, however a browser would normalize them.
EXECUTABLE_SCHEME = re.compile(r"^\s*(javascript|vbscript|data|livescript|mocha)\s*:", re.I)
#: Attributes that carry a URL in HTML, SVG, Atom or RSS.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite",
     "data", "srcset", "codebase", "longdesc", "lowsrc", "dynsrc", "url", "uri", "ping"}
)  # fmt: skip
#: JSON fields that hold a URL (JSON Feed 1.1 and the API).
JSON_URL_KEYS = frozenset(
    {"url", "link", "external_url", "image", "banner_image", "icon", "favicon", "avatar",
     "home_page_url", "feed_url", "canonical_url", "source_url", "first_url", "href", "src"}
)  # fmt: skip
#: Elements that can run or embed something, or navigate the page by themselves.
ACTIVE_TAGS = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "meta", "base",
     "link", "form", "input", "button", "textarea", "select", "foreignobject", "animate",
     "set", "handler", "listener", "template", "noscript", "isindex", "math"}
)  # fmt: skip


# --- the hostile corpus ----------------------------------------------------------------------


def words(seed: int, count: int = 150) -> str:
    """``count`` pseudo-random words: different seeds share no shingles."""
    rng = random.Random(seed)
    return " ".join(f"w{rng.randrange(1_000_000)}" for _ in range(count))


#: Two stories, each carried by more than one hostile outlet, so they form clusters with
#: several members (titles, authors and credits of each member reach the outputs).
STORY_A = words(1)
STORY_B = words(2)
DATA_HTML = "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="

#: Markup that tries every way into a page; it is put into every HTML-bearing field.
XSS_HTML = (
    '<p onclick="steal()" style="width: expression(alert(1)); '
    'background:url(javascript:alert(1))">Paragraph</p>'
    "<script>alert('script')</script><SCRIPT SRC=//evil.example/x.js></SCRIPT>"
    "<img src=x onerror=alert('img')><IMG SRC=JaVaScRiPt:alert('img2')>"
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'
    "<svg onload=alert('svg')><circle r=1 /></svg><svg/onload=alert('svg2')>"
    "<img/src/onerror=alert('attrless')><body onload=alert('body')>"
    "<a href=\"javascript:alert('a')\">js</a><a href=\"JaVaScRiPt:alert('b')\">mixed</a>"
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">dec</a>'
    '<a href="&#x6A;avascript&#x3A;alert(1)">hex</a>'
    '<a href="jav&#x09;ascript:alert(1)">tab</a><a href=" &#14; javascript:alert(1)">ws</a>'
    '<a href="vbscript:msgbox(1)">vb</a><a href="' + DATA_HTML + '">data</a>'
    '<a href="livescript:alert(1)">live</a>'
    "<iframe src=\"javascript:alert('frame')\"></iframe>"
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'meta\')">'
    '<base href="javascript:alert(1)//"><link rel="stylesheet" href="javascript:alert(1)">'
    "<style>@import 'javascript:alert(1)'; body{background:url(javascript:alert(1))}</style>"
    '<object data="' + DATA_HTML + '"></object><embed src="javascript:alert(1)">'
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button>'
    "</form><input autofocus onfocus=alert('focus')>"
    "<details open ontoggle=alert('toggle')><summary>s</summary></details>"
    '<video poster="javascript:alert(1)"><source src="javascript:alert(1)"></video>'
    '<img srcset="javascript:alert(1) 1x">'
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">m</maction></math>'
    '<a href="/relative/ok">relative</a><a href="https://safe.example/ok" onmouseover=x()>ok</a>'
    "<p>&lt;script&gt;alert('shown as text')&lt;/script&gt;</p>"
)


def xss_with(story: str) -> str:
    """The XSS markup around a story long enough to be clustered (no page fetch needed)."""
    return f"<div>{XSS_HTML}<p>{story}</p>{XSS_HTML}</div>"


def cdata(markup: str) -> str:
    return f"<![CDATA[{markup}]]>"


def rfc822(minutes: int) -> str:
    return format_datetime(START - timedelta(hours=3) + timedelta(minutes=minutes))


def rss_corpus() -> bytes:
    """RSS 2.0: breakouts, hostile links in every link-bearing element, HTML everywhere."""
    items = [
        # The original of story A: every field hostile, every link executable.
        f"""<item>
          <title>&lt;/title&gt;&lt;script&gt;alert('title')&lt;/script&gt;Senate vote
            &lt;img src=x onerror=alert(1)&gt; &lt;svg/onload=alert(2)&gt;</title>
          <link>javascript:alert('item-link')</link>
          <guid isPermaLink="false">rss-breakout</guid>
          <comments>javascript:alert('comments')</comments>
          <author>eve@evil.example (&lt;script&gt;alert('author')&lt;/script&gt;Eve)</author>
          <dc:creator>&lt;img src=x onerror=alert('creator')&gt;Eve Creator</dc:creator>
          <category>&lt;b onclick="x()"&gt;World&lt;/b&gt;</category>
          <enclosure url="javascript:alert('enclosure')" length="1" type="audio/mpeg"/>
          <source url="javascript:alert('source')">&lt;b onmouseover=alert(1)&gt;Evil
            Wire&lt;/b&gt;&lt;script&gt;alert('source')&lt;/script&gt;</source>
          <description>{cdata(XSS_HTML)}</description>
          <content:encoded>{cdata(xss_with(STORY_A))}</content:encoded>
          <pubDate>{rfc822(0)}</pubDate>
        </item>""",
        # Entity-encoded markup in the title: it must stay visible text, never markup.
        f"""<item>
          <title>&amp;lt;script&amp;gt;alert('escaped')&amp;lt;/script&amp;gt; Escaped
            headline</title>
          <link>/story/escaped</link>
          <guid isPermaLink="false">rss-escaped</guid>
          <description>A short teaser &lt;img src=x onerror=alert(1)&gt;</description>
          <pubDate>{rfc822(5)}</pubDate>
        </item>""",
        f"""<item>
          <title>Entity-encoded link</title>
          <link>&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)</link>
          <guid isPermaLink="true">JaVaScRiPt:alert('guid')</guid>
          <description>{cdata(XSS_HTML + words(11, 120))}</description>
          <enclosure url="{DATA_HTML}" length="1" type="text/html"/>
          <pubDate>{rfc822(10)}</pubDate>
        </item>""",
        f"""<item>
          <title>Data link</title>
          <link> {DATA_HTML}</link>
          <guid isPermaLink="false">rss-data</guid>
          <description>{cdata(XSS_HTML + words(12, 120))}</description>
          <pubDate>{rfc822(15)}</pubDate>
        </item>""",
        f"""<item>
          <title>VBScript link</title>
          <link>vbscript:msgbox(1)</link>
          <guid isPermaLink="false">rss-vbscript</guid>
          <description>{cdata(XSS_HTML + words(13, 120))}</description>
          <pubDate>{rfc822(20)}</pubDate>
        </item>""",
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>&lt;script&gt;alert('channel')&lt;/script&gt;Hostile Wire</title>"
        "<link>javascript:alert('channel-link')</link>"
        "<description>&lt;img src=x onerror=alert(1)&gt;</description>"
        "<image><url>javascript:alert('image')</url><title>i</title><link>x</link></image>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def atom_corpus() -> bytes:
    """Atom: html / xhtml / text constructs, a javascript: xml:base, hostile author uris."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">&lt;script&gt;alert('feed')&lt;/script&gt;Hostile Atom</title>
  <link rel="alternate" href="javascript:alert('feed-link')"/>
  <icon>javascript:alert('icon')</icon>
  <id>urn:hostile:atom</id>
  <updated>2025-03-01T09:00:00Z</updated>
  <entry xml:base="javascript:alert('base')//">
    <title type="html">&lt;/title&gt;&lt;script&gt;alert('atom')&lt;/script&gt;Atom
      &lt;b onmouseover="alert(1)"&gt;copy&lt;/b&gt;</title>
    <link rel="alternate" href="/relative-to-a-javascript-base"/>
    <link rel="enclosure" href="{DATA_HTML}"/>
    <link rel="canonical" href="vbscript:msgbox('canonical')"/>
    <id>urn:hostile:atom:1</id>
    <author>
      <name>&lt;img src=x onerror=alert('name')&gt;Mallory</name>
      <uri>javascript:alert('uri')</uri>
      <email>mallory@evil.example</email>
    </author>
    <source><title>&lt;script&gt;alert('src')&lt;/script&gt;Source Times</title>
      <link rel="alternate" href="javascript:alert('source-link')"/></source>
    <summary type="html">{_xml_escape(XSS_HTML)}</summary>
    <content type="html">{_xml_escape(xss_with(STORY_A))}</content>
    <published>2025-03-01T09:30:00Z</published>
    <updated>2025-03-01T09:30:00Z</updated>
  </entry>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><script>alert('x')</script>
      XHTML <b onclick="alert(1)">title</b></div></title>
    <link rel="alternate" href="  JaVaScRiPt:alert('spaced')"/>
    <id>urn:hostile:atom:2</id>
    <author><name>&lt;svg onload=alert(1)&gt;Oscar</name>
      <uri>  data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;</uri></author>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <script>alert('xhtml')</script><a href="javascript:alert(1)">x</a>
      <img src="x" onerror="alert(1)"/><svg xmlns="http://www.w3.org/2000/svg"
      onload="alert(1)"/><iframe src="javascript:alert(1)"></iframe>
      <p style="background:url(javascript:alert(1))">{STORY_B}</p></div></content>
    <published>2025-03-01T10:00:00Z</published>
    <updated>2025-03-01T10:00:00Z</updated>
  </entry>
</feed>
""".encode()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: JSON strings holding what XML cannot: NUL, C0 controls, lone surrogates of both halves,
#: the non-characters U+FFFE/U+FFFF, a C1 control, and bidi overrides and isolates.
#: (The low surrogate comes first: "\ud800\udfff" would decode as one valid pair.)
JSON_GARBAGE = "\u0000\u0001\u0007\u001b[31m\u007f\u0085\udfff\ud800\ufffe\uffff"
BIDI = "\u202e\u2066\u200f"


def json_corpus(base: str) -> bytes:
    """JSON Feed 1.1 with hostile urls everywhere, written with ``\\uXXXX`` escapes."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"<script>alert('feed')</script>Hostile JSON{JSON_GARBAGE}",
        "home_page_url": "javascript:alert('home')",
        "feed_url": DATA_HTML,
        "icon": "javascript:alert('icon')",
        "favicon": "vbscript:msgbox(1)",
        "authors": [{"name": "<img src=x onerror=alert(1)>", "url": "javascript:alert(1)"}],
        "items": [
            {
                "id": f"json-1{JSON_GARBAGE}",
                "url": "javascript:alert('json-url')",
                "external_url": DATA_HTML,
                "title": f"JSON{JSON_GARBAGE} title {BIDI}gnp.exe</title><script>alert(1)</script>",
                "summary": "<script>alert('summary')</script> summary as text",
                "content_html": f"{JSON_GARBAGE}{xss_with(STORY_B)}{JSON_GARBAGE}",
                "image": "javascript:alert('image')",
                "banner_image": DATA_HTML,
                "date_published": "2025-03-01T10:30:00Z",
                "authors": [
                    {
                        "name": f"<svg onload=alert(1)>Zed{JSON_GARBAGE}",
                        "url": "javascript:alert('author-url')",
                        "avatar": DATA_HTML,
                    }
                ],
                "tags": [f"<b onclick=x()>tag</b>{JSON_GARBAGE}"],
                "attachments": [{"url": "javascript:alert(1)", "mime_type": "text/html"}],
            },
            {
                "id": "json-2",
                "url": "jav\u0000ascript:alert('nul-smuggled')",
                "title": "Smuggled\u0000 scheme",
                "content_text": f"<script>alert('text')</script> {words(21, 120)}{JSON_GARBAGE}",
                "date_published": "2025-03-01T10:40:00Z",
            },
            {
                "id": "json-3",
                # A real link on the loopback server, with NUL and a bell in it.
                "url": f"{base}/story/json\u0000\u0007",
                "title": f"Lone \ud800 surrogate{BIDI}",
                # A teaser: the pipeline fetches the page (at the cleaned URL).
                "content_html": "<p>Teaser\udfff <img src=x onerror=alert(1)></p>",
                "date_published": "2025-03-01T10:50:00Z",
            },
        ],
    }
    # ensure_ascii writes every non-ASCII character, lone surrogates included, as \uXXXX.
    return json.dumps(document, ensure_ascii=True).encode("ascii")


#: Raw bytes XML 1.0 forbids: NUL, C0 controls, DEL, a C1 control and U+FFFE/U+FFFF in
#: UTF-8, and a character reference to a control.
RAW_GARBAGE = b"\x00\x01\x07\x1b[31m\x0b\x0c\x7f\xc2\x85\xef\xbf\xbe\xef\xbf\xbf&#1;"
RAW_BIDI = "\u202e".encode()


def controls_corpus(base: str) -> bytes:
    """RSS 2.0 that no XML parser accepts: controls and non-characters in every field."""
    first = (
        b"<item><title>Null" + RAW_GARBAGE + b" and " + RAW_BIDI + b"bidi title</title>"
        b"<link>" + base.encode() + b"/story/ctrl\x00\x07</link>"
        b'<guid isPermaLink="false">ctrl-\x00\x01-1</guid>'
        b"<author>Bell\x07 Ringer" + RAW_GARBAGE + b"</author>"
        b"<description>" + RAW_GARBAGE + STORY_A.encode() + RAW_GARBAGE + b"</description>"
        b"<pubDate>" + rfc822(30).encode() + b"</pubDate></item>"
    )
    second = (
        b"<item><title>Second " + RAW_GARBAGE + b"item</title>"
        b"<guid>ctrl-2</guid>"
        b"<description>" + STORY_B.encode() + RAW_GARBAGE + b"</description>"
        b"<pubDate>" + rfc822(200).encode() + b"</pubDate></item>"
    )
    return (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        b"<title>Control"
        + RAW_GARBAGE
        + b" Room</title><link>https://control.example/</link>"
        + first
        + second
        + b"</channel></rss>"
    )


#: Character references to what no string may hold: lone surrogates (both halves), an
#: emoji written as its UTF-16 surrogate pair (as some CMSs do), and a code point beyond
#: Unicode. XML parsers reject them; the rest of each title, and the feed, is still news.
SURROGATE_REFS = {
    "surrogate-1": ("High &#xD800; surrogate", "High surrogate"),
    "surrogate-2": ("Low &#57343; surrogate", "Low surrogate"),
    "surrogate-3": ("Emoji &#xD83D;&#xDE00; pair", "Emoji pair"),
    "surrogate-4": ("Beyond &#x110000; Unicode", "Beyond Unicode"),
}


def surrogates_corpus() -> bytes:
    items = "".join(
        f"<item><title>{title}</title><guid isPermaLink='false'>{guid}</guid>"
        f"<description>{title} {words(40 + n, 120)}</description>"
        f"<pubDate>{rfc822(40 + n)}</pubDate></item>"
        for n, (guid, (title, _)) in enumerate(SURROGATE_REFS.items())
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Surrogate Post</title><link>https://surrogate.example/</link>{items}"
        "</channel></rss>"
    ).encode()


def page_paragraphs() -> list[str]:
    text = words(31, 240).split()
    return [" ".join(text[start : start + 40]) + "." for start in range(0, 240, 40)]


#: The page of the summary-only items: the pipeline fetches it and keeps its text.
HOSTILE_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'>"
    "<title>&lt;/title&gt;&lt;script&gt;alert('page-title')&lt;/script&gt;</title>"
    "<meta http-equiv='refresh' content='0;url=javascript:alert(1)'>"
    "<link rel='canonical' href='javascript:alert(\"canonical\")'>"
    "<script>document.write('<p>' + 'injected' + '</p>')</script>"
    "</head><body onload=alert('body')><main><article><h1>Escaped headline</h1>"
    + "".join(
        f"<p onclick=alert(1)>{p}</p>" + (XSS_HTML if n == 2 else "")
        for n, p in enumerate(page_paragraphs())
    )
    + "</article></main></body></html>"
).encode() + RAW_GARBAGE


# --- the site, the ingestion -----------------------------------------------------------------


@dataclass(frozen=True)
class HostileSite:
    server: LoopbackServer
    outlets: list[OutletConfig]


FEED_TYPES = {
    "/hostile.rss": "application/rss+xml; charset=utf-8",
    "/hostile.atom": "application/atom+xml; charset=utf-8",
    "/hostile.json": "application/feed+json",
    "/controls.rss": "application/rss+xml; charset=utf-8",
    "/surrogates.rss": "application/rss+xml; charset=utf-8",
}


@pytest.fixture
def hostile_site() -> Iterator[HostileSite]:
    with LoopbackServer() as server:
        base = server.url("").rstrip("/")
        bodies = {
            "/hostile.rss": rss_corpus(),
            "/hostile.atom": atom_corpus(),
            "/hostile.json": json_corpus(base),
            "/controls.rss": controls_corpus(base),
            "/surrogates.rss": surrogates_corpus(),
        }
        assert b"\\ud800" in bodies["/hostile.json"] and b"\\u0000" in bodies["/hostile.json"]
        for path, body in bodies.items():
            server.route(path, respond(200, body, {"Content-Type": FEED_TYPES[path]}))
        page = respond(200, HOSTILE_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        for path in ("/story/escaped", "/story/json", "/story/ctrl"):
            server.route(path, page)
        names = {
            "Hostile Wire": "/hostile.rss",
            "Hostile Atom": "/hostile.atom",
            "Hostile JSON": "/hostile.json",
            "Control Room": "/controls.rss",
            "Surrogate Post": "/surrogates.rss",
        }
        outlets = [
            OutletConfig(name=name, homepage=None, aliases=(), feeds=(server.url(path),))
            for name, path in names.items()
        ]
        yield HostileSite(server, outlets)


def ingest(store: Store, site: HostileSite) -> CycleReport:
    """One fetch cycle of the real pipeline, with a real Fetcher, on a fixed clock."""

    def clock() -> datetime:
        return START

    settings = Settings(fetch=FETCH)
    pipeline = Pipeline(store, settings, site.outlets, clock=clock, rng=random.Random(7))
    try:
        pipeline.prepare()

        async def run() -> CycleReport:
            async with Fetcher(FETCH, clock=clock) as fetcher:
                return await pipeline.run_cycle(fetcher, everything=True)

        return asyncio.run(run())
    finally:
        pipeline.close()


@dataclass(frozen=True)
class Ingested:
    store: Store
    report: CycleReport
    site: HostileSite


@pytest.fixture
def ingested(store: Store, hostile_site: HostileSite) -> Ingested:
    return Ingested(store, ingest(store, hostile_site), hostile_site)


# --- what is checked -------------------------------------------------------------------------


def browser_view(url: str) -> str:
    """A URL as a browser reads it before looking at its scheme (WHATWG URL parsing): tabs
    and newlines removed anywhere, C0 controls and spaces stripped at both ends."""
    return re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21))))


def is_http_url(url: str) -> bool:
    parts = urlsplit(browser_view(url))
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def assert_safe_link(url: str | None, where: object, *, own_paths: bool = False) -> None:
    """An absolute http(s) URL; with ``own_paths``, also a path, query or fragment of the
    app itself ("/feed.xml", "?q=x", "#tl-copy"), never a protocol-relative "//host"."""
    assert url is not None, where
    seen = browser_view(url)
    assert not EXECUTABLE_SCHEME.match(seen), (where, url)
    if own_paths and seen.startswith(("/", "?", "#")) and not seen.startswith("//"):
        return
    assert is_http_url(seen), (where, url)


class Markup(HTMLParser):
    """Start tags with their attributes, the text and the style sheets, as a browser's
    tokenizer sees them (character references decoded)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


#: The app's own page furniture: the charset, referrer and viewport, the alternate links
#: to its feeds, and the GET filter form posting to itself.
PAGE_FURNITURE = frozenset({"meta", "link", "form", "input", "button"})


def assert_inert_markup(markup: str, where: object, *, page: bool = False) -> Markup:
    """No script, no element that runs, embeds or navigates, no event handler or inline
    style, no executable CSS, and every URL-bearing attribute http(s) (or, on a page of the
    app, a path of its own)."""
    assert "<script" not in markup.lower(), where
    parsed = Markup(markup)
    for tag, attrs in parsed.tags:
        named = dict(attrs)
        if page and tag in PAGE_FURNITURE:
            assert "http-equiv" not in named, (where, tag, attrs)  # no meta refresh
        else:
            assert tag not in ACTIVE_TAGS, (where, tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (where, tag, name, value)
            assert name not in {"style", "srcdoc", "formaction"}, (where, tag, name)
            if name in URL_ATTRIBUTES:
                assert_safe_link(value, (where, tag, name), own_paths=page)
    for sheet in parsed.styles:
        assert not re.search(r"javascript:|expression\s*\(|@import|behavior\s*:", sheet, re.I)
    return parsed


def strings_in(value: object) -> Iterator[str]:
    """Every string inside a column value (JSON columns hold lists and objects)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def json_fields(value: object, at: str = "") -> Iterator[tuple[str, str, object]]:
    """Every (where, key, value) inside a JSON document; ``where`` is its path there."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{at}.{key}", key, item
            yield from json_fields(item, f"{at}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from json_fields(item, f"{at}[{n}]")


def table_rows(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as the database hands it back."""
    found: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            found[table.name] = [
                {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row._mapping.items()}
                for row in conn.execute(select(table))
            ]
    return found


def articles_by_guid(store: Store) -> dict[str | None, dict[str, Any]]:
    return {row["guid"]: row for row in table_rows(store)["articles"]}


#: The items of the four feeds every reader accepts, by guid as stored (controls removed).
EXPECTED_GUIDS = {
    "rss-breakout", "rss-escaped", "JaVaScRiPt:alert('guid')", "rss-data", "rss-vbscript",
    "urn:hostile:atom:1", "urn:hostile:atom:2", "json-2", "json-3", "ctrl--1", "ctrl-2",
}  # fmt: skip


# --- ingestion and storage -------------------------------------------------------------------


def test_every_hostile_feed_is_fetched_parsed_and_stored(ingested: Ingested) -> None:
    site = ingested.site
    reports = {f.url.rsplit("/", 1)[-1]: f for f in ingested.report.feeds}
    for name, items, pages in (
        ("hostile.rss", 5, 1),  # the summary-only item's page is fetched
        ("hostile.atom", 2, 0),
        ("hostile.json", 3, 1),  # its page is fetched at the URL without the NUL
        ("controls.rss", 2, 0),
    ):
        report = reports[name]
        assert (report.outcome, report.items, report.new_articles) == ("ok", items, items), report
        assert report.full_texts == pages, report
    stored = articles_by_guid(ingested.store)
    json_guid = next(g for g in stored if g and g.startswith("json-1"))
    assert EXPECTED_GUIDS | {json_guid} <= set(stored)
    requested = {r.target for r in site.server.requests}
    assert {"/story/escaped", "/story/json"} <= requested
    # No request went out with the NUL or the bell of the links that carried them.
    assert not [t for t in requested if re.search(r"[\x00-\x1f]|%0[0-9a-f]", t, re.I)]


def test_character_references_to_surrogates_do_not_cost_the_whole_feed(
    ingested: Ingested,
) -> None:
    """``&#xD800;``, ``&#57343;``, ``&#xD83D;&#xDE00;`` or ``&#x110000;`` in a title
    must not cost the feed (today feedparser's loose parser raises on them, and the whole
    feed becomes a parse_error: every other item of it is lost)."""
    (report,) = [f for f in ingested.report.feeds if f.url.endswith("/surrogates.rss")]
    assert report.outcome == "ok", report.message
    titles = {
        # Dropped, replaced by U+FFFD or (the pair) decoded: any of these is fine.
        a.guid: " ".join(re.sub("[\ufffd\U0001f600]", " ", a.title).split())
        for a in ingested.store.export_articles()
        if a.outlet == "Surrogate Post"
    }
    assert titles == {guid: want for guid, (_, want) in SURROGATE_REFS.items()}


def test_stored_text_holds_no_control_character_surrogate_or_noncharacter(
    ingested: Ingested,
) -> None:
    rows = table_rows(ingested.store)
    for table, records in rows.items():
        for record in records:
            for column, value in record.items():
                for text in strings_in(value):
                    assert FORBIDDEN_CHARS.search(text) is None, (table, column, text)
    assert len(rows["articles"]) >= len(EXPECTED_GUIDS)
    stored = articles_by_guid(ingested.store)
    # The hostile text did arrive, cleaned: what surrounded the garbage is still there.
    control = stored["ctrl--1"]
    assert control["title"].startswith("Null[31m") and control["title"].endswith(
        "and \u202ebidi title"
    )
    assert control["author"].startswith("Bell Ringer")
    json_item = next(a for g, a in stored.items() if g and g.startswith("json-1"))
    assert json_item["title"].startswith("JSON[31m")
    assert json_item["title"].endswith(f"title {BIDI}gnp.exe")
    assert stored["json-3"]["title"] == f"Lone surrogate{BIDI}"
    assert stored["json-3"]["url"] == ingested.site.server.url("/story/json")
    assert stored["ctrl--1"]["url"] == ingested.site.server.url("/story/ctrl")
    # Markup a feed escaped once too often is kept as the text it is.
    assert stored["rss-escaped"]["title"] == "<script>alert('escaped')</script> Escaped headline"


def test_stored_links_are_http_and_stored_html_is_inert(ingested: Ingested) -> None:
    stored = articles_by_guid(ingested.store)
    for guid, article in stored.items():
        for column in ("url", "canonical_url", "source_url"):
            if article[column] is not None:
                assert is_http_url(article[column]), (guid, column, article[column])
        if article["content_html"] is not None:
            assert_inert_markup(article["content_html"], (guid, "content_html"))
        for column in ("title", "author", "summary", "source_name", "credits_outlet"):
            # Plain-text columns: markup in them was either removed or decoded into text
            # that the outputs escape; no tag of the corpus survives as a tag.
            assert not re.search(r"<(img|svg|iframe|b|body)\b", article[column] or ""), (
                guid,
                column,
            )
    # javascript:, data: and vbscript: links of every kind are gone, not rewritten.
    for guid in ("rss-breakout", "JaVaScRiPt:alert('guid')", "rss-data", "rss-vbscript"):
        assert stored[guid]["url"] is None, guid
    # The fetched page's text is its article: no script output, no title, no handlers.
    for guid in ("rss-escaped", "json-3"):
        text = stored[guid]["text"]
        assert page_paragraphs()[0] in text, guid
        assert "injected" not in text and "page-title" not in text and "document" not in text


def test_the_same_hostile_input_is_stored_identically_on_sqlite_and_postgresql(
    postgres_url: str, tmp_path: Path, hostile_site: HostileSite
) -> None:
    snapshots = []
    for url in (f"sqlite:///{tmp_path / 'hostile.db'}", postgres_url):
        store = Store.open(url, check_schema=False)
        try:
            store.upgrade()
            ingest(store, hostile_site)
            snapshots.append(snapshot(store))
        finally:
            store.close()
    on_sqlite, on_postgresql = snapshots
    assert len(on_sqlite["articles"]) >= len(EXPECTED_GUIDS)
    for table in on_sqlite:
        assert on_sqlite[table] == on_postgresql[table], table


def snapshot(store: Store) -> dict[str, Any]:
    """Every row of every table, database ids replaced by natural keys (outlet name, feed
    URL, an article's outlet and identity key, a cluster's member keys), so two databases
    that assigned ids in another order still compare equal. ``next_fetch_at`` is left out:
    its jitter draws follow the order in which feeds happen to finish."""
    rows = table_rows(store)
    outlet = {r["id"]: r["name"] for r in rows["outlets"]}
    feed = {r["id"]: r["url"] for r in rows["feeds"]}
    article = {r["id"]: (outlet[r["outlet_id"]], r["identity_key"]) for r in rows["articles"]}
    members: dict[int, list[tuple[str, str]]] = {}
    for r in rows["articles"]:
        if r["cluster_id"] is not None:
            members.setdefault(r["cluster_id"], []).append(article[r["id"]])
    cluster: dict[int | None, object] = {
        r["id"]: tuple(sorted(members.get(r["id"], [])))
        or ("first", article.get(r["first_article_id"]))
        for r in rows["clusters"]
    }

    def without(row: dict[str, Any], *names: str) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in names}

    return {
        "meta": {r["key"]: r["value"] for r in rows["meta"]},
        "outlets": {r["name"]: without(r, "id") for r in rows["outlets"]},
        "feeds": {
            r["url"]: {
                **without(r, "id", "outlet_id", "next_fetch_at"),
                "outlet": outlet[r["outlet_id"]],
            }
            for r in rows["feeds"]
        },
        "articles": {
            article[r["id"]]: {
                **without(r, "id", "outlet_id", "feed_id", "cluster_id"),
                "feed": feed.get(r["feed_id"]),
                "cluster": cluster.get(r["cluster_id"]),
            }
            for r in rows["articles"]
        },
        "clusters": {
            cluster[r["id"]]: {
                **without(r, "id", "first_article_id", "first_outlet_id", "merged_into"),
                "first_article": article.get(r["first_article_id"]),
                "first_outlet": outlet.get(r["first_outlet_id"]),
                "merged_into": cluster.get(r["merged_into"]),
            }
            for r in rows["clusters"]
        },
        "outlet_memory": {
            outlet[r["outlet_id"]]: without(r, "outlet_id") for r in rows["outlet_memory"]
        },
    }


# --- every output, over real HTTP ------------------------------------------------------------


@contextlib.contextmanager
def serving(store: Store) -> Iterator[httpx.Client]:
    """The real app on the store, under uvicorn on a loopback port (as the daemon serves it)."""
    app = create_app(store, settings=HttpSettings(), channel=CHANNEL, clock=lambda: START)
    with serve_app(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def collect(store: Store) -> dict[str, httpx.Response]:
    """Every output of the app over ``store``, served over HTTP, by path."""
    clusters = store.list_clusters(
        since=None, outlet=None, min_size=1, limit=None, query=None, with_members=False
    )
    articles = list(store.export_articles())
    assert len(clusters) >= 7 and any(c.size >= 3 for c in clusters)
    paths = [
        "/feed.xml",
        "/feed.atom",
        "/feed.json",
        "/api/clusters",
        "/api/clusters?since=all&members=true&limit=0",
        "/api/feeds",
        "/",
        *(f"/api/clusters/{c.id}" for c in clusters),
        *(f"/clusters/{c.id}" for c in clusters),
        *(f"/api/articles/{a.id}" for a in articles[:3]),
    ]
    with serving(store) as client:
        found = {path: client.get(path) for path in paths}
    for path, response in found.items():
        assert response.status_code == 200, (path, response.text[:500])
    return found


@pytest.fixture
def responses(ingested: Ingested) -> dict[str, httpx.Response]:
    """Every output of the app over the hostile store, by path."""
    return collect(ingested.store)


HOSTILE_TITLE = "<script>alert('escaped')</script> Escaped headline"


def check_xml_feed(path: str, response: httpx.Response) -> Any:
    """Strict XML, no invalid character, every link http(s), every HTML fragment inert;
    returns the feed as feedparser reads it."""
    body = response.content
    assert FORBIDDEN_IN_OUTPUT.search(body.decode("utf-8")) is None, path
    assert b"<script" not in body.lower(), path
    root = ElementTree.fromstring(body)  # strict XML 1.0: an invalid character raises
    fragments = 0
    for element in root.iter():
        name = _local(element.tag)
        for attribute, value in element.attrib.items():
            if _local(attribute) in URL_ATTRIBUTES:
                assert_safe_link(value, (path, name, attribute))
        text = (element.text or "").strip()
        if name in {"link", "uri", "url", "icon", "logo", "comments", "docs"} and text:
            assert_safe_link(text, (path, name))
        if name == "guid" and element.get("isPermaLink", "true") == "true":
            assert_safe_link(text, (path, name))
        if name in {"description", "content", "summary", "encoded"}:
            assert_inert_markup(text, (path, name))  # the HTML a reader will render
            fragments += 1
    parsed = feedparser.parse(body)
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    assert fragments >= len(parsed.entries) >= 7, path
    for entry in parsed.entries:
        assert is_http_url(entry.link), (path, entry.link)
        for link in entry.get("links", []):
            assert is_http_url(link["href"]), (path, link)
    return parsed


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def check_json_feed(response: httpx.Response) -> Any:
    """Markup escaped, every URL field http(s), every HTML fragment inert, text clean."""
    body = response.content
    assert b"<" not in body and b">" not in body  # markup travels as \u003c … \u003e
    document = json.loads(body)
    urls = 0
    for where, key, value in json_fields(document):
        if key in JSON_URL_KEYS and value is not None:
            assert isinstance(value, str)
            assert_safe_link(value, f"/feed.json {where}")
            urls += 1
        if key == "content_html":
            assert isinstance(value, str)
            assert_inert_markup(value, f"/feed.json {where}")
    for text in strings_in(document):
        assert FORBIDDEN_IN_OUTPUT.search(text) is None, text
    assert urls >= len(document["items"]) >= 7
    return document


def check_pages(responses: dict[str, httpx.Response]) -> dict[str, str]:
    """Every page inert and clean; returns the visible text of each, by path."""
    pages = {p: r for p, r in responses.items() if p == "/" or p.startswith("/clusters/")}
    assert len(pages) >= 8
    shown: dict[str, str] = {}
    for path, response in pages.items():
        assert response.headers["content-type"] == "text/html; charset=utf-8", path
        page = response.text
        assert FORBIDDEN_IN_OUTPUT.search(page) is None, path
        shown[path] = assert_inert_markup(page, path, page=True).visible
    return shown


@pytest.mark.parametrize("path", ["/feed.xml", "/feed.atom"])
def test_xml_feeds_are_well_formed_and_inert(
    responses: dict[str, httpx.Response], path: str
) -> None:
    parsed = check_xml_feed(path, responses[path])
    # The escaped headline reached the feed, as text.
    assert HOSTILE_TITLE in [entry.title for entry in parsed.entries]


def test_json_feed_is_inert(responses: dict[str, httpx.Response]) -> None:
    document = check_json_feed(responses["/feed.json"])
    assert HOSTILE_TITLE in [item["title"] for item in document["items"]]


def test_api_answers_hold_only_http_links_and_clean_text(
    responses: dict[str, httpx.Response],
) -> None:
    api = {path: r for path, r in responses.items() if path.startswith("/api/")}
    urls = 0
    for path, response in api.items():
        assert response.headers["content-type"] == "application/json", path
        document = response.json()
        for where, key, value in json_fields(document):
            if key in JSON_URL_KEYS and value is not None:
                assert isinstance(value, str)
                assert_safe_link(value, f"{path} {where}")
                urls += 1
        for text in strings_in(document):
            assert FORBIDDEN_CHARS.search(text) is None, (path, text)
    assert urls > 20
    listed = api["/api/clusters?since=all&members=true&limit=0"].json()["clusters"]
    # The API reports titles as the outlets wrote them: text, served as application/json.
    assert HOSTILE_TITLE in [c["title"] for c in listed]
    members = [m for c in listed for m in c["members"]]
    assert {m["url"] for m in members if m["guid"] in {"rss-breakout", "rss-data"}} == {None}


def test_web_pages_are_inert(responses: dict[str, httpx.Response]) -> None:
    shown = check_pages(responses)
    # The hostile headline is on the index and on its story's page, as visible text.
    assert HOSTILE_TITLE in shown["/"]
    assert sum(HOSTILE_TITLE in text for text in shown.values()) >= 2


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive name → sources (the first of a
    repeated directive wins, as in browsers)."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        if part.strip():
            name, *sources = part.split()
            directives.setdefault(name.lower(), sources)
    return directives


def test_every_response_forbids_scripts_and_sniffing(
    responses: dict[str, httpx.Response],
) -> None:
    for path, response in responses.items():
        assert response.headers["x-content-type-options"] == "nosniff", path
        csp = csp_directives(response.headers["content-security-policy"])
        fallback = csp["default-src"]
        for directive in ("script-src", "script-src-elem", "script-src-attr", "object-src"):
            # No source at all may run script: no 'unsafe-inline', no hosts, no data:.
            assert csp.get(directive, fallback) == ["'none'"], (path, directive, csp)
        for directive in ("frame-src", "child-src", "worker-src", "connect-src"):
            assert csp.get(directive, fallback) == ["'none'"], (path, directive, csp)
        assert csp["base-uri"] == ["'none'"], path
        assert csp["frame-ancestors"] == ["'none'"], path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"], path


#: Links no ingest would store, and text no ingest would keep: as an older version, a
#: restored backup or another writer might have left them in the database.
PLANTED_URLS = (
    "javascript:alert('planted')",
    " JaVaScRiPt:alert(2)",
    "java\tscript:alert(3)",
    "\x01javascript:alert(4)",
    "data:text/html,<script>alert(5)</script>",
    "vbscript:msgbox(6)",
    "//evil.example/protocol-relative",
)
PLANTED_TEXT = (
    "<script>alert('planted')</script><img src=x onerror=alert(1)>"
    "\x01\x1b\x7f\x85\ufffe\uffff\u202e"
)


@pytest.fixture
def planted(ingested: Ingested) -> dict[str, httpx.Response]:
    """The outputs over the ingested store after hostile rows were written straight into
    it, past every ingest guard (PostgreSQL takes every character but NUL)."""
    store = ingested.store
    with store.engine.begin() as conn:
        ids = [row.id for row in conn.execute(select(ArticleRow.id).order_by(ArticleRow.id))]
        for n, article_id in enumerate(ids):
            conn.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id)
                .values(
                    url=PLANTED_URLS[n % len(PLANTED_URLS)],
                    canonical_url=PLANTED_URLS[(n + 1) % len(PLANTED_URLS)],
                    title=f"{PLANTED_TEXT} title {n}",
                    author=PLANTED_TEXT,
                    credits=[{"name": PLANTED_TEXT, "kind": "source", "outlet": None}],
                    credits_outlet=PLANTED_TEXT,
                )
            )
        conn.execute(
            update(ClusterRow).values(
                title=f"{PLANTED_TEXT} story", credited_source=f"</description>{PLANTED_TEXT}"
            )
        )
    return collect(store)


def test_feeds_and_pages_stay_inert_over_rows_the_ingest_would_never_store(
    planted: dict[str, httpx.Response],
) -> None:
    """The renderers vet every link and clean every text themselves ("only http(s) links
    are ever written", outputs/feed.py): a bad row still renders inert."""
    for path in ("/feed.xml", "/feed.atom"):
        check_xml_feed(path, planted[path])
    assert "<script>alert('planted')</script>" in check_pages(planted)["/"]  # as text
    check_json_feed(planted["/feed.json"])


def test_api_links_stay_http_over_rows_the_ingest_would_never_store(
    planted: dict[str, httpx.Response],
) -> None:
    """Links are http(s) only in the API too, whatever the database holds."""
    for path, response in planted.items():
        if path.startswith("/api/"):
            for where, key, value in json_fields(response.json()):
                if key in JSON_URL_KEYS and value is not None:
                    assert isinstance(value, str)
                    assert_safe_link(value, f"{path} {where}")
