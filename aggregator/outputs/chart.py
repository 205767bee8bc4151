"""The coverage chart of one story: outlets × time as inline SVG, with its legend.

Outlets are on the vertical axis (in order of their first article) and time, in UTC, on the
horizontal one. The original is a diamond under a dashed "first report" line; copies are
circles and rewrites hollow squares; each follower is labelled with its lag behind the
original ("+6h08m"); every credit is an arrow from the crediting article to the credited
outlet's article — or, when that outlet has no article in the story, straight to a dashed
row of its own. Tick labels give the time, and the day under the first tick and wherever it
changes.

The chart has no ``viewBox``: it is as wide as the page, horizontal positions are
percentages of that width, and everything else (text, marks, rows) is in CSS pixels, so the
text stays legible from a phone to a wide screen instead of shrinking with the drawing.

Every member gets exactly one element with class ``mark`` (with ``data-article`` and
``data-relation``); every credit arrow is a group with class ``credit`` that says what it
joins in ``data-from`` / ``data-to`` (article ids) or ``data-to-outlet``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.outputs.safety import as_utc, esc, safe_url
from aggregator.outputs.story import chronological, lag_after, member_time, original_of
from aggregator.outputs.timeline import (
    CreditLink,
    Scale,
    credit_links,
    mark_kind,
    mark_shape,
    padded_scale,
    plural,
    tooltip,
)
from aggregator.types import ArticleView, ClusterView

# Geometry, in pixels except the PLOT_* percentages.
PLOT_LEFT = 2.0  # % of the width: where the time axis starts
PLOT_RIGHT = 98.0  # % of the width: where it ends
CHART_TOP = 38  # room above the first row for the "first report" label
ROW_HEIGHT = 58
NAME_BASELINE = 17  # the outlet's name, measured from the top of its row
LINE_OFFSET = 34  # the row's line (and the marks on it), measured from the top of its row
AXIS_HEIGHT = 46  # two lines of tick labels: the time, and the day where it changes
MARK_SIZE = 7.0
#: The arrowhead stops this far from the centre of the mark it points at (just outside it).
ARROW_GAP = 10.0
#: A lag label sits under its mark, this far below the row's line and beside the centre:
#: clear of arrows that leave the mark sideways and of one that goes straight down.
LAG_BELOW = 20
LAG_ASIDE = 4
#: Lag labels end at their mark beyond this share of the plot, so they never leave the chart.
LAG_FLIP_AT = 0.85
#: Two marks of one row closer than this share of the plot: only the first gets a label
#: (about 45 px on a phone, the width of "+6h08m").
LAG_MIN_SHARE = 0.14
#: Credited outlets outside the story get a row each, up to this many (hostile feeds can
#: credit any number of names; the member table still lists them all).
MAX_GHOST_ROWS = 6
#: Outlet names longer than this are cut (with "…") in the chart; the tooltip keeps them whole.
#: About 270 px of 13 px text: the width of a small phone's chart.
MAX_NAME_CHARS = 36

#: Tick steps to choose from, smallest first; the first one giving at most MAX_TICKS wins.
TICK_STEPS = tuple(
    timedelta(minutes=m)
    for m in (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200)
)
MAX_TICKS = 6
#: Tick labels this close to either end of the plot are anchored inward, never cut off.
EDGE_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where things go: the row of each outlet (by name) and the time scale."""

    rows: tuple[str, ...]
    ghosts: frozenset[str]
    scale: Scale

    def line_y(self, outlet: str) -> float:
        return CHART_TOP + self.rows.index(outlet) * ROW_HEIGHT + LINE_OFFSET

    @property
    def plot_bottom(self) -> float:
        return CHART_TOP + len(self.rows) * ROW_HEIGHT

    @property
    def height(self) -> float:
        return self.plot_bottom + AXIS_HEIGHT


