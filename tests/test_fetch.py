"""The fetcher against real loopback HTTP servers (MockTransport only for pure seams)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import http.server
import ipaddress
import shutil
import socket
import threading
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from aggregator.bodydecode import BodyDecoder
from aggregator.errors import BlockedDestination, FetchError
from aggregator.fetch import Fetcher, GuardedTransport, check_url, is_public_address
from aggregator.netguard import IPAddress
from aggregator.settings import MIB, FetchSettings
from aggregator.types import (
    ErrorKind,
    Fetched,
    FetchFailure,
    FetchRequest,
    FetchResult,
    NotModified,
)
from tests.loopback import (
    Exchange,
    Gauge,
    LoopbackServer,
    conditional,
    cut_short,
    deflate_bytes,
    gzip_bomb,
    gzip_bytes,
    hold,
    redirect,
    respond,
    self_signed_tls,
    stall,
    trickle,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
CAP = 64 * 1024  # small caps keep the tests fast; the logic does not depend on the size


def settings(**overrides: object) -> FetchSettings:
    """Test settings: loopback allowed, small limits, short deadlines."""
    base = FetchSettings(
        allow_private_networks=True,
        user_agent="aggregator-test/1.0",
        connect_timeout=1.0,
        read_timeout=1.0,
        total_timeout=1.5,
        page_total_timeout=1.5,
        max_body_bytes=CAP,
        max_page_bytes=2 * CAP,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def fetch(
    target: str | FetchRequest,
    *,
    page: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: object,
) -> FetchResult:
    """Fetch one feed (or page) with a fresh Fetcher and a fixed clock."""
    request = FetchRequest(target) if isinstance(target, str) else target

    async def main() -> FetchResult:
        async with Fetcher(settings(**overrides), transport=transport, clock=lambda: NOW) as f:
            return await (f.fetch_page(request.url) if page else f.fetch_feed(request))

    return asyncio.run(main())


TransportFactory = Callable[[FetchSettings], httpx.AsyncBaseTransport]


def fetch_many(
    urls: Sequence[str], transport_for: TransportFactory | None = None, **overrides: object
) -> list[FetchResult]:
    """Fetch several feeds at once through one Fetcher."""
    fetch_settings = settings(**overrides)

    async def main() -> list[FetchResult]:
        transport = transport_for(fetch_settings) if transport_for else None
        async with Fetcher(fetch_settings, transport=transport) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch_feed(FetchRequest(u)) for u in urls)))

    return asyncio.run(main())


def failure(result: FetchResult, kind: ErrorKind) -> FetchFailure:
    assert isinstance(result, FetchFailure), result
    assert result.kind is kind, result
    return result


def names_to_loopback(*names: str) -> Callable[[FetchSettings], GuardedTransport]:
    """A guarded transport whose DNS answers 127.0.0.1 for every name (no real lookups)."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        assert host in names, host
        return [ipaddress.ip_address("127.0.0.1")]

    return lambda s: GuardedTransport(
        allow_private=s.allow_private_networks, resolver=resolve, max_connections=s.concurrency
    )


@functools.cache
def bomb() -> bytes:
    return gzip_bomb(32 * MIB)  # ~32 KB on the wire


# --- 1. conditional GET, headers, clock ----------------------------------------------------

VALIDATED = conditional(
    FEED,
    etag='"v1"',
    last_modified="Wed, 01 May 2024 10:00:00 GMT",
    headers=[("Content-Type", "application/rss+xml"), ("X-Custom-Header", "Yes")],
)


def test_first_fetch_returns_body_validators_and_lower_case_headers() -> None:
    with LoopbackServer() as server:
        server.route("/feed", VALIDATED)
        result = fetch(server.url("/feed"))
    assert isinstance(result, Fetched)
    assert (result.status, result.body, result.url) == (200, FEED, server.url("/feed"))
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert result.headers["x-custom-header"] == "Yes"
    assert all(name == name.lower() for name in result.headers)
    assert result.fetched_at == NOW
    assert 0 <= result.elapsed < 1.5
    assert "if-none-match" not in server.requests[0].headers


