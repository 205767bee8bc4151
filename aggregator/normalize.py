"""Normalize stage: a :class:`ParsedEntry` → an :class:`Article` ready to fingerprint and store.

Canonical URLs, clean text, UTC times and the one identity rule live here. The stage is
pure: no I/O, no clock (``now`` is passed in), no settings read from globals.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from aggregator.sanitize import HTTP_SCHEMES, absolute_http_url
from aggregator.textclean import clean_line, collapse_whitespace, html_to_text, strip_control
from aggregator.types import Article, ParsedEntry

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonicalize_url",
    "content_hash",
    "content_hash_of",
    "fold",
    "guid_key",
    "html_to_text",
    "identity_key",
    "link_key",
    "normalize_entry",
]

# Query parameters that say how a reader arrived, never which page they read: dropped from
# canonical URLs, so that they never make two articles of one. Matched case-insensitively.
# Generic names ("ref", "source", "id", "s", "p") are deliberately absent: sites route on them.
TRACKING_PREFIXES = ("utm_",)  # Google Analytics campaign tags: utm_source, utm_medium, …
TRACKING_PARAMS = frozenset(
    {
        "fbclid",  # Facebook click id
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid",  # Google Ads / DoubleClick
        "_ga", "_gl",  # Google Analytics cross-domain linker
        "srsltid",  # Google Merchant Center
        "msclkid",  # Microsoft Advertising
        "ocid",  # Microsoft Start / MSN
        "yclid",  # Yandex Direct
        "igshid",  # Instagram share
        "mc_cid", "mc_eid",  # Mailchimp
        "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking",  # HubSpot
        "mkt_tok",  # Marketo
        "oly_anon_id", "oly_enc_id",  # Omeda
        "vero_id", "vero_conv",  # Vero
        "s_cid", "s_kwcid",  # Adobe Analytics
        "wt_mc", "wt.mc_id", "wt_zmc",  # Webtrends
        "cmpid", "cmp",  # campaign ids (Washington Post, The Guardian's CMP=…)
        "icid",  # internal campaign id (CNN, The Christian Science Monitor)
        "ncid",  # Yahoo News
        "guccounter", "guce_referrer", "guce_referrer_sig",  # Yahoo consent redirect
        "smid", "emc",  # The New York Times share / e-mail campaign
        "ref_src", "ref_url",  # Twitter/X embeds
        "at_medium", "at_campaign", "at_platform", "at_format", "at_link",  # AT Internet (BBC)
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",  # comScore (BBC)
        "maca",  # Deutsche Welle RSS
        "traffic_source",  # Al Jazeera RSS
    }
)  # fmt: skip

DEFAULT_PORTS = {"http": 80, "https": 443}

# What URL parsers (WHATWG, urllib) strip from both ends: C0 controls and space. Not
# str.strip()'s wider notion of whitespace, which would make canonicalization not idempotent.
_URL_EDGE = "".join(map(chr, range(0x21)))
_SPACE_RE = re.compile("[\x00-\x20\x7f]")

# An identity longer than this (a hostile or broken guid) is stored as its SHA-256 instead:
# index keys must stay small (PostgreSQL refuses B-tree entries above ~2.7 kB).
MAX_IDENTITY_CHARS = 512

# When an item has no title, the first words of its text stand in for one.
FALLBACK_TITLE_WORDS = 12
ELLIPSIS = "…"


def _canonical_host(hostname: str) -> str:
    host = hostname.rstrip(".")  # "example.com." names the same host as "example.com"
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid IDN: keep it (lower-cased) rather than lose the URL
        return host


def _encode_spaces(text: str) -> str:
    """Percent-encode spaces and DEL, as browsers do: a URL must not end in whitespace."""
    return _SPACE_RE.sub(lambda match: f"%{ord(match.group()):02X}", text)


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _strip_tracking(query: str) -> str:
    """The query without tracking parameters and empty pieces, other pairs kept verbatim."""
    return "&".join(pair for pair in query.split("&") if pair and not _is_tracking(pair))


def _canonical_netloc(parts: SplitResult, scheme: str) -> str | None:
    """Lower-case IDNA host (IPv6 in brackets), userinfo kept, default port dropped."""
    host = _canonical_host(parts.hostname or "")
    if not host:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if "@" in parts.netloc:
        host = f"{parts.netloc.rpartition('@')[0]}@{host}"
    port = parts.port  # checked by the caller: a number in 0..65535 or None
    return host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"


def canonicalize_url(url: str | None) -> str | None:
    """The canonical form of an http(s) URL, or None for any other URL (or garbage).

    Lower-case scheme and host, IDNA host, no default port, no fragment, no tracking
    parameters (``utm_*`` and :data:`TRACKING_PARAMS`; the others keep their order and
    spelling), an empty path becomes ``/``, spaces are percent-encoded. Idempotent.
    """
    if not url:
        return None
    try:
        parts = urlsplit(strip_control(url).strip(_URL_EDGE))
        _ = parts.port  # ValueError when not a number in 0..65535
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    netloc = _canonical_netloc(parts, scheme) if scheme in HTTP_SCHEMES else None
    if not netloc:
        return None
    path = _encode_spaces(parts.path) or "/"
    query = _encode_spaces(_strip_tracking(parts.query))
    return urlunsplit((scheme, netloc, path, query, ""))


def fold(text: str) -> str:
    """Text as compared for identity: NFKC, case-folded, whitespace collapsed."""
    return collapse_whitespace(unicodedata.normalize("NFKC", strip_control(text)).casefold())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def _bounded(kind: str, value: str) -> str:
    if len(value) > MAX_IDENTITY_CHARS:
        return f"{kind}:sha256:{_sha256(value)}"
    return f"{kind}:{value}"


def guid_key(guid: str | None) -> str | None:
    """``"guid:<guid>"`` (an http(s) guid canonicalized first), or None without a guid."""
    clean_guid = _clean_guid(guid)
    if not clean_guid:
        return None
    return _bounded("guid", canonicalize_url(clean_guid) or clean_guid)


def link_key(url: str | None) -> str | None:
    """``"url:<canonical url>"``, or None when ``url`` is not an http(s) URL."""
    canonical = canonicalize_url(url)
    return _bounded("url", canonical) if canonical else None


def content_hash(title: str, text: str) -> str:
    """SHA-256 hex of the normalized title and text: what an item says, not where it is."""
    return _sha256(fold(title) + "\n" + fold(text))


def content_hash_of(article: Article) -> str:
    """content_hash() of an article's title and text."""
    return content_hash(article.title, article.text)


