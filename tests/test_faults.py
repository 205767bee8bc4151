"""Faults with real processes (DESIGN.md §4): ``kill -9`` in the middle of an ingest, and
the CLI reading while a cycle writes.

``aggregator run --once --all`` runs as a real process against a loopback server that
serves a corpus of feeds with ETags, on a real SQLite file (and the real PostgreSQL). Output
goes to log files, never pipes, and every process a test starts is killed in a ``finally``.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from aggregator.store import Store
from aggregator.store.models import ArticleRow, FeedRow, OutletRow
from tests.conftest import cli_env, run_cli
from tests.loopback import LoopbackServer, conditional
from tests.test_pipeline import START, story

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
LAST_MODIFIED = "Sat, 01 Mar 2025 11:00:00 GMT"
#: Seconds one `aggregator run --once --all` may take on a loaded 2-core machine.
RUN_TIMEOUT = 120.0
#: The lease of a claimed feed in these tests: a killed run's claims expire this soon.
LEASE_SECONDS = 0.3


@dataclass(frozen=True)
class Corpus:
    """Feeds served on loopback: ``feeds`` maps a feed URL to (outlet, its item guids)."""

    server: LoopbackServer
    outlets_file: Path
    feeds: dict[str, tuple[str, list[str]]]

    @property
    def expected(self) -> set[tuple[str, str]]:
        return {(outlet, guid) for outlet, guids in self.feeds.values() for guid in guids}


def _feed_body(outlet: int, feed: int, items: int, words: int) -> tuple[bytes, list[str]]:
    guids = [f"o{outlet}-f{feed}-{n}" for n in range(items)]
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Outlet {outlet} feed {feed}</title><link>https://o{outlet}.example/</link>",
    ]
    for n, guid in enumerate(guids):
        # Every fifth item of outlets 1+ copies outlet 0's story: clusters form across feeds.
        seed = hash((0 if n % 5 == 0 else outlet, feed, n))
        published = format_datetime(START)
        parts.append(
            f'<item><guid isPermaLink="false">{guid}</guid>'
            f"<link>https://o{outlet}.example/{feed}/{n}</link>"
            f"<title>Story {escape(guid)}</title><pubDate>{published}</pubDate>"
            f"<description>{escape(story(seed % 10_000_000, words))}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode(), guids


@pytest.fixture
def corpus(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Corpus]:
    """``outlets`` × ``feeds_per_outlet`` feeds of ``items`` items (indirect parameters)."""
    outlets, feeds_per_outlet, items, words = getattr(request, "param", (8, 5, 25, 120))
    with LoopbackServer() as server:
        feeds: dict[str, tuple[str, list[str]]] = {}
        blocks = []
        for outlet in range(outlets):
            urls = []
            for feed in range(feeds_per_outlet):
                body, guids = _feed_body(outlet, feed, items, words)
                path = f"/o{outlet}/f{feed}.xml"
                etag = f'"o{outlet}-f{feed}-v1"'
                server.route(
                    path,
                    conditional(body, etag=etag, last_modified=LAST_MODIFIED, headers=RSS_TYPE),
                )
                urls.append(server.url(path))
                feeds[server.url(path)] = (f"Outlet {outlet}", guids)
            quoted = ", ".join(f'"{u}"' for u in urls)
            blocks.append(f'[[outlets]]\nname = "Outlet {outlet}"\nfeeds = [{quoted}]\n')
        outlets_file = tmp_path / "outlets.toml"
        outlets_file.write_text("\n".join(blocks))
        yield Corpus(server, outlets_file, feeds)


def _env(database_url: str, corpus: Corpus) -> dict[str, str]:
    # Short leases: a killed run's claims must not hide its feeds from the next run for the
    # default 10 minutes. No article pages: every item carries its whole text.
    return cli_env(
        database_url,
        corpus.outlets_file,
        AGGREGATOR_SCHEDULE__LEASE=f"{LEASE_SECONDS}s",
        AGGREGATOR_FETCH__FULL_TEXT="false",
    )


def _migrate(database_url: str) -> None:
    store = Store.open(database_url, check_schema=False)
    try:
        store.upgrade()
    finally:
        store.close()


def _start_run(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", "--once", "--all"],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ArticleRow)) or 0)


def _check_store(engine: Engine, corpus: Corpus) -> int:
    """What must hold after any crash; returns how many articles are stored."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutletRow.name, ArticleRow.guid, ArticleRow.feed_id, ArticleRow.cluster_id).join(
                OutletRow, OutletRow.id == ArticleRow.outlet_id
            )
        ).all()
        feeds = conn.execute(
            select(FeedRow.id, FeedRow.url, FeedRow.etag, FeedRow.last_modified)
        ).all()
    keys = [(row.name, row.guid) for row in rows]
    assert len(keys) == len(set(keys)), "an article is stored twice"
    assert set(keys) <= corpus.expected, "an article that no feed carries"
    assert all(row.cluster_id is not None for row in rows), "an article outside any cluster"
    by_feed: dict[int, set[str]] = {}
    for row in rows:
        by_feed.setdefault(row.feed_id, set()).add(row.guid)
    for feed in feeds:
        if feed.etag is not None or feed.last_modified is not None:
            _, guids = corpus.feeds[feed.url]
            assert by_feed.get(feed.id, set()) == set(guids), (
                f"{feed.url}: validators saved without all of its items"
            )
    return len(keys)


