"""The daemon: an APScheduler tick that runs fetch cycles, and the HTTP server, in one loop.

The daemon is a trigger, not a brain: each tick asks the pipeline to fetch whatever the
store says is due. SIGTERM / SIGINT stop the scheduler, cancel the cycle in flight (its
fetches; a batch already writing finishes its transaction) and stop the server, well
inside the 8 s a service manager allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.errors import AggregatorError, NotFound, ParseError
from aggregator.fetch import Fetcher
from aggregator.outputs.feed import default_channel
from aggregator.outputs.web import create_app
from aggregator.parse import parse_feed
from aggregator.pipeline import CycleReport, Pipeline
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.types import OutletConfig

log = logging.getLogger(__name__)

#: Seconds the HTTP server gets to finish open requests on shutdown (of the 8 s budget).
GRACEFUL_HTTP_SECONDS = 3
#: Seconds a cancelled cycle gets to unwind (release its leases) before we stop waiting.
CYCLE_UNWIND_SECONDS = 3


@contextlib.contextmanager
def open_pipeline(settings: Settings, outlets: Sequence[OutletConfig]) -> Iterator[Pipeline]:
    """A prepared pipeline on the configured store (schema checked), closed afterwards."""
    store = Store.open(settings.database.url)
    pipeline = Pipeline(store, settings, outlets)
    try:
        pipeline.prepare()
        yield pipeline
    finally:
        pipeline.close()
        store.close()


def run_once(
    settings: Settings, outlets: Sequence[OutletConfig], *, everything: bool
) -> CycleReport:
    """``aggregator run --once``: one cycle over the due (or all) feeds."""

    async def cycle(pipeline: Pipeline) -> CycleReport:
        async with Fetcher(settings.fetch) as fetcher:
            return await pipeline.run_cycle(fetcher, everything=everything)

    with open_pipeline(settings, outlets) as pipeline:
        return asyncio.run(cycle(pipeline))


def ingest_files(
    settings: Settings, outlets: Sequence[OutletConfig], outlet: str, files: Sequence[Path]
) -> Iterator[tuple[Path, int]]:
    """``aggregator ingest``: store feed files as if fetched from the outlet."""
    if outlet not in {o.name for o in outlets}:
        known = ", ".join(sorted(o.name for o in outlets))
        raise NotFound(f"outlet {outlet!r} is not in the outlets file (known: {known})")
    with open_pipeline(settings, outlets) as pipeline:
        for path in files:
            try:
                body = path.read_bytes()
            except OSError as exc:
                raise AggregatorError(f"cannot read {path}: {exc.strerror}") from None
            now = datetime.now(UTC)
            url = path.resolve().as_uri()
            try:
                parsed = parse_feed(body, {}, url)
            except ParseError as exc:
                raise ParseError(f"{path}: {exc}", kind=exc.kind) from None
            feed_id = pipeline.store.ingest_feed(outlet, url, now)
            yield path, pipeline.ingester.ingest(outlet, parsed, now, feed_id=feed_id, feed_url=url)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Daemon:
    """Scheduler + HTTP server + signals around one pipeline."""

    def __init__(self, settings: Settings, pipeline: Pipeline) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.stopping = asyncio.Event()
        self._cycle: asyncio.Task[CycleReport] | None = None
        channel = default_channel(settings.http, "rss")
        app = create_app(
            pipeline.store,
            settings=settings.http,
            channel=channel,
            registry=pipeline.metrics.registry,
        )
        config = uvicorn.Config(
            app,
            host=settings.http.host,
            port=settings.http.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_HTTP_SECONDS,
        )
        self.server = _Server(config)

    async def tick(self, fetcher: Fetcher) -> None:
        """One scheduled cycle; errors are logged, never fatal to the daemon."""
        self._cycle = asyncio.ensure_future(self.pipeline.run_cycle(fetcher))
        try:
            report = await self._cycle
            log.info(
                "cycle: %d feeds, %d new articles, %d failed",
                len(report.feeds),
                report.new_articles,
                len(report.failures),
            )
        except asyncio.CancelledError:
            log.info("cycle cancelled: the daemon is stopping")
        except Exception:
            log.exception("fetch cycle failed")
        finally:
            self._cycle = None

    def stop(self) -> None:
        """Begin a clean stop (signal handler)."""
        log.info("stopping")
        self.stopping.set()
        self.server.should_exit = True
        if self._cycle is not None:
            self._cycle.cancel()

    async def serve(self, listener: socket.socket | None = None) -> None:
        """Run until stopped; ``listener`` is the bound socket to serve HTTP on."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        async with Fetcher(self.settings.fetch) as fetcher:
            scheduler = self._scheduler(fetcher)
            scheduler.start()
            sockets = None if listener is None else [listener]
            server = asyncio.ensure_future(self.server.serve(sockets=sockets))
            try:
                await self.stopping.wait()
            finally:
                scheduler.shutdown(wait=False)
                cycle = self._cycle
                if cycle is not None:
                    cycle.cancel()
                    await asyncio.wait([cycle], timeout=CYCLE_UNWIND_SECONDS)
                self.server.should_exit = True
                await server

    def _scheduler(self, fetcher: Fetcher) -> AsyncIOScheduler:
        return tick_scheduler(self.tick, self.settings.schedule.tick, fetcher)


