"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), which feedparser does not read.

Fields of the wrong JSON type are treated as absent, as a tolerant reader should; only a body
that is not JSON, or not a JSON Feed at all, is an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from aggregator.errors import ParseError
from aggregator.sanitize import absolute_http_url, sanitize_html, text_to_html
from aggregator.textclean import plain_line, strip_bom, strip_control
from aggregator.types import ParsedEntry, ParsedFeed

__all__ = ["JSON_CONTENT_TYPES", "looks_like_json_feed", "parse_json_feed"]

JSON_CONTENT_TYPES = frozenset({"application/feed+json", "application/json"})

# The spec's own "version" URL; "http:" is accepted too because real feeds carry it.
VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def looks_like_json_feed(body: bytes, content_type: str) -> bool:
    """True when the body should be read as JSON: it starts with ``{``, or the server said
    JSON and the body does not look like XML."""
    start = strip_bom(body).lstrip()[:1]
    if start == b"{":
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in JSON_CONTENT_TYPES and start != b"<"


def _load(body: bytes, url: str) -> Any:
    try:
        # JSON is UTF-8 (RFC 8259); a BOM or UTF-16/32 is tolerated, bad bytes replaced.
        text = body.decode(json.detect_encoding(body), errors="replace")
        return json.loads(text.removeprefix("\ufeff"))
    except RecursionError as exc:  # absurdly deep nesting, hostile or broken
        raise ParseError(f"{url}: invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise ParseError(f"{url}: invalid JSON: {exc}") from exc


def _format(document: Mapping[str, Any], url: str) -> str:
    version = document.get("version")
    if isinstance(version, str):
        for prefix in VERSION_PREFIXES:
            if version.startswith(prefix):
                digits = "".join(ch for ch in version[len(prefix) :] if ch.isdigit())
                # "1" → "json10", "1.1" → "json11", like feedparser's "rss20"/"atom10".
                return "json" + (digits + "0" if len(digits) == 1 else digits or "1")
    raise ParseError(f"{url}: not a JSON Feed: 'version' is not a jsonfeed.org version URL")


def _str(value: Any) -> str | None:
    """A JSON string field; None for any other type."""
    return value if isinstance(value, str) else None


def parse_iso_datetime(value: Any) -> datetime | None:
    """An RFC 3339 (or, leniently, RFC 822) date as aware UTC; None if absent or invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        if parsed.tzinfo is None:  # no offset stated: read as UTC, as feedparser does
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 pushed out of range by the offset
        return None


def _authors(item: Mapping[str, Any]) -> str | None:
    """Names from 1.1 ``authors`` (a list) or 1.0 ``author`` (an object), comma separated."""
    people = item.get("authors")
    if not isinstance(people, list):
        single = item.get("author")
        people = [single] if isinstance(single, dict) else []
    names = [plain_line(_str(p.get("name"))) for p in people if isinstance(p, dict)]
    return ", ".join(n for n in names if n) or None


def _tags(item: Mapping[str, Any]) -> tuple[str, ...]:
    tags = item.get("tags")
    if not isinstance(tags, list):
        return ()
    cleaned = (plain_line(tag) for tag in tags if isinstance(tag, str))
    return tuple(dict.fromkeys(tag for tag in cleaned if tag))


def _guid(item: Mapping[str, Any]) -> str | None:
    raw = item.get("id")
    # The spec: an id given as a number is coerced to a string.
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    return strip_control(raw).strip() or None


def _content(item: Mapping[str, Any], base: str) -> str | None:
    html_body = sanitize_html(_str(item.get("content_html")), base)
    return html_body or text_to_html(_str(item.get("content_text")))


def _entry(item: Mapping[str, Any], base: str) -> ParsedEntry:
    url = absolute_http_url(_str(item.get("url")), base)
    external = absolute_http_url(_str(item.get("external_url")), base)
    return ParsedEntry(
        guid=_guid(item),
        link=url or external,
        title=plain_line(_str(item.get("title"))),
        author=_authors(item),
        summary_html=text_to_html(_str(item.get("summary"))),
        content_html=_content(item, url or base),
        published=parse_iso_datetime(item.get("date_published")),
        updated=parse_iso_datetime(item.get("date_modified")),
        # external_url names the page the item is about (a link blog's source).
        source_url=external if url and external != url else None,
        tags=_tags(item),
    )


def parse_json_feed(body: bytes, url: str, base: str | None = None) -> ParsedFeed:
    """Parse a JSON Feed body fetched from ``url``; raise ParseError if it is not one.

    Relative URLs resolve against ``base`` (the response's Content-Location), else ``url``.
    """
    document = _load(body, url)
    if not isinstance(document, dict):
        raise ParseError(f"{url}: not a JSON Feed: the top level is not an object")
    feed_format = _format(document, url)
    items = document.get("items", [])
    if not isinstance(items, list):
        raise ParseError(f"{url}: not a JSON Feed: 'items' is not a list")
    base = base or url
    entries = tuple(_entry(item, base) for item in items if isinstance(item, dict))
    return ParsedFeed(
        format=feed_format,
        title=plain_line(_str(document.get("title"))) or None,
        link=absolute_http_url(_str(document.get("home_page_url")), base),
        entries=entries,
    )