def test_validators_are_sent_and_304_becomes_not_modified() -> None:
    request = FetchRequest("", etag='"v1"', last_modified="Wed, 01 May 2024 10:00:00 GMT")
    with LoopbackServer() as server:
        server.route("/feed", VALIDATED)
        result = fetch(dataclasses.replace(request, url=server.url("/feed")))
    assert isinstance(result, NotModified)
    assert (result.status, result.fetched_at) == (304, NOW)
    assert result.headers["etag"] == '"v1"'
    sent = server.requests[0].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 01 May 2024 10:00:00 GMT"


def test_force_full_sends_no_validators() -> None:
    with LoopbackServer() as server:
        server.route("/feed", VALIDATED)
        request = FetchRequest(server.url("/feed"), etag='"v1"', last_modified="x", force_full=True)
        result = fetch(request)
    assert isinstance(result, Fetched)
    assert not {"if-none-match", "if-modified-since"} & set(server.requests[0].headers)


def test_request_headers_name_us_and_ask_only_for_decodable_encodings() -> None:
    with LoopbackServer() as server:
        server.route("/x", respond(200, b"<html>page</html>"))
        assert isinstance(fetch(server.url("/x")), Fetched)
        assert isinstance(fetch(server.url("/x"), page=True), Fetched)
    feed_headers, page_headers = (r.headers for r in server.requests)
    assert feed_headers["user-agent"] == "aggregator-test/1.0"
    assert feed_headers["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in feed_headers["accept"]
    assert page_headers["accept"].startswith("text/html")


def test_public_api_reexports_the_guard() -> None:
    assert not is_public_address(ipaddress.ip_address("169.254.169.254"))
    with pytest.raises(BlockedDestination):
        check_url("file:///etc/passwd", allow_private=True)


# --- 2. timeouts ---------------------------------------------------------------------------


def test_trickling_server_ends_in_timeout_at_the_total_deadline() -> None:
    with LoopbackServer() as server:
        server.route("/slow", trickle(0.1))  # every read succeeds; only the deadline stops it
        result = failure(fetch(server.url("/slow"), total_timeout=1.5), ErrorKind.TIMEOUT)
    assert 1.4 <= result.elapsed < 2.5
    assert result.message == (
        f"{server.url('/slow')}: no complete response within the 1.5 s total deadline"
    )


def test_article_pages_use_the_page_deadline() -> None:
    with LoopbackServer() as server:
        server.route("/article", trickle(0.1))
        result = fetch(server.url("/article"), page=True, total_timeout=9, page_total_timeout=0.5)
    assert "0.5 s total deadline" in failure(result, ErrorKind.TIMEOUT).message
    assert result.elapsed < 1.5


def test_a_silent_server_ends_in_a_read_timeout() -> None:
    with LoopbackServer() as server:
        server.route("/stall", stall())
        result = fetch(server.url("/stall"), read_timeout=0.3, total_timeout=9)
    assert "read timeout, no data for 0.3 s" in failure(result, ErrorKind.TIMEOUT).message
    assert result.elapsed < 1.5


def test_slow_dns_ends_in_a_connect_timeout() -> None:
    async def slow(host: str, port: int) -> list[IPAddress]:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    transport = GuardedTransport(allow_private=True, resolver=slow)
    result = fetch("http://slow.test/feed", transport=transport, connect_timeout=0.3)
    assert "timed out after 0.3 s" in failure(result, ErrorKind.TIMEOUT).message


def test_waiting_for_a_host_slot_does_not_count_against_the_deadline() -> None:
    # per_host_connections=1: the second request queues 0.6 s, then takes 0.6 s itself.
    with LoopbackServer() as server:
        server.route("/feed", hold(0.6, respond(200, FEED)))
        results = fetch_many([server.url("/feed")] * 2, per_host_connections=1, total_timeout=1.0)
    assert all(isinstance(r, Fetched) for r in results), results


# --- 3. body decoding and caps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip_bytes(FEED)),
        ("x-gzip", gzip_bytes(FEED)),
        ("GZIP", gzip_bytes(FEED)),
        ("deflate", deflate_bytes(FEED)),
        ("deflate", deflate_bytes(FEED, raw=True)),  # what some servers send for "deflate"
        ("gzip", gzip_bytes(FEED[:40]) + gzip_bytes(FEED[40:])),  # multi-member gzip
        ("identity", FEED),
    ],
    ids=["gzip", "x-gzip", "GZIP", "deflate", "raw-deflate", "multi-member", "identity"],
)
def test_encoded_bodies_are_decoded(encoding: str, body: bytes) -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(200, body, {"Content-Encoding": encoding}))
        result = fetch(server.url("/feed"))
    assert isinstance(result, Fetched)
    assert result.body == FEED
    if encoding != "identity":  # the headers describe the decoded body we hand on
        assert "content-encoding" not in result.headers
        assert "content-length" not in result.headers


