"""Finding an outlet's feeds from its homepage (``aggregator outlets add URL``).

    discover(url, fetch_settings) ─▶ Discovery(site title, homepage, verified feeds)

1. The page is fetched with ``Fetcher.fetch_page``: the same SSRF guard, size cap and
   deadlines as every other fetch (DESIGN.md §3). A page that is itself a feed is returned
   as the one candidate.
2. Otherwise its ``<link rel="alternate">`` tags of a feed type are read with the standard
   library's ``html.parser`` (relative ``href`` resolved against the page URL and ``<base>``).
3. When the page advertises none (or none of them is a feed), the usual places are tried:
   ``/feed``, ``/rss``, ``/rss.xml``, ``/atom.xml`` …, under the page's own path first.

Every candidate is fetched with ``fetch_feed`` and parsed with :func:`parse_feed`; only
bodies that really are feeds are returned, so a 200 "not found" page is never mistaken for
one. When nothing is found, :class:`NoFeedFound` names the page and what was tried.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from aggregator.errors import AggregatorError, BlockedDestination, FetchError, ParseError
from aggregator.fetch import Fetcher
from aggregator.outletsfile import site_name
from aggregator.parse import parse_feed
from aggregator.sanitize import absolute_http_url
from aggregator.settings import FetchSettings
from aggregator.textclean import clean_line
from aggregator.types import ErrorKind, Fetched, FetchFailure, FetchRequest, ParsedFeed

__all__ = [
    "FALLBACK_PATHS",
    "FEED_TYPES",
    "Discovery",
    "FeedCandidate",
    "NoFeedFound",
    "discover",
    "discover_feeds",
    "find_feed_links",
    "normalize_site_url",
    "page_site_title",
    "site_title",
]

#: ``type`` values of ``<link rel="alternate">`` that announce a feed.
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
#: Where sites put their feed when they do not say so, most common first.
FALLBACK_PATHS = (
    "feed",
    "rss",
    "rss.xml",
    "atom.xml",
    "feed.xml",
    "index.xml",
    "feed.json",
    "feeds/all.atom.xml",
    "feeds/posts/default",
    "index.rss",
    "rss/index.xml",
    "?feed=rss2",
)
#: Advertised feeds verified at most (a page listing 200 category feeds costs 12 fetches).
MAX_LINK_CANDIDATES = 12
#: Characters of the page read for ``<link>`` tags: they live in the head, a few KiB in.
MAX_SCAN_CHARS = 2 * 1024 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
#: Feeds a site advertises that are not its news: WordPress and others list these beside it.
_SECONDARY = re.compile(r"comment", re.I)
_BLOCKED = ErrorKind.BLOCKED_DESTINATION.value + ":"


class NoFeedFound(AggregatorError):
    """The page neither is a feed nor leads to one."""


@dataclass(frozen=True, slots=True)
class FeedCandidate:
    """A URL that was fetched and parsed as a feed."""

    url: str  # where the feed answered (after redirects)
    title: str | None
    format: str  # parse_feed's format: "rss20", "atom10", "json11", …
    source: str  # "direct" (the URL given), "link" (advertised), "fallback" (a usual path)
    advertised_title: str | None = None  # the <link title="…"> attribute, if any

    @property
    def secondary(self) -> bool:
        """A comments feed or the like: found, but not what an outlet should poll."""
        text = " ".join(filter(None, (self.url, self.title, self.advertised_title)))
        return bool(_SECONDARY.search(text))


@dataclass(frozen=True, slots=True)
class Discovery:
    """What ``discover`` found on one page."""

    requested: str  # the URL as given (normalized: a scheme added when missing)
    page_url: str  # where the page answered, after redirects
    site_title: str | None  # og:site_name, application-name or <title>, or the feed's title
    homepage: str | None  # the page, or the site a feed given directly links to
    feeds: tuple[FeedCandidate, ...]
    #: Candidates that were tried and refused, with the reason (for the user's information).
    rejected: tuple[tuple[str, str], ...] = ()

    @property
    def primary(self) -> tuple[FeedCandidate, ...]:
        """The feeds an outlet should poll: all but comments feeds (unless only those exist)."""
        main = tuple(f for f in self.feeds if not f.secondary)
        return main or self.feeds


@dataclass(slots=True)
class _PageInfo:
    base: str | None = None
    title: str | None = None
    site_name: str | None = None
    application_name: str | None = None
    links: list[tuple[str, str | None]] = field(default_factory=list)  # (href, title)


class _HeadScanner(HTMLParser):
    """Collects ``<base>``, ``<title>``, site-name ``<meta>`` and feed ``<link>`` tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.info = _PageInfo()
        self._title_parts: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and self.info.base is None and attributes.get("href"):
            self.info.base = attributes["href"]
        elif tag == "title" and self.info.title is None and self._title_parts is None:
            self._title_parts = []
        elif tag == "meta":
            self._meta(attributes)
        elif tag == "link":
            self._link(attributes)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_parts is not None:
            self.info.title = clean_line("".join(self._title_parts)) or None
            self._title_parts = None

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None:
            self._title_parts.append(data)

    def _meta(self, attributes: Mapping[str, str]) -> None:
        key = (attributes.get("property") or attributes.get("name") or "").strip().lower()
        content = clean_line(attributes.get("content")) or None
        if key == "og:site_name" and self.info.site_name is None:
            self.info.site_name = content
        elif key == "application-name" and self.info.application_name is None:
            self.info.application_name = content

    def _link(self, attributes: Mapping[str, str]) -> None:
        rel = attributes.get("rel", "").lower().split()
        media_type = attributes.get("type", "").split(";", 1)[0].strip().lower()
        href = attributes.get("href", "").strip()
        if "alternate" in rel and media_type in FEED_TYPES and href:
            self.info.links.append((href, clean_line(attributes.get("title")) or None))


