"""Pure feed renderers: one RSS 2.0 / Atom / JSON Feed 1.1 item per story cluster.

Each item names the story's original title, links to the first reporter's article, carries
a ``<source>`` naming the first reporter, and describes who else carried the story, when,
and as what. Its guid ``aggregator:cluster:<id>`` stays the same while coverage grows, so a
reader shows one item per story that updates in place.

Everything here is a function of its arguments: no clock, no I/O. Text is untrusted and is
cleaned of XML-invalid characters and escaped; only http(s) links are ever written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from aggregator.outputs.safety import as_utc, clean_text, esc, human_time, iso_z, safe_url
from aggregator.outputs.serialize import cluster_to_dict
from aggregator.outputs.story import (
    basis_phrase,
    chronological,
    item_link,
    lag_after,
    member_time,
    original_of,
    relation_label,
)
from aggregator.settings import HttpSettings
from aggregator.types import ArticleView, ClusterView

GUID_PREFIX = "aggregator:cluster:"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "aggregator"
UNTITLED = "(untitled story)"
#: ``updated`` of an empty feed without a channel date: fixed, so output stays reproducible.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# feedgen formats RSS dates by switching the process-wide locale to "C" and back. Two
# threads doing that at once can leave the wrong locale behind, and the web app renders in
# a thread pool, so RSS generation is serialized.
_RSS_LOCALE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Channel:
    """What a feed says about itself: its title, home page, own URL and description."""

    title: str
    link: str
    self_url: str
    description: str
    #: The feed's own "updated" time; defaults to the newest ``last_seen_at`` of its items.
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Item:
    """One cluster reduced to clean, safe feed fields (shared by the three formats)."""

    guid: str
    title: str
    link: str
    outlet: str
    source_url: str
    description: str
    published: datetime
    updated: datetime


def cluster_guid(cluster_id: int) -> str:
    """Return the item guid of a cluster: a non-permalink string ending in its id."""
    return f"{GUID_PREFIX}{cluster_id}"


def describe_cluster(c: ClusterView) -> str:
    """Return the item description as escaped HTML: first reporter and every outlet carrying it."""
    first = c.first_reporter
    parts = [
        f"<p>First reported by <strong>{esc(first.outlet)}</strong> on "
        f"{esc(human_time(first.at))} ({esc(basis_phrase(first.basis))}, confidence "
        f"{max(0.0, min(1.0, c.confidence)):.0%}). "
        f"{c.size} article{'s' if c.size != 1 else ''} from {len(c.outlets)} "
        f"outlet{'s' if len(c.outlets) != 1 else ''}.</p>"
    ]
    if c.credited_source:
        parts.append(
            f"<p>Credited source: <strong>{esc(c.credited_source)}</strong> "
            "(named by the earliest article; not a tracked outlet).</p>"
        )
    if c.members:
        original = original_of(c)
        members = chronological(c.members)
        items = "".join(_describe_member(m, c.title, original) for m in members)
        parts.append(f"<ul>{items}</ul>")
    else:
        parts.append(f"<p>Carried by: {esc(', '.join(c.outlets))}</p>")
    return "\n".join(parts)


def _describe_member(a: ArticleView, story_title: str, original: ArticleView | None) -> str:
    """One line per article: "<time> (+lag) — <outlet>: <relation>; credits X, Y — “title”"."""
    url = safe_url(a.url)
    name = f'<a href="{esc(url)}">{esc(a.outlet)}</a>' if url else esc(a.outlet)
    lag = lag_after(a, original)
    when = esc(human_time(member_time(a))) + (f" ({esc(lag)})" if lag else "")
    credits = f"; credits {esc(', '.join(a.credits))}" if a.credits else ""
    headline = f" — “{esc(a.title)}”" if a.title and a.title != story_title else ""
    return f"<li>{when} — {name}: {esc(relation_label(a))}{credits}{headline}</li>"


def _to_item(c: ClusterView, channel_link: str) -> _Item:
    link = item_link(c, channel_link)
    return _Item(
        guid=cluster_guid(c.id),
        title=clean_text(c.title).strip() or UNTITLED,
        link=link,
        outlet=clean_text(c.first_reporter.outlet).strip(),
        source_url=link,
        description=describe_cluster(c),
        published=as_utc(c.first_reporter.at),
        updated=as_utc(c.last_seen_at),
    )


def _generator(clusters: Sequence[ClusterView], channel: Channel) -> tuple[FeedGenerator, str]:
    """Build a FeedGenerator with the channel fields; return it with the cleaned home link."""
    home = safe_url(channel.link) or safe_url(channel.self_url) or "http://localhost/"
    title = clean_text(channel.title).strip() or GENERATOR
    fg = FeedGenerator()
    fg.id(home)
    fg.title(title)
    fg.description(clean_text(channel.description).strip() or title)
    # feedgen takes the RSS <link> from the last link added, so the home page goes last.
    fg.link(href=safe_url(channel.self_url) or home, rel="self")
    fg.link(href=home, rel="alternate")
    fg.generator(GENERATOR)
    fg.updated(_feed_updated(clusters, channel))
    return fg, home


def _feed_updated(clusters: Sequence[ClusterView], channel: Channel) -> datetime:
    if channel.updated is not None:
        return as_utc(channel.updated)
    return max((as_utc(c.last_seen_at) for c in clusters), default=EPOCH)


def render_rss(clusters: Sequence[ClusterView], channel: Channel) -> bytes:
    """Render ``clusters`` (in the given order) as an RSS 2.0 document."""
    fg, home = _generator(clusters, channel)
    for c in clusters:
        item = _to_item(c, home)
        fe = fg.add_entry(order="append")
        fe.guid(item.guid, permalink=False)
        fe.title(item.title)
        fe.link(href=item.link, rel="alternate")
        fe.description(item.description)
        fe.source(url=item.source_url, title=item.outlet)
        fe.published(item.published)
    with _RSS_LOCALE_LOCK:
        return bytes(fg.rss_str(pretty=True))


def render_atom(clusters: Sequence[ClusterView], channel: Channel) -> bytes:
    """Render ``clusters`` (in the given order) as an Atom 1.0 document."""
    fg, home = _generator(clusters, channel)
    for c in clusters:
        item = _to_item(c, home)
        fe = fg.add_entry(order="append")
        fe.guid(item.guid, permalink=False)
        fe.title(item.title)
        fe.link(href=item.link, rel="alternate")
        fe.content(item.description, type="html")
        if item.outlet:
            fe.author(name=item.outlet)
        fe.source(url=item.source_url, title=item.outlet)
        fe.published(item.published)
        fe.updated(item.updated)
    return bytes(fg.atom_str(pretty=True))


def render_json(clusters: Sequence[ClusterView], channel: Channel) -> bytes:
    """Render ``clusters`` (in the given order) as a JSON Feed 1.1 document (UTF-8 bytes)."""
    home = safe_url(channel.link) or safe_url(channel.self_url) or "http://localhost/"
    title = clean_text(channel.title).strip() or GENERATOR
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": title,
        "home_page_url": home,
        "description": clean_text(channel.description).strip() or title,
        "items": [_json_item(c, home) for c in clusters],
    }
    feed_url = safe_url(channel.self_url)
    if feed_url:
        document["feed_url"] = feed_url
    return _dump_json(document)


def _json_item(c: ClusterView, home: str) -> dict[str, object]:
    item = _to_item(c, home)
    # The cluster record without members: enough for a script to follow up via the API.
    extension = _clean_json(cluster_to_dict(replace(c, members=())))
    return {
        "id": item.guid,
        "url": item.link,
        "title": item.title,
        "content_html": item.description,
        "date_published": iso_z(item.published),
        "date_modified": iso_z(item.updated),
        "authors": [{"name": item.outlet}] if item.outlet else [],
        "_aggregator": extension,
    }


def _clean_json(value: object) -> object:
    """Clean every string inside ``value`` (a JSON-shaped structure)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _dump_json(document: dict[str, object]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, indent=2)
    # "<", ">" and "&" only ever occur inside JSON strings; escaping them keeps the document
    # inert even if a client mistakes it for HTML.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8")


#: The file name of each format, as served by the daemon and named in its self link.
FEED_FILES = {"rss": "feed.xml", "atom": "feed.atom", "json": "feed.json"}
_RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}


def default_channel(http: HttpSettings, fmt: str = "rss") -> Channel:
    """The channel of the cluster feed, addressed at the public base URL of the daemon."""
    base = (http.base_url or f"http://{http.host}:{http.port}").rstrip("/")
    return Channel(
        title="aggregator: story clusters",
        link=f"{base}/",
        self_url=f"{base}/{FEED_FILES[fmt]}",
        description="One item per story: who reported it first, who copied it, who credits whom.",
    )


def render(fmt: str, clusters: Sequence[ClusterView], channel: Channel) -> bytes:
    """Render the cluster feed in ``fmt`` ("rss", "atom" or "json")."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown feed format {fmt!r}; expected one of rss, atom, json") from None
    return renderer(clusters, channel)