def test_a_gzip_bomb_is_refused_at_the_cap() -> None:
    with LoopbackServer() as server:
        server.route("/bomb", respond(200, bomb(), {"Content-Encoding": "gzip"}))
        result = fetch(server.url("/bomb"), max_body_bytes=MIB)
    assert failure(result, ErrorKind.TOO_LARGE).message == (
        f"{server.url('/bomb')}: body exceeds 1048576 decoded bytes"
    )
    assert result.status == 200


def test_the_decoder_never_inflates_far_beyond_the_cap() -> None:
    data = bomb()  # 32 MiB of zeros in ~32 KB: one chunk is enough to try
    decoder = BodyDecoder("gzip", limit=MIB, url="http://bomb.test/")
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="exceeds 1048576 decoded bytes"):
            decoder.feed(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MIB  # the cap plus a step or two, never the 32 MiB


def test_the_decoder_takes_chunks_of_any_size_and_gzip_members_across_chunks() -> None:
    first, second = gzip_bytes(FEED[:40]), gzip_bytes(FEED[40:])
    decoder = BodyDecoder("gzip", limit=CAP, url="http://feed.test/")
    decoder.feed(first)  # a member ends exactly at a chunk boundary
    for offset in range(len(second)):  # the next arrives one byte at a time
        decoder.feed(second[offset : offset + 1])
    decoder.feed(b"\x00" * 8)  # padding after the last member is ignored
    assert decoder.finish() == FEED


def test_content_length_over_the_cap_is_refused_before_reading() -> None:
    with LoopbackServer() as server:
        server.route("/big", respond(200, b"x" * (CAP + 1)))
        result = fetch(server.url("/big"))
    message = failure(result, ErrorKind.TOO_LARGE).message
    assert message == (
        f"{server.url('/big')}: Content-Length {CAP + 1} exceeds the {CAP}-byte cap; not read"
    )


def test_a_body_without_length_is_cut_at_the_cap() -> None:
    with LoopbackServer() as server:
        server.route("/big", respond(200, b"x" * (3 * CAP), length=False))
        server.route("/fits", respond(200, b"x" * CAP, length=False))
        too_big = fetch(server.url("/big"))
        fits = fetch(server.url("/fits"))
    assert f"body exceeds {CAP} decoded bytes" in failure(too_big, ErrorKind.TOO_LARGE).message
    assert isinstance(fits, Fetched)
    assert len(fits.body) == CAP


def test_pages_have_their_own_cap() -> None:
    with LoopbackServer() as server:
        server.route("/page", respond(200, b"x" * (CAP + 10)))  # over the feed cap only
        assert isinstance(fetch(server.url("/page"), page=True), Fetched)
        failure(fetch(server.url("/page")), ErrorKind.TOO_LARGE)


@pytest.mark.parametrize(
    ("encoding", "body", "complaint"),
    [
        (
            "br",
            b"\x1b\x03\x00",
            "cannot decode Content-Encoding 'br' (we accept gzip, deflate only)",
        ),
        ("zstd", b"(\xb5/\xfd", "cannot decode Content-Encoding 'zstd'"),
        ("gzip, gzip", gzip_bytes(gzip_bytes(FEED)), "cannot decode Content-Encoding 'gzip, gzip'"),
        ("gzip", b"not gzip at all", "corrupt gzip body"),
        ("deflate", b"\xff\xff not deflate", "corrupt deflate body"),
        ("gzip", gzip_bytes(FEED)[:-12], "gzip body ends early (truncated stream)"),
    ],
    ids=["br", "zstd", "stacked", "corrupt-gzip", "corrupt-deflate", "truncated-gzip"],
)
def test_undecodable_bodies_are_parse_errors(encoding: str, body: bytes, complaint: str) -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(200, body, {"Content-Encoding": encoding}))
        result = fetch(server.url("/feed"))
    assert complaint in failure(result, ErrorKind.PARSE_ERROR).message
    assert result.status == 200


