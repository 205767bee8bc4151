"""The SSRF guard: address classes, odd spellings, URL checks and the connect-time backend."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import httpcore
import pytest

from aggregator.errors import BlockedDestination
from aggregator.netguard import (
    GuardedBackend,
    IPAddress,
    check_url,
    describe_block,
    is_public_address,
    literal_address,
    system_resolver,
)
from tests.loopback import LoopbackServer, respond


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


class FakeResolver:
    """Answers DNS from a script: one list of addresses per call (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [[ip(a) for a in answer] for answer in answers]
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


# --- address classes -----------------------------------------------------------------------

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # IPv4-mapped public: judged as the IPv4 it carries
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8 (DNS64 networks hand these out)
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "10.0.0.5": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "169.254.169.254": "link-local",  # cloud metadata service
    "169.254.1.1": "link-local",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "private",  # "this network"
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "private",  # reserved class E; Python files it under private
    "255.255.255.255": "private",
    "192.0.2.1": "private",  # TEST-NET-1
    "198.18.0.1": "private",  # benchmarking
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "private",  # documentation
    "::ffff:127.0.0.1": "127.0.0.1, a loopback",
    "::ffff:10.0.0.1": "10.0.0.1, a private",
    "::ffff:169.254.169.254": "169.254.169.254, a link-local",
    "::ffff:100.64.0.1": "carrier-grade NAT",
    "64:ff9b::7f00:1": "127.0.0.1, a loopback",  # NAT64 wrapping loopback
    "64:ff9b::a9fe:a9fe": "169.254.169.254, a link-local",
    "64:ff9b:1::a00:1": "carrier-grade NAT",  # RFC 8215 local-use NAT64
    "2002:7f00:1::1": "127.0.0.1, a loopback",  # 6to4 wrapping loopback
    "2002:a00:1::": "10.0.0.1, a private",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "private",  # Teredo
    "::7f00:1": "reserved",  # deprecated IPv4-compatible form
}


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(ip(address))
    assert describe_block(ip(address)) is None


@pytest.mark.parametrize(("address", "reason"), NOT_PUBLIC.items())
def test_non_public_addresses_are_refused_with_their_class(address: str, reason: str) -> None:
    assert not is_public_address(ip(address))
    assert reason in (describe_block(ip(address)) or "")


# --- spellings -----------------------------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",  # decimal
    "017700000001",  # octal
    "0177.0.0.1",  # octal first part
    "0x7f.0.0.1",  # hex first part
    "0x7f000001",  # hex whole
    "0X7F.0X0.0X0.0X1",
    "127.1",  # short form
    "127.0.1",
    "127.0.0.1.",  # trailing dot
    "127.0.0.1..",
]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_literal_address_reads_every_ipv4_spelling(spelling: str) -> None:
    assert literal_address(spelling) == ip("127.0.0.1")


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"), ("::1", "::1"), ("[::1]", "::1")],
)
def test_literal_address_reads_ipv6(spelling: str, expected: str) -> None:
    assert literal_address(spelling) == ip(expected)


@pytest.mark.parametrize(
    "name", ["example.com", "cafe.be", "0xfeeds.example", "1.2.3.4 junk", "1.2.3.4.5", "localhost"]
)
def test_literal_address_leaves_names_alone(name: str) -> None:
    assert literal_address(name) is None


# --- check_url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/feed.xml",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:text/xml,<rss/>",
        "ws://example.com/",
        "example.com/feed.xml",
        "//example.com/feed.xml",
        "http:///feed.xml",
        "http://example.com:99999/",
        "http://[::1/",
    ],
)
def test_check_url_refuses_non_http_and_malformed_urls_even_when_private_allowed(url: str) -> None:
    with pytest.raises(BlockedDestination) as caught:
        check_url(url, allow_private=True)
    assert repr(url) in str(caught.value)


URL_SPELLINGS = [f"http://{host}:8080/feed" for host in LOOPBACK_SPELLINGS] + [
    "http://[::ffff:127.0.0.1]/",
    "http://[::1]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://0/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://10.0.0.5/",
    "HTTP://user:pw@127.0.0.1/",
]


@pytest.mark.parametrize("url", URL_SPELLINGS)
def test_check_url_refuses_private_literals_in_any_spelling(url: str) -> None:
    with pytest.raises(BlockedDestination, match="destination"):
        check_url(url, allow_private=False)
    check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    ["https://rss.politico.com/politics-news.xml", "HTTP://8.8.8.8/", "http://[2606:4700::1]/"],
)
def test_check_url_accepts_public_http_urls_without_any_lookup(url: str) -> None:
    check_url(url, allow_private=False)


def test_check_url_message_names_the_url_and_the_reason() -> None:
    with pytest.raises(BlockedDestination) as caught:
        check_url("http://10.0.0.5/feed", allow_private=False)
    assert str(caught.value) == (
        "refusing 'http://10.0.0.5/feed': destination 10.0.0.5 is a private address"
    )
    with pytest.raises(BlockedDestination, match="scheme 'file' is not http or https"):
        check_url("file:///etc/passwd", allow_private=False)


