"""A real HTTP/1.1 server on 127.0.0.1 for tests that need a network peer.

It answers from handlers that write raw bytes, so it can do what polite servers never do:
trickle a byte at a time, stall, reset a connection mid-body, lie about Content-Length,
send a gzip bomb. Each connection gets its own thread and is closed after one answer
(``Connection: close``).

    from tests.loopback import LoopbackServer, respond, redirect

    with LoopbackServer() as server:
        server.route("/feed.xml", respond(200, b"<rss/>", {"Content-Type": "application/rss+xml"}))
        server.route("/old", redirect("/feed.xml"))
        url = server.url("/old")          # http://127.0.0.1:PORT/old
        ...                               # fetch it
    assert server.requests[0].headers["user-agent"].startswith("aggregator/")
    assert server.connections.peak == 1

Counters are final once the ``with`` block has exited (connections still queued at that
moment are counted too); read them after it. Unrouted paths answer 404. ``Gauge`` counts
things happening at once (``hold`` uses it to measure how many requests a client keeps in
flight). ``self_signed_tls`` makes a TLS
server context and a client context that trusts it (needs the ``openssl`` command).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import struct
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aggregator.settings import FetchSettings

#: Seconds a connection may sit idle before the server gives up on it.
IO_TIMEOUT = 5.0
#: Largest request head the server reads.
MAX_HEAD = 64 * 1024


def loopback_fetch_settings(**overrides: Any) -> FetchSettings:
    """Fetch settings for outlets served on 127.0.0.1: private addresses allowed (the
    default refuses them), a test user agent and deadlines of a few seconds."""
    values: dict[str, Any] = {
        "allow_private_networks": True,
        "user_agent": "aggregator-test/1.0",
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 4.0,
        "page_total_timeout": 4.0,
    }
    values.update(overrides)
    return FetchSettings(**values)


REASONS = {
    200: "OK",
    204: "No Content",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    307: "Temporary Redirect",
    400: "Bad Request",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Received:
    """One request as the server read it; header names are lower-case."""

    method: str
    target: str
    headers: Mapping[str, str]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class Gauge:
    """Counts how many things are happening at once and remembers the peak."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0
        self.total = 0

    def __enter__(self) -> Gauge:
        with self._lock:
            self.current += 1
            self.total += 1
            self.peak = max(self.peak, self.current)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.current -= 1


class Exchange:
    """One connection as a handler sees it: the request, and ways to answer."""

    def __init__(self, sock: socket.socket, request: Received, stopping: threading.Event):
        self.request = request
        self._sock = sock
        self._stopping = stopping
        self.closed = False

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def send_head(self, status: int, headers: Headers = ()) -> None:
        """Send the status line and headers (names as given), plus ``Connection: close``."""
        pairs = _pairs(headers)
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in pairs]
        lines.append("Connection: close")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def pause(self, seconds: float) -> bool:
        """Sleep; False when the server is stopping (the handler should return)."""
        return not self._stopping.wait(seconds)

    def reset(self) -> None:
        """Abort the connection with a TCP RST instead of an orderly close."""
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._sock.close()
        self.closed = True


Handler = Callable[[Exchange], None]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1; a context manager that starts and stops it."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._routes: dict[str, Handler] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self.connections = Gauge()  # TCP connections accepted; peak = most at once
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.05)  # so the accept loop notices a stop quickly
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler) -> None:
        """Answer requests for ``path`` (query ignored) with ``handler``."""
        self._routes[path] = handler

    def __enter__(self) -> LoopbackServer:
        thread = threading.Thread(target=self._accept_loop, name="loopback-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=IO_TIMEOUT)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()
        self._drain_backlog()

    def _drain_backlog(self) -> None:
        """Count and close connections still queued at stop, so none goes unnoticed."""
        self._listener.setblocking(False)
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self.connections:
                sock.close()

    def _serve(self, sock: socket.socket) -> None:
        with self.connections:
            exchange = None
            try:
                sock.settimeout(IO_TIMEOUT)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_side=True)
                request = _read_request(sock)
                if request is None:
                    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                    return
                with self._lock:
                    self.requests.append(request)
                exchange = Exchange(sock, request, self._stopping)
                self._routes.get(request.path, respond(404, b"not found"))(exchange)
            except OSError:  # the client went away, or TLS failed: both expected in tests
                pass
            finally:
                if exchange is None or not exchange.closed:
                    _close_gently(sock)


