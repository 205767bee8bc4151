"""Facts about a cluster phrased for people, shared by the feed, the page and the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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
