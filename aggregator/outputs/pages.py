"""HTML pages of the web view: the list of current stories and one story's coverage.

Pages are built from small string helpers; every piece of feed text passes through
``esc`` and every outside link through ``safe_url``. The pages carry no script and load
nothing: the one stylesheet (``style.STYLESHEET``) is inline and allowed by its hash
(``STYLE_HASH``), which the web app puts in its Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aggregator.outputs.chart import coverage_chart, legend
from aggregator.outputs.feed import Channel
from aggregator.outputs.params import ClusterFilters
from aggregator.outputs.safety import esc, human_time, iso_z, safe_url
from aggregator.outputs.story import (
    basis_phrase,
    chronological,
    lag_after,
    lag_text,
    member_time,
    original_of,
    relation_class,
    relation_label,
    span_text,
)
from aggregator.outputs.style import STYLESHEET
from aggregator.outputs.timeline import mark_shape, sparkline
from aggregator.types import ArticleView, ClusterView

__all__ = ["layout", "render_cluster_page", "render_index", "render_not_found"]

#: The site's mark: the chart's three shapes (original, rewrite, copy) in a row.
LOGO = (
    '<svg width="34" height="18" viewBox="0 0 34 18" aria-hidden="true">'
    + mark_shape("original", 7, 9, 5, css_class="m-original", title="")
    + mark_shape("rewrite", 18, 9, 4.7, css_class="m-rewrite", title="")
    + mark_shape("copy", 28.5, 9, 4, css_class="m-copy", title="")
    + "</svg>"
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
        f'<header class="site"><div><a class="brand" href="/">{LOGO}{site}</a>{about}</div>'
        '<nav aria-label="Feeds and API"><a href="/feed.xml">RSS</a>'
        '<a href="/feed.atom">Atom</a><a href="/feed.json">JSON Feed</a>'
        '<a href="/openapi.json">API</a></nav></header>'
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


def _time(moment: datetime) -> str:
    return f'<time datetime="{iso_z(moment)}">{esc(human_time(moment))}</time>'


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- the list of stories ---------------------------------------------------------------------


def render_index(
    clusters: Sequence[ClusterView], *, channel: Channel, filters: ClusterFilters
) -> str:
    """Render the list of stories, each with its first reporter, outlets and a sparkline."""
    noun = "story" if len(clusters) == 1 else "stories"
    shared = sum(1 for c in clusters if len(c.outlets) > 1)
    carried = f" · {shared} carried by more than one outlet" if shared else ""
    items = "".join(_story_card(c) for c in clusters)
    listing = (
        f'<ol class="stories">{items}</ol>'
        if clusters
        else '<p class="empty">No stories match these filters yet.</p>'
    )
    body = (
        f"<h1>Current stories</h1>{_filter_form(filters)}"
        f'<p class="count">{len(clusters)} {noun}, newest activity first{carried}.</p>{listing}'
    )
    return layout(f"{channel.title} — stories", body, channel)


def _filter_form(filters: ClusterFilters) -> str:
    filtered = filters.query or filters.outlet or filters.min_size > 1
    clear = '<a class="clear" href="/">Clear</a>' if filtered else ""
    return (
        '<form class="filters" method="get" action="/" role="search">'
        '<label class="q">Search<input type="search" name="q" '
        f'value="{esc(filters.query)}" placeholder="Words in titles and text"></label>'
        '<label class="outlet">Outlet<input type="text" name="outlet" '
        f'value="{esc(filters.outlet)}" placeholder="Any outlet"></label>'
        '<label class="size">Min. articles<input type="number" name="min_size" min="1" '
        f'value="{filters.min_size}"></label>'
        f'<div class="actions"><button type="submit">Filter</button>{clear}</div></form>'
    )


def _story_card(c: ClusterView) -> str:
    first = c.first_reporter
    spread = ""
    if len(c.members) > 1:
        times = [member_time(m) for m in c.members]
        spread = f"spread over {span_text(min(times), max(times))}"
    elif c.members:
        spread = "a single report so far"
    multi = len(c.outlets) > 1
    return (
        f'<li class="story{" multi" if multi else ""}">'
        f'<h2><a href="/clusters/{c.id}">{esc(c.title) or "(untitled)"}</a></h2>'
        f'<p class="meta">First reported by <strong>{esc(first.outlet)}</strong> · '
        f"{_time(first.at)} · {_count(c.size, 'article')} from {_count(len(c.outlets), 'outlet')}"
        f"</p>{_chips(c) if multi else ''}"
        f'<div class="story-spark">{sparkline(c)}<span class="meta">{spread}'
        f"<br>last activity {_time(c.last_seen_at)}</span></div></li>"
    )


def _chips(c: ClusterView) -> str:
    """One chip per outlet, coloured by its earliest article's relation, with its lag."""
    if not c.members:
        chips = "".join(
            f'<li class="rel-original">{esc(o)}</li>'
            if o == c.first_reporter.outlet
            else f"<li>{esc(o)}</li>"
            for o in c.outlets
        )
        return f'<ul class="chips" aria-label="Outlets">{chips}</ul>'
    original = original_of(c)
    earliest: dict[str, ArticleView] = {}
    for m in chronological(c.members):
        earliest.setdefault(m.outlet, m)
    if original is not None:
        earliest[original.outlet] = original
    chips = ""
    for outlet, m in earliest.items():
        kind = "original" if original is not None and m.id == original.id else relation_class(m)
        lag = lag_after(m, original)
        lag_html = f'<span class="lag">{esc(lag)}</span>' if lag else ""
        chips += (
            f'<li class="rel-{kind}" title="{esc(relation_label(m))}">{esc(outlet)}{lag_html}</li>'
        )
    return f'<ul class="chips" aria-label="Outlets">{chips}</ul>'


