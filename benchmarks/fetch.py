"""One fetch cycle against real loopback HTTP servers: cycle time against the politeness bound.

Each host is a distinct loopback address (127.0.0.2, 127.0.0.3, …; Linux routes all of
127/8 to ``lo``), so the fetcher's per-host limit, keyed by the URL's host, sees them as
different hosts. A child process serves every host with a minimal asyncio HTTP/1.1 server
(keep-alive): each request is answered after the feed's latency, drawn once per feed from a
seeded RNG, so both clients see the same latencies. Most feeds are unchanged and answer 304
to the validators the client sends; the others changed (the client's validators are stale)
and answer 200 with a ~10-item RSS body, a new ETag and Last-Modified.

Product: ``Fetcher.fetch_feed`` with the default FetchSettings (``allow_private_networks``
on, or the SSRF guard refuses loopback). Baseline: a plain ``httpx.AsyncClient`` with the
same limits as two semaphores (per host, then global), the same headers and timeouts.
Every fetch of the cycle is started at once (``asyncio.gather``); the limits do the queueing.

The politeness bound is the shortest cycle the limits allow for these latencies:
max(Σ latency / concurrency, max over hosts of Σ host latency / per-host connections).
CPU time is ``time.process_time()`` of this (client) process over the cycle; the server's
CPU is in its own process, pinned to another core when the machine has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import html
import multiprocessing
import os
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from typing import Any

import httpx

from aggregator.fetch import ACCEPT_ENCODING, FEED_ACCEPT, Fetcher
from aggregator.settings import FetchSettings
from aggregator.types import Fetched, FetchFailure, FetchRequest, NotModified
from benchmarks.common import Samples, num, pct, quiet_gc, ratio, spread, table
from benchmarks.results import Section

SEED = 20_250_301
UNCHANGED_SHARE = 0.8  # feeds answering 304 to the stored validators
FEED_ITEMS = 10
FIRST_HOST = 2  # 127.0.0.2
WARMUP_PATH = "/warmup"
STARTED = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
HEADERS = (
    "client",
    "feeds",
    "hosts",
    "304 share",
    "bound (s)",
    "cycle (s)",
    "cycle / bound",
    "CPU ms per feed",
    "CPU vs baseline",
)
CHECK_HEADERS = (
    "client",
    "200",
    "304",
    "wrong or failed",
    "connections",
    "max in flight",
    "cycle spread",
    "CPU spread",
)


@dataclass(frozen=True, slots=True)
class Feed:
    index: int
    host: int  # 0-based; served on 127.0.0.(FIRST_HOST + host)
    latency: float  # seconds before the server answers
    unchanged: bool  # True: answers 304 to the client's validators

    @property
    def path(self) -> str:
        return f"/feeds/{self.index}.xml"

    @property
    def old_etag(self) -> str:
        return f'"f{self.index}-v1"'

    @property
    def old_modified(self) -> str:
        return format_datetime(STARTED + timedelta(seconds=self.index), usegmt=True)

    @property
    def etag(self) -> str:
        """The server's current ETag: the client's one unless the feed changed."""
        return self.old_etag if self.unchanged else f'"f{self.index}-v2"'

    @property
    def modified(self) -> str:
        if self.unchanged:
            return self.old_modified
        return format_datetime(STARTED + timedelta(hours=1, seconds=self.index), usegmt=True)


def address(host: int) -> str:
    return f"127.0.0.{FIRST_HOST + host}"


def make_feeds(count: int, hosts: int, latency: tuple[float, float]) -> list[Feed]:
    """``count`` feeds, spread evenly over ``hosts``, in a seeded random request order."""
    rng = random.Random(SEED)
    unchanged = set(rng.sample(range(count), round(UNCHANGED_SHARE * count)))
    feeds = [Feed(i, i % hosts, rng.uniform(*latency), i in unchanged) for i in range(count)]
    rng.shuffle(feeds)
    return feeds


def politeness_bound(feeds: Sequence[Feed], settings: FetchSettings) -> float:
    """The shortest cycle the global and per-host limits allow (a lower bound)."""
    per_host: dict[int, float] = {}
    for feed in feeds:
        per_host[feed.host] = per_host.get(feed.host, 0.0) + feed.latency
    overall = sum(per_host.values()) / settings.concurrency
    busiest = max(per_host.values()) / settings.per_host_connections
    return max(overall, busiest)


def fifo_schedule(feeds: Sequence[Feed], settings: FetchSettings) -> float:
    """The cycle time with no per-request overhead, queueing as the Fetcher does: a host slot
    first (FIFO per host), then a global slot (FIFO), in request order."""
    host_busy: Counter[int] = Counter()
    host_waiting: dict[int, deque[Feed]] = defaultdict(deque)
    ready: deque[Feed] = deque()
    for feed in feeds:
        if host_busy[feed.host] < settings.per_host_connections:
            host_busy[feed.host] += 1
            ready.append(feed)
        else:
            host_waiting[feed.host].append(feed)
    running: list[tuple[float, int, Feed]] = []
    now = 0.0

    def start() -> None:
        while ready and len(running) < settings.concurrency:
            feed = ready.popleft()
            heapq.heappush(running, (now + feed.latency, feed.index, feed))

    start()
    while running:
        now, _, done = heapq.heappop(running)
        start()  # the global slot goes to the next in line, then the host's next joins the line
        if host_waiting[done.host]:
            ready.append(host_waiting[done.host].popleft())
            start()
    return now


def feed_body(feed: Feed) -> bytes:
    """A small RSS 2.0 document: FEED_ITEMS items with titles, links, dates and summaries."""
    site = f"http://{address(feed.host)}/site{feed.index}"
    items = []
    for k in range(FEED_ITEMS):
        published = format_datetime(STARTED - timedelta(minutes=17 * k), usegmt=True)
        summary = (
            f"Officials in district {k} said on Saturday that the measure affecting feed "
            f"{feed.index} would be reviewed next week, after residents raised concerns."
        )
        items.append(
            f"<item><title>Story {k} of feed {feed.index}: council reviews plan</title>"
            f"<link>{site}/news/{k}</link><guid>{site}/news/{k}</guid>"
            f"<pubDate>{published}</pubDate>"
            f"<description>{html.escape(summary)}</description></item>"
        )
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Feed {feed.index}</title><link>{site}/</link>"
        f"<description>News of feed {feed.index}</description>"
    )
    return (head + "".join(items) + "</channel></rss>").encode("utf-8")


# --- the server (child process) -----------------------------------------------------------


@dataclass(slots=True)
class _ServerStats:
    statuses: Counter[int] = field(default_factory=Counter)
    connections: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    host_in_flight: Counter[int] = field(default_factory=Counter)
    max_host_in_flight: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "statuses": dict(self.statuses),
            "connections": self.connections,
            "max_in_flight": self.max_in_flight,
            "max_host_in_flight": self.max_host_in_flight,
        }

    def reset(self) -> None:
        self.statuses.clear()
        self.connections = 0
        self.max_in_flight = self.in_flight
        self.max_host_in_flight = max(self.host_in_flight.values(), default=0)


def _response(status: int, reason: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Server:
    """Every host's listener in one event loop; answers after each feed's latency."""

    def __init__(self, feeds: Sequence[Feed]) -> None:
        self.feeds = {(f.host, f.path): f for f in feeds}
        self.bodies = {f.index: feed_body(f) for f in feeds if not f.unchanged}
        self.stats = _ServerStats()

    async def handle(
        self, host: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.stats.connections += 1
        try:
            while await self._one_request(host, reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # shutdown with requests still pending (their clients gave up): end quietly
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(
        self, host: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Read one request and answer it; False when the connection should end."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed an idle connection
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, _, rest = request_line.partition(" ")
        target = rest.partition(" ")[0]
        headers = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length):
            await reader.readexactly(int(length))
        keep_alive = headers.get("connection", "").lower() != "close"
        if target == WARMUP_PATH:
            writer.write(_response(200, "OK", {"Content-Length": "2"}, b"ok"))
            await writer.drain()
            return keep_alive
        stats = self.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        stats.host_in_flight[host] += 1
        stats.max_host_in_flight = max(stats.max_host_in_flight, stats.host_in_flight[host])
        try:
            feed = self.feeds.get((host, target)) if method == "GET" else None
            if feed is not None:
                await asyncio.sleep(feed.latency)
            status, data = self._answer(feed, headers)
            writer.write(data)
            await writer.drain()
            stats.statuses[status] += 1
        finally:
            stats.in_flight -= 1
            stats.host_in_flight[host] -= 1
        return keep_alive

    def _answer(self, feed: Feed | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if feed is None:
            return 404, _response(404, "Not Found", {"Content-Length": "0"})
        validators = {"ETag": feed.etag, "Last-Modified": feed.modified}
        match = headers.get("if-none-match")
        since = headers.get("if-modified-since")
        fresh = match == feed.etag if match is not None else since == feed.modified
        if fresh:
            return 304, _response(304, "Not Modified", validators)
        body = self.bodies[feed.index] if not feed.unchanged else feed_body(feed)
        head = {
            "Content-Type": "application/rss+xml; charset=utf-8",
            "Content-Length": str(len(body)),
            **validators,
        }
        return 200, _response(200, "OK", head, body)


def _serve(feeds: Sequence[Feed], hosts: int, avoid: set[int], conn: Connection) -> None:
    """The child process: pin away from the client's core, listen, report, serve until told."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count():
        others = set(range(os.cpu_count() or 1)) - avoid
        with contextlib.suppress(OSError):
            if others:
                os.sched_setaffinity(0, others)
    try:
        asyncio.run(_serve_async(feeds, hosts, conn))
    finally:
        conn.close()


