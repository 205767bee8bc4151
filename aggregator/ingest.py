"""Storing one feed document: identity → fingerprint → cluster → provenance → store.

A document's new articles are stored in one transaction with the clusters they touch and,
when given, the feed's new fetch state: all of it commits or none. The candidate index is
updated as articles are placed and taken back when the transaction does not commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from aggregator import cluster, provenance
from aggregator.boilerplate import Boilerplate
from aggregator.cluster import Candidate, Evidence
from aggregator.credits import AliasTable, extract_credits
from aggregator.fingerprint import fingerprint_batch
from aggregator.identity import ItemKeys, ItemMatch, item_keys, repeat_since
from aggregator.index import Sketch, StoryIndex
from aggregator.metrics import Metrics
from aggregator.normalize import normalize_entry
from aggregator.placement import NewArticle, place_batch
from aggregator.settings import Settings
from aggregator.store import Batch, FeedOutcome, Store
from aggregator.types import Article, Assignment, Credit, ParsedFeed, Similarity

__all__ = ["Ingester", "Keyed"]

log = logging.getLogger(__name__)


#: A normalized item of a document, with what identifies it (identity.item_keys).
Keyed = tuple[Article, ItemKeys]


def _new_articles(
    items: Sequence[Keyed], matches: Sequence[ItemMatch], full_texts: Mapping[str, str]
) -> tuple[list[Article], dict[str, str]]:
    """The articles to insert, under their final keys and with any page text, and the
    content hash of each (by final key)."""
    fresh: list[Article] = []
    hashes: dict[str, str] = {}
    for (article, item), match in zip(items, matches, strict=True):
        if match.known or match.key in hashes:  # stored already, or twice in this document
            continue
        hashes[match.key] = item.content
        text = full_texts.get(article.identity_key, article.text)
        fresh.append(replace(article, identity_key=match.key, text=text))
    return fresh, hashes


def _no_similarity(a: int, b: int) -> Similarity | None:
    return None


def _as_candidate(article_id: int, sketch: Sketch) -> Candidate:
    return Candidate(article_id, 0, sketch.signature, sketch.shingles, sketch.anchors)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where one feed's new articles go: the open transaction and their common facts."""

    batch: Batch
    outlet_id: int
    feed_id: int | None
    absent_at: datetime | None
    added: list[int]
    hashes: Mapping[str, str] = field(default_factory=dict)  # identity key → content hash


