"""``aggregator demo``: the whole pipeline on the demo corpus, offline.

The corpus in ``seeds/`` is served by a static HTTP server on a loopback port, the outlets
file there points at it (``{base}``), and a throwaway SQLite database receives the result.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from aggregator import daemon
from aggregator.config import load_outlets
from aggregator.errors import AggregatorError
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.types import ClusterView


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the demo's terminal for the clusters."""


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (random port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def find_seeds(given: Path | None) -> Path:
    """The demo corpus: the given folder, ./seeds, or the one beside the package."""
    candidates = (
        [given] if given else [Path("seeds"), Path(__file__).resolve().parent.parent / "seeds"]
    )
    for folder in candidates:
        if folder is not None and (folder / "outlets.toml").is_file():
            return folder
    where = given or "./seeds"
    raise AggregatorError(
        f"no demo corpus at {where} (a folder with outlets.toml); pass --seeds DIR"
    )


def run_demo(
    settings: Settings, seeds: Path | None, *, database_url: str | None
) -> list[ClusterView]:
    """Run one cycle over the demo corpus; returns the clusters with more than one member."""
    folder = find_seeds(seeds)
    with contextlib.ExitStack() as stack:
        if database_url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="aggregator-demo-"))
            database_url = f"sqlite:///{tmp}/demo.db"
        base = stack.enter_context(serve_directory(folder))
        outlets = load_outlets(folder / "outlets.toml", base_url=base)
        settings = replace(
            settings,
            database=replace(settings.database, url=database_url),
            # offline: the corpus's article links point at .example hosts that never resolve;
            # one fetch at a time, so feeds are stored in one order and ids repeat run to run
            fetch=replace(
                settings.fetch, allow_private_networks=True, full_text=False, concurrency=1
            ),
            redis=replace(settings.redis, url=None),
        )
        store = Store.open(database_url, check_schema=False)
        store.upgrade()
        store.close()
        daemon.run_once(settings, outlets, everything=True)
        store = Store.open(database_url)
        try:
            return store.list_clusters(since=None, min_size=2, limit=None, with_members=True)
        finally:
            store.close()