async def _serve_async(feeds: Sequence[Feed], hosts: int, conn: Connection) -> None:
    server = _Server(feeds)
    loop = asyncio.get_running_loop()
    listeners = []
    try:
        for host in range(hosts):

            async def handle(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: int = host
            ) -> None:
                await server.handle(host, reader, writer)

            listeners.append(await asyncio.start_server(handle, address(host), 0, backlog=512))
    except OSError as exc:
        conn.send(("error", f"cannot listen on {address(len(listeners))}: {exc}"))
        return
    ports = [listener.sockets[0].getsockname()[1] for listener in listeners]
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    conn.send(("ready", ports, affinity))
    stop = asyncio.Event()

    def on_message() -> None:
        try:
            message = conn.recv()
        except EOFError:  # the parent went away
            message = "stop"
        if message == "stats":
            conn.send(server.stats.snapshot())
            server.stats.reset()
        elif message == "stop":
            loop.remove_reader(conn.fileno())
            stop.set()

    loop.add_reader(conn.fileno(), on_message)
    await stop.wait()
    for listener in listeners:
        listener.close()


class LoopbackHosts:
    """The server process, seen from the client: URLs, stats, shutdown."""

    def __init__(self, feeds: Sequence[Feed], hosts: int) -> None:
        self.client_cpus = (
            set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
        )
        context = multiprocessing.get_context("spawn")  # nothing of this process inherited
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(list(feeds), hosts, self.client_cpus, child),
            name="bench-fetch-server",
            daemon=True,
        )
        self._process.start()
        child.close()
        try:
            if not self._conn.poll(60):
                raise RuntimeError("the loopback server did not start within 60 s")
            reply = self._recv()
            if reply[0] != "ready":
                raise RuntimeError(reply[1])
        except BaseException:
            self.close()
            raise
        _, self.ports, self.server_cpus = reply

    def url(self, host: int, path: str) -> str:
        return f"http://{address(host)}:{self.ports[host]}{path}"

    def stats(self) -> dict[str, Any]:
        """What the server saw since the last call."""
        self._conn.send("stats")
        if not self._conn.poll(30):
            raise RuntimeError("the loopback server stopped answering")
        reply: dict[str, Any] = self._recv()
        return reply

    def _recv(self) -> Any:
        try:
            return self._conn.recv()
        except EOFError:
            code = self._process.exitcode
            raise RuntimeError(f"the loopback server process exited (code {code})") from None

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._conn.close()


