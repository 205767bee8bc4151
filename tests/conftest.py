"""Shared fixtures: databases (a real SQLite file; the real PostgreSQL when configured),
the real Redis when configured, and the demo corpus served on loopback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aggregator.devdata import shared_path
from aggregator.store import Store
from tests.loopback import LoopbackServer, respond

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = shared_path()
PG_ENV = "AGGREGATOR_TEST_DATABASE_URL"
REDIS_ENV = "AGGREGATOR_TEST_REDIS_URL"
CONTENT_TYPES = {".xml": "application/rss+xml", ".json": "application/feed+json"}


def postgres_admin_url() -> str:
    """The PostgreSQL server tests may create databases on, or skip."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped (CI sets it)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg")
    name = f"aggtest_{secrets.token_hex(6)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a real SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aggregator.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store."""
    created = Store.open(database_url, check_schema=False)
    created.upgrade()
    yield created
    created.close()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """An empty loopback HTTP server; tests add the routes they serve."""
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def redis_url() -> str:
    """The real Redis server (CI sets its URL)."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: Redis tests skipped (CI sets it)")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to the test; every key under it is deleted afterwards."""
    import redis

    prefix = f"aggtest-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@dataclass(frozen=True)
class SeedSite:
    """The demo corpus served on loopback, and an outlets file pointing at it."""

    server: LoopbackServer
    base: str
    outlets_file: Path


@pytest.fixture
def seed_site(tmp_path: Path) -> Iterator[SeedSite]:
    with LoopbackServer() as server:
        for path in sorted(SEEDS.iterdir()):
            content_type = CONTENT_TYPES.get(path.suffix)
            if content_type:
                server.route(
                    f"/{path.name}", respond(200, path.read_bytes(), {"Content-Type": content_type})
                )
        base = server.url("/").rstrip("/")
        outlets = tmp_path / "outlets.toml"
        outlets.write_text((SEEDS / "outlets.toml").read_text().replace("{base}", base))
        yield SeedSite(server, base, outlets)


def cli_env(database_url: str, outlets_file: Path, **extra: str) -> dict[str, str]:
    """Environment for running the real ``aggregator`` command against a test store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env.update(
        AGGREGATOR_DATABASE_URL=database_url,
        AGGREGATOR_OUTLETS=str(outlets_file),
        AGGREGATOR_FETCH__ALLOW_PRIVATE_NETWORKS="true",
    )
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, *, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m aggregator ARGS`` as a real process."""
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"aggregator {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result