def _layout(members: Sequence[ArticleView], credits: Sequence[CreditLink]) -> _Layout:
    rows = list(dict.fromkeys(m.outlet for m in members))
    ghosts = list(dict.fromkeys(f.name for f in credits if f.target is None))[:MAX_GHOST_ROWS]
    scale = padded_scale([member_time(m) for m in members], PLOT_LEFT, PLOT_RIGHT)
    return _Layout(tuple(rows + ghosts), frozenset(ghosts), scale)


def coverage_chart(c: ClusterView) -> str:
    """Return the large SVG timeline of a cluster: outlets × time, lags, credits as arrows."""
    members = chronological(c.members)
    if not members:
        return ""
    credits = credit_links(c, members)
    layout = _layout(members, credits)
    drawn = [f for f in credits if f.target is not None or f.name in layout.ghosts]
    original = original_of(c)
    parts = [
        f'<svg class="chart" width="100%" height="{layout.height:g}" role="img" '
        f'aria-label="{esc(_summary(c, members, layout))}">',
        _defs(),
        *_row_backgrounds(layout),
        *_axis(layout),
        _first_line(c, members, layout),
        *_lag_bars(c, members, layout, original),
        *(_arrow(f, layout) for f in drawn),
        *_member_marks(c, members, layout, original),
        *_row_names(layout),
        *_lag_labels(members, layout, original),
        "</svg>",
    ]
    return "".join(p for p in parts if p)


def _summary(c: ClusterView, members: Sequence[ArticleView], layout: _Layout) -> str:
    outlets = len(layout.rows) - len(layout.ghosts)
    return (
        f"Coverage timeline: {plural(len(members), 'article')} from "
        f"{plural(outlets, 'outlet')}, first reported by {c.first_reporter.outlet}"
    )


def _defs() -> str:
    """The arrowhead and the mark shapes, each centred on (0, 0); a chart appears once per page.

    The arrowhead's reference point lies ARROW_GAP behind its tip, so an arrow drawn to a
    mark's centre stops just outside the mark.
    """
    s, r = MARK_SIZE * 1.35, MARK_SIZE * 0.9
    return (
        "<defs>"
        f'<marker id="tl-arrow" viewBox="0 0 10 10" refX="{10 + ARROW_GAP:g}" refY="5" '
        'markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto">'
        '<path class="arrowhead" d="M0,1 L10,5 L0,9 z"/></marker>'
        f'<path id="tl-original" d="M0,{-s:g} L{s:g},0 L0,{s:g} L{-s:g},0 Z"/>'
        f'<rect id="tl-rewrite" x="{-r:g}" y="{-r:g}" width="{2 * r:g}" height="{2 * r:g}" '
        'rx="1.5"/>'
        f'<circle id="tl-copy" r="{MARK_SIZE:g}"/>'
        f'<path id="tl-other" d="M0,{-MARK_SIZE:g} L{MARK_SIZE:g},{MARK_SIZE * 0.8:g} '
        f'L{-MARK_SIZE:g},{MARK_SIZE * 0.8:g} Z"/>'
        f'<circle id="tl-ghost" r="{MARK_SIZE - 1:g}"/>'
        "</defs>"
    )


def _row_backgrounds(layout: _Layout) -> list[str]:
    """Alternate row bands, and each row's line (dashed for outlets outside the story)."""
    out = []
    for i, name in enumerate(layout.rows):
        top = CHART_TOP + i * ROW_HEIGHT
        if i % 2 == 0:
            out.append(f'<rect class="band" x="0" y="{top}" width="100%" height="{ROW_HEIGHT}"/>')
        css = "row-line ghost" if name in layout.ghosts else "row-line"
        y = top + LINE_OFFSET
        out.append(f'<line class="{css}" x1="{PLOT_LEFT}%" y1="{y}" x2="{PLOT_RIGHT}%" y2="{y}"/>')
    return out


def _ticks(scale: Scale) -> list[datetime]:
    span = scale.end - scale.start
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])
    epoch = datetime(1970, 1, 1, tzinfo=scale.start.tzinfo)
    tick = epoch + math.ceil((scale.start - epoch) / step) * step
    ticks: list[datetime] = []
    while tick <= scale.end and len(ticks) <= MAX_TICKS + 1:
        ticks.append(tick)
        tick += step
    return ticks


