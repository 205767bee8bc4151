"""Coverage timelines as inline SVG: the pieces both drawings share, and the sparkline.

``sparkline`` is a small strip with one mark per article for the list of stories;
``chart.coverage_chart`` is the large drawing on a story's page. Both place articles on a
time scale (``Scale``), shape each mark by what the article is (``mark_kind``: a diamond for
the original, a square for a rewrite, a circle for a copy) and read credits the same way
(``credit_links``). Styling lives in the page's stylesheet: classes only, no ``style``
attributes, so the Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.outputs.safety import as_utc, esc, human_time
from aggregator.outputs.story import (
    chronological,
    lag_after,
    member_time,
    original_of,
    relation_class,
    relation_label,
)
from aggregator.types import ArticleView, ClusterView, Relation

# Geometry of the sparkline (a small fixed drawing that carries no text, so it may scale).
SPARK_WIDTH = 240
SPARK_HEIGHT = 36
SPARK_PAD = 9
SPARK_SIZE = 4.5

#: A cluster seen within one minute would collapse to a point; show at least this span.
MIN_SPAN = timedelta(minutes=30)
#: Air left at each end of a time scale, as a share of the span, so no mark sits on an edge.
SCALE_AIR = 0.05


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps times onto [left, right] (SVG units for the sparkline, percent for the chart)."""

    start: datetime
    end: datetime
    left: float
    right: float

    def x(self, moment: datetime) -> float:
        """Position of ``moment`` on the scale."""
        return round(self.left + self.share(moment) * (self.right - self.left), 2)

    def share(self, moment: datetime) -> float:
        """How far along the scale ``moment`` lies, 0 at the start and 1 at the end."""
        total = (self.end - self.start).total_seconds() or 1.0
        return (as_utc(moment) - self.start).total_seconds() / total


def padded_scale(times: Sequence[datetime], left: float, right: float) -> Scale:
    """Return a scale covering ``times`` with a little air at both ends."""
    start, end = min(times), max(times)
    if end - start < MIN_SPAN:
        middle = start + (end - start) / 2
        start, end = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    air = (end - start) * SCALE_AIR
    return Scale(start - air, end + air, left, right)


def mark_kind(a: ArticleView, c: ClusterView) -> str:
    """Mark kind of a member; the first reporter is the original even if unlabelled."""
    if a.id == c.first_reporter.article_id or a.relation == Relation.ORIGINAL:
        return "original"
    return relation_class(a)


def plural(count: int, noun: str) -> str:
    """Return "1 article" or "3 articles"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def tooltip(a: ArticleView, lag: str) -> str:
    """Return the escaped hover text of ``a``'s mark: outlet, relation, time and lag."""
    after = f" ({lag} after the original)" if lag else ""
    return esc(f"{a.outlet} — {relation_label(a)} — {human_time(member_time(a))}{after}")


@dataclass(frozen=True, slots=True)
class CreditLink:
    """One credit to draw: ``source`` credits ``name``, whose earliest article is ``target``
    (None when that outlet has no article in the story)."""

    source: ArticleView
    name: str
    target: ArticleView | None


def credit_links(c: ClusterView, members: Sequence[ArticleView]) -> list[CreditLink]:
    """Every credit of every member, its "via X" first; the cluster's credited source too."""
    earliest: dict[str, ArticleView] = {}
    for m in members:
        earliest.setdefault(m.outlet, m)
    found: list[CreditLink] = []
    for m in members:
        for name in dict.fromkeys(n for n in (m.credits_outlet, *m.credits) if n):
            if name != m.outlet:
                found.append(CreditLink(m, name, earliest.get(name)))
    first = original_of(c)
    source = c.credited_source
    if first and source and not any(f.source is first and f.name == source for f in found):
        found.append(CreditLink(first, source, earliest.get(source)))
    return found


# --- sparkline -------------------------------------------------------------------------------


def mark_shape(kind: str, x: float, y: float, size: float, *, css_class: str, title: str) -> str:
    """Return one SVG shape in absolute units: a diamond for the original, a square for a
    rewrite, a circle for a copy, a triangle otherwise; ``title`` (escaped) is its tooltip."""
    tip = f"<title>{title}</title>" if title else ""
    if kind == "original":
        s = size * 1.35
        points = _points((x, y - s), (x + s, y), (x, y + s), (x - s, y))
        return f'<polygon class="{css_class}" points="{points}">{tip}</polygon>'
    if kind == "rewrite":
        s = size * 0.85
        return (
            f'<rect class="{css_class}" x="{x - s:.1f}" y="{y - s:.1f}" '
            f'width="{2 * s:.1f}" height="{2 * s:.1f}">{tip}</rect>'
        )
    if kind == "copy":
        return (
            f'<circle class="{css_class}" cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}">{tip}</circle>'
        )
    points = _points((x, y - size), (x + size, y + size * 0.8), (x - size, y + size * 0.8))
    return f'<polygon class="{css_class}" points="{points}">{tip}</polygon>'


def _points(*corners: tuple[float, float]) -> str:
    return " ".join(f"{px:.1f},{py:.1f}" for px, py in corners)


def sparkline(c: ClusterView) -> str:
    """Return a small SVG strip with one mark per member along the time axis."""
    members = chronological(c.members)
    if not members:
        return ""
    scale = padded_scale([member_time(m) for m in members], SPARK_PAD, SPARK_WIDTH - SPARK_PAD)
    middle = SPARK_HEIGHT / 2
    original = original_of(c)
    parts = [
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" '
        f'aria-label="Coverage timeline of {plural(len(members), "article")}">',
        f'<line class="axis" x1="{SPARK_PAD}" y1="{middle}" '
        f'x2="{SPARK_WIDTH - SPARK_PAD}" y2="{middle}"/>',
    ]
    if len(members) > 1:  # the stretch the story took to spread, from first to last report
        first, last = scale.x(member_time(members[0])), scale.x(member_time(members[-1]))
        parts.append(f'<line class="spread" x1="{first}" y1="{middle}" x2="{last}" y2="{middle}"/>')
    last_x, level = -math.inf, 0
    for m in members:
        x = scale.x(member_time(m))
        # Stagger marks that would sit on top of each other so each stays visible.
        level = (level + 1) % 3 if x - last_x < SPARK_SIZE * 2 else 0
        last_x = x
        kind = mark_kind(m, c)
        tip = tooltip(m, lag_after(m, original))
        y = middle + (0, -8, 8)[level]
        parts.append(mark_shape(kind, x, y, SPARK_SIZE, css_class=f"mark m-{kind}", title=tip))
    parts.append("</svg>")
    return "".join(parts)
