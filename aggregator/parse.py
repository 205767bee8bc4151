"""Parse stage: a fetched body and its headers → a typed :class:`ParsedFeed`.

RSS 0.9x/1.0/2.0 and Atom go through feedparser, always from bytes (``BytesIO``), so it
never fetches anything; JSON Feed is read by :mod:`aggregator.jsonfeed`. Every HTML field is
sanitized with nh3 here, every text field is plain and free of control characters, every
link is absolute http(s) or None, every time is aware UTC.

feedparser options, chosen on purpose:

* ``sanitize_html=False``: nh3 sanitizes afterwards (a real HTML5 parser, faster and
  stricter than feedparser's own pass); sanitizing twice would only cost time.
* No base URL and ``resolve_relative_uris=False``: feedparser would otherwise resolve a
  guid without ``isPermaLink="false"`` ("item-42") against the fetch URL, so an item's
  identity would change with the URL it was fetched from. Links are resolved here instead,
  each against the feed URL (or Content-Location) joined with the ``xml:base`` in scope,
  which feedparser records per element; URLs inside HTML are resolved the same way by the
  sanitizer, which saves feedparser's own rewriting pass over every body.
* Safety against XML attacks: feedparser removes the DOCTYPE before parsing and keeps only
  internal entities whose value is plain text, so external entities and DTDs are never loaded
  and entity expansion cannot explode; it also switches off the SAX parser's
  ``feature_external_ges``. ``tests/test_parse.py`` pins this behaviour.
* A character reference to a surrogate ("&#xD800;") or past U+10FFFF makes feedparser's
  fallback parser fail on the whole document, so such references are rewritten first: a
  high and a low surrogate written one after the other (how some systems write an emoji)
  become the character they encode; any other is dropped.
"""

from __future__ import annotations

import io
import re
from calendar import timegm
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from time import struct_time
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.exceptions import CharacterEncodingUnknown, ThingsNobodyCaresAboutButMe

from aggregator.errors import ParseError
from aggregator.jsonfeed import looks_like_json_feed, parse_json_feed
from aggregator.sanitize import absolute_http_url, sanitize_html, text_to_html
from aggregator.textclean import clean_line, plain_line, strip_bom, strip_control
from aggregator.types import ErrorKind, ParsedEntry, ParsedFeed

__all__ = ["parse_feed"]

# Without a Content-Type, feedparser falls back to ISO-8859-1 and flags the feed; the XML
# default (the declaration's encoding, else UTF-8) is right for a body that is not JSON.
DEFAULT_XML_CONTENT_TYPE = "application/xml"

SECONDS_PER_MINUTE = 60  # RSS <ttl> is in minutes
# sy:updatePeriod lengths (RDF Site Summary 1.0 Syndication module); a month taken as 30 days.
SY_PERIOD_SECONDS = {
    "hourly": 3600,
    "daily": 86_400,
    "weekly": 7 * 86_400,
    "monthly": 30 * 86_400,
    "yearly": 365 * 86_400,
}
SY_DEFAULT_PERIOD = "daily"  # the module's stated defaults
# A hint beyond this is nonsense (the scheduler clamps to 24 h anyway); the cap keeps a
# hostile "<ttl>" from overflowing an integer column downstream.
MAX_TTL_SECONDS = 365 * 86_400
HTML_SNIFF_BYTES = 1024  # how far into a rejected body we look for an HTML page

# "scheme:rest" without spaces: a dc:source that is a URI rather than a name.
_URI_LIKE_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*\Z")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMAIL_AND_NAME_RE = re.compile(r"\s*[^\s@()]+@[^\s@()]+\s*\((?P<name>[^()]+)\)\s*\Z")

