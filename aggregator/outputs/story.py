"""Facts about a cluster phrased for people, shared by the feed, the page and the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from aggregator.outputs.safety import as_utc, safe_url
from aggregator.types import ArticleView, Basis, ClusterView, Relation

#: How each basis of "first" reads in a sentence ("… first reported by X, …").
BASIS_PHRASES = {
    Basis.PUBLISHED: "by its published time",
    Basis.OBSERVED: "by when we first saw it",
    Basis.CREDIT: "because the others credit it",
}


def member_time(a: ArticleView) -> datetime:
    """Return the time provenance trusts for ``a``: ``at``, else published, else first seen."""
    return as_utc(a.at or a.published_at or a.first_seen_at)


def chronological(members: Iterable[ArticleView]) -> list[ArticleView]:
    """Return ``members`` oldest first; ties keep the original before the others, then by id."""
    return sorted(members, key=lambda a: (member_time(a), a.relation != Relation.ORIGINAL, a.id))


def original_of(c: ClusterView) -> ArticleView | None:
    """Return the member the cluster counts as its original (the first reporter's article).

    Falls back to a member labelled ``original``, then to the earliest member, so a
    cluster whose first reporter is missing from its members still has a reference point.
    """
    members = chronological(c.members)
    by_id = next((m for m in members if m.id == c.first_reporter.article_id), None)
    labelled = next((m for m in members if m.relation == Relation.ORIGINAL), None)
    return by_id or labelled or (members[0] if members else None)


def lag_text(delta: timedelta) -> str:
    """Say how long after the original an article came: "+40m", "+6h08m", "+2d03h".

    Compact on purpose: it labels marks on a chart and chips in a list. An article dated
    before the original (its publisher's clock, or an original decided by credit) gets a
    minus sign.
    """
    signed = int(delta.total_seconds() / 60)  # toward zero: 59 s either way is "+0m"
    sign, minutes = ("\u2212", -signed) if signed < 0 else ("+", signed)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days}d{hours:02d}h"
    if hours:
        return f"{sign}{hours}h{mins:02d}m"
    return f"{sign}{mins}m"


def lag_after(a: ArticleView, original: ArticleView | None) -> str:
    """Return ``a``'s lag behind ``original`` as ``lag_text``; empty for the original itself."""
    if original is None or a.id == original.id:
        return ""
    return lag_text(member_time(a) - member_time(original))


def relation_label(a: ArticleView) -> str:
    """Say what ``a`` is in its cluster: "original", "copy", "rewrite crediting Politico"."""
    label = a.relation.value if a.relation is not None else "related"
    if a.credits_outlet and a.relation != Relation.ORIGINAL:
        return f"{label} crediting {a.credits_outlet}"
    return label


def relation_class(a: ArticleView) -> str:
    """Return the CSS class suffix for ``a``'s relation ("original", "copy", "rewrite", "other")."""
    return a.relation.value if a.relation is not None else "other"


def basis_phrase(basis: Basis) -> str:
    """Return how a cluster's first reporter was decided, as a phrase."""
    return BASIS_PHRASES.get(basis, basis.value)


def item_link(c: ClusterView, fallback: str) -> str:
    """Return the first reporter's article URL when it is http(s), else ``fallback``."""
    return safe_url(c.first_reporter.url) or fallback


def span_text(start: datetime, end: datetime) -> str:
    """Return a short duration such as "3 h 20 min" or "2 d 4 h" between two times."""
    minutes = max(0, int((as_utc(end) - as_utc(start)).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"