class TickScheduler(AsyncIOScheduler):  # type: ignore[misc]  # APScheduler has no types
    """APScheduler's asyncio scheduler, kept ticking when the wall clock is set back.

    APScheduler waits for a job's next run time on the wall clock, so after the clock is
    set back by a day an interval job would not run for a day (by years: never, in
    practice). A job whose next run lies further ahead than its own interval can only mean
    that the clock went back: it runs now, and on its interval from there. A jump forward
    needs nothing here: coalescing with a grace time of one interval makes the runs missed
    meanwhile one catch-up run (tests/test_scheduler.py drives both with a fake clock).
    """

    def _process_jobs(self) -> float | None:
        now = datetime.now(self.timezone)
        for job in self.get_jobs():
            interval = getattr(job.trigger, "interval", None)
            due = job.next_run_time
            if isinstance(interval, timedelta) and due is not None and due - now > interval:
                log.warning("the clock went back (%s was due at %s): running it now", job.id, due)
                job.modify(next_run_time=now)
        wait: float | None = super()._process_jobs()
        return wait


def tick_scheduler(
    tick: Callable[..., Awaitable[None]], every: timedelta, *args: object
) -> TickScheduler:
    """The daemon's scheduler: ``tick(*args)`` now, then every ``every`` (at least 1 s)."""
    seconds = max(1, int(every.total_seconds()))
    scheduler = TickScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=seconds, timezone=UTC),
        args=list(args),
        id="fetch-cycle",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        # after a sleep or a clock jump forward: one catch-up tick, not one per missed interval
        coalesce=True,
        misfire_grace_time=seconds,
    )
    return scheduler


def listen(host: str, port: int) -> socket.socket:
    """The HTTP listening socket, bound before anything starts: a port in use is then a
    one-line error, not uvicorn's SystemExit in the middle of a running daemon."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise AggregatorError(
            f"cannot listen on {host}:{port} (http.host, http.port): {exc.strerror or exc}"
        ) from None


def run_forever(settings: Settings, outlets: Sequence[OutletConfig]) -> None:
    """``aggregator run``: until SIGTERM or SIGINT."""
    with (
        open_pipeline(settings, outlets) as pipeline,
        contextlib.closing(listen(settings.http.host, settings.http.port)) as listener,
    ):
        log.warning(
            "aggregator serving on http://%s:%d/ with %d outlets",
            settings.http.host,
            listener.getsockname()[1],  # the port the system chose when http.port is 0
            len(outlets),
        )
        asyncio.run(Daemon(settings, pipeline).serve(listener))
