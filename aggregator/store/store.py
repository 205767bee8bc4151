"""The Store: the one door to the database, with verb-named methods.

The database is the source of truth; everything else (the LSH index, the outputs) is
derived from it. Writes go through ``batch()`` (one transaction); the read side lives in
``queries.py`` and is mixed in here so the outputs see one object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError

from aggregator.errors import StoreError
from aggregator.store import engine as engines
from aggregator.store import schema
from aggregator.store.batch import Batch
from aggregator.store.models import ArticleRow, FeedRow, Meta, OutletMemoryRow, OutletRow
from aggregator.store.queries import Queries
from aggregator.types import FeedState, Fingerprint, OutletConfig

#: PostgreSQL advisory lock held while the outlets file is synced ("aggr" in ASCII).
SYNC_LOCK_KEY = 0x61676772


@dataclass(frozen=True, slots=True)
class DueFeed:
    """A feed claimed for fetching, with what the fetcher and the scheduler need."""

    id: int
    outlet: str
    url: str
    etag: str | None
    last_modified: str | None
    error_count: int
    last_success_at: datetime | None
    last_full_fetch_at: datetime | None
    interval: timedelta | None


class Store(Queries):
    """Everything the product keeps, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, check_schema: bool = True) -> Store:
        """Connect; by default refuse a database whose schema is not this program's."""
        store = cls(engines.create(url))
        if check_schema:
            try:
                schema.check(store.engine)
            except BaseException as exc:
                store.close()  # a refused store must not leave pooled connections open
                if isinstance(exc, OperationalError):
                    raise StoreError(f"cannot open the database {url}: {exc.orig}") from None
                raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply pending migrations (``aggregator db upgrade``)."""
        return schema.upgrade(self.engine)

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """One write transaction; commits when the block ends without an exception."""
        with engines.write(self.engine) as conn:
            yield Batch(conn)

    # --- meta -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with engines.read(self.engine) as conn:
            return conn.scalar(select(Meta.value).where(Meta.key == key))

    def set_meta(self, key: str, value: str) -> None:
        with engines.write(self.engine) as conn:
            if conn.scalar(select(Meta.key).where(Meta.key == key)) is None:
                conn.execute(insert(Meta).values(key=key, value=value))
            else:
                conn.execute(update(Meta).where(Meta.key == key).values(value=value))

    # --- outlets and feeds ------------------------------------------------------------

    def sync_outlets(self, outlets: Sequence[OutletConfig], now: datetime) -> None:
        """Make the stored outlets and feeds match the outlets file.

        New outlets and feeds are added (due at once); feeds no longer listed are disabled,
        never deleted, so their articles and history stay.
        """
        with engines.write(self.engine) as conn:
            if self.dialect == "postgresql":
                # Daemons starting together would each insert the same new outlets, and all
                # but one would fail on the unique name: syncs take turns (SQLite's BEGIN
                # IMMEDIATE already serializes them).
                conn.execute(select(func.pg_advisory_xact_lock(SYNC_LOCK_KEY)))
            listed: set[str] = set()
            for outlet in outlets:
                outlet_id = self._upsert_outlet(conn, outlet, now)
                for url in outlet.feeds:
                    listed.add(url)
                    self._upsert_feed(conn, outlet_id, url, now)
            conn.execute(
                update(FeedRow)
                .where(FeedRow.origin == "config", FeedRow.url.not_in(listed or {""}))
                .values(state=FeedState.DISABLED.value)
            )
            names = [o.name for o in outlets]
            conn.execute(
                update(OutletRow).where(OutletRow.name.not_in(names or [""])).values(active=False)
            )

    @staticmethod
    def _upsert_outlet(conn: Connection, outlet: OutletConfig, now: datetime) -> int:
        values = {
            "homepage": outlet.homepage,
            "aliases": list(outlet.aliases),
            "interval_seconds": int(outlet.interval.total_seconds()) if outlet.interval else None,
            "active": True,
        }
        found = conn.scalar(select(OutletRow.id).where(OutletRow.name == outlet.name))
        if found is not None:
            conn.execute(update(OutletRow).where(OutletRow.id == found).values(**values))
            return int(found)
        query = insert(OutletRow).values(name=outlet.name, created_at=now, **values)
        return int(conn.execute(query.returning(OutletRow.id)).scalar_one())

    @staticmethod
    def _upsert_feed(conn: Connection, outlet_id: int, url: str, now: datetime) -> None:
        row = conn.execute(select(FeedRow.id, FeedRow.state).where(FeedRow.url == url)).first()
        if row is None:
            conn.execute(
                insert(FeedRow).values(
                    outlet_id=outlet_id, url=url, origin="config", created_at=now
                )
            )
            return
        values: dict[str, object] = {"outlet_id": outlet_id, "origin": "config"}
        if row.state == FeedState.DISABLED.value:
            values["state"] = FeedState.OK.value
        conn.execute(update(FeedRow).where(FeedRow.id == row.id).values(**values))

    def ingest_feed(self, outlet: str, url: str, now: datetime) -> int:
        """The feed row that files given to ``aggregator ingest`` are recorded under."""
        with engines.write(self.engine) as conn:
            outlet_id = conn.scalar(select(OutletRow.id).where(OutletRow.name == outlet))
            if outlet_id is None:
                raise StoreError(f"outlet {outlet!r} is not in the database")
            found = conn.scalar(select(FeedRow.id).where(FeedRow.url == url))
            if found is not None:
                return int(found)
            values = {"outlet_id": outlet_id, "url": url, "origin": "ingest", "created_at": now}
            return int(
                conn.execute(insert(FeedRow).values(**values).returning(FeedRow.id)).scalar_one()
            )

    def claim_due(
        self,
        now: datetime,
        lease: timedelta,
        *,
        everything: bool = False,
        slack: timedelta | None = None,
    ) -> list[DueFeed]:
        """Claim the feeds that are due (all scheduled feeds with ``everything``).

        A claim sets a lease, so another daemon on the same PostgreSQL database skips the
        feed (``FOR UPDATE SKIP LOCKED``) until the fetch is recorded or the lease expires.
        With ``slack`` (schedule.CLOCK_SLACK), a feed last fetched later than ``now + slack``
        was scheduled before the wall clock was set back, and is due; so is a feed leased
        for longer than ``lease`` from now.
        """
        lease_free = or_(
            FeedRow.lease_until.is_(None),
            FeedRow.lease_until < now,
            FeedRow.lease_until > now + lease,
        )
        due = and_(
            FeedRow.origin == "config", FeedRow.state != FeedState.DISABLED.value, lease_free
        )
        if not everything:
            on_time = or_(FeedRow.next_fetch_at.is_(None), FeedRow.next_fetch_at <= now)
            if slack is not None:
                on_time = or_(on_time, FeedRow.last_fetched_at > now + slack)
            due = and_(due, on_time)
        query = (
            select(FeedRow, OutletRow.name, OutletRow.interval_seconds)
            .join(OutletRow, OutletRow.id == FeedRow.outlet_id)
            .where(due)
            .order_by(FeedRow.next_fetch_at.is_not(None), FeedRow.next_fetch_at, FeedRow.id)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=FeedRow)
        with engines.write(self.engine) as conn:
            rows = engines.orm(conn).execute(query).all()
            ids = [row.FeedRow.id for row in rows]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(
                    update(FeedRow).where(FeedRow.id.in_(chunk)).values(lease_until=now + lease)
                )
        return [_due_feed(row.FeedRow, row.name, row.interval_seconds) for row in rows]

    def release(self, feed_ids: Sequence[int]) -> None:
        """Give back claimed feeds that were not fetched (e.g. the daemon is stopping)."""
        if feed_ids:
            with engines.write(self.engine) as conn:
                conn.execute(
                    update(FeedRow).where(FeedRow.id.in_(list(feed_ids))).values(lease_until=None)
                )

    # --- the index --------------------------------------------------------------------

    def index_rows(
        self, since: datetime, min_tokens: int, *, chunk: int = 2000
    ) -> Iterator[list[tuple[int, Fingerprint, datetime]]]:
        """Stored fingerprints of clusterable articles first seen since ``since``, in
        arrival order, in lists of up to ``chunk`` (for refilling the index)."""
        query = (
            select(
                ArticleRow.id,
                ArticleRow.signature,
                ArticleRow.anchors,
                ArticleRow.shingles,
                ArticleRow.tokens,
                ArticleRow.passages,
                ArticleRow.first_seen_at,
            )
            .where(
                ArticleRow.first_seen_at >= since,
                ArticleRow.signature.is_not(None),
                ArticleRow.tokens >= min_tokens,
            )
            .order_by(ArticleRow.first_seen_at, ArticleRow.id)
        )
        rows: list[tuple[int, Fingerprint, datetime]] = []
        with engines.read(self.engine) as conn:
            for row in conn.execute(query.execution_options(yield_per=chunk)):
                fp = Fingerprint(
                    signature=bytes(row.signature),
                    shingles=row.shingles,
                    tokens=row.tokens,
                    passages=tuple(row.passages or ()),
                    version="",
                    anchors=bytes(row.anchors or b""),
                )
                rows.append((int(row.id), fp, row.first_seen_at))
                if len(rows) == chunk:
                    yield rows
                    rows = []
        if rows:
            yield rows

    def refingerprint(self, compute: Callable[[list[tuple[str, str]]], list[Fingerprint]]) -> int:
        """Recompute every stored fingerprint (the fingerprint parameters changed);
        ``compute`` gets (outlet name, text) pairs."""
        done = 0
        last_id = 0
        while True:
            with engines.write(self.engine) as conn:
                rows = conn.execute(
                    select(ArticleRow.id, ArticleRow.text, OutletRow.name)
                    .join(OutletRow, OutletRow.id == ArticleRow.outlet_id)
                    .where(ArticleRow.id > last_id)
                    .order_by(ArticleRow.id)
                    .limit(1000)
                ).all()
                texts = [(r.name, r.text) for r in rows]
                for row, fp in zip(rows, compute(texts), strict=True):
                    conn.execute(
                        update(ArticleRow)
                        .where(ArticleRow.id == row.id)
                        .values(
                            signature=fp.signature,
                            anchors=fp.anchors,
                            shingles=fp.shingles,
                            tokens=fp.tokens,
                            passages=list(fp.passages),
                        )
                    )
            if not rows:
                return done
            done += len(rows)
            last_id = rows[-1].id

    def outlet_memories(self) -> dict[str, list[list[int]]]:
        """Every outlet's learned-boilerplate memory, by outlet name."""
        query = select(OutletRow.name, OutletMemoryRow.paragraphs).join(
            OutletRow, OutletRow.id == OutletMemoryRow.outlet_id
        )
        with engines.read(self.engine) as conn:
            return {row.name: row.paragraphs for row in conn.execute(query)}

    def count_articles(self) -> int:
        with engines.read(self.engine) as conn:
            return int(conn.scalar(select(func.count()).select_from(ArticleRow)) or 0)


def _due_feed(row: FeedRow, outlet: str, interval_seconds: int | None) -> DueFeed:
    return DueFeed(
        id=row.id,
        outlet=outlet,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        error_count=row.error_count,
        last_success_at=row.last_success_at,
        last_full_fetch_at=row.last_full_fetch_at,
        interval=timedelta(seconds=interval_seconds) if interval_seconds else None,
    )
