"""Coverage timelines as inline SVG: who published a story when, and who credits whom.

Two drawings of the same data. ``sparkline`` is a one-line strip for the cluster list;
``coverage_chart`` puts outlets on the vertical axis and time on the horizontal one, marks
the original, draws copies and rewrites with different shapes, and arrows from each
crediting article to the outlet it credits. Every member gets exactly one element with
class ``mark``; the styling lives in the page's stylesheet (classes only, no ``style``
attributes, so the page's Content-Security-Policy can forbid inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.outputs.safety import as_utc, esc, human_time, safe_url
from aggregator.outputs.story import chronological, member_time, relation_class, relation_label
from aggregator.types import ArticleView, ClusterView, Relation

# Geometry of the large chart, in SVG user units (the SVG scales to the page width).
CHART_WIDTH = 800
LABEL_GUTTER = 180  # room for outlet names left of the plot
RIGHT_PAD = 28
TOP_PAD = 34  # room for the "first report" label
ROW_HEIGHT = 34
AXIS_SPACE = 34  # tick labels under the plot
LEGEND_SPACE = 34
MARK_SIZE = 7.0
MAX_LABEL_CHARS = 21
MAX_BEND = 22.0  # how far a credit arrow may curve away from the straight line

# Geometry of the sparkline.
SPARK_WIDTH = 240
SPARK_HEIGHT = 36
SPARK_PAD = 9
SPARK_SIZE = 4.5

#: Tick steps to choose from, smallest first; the first one giving at most MAX_TICKS wins.
TICK_STEPS = tuple(
    timedelta(minutes=m)
    for m in (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200)
)
MAX_TICKS = 6
#: A cluster seen within one minute would collapse to a point; show at least this span.
MIN_SPAN = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class _Scale:
    """Maps times onto [left, right]."""

    start: datetime
    end: datetime
    left: float
    right: float

    def x(self, moment: datetime) -> float:
        total = (self.end - self.start).total_seconds() or 1.0
        share = (as_utc(moment) - self.start).total_seconds() / total
        return round(self.left + share * (self.right - self.left), 1)


def _padded_scale(times: Sequence[datetime], left: float, right: float) -> _Scale:
    """Return a scale covering ``times`` with a little air at both ends."""
    start, end = min(times), max(times)
    if end - start < MIN_SPAN:
        middle = start + (end - start) / 2
        start, end = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    air = (end - start) * 0.05
    return _Scale(start - air, end + air, left, right)


def mark_shape(kind: str, x: float, y: float, size: float, *, css_class: str, title: str) -> str:
    """Return one SVG shape: a diamond for the original, a square for a rewrite, a circle
    for a copy, a triangle otherwise; ``title`` becomes its tooltip (already escaped)."""
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _kind(a: ArticleView, c: ClusterView) -> str:
    """Mark kind of a member; the first reporter is the original even if unlabelled."""
    if a.id == c.first_reporter.article_id or a.relation == Relation.ORIGINAL:
        return "original"
    return relation_class(a)


def _tooltip(a: ArticleView) -> str:
    return esc(f"{a.outlet} — {relation_label(a)} — {human_time(member_time(a))}")


def sparkline(c: ClusterView) -> str:
    """Return a small SVG strip with one mark per member along the time axis."""
    members = chronological(c.members)
    if not members:
        return ""
    scale = _padded_scale([member_time(m) for m in members], SPARK_PAD, SPARK_WIDTH - SPARK_PAD)
    middle = SPARK_HEIGHT / 2
    parts = [
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" '
        f'aria-label="Coverage timeline of {_plural(len(members), "article")}">',
        f'<line class="axis" x1="{SPARK_PAD}" y1="{middle}" '
        f'x2="{SPARK_WIDTH - SPARK_PAD}" y2="{middle}"/>',
    ]
    last_x, level = -math.inf, 0
    for m in members:
        x = scale.x(member_time(m))
        # Stagger marks that would sit on top of each other so each stays visible.
        level = (level + 1) % 3 if x - last_x < SPARK_SIZE * 2 else 0
        last_x = x
        y = middle + (0, -8, 8)[level]
        kind = _kind(m, c)
        parts.append(
            mark_shape(kind, x, y, SPARK_SIZE, css_class=f"mark m-{kind}", title=_tooltip(m))
        )
    parts.append("</svg>")
    return "".join(parts)


def _rows(c: ClusterView, members: Sequence[ArticleView]) -> tuple[list[str], set[str]]:
    """Return the outlet rows (first appearance order) and the credited-but-absent outlets."""
    rows = list(dict.fromkeys(m.outlet for m in members))
    credited = [m.credits_outlet for m in members if m.credits_outlet]
    if c.credited_source:
        credited.append(c.credited_source)
    ghosts = {name for name in credited if name not in rows}
    rows.extend(sorted(ghosts))
    return rows, ghosts


def coverage_chart(c: ClusterView) -> str:
    """Return the large SVG timeline of a cluster: outlets × time, credits as arrows, legend."""
    members = chronological(c.members)
    if not members:
        return ""
    rows, ghosts = _rows(c, members)
    plot_bottom = TOP_PAD + len(rows) * ROW_HEIGHT
    height = plot_bottom + AXIS_SPACE + LEGEND_SPACE
    scale = _padded_scale(
        [member_time(m) for m in members], LABEL_GUTTER + 12, CHART_WIDTH - RIGHT_PAD
    )
    row_y = {name: TOP_PAD + (i + 0.5) * ROW_HEIGHT for i, name in enumerate(rows)}
    parts = [
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {height}" role="img" '
        f'aria-label="Coverage timeline of {_plural(len(members), "article")} in '
        f'{_plural(len(rows), "outlet")}">',
        _defs(),
        *_row_guides(rows, ghosts, row_y),
        *_axis(scale, plot_bottom),
        _first_line(c, members, scale, plot_bottom),
        *_credit_arrows(members, scale, row_y),
        *_member_marks(c, members, scale, row_y),
        _legend(height - LEGEND_SPACE / 2),
        "</svg>",
    ]
    return "".join(p for p in parts if p)


def _defs() -> str:
    # One arrowhead shared by every credit arrow; a chart appears once per page.
    return (
        '<defs><marker id="credit-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path class="arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    )


def _row_guides(rows: Sequence[str], ghosts: set[str], row_y: dict[str, float]) -> list[str]:
    out = []
    for name in rows:
        y = row_y[name]
        label = name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"
        ghost = name in ghosts
        css = "row ghost" if ghost else "row"
        note = " (credited, not in this cluster)" if ghost else ""
        out.append(
            f'<g class="{css}"><title>{esc(name + note)}</title>'
            f'<line x1="{LABEL_GUTTER}" y1="{y}" x2="{CHART_WIDTH - RIGHT_PAD}" y2="{y}"/>'
            f'<text x="{LABEL_GUTTER - 10}" y="{y + 4}" text-anchor="end">{esc(label)}</text></g>'
        )
    return out


def _ticks(scale: _Scale) -> list[datetime]:
    span = scale.end - scale.start
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])
    epoch = datetime(1970, 1, 1, tzinfo=scale.start.tzinfo)
    first = epoch + math.ceil((scale.start - epoch) / step) * step
    ticks: list[datetime] = []
    while first <= scale.end and len(ticks) <= MAX_TICKS + 1:
        ticks.append(first)
        first += step
    return ticks


def _axis(scale: _Scale, plot_bottom: float) -> list[str]:
    out = [
        f'<line class="axis" x1="{scale.left}" y1="{plot_bottom}" '
        f'x2="{scale.right}" y2="{plot_bottom}"/>'
    ]
    previous_day = None
    for tick in _ticks(scale):
        x = scale.x(tick)
        utc = as_utc(tick)
        # Name the day on the first tick and whenever it changes; hours otherwise.
        day = utc.strftime("%b %d")
        label = utc.strftime("%H:%M") if day == previous_day else f"{day} {utc:%H:%M}"
        if utc.hour == 0 and utc.minute == 0:
            label = day
        previous_day = day
        out.append(
            f'<line class="tick" x1="{x}" y1="{TOP_PAD}" x2="{x}" y2="{plot_bottom + 4}"/>'
            f'<text class="tick-label" x="{x}" y="{plot_bottom + 20}" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    return out


def _first_line(
    c: ClusterView, members: Sequence[ArticleView], scale: _Scale, plot_bottom: float
) -> str:
    first = next((m for m in members if _kind(m, c) == "original"), members[0])
    x = scale.x(member_time(first))
    return (
        f'<g class="first-line"><line x1="{x}" y1="{TOP_PAD - 8}" x2="{x}" y2="{plot_bottom}"/>'
        f'<text x="{x}" y="{TOP_PAD - 14}" text-anchor="middle">first report</text></g>'
    )


def _credit_arrows(
    members: Sequence[ArticleView], scale: _Scale, row_y: dict[str, float]
) -> list[str]:
    """Arrows from each crediting article to the earliest article of the outlet it credits,
    or to the start of that outlet's row when the outlet is not in the cluster."""
    earliest: dict[str, ArticleView] = {}
    for m in members:
        earliest.setdefault(m.outlet, m)
    out = []
    for m in members:
        target_name = m.credits_outlet
        if not target_name or target_name == m.outlet or target_name not in row_y:
            continue
        x1, y1 = scale.x(member_time(m)), row_y[m.outlet]
        target = earliest.get(target_name)
        x2 = scale.x(member_time(target)) if target else scale.left
        out.append(_arrow(x1, y1, x2, row_y[target_name], f"{m.outlet} credits {target_name}"))
    return out


