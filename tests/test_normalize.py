"""Tests of the normalize stage: canonical URLs, clean text, identity keys, Articles."""

from __future__ import annotations

import ast
import hashlib
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import aggregator.normalize as normalize_module
from aggregator.normalize import (
    TRACKING_PARAMS,
    canonicalize_url,
    html_to_text,
    identity_key,
    normalize_entry,
)
from aggregator.parse import parse_feed
from aggregator.types import Article, ParsedEntry

FEEDS = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# --- canonicalize_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://News.Example.COM/Path/Story", "https://news.example.com/Path/Story"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com?b=2", "http://example.com/?b=2"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        (
            "https://example.com/a?id=7&utm_source=x&page=2&fbclid=Q",
            "https://example.com/a?id=7&page=2",
        ),
        ("https://example.com/a?z=1&a=2&m=3", "https://example.com/a?z=1&a=2&m=3"),
        ("https://example.com/a?UTM_Source=x&GCLID=y&q=news", "https://example.com/a?q=news"),
        ("https://example.com/a?utm%5Fsource=x&q=%20a+b", "https://example.com/a?q=%20a+b"),
        ("https://example.com/a?&&q=1&", "https://example.com/a?q=1"),
        ("https://www.bbc.com/news/x?at_medium=RSS&at_campaign=rss", "https://www.bbc.com/news/x"),
        ("https://www.dw.com/en/a-1?maca=en-rss-en-all-1573-rdf", "https://www.dw.com/en/a-1"),
        ("https://www.aljazeera.com/news/x?traffic_source=rss", "https://www.aljazeera.com/news/x"),
        ("https://bücher.example/straße", "https://xn--bcher-kva.example/straße"),
        ("https://example.com./a", "https://example.com/a"),
        ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
        ("https://user:pw@Example.com/a", "https://user:pw@example.com/a"),
        ("  https://example.com/a\n", "https://example.com/a"),
        ("https://exa\x00mple.com/a", "https://example.com/a"),
        ("https://example.com/a b?q=x y ", "https://example.com/a%20b?q=x%20y"),
    ],
)
def test_canonicalize_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/a",
        "mailto:desk@example.com",
        "javascript:alert(1)",
        "data:text/html,hi",
        "/relative/path",
        "example.com/no-scheme",
        "https://",
        "http:///path-only",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://[::1/",
        "not a url at all",
    ],
)
def test_canonicalize_url_refuses_what_is_not_an_http_url(url: str) -> None:
    assert canonicalize_url(url) is None


def test_tracking_params_are_lower_case() -> None:
    assert all(name == name.lower() for name in TRACKING_PARAMS)


URL_PIECE = st.text(st.characters(codec="utf-8", exclude_characters="#?&="), max_size=12)
PARAM = st.tuples(
    st.sampled_from(["id", "page", "q", "utm_source", "fbclid", "UTM_Campaign", "x", ""]),
    URL_PIECE,
).map("=".join)
URLS = st.builds(
    "{}://{}{}{}/{}?{}#{}".format,
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.sampled_from(["example.com", "News.Example.org", "bücher.de", "[::1]", "a.b.", "xn--x"]),
    st.sampled_from(["", ":80", ":443", ":8080", ":"]),
    st.sampled_from(["", "/"]),
    URL_PIECE,
    st.lists(PARAM, max_size=5).map("&".join),
    URL_PIECE,
)


@settings(max_examples=300)
@given(st.one_of(URLS, st.text(max_size=60)))
@example("http://a.b.:80?&utm_x=1#f")
def test_canonicalize_url_is_idempotent_and_http_only(url: str) -> None:
    canonical = canonicalize_url(url)
    if canonical is None:
        return
    assert canonical.startswith(("http://", "https://"))
    assert "#" not in canonical
    assert canonicalize_url(canonical) == canonical
    query = canonical.partition("?")[2]
    names = [pair.split("=")[0].lower() for pair in query.split("&") if pair]
    assert not any(name.startswith("utm_") or name in TRACKING_PARAMS for name in names)


