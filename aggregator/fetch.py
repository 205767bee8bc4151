"""Fetching: the only module that talks HTTP. Guarded, conditional and bounded.

    Fetcher.fetch_feed(FetchRequest) ─▶ Fetched | NotModified | FetchFailure
    Fetcher.fetch_page(url)          ─▶ the same, with the article page's limits

No network, HTTP, size or guard problem is raised: each becomes a FetchFailure whose
``kind`` is an ErrorKind and whose message names the URL and the problem, so one bad feed
never stops a batch. Every limit comes from FetchSettings (defaults: DESIGN.md §3).

How a request is bounded:

* destinations: ``check_url`` before each hop, ``GuardedBackend`` at connect time (netguard);
* time: httpx connect/read timeouts per I/O step, and a total deadline (asyncio.timeout)
  around every hop including the body read, so a server trickling a byte a second loses;
* size: the raw body is streamed and decoded step by step (``bodydecode.BodyDecoder``);
* politeness: at most ``per_host_connections`` requests per host and ``concurrency`` in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urldefrag, urljoin

import httpx

from aggregator.bodydecode import ACCEPT_ENCODING, BodyDecoder, decoded_headers
from aggregator.errors import FetchError
from aggregator.netguard import (
    GuardedTransport,
    check_url,
    innermost_message,
    is_public_address,
)
from aggregator.settings import FetchSettings
from aggregator.types import (
    ErrorKind,
    Fetched,
    FetchFailure,
    FetchRequest,
    FetchResult,
    NotModified,
)

__all__ = ["Fetcher", "GuardedTransport", "check_url", "is_public_address"]

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Both carry Retry-After, which the scheduler honours (DESIGN.md §3, "429 / 503").
RATE_LIMIT_STATUSES = frozenset({429, 503})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Budget:
    """The limits of one kind of fetch: a feed or an article page."""

    total_timeout: float
    max_bytes: int
    accept: str


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


class _Attempt:
    """One fetch's bookkeeping; its clock starts when the first connection slot is granted."""

    def __init__(self, url: str, clock: Callable[[], datetime]) -> None:
        self.url = url  # as requested: the feed's identity
        self.current = url  # the hop in progress
        self._clock = clock
        self.fetched_at = clock()
        self._started: float | None = None

    def begin(self) -> None:
        self._started = time.monotonic()
        self.fetched_at = self._clock()

    @property
    def elapsed(self) -> float:
        return 0.0 if self._started is None else time.monotonic() - self._started

    def failure(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchFailure:
        return FetchFailure(
            url=self.url,
            kind=kind,
            message=message,
            fetched_at=self.fetched_at,
            status=status,
            headers=dict(headers or {}),
            elapsed=self.elapsed,
        )


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0  # holders and waiters; the entry is dropped when it falls to zero


class _HostSlots:
    """At most ``limit`` requests in flight per host; idle hosts leave the table."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, _HostSlot] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        slot = self._slots.setdefault(host, _HostSlot(asyncio.Semaphore(self._limit)))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[host]


class Fetcher:
    """One httpx.AsyncClient behind the SSRF guard; global concurrency and per-host limits.

    Use as ``async with Fetcher(settings) as fetcher: await fetcher.fetch_feed(request)``.
    ``transport`` replaces the guarded transport (tests: GuardedTransport with a fake
    resolver, or httpx.MockTransport); ``check_url`` still runs before every hop.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts = _HostSlots(settings.per_host_connections)
        self._feed = _Budget(settings.total_timeout, settings.max_body_bytes, FEED_ACCEPT)
        self._page = _Budget(settings.page_total_timeout, settings.max_page_bytes, PAGE_ACCEPT)
        # Idle connections are kept for up to twice the fetches in flight, so a cycle over
        # many hosts can come back to one (docs/design-notes.md, "Connection reuse").
        transport = transport or GuardedTransport(
            allow_private=settings.allow_private_networks,
            max_connections=2 * settings.concurrency,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,  # followed here, so every hop is re-checked
            trust_env=False,  # an environment proxy would bypass the connect-time guard
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def fetch_feed(self, request: FetchRequest) -> FetchResult:
        """GET a feed, conditionally unless ``request.force_full``; never raises for I/O."""
        headers: dict[str, str] = {}
        if not request.force_full and request.etag:
            headers["If-None-Match"] = request.etag
        if not request.force_full and request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        return await self._fetch(request.url, headers, self._feed)

    async def fetch_page(self, url: str) -> FetchResult:
        """GET an article's HTML page with the page deadline and size cap."""
        return await self._fetch(url, {}, self._page)

    async def _fetch(self, url: str, headers: dict[str, str], budget: _Budget) -> FetchResult:
        attempt = _Attempt(url, self._clock)
        try:
            return await self._follow(attempt, headers, budget)
        except TimeoutError:
            deadline = f"the {budget.total_timeout:g} s total deadline"
            return attempt.failure(
                ErrorKind.TIMEOUT, f"{attempt.current}: no complete response within {deadline}"
            )
        except FetchError as exc:
            return attempt.failure(exc.kind, str(exc), status=exc.status)
        except httpx.InvalidURL as exc:
            message = f"refusing {attempt.current!r}: not a valid URL ({exc})"
            return attempt.failure(ErrorKind.BLOCKED_DESTINATION, message)
        except (httpx.HTTPError, OSError) as exc:
            kind, message = self._describe_transport_error(exc, attempt.current)
            return attempt.failure(kind, message)

    async def _follow(
        self, attempt: _Attempt, headers: dict[str, str], budget: _Budget
    ) -> FetchResult:
        """Request, then follow redirects by hand: each hop checked, slotted and on the clock."""
        url = attempt.url
        # The deadline starts once the first hop has its slots: queueing is not the server's
        # fault, but every later wait, connect, header and body byte counts.
        async with asyncio.timeout_at(None) as deadline:
            for _hop in range(self._settings.max_redirects + 1):
                check_url(url, allow_private=self._settings.allow_private_networks)
                attempt.current = url
                async with self._hosts.hold(_host_key(url)), self._global:
                    if deadline.when() is None:
                        attempt.begin()
                        loop_now = asyncio.get_running_loop().time()
                        deadline.reschedule(loop_now + budget.total_timeout)
                    outcome = await self._exchange(attempt, url, headers, budget)
                if not isinstance(outcome, _Redirect):
                    return outcome
                url = outcome.location
        limit = self._settings.max_redirects
        message = f"{attempt.url}: more than {limit} redirects (the last one to {url})"
        return attempt.failure(ErrorKind.TOO_MANY_REDIRECTS, message)

    async def _exchange(
        self, attempt: _Attempt, url: str, headers: dict[str, str], budget: _Budget
    ) -> FetchResult | _Redirect:
        """One GET: a redirect to follow, or the final result of the fetch."""
        async with self._client.stream(
            "GET", url, headers={"Accept": budget.accept, **headers}
        ) as response:
            status = response.status_code
            head = {name.lower(): value for name, value in response.headers.items()}
            location = head.get("location", "").strip()
            if status in REDIRECT_STATUSES and location:
                await _drain(response)
                return _Redirect(urldefrag(urljoin(url, location)).url)
            if status == 304:
                await _drain(response)
                return NotModified(
                    url=url, headers=head, fetched_at=attempt.fetched_at, elapsed=attempt.elapsed
                )
            if not 200 <= status < 300:
                await _drain(response)
                return _status_failure(attempt, url, status, head)
            body = await _read_body(response, url, budget.max_bytes)
        if not body.strip():
            message = f"{url}: HTTP {status} with an empty body"
            return attempt.failure(ErrorKind.EMPTY_BODY, message, status=status, headers=head)
        return Fetched(
            url=url,
            status=status,
            body=body,
            headers=decoded_headers(head),
            fetched_at=attempt.fetched_at,
            elapsed=attempt.elapsed,
        )

    def _describe_transport_error(self, exc: Exception, url: str) -> tuple[ErrorKind, str]:
        """Map an httpx/OS error to an ErrorKind and a message naming the URL."""
        if isinstance(exc, httpx.ConnectTimeout):
            return ErrorKind.TIMEOUT, f"{url}: {innermost_message(exc)}"
        if isinstance(exc, httpx.ReadTimeout):
            seconds = self._settings.read_timeout
            return ErrorKind.TIMEOUT, f"{url}: read timeout, no data for {seconds:g} s"
        if isinstance(exc, httpx.TimeoutException):
            return ErrorKind.TIMEOUT, f"{url}: timeout ({type(exc).__name__})"
        tls = _find_cause(exc, ssl.SSLError)
        if tls is not None:
            return ErrorKind.TLS_ERROR, f"{url}: TLS failure: {tls}"
        if isinstance(exc, httpx.ConnectError):  # GuardedBackend's own messages say it best
            return ErrorKind.NETWORK_ERROR, f"{url}: {str(exc) or innermost_message(exc)}"
        return ErrorKind.NETWORK_ERROR, f"{url}: connection failed: {innermost_message(exc)}"


#: The body of a 304, a redirect or an error answer is read and dropped up to this many
#: bytes (as sent, not decoded), so the connection can carry the next request; a longer
#: one is not worth the wait, and the connection is closed instead.
DRAIN_LIMIT = 64 * 1024
#: ... and for at most this long.
DRAIN_SECONDS = 1.0


async def _drain(response: httpx.Response) -> None:
    """Read and drop an unwanted body, so that httpx can reuse the connection.

    A response left unread is closed with its connection: with most feeds answering 304,
    every fetch would otherwise open a new connection to the host.
    """
    seen = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in response.aiter_raw():
                seen += len(chunk)
                if seen > DRAIN_LIMIT:
                    return
    except (TimeoutError, httpx.HTTPError, httpx.StreamError, OSError):
        return  # the answer is already known; this connection is just not reused


def _host_key(url: str) -> str:
    """The politeness key of a URL: its host name, without port or trailing dot."""
    return httpx.URL(url).host.rstrip(".").lower()


def _find_cause(exc: BaseException, wanted: type[ssl.SSLError]) -> ssl.SSLError | None:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, wanted):
            return current
        current = current.__cause__ or current.__context__
    return None


def _status_failure(
    attempt: _Attempt, url: str, status: int, head: Mapping[str, str]
) -> FetchFailure:
    """The failure for a non-2xx answer; headers are kept for Retry-After."""
    described = f"{url}: HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    if status in RATE_LIMIT_STATUSES:
        retry = head.get("retry-after", "not given")
        kind, message = ErrorKind.RATE_LIMITED, f"{described} (rate limited; Retry-After: {retry})"
    elif 400 <= status < 500:
        kind, message = ErrorKind.HTTP_4XX, described
    elif status >= 500:
        kind, message = ErrorKind.HTTP_5XX, described
    else:
        # A 3xx we cannot follow (300, 305, or a redirect without Location): the exchange
        # itself failed, and no 3xx kind exists, so it counts as a network error.
        kind, message = ErrorKind.NETWORK_ERROR, f"{described}: cannot be followed"
    return attempt.failure(kind, message, status=status, headers=head)


async def _read_body(response: httpx.Response, url: str, limit: int) -> bytes:
    """Stream the raw body and decode it, refusing it as soon as it passes ``limit``."""
    status = response.status_code
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        message = f"{url}: Content-Length {int(declared)} exceeds the {limit}-byte cap; not read"
        raise FetchError(ErrorKind.TOO_LARGE, message, status=status)
    try:
        decoder = BodyDecoder(response.headers.get("content-encoding", ""), limit=limit, url=url)
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
        return decoder.finish()
    except FetchError as exc:
        raise FetchError(exc.kind, str(exc), status=status) from None