# A numeric character reference, decimal or hexadecimal (the ";" is optional in HTML).
_CHAR_REF = rb"&#(?:[xX]0*([0-9a-fA-F]+)|0*([0-9]+));?"
_CHAR_REF_RE = re.compile(_CHAR_REF)
_CHAR_REF_PAIR_RE = re.compile(_CHAR_REF + _CHAR_REF)
_HIGH_SURROGATES = range(0xD800, 0xDC00)
_LOW_SURROGATES = range(0xDC00, 0xE000)
_MAX_CODE_POINT = 0x10FFFF


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse a feed body fetched from ``url`` (``headers`` with lower-case names).

    Raises ParseError with kind EMPTY_BODY for an empty or whitespace-only body, and
    PARSE_ERROR when the body is not an RSS, Atom or JSON feed.
    """
    if not strip_bom(body).strip():
        raise ParseError(f"{url}: empty body", kind=ErrorKind.EMPTY_BODY)
    base = _base_url(headers, url)
    if looks_like_json_feed(body, headers.get("content-type", "")):
        return parse_json_feed(body, url, base)
    result = _run_feedparser(body, headers, url)
    _reject_non_feed(result, body, url)
    return _feed_from(result, base)


def _base_url(headers: Mapping[str, str], url: str) -> str:
    """Base for relative links: the Content-Location header (itself relative to ``url``)."""
    location = headers.get("content-location")
    if location:
        try:
            return urljoin(url, strip_control(location).strip())
        except ValueError:  # a malformed header must not fail the feed
            return url
    return url


def _referenced(hexadecimal: bytes | None, decimal: bytes | None) -> int:
    """The code point a reference names (anything past U+10FFFF for overlong digits)."""
    if hexadecimal:
        return int(hexadecimal, 16) if len(hexadecimal) <= 8 else _MAX_CODE_POINT + 1
    digits = decimal or b"0"
    return int(digits) if len(digits) <= 10 else _MAX_CODE_POINT + 1


def _join_surrogate_pair(match: re.Match[bytes]) -> bytes:
    high, low = _referenced(match[1], match[2]), _referenced(match[3], match[4])
    if high in _HIGH_SURROGATES and low in _LOW_SURROGATES:
        code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return b"&#x%X;" % code
    return match[0]


def _drop_impossible(match: re.Match[bytes]) -> bytes:
    value = _referenced(match[1], match[2])
    impossible = value > _MAX_CODE_POINT or 0xD800 <= value <= 0xDFFF
    return b"" if impossible else match[0]


def without_impossible_references(body: bytes) -> bytes:
    """``body`` with character references to surrogates or past U+10FFFF rewritten: a
    surrogate pair becomes the character it encodes, anything else is dropped."""
    if b"&#" not in body:
        return body
    body = _CHAR_REF_PAIR_RE.sub(_join_surrogate_pair, body)
    return _CHAR_REF_RE.sub(_drop_impossible, body)


def _run_feedparser(body: bytes, headers: Mapping[str, str], url: str) -> Any:
    response_headers = {name.lower(): value for name, value in headers.items()}
    response_headers.setdefault("content-type", DEFAULT_XML_CONTENT_TYPE)
    response_headers.pop("content-location", None)  # see the module docstring
    try:
        return feedparser.parse(
            io.BytesIO(without_impossible_references(body)),
            response_headers=response_headers,
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except Exception as exc:
        # feedparser is the trust boundary for hostile bytes: whatever it trips over is a
        # property of this feed, and must become this feed's typed error, not a crash.
        raise ParseError(f"{url}: feed could not be parsed: {_describe(exc)}") from exc


def _describe(exc: object) -> str:
    return f"{type(exc).__name__}: {exc}"


def _get(mapping: Any, key: str) -> Any:
    # dict.get, not FeedParserDict.get: the latter maps "updated" to "published" with a
    # DeprecationWarning; we want each field exactly as the feed stated it.
    return dict.get(mapping, key) if isinstance(mapping, dict) else None


def _is_damaging(exc: object) -> bool:
    """Whether feedparser's bozo exception means the XML itself is broken.

    A wrong Content-Type or a corrected charset (feedparser's "ThingsNobodyCaresAboutButMe")
    leaves the document intact; an undecodable body or an XML syntax error does not.
    """
    if exc is None:
        return False
    benign = isinstance(exc, ThingsNobodyCaresAboutButMe)
    return not benign or isinstance(exc, CharacterEncodingUnknown)


def _reject_non_feed(result: Any, body: bytes, url: str) -> None:
    """Raise ParseError unless the feedparser result is a feed (possibly with no items)."""
    if _get(result, "entries"):
        return
    feed = _get(result, "feed") or {}
    bozo_exc = _get(result, "bozo_exception") if _get(result, "bozo") else None
    names_itself = bool(_title(feed) or _link(feed))
    # No root element feedparser knows (an HTML page, garbage) leaves "version" empty; a
    # damaged feed that yields no items must at least name itself to count as a feed.
    if _get(result, "version") and (not _is_damaging(bozo_exc) or names_itself):
        return
    head = strip_bom(body)[:HTML_SNIFF_BYTES].lower()
    if b"<html" in head or b"<!doctype html" in head:
        raise ParseError(f"{url}: not a feed: the body is an HTML page")
    problem = _describe(bozo_exc) if bozo_exc else "no RSS, Atom or JSON Feed document found"
    raise ParseError(f"{url}: not a feed: {problem}")


def _feed_from(result: Any, base: str) -> ParsedFeed:
    feed = _get(result, "feed") or {}
    entries = tuple(_entry_from(entry, base) for entry in _get(result, "entries") or [])
    bozo_exc = _get(result, "bozo_exception") if _get(result, "bozo") else None
    return ParsedFeed(
        format=str(_get(result, "version") or "unknown"),
        title=_title(feed) or None,
        link=_link(feed, base),
        entries=entries,
        ttl_seconds=_ttl_seconds(feed),
        warning=clean_line(_describe(bozo_exc)) if bozo_exc else None,
    )


def _title(feed: Any) -> str:
    """The feed's (or an entry's) title as one line of plain text."""
    title = _get(feed, "title")
    return plain_line(title) if isinstance(title, str) else ""


def _link(feed: Any, base: str | None = None) -> str | None:
    """The feed's (or an entry's) alternate link, absolute http(s), or None."""
    link = _get(feed, "link")
    if not link:
        alternates = [lk for lk in _links(feed) if _get(lk, "rel") in (None, "alternate")]
        link = _get(alternates[0], "href") if alternates else None
    return absolute_http_url(link if isinstance(link, str) else None, base)


def _links(item: Any) -> Sequence[Any]:
    links = _get(item, "links")
    return links if isinstance(links, list) else []


def _is_html(detail: Any) -> bool:
    return "html" in str(_get(detail, "type") or "")


def _scoped_base(detail: Any, base: str) -> str:
    """The base URL in scope for one element: its ``xml:base`` joined onto the feed's."""
    scoped = _get(detail, "base")
    if not isinstance(scoped, str) or not scoped:
        return base
    try:
        return urljoin(base, scoped)
    except ValueError:
        return base