# --- the clients --------------------------------------------------------------------------


@dataclass(slots=True)
class Cycle:
    """One client's cycle: its clock, its CPU, and what came back."""

    seconds: float
    cpu: float
    outcomes: Counter[str]
    errors: list[str]


def _check(feed: Feed, status: int, etag: str | None, size: int, expected: int) -> str:
    """The outcome label: "200", "304", or what was wrong."""
    want = 304 if feed.unchanged else 200
    if status != want:
        return f"unexpected {status}"
    if status == 200 and (etag != feed.etag or size != expected):
        return "wrong 200 body or ETag"
    return str(status)


def _tally(
    feeds: Sequence[Feed], answers: Sequence[tuple[int, str | None, int] | str]
) -> tuple[Counter[str], list[str]]:
    sizes = {f.index: len(feed_body(f)) for f in feeds if not f.unchanged}
    outcomes: Counter[str] = Counter()
    errors = []
    for feed, answer in zip(feeds, answers, strict=True):
        if isinstance(answer, str):
            outcomes["error"] += 1
            errors.append(answer)
            continue
        status, etag, size = answer
        label = _check(feed, status, etag, size, sizes.get(feed.index, 0))
        outcomes[label] += 1
        if not label.isdigit():
            errors.append(f"{feed.path}: {label}")
    return outcomes, errors