# --- the connect-time backend --------------------------------------------------------------


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "::ffff:127.0.0.1", "::1"])
def test_backend_refuses_literal_spellings_without_dns(host: str) -> None:
    resolver = FakeResolver(["8.8.8.8"])
    backend = GuardedBackend(allow_private=False, resolver=resolver)
    with pytest.raises(BlockedDestination, match=r"connect refused: destination .*loopback"):
        asyncio.run(backend.connect_tcp(host, 80, timeout=1.0))
    assert resolver.calls == []


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (["127.0.0.1"], "127.0.0.1 is a loopback address"),
        (["169.254.169.254"], "169.254.169.254 is a link-local address"),
        (["10.0.0.5"], "10.0.0.5 is a private address"),
        (["::ffff:127.0.0.1"], "carries 127.0.0.1, a loopback address"),
        (["8.8.8.8", "10.0.0.5"], "10.0.0.5 is a private address"),  # any bad candidate
        (["2606:4700::1", "::1"], "::1 is a loopback address"),
    ],
)
def test_backend_refuses_names_that_resolve_to_private_addresses(
    answer: list[str], refused: str
) -> None:
    backend = GuardedBackend(allow_private=False, resolver=FakeResolver(answer))
    with LoopbackServer() as server, pytest.raises(BlockedDestination) as caught:
        asyncio.run(backend.connect_tcp("evil.test", server.port, timeout=1.0))
    assert server.connections.total == 0
    message = str(caught.value)
    assert message.startswith("connect refused: destination ")
    assert refused in message
    assert message.endswith("(host 'evil.test' resolves to it)")


def test_backend_connects_to_the_address_it_vetted_and_never_resolves_again() -> None:
    # DNS rebinding: the first answer is checked; a later, different answer must not be
    # what the connection uses. The backend resolves once and dials the vetted IP itself.
    resolver = FakeResolver(["127.0.0.1"], ["10.255.255.1"])
    backend = GuardedBackend(allow_private=True, resolver=resolver)

    async def connect() -> tuple[object, ...]:
        stream = await backend.connect_tcp("rebind.test", server.port, timeout=1.0)
        try:
            return tuple(stream.get_extra_info("server_addr"))
        finally:
            await stream.aclose()

    with LoopbackServer() as server:
        assert asyncio.run(connect()) == ("127.0.0.1", server.port)
    assert resolver.calls == ["rebind.test"]


def test_backend_tries_the_next_vetted_address_when_one_refuses() -> None:
    # 127.0.0.2 is loopback too, but nothing listens there on the server's port.
    backend = GuardedBackend(allow_private=True, resolver=FakeResolver(["127.0.0.2", "127.0.0.1"]))

    async def connect() -> None:
        stream = await backend.connect_tcp("two.test", server.port, timeout=1.0)
        await stream.aclose()

    with LoopbackServer() as server:
        asyncio.run(connect())
    assert server.connections.total == 1


def test_backend_reports_dns_failure_and_empty_answers_as_connect_errors() -> None:
    async def failing(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    backend = GuardedBackend(allow_private=False, resolver=failing)
    with pytest.raises(httpcore.ConnectError, match=r"DNS lookup of 'nowhere\.test' failed"):
        asyncio.run(backend.connect_tcp("nowhere.test", 80, timeout=1.0))
    backend = GuardedBackend(allow_private=False, resolver=FakeResolver([]))
    with pytest.raises(httpcore.ConnectError, match="returned no address"):
        asyncio.run(backend.connect_tcp("empty.test", 80, timeout=1.0))


def test_backend_counts_dns_time_in_the_connect_timeout() -> None:
    async def slow(host: str, port: int) -> list[IPAddress]:
        await asyncio.sleep(10)
        return [ip("8.8.8.8")]

    backend = GuardedBackend(allow_private=False, resolver=slow)
    with pytest.raises(httpcore.ConnectTimeout, match=r"timed out after 0\.2 s"):
        asyncio.run(backend.connect_tcp("slow.test", 80, timeout=0.2))


def test_backend_refuses_unix_sockets() -> None:
    backend = GuardedBackend(allow_private=True)
    with pytest.raises(BlockedDestination, match="unix socket"):
        asyncio.run(backend.connect_unix_socket("/var/run/docker.sock"))


def test_system_resolver_reads_localhost_and_the_guard_refuses_it() -> None:
    # /etc/hosts answers "localhost" without any network traffic.
    assert {ip("127.0.0.1"), ip("::1")} & set(asyncio.run(system_resolver("localhost", 80)))
    with LoopbackServer() as server:
        backend = GuardedBackend(allow_private=False)
        with pytest.raises(BlockedDestination, match="host 'localhost' resolves to it"):
            asyncio.run(backend.connect_tcp("localhost", server.port, timeout=1.0))
    assert server.connections.total == 0


def test_backend_allows_loopback_when_private_networks_are_allowed() -> None:
    backend = GuardedBackend(allow_private=True)

    async def fetch_raw() -> bytes:
        stream = await backend.connect_tcp("127.0.0.1", server.port, timeout=1.0)
        try:
            await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return await stream.read(1024, timeout=1.0)
        finally:
            await stream.aclose()

    with LoopbackServer() as server:
        server.route("/", respond(200, b"hi"))
        assert asyncio.run(fetch_raw()).startswith(b"HTTP/1.1 200 OK")
