"""The SSRF guard: which destinations the fetcher may reach.

Feed URLs come from configuration, OPML imports and redirects chosen by remote servers, so
a URL can point anywhere: the cloud metadata service (169.254.169.254), the database on
localhost, the office network. The guard refuses every non-public destination twice:

* ``check_url`` before any I/O: only http(s), and an IP literal (in any spelling the C
  library accepts: ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.0.0.1.``…) must be public;
* ``GuardedBackend`` at connect time: it resolves the name itself, refuses when *any*
  candidate address is not public, and connects to exactly the address it vetted, so a DNS
  answer that changes between check and connect (DNS rebinding) cannot slip through;
  ``GuardedTransport`` plugs it into httpx.

``allow_private`` (the ``fetch.allow_private_networks`` setting) turns the address checks
off for tests and demos; the scheme check always applies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import httpcore
import httpx

from aggregator.errors import BlockedDestination

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolver(host, port)`` → candidate addresses; injectable so tests never touch real DNS.
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
SocketOptions = Iterable[httpcore.SOCKET_OPTION] | None

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: Seconds an idle connection is kept for reuse (httpx's own default).
KEEPALIVE_EXPIRY = 5.0

#: RFC 6598 shared address space (carrier-grade NAT): not global, yet not "private" either.
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
#: RFC 6052 well-known NAT64 prefix: the low 32 bits are the IPv4 destination.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
#: RFC 8215 local-use NAT64 prefix: translated inside one network only.
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")

# What inet_aton (and so getaddrinfo) reads as an IPv4 address: one to four parts, each
# decimal, octal (leading 0) or hex (0x). Anything else is a host name for DNS.
_INET_ATON_SPELLING = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.I)


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``ip`` is a globally reachable unicast address the fetcher may connect to."""
    return describe_block(ip) is None


def describe_block(ip: IPAddress) -> str | None:
    """Why ``ip`` is refused, as "10.0.0.5 is a private address"; None when it is public.

    IPv4 addresses carried inside IPv6 (IPv4-mapped, NAT64, 6to4, Teredo) are unwrapped and
    judged as IPv4 too, so ``::ffff:127.0.0.1`` is refused like ``127.0.0.1``.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        # A mapped or NAT64 address *is* an IPv4 destination: judge the IPv4 alone (the
        # prefixes themselves count as "reserved", which would refuse public hosts).
        carried = ip.ipv4_mapped
        if carried is None and ip in NAT64_WELL_KNOWN:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        if carried is not None:
            return _embedded(ip, carried)
    problem = _own_problem(ip)
    if problem is not None:
        return f"{ip} is {problem}"
    if isinstance(ip, ipaddress.IPv6Address):
        tunnelled = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if tunnelled is not None:
            return _embedded(ip, tunnelled)
    return None


def _embedded(outer: ipaddress.IPv6Address, inner: ipaddress.IPv4Address) -> str | None:
    problem = _own_problem(inner)
    return None if problem is None else f"{outer} carries {inner}, {problem}"


def _own_problem(ip: IPAddress) -> str | None:
    """The address class that makes ``ip`` non-public, most specific first."""
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),  # includes 169.254.169.254 (metadata)
        (ip.is_multicast, "a multicast address"),  # is_global is True for multicast
        (ip in CGNAT or ip in NAT64_LOCAL_USE, "a shared (carrier-grade NAT) address"),
        (ip.is_private, "a private address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-global address"),
    )
    return next((label for refused, label in checks if refused), None)


def literal_address(host: str) -> IPAddress | None:
    """The IP address ``host`` spells, in any spelling the C resolver accepts; None for a name.

    Handles brackets, a trailing dot, IPv6 zones and inet_aton's decimal/octal/hex forms.
    """
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    name = name.rstrip(".")
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if not _INET_ATON_SPELLING.fullmatch(name):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse, before any I/O, a URL the fetcher must not request.

    Raises BlockedDestination when the scheme is not http or https, the URL has no host, or
    (unless ``allow_private``) the host is a non-public IP literal in any spelling. Host
    names are checked after DNS, at connect time, by ``GuardedBackend``.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise BlockedDestination(f"refusing {url!r}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise BlockedDestination(f"refusing {url!r}: the URL has no scheme (http or https)")
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedDestination(f"refusing {url!r}: scheme {scheme!r} is not http or https")
    if not host:
        raise BlockedDestination(f"refusing {url!r}: the URL has no host")
    address = None if allow_private else literal_address(host)
    problem = None if address is None else describe_block(address)
    if problem is not None:
        raise BlockedDestination(f"refusing {url!r}: destination {problem}")


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the event loop's getaddrinfo; addresses in the order given."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that vets every address it connects to.

    It resolves the host itself, refuses the connection when any candidate address is not
    public (a name that also resolves to 127.0.0.1 is not trusted), then connects to the
    vetted addresses in order, by IP, so nothing resolves the name a second time.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve, vet and connect within ``timeout`` seconds (DNS time included)."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.vetted_addresses(host, port)
                return await self._connect_first(addresses, port, local_address, socket_options)
        except TimeoutError:
            raise httpcore.ConnectTimeout(
                f"connect to {host} port {port} timed out after {timeout} s"
            ) from None

    async def vetted_addresses(self, host: str, port: int) -> Sequence[IPAddress]:
        """The addresses for ``host``; BlockedDestination if any of them is not public."""
        literal = literal_address(host)
        if literal is not None:
            addresses: Sequence[IPAddress] = [literal]
        else:
            try:
                addresses = await self._resolve(host, port)
            except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
                raise httpcore.ConnectError(f"DNS lookup of {host!r} failed: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"DNS lookup of {host!r} returned no address")
        for address in () if self._allow_private else addresses:
            problem = describe_block(address)
            if problem is not None:
                named = "" if str(address) == host else f" (host {host!r} resolves to it)"
                raise BlockedDestination(f"connect refused: destination {problem}{named}")
        return addresses

    async def _connect_first(
        self,
        addresses: Sequence[IPAddress],
        port: int,
        local_address: str | None,
        socket_options: SocketOptions,
    ) -> httpcore.AsyncNetworkStream:
        failures: list[str] = []
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                failures.append(f"{address} port {port}: {innermost_message(exc)}")
        raise httpcore.ConnectError("cannot connect to " + "; ".join(failures))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.AsyncNetworkStream:
        """Always refused: a feed URL never names a local socket."""
        raise BlockedDestination(f"connect refused: unix socket {path!r}")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the inner backend (httpcore uses it between connect retries)."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP transport, its connection pool rebuilt on the SSRF-guarded backend.

    ``resolver`` replaces DNS (tests map "evil.test" to 127.0.0.1); ``verify`` is passed to
    httpx.create_ssl_context (tests trust a self-signed certificate with it).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        max_connections: int = 16,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        # Relies on httpx internals (httpx is pinned <0.29): AsyncHTTPTransport takes no
        # network_backend, so the pool built by __init__ (verify=False only spares loading
        # the CA bundle twice) is swapped for an equal one on GuardedBackend. ``_pool`` is
        # what handle_async_request and aclose use; re-check this when upgrading httpx.
        super().__init__(verify=False, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )


def innermost_message(exc: BaseException) -> str:
    """The most specific message in an exception chain ("[Errno 111] Connection refused")."""
    messages = []
    current: BaseException | None = exc
    while current is not None:
        messages.append(str(current))
        # httpcore re-raises some errors "from None", hiding the OS error in __context__.
        current = current.__cause__ if current.__cause__ is not None else current.__context__
    return next((m for m in reversed(messages) if m), type(exc).__name__)