def product_settings() -> FetchSettings:
    return replace(FetchSettings(), allow_private_networks=True)


async def _product_cycle(
    requests: Sequence[FetchRequest], settings: FetchSettings, warmup: str
) -> tuple[float, float, list[tuple[int, str | None, int] | str]]:
    async with Fetcher(settings) as fetcher:
        await fetcher.fetch_feed(FetchRequest(warmup))  # first-use costs out of the clock
        with quiet_gc():
            cpu, start = time.process_time(), time.perf_counter()
            results = await asyncio.gather(*(fetcher.fetch_feed(r) for r in requests))
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    answers: list[tuple[int, str | None, int] | str] = []
    for result in results:
        if isinstance(result, Fetched):
            answers.append((result.status, result.etag, len(result.body)))
        elif isinstance(result, NotModified):
            answers.append((304, None, 0))
        else:
            assert isinstance(result, FetchFailure)
            answers.append(f"{result.kind}: {result.message}")
    return elapsed, cpu, answers


async def _baseline_cycle(
    requests: Sequence[FetchRequest], settings: FetchSettings, warmup: str
) -> tuple[float, float, list[tuple[int, str | None, int] | str]]:
    everyone = asyncio.Semaphore(settings.concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )
    common = {
        "User-Agent": settings.user_agent,
        "Accept-Encoding": ACCEPT_ENCODING,
        "Accept": FEED_ACCEPT,
    }

    async with httpx.AsyncClient(timeout=timeout, headers=common, trust_env=False) as client:

        async def one(request: FetchRequest) -> tuple[int, str | None, int] | str:
            headers = {}
            if request.etag:
                headers["If-None-Match"] = request.etag
            if request.last_modified:
                headers["If-Modified-Since"] = request.last_modified
            host = httpx.URL(request.url).host
            slot = hosts.setdefault(host, asyncio.Semaphore(settings.per_host_connections))
            try:
                async with slot, everyone:
                    response = await client.get(request.url, headers=headers)
            except httpx.HTTPError as exc:
                return f"{type(exc).__name__}: {request.url}: {exc}"
            return response.status_code, response.headers.get("etag"), len(response.content)

        await client.get(warmup)
        with quiet_gc():
            cpu, start = time.process_time(), time.perf_counter()
            answers = await asyncio.gather(*(one(r) for r in requests))
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, list(answers)


CLIENTS = {"product": _product_cycle, "baseline": _baseline_cycle}


def run_cycle(
    client: str, feeds: Sequence[Feed], server: LoopbackHosts, settings: FetchSettings
) -> Cycle:
    """One whole cycle of ``client`` ("product" or "baseline") over ``feeds``."""
    requests = [
        FetchRequest(server.url(f.host, f.path), etag=f.old_etag, last_modified=f.old_modified)
        for f in feeds
    ]
    warmup = server.url(0, WARMUP_PATH)
    elapsed, cpu, answers = asyncio.run(CLIENTS[client](requests, settings, warmup))
    outcomes, errors = _tally(feeds, answers)
    return Cycle(elapsed, cpu, outcomes, errors)


# --- the benchmark ------------------------------------------------------------------------


