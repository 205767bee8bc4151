"""HTML pages of the web view: the list of current stories and one story's coverage.

Pages are built from small string helpers; every piece of feed text passes through
``esc`` and every outside link through ``safe_url``. The pages carry no script and load
nothing: the one stylesheet is inline and allowed by its hash (``STYLE_HASH``), which the
web app puts in its Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime

from aggregator.outputs.feed import Channel
from aggregator.outputs.params import ClusterFilters
from aggregator.outputs.safety import esc, human_time, iso_z, safe_url
from aggregator.outputs.story import (
    basis_phrase,
    chronological,
    member_time,
    relation_class,
    relation_label,
    span_text,
)
from aggregator.outputs.timeline import coverage_chart, sparkline
from aggregator.types import ArticleView, ClusterView

STYLESHEET = """
:root{--ink:#1f2430;--muted:#5b6475;--line:#e3e6ec;--bg:#f7f8fa;--card:#fff;
--accent:#b45309;--copy:#64748b;--rewrite:#2563eb;--credit:#7c3aed;--other:#9ca3af;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--ink:#e6e8ee;--muted:#9aa3b5;--line:#2c3240;
--bg:#14171e;--card:#1b1f28;--accent:#f59e0b;--copy:#94a3b8;--rewrite:#60a5fa;
--credit:#a78bfa}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.55;
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--rewrite);text-decoration-thickness:1px;text-underline-offset:2px}
header.site,main,footer.site{max-width:62rem;margin:0 auto;padding:0 1.25rem}
header.site{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;
gap:.5rem 1.5rem;padding-top:1.5rem;padding-bottom:1rem;border-bottom:1px solid var(--line)}
header.site .brand{font-size:1.35rem;font-weight:700;color:var(--ink);text-decoration:none}
header.site p{margin:.15rem 0 0;color:var(--muted);font-size:.9rem}
nav a{margin-left:.9rem;font-size:.9rem}
h1{font-size:1.7rem;line-height:1.25;margin:1.5rem 0 .75rem}
h2{font-size:1.15rem;margin:2rem 0 .75rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin:1.25rem 0}
form.filters input{font:inherit;padding:.4rem .6rem;border:1px solid var(--line);
border-radius:.4rem;background:var(--card);color:var(--ink);min-width:0}
form.filters input[name=q]{flex:1 1 14rem}
form.filters input[name=outlet]{flex:0 1 10rem}
form.filters input[name=min_size]{width:5.5rem}
form.filters button{font:inherit;padding:.4rem 1rem;border-radius:.4rem;border:0;
background:var(--ink);color:var(--bg);cursor:pointer}
.count{color:var(--muted);font-size:.9rem}
ol.stories{list-style:none;padding:0;margin:0}
li.story{background:var(--card);border:1px solid var(--line);border-radius:.6rem;
padding:1rem 1.1rem;margin:0 0 .9rem}
li.story h2{margin:0 0 .3rem;font-size:1.1rem;line-height:1.35}
li.story h2 a{color:var(--ink);text-decoration:none}
li.story h2 a:hover{text-decoration:underline}
.meta{color:var(--muted);font-size:.9rem;margin:0}
.meta strong{color:var(--ink)}
.chips{display:flex;flex-wrap:wrap;gap:.35rem;margin:.6rem 0 .2rem;padding:0;list-style:none}
.chips li{font-size:.8rem;padding:.1rem .55rem;border-radius:1rem;border:1px solid var(--line)}
.chips li.first{border-color:var(--accent);color:var(--accent);font-weight:600}
.spark-row{display:flex;align-items:center;gap:.75rem;flex-wrap:wrap}
svg.spark{width:15rem;max-width:100%;height:auto}
svg.chart{width:100%;height:auto;background:var(--card);border:1px solid var(--line);
border-radius:.6rem}
svg text{fill:var(--muted);font-size:12px;font-family:inherit}
svg .axis{stroke:var(--muted);stroke-width:1}
svg .tick{stroke:var(--line);stroke-width:1}
svg .row line{stroke:var(--line);stroke-width:1}
svg .row text{fill:var(--ink);font-size:13px}
svg .row.ghost text{fill:var(--muted);font-style:italic}
svg .row.ghost line{stroke-dasharray:3 4}
svg .first-line line{stroke:var(--accent);stroke-dasharray:4 3}
svg .first-line text{fill:var(--accent);font-weight:600}
svg .m-original{fill:var(--accent)}
svg .m-copy{fill:var(--copy)}
svg .m-rewrite{fill:var(--card);stroke:var(--rewrite);stroke-width:2.5}
svg .m-other{fill:var(--other)}
svg .credit{fill:none;stroke:var(--credit);stroke-width:1.6}
svg .arrowhead{fill:var(--credit)}
svg .legend text{fill:var(--ink)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.25rem;margin:1rem 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem;background:var(--card)}
th,td{text-align:left;padding:.5rem .65rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.8rem;text-transform:uppercase;
letter-spacing:.03em}
td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
.rel{font-size:.8rem;padding:.05rem .45rem;border-radius:.3rem;white-space:nowrap;
border:1px solid currentColor}
.rel-original{color:var(--accent)}.rel-copy{color:var(--copy)}
.rel-rewrite{color:var(--rewrite)}.rel-other{color:var(--other)}
.empty{padding:2rem;text-align:center;color:var(--muted)}
footer.site{color:var(--muted);font-size:.85rem;padding-top:2rem;padding-bottom:2rem}
@media (max-width:40rem){body{font-size:15px}h1{font-size:1.35rem}nav a{margin:0 .9rem 0 0}}
"""

#: CSP source allowing exactly the stylesheet above (and no other inline style).
STYLE_HASH = "'sha256-{}'".format(
    base64.b64encode(hashlib.sha256(STYLESHEET.encode("utf-8")).digest()).decode("ascii")
)


def layout(title: str, body: str, channel: Channel) -> str:
    """Wrap ``body`` (trusted HTML) in the page shell; ``title`` is plain text."""
    site = esc(channel.title) or "aggregator"
    home = safe_url(channel.link)
    about = f"<p>{esc(channel.description)}</p>" if channel.description else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title>"
        f"{_alternate('rss+xml', site, 'RSS', 'feed.xml')}"
        f"{_alternate('atom+xml', site, 'Atom', 'feed.atom')}"
        f"{_alternate('feed+json', site, 'JSON', 'feed.json')}"
        f"<style>{STYLESHEET}</style></head><body>"
        f'<header class="site"><div><a class="brand" href="/">{site}</a>{about}</div>'
        '<nav><a href="/feed.xml">RSS</a><a href="/feed.atom">Atom</a>'
        '<a href="/feed.json">JSON Feed</a><a href="/openapi.json">API</a></nav></header>'
        f"<main>{body}</main>"
        '<footer class="site">One item per story: copies and rewrites are folded into the '
        "report they came from."
        + (f' <a href="{esc(home)}">{site}</a>' if home else "")
        + "</footer></body></html>"
    )


def _alternate(subtype: str, site: str, label: str, path: str) -> str:
    """A feed autodiscovery link; ``site`` is already escaped."""
    return (
        f'<link rel="alternate" type="application/{subtype}" title="{site} ({label})" '
        f'href="/{path}">'
    )


def render_index(
    clusters: Sequence[ClusterView], *, channel: Channel, filters: ClusterFilters
) -> str:
    """Render the list of stories, each with its first reporter, outlets and a sparkline."""
    noun = "story" if len(clusters) == 1 else "stories"
    items = "".join(_story_card(c) for c in clusters)
    listing = (
        f'<ol class="stories">{items}</ol>'
        if clusters
        else '<p class="empty">No stories match these filters yet.</p>'
    )
    body = (
        f"<h1>Current stories</h1>{_filter_form(filters)}"
        f'<p class="count">{len(clusters)} {noun}, newest activity first.</p>{listing}'
    )
    return layout(f"{channel.title} — stories", body, channel)


def _filter_form(filters: ClusterFilters) -> str:
    return (
        '<form class="filters" method="get" action="/" role="search">'
        f'<input type="search" name="q" value="{esc(filters.query)}" '
        'placeholder="Search titles and text" aria-label="Search">'
        f'<input type="text" name="outlet" value="{esc(filters.outlet)}" '
        'placeholder="Outlet" aria-label="Outlet">'
        f'<input type="number" name="min_size" min="1" value="{filters.min_size}" '
        'aria-label="Minimum articles" title="Minimum articles per story">'
        '<button type="submit">Filter</button></form>'
    )


def _story_card(c: ClusterView) -> str:
    first = c.first_reporter
    chips = "".join(
        f'<li class="first">{esc(o)}</li>' if o == first.outlet else f"<li>{esc(o)}</li>"
        for o in c.outlets
    )
    spark = sparkline(c)
    span = ""
    if len(c.members) > 1:
        times = [member_time(m) for m in c.members]
        span = f'<span class="meta">coverage over {esc(span_text(min(times), max(times)))}</span>'
    elif c.members:
        span = '<span class="meta">a single report so far</span>'
    return (
        f'<li class="story"><h2><a href="/clusters/{c.id}">{esc(c.title)}</a></h2>'
        f'<p class="meta">First reported by <strong>{esc(first.outlet)}</strong> · '
        f"{_time(first.at)} · {c.size} article{'s' if c.size != 1 else ''} · "
        f"{len(c.outlets)} outlet{'s' if len(c.outlets) != 1 else ''} · "
        f"last activity {_time(c.last_seen_at)}</p>"
        f'<ul class="chips" aria-label="Outlets">{chips}</ul>'
        f'<div class="spark-row">{spark}{span}</div></li>'
    )


def _time(moment: datetime) -> str:
    return f'<time datetime="{iso_z(moment)}">{esc(human_time(moment))}</time>'


def render_cluster_page(c: ClusterView, *, channel: Channel) -> str:
    """Render one story: its facts, the coverage timeline and the member table."""
    chart = coverage_chart(c)
    body = (
        '<p><a href="/">← All stories</a></p>'
        f"<h1>{esc(c.title)}</h1>{_facts(c)}"
        + (f"<h2>Coverage timeline</h2>{chart}" if chart else "")
        + f"<h2>Articles</h2>{_member_table(c.members)}"
        f'<p class="meta">Machine-readable: <a href="/api/clusters/{c.id}">JSON</a></p>'
    )
    return layout(f"{c.title} — {channel.title}", body, channel)


def _facts(c: ClusterView) -> str:
    first = c.first_reporter
    url = safe_url(first.url)
    reporter = esc(first.outlet)
    if url:
        reporter = f'<a href="{esc(url)}">{reporter}</a>'
    rows = [
        ("First reported by", f"<strong>{reporter}</strong> at {_time(first.at)}"),
        ("Decided", f"{esc(basis_phrase(first.basis))} (confidence {c.confidence:.0%})"),
        ("Coverage", f"{c.size} articles from {len(c.outlets)} outlets"),
        ("First seen", _time(c.first_seen_at)),
        ("Last activity", _time(c.last_seen_at)),
    ]
    if c.credited_source:
        rows.insert(1, ("Credited source", f"{esc(c.credited_source)} (not tracked)"))
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _member_table(members: Sequence[ArticleView]) -> str:
    if not members:
        return '<p class="empty">No articles are stored for this story.</p>'
    head = (
        "<thead><tr><th>Time</th><th>Outlet</th><th>Relation</th><th>Headline</th>"
        "<th>Similarity</th><th>Credits</th></tr></thead>"
    )
    rows = "".join(_member_row(m) for m in chronological(members))
    return f'<div class="table-wrap"><table>{head}<tbody>{rows}</tbody></table></div>'


def _member_row(a: ArticleView) -> str:
    url = safe_url(a.url)
    headline = esc(a.title) or "(untitled)"
    if url:
        headline = f'<a href="{esc(url)}">{headline}</a>'
    similarity = f"{a.similarity:.2f}" if a.similarity is not None else "—"
    credits = esc(", ".join(a.credits)) or "—"
    return (
        f'<tr><td class="time">{_time(member_time(a))}</td><td>{esc(a.outlet)}</td>'
        f'<td><span class="rel rel-{relation_class(a)}">{esc(relation_label(a))}</span></td>'
        f"<td>{headline}</td><td>{similarity}</td><td>{credits}</td></tr>"
    )


def render_not_found(message: str, *, channel: Channel) -> str:
    """Render a friendly 404 page carrying ``message`` (plain text)."""
    body = f'<h1>Not found</h1><p>{esc(message)}</p><p><a href="/">← All stories</a></p>'
    return layout("Not found", body, channel)