class Ingester:
    """Stores feed documents' new articles; owns the boilerplate memory of the outlets."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        index: StoryIndex,
        *,
        aliases: AliasTable,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.settings = settings
        self.index = index
        self.aliases = aliases
        self.metrics = metrics
        self.clock = clock
        self.boilerplate = Boilerplate()

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
        full_texts: Mapping[str, str] | None = None,
    ) -> int:
        """Store a parsed feed's new articles in one transaction; returns how many were new.

        ``full_texts`` (identity key → text extracted from the article's page) replaces the
        text of those articles; their feed summary stays their ``summary``.
        """
        items = self.normalize(parsed, outlet, feed_url, now)
        texts = full_texts or {}
        try:
            new = self._store_batch(outlet, items, feed_id, absent_at, outcome, full_texts=texts)
        except IntegrityError:
            # Another daemon sharing the database stored one of these items after this batch
            # looked for it (two feeds of one outlet carry it). The batch was rolled back;
            # once more, it finds the item known and skips it.
            log.info("%s: an item was stored concurrently; retrying the batch", feed_url)
            new = self._store_batch(outlet, items, feed_id, absent_at, outcome, full_texts=texts)
        self.metrics.articles.inc(new)
        return new

    def _store_batch(
        self,
        outlet: str,
        items: Sequence[Keyed],
        feed_id: int | None,
        absent_at: datetime | None,
        outcome: FeedOutcome | None,
        *,
        full_texts: Mapping[str, str] | None = None,
    ) -> int:
        """Store the articles of one document the outlet does not have yet; returns how many.

        ``items`` carry the feed's own text: identity is decided on what the feed said
        (identity.item_keys, Batch.match_items); only then does a page's text from
        ``full_texts`` (by identity key) replace the text of a new article.
        """
        added: list[int] = []  # every new article id; clusterable ones are also indexed
        since = repeat_since(items[0][0].first_seen_at if items else self.clock())
        try:
            with self.store.batch() as batch:
                outlet_id = batch.outlet_id(outlet)
                if outlet_id is None:
                    raise ValueError(f"outlet {outlet!r} is not in the store")
                matches = batch.match_items(outlet_id, [k for _, k in items], since=since)
                fresh, hashes = _new_articles(items, matches, full_texts or {})
                target = _Target(batch, outlet_id, feed_id, absent_at, added, hashes)
                touched = self._add_articles(target, fresh)
                for cluster_id in sorted(touched):
                    self._assess(batch, cluster_id)
                if outcome is not None and feed_id is not None:
                    batch.record_fetch(feed_id, outcome)
        except BaseException:
            for article_id in added:
                self.index.discard(article_id)  # the rows were rolled back
            raise
        return len(added)

    def normalize(
        self, parsed: ParsedFeed, outlet: str, feed_url: str, now: datetime
    ) -> list[Keyed]:
        """The document's items as articles with their identity evidence, each keyed by
        identity.item_keys (unique within the document; an item listed twice is kept once)."""
        articles = [
            normalize_entry(entry, outlet=outlet, feed_url=feed_url, now=now)
            for entry in parsed.entries
        ]
        seen: dict[str, Keyed] = {}
        for article, keys in zip(articles, item_keys(articles), strict=True):
            seen.setdefault(keys.key, (replace(article, identity_key=keys.key), keys))
        return list(seen.values())

    def _add_articles(self, target: _Target, articles: Sequence[Article]) -> set[int]:
        """Insert new articles and place each in a cluster; returns the clusters touched."""
        batch = target.batch
        texts = [self.boilerplate.prepare(a.outlet, a.text) for a in articles]
        fingerprints = fingerprint_batch(texts, self.settings.dedup)
        touched: set[int] = set()
        items: list[NewArticle] = []
        by_id: dict[int, Article] = {}
        for article, fp in zip(articles, fingerprints, strict=True):
            credits = self._credits(article)
            article_id = batch.insert_article(
                outlet_id=target.outlet_id,
                feed_id=target.feed_id,
                article=article,
                fingerprint=fp,
                credits=credits,
                absent_at=target.absent_at,
                content_hash=target.hashes.get(article.identity_key),
            )
            target.added.append(article_id)
            if cluster.is_clusterable(fp, self.settings.dedup):
                items.append(NewArticle(article_id, fp, article.outlet, credits))
                by_id[article_id] = article
            else:
                touched.add(batch.open_cluster(article_id, target.outlet_id, article))

        def settle(item: NewArticle, assignment: Assignment) -> None:
            if assignment.cluster_id is None:
                touched.add(
                    batch.open_cluster(item.article_id, target.outlet_id, by_id[item.article_id])
                )
                self.metrics.clusters.inc()
                return
            batch.join_cluster(item.article_id, assignment.cluster_id)
            batch.merge_clusters(assignment.cluster_id, assignment.merge)
            touched.add(assignment.cluster_id)

        seen_at = articles[0].first_seen_at if articles else self.clock()
        place_batch(items, self.index, batch, settle, seen_at=seen_at)
        if articles:
            memory = self.boilerplate.export([articles[0].outlet])
            for paragraphs in memory.values():
                batch.save_outlet_memory(target.outlet_id, paragraphs, seen_at)
        return touched

    def _credits(self, article: Article) -> tuple[Credit, ...]:
        return extract_credits(
            outlet=article.outlet,
            text=article.text,
            aliases=self.aliases,
            source_name=article.source_name,
            source_url=article.source_url,
            canonical_url=article.canonical_url,
        )

    def _assess(self, batch: Batch, cluster_id: int) -> None:
        """Recompute a cluster's first reporter and its members' roles."""
        members = batch.member_facts(cluster_id)
        if not members:
            return
        ids = [m.article_id for m in members]
        if len(ids) == 1:  # most clusters: a story one outlet told, nothing to compare
            batch.apply_state(cluster_id, provenance.assess_cluster(members, _no_similarity))
            return
        sketches = self.index.sketches(ids)
        sketches.update(batch.sketches([i for i in ids if i not in sketches]))
        passages = batch.passages(ids)

        def similarity_to(a: int, b: int) -> Similarity | None:
            first, second = sketches.get(a), sketches.get(b)
            if first is None or second is None:
                return None
            shared = len(passages.get(a, set()) & passages.get(b, set()))
            return cluster.estimate(
                _as_candidate(a, first), _as_candidate(b, second), Evidence(passages=shared)
            )

        batch.apply_state(cluster_id, provenance.assess_cluster(members, similarity_to))
