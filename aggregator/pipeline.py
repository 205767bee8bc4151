"""The one place that joins I/O and the pure stages; reads top to bottom like the data flow.

    claim due feeds → fetch → parse → [full text] → normalize → fingerprint → cluster
                    → provenance → store

Per-feed problems become results (a typed error on that feed), never exceptions that stop
the other feeds. A feed's batch is one transaction: its articles, the clusters they touch
and its new validators commit together or not at all.

Full text (``fetch.full_text``): before the batch, on the event loop, the pages of a feed's
new summary-only items are fetched through the same guarded Fetcher and their text is
extracted in a thread of its own; the batch then stores that text in place of the summary.
No transaction is open while a page is fetched, and a page that fails keeps the summary.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aggregator import schedule
from aggregator.boilerplate import Boilerplate
from aggregator.credits import AliasTable
from aggregator.errors import ParseError
from aggregator.extract import needs_full_text
from aggregator.fetch import Fetcher
from aggregator.fingerprint import fingerprint_batch, version_of
from aggregator.fulltext import FullTexts, page_texts
from aggregator.identity import ItemMatch, repeat_since
from aggregator.index import build_index
from aggregator.ingest import Ingester
from aggregator.metrics import Metrics
from aggregator.parse import parse_feed
from aggregator.settings import Settings
from aggregator.store import DueFeed, FeedOutcome, Store
from aggregator.types import (
    Article,
    FeedState,
    Fetched,
    FetchFailure,
    FetchRequest,
    FetchResult,
    Fingerprint,
    NotModified,
    OutletConfig,
    ParsedFeed,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: A cycle outcome that is not the feed's fault: our store refused the batch.
STORE_ERROR = "store_error"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class FeedReport:
    """What happened to one feed in a cycle."""

    url: str
    outcome: str  # "ok", "not_modified" or an ErrorKind value
    items: int = 0
    new_articles: int = 0
    message: str | None = None
    full_texts: int = 0  # new articles whose text came from their page, not the feed


@dataclass(slots=True)
class CycleReport:
    feeds: list[FeedReport] = field(default_factory=list)

    @property
    def new_articles(self) -> int:
        return sum(f.new_articles for f in self.feeds)

    @property
    def failures(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.outcome not in {"ok", "not_modified"}]

    @property
    def store_errors(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.outcome == STORE_ERROR]


@dataclass(frozen=True, slots=True)
class _PagePlan:
    """The new summary-only articles of one fetched feed whose pages are worth a request."""

    parsed: ParsedFeed
    articles: Sequence[Article]


class Pipeline:
    """Owns the candidate index; runs fetch cycles and ingests feed bodies."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        outlets: Sequence[OutletConfig],
        *,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.outlets = {o.name: o for o in outlets}
        self.aliases = AliasTable.from_outlets(outlets)
        self.clock = clock
        self.rng = rng or random.Random()
        self.metrics = metrics or Metrics.create()
        self.index = build_index(settings.dedup, settings.redis, clock)
        self.ingester = Ingester(
            store, settings, self.index, aliases=self.aliases, metrics=self.metrics, clock=clock
        )
        # One worker does all processing: the index and SQLite want a single writer.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aggregator-process")
        # Article-page extraction (CPU, 25-40 ms a page) runs beside it, not on the event loop.
        self._extractor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aggregator-extract")

    # --- start-up ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Sync outlets into the store, refresh stale signatures, fill the index."""
        now = self.clock()
        self.store.sync_outlets(list(self.outlets.values()), now)
        self.ingester.boilerplate = Boilerplate(self.store.outlet_memories())
        self._refresh_signatures()
        since = now - self.settings.dedup.window
        for rows in self.store.index_rows(since, self.settings.dedup.min_tokens):
            ids = [article_id for article_id, _, _ in rows]
            self.index.add_many(ids, [fp for _, fp, _ in rows], [seen for _, _, seen in rows])
        self.metrics.index_size.set(len(self.index))

    def _refresh_signatures(self) -> None:
        """Recompute every stored signature when the fingerprint parameters changed."""
        version = version_of(self.settings.dedup)
        stored = self.store.get_meta("fingerprint_version")
        if stored != version:
            if stored is not None:
                log.info("fingerprint parameters changed (%s → %s): rebuilding", stored, version)
                count = self.store.refingerprint(self._refingerprint)
                log.info("recomputed %d signatures", count)
            self.store.set_meta("fingerprint_version", version)

    def _refingerprint(self, texts: list[tuple[str, str]]) -> list[Fingerprint]:
        stripped = [self.ingester.boilerplate.strip(outlet, text) for outlet, text in texts]
        return fingerprint_batch(stripped, self.settings.dedup)

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        self._extractor.shutdown(wait=True)

    # --- a fetch cycle -----------------------------------------------------------------

    async def run_cycle(self, fetcher: Fetcher, *, everything: bool = False) -> CycleReport:
        """Fetch every due feed (or every feed) once and process each as it arrives."""
        now = self.clock()
        self.index.prune(now)
        rules = self.settings.schedule
        due = self.store.claim_due(
            now, rules.lease, everything=everything, slack=schedule.CLOCK_SLACK
        )
        report = CycleReport()
        loop = asyncio.get_running_loop()

        async def one(feed: DueFeed) -> None:
            result = await fetcher.fetch_feed(self._request_for(feed, now))
            self._count_fetch(result)
            full = await self._fetch_full_texts(fetcher, feed, result)
            report.feeds.append(
                await loop.run_in_executor(self._worker, self.process, feed, result, full)
            )

        try:
            await asyncio.gather(*(one(feed) for feed in due))
        finally:
            recorded = {r.url for r in report.feeds if r.outcome != STORE_ERROR}
            self._release([f.id for f in due if f.url not in recorded])
        self.metrics.cycles.inc()
        self.metrics.last_cycle.set(self.clock().timestamp())
        self.metrics.index_size.set(len(self.index))
        return report

    def _release(self, feed_ids: list[int]) -> None:
        """Give back leases of feeds whose fetch was not recorded (best effort)."""
        try:
            self.store.release(feed_ids)
        except Exception:
            log.exception(
                "could not release %d feed leases; they expire on their own", len(feed_ids)
            )

    def _request_for(self, feed: DueFeed, now: datetime) -> FetchRequest:
        full = schedule.needs_full_refetch(feed.last_full_fetch_at, now, self.settings.schedule)
        return FetchRequest(feed.url, feed.etag, feed.last_modified, force_full=full)

    def _count_fetch(self, result: FetchResult) -> None:
        outcome = {Fetched: "ok", NotModified: "not_modified"}.get(type(result))
        if isinstance(result, FetchFailure):
            outcome = result.kind.value
        self.metrics.fetches.labels(outcome=outcome or "ok").inc()
        self.metrics.fetch_seconds.observe(result.elapsed)

    # --- full text: article pages, fetched before the batch ----------------------------

    async def _fetch_full_texts(
        self, fetcher: Fetcher, feed: DueFeed, result: FetchResult
    ) -> FullTexts | None:
        """The texts of a feed's new summary-only articles, from their pages; best effort.

        Runs on the event loop between the feed's fetch and its batch: the worker parses
        the feed and looks up which items are new (a short read, no transaction kept),
        then at most ``full_text_max_pages`` pages are fetched through ``fetcher`` (its
        guard, deadlines, size caps and per-host limits) and extracted off the loop.
        """
        if not self.settings.fetch.full_text or not isinstance(result, Fetched):
            return None
        loop = asyncio.get_running_loop()
        plan = await loop.run_in_executor(self._worker, self._plan_pages, feed, result)
        if plan is None:
            return None
        texts = await page_texts(fetcher, plan.articles, self._extractor, self.metrics)
        if plan.articles:
            log.info(
                "feed %s: full text for %d of %d new summary-only articles",
                feed.url,
                len(texts),
                len(plan.articles),
            )
        return FullTexts(plan.parsed, texts)

    def _plan_pages(self, feed: DueFeed, result: Fetched) -> _PagePlan | None:
        """Parse the feed and pick the pages to fetch; None leaves it all to ``process``."""
        try:
            parsed = parse_feed(result.body, result.headers, result.url)
            items = self.ingester.normalize(parsed, feed.outlet, feed.url, result.fetched_at)
            chosen = [(a, k) for a, k in items if needs_full_text(a)]
            wanted: list[Article] = []
            if chosen:
                # A read-only look in a short transaction of its own: it is closed before
                # any page is requested.
                keys = [k for _, k in chosen]
                with self.store.batch() as batch:
                    outlet_id = batch.outlet_id(feed.outlet)
                    found = (
                        batch.match_items(outlet_id, keys, since=repeat_since(result.fetched_at))
                        if outlet_id is not None
                        else [ItemMatch(k.key, known=False) for k in keys]
                    )
                wanted = [a for (a, _), m in zip(chosen, found, strict=True) if not m.known]
        except Exception:  # a parse error is process()'s to record; a store error too
            log.debug("feed %s: no full text this time", feed.url, exc_info=True)
            return None
        limit = max(0, self.settings.fetch.full_text_max_pages)
        if len(wanted) > limit:
            log.info(
                "feed %s: %d new summary-only articles, pages fetched for the first %d",
                feed.url,
                len(wanted),
                limit,
            )
        return _PagePlan(parsed, wanted[:limit])

    def process(
        self, feed: DueFeed, result: FetchResult, full: FullTexts | None = None
    ) -> FeedReport:
        """Turn one fetch result into stored state; never raises.

        ``full`` carries the feed as already parsed and the texts found on its articles'
        pages (see :meth:`_fetch_full_texts`). A problem of the feed becomes its typed error.
        A problem of our own store (the database went away, a bug) is logged and reported
        as ``store_error``; the feed's lease is given back so a later cycle retries it, and
        the other feeds go on.
        """
        try:
            return self._process(feed, result, full)
        except Exception as exc:
            log.exception("feed %s: could not store the fetch result", feed.url)
            return FeedReport(feed.url, STORE_ERROR, message=f"{type(exc).__name__}: {exc}")

    def _process(self, feed: DueFeed, result: FetchResult, full: FullTexts | None) -> FeedReport:
        if isinstance(result, FetchFailure):
            return self._record_failure(feed, result)
        if isinstance(result, NotModified):
            return self._record_not_modified(feed, result)
        if full is not None:
            return self._store_feed(feed, full.parsed, result, full.texts)
        try:
            parsed = parse_feed(result.body, result.headers, result.url)
        except ParseError as exc:
            failure = FetchFailure(
                result.url, exc.kind, str(exc), result.fetched_at, result.status, result.headers
            )
            return self._record_failure(feed, failure)
        return self._store_feed(feed, parsed, result, {})

    # --- outcomes ------------------------------------------------------------------------

    def _record_failure(self, feed: DueFeed, failure: FetchFailure) -> FeedReport:
        count = feed.error_count + 1
        s = self.settings.schedule
        at = failure.fetched_at
        outcome = FeedOutcome(
            fetched_at=at,
            status=failure.status,
            next_fetch_at=schedule.next_after_error(
                at,
                kind=failure.kind,
                error_count=count,
                headers=failure.headers,
                settings=s,
                rng=self.rng,
            ),
            state=schedule.state_for(count, s),
            error_count=count,
            error_kind=failure.kind.value,
            error_message=failure.message[:2000],
        )
        with self.store.batch() as batch:
            batch.record_fetch(feed.id, outcome)
        log.warning("feed %s: %s: %s", feed.url, failure.kind.value, failure.message)
        return FeedReport(feed.url, failure.kind.value, message=failure.message)

    def _record_not_modified(self, feed: DueFeed, result: NotModified) -> FeedReport:
        outcome = FeedOutcome(
            fetched_at=result.fetched_at,
            status=result.status,
            next_fetch_at=self._next_after_success(feed, result.headers, None, result.fetched_at),
            state=FeedState.OK,
            error_count=0,
            success=True,
        )
        with self.store.batch() as batch:
            batch.record_fetch(feed.id, outcome)
        return FeedReport(feed.url, "not_modified")

    def _next_after_success(
        self, feed: DueFeed, headers: Mapping[str, str], ttl: int | None, at: datetime
    ) -> datetime:
        return schedule.next_after_success(
            at,
            interval=feed.interval,
            headers=headers,
            ttl_seconds=ttl,
            settings=self.settings.schedule,
            rng=self.rng,
        )

    def _store_feed(
        self, feed: DueFeed, parsed: ParsedFeed, result: Fetched, texts: Mapping[str, str]
    ) -> FeedReport:
        outcome = FeedOutcome(
            fetched_at=result.fetched_at,
            status=result.status,
            next_fetch_at=self._next_after_success(
                feed, result.headers, parsed.ttl_seconds, result.fetched_at
            ),
            state=FeedState.OK,
            error_count=0,
            etag=result.etag,
            last_modified=result.last_modified,
            success=True,
            full_fetch=True,
            keep_validators=False,
        )
        new = self.ingester.ingest(
            feed.outlet,
            parsed,
            result.fetched_at,
            feed_id=feed.id,
            feed_url=feed.url,
            absent_at=feed.last_success_at,
            outcome=outcome,
            full_texts=texts,
        )
        return FeedReport(
            feed.url, "ok", items=len(parsed.entries), new_articles=new, full_texts=len(texts)
        )
