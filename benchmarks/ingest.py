"""The whole ingest path on a real SQLite file, stage by stage.

The corpus becomes RSS 2.0 feed bodies (``FEED_ITEMS`` items per feed, one feed per outlet,
full text in ``content:encoded``). Each body goes through ``parse_feed`` and then
``Ingester.ingest`` (normalize → boilerplate → fingerprint → credits → store the article →
index query → verify → cluster writes → index insert → provenance → commit), exactly as a
fetch cycle would after the fetch, on a fresh SQLite database migrated with
``store.upgrade()``.

Each stage is timed by wrapping the functions and methods that do it (the benchmark patches
them; the product is unchanged), counting exclusive time, so a stage nested in another is
not counted twice. Fetching is not part of it (fetch cycles are bound by politeness, not CPU).
"""

from __future__ import annotations

import html
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import func, select

import aggregator.ingest as ingest_module
import aggregator.placement as placement_module
from aggregator.boilerplate import Boilerplate
from aggregator.index import MemoryIndex
from aggregator.parse import parse_feed
from aggregator.pipeline import Pipeline
from aggregator.settings import DatabaseSettings, Settings
from aggregator.store import Batch, FeedOutcome, Store
from aggregator.store.models import ClusterRow
from aggregator.types import FeedState, OutletConfig
from benchmarks.common import Samples, StageClock, num, pct, quiet_gc, spread, table
from benchmarks.corpus import OUTLETS, Article, Corpus
from benchmarks.results import Section

FEED_ITEMS = 50
START = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
#: Simulated seconds between two articles' publication.
ARTICLE_SPACING = timedelta(seconds=30)
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def slug(outlet: str) -> str:
    return outlet.lower().replace(" ", "-")


def outlet_configs() -> list[OutletConfig]:
    return [
        OutletConfig(
            name=name,
            homepage=f"https://{slug(name)}.example/",
            aliases=(),
            feeds=(f"https://{slug(name)}.example/feed.xml",),
        )
        for name in OUTLETS
    ]


def _item(article: Article) -> str:
    site = f"https://{slug(article.outlet)}.example"
    published = format_datetime(START + article.doc_id * ARTICLE_SPACING, usegmt=True)
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in article.paragraphs)
    return (
        "<item>"
        f"<title>{html.escape(article.title, quote=False)}</title>"
        f"<link>{site}/news/{article.doc_id}</link>"
        f'<guid isPermaLink="false">{slug(article.outlet)}-{article.doc_id}</guid>'
        f"<pubDate>{published}</pubDate>"
        f"<dc:creator>{html.escape(article.outlet)} staff</dc:creator>"
        f"<description>{html.escape(article.paragraphs[0], quote=False)}</description>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        "</item>"
    )


def feed_body(outlet: str, items: list[Article]) -> bytes:
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{html.escape(outlet)}</title><link>https://{slug(outlet)}.example/</link>"
        f"<description>News from {html.escape(outlet)}</description><ttl>30</ttl>"
    )
    return (head + "".join(_item(a) for a in items) + "</channel></rss>").encode("utf-8")


def feeds(corpus: Corpus) -> list[tuple[str, int, bytes]]:
    """(outlet, last doc id, RSS body): each outlet's articles in chunks of FEED_ITEMS, in the
    order their newest item appeared."""
    by_outlet: dict[str, list[Article]] = {}
    for article in corpus.articles:
        by_outlet.setdefault(article.outlet, []).append(article)
    out = []
    for outlet, articles in by_outlet.items():
        for at in range(0, len(articles), FEED_ITEMS):
            chunk = articles[at : at + FEED_ITEMS]
            out.append((outlet, chunk[-1].doc_id, feed_body(outlet, chunk)))
    out.sort(key=lambda feed: feed[1])
    return out


def instrument(clock: StageClock) -> None:
    """Wrap every stage of the ingest path (see the module docstring)."""
    from sqlalchemy.engine import Connection

    clock.patch(ingest_module.Ingester, "ingest", "pipeline glue")
    clock.patch(ingest_module.Ingester, "_store_batch", "pipeline glue")
    clock.patch(ingest_module.Ingester, "_add_articles", "pipeline glue")
    clock.patch(ingest_module.Ingester, "normalize", "normalize (HTML → text, URLs, identity)")
    clock.patch(ingest_module, "normalize_entry", "normalize (HTML → text, URLs, identity)")
    clock.patch(Boilerplate, "prepare", "boilerplate (strip + learn)")
    clock.patch(Boilerplate, "export", "boilerplate (strip + learn)")
    clock.patch(ingest_module, "fingerprint_batch", "fingerprint")
    clock.patch(ingest_module, "extract_credits", "credits extraction")
    clock.patch(Batch, "insert_article", "store: insert articles")
    clock.patch(Batch, "outlet_id", "store: known-item lookups")
    clock.patch(Batch, "known_keys", "store: known-item lookups")
    clock.patch(ingest_module, "place_batch", "placement glue")
    clock.patch(MemoryIndex, "keys", "index query (keys, postings, within batch)")
    clock.patch(MemoryIndex, "query_found", "index query (keys, postings, within batch)")
    clock.patch(
        placement_module, "within_batch_found", "index query (keys, postings, within batch)"
    )
    clock.patch(placement_module, "count_flat", "index query (keys, postings, within batch)")
    clock.patch(placement_module, "_worth_verifying", "verify (place, decide)")
    clock.patch(placement_module, "place", "verify (place, decide)")
    clock.patch(Batch, "match_items", "store: known-item lookups")
    clock.patch(Batch, "standings", "store: placement reads (standings, sketches)")
    clock.patch(Batch, "representatives", "store: placement reads (standings, sketches)")
    clock.patch(Batch, "sketches", "store: placement reads (standings, sketches)")
    clock.patch(Batch, "open_cluster", "store: cluster writes")
    clock.patch(Batch, "join_cluster", "store: cluster writes")
    clock.patch(Batch, "merge_clusters", "store: cluster writes")
    clock.patch(MemoryIndex, "add_many", "index insert")
    clock.patch(ingest_module.Ingester, "_assess", "provenance (compute)")
    clock.patch(Batch, "member_facts", "store: provenance reads/writes")
    clock.patch(Batch, "apply_state", "store: provenance reads/writes")
    clock.patch(Batch, "save_outlet_memory", "store: feed state, outlet memory")
    clock.patch(Batch, "record_fetch", "store: feed state, outlet memory")
    clock.patch(Connection, "_commit_impl", "store: commit")


