"""The one place that joins I/O and the pure stages; reads top to bottom like the data flow.

    claim due feeds → fetch → parse → normalize → fingerprint → cluster → provenance → store

Per-feed problems become results (a typed error on that feed), never exceptions that stop
the other feeds. A feed's batch is one transaction: its articles, the clusters they touch
and its new validators commit together or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from aggregator import cluster, provenance, schedule
from aggregator.cluster import Candidate, WindowedIndex
from aggregator.credits import AliasTable, extract_credits
from aggregator.errors import ParseError
from aggregator.fetch import Fetcher
from aggregator.fingerprint import fingerprint, signature_array, version_of
from aggregator.metrics import Metrics
from aggregator.normalize import normalize_entry
from aggregator.parse import parse_feed
from aggregator.settings import Settings
from aggregator.store import Batch, DueFeed, FeedOutcome, Store
from aggregator.types import (
    Article,
    FeedState,
    Fetched,
    FetchFailure,
    FetchRequest,
    FetchResult,
    NotModified,
    OutletConfig,
    ParsedFeed,
    Similarity,
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
class _Target:
    """Where one feed's new articles go: the open transaction and their common facts."""

    batch: Batch
    outlet_id: int
    feed_id: int | None
    absent_at: datetime | None
    added: list[int]


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
        backing = cluster.build_index(settings.dedup, settings.redis.url, settings.redis.prefix)
        self.index = WindowedIndex(backing, settings.dedup.window)
        # One worker does all processing: the index and SQLite want a single writer.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aggregator-process")

    # --- start-up ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Sync outlets into the store, refresh stale signatures, fill the index."""
        now = self.clock()
        self.store.sync_outlets(list(self.outlets.values()), now)
        self._refresh_signatures()
        since = now - self.index.window
        for article_id, signature, seen_at in self.store.index_rows(
            since, self.settings.dedup.min_tokens
        ):
            self.index.add(article_id, signature_array(signature), seen_at)
        self.metrics.index_size.set(len(self.index))

    def _refresh_signatures(self) -> None:
        """Recompute every stored signature when the fingerprint parameters changed."""
        version = version_of(self.settings.dedup)
        stored = self.store.get_meta("fingerprint_version")
        if stored != version:
            if stored is not None:
                log.info("fingerprint parameters changed (%s → %s): rebuilding", stored, version)
                count = self.store.refingerprint(
                    lambda text: fingerprint(text, self.settings.dedup)
                )
                log.info("recomputed %d signatures", count)
            self.store.set_meta("fingerprint_version", version)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    # --- a fetch cycle -----------------------------------------------------------------

    async def run_cycle(self, fetcher: Fetcher, *, everything: bool = False) -> CycleReport:
        """Fetch every due feed (or every feed) once and process each as it arrives."""
        now = self.clock()
        self.index.prune(now)
        due = self.store.claim_due(now, self.settings.schedule.lease, everything=everything)
        report = CycleReport()
        loop = asyncio.get_running_loop()

        async def one(feed: DueFeed) -> None:
            result = await fetcher.fetch_feed(self._request_for(feed, now))
            self._count_fetch(result)
            report.feeds.append(
                await loop.run_in_executor(self._worker, self.process, feed, result)
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

    def process(self, feed: DueFeed, result: FetchResult) -> FeedReport:
        """Turn one fetch result into stored state; never raises.

        A problem of the feed becomes its typed error. A problem of our own store (the
        database went away, a bug) is logged and reported as ``store_error``; the feed's
        lease is given back so a later cycle retries it, and the other feeds go on.
        """
        try:
            return self._process(feed, result)
        except Exception as exc:
            log.exception("feed %s: could not store the fetch result", feed.url)
            return FeedReport(feed.url, STORE_ERROR, message=f"{type(exc).__name__}: {exc}")

    def _process(self, feed: DueFeed, result: FetchResult) -> FeedReport:
        if isinstance(result, FetchFailure):
            return self._record_failure(feed, result)
        if isinstance(result, NotModified):
            return self._record_not_modified(feed, result)
        try:
            parsed = parse_feed(result.body, result.headers, result.url)
        except ParseError as exc:
            failure = FetchFailure(
                result.url, exc.kind, str(exc), result.fetched_at, result.status, result.headers
            )
            return self._record_failure(feed, failure)
        return self._store_feed(feed, parsed, result)

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

    def _store_feed(self, feed: DueFeed, parsed: ParsedFeed, result: Fetched) -> FeedReport:
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
        new = self.ingest(
            feed.outlet,
            parsed,
            result.fetched_at,
            feed_id=feed.id,
            feed_url=feed.url,
            absent_at=feed.last_success_at,
            outcome=outcome,
        )
        return FeedReport(feed.url, "ok", items=len(parsed.entries), new_articles=new)

    # --- ingest: normalize → fingerprint → cluster → provenance → store -------------------

    def ingest(
        self,
        outlet: str,
        parsed: ParsedFeed,
        now: datetime,
        *,
        feed_id: int | None,
        feed_url: str,
        absent_at: datetime | None = None,
        outcome: FeedOutcome | None = None,
    ) -> int:
        """Store a parsed feed's new articles in one transaction; returns how many were new."""
        articles = self._normalize(parsed, outlet, feed_url, now)
        try:
            new = self._store_batch(outlet, articles, feed_id, absent_at, outcome)
        except IntegrityError:
            # Another daemon sharing the database stored one of these items after this batch
            # looked for it (two feeds of one outlet carry it). The batch was rolled back;
            # once more, it finds the item known and skips it.
            log.info("%s: an item was stored concurrently; retrying the batch", feed_url)
            new = self._store_batch(outlet, articles, feed_id, absent_at, outcome)
        self.metrics.articles.inc(new)
        return new

    def _store_batch(
        self,
        outlet: str,
        articles: Sequence[Article],
        feed_id: int | None,
        absent_at: datetime | None,
        outcome: FeedOutcome | None,
    ) -> int:
        added: list[int] = []  # every new article id; clusterable ones are also in the index
        try:
            with self.store.batch() as batch:
                outlet_id = batch.outlet_id(outlet)
                if outlet_id is None:
                    raise ValueError(f"outlet {outlet!r} is not in the store")
                known = batch.known_keys(outlet_id, [a.identity_key for a in articles])
                touched: set[int] = set()
                target = _Target(batch, outlet_id, feed_id, absent_at, added)
                for article in articles:
                    if article.identity_key not in known:
                        touched.add(self._add_article(target, article))
                for cluster_id in sorted(touched):
                    self._assess(batch, cluster_id)
                if outcome is not None and feed_id is not None:
                    batch.record_fetch(feed_id, outcome)
        except BaseException:
            for article_id in added:
                self.index.discard(article_id)  # the rows were rolled back
            raise
        return len(added)

    def _normalize(
        self, parsed: ParsedFeed, outlet: str, feed_url: str, now: datetime
    ) -> list[Article]:
        seen: dict[str, Article] = {}
        for entry in parsed.entries:
            article = normalize_entry(entry, outlet=outlet, feed_url=feed_url, now=now)
            seen.setdefault(article.identity_key, article)  # the same item twice in one feed
        return list(seen.values())

    def _add_article(self, target: _Target, article: Article) -> int:
        """Insert one article and place it in a cluster; returns the cluster it is in."""
        batch = target.batch
        fp = fingerprint(article.text, self.settings.dedup)
        credits = extract_credits(
            outlet=article.outlet,
            text=article.text,
            aliases=self.aliases,
            source_name=article.source_name,
            source_url=article.source_url,
            canonical_url=article.canonical_url,
        )
        article_id = batch.insert_article(
            outlet_id=target.outlet_id,
            feed_id=target.feed_id,
            article=article,
            fingerprint=fp,
            credits=credits,
            absent_at=target.absent_at,
        )
        target.added.append(article_id)
        new = Candidate.from_fingerprint(article_id, 0, fp)
        if not cluster.is_clusterable(fp, self.settings.dedup):
            return batch.open_cluster(article_id, target.outlet_id, article)
        candidates = batch.candidates(self.index.query(new.signature))
        reps = batch.representatives(c.cluster_id for c in candidates)
        assignment = cluster.decide(new, candidates, reps)
        if assignment.cluster_id is None:
            cluster_id = batch.open_cluster(article_id, target.outlet_id, article)
            self.metrics.clusters.inc()
        else:
            cluster_id = assignment.cluster_id
            batch.join_cluster(article_id, cluster_id)
            batch.merge_clusters(cluster_id, assignment.merge)
        self.index.add(article_id, new.signature, article.first_seen_at)
        return cluster_id

    def _assess(self, batch: Batch, cluster_id: int) -> None:
        """Recompute a cluster's first reporter and its members' roles."""
        members = batch.member_facts(cluster_id)
        if not members:
            return
        signatures = {c.article_id: c for c in batch.candidates(m.article_id for m in members)}

        def similarity_to(a: int, b: int) -> Similarity | None:
            if a in signatures and b in signatures:
                return cluster.estimate(signatures[a], signatures[b])
            return None

        batch.apply_state(cluster_id, provenance.assess_cluster(members, similarity_to))
