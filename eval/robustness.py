"""Robustness: every file under ../shared/eval/feeds through the ingest path, offline.

Each file is read as a fetched body and goes through what a fetch cycle does with it:
``parse_feed`` (headers: a ``Header:`` line in a feedparser conformance test's leading
comment, else a JSON Feed content type for ``.json`` files, else none), ``normalize_entry``
for every item, then the pipeline's ``ingest`` into a temporary SQLite store (identity,
fingerprints, clustering, provenance, one transaction). A file ends as

* **parsed**: a feed, stored;
* **flagged**: a feed, stored, with a warning from the parser (feedparser's "bozo");
* **rejected**: a ``ParseError`` with its kind, the typed error a feed's status would show;
* **crash**: any other exception, in the stage that raised it: a bug to fix;
* **hang**: no answer within ``FILE_LIMIT_SECONDS``: a bug to fix.

The work runs in a child process, so that a hang can be stopped (the child is killed and a
fresh one takes the next file) and a crash of the interpreter itself is seen. The data
(2,100+ conformance feeds of feedparser, fastfeedparser's real outlet feeds, reader's test
feeds, licences and manifests among them) is read at run time, never copied.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from time import perf_counter
from urllib.parse import quote

from aggregator.devdata import missing_reason, shared_path
from aggregator.errors import ParseError
from aggregator.normalize import normalize_entry
from aggregator.parse import parse_feed
from aggregator.pipeline import Pipeline
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.types import OutletConfig
from eval.datasets import DataMissing
from eval.report import Section, table

FEEDS = ("eval", "feeds")
#: Seconds one file may take through parse, normalize and store before it counts as a hang:
#: six times the slowest file of the corpus (1,046 items stored in about 5 s).
FILE_LIMIT_SECONDS = 30.0
#: Seconds a fresh child may take to import and open its store.
START_LIMIT_SECONDS = 60.0
SLOWEST = 10
QUICK_EVERY = 10  # --quick: every 10th file
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
BASE_URL = "https://feeds.example/"
JSON_TYPE = "application/feed+json"
#: feedparser's conformance tests state the HTTP headers they assume in their first comment.
_HEADER_RE = re.compile(rb"^Header:\s*([A-Za-z][\w-]*):\s*(.*?)\s*$", re.MULTILINE)
_HEADER_SCAN_BYTES = 4096
OUTCOMES = ("parsed", "flagged", "rejected", "crash", "hang")


@dataclass(frozen=True, slots=True)
class FileResult:
    """What ingesting one file did."""

    name: str  # path under ../shared/eval/feeds
    outcome: str  # one of OUTCOMES
    kind: str = ""  # rejected: the ErrorKind; crash: stage and exception type
    detail: str = ""  # the message (rejected, flagged, crash)
    items: int = 0
    stored: int = 0
    seconds: float = 0.0
    size: int = 0


def feed_files(root: Path) -> list[str]:
    """Every file under ``root``, as sorted relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def headers_for(name: str, body: bytes) -> dict[str, str]:
    """The response headers a file is taken to have been served with (lower-case names)."""
    headers = {
        match.group(1).decode("latin-1").lower(): match.group(2).decode("latin-1")
        for match in _HEADER_RE.finditer(body[:_HEADER_SCAN_BYTES])
    }
    if name.endswith(".json"):
        headers.setdefault("content-type", JSON_TYPE)
    return headers


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def ingest_file(pipeline: Pipeline, root: Path, name: str) -> FileResult:
    """Parse, normalize and store one file; never raises (a crash is a result)."""
    body = (root / name).read_bytes()
    url = BASE_URL + quote(name)
    start = perf_counter()
    stage = "parse"
    items = stored = 0

    def result(outcome: str, kind: str = "", detail: str = "") -> FileResult:
        seconds = perf_counter() - start
        return FileResult(name, outcome, kind, detail, items, stored, seconds, len(body))

    try:
        parsed = parse_feed(body, headers_for(name, body), url)
        items = len(parsed.entries)
        stage = "normalize"
        for entry in parsed.entries:
            normalize_entry(entry, outlet=name, feed_url=url, now=NOW)
        stage = "store"
        feed_id = pipeline.store.ingest_feed(name, url, NOW)
        stored = pipeline.ingester.ingest(name, parsed, NOW, feed_id=feed_id, feed_url=url)
    except ParseError as exc:
        return result("rejected", exc.kind.value, _one_line(exc))
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        place = f"{Path(where.filename).name}:{where.lineno}"
        return result("crash", f"{stage}: {type(exc).__name__}", f"{_one_line(exc)} ({place})")
    if parsed.warning:
        return result("flagged", detail=_one_line(parsed.warning))
    return result("parsed")