def _axis(layout: _Layout) -> list[str]:
    """Grid lines, the time axis, and tick labels in UTC: the time on the first line, the
    day under the first tick and wherever the day changes."""
    bottom = layout.plot_bottom
    out = [f'<line class="axis" x1="{PLOT_LEFT}%" y1="{bottom}" x2="{PLOT_RIGHT}%" y2="{bottom}"/>']
    ticks = _ticks(layout.scale)
    whole_days = len(ticks) > 1 and ticks[1] - ticks[0] >= timedelta(days=1)
    previous_day = None
    for tick in ticks:
        x, share = layout.scale.x(tick), layout.scale.share(tick)
        anchor = "start" if share < EDGE_SHARE else "end" if share > 1 - EDGE_SHARE else "middle"
        utc = as_utc(tick)
        day = f"{utc.day} {utc:%b}"
        first_line, second_line = (day, "") if whole_days else (f"{utc:%H:%M}", day)
        if day == previous_day:
            second_line = ""
        previous_day = day
        out.append(
            f'<line class="grid" x1="{x}%" y1="{CHART_TOP}" x2="{x}%" y2="{bottom + 5}"/>'
            f'<text class="tick" x="{x}%" y="{bottom + 19}" text-anchor="{anchor}">'
            f"{esc(first_line)}</text>"
        )
        if second_line:
            out.append(
                f'<text class="tick day" x="{x}%" y="{bottom + 35}" text-anchor="{anchor}">'
                f"{esc(second_line)}</text>"
            )
    return out


def _first_line(c: ClusterView, members: Sequence[ArticleView], layout: _Layout) -> str:
    """A dashed vertical line at the original, labelled with its time."""
    first = original_of(c) or members[0]
    moment = member_time(first)
    x, share = layout.scale.x(moment), layout.scale.share(moment)
    anchor, dx = ("start", -4) if share < 0.5 else ("end", 4)
    label = f"first report · {moment.day} {moment:%b %H:%M} UTC"
    return (
        f'<g class="first-line"><line x1="{x}%" y1="{CHART_TOP - 12}" x2="{x}%" '
        f'y2="{layout.plot_bottom}"/><text x="{x}%" dx="{dx}" y="{CHART_TOP - 18}" '
        f'text-anchor="{anchor}">{esc(label)}</text></g>'
    )


def _lag_bars(
    c: ClusterView, members: Sequence[ArticleView], layout: _Layout, original: ArticleView | None
) -> list[str]:
    """A faint bar along each follower's row, from the first report to the follower: how far
    behind it was, readable at a glance."""
    if original is None:
        return []
    start = layout.scale.x(member_time(original))
    out = []
    for m in members:
        kind = mark_kind(m, c)
        if kind == "original":
            continue
        x, y = layout.scale.x(member_time(m)), layout.line_y(m.outlet)
        out.append(f'<line class="lag-bar m-{kind}" x1="{start}%" y1="{y}" x2="{x}%" y2="{y}"/>')
    return out


def _arrow(credit: CreditLink, layout: _Layout) -> str:
    """A straight arrow from the crediting article to the credited article, or straight up or
    down to the credited outlet's row (ending in a dashed placeholder) when it is absent."""
    source, target = credit.source, credit.target
    x1, y1 = layout.scale.x(member_time(source)), layout.line_y(source.outlet)
    if target is not None:
        x2, y2 = layout.scale.x(member_time(target)), layout.line_y(target.outlet)
        joins, css, placeholder = f'data-to="{target.id}"', "credit", ""
    else:
        x2, y2 = x1, layout.line_y(credit.name)
        joins, css = f'data-to-outlet="{esc(credit.name)}"', "credit to-absent"
        placeholder = f'<use class="ghost-mark" href="#tl-ghost" x="{x2}%" y="{y2}"/>'
    absent = "" if target is not None else " (not in this story)"
    title = esc(f"{source.outlet} credits {credit.name}{absent}")
    return (
        f'<g class="{css}" data-from="{source.id}" {joins}>'
        f'<line x1="{x1}%" y1="{y1}" x2="{x2}%" y2="{y2}" marker-end="url(#tl-arrow)"/>'
        f"{placeholder}<title>{title}</title></g>"
    )


