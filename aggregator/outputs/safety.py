"""Small helpers every renderer uses on untrusted feed text: clean, escape, vet links.

Feed text comes from outlets we do not control. Before anything is written into XML, HTML
or JSON it goes through one of these, so a title such as ``<script>`` stays text, a
``javascript:`` link never becomes a link, and a NUL byte never breaks an XML serializer.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

# Characters XML 1.0 forbids (C0 controls other than tab, LF, CR; U+FFFE/U+FFFF) plus
# surrogates, which a Python str can only hold unpaired and UTF-8 cannot encode. DEL and
# the C1 controls are legal XML but invisible garbage in a title, so they go as well.
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

SAFE_SCHEMES = frozenset({"http", "https"})


def clean_text(text: str | None) -> str:
    """Return ``text`` without the characters XML, HTML and UTF-8 cannot carry."""
    if not text:
        return ""
    return _INVALID_CHARS.sub("", text)


# Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): in HTML they let
# a title reorder how the text beside it reads ("Trojan Source" spoofing), so HTML we write
# (pages, the HTML body of feed items) drops them; plain-text fields and JSON keep them.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def esc(text: str | None) -> str:
    """Clean and HTML-escape ``text`` for use in element content or a quoted attribute
    (bidi overrides dropped: see _BIDI_CONTROLS)."""
    return html.escape(_BIDI_CONTROLS.sub("", clean_text(text)), quote=True)


def safe_url(url: str | None) -> str | None:
    """Return the cleaned ``url`` when it is an absolute http(s) URL with a host, else None.

    Browsers ignore leading whitespace and control characters in ``href``; cleaning and
    stripping first means " javascript:…" is judged by the scheme a browser would see.
    """
    cleaned = clean_text(url).strip()
    if not cleaned or any(ch.isspace() for ch in cleaned):
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname:
        return None
    return cleaned


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive value is taken to be UTC already (as SQLite hands back)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_z(value: datetime | None) -> str | None:
    """Format ``value`` as ISO-8601 UTC to the second with a "Z" suffix; None stays None."""
    if value is None:
        return None
    return as_utc(value).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def human_time(value: datetime | None) -> str:
    """Format ``value`` for people: ``2024-05-01 12:00 UTC`` (empty for None)."""
    if value is None:
        return ""
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")
