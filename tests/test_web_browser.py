"""The web pages in a real browser: headless Chromium against the real daemon.

The demo corpus (seeds/) is served on loopback, fetched into a real SQLite store by
``aggregator run --once``, and the daemon (``aggregator run``) serves it on a free loopback
port. Chromium (Debian's ``chromium`` package) then renders ``/`` and the seed-like story's
page: the DOM it builds is checked (one mark per member, the original marked, the rewrite
drawn as a rewrite, a credit arrow from the rewrite to the original, no script), and its
screenshots are kept under ``artifacts/`` for people to look at.

Without Chromium the tests skip, saying how to install it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CONTENT_TYPES, REPO, SEEDS, cli_env, run_cli
from tests.loopback import LoopbackServer, respond

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed, so the browser tests cannot run: "
        "install it with `apt-get install -y chromium` (Debian's package)",
    ),
    pytest.mark.slow,
]

ARTIFACTS = REPO / "artifacts"
EXPECTED = json.loads((SEEDS / "expected.json").read_text())
#: Flags this machine's Chromium needs: no sandbox (root), no GPU, and no background
#: networking, which the closed network here would refuse over and over.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
BROWSER_TIMEOUT = 90.0
DESKTOP = (1280, 1000)
PHONE = (390, 1400)


@dataclass(frozen=True)
class Served:
    """The daemon serving the demo corpus, and what the API says about the seed story."""

    base: str
    seed: dict[str, Any]  # the seed-like cluster as /api/clusters/{id} returns it
    workdir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _seed_server() -> Iterator[str]:
    """Serve seeds/ on loopback; yield its base URL."""
    with LoopbackServer() as server:
        for path in sorted(SEEDS.iterdir()):
            content_type = CONTENT_TYPES.get(path.suffix)
            if content_type:
                body = path.read_bytes()
                server.route(f"/{path.name}", respond(200, body, {"Content-Type": content_type}))
        yield server.url("/").rstrip("/")


@contextlib.contextmanager
def _daemon(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Run ``aggregator run`` on a free loopback port; yield its base URL, stop it after."""
    port = _free_port()
    log = cwd / "daemon.log"
    with (
        log.open("w") as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run"],
            env={**env, "AGGREGATOR_HTTP__HOST": "127.0.0.1", "AGGREGATOR_HTTP__PORT": str(port)},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        ) as process,
    ):
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_healthy(base, process, log)
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_until_healthy(
    base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the daemon exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the daemon did not answer within {timeout} s:\n{log.read_text()}")


def _seed_cluster(base: str) -> dict[str, Any]:
    """The cluster holding the seed-like story's original, with its members."""
    original = EXPECTED["clusters"][0]["members"][0]
    listed = httpx.get(
        f"{base}/api/clusters", params={"since": "all", "limit": 0, "members": "true"}, timeout=10
    ).json()["clusters"]
    for cluster in listed:
        for member in cluster.get("members", ()):
            if (member["outlet"], member["guid"]) == (original["outlet"], original["guid"]):
                found: dict[str, Any] = httpx.get(
                    f"{base}/api/clusters/{cluster['id']}", timeout=10
                ).json()
                return found
    raise AssertionError("the seed-like story is in no cluster")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo corpus fetched into a real SQLite store and served by the real daemon."""
    workdir = tmp_path_factory.mktemp("browser")
    with _seed_server() as feeds_base:
        outlets = workdir / "outlets.toml"
        outlets.write_text((SEEDS / "outlets.toml").read_text().replace("{base}", feeds_base))
        env = cli_env(f"sqlite:///{workdir / 'aggregator.db'}", outlets)
        run_cli(["db", "upgrade"], env, workdir)
        fetched = run_cli(["run", "--once"], env, workdir)
        assert "0 feeds failed" in fetched.stderr, fetched.stderr
        with _daemon(env, workdir) as base:
            yield Served(base, _seed_cluster(base), workdir)


# --- Chromium --------------------------------------------------------------------------------


def chromium(args: list[str], workdir: Path, name: str) -> tuple[str, str]:
    """Run headless Chromium with ``args`` and a fresh profile; return its stdout and stderr.

    Output goes to files, not pipes (a helper process that outlives the browser would hold
    a pipe open). Chromium runs in its own process group, and whatever of that group is
    left when it is done is killed.
    """
    assert CHROMIUM is not None
    profile = workdir / f"profile-{name}"
    out, err = workdir / f"chromium-{name}.out", workdir / f"chromium-{name}.err"
    command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            code = process.wait(timeout=BROWSER_TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    shutil.rmtree(profile, ignore_errors=True)
    assert code == 0, f"chromium exited {code}:\n{err.read_text(errors='replace')[-3000:]}"
    return out.read_text(errors="replace"), err.read_text(errors="replace")


def rendered_dom(url: str, workdir: Path, name: str) -> str:
    """The DOM Chromium built for ``url``, serialized.

    The page's console goes to stderr, where Chromium reports anything the
    Content-Security-Policy blocked: the stylesheet if its hash were wrong, any script, any
    asset from elsewhere. There must be nothing of the kind.
    """
    dom, log = chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", url], workdir, name)
    assert "<html" in dom, f"no document from {url}: {dom[:500]!r}"
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert not console, "the page logged to the console:\n" + "\n".join(console)
    assert "Content Security Policy" not in log, log[-3000:]
    return dom


def screenshot(url: str, size: tuple[int, int], name: str, workdir: Path) -> Path:
    """Save a screenshot of ``url`` at ``size`` as artifacts/``name``.png; check it is one."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)
    width, height = size
    chromium([f"--screenshot={path}", f"--window-size={width},{height}", url], workdir, name)
    assert path.exists(), f"chromium wrote no screenshot of {url}"
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    assert struct.unpack(">II", head[16:24]) == size
    assert path.stat().st_size > 20_000, "the screenshot is (nearly) blank"
    return path


class Elements(HTMLParser):
    """Every element of a document: its tag, attributes, own text, and whether it lies inside
    the coverage chart (``<svg class="chart">``)."""

    VOID = frozenset({"meta", "link", "input", "br", "img", "hr", "source", "wbr"})

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent_in_chart = bool(self._open) and self._open[-1]["in_chart"]
        attributes = {k: v or "" for k, v in attrs}
        is_chart = tag == "svg" and "chart" in attributes.get("class", "").split()
        element = {"tag": tag, "attrs": attributes, "text": "", "in_chart": parent_in_chart}
        element["in_chart"] = parent_in_chart or is_chart
        self.found.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                return

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1]["text"] += data

    def chart(self) -> list[dict[str, Any]]:
        return [e for e in self.found if e["in_chart"]]


