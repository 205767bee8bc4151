"""Engines and transactions: SQLite with WAL and BEGIN IMMEDIATE, PostgreSQL as is.

SQLite lets many readers work beside one writer only in WAL mode, and a writer that starts
with a plain BEGIN can deadlock against another when both upgrade to a write lock, which
SQLite reports at once as "database is locked" without waiting. Writers therefore start
with BEGIN IMMEDIATE (they queue on the busy timeout instead), readers with a plain BEGIN.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from aggregator.errors import ConfigError

#: How long a SQLite writer waits for another writer before giving up (DESIGN.md §4).
SQLITE_BUSY_TIMEOUT_MS = 5000
_WRITE_OPTION = "aggregator_write"


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _unicode_lower(value: object) -> object:
    """SQL ``lower()`` for all of Unicode, as PostgreSQL has it (SQLite's folds only ASCII)."""
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; "begin" below issues it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        # Case-insensitive search and outlet filters lower() both sides; without this,
        # "Élysée" or "Москва" would match on PostgreSQL but not on SQLite.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` for psycopg 3; reject what is not a URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database url {url!r} is not a SQLAlchemy URL: {exc}") from None
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"database url {url!r}: only sqlite:/// and postgresql+psycopg:// are supported"
        )
    return parsed.render_as_string(hide_password=False)


def create(url: str) -> Engine:
    """An engine for ``url``; creates the directory of a SQLite file."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: BEGIN IMMEDIATE on SQLite; committed on success."""
    with engine.connect().execution_options(**{_WRITE_OPTION: True}) as conn, conn.begin():
        yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read transaction (a consistent snapshot)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def orm(conn: Connection) -> Session:
    """An ORM session on an open connection, for queries that return model objects.

    It joins the connection's transaction and never commits or rolls it back itself.
    """
    return Session(bind=conn, expire_on_commit=False)
