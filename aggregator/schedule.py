"""When is a feed due next? Intervals, server hints, backoff and jitter, decided purely.

Every function takes ``now`` and a random source, so every decision is testable with a
fixed clock. The numbers come from DESIGN.md §3 (the policies of long-running aggregators).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from aggregator.settings import ScheduleSettings
from aggregator.types import ErrorKind, FeedState

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?([0-9]{1,12})", re.IGNORECASE | re.ASCII)
_SECONDS = re.compile(r"[0-9]{1,12}", re.ASCII)
#: Any delay a server may ask for is read as at most this; later caps bring it to 24 h.
#: (Without a bound, "Retry-After: 99999999999999" overflows timedelta.)
LONGEST_HINT = timedelta(days=365)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


def clamp(value: timedelta, settings: ScheduleSettings) -> timedelta:
    """Keep a server-suggested interval within [min_interval, max_interval]."""
    return max(settings.min_interval, min(settings.max_interval, value))


def with_jitter(interval: timedelta, settings: ScheduleSettings, rng: random.Random) -> timedelta:
    """Stretch an interval by 0..jitter of itself, so hosts are not hit in lockstep."""
    return interval * (1.0 + rng.uniform(0.0, settings.jitter))


def parse_http_date(value: str) -> datetime | None:
    """An HTTP date as an aware UTC datetime, or None when it is not one."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or as an HTTP date; None when absent or garbage."""
    if not value:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return min(LONGEST_HINT, timedelta(seconds=int(text)))
    when = parse_http_date(text)
    if when is None:
        return None
    return max(timedelta(0), when - now)


def server_hint(
    headers: Mapping[str, str], ttl_seconds: int | None, now: datetime
) -> timedelta | None:
    """What the server asks for: Cache-Control max-age, then Expires, then the feed's <ttl>."""
    cache_control = headers.get("cache-control", "")
    match = _MAX_AGE.search(cache_control)
    if match and not _NO_CACHE.search(cache_control):
        return min(LONGEST_HINT, timedelta(seconds=int(match.group(1))))
    expires = parse_http_date(headers.get("expires", ""))
    if expires is not None:
        return expires - now
    if ttl_seconds:
        return min(LONGEST_HINT, timedelta(seconds=ttl_seconds))
    return None


def next_after_success(
    now: datetime,
    *,
    interval: timedelta | None,
    headers: Mapping[str, str],
    ttl_seconds: int | None,
    settings: ScheduleSettings,
    rng: random.Random,
) -> datetime:
    """Next fetch after a 200 or 304: the outlet's interval, lengthened by server hints.

    A hint may stretch the interval (up to max_interval) but never shorten it below the
    configured one: a server asking for max-age=60 does not get polled every minute.
    """
    base = interval or settings.default_interval
    hint = server_hint(headers, ttl_seconds, now)
    if hint is not None:
        base = max(base, clamp(hint, settings))
    return now + with_jitter(clamp(base, settings), settings, rng)


def backoff(error_count: int, settings: ScheduleSettings) -> timedelta:
    """base × 2^(n−1), capped: 15 min, 30 min, 1 h, … 24 h."""
    exponent = max(0, min(error_count - 1, 30))
    delay: timedelta = settings.error_backoff_base * (2**exponent)
    return min(settings.error_backoff_max, delay)


def next_after_error(
    now: datetime,
    *,
    kind: ErrorKind,
    error_count: int,
    headers: Mapping[str, str],
    settings: ScheduleSettings,
    rng: random.Random,
) -> datetime:
    """Next attempt after a failure; a rate limit's Retry-After wins over plain backoff.

    The cap applies after the jitter: no failing feed waits longer than error_backoff_max.
    """
    delay = backoff(error_count, settings)
    if kind is ErrorKind.RATE_LIMITED:
        asked = parse_retry_after(headers.get("retry-after"), now)
        delay = asked if asked is not None else settings.retry_after_default
        delay = max(delay, settings.min_interval)
    return now + min(with_jitter(delay, settings, rng), settings.error_backoff_max)


def state_for(error_count: int, settings: ScheduleSettings) -> FeedState:
    """A feed is failing after ``failing_after`` errors in a row; it is never abandoned."""
    return FeedState.FAILING if error_count >= settings.failing_after else FeedState.OK


#: Clocks of daemons sharing a database may disagree by this much; a feed last fetched
#: further ahead of ``now`` than this was scheduled by a clock that has since gone back.
CLOCK_SLACK = timedelta(minutes=5)


def needs_full_refetch(
    last_full_fetch_at: datetime | None, now: datetime, s: ScheduleSettings
) -> bool:
    """Ignore validators now and then: some servers answer 304 forever."""
    return last_full_fetch_at is None or now - last_full_fetch_at >= s.full_refetch_every