# --- html_to_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two <b>bold</b>\n   text</p>", "One\n\nTwo bold text"),
        ("first<br>second<br/>third", "first\n\nsecond\n\nthird"),
        ("<ul><li>apples</li><li>pears</li></ul>", "apples\n\npears"),
        ("<h2>Heading</h2>Body", "Heading\n\nBody"),
        ("<blockquote>Quote</blockquote>said", "Quote\n\nsaid"),
        ("<figure><img src=x><figcaption>Caption</figcaption></figure>", "Caption"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>", "a b\n\nc"),
        ("AT&amp;T &eacute;t&eacute; &#8211; &#x2014;&nbsp;x", "AT&T été – — x"),
        ("<script>var a = '<p>';</script>kept<style>p {}</style>", "kept"),
        ("a<noscript><p>enable js</p></noscript>b<template><p>t</p></template>c", "abc"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("<div><p>a</div>b</p>", "a\n\nb"),
        ("<p>a</p>\n\n\n<p>  </p><p>b</p>", "a\n\nb"),
        ("x < y and y > z", "x < y and y > z"),
        ("plain\n\ntext   with  spaces", "plain text with spaces"),
        ("<![CDATA[kept <text>]]>", "kept <text>"),
        ("<![ broken]>after <b>it</b>", "after it"),  # trips html.parser: the fallback
        ("Hello<!-- hidden -->World", "HelloWorld"),
        ("<p>a&#1;b\x00c\x0bd</p>", "abcd"),
        ("<script>never closed", ""),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=20),
            st.sampled_from(["<p>", "</p>", "<br>", "<script>", "</script>", "<![", "]]>", "&#1;"]),
            st.sampled_from(["<li>", "<!--", "-->", "<a href='x'>", "</a>", "&amp;", "<", ">"]),
        ),
        max_size=15,
    ).map("".join)
)
def test_html_to_text_is_clean_whatever_the_input(html: str) -> None:
    text = html_to_text(html)
    assert not CONTROL_RE.search(text)
    assert text == text.strip()
    for paragraph in text.split("\n\n") if text else []:
        assert paragraph and paragraph == " ".join(paragraph.split())


# --- identity_key ----------------------------------------------------------------------------


def test_identity_prefers_guid_then_url_then_hash() -> None:
    url = "https://example.com/a"
    assert identity_key(guid="abc-1", url=url, title="T", text="x") == "guid:abc-1"
    assert identity_key(guid=None, url=url, title="T", text="x") == "url:https://example.com/a"
    assert identity_key(guid="  ", url="ftp://x/y", title="T", text="x").startswith("hash:")


def test_url_guid_is_canonicalized() -> None:
    a = identity_key(guid="https://Example.com/a?utm_source=rss#0", url=None, title="", text="")
    b = identity_key(guid="https://example.com/a#1", url=None, title="", text="")
    assert a == b == "guid:https://example.com/a"


def test_non_url_guid_is_kept_verbatim() -> None:
    key = identity_key(guid=" tag:ex.com,2024:A?utm_source=x ", url=None, title="", text="")
    assert key == "guid:tag:ex.com,2024:A?utm_source=x"


def test_hash_identity_ignores_case_width_and_whitespace() -> None:
    one = identity_key(guid=None, url=None, title="Storm  Warning", text="Rain\n\nand wind.")
    two = identity_key(guid=None, url=None, title="storm warning", text=" RAIN and  WIND. ")
    assert one == two
    expected = hashlib.sha256(b"storm warning\nrain and wind.").hexdigest()
    assert one == f"hash:{expected}"
    other = identity_key(guid=None, url=None, title="Storm warning", text="Sun.")
    assert other != one


def test_title_and_text_are_not_confusable_in_the_hash() -> None:
    one = identity_key(guid=None, url=None, title="a b", text="c")
    two = identity_key(guid=None, url=None, title="a", text="b c")
    assert one != two


def test_overlong_identity_is_hashed() -> None:
    guid = "g" * 5_000
    key = identity_key(guid=guid, url=None, title="", text="")
    assert key == "guid:sha256:" + hashlib.sha256(guid.encode()).hexdigest()


TRACKING = st.lists(
    st.tuples(
        st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "mc_eid"]), URL_PIECE
    ),
    max_size=4,
)


@given(path=st.from_regex(r"/[a-z0-9/-]{0,20}", fullmatch=True), tracking=TRACKING)
def test_identity_is_stable_under_tracking_params(
    path: str, tracking: list[tuple[str, str]]
) -> None:
    base = f"https://news.example.com{path}?id=42"
    tracked = base + "".join(f"&{name}={value}" for name, value in tracking) + "#top"
    assert identity_key(guid=base, url=None, title="t", text="x") == identity_key(
        guid=tracked, url=None, title="t", text="x"
    )
    assert identity_key(guid=None, url=base, title="t", text="x") == identity_key(
        guid=None, url=tracked, title="t", text="x"
    )


# --- normalize_entry -------------------------------------------------------------------------


def _articles(name: str, url: str) -> list[Article]:
    feed = parse_feed((FEEDS / name).read_bytes(), {}, url)
    return [normalize_entry(e, outlet="Gazette", feed_url=url, now=NOW) for e in feed.entries]


