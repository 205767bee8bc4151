"""Tests of the schedule: server hints, Retry-After, backoff, jitter — fixed clocks only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.schedule import (
    backoff,
    clamp,
    needs_full_refetch,
    next_after_error,
    next_after_success,
    parse_http_date,
    parse_retry_after,
    server_hint,
    state_for,
    with_jitter,
)
from aggregator.settings import ScheduleSettings
from aggregator.types import ErrorKind, FeedState

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)  # a Monday
S = ScheduleSettings()
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SEEDS = range(200)


def rngs() -> list[random.Random]:
    return [random.Random(seed) for seed in SEEDS]


class ExtremeRandom(random.Random):
    """uniform() always returns its upper (or lower) bound: the edges of the jitter."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


# --- Retry-After -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 120 ", timedelta(seconds=120)),
        ("0", timedelta(0)),
        ("Mon, 20 May 2024 13:30:00 GMT", timedelta(minutes=90)),
        ("Mon, 20 May 2024 14:30:00 +0200", timedelta(minutes=30)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", timedelta(0)),  # a date in the past: retry now
        ("Mon, 20 May 2024 11:59:59 GMT", timedelta(0)),
    ],
)
def test_parse_retry_after_seconds_and_http_dates(value: str, expected: timedelta) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "1.5", "12 minutes", "0x10"])
def test_parse_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", ["²", "99999999999999"], ids=["superscript-two", "huge"])
def test_hostile_retry_after_does_not_raise(value: str) -> None:
    when = next_after_error(
        NOW,
        kind=ErrorKind.RATE_LIMITED,
        error_count=1,
        headers={"retry-after": value},
        settings=S,
        rng=random.Random(0),
    )
    assert when > NOW


def test_hostile_max_age_does_not_raise() -> None:
    when = next_after_success(
        NOW,
        interval=None,
        headers={"cache-control": "max-age=99999999999999"},
        ttl_seconds=None,
        settings=S,
        rng=random.Random(0),
    )
    assert NOW < when <= NOW + S.max_interval * (1 + S.jitter)


def test_parse_http_date_returns_aware_utc() -> None:
    parsed = parse_http_date("Mon, 20 May 2024 14:00:00 +0200")
    assert parsed == NOW
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parse_http_date("Mon, 20 May 2024 12:00:00") == NOW  # no zone: taken as UTC
    assert parse_http_date("yesterday") is None


# --- server hints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({"cache-control": "max-age=3600"}, None, HOUR),
        ({"cache-control": "public, max-age=7200, must-revalidate"}, None, 2 * HOUR),
        ({"cache-control": 'max-age="600"'}, None, timedelta(minutes=10)),
        ({"cache-control": "MAX-AGE=60"}, None, MINUTE),
        # max-age wins over Expires and <ttl>
        (
            {"cache-control": "max-age=60", "expires": "Mon, 20 May 2024 15:00:00 GMT"},
            900,
            MINUTE,
        ),
        ({"expires": "Mon, 20 May 2024 15:00:00 GMT"}, 900, 3 * HOUR),
        ({"expires": "Mon, 20 May 2024 11:00:00 GMT"}, None, -HOUR),  # clamped by the caller
        ({}, 900, timedelta(minutes=15)),
        ({"expires": "0"}, 900, timedelta(minutes=15)),  # invalid Expires: next hint
        ({}, None, None),
        ({}, 0, None),
    ],
)
def test_server_hint_order_max_age_expires_ttl(
    headers: dict[str, str], ttl: int | None, expected: timedelta | None
) -> None:
    assert server_hint(headers, ttl, NOW) == expected


@pytest.mark.parametrize("directive", ["no-cache", "no-store", "No-Cache"])
def test_server_hint_ignores_max_age_under_no_cache(directive: str) -> None:
    headers = {"cache-control": f"{directive}, max-age=7200"}
    assert server_hint(headers, None, NOW) is None
    assert server_hint(headers, 1800, NOW) == timedelta(minutes=30)


# --- next_after_success ------------------------------------------------------------------


