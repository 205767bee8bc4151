"""Tests of the parse stage: fixture feeds beside their expected results, hostile input,
and every third-party feed in ../shared/eval when it is present.

Set ``AGGREGATOR_UPDATE_EXPECTED=1`` to rewrite the ``*.expected.json`` files from the
current parser; review the diff before committing it.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.devdata import shared_path
from aggregator.errors import ParseError
from aggregator.parse import parse_feed
from aggregator.types import ErrorKind, ParsedEntry, ParsedFeed

FEEDS = Path(__file__).parent / "data" / "feeds"
EVAL_FEEDS = shared_path("eval", "feeds")
NO_EVAL = f"third-party feeds not present at {EVAL_FEEDS} (../shared/eval is optional)"
UPDATE_EXPECTED = os.environ.get("AGGREGATOR_UPDATE_EXPECTED") == "1"

# What no parsed field may contain: C0 controls but tab/newline/CR, surrogates, U+FFFE/F.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- helpers ---------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def as_json(feed: ParsedFeed) -> Any:
    """A ParsedFeed as the plain JSON data stored in ``*.expected.json``."""
    return _jsonable(dataclasses.asdict(feed))


def strings_of(feed: ParsedFeed) -> Iterator[str]:
    """Every text value of a parsed feed, entries included."""
    for value in (feed.format, feed.title, feed.link, feed.warning):
        if value is not None:
            yield value
    for entry in feed.entries:
        for field in dataclasses.fields(ParsedEntry):
            value = getattr(entry, field.name)
            if isinstance(value, str):
                yield value
            elif isinstance(value, tuple):
                yield from value


def assert_invariants(feed: ParsedFeed) -> None:
    """What every ParsedFeed promises, whatever the feed held."""
    for text in strings_of(feed):
        assert not CONTROL_RE.search(text), repr(text)
    assert feed.link is None or feed.link.startswith(("http://", "https://"))
    for entry in feed.entries:
        for url in (entry.link, entry.canonical_url, entry.source_url):
            assert url is None or url.startswith(("http://", "https://")), url
        for moment in (entry.published, entry.updated):
            assert moment is None or moment.utcoffset() == UTC.utcoffset(None)
        assert entry.guid is None or (entry.guid and entry.guid == entry.guid.strip())
        assert "\n" not in entry.title and entry.title == entry.title.strip()
        for html in (entry.summary_html, entry.content_html):
            assert_safe_html(html)


class _UrlCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "cite", "srcset", "action", "formaction", "data"):
                self.urls.append(value or "")
            if name.startswith("on"):
                self.handlers.append(name)


def assert_safe_html(html: str | None) -> None:
    if html is None:
        return
    lowered = html.lower()
    for banned in ("<script", "<style", "<iframe", "<object", "<embed", "<svg", "<form"):
        assert banned not in lowered, html
    collector = _UrlCollector()
    collector.feed(html)
    collector.close()
    assert not collector.handlers, html
    for url in collector.urls:
        assert url.startswith(("http://", "https://")), url


def read(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


# --- fixture feeds beside their expected results ---------------------------------------------

EXPECTED_FILES = sorted(path.name for path in FEEDS.glob("*.expected.json"))


@pytest.mark.parametrize("expected_name", EXPECTED_FILES)
def test_fixture_matches_expected(expected_name: str) -> None:
    expected_path = FEEDS / expected_name
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    body = read(expected_name.removesuffix(".expected.json"))
    try:
        feed = parse_feed(body, expected["headers"], expected["url"])
    except ParseError as exc:
        outcome: Any = {"error": {"kind": str(exc.kind), "message": str(exc)}}
    else:
        assert_invariants(feed)
        outcome = {"feed": as_json(feed)}
    if UPDATE_EXPECTED:
        updated = {"url": expected["url"], "headers": expected["headers"], **outcome}
        text = json.dumps(updated, indent=2, ensure_ascii=False) + "\n"
        expected_path.write_text(text, encoding="utf-8")
        return
    assert outcome == {key: value for key, value in expected.items() if key in ("feed", "error")}


def test_every_fixture_feed_has_an_expected_result() -> None:
    feeds = {p.name for p in FEEDS.iterdir() if not p.name.endswith(".expected.json")}
    assert feeds == {name.removesuffix(".expected.json") for name in EXPECTED_FILES}


# --- errors ----------------------------------------------------------------------------------

URL = "https://news.example.com/feed.xml"


@pytest.mark.parametrize("body", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf  \n"])
def test_empty_body_is_an_empty_body_error(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, {}, URL)
    assert caught.value.kind == ErrorKind.EMPTY_BODY
    assert URL in str(caught.value) and "empty" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (b"this is not a feed \x00\x01\x02", {}, "not a feed"),
        (b"<html><body><p>Hello</p></body></html>", {"content-type": "text/html"}, "HTML"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', {}, "invalid JSON"),
        (b"not json at all", {"content-type": "application/feed+json"}, "invalid JSON"),
        (b'{"title": "no version", "items": []}', {}, "not a JSON Feed"),
        (b'{"version": "https://example.com/v1", "items": []}', {}, "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', {}, "'items'"),
        (b'["https://jsonfeed.org/version/1"]', {"content-type": "application/json"}, "object"),
        (b"[" * 100_000 + b"]" * 100_000, {"content-type": "application/json"}, "JSON"),
        (b"<?xml version='1.0'?><catalog><book>x</book></catalog>", {}, "not a feed"),
        (b"<?xml version='1.0'?><rss version='2.0'><channel><ti", {}, "not a feed"),
        # Never a URL to fetch: the bytes are the document.
        (URL.encode(), {}, "not a feed"),
    ],
)
def test_non_feeds_raise_parse_error_naming_url_and_problem(
    body: bytes, headers: dict[str, str], problem: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, headers, URL)
    assert caught.value.kind == ErrorKind.PARSE_ERROR
    assert URL in str(caught.value)
    assert problem in str(caught.value)


def test_damaged_feed_that_names_itself_is_kept_with_a_warning() -> None:
    body = b"<rss version='2.0'><channel><title>Broken &amp; Co</title><link>/</link></chan>"
    feed = parse_feed(body, {"content-type": "application/rss+xml"}, URL)
    assert feed.entries == ()
    assert feed.title == "Broken & Co"
    assert feed.link == "https://news.example.com/"
    assert feed.warning is not None and "mismatched tag" in feed.warning


def test_well_formed_feed_without_items_or_title_is_a_valid_empty_feed() -> None:
    feed = parse_feed(b"<rss version='2.0'><channel></channel></rss>", {}, URL)
    assert (feed.format, feed.entries, feed.warning) == ("rss20", (), None)


def test_wrong_content_type_is_only_a_warning() -> None:
    body = read("empty-items.rss")
    feed = parse_feed(body, {"content-type": "text/html; charset=utf-8"}, URL)
    assert feed.title == "Quiet Town Herald"
    assert feed.warning is not None and "NonXMLContentType" in feed.warning


# --- safety ----------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a connection or a URL."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)  # how SAX opens external entities


@pytest.mark.usefixtures("no_network")
def test_external_entities_and_dtds_are_never_loaded() -> None:
    # xxe.rss declares entities naming file:///etc/passwd and a loopback URL.
    feed = parse_feed(read("xxe.rss"), {}, URL)
    everything = "\n".join(strings_of(feed))
    assert "root:" not in everything and "/bin/" not in everything
    assert [entry.link for entry in feed.entries] == ["https://xxe.example.com/1"]


@pytest.mark.usefixtures("no_network")
def test_entity_expansion_bomb_is_not_expanded() -> None:
    feed = parse_feed(read("entity-bomb.rss"), {}, URL)
    assert sum(len(text) for text in strings_of(feed)) < 1_000


@pytest.mark.usefixtures("no_network")
def test_parsing_a_url_shaped_body_fetches_nothing() -> None:
    with pytest.raises(ParseError):
        parse_feed(b"https://127.0.0.1:9/feed.xml", {}, URL)


def test_hostile_html_is_removed_from_every_field() -> None:
    feed = parse_feed(read("xss.rss"), {}, URL)
    assert_invariants(feed)
    everything = "\n".join(strings_of(feed)).lower()
    for banned in ("javascript", "vbscript", "data:", "alert(", "onerror", "onclick", "<script"):
        assert banned not in everything
    (entry,) = feed.entries
    assert (feed.title, entry.title, entry.author, entry.tags) == (
        "Hostile Times",
        "Breaking news",
        "Eve",
        ("World",),
    )
    assert entry.content_html is not None and "Body text survives." in entry.content_html
    links = re.findall(r"<a\b[^>]*>", (entry.summary_html or "") + entry.content_html)
    assert links and all('rel="noopener noreferrer"' in link for link in links)


def test_control_characters_are_stripped_from_every_field() -> None:
    feed = parse_feed(read("control-chars.rss"), {}, URL)
    assert_invariants(feed)
    assert feed.entries[0].title == "Null and [31mescape[0m in the title"


def test_lone_surrogates_and_nul_in_json_are_stripped() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "A\u0000B\ud800C",
            "items": [{"id": "x\udfff1", "title": "T\u0007", "content_html": "<p>a\u0000b</p>"}],
        }
    ).encode()
    feed = parse_feed(body, {}, URL)
    assert_invariants(feed)
    assert (feed.title, feed.entries[0].guid, feed.entries[0].title) == ("ABC", "x1", "T")
    assert feed.entries[0].content_html == "<p>ab</p>"


# --- links, dates, ttl -------------------------------------------------------------------------


def test_relative_links_resolve_against_content_location() -> None:
    body = (
        b"<rss version='2.0'><channel><title>t</title><link>/</link><item><title>a</title>"
        b"<link>story/1</link><description>&lt;a href='../x'&gt;x&lt;/a&gt;</description>"
        b"</item></channel></rss>"
    )
    headers = {"content-location": "/v2/feeds/main.xml"}
    feed = parse_feed(body, headers, "https://moved.example.com/old/feed")
    assert feed.link == "https://moved.example.com/"
    assert feed.entries[0].link == "https://moved.example.com/v2/feeds/story/1"
    assert 'href="https://moved.example.com/v2/x"' in (feed.entries[0].summary_html or "")


def test_guid_is_kept_as_written_not_resolved_against_the_feed_url() -> None:
    # isPermaLink defaults to true; feedparser would resolve "item-42" against the base.
    body = b"<rss version='2.0'><channel><item><guid>item-42</guid></item></channel></rss>"
    feed = parse_feed(body, {}, URL)
    assert feed.entries[0].guid == "item-42"


def test_dates_are_aware_utc() -> None:
    body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><title>a</title><pubDate>Sun, 19 May 2024 23:30:00 -0500</pubDate></item>"
        b"<item><title>b</title><pubDate>Sun, 19 May 2024 23:30:00 GMT</pubDate></item>"
        b"<item><title>c</title><pubDate>2024-05-19T23:30:00</pubDate></item>"
        b"<item><title>d</title><pubDate>31 February 2024</pubDate></item>"
        # A clock time without a zone is ambiguous by hours: better no time than a wrong one.
        b"<item><title>e</title><pubDate>Sun, 19 May 2024 23:30:00</pubDate></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, {}, URL)
    assert [entry.published for entry in feed.entries] == [
        datetime(2024, 5, 20, 4, 30, tzinfo=UTC),
        datetime(2024, 5, 19, 23, 30, tzinfo=UTC),
        datetime(2024, 5, 19, 23, 30, tzinfo=UTC),
        None,
        None,
    ]


def _rss_with(channel_extra: str) -> bytes:
    return (
        "<rss version='2.0' xmlns:sy='http://purl.org/rss/1.0/modules/syndication/'>"
        f"<channel><title>t</title>{channel_extra}</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("extra", "seconds"),
    [
        ("<ttl>60</ttl>", 3600),
        ("<ttl> 5 </ttl><sy:updatePeriod>daily</sy:updatePeriod>", 300),
        ("<ttl>soon</ttl>", None),
        ("<ttl>0</ttl>", None),
        ("<sy:updatePeriod>weekly</sy:updatePeriod>", 604_800),
        ("<sy:updateFrequency>4</sy:updateFrequency>", 21_600),  # daily by default
        (
            "<sy:updatePeriod>Hourly</sy:updatePeriod><sy:updateFrequency>60</sy:updateFrequency>",
            60,
        ),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("", None),
    ],
)
def test_ttl_seconds(extra: str, seconds: int | None) -> None:
    assert parse_feed(_rss_with(extra), {}, URL).ttl_seconds == seconds


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'\xef\xbb\xbf {"version": "https://jsonfeed.org/version/1.1", "items": []}', {}),
        (
            b'\n{"version":"https://jsonfeed.org/version/1","items":[]}',
            {"content-type": "text/plain"},
        ),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "items": []}'.encode("utf-16"),
            {"content-type": "application/feed+json"},
        ),
    ],
)
def test_json_feed_is_detected_by_body_or_content_type(
    body: bytes, headers: dict[str, str]
) -> None:
    assert parse_feed(body, headers, URL).format.startswith("json")


def test_json_feed_with_wrongly_typed_fields_still_parses() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": ["not", "a", "string"],
            "home_page_url": {"no": 1},
            "items": [
                {"id": True, "title": 5, "url": 1.5, "tags": "x", "authors": "y"},
                {"id": 7.0, "date_published": 12, "author": ["z"], "content_text": ["no"]},
            ],
        }
    ).encode()
    feed = parse_feed(body, {}, URL)
    assert (feed.title, feed.link) == (None, None)
    assert [(e.guid, e.title, e.link, e.tags, e.author) for e in feed.entries] == [
        (None, "", None, (), None),
        ("7.0", "", None, (), None),
    ]


# --- property tests --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_raise_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, {}, URL)
    except ParseError:
        return
    assert_invariants(feed)


ITEM_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=100, deadline=None)
@given(title=ITEM_TEXT, description=ITEM_TEXT, guid=ITEM_TEXT)
def test_arbitrary_field_text_never_breaks_the_invariants(
    title: str, description: str, guid: str
) -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [{"id": guid, "title": title, "content_html": description}],
        }
    ).encode("utf-8", errors="surrogatepass")
    assert_invariants(parse_feed(body, {}, URL))


# --- third-party corpora (read at run time, never copied into the repository) ----------------

# Every file of these must parse or raise ParseError; one test per file.
PER_FILE_CORPORA = ("fastfeedparser/benchmark_data", "reader-tests")
# feedparser's 2,000-odd conformance feeds: the same promise, checked in one test.
CONFORMANCE_CORPUS = "feedparser-tests"


def _corpus_files() -> list[Any]:
    if not EVAL_FEEDS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_EVAL), id="absent")]
    return [
        pytest.param(path, id=str(path.relative_to(EVAL_FEEDS)))
        for corpus in PER_FILE_CORPORA
        for path in sorted((EVAL_FEEDS / corpus).rglob("*"))
        if path.is_file()
    ]


@pytest.mark.parametrize("path", _corpus_files())
def test_corpus_feed_parses_or_raises_parse_error(path: Path) -> None:
    try:
        feed = parse_feed(path.read_bytes(), {}, "https://corpus.example.org/feed")
    except ParseError as exc:
        assert "https://corpus.example.org/feed" in str(exc)
        return
    assert_invariants(feed)


@pytest.mark.skipif(not EVAL_FEEDS.is_dir(), reason=NO_EVAL)
def test_feedparser_conformance_corpus_never_crashes() -> None:
    crashes = []
    for path in sorted((EVAL_FEEDS / CONFORMANCE_CORPUS).rglob("*.xml")):
        try:
            assert_invariants(parse_feed(path.read_bytes(), {}, URL))
        except ParseError:
            continue
        except Exception as exc:  # collect them all, to report every crash at once
            crashes.append(f"{path.relative_to(EVAL_FEEDS)}: {type(exc).__name__}: {exc}")
    assert not crashes, "\n".join(crashes)


def _manifest_rows() -> list[Any]:
    manifest = EVAL_FEEDS / "fastfeedparser" / "MANIFEST.tsv"
    if not manifest.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_EVAL), id="absent")]
    rows = csv.DictReader(manifest.read_text(encoding="utf-8").splitlines(), delimiter="\t")
    return [pytest.param(row, id=f"{row['category']}-{row['file']}") for row in rows]


FORMAT_PREFIX = {"rss": "rss", "rdf": "rss10", "atom": "atom", "json": "json"}


@pytest.mark.parametrize("row", _manifest_rows())
def test_manifest_feed_yields_its_item_count(row: dict[str, str]) -> None:
    body = (EVAL_FEEDS / "fastfeedparser" / "benchmark_data" / row["file"]).read_bytes()
    try:
        feed = parse_feed(body, {}, row["channel_link"] or "https://corpus.example.org/")
    except ParseError:
        # Only a broken feed without items may be refused; a news outlet's never.
        assert row["category"] != "news-outlet" and int(row["items"]) == 0
        return
    assert len(feed.entries) == int(row["items"])
    assert feed.format.startswith(FORMAT_PREFIX[row["format"]])


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("&#xD83D;&#xDE00;", "A \U0001f600 B"),  # an emoji written as a surrogate pair
        ("&#55357;&#56832;", "A \U0001f600 B"),
        ("&#xD800;", "A B"),
        ("&#57343;", "A B"),
        ("&#xDE00;&#xD83D;", "A B"),  # low before high: no pair, both dropped
        ("&#x110000;", "A B"),
        ("&#99999999999;", "A B"),
        ("&#" + "9" * 5000 + ";", "A B"),
        ("&#x1F600;", "A \U0001f600 B"),  # a plain reference is left to the parser
    ],
)
def test_references_to_surrogates_cost_that_character_not_the_feed(
    reference: str, expected: str
) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>A {reference} B</title><guid>g1</guid></item>"
        "<item><title>Second</title><guid>g2</guid></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, {}, URL)
    assert [e.title for e in feed.entries] == [expected, "Second"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("jane@news.example (Jane Doe)", "Jane Doe"),  # a long last label
        ("jane@bbc.co.uk (Jane Doe)", "Jane Doe"),
        ("Jane Doe", "Jane Doe"),
        ("Jane Doe (Reuters)", "Jane Doe (Reuters)"),  # not an address: kept as written
    ],
)
def test_rss_author_email_and_name_gives_the_name(written: str, expected: str) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>x</title><author>{written}</author><guid>g</guid></item>"
        "</channel></rss>"
    ).encode()
    assert parse_feed(body, {}, URL).entries[0].author == expected
