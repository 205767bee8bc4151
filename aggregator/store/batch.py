"""Writes that happen together: one feed's batch of articles, clusters and fetch state.

A ``Batch`` wraps one write transaction. The pipeline calls its verbs in order and the
transaction commits when the ``with`` block ends, so a feed's ETag is never saved without
its items, and a crash leaves either everything or nothing of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from aggregator.fingerprint import signature_array
from aggregator.identity import (
    ItemKeys,
    ItemMatch,
    StoredItem,
    match_by_content,
    match_by_keys,
    stored_item,
)
from aggregator.index import Sketch
from aggregator.normalize import content_hash_of
from aggregator.placement import Standing
from aggregator.store.models import ArticleRow, ClusterRow, FeedRow, OutletMemoryRow, OutletRow
from aggregator.types import (
    Article,
    ClusterState,
    Credit,
    CreditKind,
    FeedState,
    Fingerprint,
    MemberFacts,
)


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What one fetch did to a feed's state."""

    fetched_at: datetime
    status: int | None
    next_fetch_at: datetime
    state: FeedState
    error_count: int
    error_kind: str | None = None
    error_message: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    success: bool = False
    full_fetch: bool = False
    #: Keep the stored validators (a 304 or a failure) instead of replacing them.
    keep_validators: bool = True


def credits_to_json(credits: Iterable[Credit]) -> list[dict[str, Any]]:
    return [{"name": c.name, "kind": c.kind.value, "outlet": c.outlet} for c in credits]


def credits_from_json(raw: Iterable[dict[str, Any]] | None) -> tuple[Credit, ...]:
    return tuple(
        Credit(name=str(c["name"]), kind=CreditKind(c["kind"]), outlet=c.get("outlet"))
        for c in raw or ()
    )