def success(
    headers: dict[str, str] | None = None,
    *,
    interval: timedelta | None = None,
    ttl: int | None = None,
    rng: random.Random | None = None,
    settings: ScheduleSettings = S,
) -> timedelta:
    when = next_after_success(
        NOW,
        interval=interval,
        headers=headers or {},
        ttl_seconds=ttl,
        settings=settings,
        rng=rng or random.Random(0),
    )
    return when - NOW


def test_default_interval_with_jitter_between_zero_and_a_quarter() -> None:
    delays = [success(rng=rng) for rng in rngs()]
    assert all(S.default_interval <= d <= S.default_interval * 1.25 for d in delays)
    assert min(delays) < S.default_interval * 1.05  # jitter spans its range …
    assert max(delays) > S.default_interval * 1.20
    assert len(set(delays)) > 100  # … and spreads the feeds


def test_jitter_edges_are_exactly_zero_and_jitter() -> None:
    assert success(rng=ExtremeRandom(high=False)) == S.default_interval
    assert success(rng=ExtremeRandom(high=True)) == S.default_interval * (1 + S.jitter)


def test_with_jitter_never_shortens() -> None:
    for rng in rngs():
        assert HOUR <= with_jitter(HOUR, S, rng) <= HOUR * (1 + S.jitter)


def test_same_seed_same_schedule() -> None:
    assert success(rng=random.Random(42)) == success(rng=random.Random(42))


def test_outlet_interval_replaces_the_default() -> None:
    low = ExtremeRandom(high=False)
    assert success(interval=timedelta(hours=2), rng=low) == timedelta(hours=2)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [(timedelta(seconds=10), S.min_interval), (timedelta(days=3), S.max_interval)],
)
def test_configured_interval_is_clamped(interval: timedelta, expected: timedelta) -> None:
    assert success(interval=interval, rng=ExtremeRandom(high=False)) == expected


def test_a_longer_server_hint_stretches_the_interval() -> None:
    low = ExtremeRandom(high=False)
    assert success({"cache-control": "max-age=7200"}, rng=low) == 2 * HOUR
    assert success(ttl=3 * 3600, rng=low) == 3 * HOUR
    assert success({"expires": "Mon, 20 May 2024 16:00:00 GMT"}, rng=low) == 4 * HOUR


@pytest.mark.parametrize(
    "headers",
    [
        {"cache-control": "max-age=60"},
        {"cache-control": "max-age=0"},
        {"expires": "Mon, 20 May 2024 12:05:00 GMT"},
        {"expires": "Mon, 20 May 2024 11:00:00 GMT"},
    ],
)
def test_a_short_server_hint_never_shortens_the_configured_interval(
    headers: dict[str, str],
) -> None:
    for rng in rngs()[:20]:
        assert success(headers, rng=rng) >= S.default_interval
        assert success(headers, interval=2 * HOUR, rng=rng) >= 2 * HOUR


def test_a_huge_server_hint_is_clamped_to_max_interval_before_jitter() -> None:
    headers = {"cache-control": "max-age=31536000"}  # a year
    assert success(headers, rng=ExtremeRandom(high=False)) == S.max_interval
    for rng in rngs():
        assert success(headers, rng=rng) <= S.max_interval * (1 + S.jitter)


def test_clamp_bounds() -> None:
    assert clamp(timedelta(seconds=1), S) == S.min_interval
    assert clamp(-HOUR, S) == S.min_interval
    assert clamp(HOUR, S) == HOUR
    assert clamp(timedelta(days=9), S) == S.max_interval


# --- errors, backoff, rate limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (0, timedelta(minutes=15)),
        (1, timedelta(minutes=15)),
        (2, timedelta(minutes=30)),
        (3, HOUR),
        (4, 2 * HOUR),
        (7, 16 * HOUR),
        (8, 24 * HOUR),  # 32 h, capped
        (50, 24 * HOUR),
        (10**6, 24 * HOUR),
    ],
)
def test_backoff_doubles_from_the_base_up_to_the_cap(errors: int, expected: timedelta) -> None:
    assert backoff(errors, S) == expected