def _read_request(sock: socket.socket) -> Received | None:
    """Read a request head; None for anything that is not HTTP (e.g. a TLS hello)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > MAX_HEAD or not (data + chunk)[:1].isalpha():
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Received(method=parts[0], target=parts[1], headers=headers)


def _close_gently(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already reset, or never connected properly
        sock.shutdown(socket.SHUT_WR)
    sock.close()


# --- handlers ------------------------------------------------------------------------------


def respond(
    status: int = 200, body: bytes = b"", headers: Headers = (), *, length: bool = True
) -> Handler:
    """A canned answer; Content-Length is added unless ``length`` is False (close-delimited)."""

    def handle(exchange: Exchange) -> None:
        pairs = _pairs(headers)
        if length and status not in (204, 304):
            pairs.append(("Content-Length", str(len(body))))
        exchange.send_head(status, pairs)
        exchange.send(body)

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    """Answer with a redirect to ``location`` (absolute or relative)."""
    return respond(status, b"", {"Location": location})


def conditional(body: bytes, *, etag: str, last_modified: str, headers: Headers = ()) -> Handler:
    """200 with validators, or 304 when the request's If-None-Match/If-Modified-Since match."""
    validators = [("ETag", etag), ("Last-Modified", last_modified)]
    full = respond(200, body, [*validators, *_pairs(headers)])
    not_modified = respond(304, b"", validators)

    def handle(exchange: Exchange) -> None:
        asked = exchange.request.headers
        fresh = (
            asked.get("if-none-match") == etag or asked.get("if-modified-since") == last_modified
        )
        (not_modified if fresh else full)(exchange)

    return handle


def trickle(interval: float, chunk: bytes = b"x", headers: Headers = ()) -> Handler:
    """Send the head, then ``chunk`` every ``interval`` seconds until the client gives up."""

    def handle(exchange: Exchange) -> None:
        exchange.send_head(200, headers)
        while exchange.pause(interval):
            exchange.send(chunk)

    return handle


def stall(declared_length: int = 100) -> Handler:
    """Send the head announcing a body, then nothing until the server stops."""

    def handle(exchange: Exchange) -> None:
        exchange.send_head(200, {"Content-Length": str(declared_length)})
        exchange.pause(IO_TIMEOUT * 10)

    return handle


def cut_short(prefix: bytes, declared_length: int, *, reset: bool) -> Handler:
    """Announce ``declared_length`` bytes, send ``prefix``, then reset or close the connection."""

    def handle(exchange: Exchange) -> None:
        exchange.send_head(200, {"Content-Length": str(declared_length)})
        exchange.send(prefix)
        exchange.pause(0.05)  # let the prefix leave before the RST overtakes it
        if reset:
            exchange.reset()

    return handle


def hold(seconds: float, then: Handler, *gauges: Gauge) -> Handler:
    """Keep the request open ``seconds`` inside every gauge, then answer with ``then``.

    The gauges are left before the answer is sent, so a client can never be seen to exceed
    its own limit just because the server had not finished closing a connection.
    """

    def handle(exchange: Exchange) -> None:
        for gauge in gauges:
            gauge.__enter__()
        try:
            exchange.pause(seconds)
        finally:
            for gauge in gauges:
                gauge.__exit__()
        then(exchange)

    return handle


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items() if isinstance(headers, Mapping) else headers)


# --- bodies --------------------------------------------------------------------------------


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data)


def deflate_bytes(data: bytes, *, raw: bool = False) -> bytes:
    """zlib-wrapped deflate (RFC 9110), or raw deflate as some servers send it."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def gzip_bomb(decoded_size: int, step: int = 1024 * 1024) -> bytes:
    """A small gzip body that inflates to ``decoded_size`` zero bytes (built in steps)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(step)
    parts = [compressor.compress(zeros) for _ in range(decoded_size // step)]
    parts.append(compressor.compress(bytes(decoded_size % step)))
    parts.append(compressor.flush())
    return b"".join(parts)


# --- TLS -----------------------------------------------------------------------------------


def self_signed_tls(directory: Path, hostname: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for ``hostname``, and a client
    context that trusts exactly that certificate. Uses the ``openssl`` command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={hostname}", "-addext",
         f"subjectAltName=DNS:{hostname}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


@contextlib.contextmanager
def serve_app(app: Any, *, timeout: float = 10.0) -> Iterator[str]:
    """Serve an ASGI ``app`` with real uvicorn on a free loopback port; yields its base URL.

    On exit the server is told to stop and its thread must end (checked).
    """
    import uvicorn  # the product's dependency; imported here so plain loopback tests skip it

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race with other tests
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(int(timeout * 100)):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"