# --- 4. redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_followed_to_the_final_url(status: int) -> None:
    with LoopbackServer() as server:
        server.route("/old", redirect("/middle#frag", status))  # relative, with a fragment
        server.route("/middle", redirect(server.url("/feed?v=2"), status))
        server.route("/feed", respond(200, FEED))
        result = fetch(server.url("/old"))
    assert isinstance(result, Fetched)
    assert result.url == server.url("/feed?v=2")
    assert [r.target for r in server.requests] == ["/old", "/middle", "/feed?v=2"]


def test_more_than_max_redirects_is_an_error() -> None:
    with LoopbackServer() as server:
        for hop in range(5):
            server.route(f"/r{hop}", redirect(f"/r{hop + 1}"))
        server.route("/r5", respond(200, FEED))
        assert isinstance(fetch(server.url("/r2"), max_redirects=3), Fetched)  # exactly 3
        result = fetch(server.url("/r0"), max_redirects=3)
    message = failure(result, ErrorKind.TOO_MANY_REDIRECTS).message
    last = server.url("/r4")
    assert message == f"{server.url('/r0')}: more than 3 redirects (the last one to {last})"
    assert len(server.requests) == 4 + 4


def test_a_redirect_to_another_scheme_is_refused() -> None:
    with LoopbackServer() as server:
        server.route("/feed", redirect("file:///etc/passwd"))
        result = fetch(server.url("/feed"))
    message = failure(result, ErrorKind.BLOCKED_DESTINATION).message
    assert message == "refusing 'file:///etc/passwd': scheme 'file' is not http or https"
    assert result.url == server.url("/feed")  # the failure belongs to the requested feed


def test_each_hop_is_rechecked_by_the_guard() -> None:
    # A public feed redirecting to the metadata service: a pure seam, so MockTransport.
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})

    result = fetch(
        "http://feeds.example/rss",
        transport=httpx.MockTransport(handler),
        allow_private_networks=False,
    )
    message = failure(result, ErrorKind.BLOCKED_DESTINATION).message
    assert "169.254.169.254 is a link-local address" in message
    assert seen == ["http://feeds.example/rss"]


def test_a_redirect_without_location_is_a_network_error() -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(302, b""))
        result = fetch(server.url("/feed"))
    assert "HTTP 302 Found: cannot be followed" in failure(result, ErrorKind.NETWORK_ERROR).message
    assert result.status == 302


# --- 5. the SSRF guard, end to end ---------------------------------------------------------

SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "017700000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "0x7f000001",
    "127.1",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "localhost",  # a name: refused after DNS, at connect time
]


@pytest.mark.parametrize("host", SPELLINGS)
def test_loopback_is_refused_in_every_spelling(host: str) -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(200, FEED))
        result = fetch(f"http://{host}:{server.port}/feed", allow_private_networks=False)
    assert server.connections.total == 0  # refused before any connection
    assert "loopback address" in failure(result, ErrorKind.BLOCKED_DESTINATION).message


def test_a_name_resolving_to_loopback_is_refused_at_connect_time() -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(200, FEED))
        transport = names_to_loopback("evil.test")(settings(allow_private_networks=False))
        url = f"http://evil.test:{server.port}/feed"
        result = fetch(url, transport=transport, allow_private_networks=False)
    assert server.connections.total == 0
    assert failure(result, ErrorKind.BLOCKED_DESTINATION).message == (
        "connect refused: destination 127.0.0.1 is a loopback address"
        " (host 'evil.test' resolves to it)"
    )


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://127.0.0.1:70/", "feed.xml"]
)
def test_non_http_schemes_are_refused_before_any_io(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    result = fetch(url, transport=httpx.MockTransport(handler))
    assert failure(result, ErrorKind.BLOCKED_DESTINATION).url == url
    assert result.elapsed == 0.0


def test_odd_spellings_reach_the_vetted_address_when_private_networks_are_allowed() -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(200, FEED))
        assert isinstance(fetch(f"http://2130706433:{server.port}/feed"), Fetched)
        # httpx itself refuses zero-padded dotted quads; that is still no request.
        invalid = fetch(f"http://0177.0.0.1:{server.port}/feed")
    assert "not a valid URL" in failure(invalid, ErrorKind.BLOCKED_DESTINATION).message