def _serve(conn: Connection, root: str, names: list[str], workdir: str) -> None:
    """The child process: one store and pipeline; ingests the files it is sent, in turn."""
    logging.disable(logging.ERROR)  # feeds that fail are the point here, not news
    store = Store.open(f"sqlite:///{workdir}/robustness.db", check_schema=False)
    store.upgrade()
    outlets = [OutletConfig(name=name, homepage=None, aliases=(), feeds=()) for name in names]
    pipeline = Pipeline(store, Settings(), outlets, clock=lambda: NOW)
    pipeline.prepare()
    conn.send("ready")
    try:
        while (name := conn.recv()) is not None:
            conn.send(ingest_file(pipeline, Path(root), name))
    finally:
        pipeline.close()
        store.close()


class Worker:
    """A child process running :func:`_serve`; replaced when it hangs or dies."""

    def __init__(self, root: Path, names: list[str]) -> None:
        self.root = root
        self.names = names
        self._context = multiprocessing.get_context("spawn")  # no threads inherited
        self._tmp = tempfile.TemporaryDirectory(prefix="aggregator-robustness-")
        self._count = 0
        self._start()

    def _start(self) -> None:
        self._count += 1
        workdir = Path(self._tmp.name) / f"worker-{self._count}"
        workdir.mkdir()
        self.conn, child = self._context.Pipe()
        self.process = self._context.Process(
            target=_serve, args=(child, str(self.root), self.names, str(workdir)), daemon=True
        )
        self.process.start()
        child.close()
        if not self.conn.poll(START_LIMIT_SECONDS) or self.conn.recv() != "ready":
            raise RuntimeError("the robustness worker did not start")

    def ingest(self, name: str, limit: float) -> FileResult:
        """Send one file; a hang or the death of the child is a result too."""
        self.conn.send(name)
        try:
            if self.conn.poll(limit):
                answer: FileResult = self.conn.recv()
                return answer
            outcome = FileResult(name, "hang", detail=f"no answer in {limit:.0f} s")
        except EOFError:
            self.process.join(5)
            code = self.process.exitcode
            outcome = FileResult(name, "crash", "worker died", f"exit code {code}")
        self._restart()
        return outcome

    def _restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()
        self._start()

    def close(self) -> None:
        if self.process.is_alive():
            self.conn.send(None)
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        self._tmp.cleanup()


def run_files(root: Path, names: list[str], limit: float = FILE_LIMIT_SECONDS) -> list[FileResult]:
    """Every file in ``names`` (relative to ``root``) through the ingest path."""
    worker = Worker(root, names)
    try:
        return [worker.ingest(name, limit) for name in names]
    finally:
        worker.close()


# --- the report --------------------------------------------------------------------------


def _corpus(name: str) -> str:
    return name.split("/", 1)[0]


def _reason(detail: str) -> str:
    """A message without the file's URL and numbers, so that alike failures group together."""
    text = re.sub(r"^https://feeds\.example/\S*: ", "", detail)
    return re.sub(r"\d+", "N", text)[:90]