def _arrow(x1: float, y1: float, x2: float, y2: float, title: str) -> str:
    """A gently curved arrow that starts and stops just outside the two marks."""
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    gap = MARK_SIZE + 3
    sx, sy = x1 + dx / length * gap, y1 + dy / length * gap
    ex, ey = x2 - dx / length * gap, y2 - dy / length * gap
    # Bend sideways a little, so arrows between the same rows stay apart, but never so far
    # that a long arrow leaves the plot.
    bend = min(length / 5, MAX_BEND) / length
    cx, cy = (sx + ex) / 2 - dy * bend, (sy + ey) / 2 + dx * bend
    return (
        f'<path class="credit" d="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" '
        f'marker-end="url(#credit-arrow)"><title>{esc(title)}</title></path>'
    )


def _member_marks(
    c: ClusterView, members: Sequence[ArticleView], scale: _Scale, row_y: dict[str, float]
) -> list[str]:
    out = []
    for m in members:
        kind = _kind(m, c)
        x, y = scale.x(member_time(m)), row_y[m.outlet]
        shape = mark_shape(kind, x, y, MARK_SIZE, css_class=f"mark m-{kind}", title=_tooltip(m))
        url = safe_url(m.url)
        # Clicking a mark opens the article; only vetted http(s) links become links.
        out.append(f'<a href="{esc(url)}">{shape}</a>' if url else shape)
    return out


def _legend(y: float) -> str:
    entries = (("original", "original"), ("copy", "copy"), ("rewrite", "rewrite"))
    parts = ['<g class="legend">']
    x = float(LABEL_GUTTER)
    for kind, label in entries:
        parts.append(
            mark_shape(kind, x, y, MARK_SIZE * 0.8, css_class=f"legend-mark m-{kind}", title="")
        )
        parts.append(f'<text x="{x + 12}" y="{y + 4}">{label}</text>')
        x += 110
    parts.append(
        f'<path class="credit" d="M{x - 8},{y} L{x + 24},{y}" marker-end="url(#credit-arrow)"/>'
        f'<text x="{x + 32}" y="{y + 4}">credits</text></g>'
    )
    return "".join(parts)