# --- 6. politeness -------------------------------------------------------------------------


def test_at_most_per_host_connections_requests_reach_one_host() -> None:
    gauge = Gauge()
    with LoopbackServer() as server:
        server.route("/feed", hold(0.15, respond(200, FEED), gauge))
        results = fetch_many([server.url("/feed")] * 8, per_host_connections=2, concurrency=16)
    assert all(isinstance(r, Fetched) for r in results)
    assert (gauge.peak, gauge.total) == (2, 8)


def test_global_concurrency_bounds_requests_across_hosts() -> None:
    names = [f"h{n}.test" for n in range(8)]
    gauge = Gauge()
    with LoopbackServer() as server:
        server.route("/feed", hold(0.15, respond(200, FEED), gauge))
        urls = [f"http://{name}:{server.port}/feed" for name in names]
        results = fetch_many(urls, names_to_loopback(*names), concurrency=3, per_host_connections=2)
    assert all(isinstance(r, Fetched) for r in results)
    assert (gauge.peak, gauge.total) == (3, 8)


def test_hosts_are_limited_separately() -> None:
    both, only_a, only_b = Gauge(), Gauge(), Gauge()
    with LoopbackServer() as server:
        server.route("/a", hold(0.15, respond(200, FEED), both, only_a))
        server.route("/b", hold(0.15, respond(200, FEED), both, only_b))
        urls = [f"http://{h}.test:{server.port}/{h}" for h in ("a", "b") * 3]
        results = fetch_many(urls, names_to_loopback("a.test", "b.test"), per_host_connections=1)
    assert all(isinstance(r, Fetched) for r in results)
    assert (only_a.peak, only_b.peak, both.peak) == (1, 1, 2)


# --- 7. error mapping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, ErrorKind.RATE_LIMITED),
        (503, ErrorKind.RATE_LIMITED),
        (400, ErrorKind.HTTP_4XX),
        (404, ErrorKind.HTTP_4XX),
        (410, ErrorKind.HTTP_4XX),
        (500, ErrorKind.HTTP_5XX),
        (502, ErrorKind.HTTP_5XX),
        (300, ErrorKind.NETWORK_ERROR),
    ],
)
def test_http_statuses_map_to_error_kinds(status: int, kind: ErrorKind) -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(status, b"nope", {"Retry-After": "120"}))
        result = failure(fetch(server.url("/feed")), kind)
    assert result.status == status
    assert result.headers["retry-after"] == "120"  # the scheduler reads it
    assert result.message.startswith(f"{server.url('/feed')}: HTTP {status}")


def test_rate_limit_message_quotes_retry_after() -> None:
    with LoopbackServer() as server:
        server.route("/feed", respond(429, b"", {"Retry-After": "3600"}))
        result = fetch(server.url("/feed"))
    message = failure(result, ErrorKind.RATE_LIMITED).message
    assert message.endswith("HTTP 429 Too Many Requests (rate limited; Retry-After: 3600)")


@pytest.mark.parametrize(
    "handler", [respond(200, b""), respond(200, b" \r\n\t "), respond(204, b"")], ids=str
)
def test_an_empty_body_is_an_error(handler: Callable[..., None]) -> None:
    with LoopbackServer() as server:
        server.route("/feed", handler)
        result = fetch(server.url("/feed"))
    assert "with an empty body" in failure(result, ErrorKind.EMPTY_BODY).message


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetch(f"http://127.0.0.1:{port}/feed")
    message = failure(result, ErrorKind.NETWORK_ERROR).message
    assert f"cannot connect to 127.0.0.1 port {port}" in message


@pytest.mark.parametrize(
    ("reset", "complaint"), [(True, "Connection reset"), (False, "peer closed connection")]
)
def test_a_body_cut_short_is_a_network_error(reset: bool, complaint: str) -> None:
    with LoopbackServer() as server:
        server.route("/feed", cut_short(b"<rss>" * 10, 10_000, reset=reset))
        result = fetch(server.url("/feed"))
    assert complaint in failure(result, ErrorKind.NETWORK_ERROR).message


