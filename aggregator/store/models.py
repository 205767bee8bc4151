"""The schema: outlets, feeds (with fetch state), articles, clusters, and a small meta table.

Every change here needs an alembic migration in ``migrations/versions`` (a test compares
the migrated schema with these models on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive; we reattach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Meta(Base):
    """Key/value facts about the database itself (e.g. the fingerprint version)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class OutletRow(Base):
    __tablename__ = "outlets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    homepage: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedRow(Base):
    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    #: "config" feeds are scheduled; "ingest" feeds are files given to ``aggregator ingest``.
    origin: Mapped[str] = mapped_column(String(20), default="config")
    state: Mapped[str] = mapped_column(String(20), default="ok")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_full_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClusterRow(Base):
    __tablename__ = "clusters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(Integer, default=1)
    #: The original: first reporter's article; also the representative new articles verify against.
    first_article_id: Mapped[int | None] = mapped_column(Integer)
    first_outlet_id: Mapped[int | None] = mapped_column(Integer)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    basis: Mapped[str] = mapped_column(String(20), default="observed")
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    credited_source: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Set when this cluster was merged into another; its members moved there.
    merged_into: Mapped[int | None] = mapped_column(Integer)


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("outlet_id", "identity_key", name="uq_articles_outlet_identity"),
        Index("ix_articles_cluster", "cluster_id"),
        Index("ix_articles_first_seen", "first_seen_at"),
        Index("ix_articles_feed", "feed_id"),
        # A new guid with the same title and text is found through this (normalize.py).
        Index("ix_articles_outlet_content", "outlet_id", "content_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id", ondelete="CASCADE"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    identity_key: Mapped[str] = mapped_column(String(600))
    #: normalize.content_hash of the title and text as the feed carried them (not the page's).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Last successful fetch of this feed before the one that first carried the item.
    absent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    anchors: Mapped[bytes | None] = mapped_column(LargeBinary)
    shingles: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    passages: Mapped[list[int]] = mapped_column(JSON, default=list)
    cluster_id: Mapped[int | None] = mapped_column(Integer)
    relation: Mapped[str | None] = mapped_column(String(20))
    similarity: Mapped[float | None] = mapped_column(Float)
    credits_outlet: Mapped[str | None] = mapped_column(Text)
    trusted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutletMemoryRow(Base):
    """Per outlet: the short paragraphs of its recent articles (learned boilerplate)."""

    __tablename__ = "outlet_memory"
    outlet_id: Mapped[int] = mapped_column(
        ForeignKey("outlets.id", ondelete="CASCADE"), primary_key=True
    )
    paragraphs: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