# --- one story -------------------------------------------------------------------------------


def render_cluster_page(c: ClusterView, *, channel: Channel) -> str:
    """Render one story: who was first and how sure, the coverage timeline, the articles."""
    chart = coverage_chart(c)
    figure = (
        f'<h2>Coverage timeline</h2><figure class="timeline">{chart}'
        f"<figcaption>{legend(c)}</figcaption></figure>"
        if chart
        else ""
    )
    body = (
        '<p class="back"><a href="/">← All stories</a></p>'
        f"<h1>{esc(c.title) or '(untitled story)'}</h1>{_summary(c)}{figure}"
        f"<h2>Articles</h2>{_member_table(c)}"
        f'<p class="meta machine">First seen here {_time(c.first_seen_at)} · last activity '
        f'{_time(c.last_seen_at)} · machine-readable: <a href="/api/clusters/{c.id}">JSON</a>'
        "</p>"
    )
    return layout(f"{c.title} — {channel.title}", body, channel)


def _summary(c: ClusterView) -> str:
    """The first reporter (with how it was decided and how sure), and three numbers."""
    first = c.first_reporter
    url = safe_url(first.url)
    reporter = esc(first.outlet)
    if url:
        reporter = f'<a href="{esc(url)}">{reporter}</a>'
    credited = ""
    if c.credited_source:
        credited = (
            f'<p class="credited">Credited source: <strong>{esc(c.credited_source)}</strong>'
            " — named by the earliest article; not a tracked outlet.</p>"
        )
    confidence = max(0.0, min(1.0, c.confidence))
    times = [member_time(m) for m in c.members] or [first.at]
    return (
        '<section class="summary" aria-label="Summary"><div class="first-box">'
        f'<span class="label">First reported by</span><strong class="who">{reporter}</strong>'
        f"<p>{_time(first.at)}</p>"
        f'<p class="confidence">Decided {esc(basis_phrase(first.basis))} · confidence '
        f'{confidence:.0%} <meter min="0" max="1" low="0.5" high="0.8" optimum="1" '
        f'value="{confidence:.2f}" aria-label="Confidence"></meter></p>{credited}</div>'
        '<dl class="stats">'
        f"<div><dt>Articles</dt><dd>{c.size}</dd></div>"
        f"<div><dt>Outlets</dt><dd>{len(c.outlets)}</dd></div>"
        f"<div><dt>Spread</dt><dd>{esc(lag_text(max(times) - min(times))[1:])}</dd></div>"
        "</dl></section>"
    )


def _member_table(c: ClusterView) -> str:
    if not c.members:
        return '<p class="empty">No articles are stored for this story.</p>'
    head = (
        "<thead><tr><th>Time</th><th>Outlet</th><th>Relation</th><th>Headline</th>"
        "<th>Similarity</th><th>Credits</th></tr></thead>"
    )
    original = original_of(c)
    rows = "".join(_member_row(m, original) for m in chronological(c.members))
    return f'<div class="table-wrap"><table>{head}<tbody>{rows}</tbody></table></div>'


def _member_row(a: ArticleView, original: ArticleView | None) -> str:
    url = safe_url(a.url)
    headline = esc(a.title) or "(untitled)"
    if url:
        headline = f'<a href="{esc(url)}">{headline}</a>'
    similarity = f"{a.similarity:.2f}" if a.similarity is not None else "—"
    credits = esc(", ".join(a.credits)) or "—"
    lag = lag_after(a, original)
    lag_html = f'<span class="lag">{esc(lag)}</span>' if lag else ""
    return (
        f'<tr><td class="time" data-label="Time">{_time(member_time(a))}{lag_html}</td>'
        f'<td class="outlet" data-label="Outlet">{esc(a.outlet)}</td>'
        f'<td data-label="Relation">{_relation(a)}</td>'
        f'<td data-label="Headline">{headline}</td>'
        f'<td class="num" data-label="Similarity">{similarity}</td>'
        f'<td data-label="Credits">{credits}</td></tr>'
    )


def _relation(a: ArticleView) -> str:
    """The relation as a coloured badge, followed by whom it credits ("crediting Politico")."""
    kind = relation_class(a)
    word = a.relation.value if a.relation is not None else "related"
    label = relation_label(a)
    rest = label[len(word) :].strip() if label.startswith(word) else ""
    via = f' <span class="via">{esc(rest)}</span>' if rest else ""
    return f'<span class="rel rel-{kind}">{esc(word)}</span>{via}'


def render_not_found(message: str, *, channel: Channel) -> str:
    """Render a friendly 404 page carrying ``message`` (plain text)."""
    body = (
        f'<h1>Not found</h1><p>{esc(message)}</p><p class="back"><a href="/">← All stories</a></p>'
    )
    return layout("Not found", body, channel)