def _decode(body: bytes, headers: Mapping[str, str]) -> str:
    """The page as text: the charset of Content-Type, else of a ``<meta>``, else UTF-8."""
    found = _CHARSET_PARAM.search(headers.get("content-type", ""))
    names = [found.group(1)] if found else []
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        names.append(meta.group(1).decode("ascii"))
    for name in names:
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        return body.decode(name, errors="replace")
    return body.decode("utf-8", errors="replace")


def _scan(body: bytes, headers: Mapping[str, str]) -> _PageInfo:
    scanner = _HeadScanner()
    scanner.feed(_decode(body, headers)[:MAX_SCAN_CHARS])
    scanner.close()
    return scanner.info


def find_feed_links(
    body: bytes, headers: Mapping[str, str], page_url: str
) -> list[tuple[str, str | None]]:
    """The feeds a page advertises, as (absolute URL, title), in document order, once each.

    ``href`` is resolved against the page URL and the page's ``<base href>``; only http(s)
    results are kept.
    """
    return _advertised(_scan(body, headers), page_url)


def _advertised(info: _PageInfo, page_url: str) -> list[tuple[str, str | None]]:
    base = absolute_http_url(info.base, page_url) or page_url
    found: dict[str, str | None] = {}
    for href, title in info.links:
        url = absolute_http_url(href, base)
        if url is not None:
            url = url.split("#", 1)[0]
            found.setdefault(url, title)
    return list(found.items())


def normalize_site_url(url: str) -> str:
    """The URL a user typed, with ``https://`` added when it has no scheme ("example.com")."""
    text = url.strip()
    if text and "://" not in text and not text.lower().startswith(("http:", "https:")):
        text = "https://" + text
    return text


def _fallbacks(page_url: str) -> list[str]:
    """The usual feed places: under the page's own directory first, then the site root."""
    parts = urlsplit(page_url)
    root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    directory = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    if not directory.endswith("/"):
        directory = directory.rsplit("/", 1)[0] + "/"
    bases = [directory, root] if directory != root else [root]
    urls: list[str] = []
    for base in bases:
        for path in FALLBACK_PATHS:
            url = urljoin(base, path)
            if url not in urls:
                urls.append(url)
    return urls