def summary_table(results: list[FileResult]) -> str:
    corpora = sorted({_corpus(r.name) for r in results})
    rows = []
    for corpus in [*corpora, "all"]:
        mine = [r for r in results if corpus in {"all", _corpus(r.name)}]
        counts = Counter(r.outcome for r in mine)
        rows.append(
            (
                corpus,
                len(mine),
                *(counts[o] for o in OUTCOMES),
                sum(r.items for r in mine),
                sum(r.stored for r in mine),
            )
        )
    headers = ("files", "count", *OUTCOMES, "items", "articles stored")
    return table(headers, rows)


def reasons_table(
    results: list[FileResult], outcome: str, *, with_kind: bool, top: int = 12
) -> str:
    """The commonest reasons of one outcome (numbers and file URLs left out)."""
    counts = Counter((r.kind, _reason(r.detail)) for r in results if r.outcome == outcome)
    rows: list[tuple[str, ...] | tuple[str, str, int]] = []
    for (kind, reason), n in counts.most_common(top):
        rows.append((kind or "–", reason.replace("|", "\\|"), n))
    if len(counts) > top:
        rest = sum(counts.values()) - sum(n for _, n in counts.most_common(top))
        others = len(counts) - top
        rows.append(("…", f"{others} other reason{'s' if others > 1 else ''}", rest))
    if with_kind:
        return table(("kind", "reason", "files"), rows)
    return table(("reason", "files"), [row[1:] for row in rows])


def slowest_table(results: list[FileResult]) -> str:
    slow = sorted(results, key=lambda r: r.seconds, reverse=True)[:SLOWEST]
    rows = [(r.name, f"{r.size / 1024:.0f}", r.items, f"{r.seconds:.3f}", r.outcome) for r in slow]
    return table(("file", "KiB", "items", "seconds", "outcome"), rows)


def failures_table(results: list[FileResult]) -> str:
    bad = [r for r in results if r.outcome in {"crash", "hang"}]
    if not bad:
        return "None: no file crashed or hung."
    rows = [(r.name, r.outcome, r.kind or "–", r.detail.replace("|", "\\|")) for r in bad]
    return table(("file", "outcome", "stage: error", "detail"), rows)


def evaluate_robustness(quick: bool = False) -> Section:
    """The "Robustness" section (raises DataMissing without ../shared/eval/feeds)."""
    root = shared_path(*FEEDS)
    if not root.is_dir():
        raise DataMissing(missing_reason(str(root)))
    names = feed_files(root)
    if quick:
        names = names[::QUICK_EVERY]
    start = perf_counter()
    results = run_files(root, names)
    seconds = perf_counter() - start
    failures = sum(r.outcome in {"crash", "hang"} for r in results)
    section = Section(
        "Robustness",
        f"Every file under ../shared/eval/feeds ({len(names)} files"
        f"{', every 10th (--quick)' if quick else ''}: feedparser's conformance feeds, "
        "fastfeedparser's real outlet feeds, reader's test feeds, and the licences and "
        "manifests beside them) through the ingest path, offline: `parse_feed`, "
        "`normalize_entry` for each item, then `Ingester.ingest` into a temporary SQLite "
        "store (eval/robustness.py). parsed: stored; flagged: stored, with a parser warning; "
        "rejected: a typed `ParseError`, as `feeds status` would show it; crash: any other "
        f"exception; hang: no answer within {FILE_LIMIT_SECONDS:.0f} s. "
        f"**{failures} crashes or hangs** in {seconds:.0f} s.",
    )
    section.add("Outcomes", summary_table(results))
    section.add("Crashes and hangs", failures_table(results))
    section.add("Rejected, by kind and reason", reasons_table(results, "rejected", with_kind=True))
    section.add(
        "Flagged (stored with a parser warning), by reason",
        reasons_table(results, "flagged", with_kind=False),
    )
    section.add(f"The {SLOWEST} slowest files", slowest_table(results))
    section.seconds = seconds
    return section