def _html(value: Any, detail: Any, base: str) -> str | None:
    """An HTML field sanitized; a plain-text one escaped into paragraphs."""
    if not isinstance(value, str):
        return None
    if _is_html(detail):
        return sanitize_html(value, _scoped_base(detail, base))
    return text_to_html(value)


def _summary(entry: Any, base: str) -> str | None:
    # feedparser copies the first content into "summary" when an item has none, without
    # a "summary_detail": such a copy is not the feed's summary.
    detail = _get(entry, "summary_detail")
    if detail is None:
        return None
    return _html(_get(entry, "summary"), detail, base)


def _best_content(entry: Any, base: str) -> str | None:
    """The longest HTML body among the entry's ``content`` elements, else the first one."""
    contents = [c for c in _get(entry, "content") or [] if isinstance(_get(c, "value"), str)]
    if not contents:
        return None
    html_ones = [c for c in contents if _is_html(c)]
    best = max(html_ones, key=lambda c: len(_get(c, "value"))) if html_ones else contents[0]
    return _html(_get(best, "value"), best, base)


def _when(value: Any) -> datetime | None:
    """feedparser's ``*_parsed`` struct_time (always UTC) as an aware datetime."""
    if not isinstance(value, struct_time | tuple) or len(value) < 6:
        return None
    try:
        # timegm, not datetime(*value[:6]): it also accepts a leap second (tm_sec == 60).
        return _EPOCH + timedelta(seconds=timegm(tuple(value)))
    except (OverflowError, ValueError, TypeError):
        return None