def identity_key(*, guid: str | None, url: str | None, title: str, text: str) -> str:
    """The one identity rule: guid → canonical link → hash of title and text.

    Returns ``"guid:<guid>"`` (a guid that is an http(s) URL is canonicalized first, so
    tracking parameters never make two articles), ``"url:<canonical url>"`` or
    ``"hash:<sha256 hex of the normalized title and text>"``. Keys are unique within an
    outlet; a value over MAX_IDENTITY_CHARS is replaced by its SHA-256 (``guid:sha256:…``).
    This is the rule for an item alone; aggregator.identity refines it within a document
    and against what the outlet already has.
    """
    return guid_key(guid) or link_key(url) or "hash:" + content_hash(title, text)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # a naive time from a careless caller: read it as UTC
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _fallback_title(text: str) -> str:
    words = text.split()
    title = " ".join(words[:FALLBACK_TITLE_WORDS])
    return title + ELLIPSIS if len(words) > FALLBACK_TITLE_WORDS else title


def _clean_guid(guid: str | None) -> str | None:
    """The guid as written, less control characters and surrounding whitespace."""
    if not guid:
        return None
    return strip_control(guid).strip() or None


def _optional_line(value: str | None) -> str | None:
    return clean_line(value) or None


def _body(entry: ParsedEntry) -> tuple[str, str, str | None]:
    """(text, summary, html): the longer of content and summary, as text and as HTML."""
    summary = html_to_text(entry.summary_html) if entry.summary_html else ""
    content = html_to_text(entry.content_html) if entry.content_html else ""
    if len(content) > len(summary):
        return content, summary, entry.content_html
    return summary, summary, entry.summary_html or entry.content_html


def normalize_entry(entry: ParsedEntry, *, outlet: str, feed_url: str, now: datetime) -> Article:
    """Normalize one parsed entry of ``outlet``'s feed ``feed_url``, first seen at ``now``.

    ``entry``'s HTML fields must already be sanitized (the parse stage does it).
    """
    text, summary, body_html = _body(entry)
    title = clean_line(entry.title) or _fallback_title(text)
    guid = _clean_guid(entry.guid)
    url = absolute_http_url(entry.link)
    published = entry.published or entry.updated
    return Article(
        outlet=outlet,
        feed_url=feed_url,
        identity_key=identity_key(guid=guid, url=url, title=title, text=text),
        guid=guid,
        url=url,
        canonical_url=canonicalize_url(entry.canonical_url) or canonicalize_url(url),
        title=title,
        text=text,
        summary=summary,
        content_html=strip_control(body_html) if body_html else None,
        author=_optional_line(entry.author),
        published_at=_utc(published) if published else None,
        first_seen_at=_utc(now),
        source_name=_optional_line(entry.source_name),
        source_url=absolute_http_url(entry.source_url),
        tags=tuple(tag for tag in (clean_line(t) for t in entry.tags) if tag),
    )