def test_normalize_full_rss() -> None:
    ferry, wall, tides, quota = _articles("full.rss", "https://news.example.com/feed.xml")

    assert ferry.identity_key == "guid:gazette-2024-0518-ferry"
    assert (
        ferry.url == "https://news.example.com/2024/05/ferry-resumes?utm_source=rss&utm_medium=feed"
    )
    assert ferry.canonical_url == "https://news.example.com/2024/05/ferry-resumes"
    assert ferry.title == "Ferry service resumes after three-day strike"
    assert ferry.text.startswith("Ferries to the islands will run again from Monday")
    assert ferry.text.split("\n\n")[-1] == "The morning ferry, Saturday."
    assert ferry.summary == "Ferries to the islands run again from Monday, the operator said."
    assert ferry.content_html is not None and "<strong>hundreds</strong>" in ferry.content_html
    assert ferry.published_at == datetime(2024, 5, 18, 7, 30, tzinfo=UTC)
    assert ferry.first_seen_at == NOW
    assert (ferry.outlet, ferry.feed_url) == ("Gazette", "https://news.example.com/feed.xml")
    assert (ferry.author, ferry.tags) == ("Maria Okafor", ("Transport", "Local"))

    assert wall.identity_key == "guid:https://news.example.com/2024/05/harbour-wall"
    assert wall.canonical_url == "https://wire.example.org/stories/harbour-wall-repairs"
    assert (wall.source_name, wall.source_url) == ("Coastal Wire", "https://wire.example.org/rss")
    assert wall.text == wall.summary == "The town council voted 9–2 to fund the repairs."

    assert tides.identity_key == "url:https://news.example.com/2024/05/briefs/tide-tables"
    assert tides.title == "Tide tables for the coming week are now published on our website…"
    assert tides.guid is None and tides.published_at is None

    assert quota.url is None and quota.canonical_url is None
    assert quota.identity_key == "guid:gazette-2024-0516-quota"


def test_normalize_prefers_updated_when_published_is_missing() -> None:
    first, _ = _articles("rss10.rdf", "https://bulletin.example.org/rss")
    assert first.published_at == datetime(2024, 5, 14, 4, 0, tzinfo=UTC)
    assert first.canonical_url == "https://bulletin.example.org/a/1001"


def test_text_comes_from_the_longer_of_content_and_summary() -> None:
    short_content = ParsedEntry(
        guid="g",
        link=None,
        title="t",
        summary_html="<p>A summary that is longer than the content.</p>",
        content_html="<p><img src='https://x.example/i.png'>Photo</p>",
    )
    article = normalize_entry(short_content, outlet="o", feed_url="f", now=NOW)
    assert article.text == article.summary == "A summary that is longer than the content."
    assert article.content_html == short_content.summary_html

    only_content = ParsedEntry(guid="g", link=None, title="t", content_html="<p>Body</p>")
    article = normalize_entry(only_content, outlet="o", feed_url="f", now=NOW)
    assert (article.text, article.summary, article.content_html) == ("Body", "", "<p>Body</p>")


def test_times_become_utc_and_garbage_is_cleaned() -> None:
    plus_two = timezone(timedelta(hours=2))
    entry = ParsedEntry(
        guid="\x00 id-1 \x07",
        link="javascript:alert(1)",
        title="  Title\x00 with\n  spaces ",
        author="\x1bAuthor ",
        summary_html="<p>Text\x00</p>",
        published=datetime(2024, 5, 1, 12, 0, tzinfo=plus_two),
        source_name=" \x01 ",
        source_url="data:text/html,x",
        tags=(" a\x00 ", "", "b"),
    )
    article = normalize_entry(entry, outlet="o", feed_url="f", now=datetime(2024, 5, 2, 9, 0))
    assert article.guid == "id-1" and article.identity_key == "guid:id-1"
    assert (article.url, article.canonical_url, article.source_url) == (None, None, None)
    assert (article.title, article.author, article.source_name) == (
        "Title with spaces",
        "Author",
        None,
    )
    assert article.text == "Text" and article.tags == ("a", "b")
    assert article.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert article.first_seen_at == datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


def test_empty_entry_gets_a_stable_hash_identity() -> None:
    entry = ParsedEntry(guid=None, link=None, title="")
    one = normalize_entry(entry, outlet="o", feed_url="f", now=NOW)
    two = normalize_entry(entry, outlet="o", feed_url="f", now=NOW + timedelta(hours=1))
    assert one.identity_key == two.identity_key and one.identity_key.startswith("hash:")
    assert (one.title, one.text, one.summary, one.content_html) == ("", "", "", None)


# --- purity ----------------------------------------------------------------------------------

PURE_MODULES = ("parse", "normalize", "jsonfeed", "sanitize", "textclean")
IMPURE_IMPORTS = ("httpx", "sqlalchemy", "apscheduler", "click", "typer", "fastapi", "redis")


def test_pure_stages_do_not_import_io_libraries() -> None:
    imports = "; ".join(f"import aggregator.{name}" for name in PURE_MODULES)
    check = f"import sys; {imports}; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout
    for library in IMPURE_IMPORTS:
        assert f"'{library}'" not in loaded, library


@pytest.mark.parametrize("name", PURE_MODULES)
def test_pure_stages_never_read_the_clock(name: str) -> None:
    source = (Path(normalize_module.__file__).parent / f"{name}.py").read_text(encoding="utf-8")
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"now", "utcnow", "today", "time", "monotonic"}