def _run_to_completion(env: dict[str, str], cwd: Path, log: Path) -> None:
    process = _start_run(env, cwd, log)
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    finally:
        _kill(process)
    assert code == 0, log.read_text(errors="replace")


def _kill_when(
    process: subprocess.Popen[bytes], engine: Engine, at_least: int, jitter: float
) -> bool:
    """SIGKILL once ``at_least`` articles are stored, ``jitter`` seconds later; False when
    the run finished first."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if _count(engine) >= at_least:
            time.sleep(jitter)
            break
        time.sleep(0.02)
    killed = process.poll() is None
    _kill(process)
    return killed


# --- kill -9 ---------------------------------------------------------------------------------


def test_kill_9_at_random_moments_never_loses_or_duplicates_an_article(
    database_url: str, corpus: Corpus, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    _migrate(database_url)
    env = _env(database_url, corpus)
    log = tmp_path / "runs.log"
    total = len(corpus.expected)
    engine = create_engine(database_url)
    partial: list[int] = []  # articles stored when each kill struck mid-ingest
    try:
        # One kill at a random moment of start-up or the first fetches, then kills at random
        # points of the ingest: after a random number of stored articles, plus a random delay
        # that lands anywhere in a batch (fingerprints, inserts, commit).
        process = _start_run(env, tmp_path, log)
        time.sleep(rng.uniform(0.2, 2.5))
        _kill(process)
        _check_store(engine, corpus)
        for _ in range(3):
            time.sleep(LEASE_SECONDS)  # the killed run's leases expire
            stored = _count(engine)
            target = stored + rng.randrange(1, max(2, (total - stored) // 2))
            process = _start_run(env, tmp_path, log)
            if _kill_when(process, engine, target, rng.uniform(0, 0.3)):
                partial.append(_check_store(engine, corpus))
            else:
                _check_store(engine, corpus)
        time.sleep(LEASE_SECONDS)
        _run_to_completion(env, tmp_path, log)
        assert _check_store(engine, corpus) == total, f"seed {seed}"
        with engine.connect() as conn:
            validators = conn.execute(select(func.count()).where(FeedRow.etag.is_not(None)))
            assert validators.scalar() == len(corpus.feeds)
    finally:
        engine.dispose()
    assert any(0 < n < total for n in partial), f"no kill struck mid-ingest (seed {seed})"


# --- the CLI reads while a cycle writes ------------------------------------------------------

READ_ROUNDS = 2
READS = [
    ["export", "--format", "jsonl"],
    ["clusters", "list", "--json", "--since", "all", "--limit", "0"],
    ["feeds", "status", "--json"],
]


def _parse(args: list[str], stdout: str) -> Any:
    if args[0] == "export":
        return [json.loads(line) for line in stdout.splitlines()]
    return json.loads(stdout)


def test_the_cli_reads_while_a_cycle_writes_on_sqlite(corpus: Corpus, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'aggregator.db'}"
    _migrate(database_url)
    env = _env(database_url, corpus)
    log = tmp_path / "run.log"
    total = len(corpus.expected)
    engine = create_engine(database_url)
    writer = _start_run(env, tmp_path, log)
    during: list[int] = []  # articles each export saw while the writer ran
    failures: list[str] = []
    try:
        while writer.poll() is None and _count(engine) == 0:
            time.sleep(0.02)  # the reads below are to meet the writes, not its start-up
        # One reader at a time, each command in turn, while the cycle writes (at most two
        # rounds): on two cores, more readers would mostly starve the writer they meet.
        for args in READS * READ_ROUNDS:
            if writer.poll() is not None:
                break
            result = run_cli(args, env, tmp_path, check=False, timeout=60)
            if result.returncode != 0 or "locked" in result.stderr:
                failures.append(f"{' '.join(args)} → {result.returncode}: {result.stderr}")
                continue
            try:
                parsed = _parse(args, result.stdout)  # never half a document
            except ValueError as exc:
                failures.append(f"{' '.join(args)}: not JSON: {exc}")
                continue
            if args[0] == "export" and writer.poll() is None:
                during.append(len(parsed))
        code = writer.wait(timeout=RUN_TIMEOUT)
    finally:
        _kill(writer)
        engine.dispose()
    assert failures == []
    assert code == 0, log.read_text(errors="replace")
    assert any(0 < n < total for n in during), f"no export met the ingest: {during}"
    assert during == sorted(during)  # each read a consistent snapshot, later than the last
    final = run_cli(READS[0], env, tmp_path)
    assert len(_parse(READS[0], final.stdout)) == total
