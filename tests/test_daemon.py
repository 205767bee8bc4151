"""``aggregator run``: the daemon as a real process, over real HTTP, on a real database.

Each test starts ``python -m aggregator run`` on a free loopback port, with the demo corpus
served by a loopback server, and talks to it over HTTP. Output goes to log files (never
pipes), and every process a test starts is killed in a ``finally`` block.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from sqlalchemy import create_engine, text

from aggregator.store import Store
from tests.conftest import SEEDS, SeedSite, cli_env, run_cli
from tests.loopback import respond, trickle

EXPECTED = json.loads((SEEDS / "expected.json").read_text())
#: A service manager waits this long after SIGTERM before it kills (PRODUCT.md, DESIGN.md).
STOP_BUDGET_SECONDS = 8.0
#: How long a daemon may take to start and finish its first cycle on a loaded 2-core machine.
START_TIMEOUT = 45.0
SLOW_FEED = "/slow-northern-courier.xml"
SLOW_OUTLET = "Northern Courier"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _articles_per_outlet() -> dict[str, int]:
    """How many articles each demo outlet has (the expected clusters plus the singletons)."""
    counts: dict[str, int] = {}
    refs = [m for c in EXPECTED["clusters"] for m in c["members"]] + EXPECTED["singletons"]
    for ref in refs:
        counts[ref["outlet"]] = counts.get(ref["outlet"], 0) + 1
    assert sum(counts.values()) == EXPECTED["total_articles"]
    return counts


def _migrate(database_url: str) -> None:
    store = Store.open(database_url, check_schema=False)
    try:
        store.upgrade()
    finally:
        store.close()


def _migrate_to(path: Path) -> str:
    url = f"sqlite:///{path}"
    _migrate(url)
    return url


def _query(database_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


@dataclass
class RunningDaemon:
    process: subprocess.Popen[bytes]
    log: Path
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        """Poll ``check`` until it holds; fail early if the daemon died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited early ({what}):\n{self.output()}")
            try:
                if check():
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()}")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url(path), timeout=5.0)

    def stop(self, signum: int) -> tuple[int, float]:
        """Send ``signum``; returns the exit code and the seconds it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_BUDGET_SECONDS + 5)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"daemon ignored signal {signum}:\n{self.output()}") from None
        return code, time.monotonic() - started


@contextmanager
def daemon(env: dict[str, str], cwd: Path) -> Iterator[RunningDaemon]:
    """``aggregator run`` on a free port; killed on the way out whatever happened."""
    port = _free_port()
    log = cwd / f"daemon-{port}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run"],
            env={**env, "AGGREGATOR_HTTP__PORT": str(port)},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
        )
        try:
            yield RunningDaemon(process, log, f"http://127.0.0.1:{port}")
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def _clusters(running: RunningDaemon) -> list[dict[str, Any]]:
    response = running.get("/api/clusters?since=all&limit=0")
    assert response.status_code == 200, response.text
    clusters: list[dict[str, Any]] = response.json()["clusters"]
    return clusters


def _feeds(running: RunningDaemon) -> dict[str, dict[str, Any]]:
    response = running.get("/api/feeds")
    assert response.status_code == 200, response.text
    return {f["feed_url"]: f for f in response.json()["feeds"]}


# --- start-up ------------------------------------------------------------------------------


def test_run_refuses_a_database_without_schema_at_once(seed_site: SeedSite, tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'empty.db'}", seed_site.outlets_file)
    started = time.monotonic()
    # a daemon that started serving would never return: the timeout turns that into a failure
    result = run_cli(["run"], env, tmp_path, check=False, timeout=30)
    assert time.monotonic() - started < 30
    assert result.returncode != 0
    assert "aggregator db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert seed_site.server.requests == []  # it fetched nothing


def test_run_on_a_port_in_use_says_so_in_one_line_and_fetches_nothing(
    seed_site: SeedSite, tmp_path: Path
) -> None:
    env = cli_env(_migrate_to(tmp_path / "aggregator.db"), seed_site.outlets_file)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env["AGGREGATOR_HTTP__PORT"] = str(port)
        result = run_cli(["run"], env, tmp_path, check=False, timeout=30)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert "in use" in line
    assert seed_site.server.requests == []


# --- serving -------------------------------------------------------------------------------


def test_run_fetches_due_feeds_on_its_first_tick_and_serves_every_endpoint(
    seed_site: SeedSite, database_url: str, tmp_path: Path
) -> None:
    _migrate(database_url)
    env = cli_env(database_url, seed_site.outlets_file)
    expected_sizes = sorted(len(c["members"]) for c in EXPECTED["clusters"])
    with daemon(env, tmp_path) as running:

        def corpus_complete() -> bool:
            sizes = [c["size"] for c in _clusters(running)]
            return bool(sum(sizes) == EXPECTED["total_articles"])

        running.wait_until("every article of the corpus", corpus_complete, START_TIMEOUT)
        clusters = _clusters(running)
        assert sorted(c["size"] for c in clusters if c["size"] > 1) == expected_sizes
        fetched = {r.path for r in seed_site.server.requests}
        assert len(fetched) == EXPECTED["total_feeds"]

        health = running.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"

        rss = running.get("/feed.xml")
        assert rss.status_code == 200
        parsed = feedparser.parse(rss.content)
        assert not parsed.bozo, parsed.bozo_exception
        assert {e.id for e in parsed.entries} == {f"aggregator:cluster:{c['id']}" for c in clusters}

        json_feed = running.get("/feed.json")
        assert json_feed.status_code == 200
        assert json_feed.json()["version"] == "https://jsonfeed.org/version/1.1"
        assert len(json_feed.json()["items"]) == len(clusters)

        page = running.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        seed_title = EXPECTED["clusters"][0]["members"][0]["title"]
        assert seed_title in page.text

        def samples() -> dict[str, float]:
            metrics = running.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"].startswith("text/plain")
            lines = [line.rsplit(" ", 1) for line in metrics.text.splitlines()]
            return {k: float(v) for k, v in lines if k.startswith("aggregator_")}

        # the counters move just after each feed's transaction commits
        want = {
            'aggregator_fetches_total{outcome="ok"}': EXPECTED["total_feeds"],
            "aggregator_articles_total": EXPECTED["total_articles"],
        }
        running.wait_until(
            "the metrics", lambda: all(samples().get(k) == v for k, v in want.items()), 10
        )
        assert "aggregator_fetch_seconds_count" in samples()

        code, seconds = running.stop(signal.SIGTERM)
        assert code == 0, running.output()
        assert seconds <= STOP_BUDGET_SECONDS
    assert "Traceback" not in running.output()


# --- stopping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "backend"),
    [
        (signal.SIGTERM, "sqlite"),
        (signal.SIGINT, "sqlite"),
        pytest.param(signal.SIGTERM, "postgresql", marks=pytest.mark.postgres),
    ],
    ids=["SIGTERM-sqlite", "SIGINT-sqlite", "SIGTERM-postgresql"],
)
def test_a_signal_during_a_fetch_stops_at_once_keeps_no_partial_rows_and_frees_the_lease(
    seed_site: SeedSite,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    signum: int,
    backend: str,
) -> None:
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'aggregator.db'}"
    else:
        database_url = request.getfixturevalue("postgres_url")
    _migrate(database_url)
    slow_url = seed_site.base + SLOW_FEED
    seed_site.server.route(
        SLOW_FEED,
        trickle(0.2, b" ", {"Content-Type": "application/rss+xml", "ETag": '"partial"'}),
    )
    outlets = tmp_path / "outlets-slow.toml"
    outlets.write_text(
        seed_site.outlets_file.read_text().replace(
            seed_site.base + "/northern-courier.xml", slow_url
        )
    )
    # the total deadline is far away: only the stop can end the slow fetch in time; and a
    # claim left to expire would block the feed for an hour
    env = cli_env(
        database_url,
        outlets,
        AGGREGATOR_FETCH__TOTAL_TIMEOUT="60",
        AGGREGATOR_SCHEDULE__LEASE="1h",
    )
    others = {name: n for name, n in _articles_per_outlet().items() if name != SLOW_OUTLET}

    with daemon(env, tmp_path) as running:

        def others_done_and_slow_in_flight() -> bool:
            feeds = _feeds(running)
            done = all(
                f["last_fetched_at"] is not None for url, f in feeds.items() if url != slow_url
            )
            return done and any(r.path == SLOW_FEED for r in seed_site.server.requests)

        running.wait_until("the slow fetch in flight", others_done_and_slow_in_flight, 45)
        assert _feeds(running)[slow_url]["last_fetched_at"] is None  # still in flight
        assert seed_site.server.connections.current >= 1  # the trickle is still being read
        code, seconds = running.stop(signum)
        assert code == 0, running.output()
        assert seconds <= STOP_BUDGET_SECONDS, running.output()
    assert "Traceback" not in running.output()

    (slow,) = _query(
        database_url,
        "SELECT id, etag, last_fetched_at, last_status, lease_until FROM feeds WHERE url = :u",
        u=slow_url,
    )
    assert slow.etag is None
    assert slow.last_fetched_at is None
    assert slow.last_status is None
    assert _query(database_url, "SELECT id FROM articles WHERE feed_id = :f", f=slow.id) == []
    stored = dict(
        _query(
            database_url,
            "SELECT o.name, count(a.id) FROM outlets o LEFT JOIN articles a "
            "ON a.outlet_id = o.id GROUP BY o.name",
        )
    )
    assert stored == {**others, SLOW_OUTLET: 0}
    # the stop gave the claim back rather than leaving it until the lease ran out
    assert slow.lease_until is None

    # so the next cycle fetches the interrupted feed, though its lease would still run 1 h
    seed_site.server.route(
        SLOW_FEED,
        respond(
            200,
            (SEEDS / "northern-courier.xml").read_bytes(),
            {"Content-Type": "application/rss+xml", "ETag": '"complete"'},
        ),
    )
    result = run_cli(["run", "--once"], env, tmp_path)
    assert "fetched 1 feeds" in result.stderr, result.stderr
    (after,) = _query(database_url, "SELECT etag FROM feeds WHERE url = :u", u=slow_url)
    assert after.etag == '"complete"'
    count = _query(database_url, "SELECT count(*) FROM articles WHERE feed_id = :f", f=slow.id)
    assert count[0][0] == _articles_per_outlet()[SLOW_OUTLET]