def _outcome(now: datetime) -> FeedOutcome:
    return FeedOutcome(
        fetched_at=now,
        status=200,
        next_fetch_at=now + timedelta(minutes=30),
        state=FeedState.OK,
        error_count=0,
        success=True,
        full_fetch=True,
        keep_validators=False,
    )


def ingest_all(
    bodies: list[tuple[str, int, bytes]], folder: Path, clock: StageClock | None
) -> tuple[float, int, int]:
    """Seconds to parse and ingest every feed body into a fresh SQLite file; articles stored;
    clusters stored."""
    url = f"sqlite:///{folder / 'bench.db'}"
    store = Store.open(url, check_schema=False)
    store.upgrade()
    outlets = outlet_configs()
    settings = Settings(database=DatabaseSettings(url=url))
    pipeline = Pipeline(store, settings, outlets, clock=lambda: START)
    pipeline.prepare()
    feed_ids = {o.name: store.ingest_feed(o.name, o.feeds[0], START) for o in outlets}
    parse = clock.wrap("parse (feedparser + nh3)", parse_feed) if clock else parse_feed
    stored = 0
    try:
        with quiet_gc():
            start = time.perf_counter()
            for outlet, last_id, body in bodies:
                now = START + last_id * ARTICLE_SPACING
                feed_url = f"https://{slug(outlet)}.example/feed.xml"
                parsed = parse(body, HEADERS, feed_url)
                stored += pipeline.ingester.ingest(
                    outlet,
                    parsed,
                    now,
                    feed_id=feed_ids[outlet],
                    feed_url=feed_url,
                    outcome=_outcome(now),
                )
            elapsed = time.perf_counter() - start
        with store.engine.connect() as conn:
            clusters = int(
                conn.scalar(
                    select(func.count())
                    .select_from(ClusterRow)
                    .where(ClusterRow.merged_into.is_(None))
                )
                or 0
            )
    finally:
        pipeline.close()
        store.close()
    return elapsed, stored, clusters


def run(
    corpus: Corpus, *, count: int, repeats: int = 2, log: Callable[[str], None] = print
) -> Section:
    started = time.perf_counter()
    subset = Corpus(corpus.articles[:count], corpus.source, corpus.real)
    bodies = feeds(subset)
    megabytes = sum(len(b) for _, _, b in bodies) / 1e6
    plain = Samples()
    clock = StageClock()
    total, stored_again, stored, clusters = 0.0, 0, 0, 0
    with tempfile.TemporaryDirectory(prefix="aggregator-bench-") as folder:
        for round_no in range(repeats):
            seconds, stored, clusters = ingest_all(bodies, Path(folder) / f"plain{round_no}", None)
            plain.add(seconds)
            log(f"  ingest: {stored:,} articles, {stored / seconds:,.0f}/s (uninstrumented)")
            if round_no == 0:
                instrument(clock)
                try:
                    total, stored_again, _ = ingest_all(bodies, Path(folder) / "timed", clock)
                finally:
                    clock.restore()
                log(f"  ingest: {stored_again / total:,.0f}/s (instrumented)")
    accounted = sum(clock.seconds.values())
    stages = dict(clock.seconds)
    stages["benchmark loop (unaccounted)"] = max(0.0, total - accounted)
    rows = [
        [
            stage,
            f"{1e6 * seconds / stored_again:,.0f}",
            pct(seconds / total),
            num(stored_again / seconds) if seconds > 0 else "—",
        ]
        for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1])
    ]
    rows.append(["total", f"{1e6 * total / stored_again:,.0f}", "100 %", num(stored_again / total)])
    rate = stored / plain.median
    store_share = sum(s for k, s in stages.items() if k.startswith("store")) / total
    body = f"""
{len(bodies):,} RSS feeds ({FEED_ITEMS} items each, {megabytes:,.0f} MB, {len(OUTLETS)} outlets) of
the first {count:,} corpus articles; `parse_feed` then `Ingester.ingest` into a fresh SQLite
file (WAL, one transaction per feed), one core; {clusters:,} clusters stored.

| run | articles stored | seconds | articles/s |
| --- | ---: | ---: | ---: |
| uninstrumented, median of {len(plain.values)} | {stored:,} | {plain.median:,.1f} | {rate:,.0f} |
| instrumented (stage timers) | {stored_again:,} | {total:,.1f} | {stored_again / total:,.0f} |

Stage shares (instrumented run; exclusive time; "alone" is the rate the stage would allow
if it were the only cost). Spread of the uninstrumented runs: {spread(plain)}.
All SQLite work together: {pct(store_share)}.

{table(["stage", "µs per article", "share", "alone, articles/s"], rows)}

{clock.missing_note()}
"""
    return Section("ingest", "Whole ingest path", body, [], time.perf_counter() - started)