def _author(entry: Any) -> str | None:
    raw = _get(entry, "author")
    # RSS's "email (Name)": read here, as feedparser cuts domains with a long last label
    # ("jane@news.example (Jane Doe)" gives it the name "ple (Jane Doe").
    written = _EMAIL_AND_NAME_RE.match(raw) if isinstance(raw, str) else None
    name = written["name"] if written else _get(_get(entry, "author_detail"), "name") or raw
    if not isinstance(name, str):
        return None
    return plain_line(name) or None


def _source(entry: Any, base: str) -> tuple[str | None, str | None]:
    """The item's stated origin: RSS ``<source url>``, Atom ``<source>``, ``dc:source``."""
    source = _get(entry, "source") or {}
    name = _title(source) or None
    url = absolute_http_url(_get(source, "href"), base) or _link(source, base)
    dc_source = _get(entry, "dc_source")
    if isinstance(dc_source, str) and dc_source.strip():
        if _URI_LIKE_RE.match(dc_source.strip()):  # a URL, kept only when http(s)
            url = url or absolute_http_url(dc_source.strip())
        else:
            name = name or plain_line(dc_source) or None
    return name, url


def _canonical(entry: Any, base: str) -> str | None:
    for link in _links(entry):
        if _get(link, "rel") == "canonical":
            return absolute_http_url(_get(link, "href"), base)
    return None


def _tags(entry: Any) -> tuple[str, ...]:
    terms = (plain_line(_get(tag, "term")) for tag in _get(entry, "tags") or [])
    return tuple(dict.fromkeys(term for term in terms if term))


def _guid(entry: Any) -> str | None:
    guid = _get(entry, "id")
    if not isinstance(guid, str):
        return None
    return strip_control(guid).strip() or None


def _entry_from(entry: Any, base: str) -> ParsedEntry:
    name, source_url = _source(entry, base)
    return ParsedEntry(
        guid=_guid(entry),
        link=_link(entry, base),
        title=_title(entry),
        author=_author(entry),
        summary_html=_summary(entry, base),
        content_html=_best_content(entry, base),
        published=_when(_get(entry, "published_parsed")),
        updated=_when(_get(entry, "updated_parsed")),
        source_name=name,
        source_url=source_url,
        canonical_url=_canonical(entry, base),
        tags=_tags(entry),
    )


def _positive_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _ttl_seconds(feed: Any) -> int | None:
    """RSS ``<ttl>`` (minutes), else ``sy:updatePeriod`` / ``sy:updateFrequency``."""
    ttl = _positive_int(_get(feed, "ttl"))
    if ttl is not None:
        return min(ttl * SECONDS_PER_MINUTE, MAX_TTL_SECONDS)
    period = _get(feed, "sy_updateperiod")
    frequency = _get(feed, "sy_updatefrequency")
    if period is None and frequency is None:
        return None
    seconds = SY_PERIOD_SECONDS.get(str(period or SY_DEFAULT_PERIOD).strip().lower())
    times = _positive_int(frequency) if frequency is not None else 1
    if seconds is None or times is None:
        return None
    return max(1, seconds // times)