def error(
    kind: ErrorKind,
    errors: int = 1,
    headers: dict[str, str] | None = None,
    rng: random.Random | None = None,
) -> timedelta:
    when = next_after_error(
        NOW,
        kind=kind,
        error_count=errors,
        headers=headers or {},
        settings=S,
        rng=rng or ExtremeRandom(high=False),
    )
    return when - NOW


@pytest.mark.parametrize("kind", [ErrorKind.TIMEOUT, ErrorKind.HTTP_5XX, ErrorKind.PARSE_ERROR])
def test_plain_errors_wait_the_backoff_with_jitter(kind: ErrorKind) -> None:
    assert error(kind, 3) == HOUR
    assert error(kind, 3, rng=ExtremeRandom(high=True)) == HOUR * (1 + S.jitter)
    # a Retry-After on a plain error does not shorten the backoff
    assert error(kind, 3, {"retry-after": "5"}) == HOUR


def test_rate_limit_honours_retry_after_seconds() -> None:
    assert error(ErrorKind.RATE_LIMITED, 1, {"retry-after": "7200"}) == 2 * HOUR
    # the error count does not matter: the server said when
    assert error(ErrorKind.RATE_LIMITED, 9, {"retry-after": "600"}) == timedelta(minutes=10)


def test_rate_limit_honours_retry_after_date() -> None:
    headers = {"retry-after": "Mon, 20 May 2024 15:00:00 GMT"}
    assert error(ErrorKind.RATE_LIMITED, 1, headers) == 3 * HOUR


@pytest.mark.parametrize("value", [None, "soon", "-1"])
def test_rate_limit_without_a_usable_retry_after_waits_the_default_hour(value: str | None) -> None:
    headers = {} if value is None else {"retry-after": value}
    assert error(ErrorKind.RATE_LIMITED, 1, headers) == S.retry_after_default == HOUR


@pytest.mark.parametrize("value", ["0", "1", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_rate_limit_waits_at_least_the_minimum_interval(value: str) -> None:
    assert error(ErrorKind.RATE_LIMITED, 1, {"retry-after": value}) == S.min_interval


def test_rate_limit_retry_after_beyond_the_cap_is_capped_before_jitter() -> None:
    assert error(ErrorKind.RATE_LIMITED, 1, {"retry-after": str(3 * 86400)}) == S.error_backoff_max


@pytest.mark.parametrize(
    ("kind", "errors", "headers"),
    [
        (ErrorKind.RATE_LIMITED, 1, {"retry-after": str(2 * 86400)}),
        (ErrorKind.HTTP_5XX, 12, {}),
    ],
    ids=["retry-after-48h", "backoff-12-errors"],
)
def test_next_attempt_after_an_error_never_exceeds_the_cap(
    kind: ErrorKind, errors: int, headers: dict[str, str]
) -> None:
    for rng in rngs():
        assert error(kind, errors, headers, rng=rng) <= S.error_backoff_max


def test_rate_limit_with_jitter_never_comes_before_retry_after() -> None:
    for rng in rngs():
        assert error(ErrorKind.RATE_LIMITED, 1, {"retry-after": "900"}, rng=rng) >= 15 * MINUTE


# --- feed state and full refetch ---------------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "state"),
    [
        (0, FeedState.OK),
        (1, FeedState.OK),
        (2, FeedState.OK),
        (3, FeedState.FAILING),
        (99, FeedState.FAILING),
    ],
)
def test_state_is_failing_after_three_errors_in_a_row(errors: int, state: FeedState) -> None:
    assert state_for(errors, S) is state


def test_a_failing_feed_is_still_scheduled() -> None:
    assert state_for(1000, S) is not FeedState.DISABLED
    assert error(ErrorKind.NETWORK_ERROR, 1000) == S.error_backoff_max


@pytest.mark.parametrize(
    ("last_full", "needed"),
    [
        (None, True),
        (NOW, False),
        (NOW - timedelta(hours=11, minutes=59), False),
        (NOW - timedelta(hours=12), True),
        (NOW - timedelta(days=3), True),
    ],
)
def test_full_refetch_every_twelve_hours(last_full: datetime | None, needed: bool) -> None:
    assert needs_full_refetch(last_full, NOW, S) is needed