def _member_marks(
    c: ClusterView, members: Sequence[ArticleView], layout: _Layout, original: ArticleView | None
) -> list[str]:
    out = []
    for m in members:
        kind = mark_kind(m, c)
        x, y = layout.scale.x(member_time(m)), layout.line_y(m.outlet)
        mark = (
            f'<use class="mark m-{kind}" href="#tl-{kind}" x="{x}%" y="{y}" '
            f'data-article="{m.id}" data-relation="{kind}">'
            f"<title>{tooltip(m, lag_after(m, original))}</title></use>"
        )
        url = safe_url(m.url)
        # Clicking a mark opens the article; only vetted http(s) links become links.
        out.append(f'<a href="{esc(url)}">{mark}</a>' if url else mark)
    return out


def _row_names(layout: _Layout) -> list[str]:
    """Each row's outlet name above its line; rows of absent credited outlets say so."""
    out = []
    for i, name in enumerate(layout.rows):
        y = CHART_TOP + i * ROW_HEIGHT + NAME_BASELINE
        short = name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"
        ghost = name in layout.ghosts
        note = '<tspan class="note"> · credited, not in this story</tspan>' if ghost else ""
        out.append(
            f'<text class="name{" ghost" if ghost else ""}" x="{PLOT_LEFT}%" y="{y}">'
            f"<title>{esc(name)}</title>{esc(short)}{note}</text>"
        )
    return out


def _lag_labels(
    members: Sequence[ArticleView], layout: _Layout, original: ArticleView | None
) -> list[str]:
    """Label each follower with its lag behind the original, under its mark."""
    out = []
    last_share: dict[str, float] = {}
    for m in members:
        lag = lag_after(m, original)
        share = layout.scale.share(member_time(m))
        if not lag or share - last_share.get(m.outlet, -1.0) < LAG_MIN_SHARE:
            continue
        last_share[m.outlet] = share
        anchor, dx = ("end", -LAG_ASIDE) if share > LAG_FLIP_AT else ("start", LAG_ASIDE)
        x, y = layout.scale.x(member_time(m)), layout.line_y(m.outlet) + LAG_BELOW
        out.append(
            f'<text class="lag" x="{x}%" dx="{dx}" y="{y}" text-anchor="{anchor}">{esc(lag)}</text>'
        )
    return out


def legend(c: ClusterView) -> str:
    """Return the chart's key as HTML, naming only what the chart of ``c`` shows (HTML
    rather than SVG text, so it wraps on narrow screens)."""
    members = chronological(c.members)
    kinds = {mark_kind(m, c) for m in members}
    credits = credit_links(c, members)
    arrow = '<path class="arrowhead" d="M13,6 L20,10 L13,14 z"/>'
    line = '<line class="credit-key{}" x1="1" y1="10" x2="16" y2="10"/>' + arrow
    entries = [
        (mark_shape(kind, 10, 10, size, css_class=f"m-{kind}", title=""), label)
        for kind, size, label in (
            ("original", 5.5, "original"),
            ("copy", 5.5, "copy"),
            ("rewrite", 6.5, "rewrite"),
            ("other", 6.0, "not labelled"),
        )
        if kind in kinds
    ]
    if any(f.target is not None for f in credits):
        entries.append((line.format(""), "credits"))
    if any(f.target is None for f in credits):
        entries.append((line.format(" to-absent"), "credits an outlet not in this story"))
    items = "".join(
        f'<li><svg class="key" viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">'
        f"{shape}</svg>{label}</li>"
        for shape, label in entries
    )
    return f'<ul class="legend">{items}<li class="utc">times in UTC</li></ul>'