def classes(element: dict[str, Any]) -> set[str]:
    return set(element["attrs"].get("class", "").split())


def assert_nothing_external(page: Elements) -> None:
    """Only links (``<a>``) may lead elsewhere; everything a page loads or uses is its own."""
    for e in page.found:
        for name in ("src", "href", "xlink:href"):
            value = e["attrs"].get(name)
            if value is None or e["tag"] == "a":
                continue
            own = value.startswith("/") and not value.startswith("//")
            assert own or value.startswith("#tl-"), (e["tag"], name, value)
        assert e["tag"] not in {"img", "iframe", "object", "embed", "video", "audio"}, e["tag"]


# --- the tests -------------------------------------------------------------------------------


def test_seed_story_page_draws_its_timeline_in_a_real_browser(served: Served) -> None:
    seed = served.seed
    members = {m["id"]: m for m in seed["members"]}
    original = next(m for m in seed["members"] if m["relation"] == "original")
    rewrite = next(m for m in seed["members"] if m["relation"] == "rewrite")
    assert (original["outlet"], rewrite["outlet"]) == ("Capital Ledger", "Caspian Daily")
    assert rewrite["credits_outlet"] == "Capital Ledger"

    url = f"{served.base}/clusters/{seed['id']}"
    csp = httpx.get(url, timeout=10).headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    page = Elements(rendered_dom(url, served.workdir, "cluster-dom"))
    assert not [e for e in page.found if e["tag"] == "script"]
    assert_nothing_external(page)
    charts = [e for e in page.found if e["tag"] == "svg" and "chart" in classes(e)]
    assert len(charts) == 1, "the page draws one coverage chart"
    chart = page.chart()

    marks = [e for e in chart if "mark" in classes(e)]
    assert sorted(int(e["attrs"]["data-article"]) for e in marks) == sorted(members)
    by_article = {int(e["attrs"]["data-article"]): e for e in marks}
    first = by_article[original["id"]]
    assert "m-original" in classes(first) and first["attrs"]["href"] == "#tl-original"
    assert seed["first_reporter"]["article_id"] == original["id"]
    drawn_rewrite = by_article[rewrite["id"]]
    assert "m-rewrite" in classes(drawn_rewrite)
    assert drawn_rewrite["attrs"]["href"] == "#tl-rewrite"
    assert drawn_rewrite["attrs"]["data-relation"] == "rewrite"

    arrows = [e for e in chart if "credit" in classes(e)]
    joins = {(e["attrs"].get("data-from"), e["attrs"].get("data-to")) for e in arrows}
    assert (str(rewrite["id"]), str(original["id"])) in joins, joins
    # The arrow is a line ending in the arrowhead marker the chart defines.
    markers = [e for e in chart if e["tag"] == "marker"]
    assert [m["attrs"]["id"] for m in markers] == ["tl-arrow"]
    lines = [e for e in chart if e["tag"] == "line" and e["attrs"].get("marker-end")]
    assert lines and all(e["attrs"]["marker-end"] == "url(#tl-arrow)" for e in lines)

    names = [e["text"] for e in chart if e["tag"] == "text" and "name" in classes(e)]
    assert names[:2] == ["Capital Ledger", "Caspian Daily"]
    lags = [e["text"] for e in chart if e["tag"] == "text" and "lag" in classes(e)]
    assert lags == ["+6h08m"]  # Caspian Daily, 21:20 UTC after 15:12 UTC
    labels = " ".join(e["text"] for e in chart if e["tag"] == "text")
    assert "first report · 26 Feb 15:12 UTC" in labels

    table = " ".join(e["text"] for e in page.found if e["tag"] in {"td", "span"})
    assert "crediting Capital Ledger" in table

    screenshot(url, DESKTOP, "cluster-seed-desktop", served.workdir)
    screenshot(url, PHONE, "cluster-seed-phone", served.workdir)


def test_index_lists_current_stories_with_a_sparkline_each(served: Served) -> None:
    url = f"{served.base}/"
    page = Elements(rendered_dom(url, served.workdir, "index-dom"))
    assert not [e for e in page.found if e["tag"] == "script"]
    assert_nothing_external(page)
    stories = [e for e in page.found if e["tag"] == "li" and "story" in classes(e)]
    assert len(stories) == EXPECTED["total_articles"] - sum(
        len(c["members"]) - 1 for c in EXPECTED["clusters"]
    )
    sparks = [e for e in page.found if e["tag"] == "svg" and "spark" in classes(e)]
    assert len(sparks) == len(stories)
    links = {e["attrs"].get("href") for e in page.found if e["tag"] == "a"}
    assert f"/clusters/{served.seed['id']}" in links
    screenshot(url, DESKTOP, "index-desktop", served.workdir)
    screenshot(url, PHONE, "index-phone", served.workdir)