def test_dns_failure_is_a_network_error() -> None:
    async def nxdomain(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    transport = GuardedTransport(allow_private=False, resolver=nxdomain)
    result = fetch("http://gone.test/feed", transport=transport, allow_private_networks=False)
    message = failure(result, ErrorKind.NETWORK_ERROR).message
    assert message == (
        "http://gone.test/feed: DNS lookup of 'gone.test' failed:"
        " [Errno -2] Name or service not known"
    )


def test_tls_to_a_plain_http_server_is_a_tls_error() -> None:
    with LoopbackServer() as server:
        result = fetch(server.url("/feed").replace("http:", "https:"))
    assert "TLS failure" in failure(result, ErrorKind.TLS_ERROR).message


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@needs_openssl
def test_an_untrusted_certificate_is_a_tls_error(tmp_path: Path) -> None:
    server_tls, _ = self_signed_tls(tmp_path, "feeds.test")
    with LoopbackServer(tls=server_tls) as server:
        server.route("/feed", respond(200, FEED))
        transport = names_to_loopback("feeds.test")(settings())
        result = fetch(f"https://feeds.test:{server.port}/feed", transport=transport)
    assert "certificate verify failed" in failure(result, ErrorKind.TLS_ERROR).message


@needs_openssl
def test_https_through_the_guard_verifies_the_host_name_not_the_ip(tmp_path: Path) -> None:
    server_tls, client_tls = self_signed_tls(tmp_path, "feeds.test")

    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    with LoopbackServer(tls=server_tls) as server:
        server.route("/feed", respond(200, FEED))
        transport = GuardedTransport(allow_private=True, resolver=resolve, verify=client_tls)
        result = fetch(f"https://feeds.test:{server.port}/feed", transport=transport)
    assert isinstance(result, Fetched)
    assert result.body == FEED


class _KeepAlive(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: a 304 for matching validators, a redirect, a 404, a feed."""

    protocol_version = "HTTP/1.1"
    connections: list[int]  # set per server: one entry per TCP connection accepted

    def setup(self) -> None:
        super().setup()
        self.connections.append(1)

    def do_GET(self) -> None:
        if self.path == "/moved":
            self._answer(301, b"moved, see /feed", [("Location", "/feed")])
        elif self.path == "/missing":
            self._answer(404, b"no such feed here " * 20)
        elif self.headers.get("If-None-Match") == '"v1"':
            self._answer(304, b"")
        else:
            self._answer(200, FEED, [("ETag", '"v1"')])

    def _answer(self, status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_304s_redirects_and_errors_leave_the_connection_open_for_the_next_request() -> None:
    connections: list[int] = []
    handler = type("Handler", (_KeepAlive,), {"connections": connections})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:

        async def main() -> list[FetchResult]:
            async with Fetcher(settings(), clock=lambda: NOW) as fetcher:
                results = []
                for _ in range(4):  # one after the other: each may reuse the last connection
                    request = FetchRequest(base + "/feed", etag='"v1"')
                    results.append(await fetcher.fetch_feed(request))
                results.append(await fetcher.fetch_feed(FetchRequest(base + "/moved")))
                results.append(await fetcher.fetch_feed(FetchRequest(base + "/missing")))
                return results

        results = asyncio.run(main())
    finally:
        server.shutdown()
        server.server_close()
    assert [type(r) for r in results] == [NotModified] * 4 + [Fetched, FetchFailure]
    assert len(connections) == 1  # six requests, one connection


def test_an_error_answer_whose_body_never_ends_is_reported_as_that_error() -> None:
    def endless_404(exchange: Exchange) -> None:
        exchange.send_head(404, {"Content-Length": "100000000"})
        while exchange.pause(0.05):
            exchange.send(b"x" * 10)

    with LoopbackServer() as server:
        server.route("/feed.xml", endless_404)
        result = fetch(server.url("/feed.xml"), total_timeout=3.0)
    assert isinstance(result, FetchFailure)
    assert result.kind is ErrorKind.HTTP_4XX  # not a timeout: the drain gives up first