async def discover(
    url: str, settings: FetchSettings, *, fetcher: Fetcher | None = None
) -> Discovery:
    """Find the feeds of the site at ``url`` (see the module docstring).

    Raises FetchError (BlockedDestination for a refused address) when the page itself
    cannot be fetched, and NoFeedFound when it neither is nor leads to a feed.
    """
    if fetcher is None:
        async with Fetcher(settings) as own:
            return await discover(url, settings, fetcher=own)
    requested = normalize_site_url(url)
    page = await fetcher.fetch_page(requested)
    if isinstance(page, FetchFailure):
        if page.kind is ErrorKind.BLOCKED_DESTINATION:
            raise BlockedDestination(page.message)
        raise FetchError(page.kind, page.message, status=page.status)
    if not isinstance(page, Fetched):  # a 304 to a request without validators: not a page
        raise FetchError(ErrorKind.NETWORK_ERROR, f"{requested}: unexpected 304 Not Modified")

    direct = _as_feed(page)
    if direct is not None:
        candidate = FeedCandidate(page.url, direct.title, direct.format, "direct")
        homepage = direct.link if direct.link and direct.link != page.url else None
        return Discovery(requested, page.url, site_name(direct.title), homepage, (candidate,))

    info = _scan(page.body, page.headers)
    title = info.site_name or info.application_name or site_name(info.title)
    advertised = _advertised(info, page.url)[:MAX_LINK_CANDIDATES]
    feeds, rejected = await _verify(fetcher, [(u, t, "link") for u, t in advertised])
    if not feeds:
        fallbacks = [(u, None, "fallback") for u in _fallbacks(page.url)]
        feeds, tried = await _verify(fetcher, fallbacks)
        # A missing fallback is the normal case, not worth reporting; a refused one is.
        rejected += [(u, why) for u, why in tried if why.startswith(_BLOCKED)]
    if not feeds:
        raise NoFeedFound(_nothing_found(page.url, advertised, rejected))
    return Discovery(requested, page.url, title, page.url, tuple(feeds), tuple(rejected))


def discover_feeds(url: str, settings: FetchSettings) -> Discovery:
    """:func:`discover` for synchronous callers (the CLI)."""
    return asyncio.run(discover(url, settings))


async def site_title(
    url: str, settings: FetchSettings, *, fetcher: Fetcher | None = None
) -> str | None:
    """The site name a page gives (og:site_name, application-name, <title>), or None.

    Used when the feeds are given and only a name is wanted; any failure is just "no name".
    """
    if fetcher is None:
        async with Fetcher(settings) as own:
            return await site_title(url, settings, fetcher=own)
    page = await fetcher.fetch_page(normalize_site_url(url))
    if not isinstance(page, Fetched):
        return None
    info = _scan(page.body, page.headers)
    return info.site_name or info.application_name or site_name(info.title)


def page_site_title(url: str, settings: FetchSettings) -> str | None:
    """:func:`site_title` for synchronous callers (the CLI)."""
    return asyncio.run(site_title(url, settings))


async def _verify(
    fetcher: Fetcher, candidates: Sequence[tuple[str, str | None, str]]
) -> tuple[list[FeedCandidate], list[tuple[str, str]]]:
    """Fetch every candidate at once (the fetcher's per-host limit paces them).

    Returns the feeds, once each, and the (URL, reason) of every candidate refused.
    """
    rejected: list[tuple[str, str]] = []
    results = await asyncio.gather(*(fetcher.fetch_feed(FetchRequest(u)) for u, _, _ in candidates))
    feeds: dict[str, FeedCandidate] = {}
    for (url, advertised_title, source), result in zip(candidates, results, strict=True):
        if isinstance(result, FetchFailure):
            rejected.append((url, f"{result.kind.value}: {result.message}"))
            continue
        if not isinstance(result, Fetched):
            continue
        parsed = _as_feed(result)
        if parsed is None:
            rejected.append((url, "not a feed"))
        elif result.url not in feeds:  # /feed and /rss often redirect to one place
            feeds[result.url] = FeedCandidate(
                result.url, parsed.title, parsed.format, source, advertised_title
            )
    return list(feeds.values()), rejected


def _as_feed(fetched: Fetched) -> ParsedFeed | None:
    try:
        return parse_feed(fetched.body, fetched.headers, fetched.url)
    except ParseError:
        return None


def _nothing_found(
    page_url: str, advertised: Iterable[tuple[str, str | None]], rejected: Sequence[tuple[str, str]]
) -> str:
    links = list(advertised)
    if links:
        said = f"the {len(links)} feed link(s) it advertises did not answer with a feed"
    else:
        said = 'it advertises no feed (no <link rel="alternate"> of an RSS, Atom or JSON type)'
    tried = ", ".join("/" + path for path in FALLBACK_PATHS[:6])
    message = f"{page_url}: no feed found: {said}, and none of {tried} … is a feed"
    reasons = [why for _, why in rejected[:2]]
    if reasons:
        message += f" ({'; '.join(reasons)})"
    return message