def run(
    *,
    count: int,
    hosts: int,
    latency: tuple[float, float],
    repeats: int = 1,
    log: Callable[[str], None] = print,
) -> Section:
    started = time.perf_counter()
    feeds = make_feeds(count, hosts, latency)
    settings = product_settings()
    bound = politeness_bound(feeds, settings)
    ideal = fifo_schedule(feeds, settings)
    unchanged = sum(f.unchanged for f in feeds)
    log(
        f"  fetch: {count:,} feeds on {hosts} loopback hosts, latency "
        f"{latency[0] * 1000:.0f}–{latency[1] * 1000:.0f} ms, bound {bound:.2f} s"
    )
    wall = {name: Samples() for name in CLIENTS}
    cpu = {name: Samples() for name in CLIENTS}
    last: dict[str, Cycle] = {}
    seen: dict[str, dict[str, Any]] = {}
    server = LoopbackHosts(feeds, hosts)
    try:
        server.stats()  # drop the warm-up
        for _round in range(repeats):
            for name in CLIENTS:
                cycle = run_cycle(name, feeds, server, settings)
                seen[name] = server.stats()
                wall[name].add(cycle.seconds)
                cpu[name].add(cycle.cpu / count)
                last[name] = cycle
                log(
                    f"  fetch {name}: {cycle.seconds:.2f} s ({cycle.seconds / bound:.3f}× the "
                    f"bound), {1000 * cycle.cpu / count:.2f} ms CPU per feed, "
                    f"{dict(cycle.outcomes)}"
                )
        client_cpus, server_cpus = sorted(server.client_cpus), server.server_cpus
    finally:
        server.close()

    base_cpu = cpu["baseline"].median
    rows = [
        [
            name,
            f"{count:,}",
            hosts,
            pct(unchanged / count, 0),
            f"{bound:.2f}",
            f"{wall[name].median:.2f}",
            ratio(wall[name].median / bound, 3),
            f"{1000 * cpu[name].median:.2f}",
            ratio(cpu[name].median / base_cpu, 2) if name != "baseline" else "1.00×",
        ]
        for name in CLIENTS
    ]
    checks = [
        [
            name,
            num(last[name].outcomes["200"]),
            num(last[name].outcomes["304"]),
            num(sum(n for k, n in last[name].outcomes.items() if not k.isdigit())),
            num(seen[name]["connections"]),
            f"{seen[name]['max_in_flight']} / {seen[name]['max_host_in_flight']}",
            spread(wall[name]),
            spread(cpu[name]),
        ]
        for name in CLIENTS
    ]
    errors = [e for name in CLIENTS for e in last[name].errors]
    error_note = ""
    if errors:
        shown = "\n".join(f"- `{e}`" for e in errors[:10])
        error_note = f"{len(errors):,} fetches went wrong (first ones):\n\n{shown}\n"
        log(f"  fetch: {len(errors):,} errors, first: {errors[0]}")
    pinning = (
        f"client pinned to CPU {client_cpus}, server process to CPU {server_cpus}"
        if server_cpus and set(server_cpus).isdisjoint(client_cpus)
        else f"client on CPU {client_cpus}, server process on CPU {server_cpus} (shared)"
    )
    lo, hi = (f"{1000 * x:.0f}" for x in latency)
    everyone, per_host = settings.concurrency, settings.per_host_connections
    limits = f"{everyone} in flight, {per_host} per host"
    body = f"""
One fetch cycle: {count:,} feeds spread evenly over {hosts} loopback hosts
(127.0.0.2 …, served by a separate process), each feed answering after a latency
drawn uniformly from {lo}–{hi} ms (seeded: the same for both clients).
{pct(UNCHANGED_SHARE, 0)} of the feeds answer 304 to the validators sent; the others
changed and answer 200 with a {FEED_ITEMS}-item RSS body.
All fetches start at once; limits: {limits}.
Product: `Fetcher.fetch_feed`, default FetchSettings (private networks allowed).
Baseline: plain `httpx.AsyncClient` (default pool) behind a per-host and a global
`asyncio.Semaphore`, the same headers.

The bound, max(Σ latency / {everyone}, busiest host's Σ latency / {per_host}),
is the shortest cycle the limits allow.
Queueing as the Fetcher does (host slot, then global slot, both FIFO) with no
per-request overhead would take {ideal:.2f} s ({ratio(ideal / bound, 3)} the bound);
the rest of the cycle is per-request overhead.
CPU: the client process's CPU time over the cycle;
{pinning}; {repeats} round(s), medians.

{table(HEADERS, rows)}

Checks: answers as expected, and what the server saw (TCP connections accepted; most
requests in flight at once, all hosts / one host).

{table(CHECK_HEADERS, checks)}

{error_note}
"""
    return Section("fetch", "Fetch cycle", body, [], time.perf_counter() - started)
