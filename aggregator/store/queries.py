"""The read side of the Store: clusters, articles and feeds as the outputs' view types."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, func, or_, select, text
from sqlalchemy.orm import aliased

from aggregator.credits import credit_names
from aggregator.explain import Subject
from aggregator.store import engine as engines
from aggregator.store.batch import credits_from_json
from aggregator.store.models import ArticleRow, ClusterRow, FeedRow, OutletRow
from aggregator.types import (
    ArticleView,
    Basis,
    ClusterView,
    ErrorKind,
    FeedState,
    FeedStatusView,
    Fingerprint,
    FirstReporter,
    OutletStatsView,
    Relation,
)

_FIRST = aliased(ArticleRow, name="first_article")
_FIRST_OUTLET = aliased(OutletRow, name="first_outlet")


def _article_query() -> Select[ArticleRow, str, str]:
    return (
        select(ArticleRow, OutletRow.name.label("outlet"), FeedRow.url.label("feed_url"))
        .join(OutletRow, OutletRow.id == ArticleRow.outlet_id)
        .outerjoin(FeedRow, FeedRow.id == ArticleRow.feed_id)
    )


def _article_view(row: Row[ArticleRow, str, str]) -> ArticleView:
    a: ArticleRow = row.ArticleRow
    return ArticleView(
        id=a.id,
        outlet=row.outlet,
        feed_url=row.feed_url,
        guid=a.guid,
        url=a.url,
        canonical_url=a.canonical_url,
        title=a.title,
        published_at=a.published_at,
        first_seen_at=a.first_seen_at,
        cluster_id=a.cluster_id,
        relation=Relation(a.relation) if a.relation else None,
        similarity=a.similarity,
        credits=credit_names(credits_from_json(a.credits)),
        author=a.author,
        summary=a.summary,
        credits_outlet=a.credits_outlet,
        at=a.trusted_at,
    )


def _cluster_query() -> Select[ClusterRow, str, str | None]:
    return (
        select(
            ClusterRow,
            _FIRST_OUTLET.name.label("first_outlet"),
            # the link without tracking parameters when the article has one
            func.coalesce(_FIRST.canonical_url, _FIRST.url).label("first_url"),
        )
        .outerjoin(_FIRST, _FIRST.id == ClusterRow.first_article_id)
        .outerjoin(_FIRST_OUTLET, _FIRST_OUTLET.id == ClusterRow.first_outlet_id)
        .where(ClusterRow.merged_into.is_(None))
    )


def _cluster_view(
    row: Row[ClusterRow, str, str | None], outlets: Sequence[str], members: Sequence[ArticleView]
) -> ClusterView:
    c: ClusterRow = row.ClusterRow
    return ClusterView(
        id=c.id,
        title=c.title,
        size=c.size,
        outlets=tuple(outlets),
        first_reporter=FirstReporter(
            outlet=row.first_outlet or "",
            article_id=c.first_article_id or 0,
            url=row.first_url,
            at=c.first_at or c.first_seen_at,
            basis=Basis(c.basis),
        ),
        credited_source=c.credited_source,
        first_seen_at=c.first_seen_at,
        last_seen_at=c.last_seen_at,
        confidence=c.confidence,
        members=tuple(members),
    )


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Queries:
    """Read methods; ``Store`` inherits them (it also satisfies the web app's ClusterReader)."""

    engine: Engine

    def ping(self) -> None:
        """Raises when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def list_clusters(
        self,
        *,
        since: datetime | None = None,
        outlet: str | None = None,
        min_size: int = 1,
        limit: int | None = 100,
        query: str | None = None,
        with_members: bool = False,
    ) -> list[ClusterView]:
        """Clusters, newest activity first, filtered like ``clusters list`` and the feeds."""
        stmt = _cluster_query().where(ClusterRow.size >= min_size)
        if since is not None:
            stmt = stmt.where(ClusterRow.last_seen_at >= since)
        if outlet is not None:
            stmt = stmt.where(ClusterRow.id.in_(_clusters_of_outlet(outlet)))
        if query:
            stmt = stmt.where(ClusterRow.id.in_(_clusters_matching(query)))
        stmt = stmt.order_by(ClusterRow.last_seen_at.desc(), ClusterRow.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        with engines.read(self.engine) as conn:
            rows = engines.orm(conn).execute(stmt).all()
            ids = [row.ClusterRow.id for row in rows]
            members = _members_of(conn, ids)
        return [
            _cluster_view(
                row,
                tuple(dict.fromkeys(m.outlet for m in members.get(row.ClusterRow.id, []))),
                members.get(row.ClusterRow.id, []) if with_members else (),
            )
            for row in rows
        ]

    def get_cluster(self, cluster_id: int) -> ClusterView | None:
        """One cluster with its members in timeline order; follows merges."""
        with engines.read(self.engine) as conn:
            for _ in range(16):  # a merged cluster points at the one that absorbed it
                target = conn.scalar(
                    select(ClusterRow.merged_into).where(ClusterRow.id == cluster_id)
                )
                if target is None:
                    break
                cluster_id = target
            row = (
                engines.orm(conn)
                .execute(_cluster_query().where(ClusterRow.id == cluster_id))
                .first()
            )
            if row is None:
                return None
            members = _members_of(conn, [cluster_id]).get(cluster_id, [])
        return _cluster_view(row, tuple(dict.fromkeys(m.outlet for m in members)), members)

    def get_article(self, article_id: int) -> ArticleView | None:
        with engines.read(self.engine) as conn:
            row = (
                engines.orm(conn)
                .execute(_article_query().where(ArticleRow.id == article_id))
                .first()
            )
        return _article_view(row) if row is not None else None

    def article_subject(self, article_id: int) -> Subject | None:
        """An article with its text, fingerprint and credits (for ``aggregator why``)."""
        with engines.read(self.engine) as conn:
            row = (
                engines.orm(conn)
                .execute(_article_query().where(ArticleRow.id == article_id))
                .first()
            )
        if row is None:
            return None
        a: ArticleRow = row.ArticleRow
        fp = Fingerprint(
            signature=bytes(a.signature or b""),
            shingles=a.shingles,
            tokens=a.tokens,
            passages=tuple(a.passages or ()),
            version="",
            anchors=bytes(a.anchors or b""),
        )
        return Subject(_article_view(row), a.text, fp, credits_from_json(a.credits))

    def export_articles(self, *, since: datetime | None = None) -> Iterator[ArticleView]:
        """Every article with its cluster and provenance fields, oldest first."""
        stmt = _article_query().order_by(ArticleRow.id)
        if since is not None:
            stmt = stmt.where(ArticleRow.first_seen_at >= since)
        with engines.read(self.engine) as conn:
            for row in engines.orm(conn).execute(stmt.execution_options(yield_per=1000)):
                yield _article_view(row)

    def outlet_stats(self, *, since: datetime | None = None) -> list[OutletStatsView]:
        """Per outlet: articles, first reports, copies and rewrites made, median lag behind
        originals, whom it credits and who copies it (articles first seen since ``since``)."""
        first_outlet = aliased(OutletRow, name="first_outlet")
        stmt = (
            select(
                OutletRow.name,
                ArticleRow.relation,
                ArticleRow.trusted_at,
                ArticleRow.first_seen_at,
                ArticleRow.credits,
                ClusterRow.id.label("cluster_id"),
                ClusterRow.size,
                ClusterRow.first_at,
                ClusterRow.first_article_id,
                first_outlet.name.label("first_outlet"),
                ArticleRow.id,
            )
            .join(OutletRow, OutletRow.id == ArticleRow.outlet_id)
            .outerjoin(ClusterRow, ClusterRow.id == ArticleRow.cluster_id)
            .outerjoin(first_outlet, first_outlet.id == ClusterRow.first_outlet_id)
        )
        if since is not None:
            stmt = stmt.where(ArticleRow.first_seen_at >= since)
        tally = _OutletTally()
        with engines.read(self.engine) as conn:
            for row in conn.execute(stmt.execution_options(yield_per=2000)):
                tally.add(row)
            names = list(conn.scalars(select(OutletRow.name).where(OutletRow.active)))
        return tally.views(names)

    def feed_statuses(self) -> list[FeedStatusView]:
        """Every feed's fetch state, by outlet and URL."""
        counts = (
            select(ArticleRow.feed_id, func.count().label("n"))
            .group_by(ArticleRow.feed_id)
            .subquery()
        )
        stmt = (
            select(FeedRow, OutletRow.name, func.coalesce(counts.c.n, 0).label("n"))
            .join(OutletRow, OutletRow.id == FeedRow.outlet_id)
            .outerjoin(counts, counts.c.feed_id == FeedRow.id)
            .order_by(OutletRow.name, FeedRow.url)
        )
        with engines.read(self.engine) as conn:
            rows = engines.orm(conn).execute(stmt)
            return [_feed_status(row.FeedRow, row.name, int(row.n)) for row in rows]


def _feed_status(f: FeedRow, outlet: str, articles: int) -> FeedStatusView:
    return FeedStatusView(
        outlet=outlet,
        feed_url=f.url,
        state=FeedState(f.state),
        last_fetched_at=f.last_fetched_at,
        last_status=f.last_status,
        error_kind=ErrorKind(f.error_kind) if f.error_kind else None,
        error_message=f.error_message,
        error_count=f.error_count,
        next_fetch_at=f.next_fetch_at,
        articles=articles,
    )


def _clusters_of_outlet(outlet: str) -> Select[Any]:
    return (
        select(ArticleRow.cluster_id)
        .join(OutletRow, OutletRow.id == ArticleRow.outlet_id)
        .where(func.lower(OutletRow.name) == outlet.lower())
    )


def _clusters_matching(query: str) -> Select[Any]:
    """Clusters with an article whose title or text contains every word of the query."""
    stmt = select(ArticleRow.cluster_id)
    for word in query.split():
        pattern = _like(word.lower())
        stmt = stmt.where(
            or_(
                func.lower(ArticleRow.title).like(pattern, escape="\\"),
                func.lower(ArticleRow.text).like(pattern, escape="\\"),
            )
        )
    return stmt


def _members_of(conn: Connection, cluster_ids: Sequence[int]) -> dict[int, list[ArticleView]]:
    found: dict[int, list[ArticleView]] = {}
    for start in range(0, len(cluster_ids), 500):
        chunk = list(cluster_ids[start : start + 500])
        stmt = _article_query().where(ArticleRow.cluster_id.in_(chunk))
        for row in engines.orm(conn).execute(stmt):
            view = _article_view(row)
            found.setdefault(view.cluster_id or 0, []).append(view)
    for views in found.values():
        views.sort(key=lambda v: (v.at or v.first_seen_at, v.first_seen_at, v.id))
    return found


class _OutletTally:
    """Accumulates outlet statistics over one pass of the articles."""

    def __init__(self) -> None:
        self.articles: Counter[str] = Counter()
        self.first_reports: Counter[str] = Counter()
        self.copies: Counter[str] = Counter()
        self.rewrites: Counter[str] = Counter()
        self.lags: dict[str, list[float]] = {}
        self.credits: dict[str, Counter[str]] = {}
        self.copied_by: dict[str, Counter[str]] = {}

    def add(self, row: Any) -> None:
        outlet = row.name
        self.articles[outlet] += 1
        if row.id == row.first_article_id and (row.size or 0) >= 2:
            self.first_reports[outlet] += 1
        for credit in credits_from_json(row.credits):
            self.credits.setdefault(outlet, Counter())[credit.outlet or credit.name] += 1
        if row.relation not in (Relation.COPY.value, Relation.REWRITE.value):
            return
        (self.copies if row.relation == Relation.COPY.value else self.rewrites)[outlet] += 1
        at = row.trusted_at or row.first_seen_at
        if row.first_at is not None:
            self.lags.setdefault(outlet, []).append((at - row.first_at).total_seconds())
        if row.first_outlet and row.first_outlet != outlet:
            self.copied_by.setdefault(row.first_outlet, Counter())[outlet] += 1

    def views(self, active: Sequence[str]) -> list[OutletStatsView]:
        names = sorted(set(active) | set(self.articles))
        return [
            OutletStatsView(
                outlet=name,
                articles=self.articles[name],
                first_reports=self.first_reports[name],
                copies=self.copies[name],
                rewrites=self.rewrites[name],
                median_lag_seconds=median(self.lags[name]) if self.lags.get(name) else None,
                credits=tuple(self.credits.get(name, Counter()).most_common(5)),
                copied_by=tuple(self.copied_by.get(name, Counter()).most_common(5)),
            )
            for name in names
        ]