class Batch:
    """Verb-named writes inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def outlet_id(self, name: str) -> int | None:
        return self.conn.scalar(select(OutletRow.id).where(OutletRow.name == name))

    def known_keys(self, outlet_id: int, keys: Sequence[str]) -> set[str]:
        """The identity keys of this outlet that are already stored."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            query = select(ArticleRow.identity_key).where(
                ArticleRow.outlet_id == outlet_id, ArticleRow.identity_key.in_(chunk)
            )
            found.update(self.conn.scalars(query))
        return found

    def match_items(
        self, outlet_id: int, items: Sequence[ItemKeys], *, since: datetime
    ) -> list[ItemMatch]:
        """Which of one document's items the outlet already has, and the key of each new one.

        By identity keys first (a stored guid counts only when the stored article agrees
        with the item), then by content: a new-looking item whose title and text the outlet
        already stores at the same link (or, without links, since ``since``) is that
        article under a rotated guid. The rules are identity.match_by_keys and
        match_by_content; this method only fetches what they need.
        """
        wanted = {key for item in items for key in (item.key, item.guid, item.fallback) if key}
        known = self.known_keys(outlet_id, sorted(wanted))
        by_guid = self.stored_items(outlet_id, sorted(k for k in known if k.startswith("guid:")))
        matches = [match_by_keys(item, known, by_guid) for item in items]
        unsure = [i for i, match in enumerate(matches) if not match.known]
        if unsure:
            same_text = self.items_by_content(outlet_id, {items[i].content for i in unsure})
            for i in unsure:
                if match_by_content(items[i], same_text.get(items[i].content, ()), since):
                    matches[i] = ItemMatch(matches[i].key, known=True)
        return matches

    def stored_items(self, outlet_id: int, keys: Sequence[str]) -> dict[str, StoredItem]:
        """The identity facts of this outlet's articles stored under ``keys``."""
        found: dict[str, StoredItem] = {}
        for start in range(0, len(keys), 500):
            query = select(*_ITEM_COLUMNS, ArticleRow.identity_key).where(
                ArticleRow.outlet_id == outlet_id,
                ArticleRow.identity_key.in_(keys[start : start + 500]),
            )
            for row in self.conn.execute(query):
                found[row.identity_key] = _stored(row)
        return found

    def items_by_content(
        self, outlet_id: int, hashes: Iterable[str]
    ) -> dict[str, list[StoredItem]]:
        """This outlet's articles with each of these content hashes."""
        found: dict[str, list[StoredItem]] = {}
        ordered = sorted(hashes)
        for start in range(0, len(ordered), 500):
            query = select(*_ITEM_COLUMNS).where(
                ArticleRow.outlet_id == outlet_id,
                ArticleRow.content_hash.in_(ordered[start : start + 500]),
            )
            for row in self.conn.execute(query):
                found.setdefault(row.content_hash, []).append(_stored(row))
        return found

    def insert_article(
        self,
        *,
        outlet_id: int,
        feed_id: int | None,
        article: Article,
        fingerprint: Fingerprint,
        credits: Sequence[Credit],
        absent_at: datetime | None,
        content_hash: str | None = None,
    ) -> int:
        """Store a new article (the caller checked its identity key is new).

        ``content_hash`` is normalize.content_hash of the feed's title and text, which the
        article's ``text`` no longer is when it came from the article's page; by default,
        the hash of the article's own title and text.
        """
        values = {
            "outlet_id": outlet_id,
            "feed_id": feed_id,
            "identity_key": article.identity_key,
            "content_hash": content_hash or content_hash_of(article),
            "guid": article.guid,
            "url": article.url,
            "canonical_url": article.canonical_url,
            "title": article.title,
            "author": article.author,
            "summary": article.summary,
            "text": article.text,
            "content_html": article.content_html,
            "source_name": article.source_name,
            "source_url": article.source_url,
            "published_at": article.published_at,
            "first_seen_at": article.first_seen_at,
            "absent_at": absent_at,
            "credits": credits_to_json(credits),
            "signature": fingerprint.signature,
            "anchors": fingerprint.anchors,
            "shingles": fingerprint.shingles,
            "tokens": fingerprint.tokens,
            "passages": list(fingerprint.passages),
        }
        result = self.conn.execute(insert(ArticleRow).values(**values).returning(ArticleRow.id))
        return int(result.scalar_one())

    # --- the placement directory (see placement.Directory) ---------------------------

    def standings(self, article_ids: Sequence[int]) -> dict[int, Standing]:
        """Cluster and outlet of the clustered articles among ``article_ids``."""
        found: dict[int, Standing] = {}
        for chunk in _chunks(article_ids):
            query = (
                select(ArticleRow.id, ArticleRow.cluster_id, OutletRow.name)
                .join(OutletRow, OutletRow.id == ArticleRow.outlet_id)
                .where(ArticleRow.id.in_(chunk), ArticleRow.cluster_id.is_not(None))
            )
            for row in self.conn.execute(query):
                found[row.id] = Standing(row.cluster_id, row.name)
        return found

    def representatives(self, cluster_ids: Iterable[int]) -> dict[int, int]:
        """Each live cluster's original, the article new members verify against."""
        found: dict[int, int] = {}
        for chunk in _chunks(sorted(set(cluster_ids))):
            query = select(ClusterRow.id, ClusterRow.first_article_id).where(
                ClusterRow.id.in_(chunk), ClusterRow.merged_into.is_(None)
            )
            for row in self.conn.execute(query):
                if row.first_article_id is not None:
                    found[row.id] = row.first_article_id
        return found

    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]:
        """Stored signatures and sizes of the given articles."""
        found: dict[int, Sketch] = {}
        for chunk in _chunks(article_ids):
            query = select(
                ArticleRow.id, ArticleRow.signature, ArticleRow.shingles, ArticleRow.anchors
            ).where(ArticleRow.id.in_(chunk), ArticleRow.signature.is_not(None))
            for row in self.conn.execute(query):
                signature = signature_array(row.signature)
                found[row.id] = Sketch(signature, row.shingles, len(row.anchors or b"") // 4)
        return found

    def passages(self, article_ids: Sequence[int]) -> dict[int, set[int]]:
        """The long-paragraph hashes of the given articles."""
        found: dict[int, set[int]] = {}
        for chunk in _chunks(article_ids):
            query = select(ArticleRow.id, ArticleRow.passages).where(ArticleRow.id.in_(chunk))
            for row in self.conn.execute(query):
                found[row.id] = set(row.passages or ())
        return found

    def open_cluster(self, article_id: int, outlet_id: int, article: Article) -> int:
        """A new cluster whose only member (and original) is this article."""
        values = {
            "title": article.title,
            "size": 1,
            "first_article_id": article_id,
            "first_outlet_id": outlet_id,
            "first_at": article.first_seen_at,
            "first_seen_at": article.first_seen_at,
            "last_seen_at": article.first_seen_at,
        }
        cluster_id = int(
            self.conn.execute(
                insert(ClusterRow).values(**values).returning(ClusterRow.id)
            ).scalar_one()
        )
        self.join_cluster(article_id, cluster_id)
        return cluster_id

    def join_cluster(self, article_id: int, cluster_id: int) -> None:
        self.conn.execute(
            update(ArticleRow).where(ArticleRow.id == article_id).values(cluster_id=cluster_id)
        )

    def merge_clusters(self, into: int, others: Iterable[int]) -> None:
        """Move every member of ``others`` into ``into``; the old rows point at it."""
        ids = [c for c in others if c != into]
        if not ids:
            return
        self.conn.execute(
            update(ArticleRow).where(ArticleRow.cluster_id.in_(ids)).values(cluster_id=into)
        )
        self.conn.execute(
            update(ClusterRow).where(ClusterRow.id.in_(ids)).values(merged_into=into, size=0)
        )

    def member_facts(self, cluster_id: int) -> list[MemberFacts]:
        query = (
            select(
                ArticleRow.id,
                OutletRow.name,
                ArticleRow.published_at,
                ArticleRow.first_seen_at,
                ArticleRow.absent_at,
                ArticleRow.credits,
            )
            .join(OutletRow, OutletRow.id == ArticleRow.outlet_id)
            .where(ArticleRow.cluster_id == cluster_id)
        )
        return [
            MemberFacts(
                row.id,
                row.name,
                row.published_at,
                row.first_seen_at,
                row.absent_at,
                credits_from_json(row.credits),
            )
            for row in self.conn.execute(query)
        ]

    def apply_state(self, cluster_id: int, state: ClusterState) -> None:
        """Write provenance's verdict on the cluster and on each member."""
        for role in state.roles:
            self.conn.execute(
                update(ArticleRow)
                .where(ArticleRow.id == role.article_id)
                .values(
                    relation=role.relation.value,
                    similarity=role.similarity,
                    credits_outlet=role.credits_outlet,
                    trusted_at=role.at,
                )
            )
        first = self.conn.execute(
            select(ArticleRow.title, ArticleRow.outlet_id).where(
                ArticleRow.id == state.first_article_id
            )
        ).one()
        seen = self.conn.execute(
            select(func.min(ArticleRow.first_seen_at), func.max(ArticleRow.first_seen_at)).where(
                ArticleRow.cluster_id == cluster_id
            )
        ).one()
        self.conn.execute(
            update(ClusterRow)
            .where(ClusterRow.id == cluster_id)
            .values(
                title=first.title,
                size=len(state.roles),
                first_article_id=state.first_article_id,
                first_outlet_id=first.outlet_id,
                first_at=state.first_at,
                basis=state.basis.value,
                confidence=state.confidence,
                credited_source=state.credited_source,
                first_seen_at=seen[0],
                last_seen_at=seen[1],
            )
        )

    def save_outlet_memory(
        self, outlet_id: int, paragraphs: list[list[int]], now: datetime
    ) -> None:
        """Replace the learned-boilerplate memory of one outlet."""
        self.conn.execute(delete(OutletMemoryRow).where(OutletMemoryRow.outlet_id == outlet_id))
        self.conn.execute(
            insert(OutletMemoryRow).values(
                outlet_id=outlet_id, paragraphs=paragraphs, updated_at=now
            )
        )

    def record_fetch(self, feed_id: int, outcome: FeedOutcome) -> None:
        """Save a feed's fetch state; validators only after a successful batch."""
        values: dict[str, Any] = {
            "last_fetched_at": outcome.fetched_at,
            "last_status": outcome.status,
            "next_fetch_at": outcome.next_fetch_at,
            "state": outcome.state.value,
            "error_count": outcome.error_count,
            "error_kind": outcome.error_kind,
            "error_message": outcome.error_message,
            "lease_until": None,
        }
        if outcome.success:
            values["last_success_at"] = outcome.fetched_at
        if outcome.full_fetch:
            values["last_full_fetch_at"] = outcome.fetched_at
        if not outcome.keep_validators:
            values["etag"] = outcome.etag
            values["last_modified"] = outcome.last_modified
        self.conn.execute(update(FeedRow).where(FeedRow.id == feed_id).values(**values))


_ITEM_COLUMNS = (
    ArticleRow.id,
    ArticleRow.url,
    ArticleRow.title,
    ArticleRow.content_hash,
    ArticleRow.first_seen_at,
)


def _stored(row: Any) -> StoredItem:
    return stored_item(row.id, row.url, row.title, row.content_hash, row.first_seen_at)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterator[list[int]]:
    """Bounded IN lists (SQLite allows ~32k parameters; smaller lists plan better)."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
