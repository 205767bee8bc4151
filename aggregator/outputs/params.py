"""Listing filters shared by the HTTP routes (and reusable by the CLI): parsing and limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.configfile import parse_duration

#: The most clusters one request may ask for; a feed reader never needs more, and this
#: bounds the work a single anonymous request can cause.
MAX_LIMIT = 1000

SINCE_HELP = "a duration such as 7d, 12h, 30m or 2w, 'all', or an ISO date such as 2024-05-01"


class BadParameter(ValueError):
    """A query parameter has a value we cannot use; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True)
class ClusterFilters:
    """What a listing asks the reader for, already validated."""

    since: datetime | None
    outlet: str | None
    min_size: int
    limit: int
    query: str | None
    #: The ``since`` value as given, to show it back (e.g. in a form).
    since_text: str = "all"


def parse_since(text: str, now: datetime) -> datetime | None:
    """Turn "7d" / "12h" / "all" / "2024-05-01" / an ISO datetime into a UTC cut-off.

    Returns None for "all". Raises ValueError with a message saying what is accepted.
    """
    value = text.strip().lower()
    if value in ("all", ""):
        return None
    try:
        duration = parse_duration(value)
    except ValueError:
        return _parse_iso(text.strip())
    try:
        return now.astimezone(UTC) - duration
    except OverflowError:
        raise ValueError(f"{text!r} reaches too far back; use 'all'") from None


def _parse_iso(text: str) -> datetime:
    try:
        # Python 3.11 reads a bare date too (as midnight); no zone means UTC.
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not {SINCE_HELP}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def effective_limit(limit: int | None, default: int) -> int:
    """Return the number of items to list: ``default`` when unset, 0 meaning "as many as
    allowed", and never more than MAX_LIMIT."""
    if limit is None:
        return min(default, MAX_LIMIT)
    if limit < 0:
        raise BadParameter("limit", "must be 0 (as many as allowed) or a positive number")
    if limit == 0:
        return MAX_LIMIT
    return min(limit, MAX_LIMIT)
