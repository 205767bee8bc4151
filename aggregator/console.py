"""Readable terminal output for the CLI (rich tables); ``--json`` output lives in serialize."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table
from rich.text import Text

from aggregator.explain import Explanation
from aggregator.types import ArticleView, ClusterView, FeedStatusView, OutletStatsView, Relation


def when(moment: datetime | None) -> str:
    """A compact UTC timestamp for tables."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def lag(delta: timedelta) -> str:
    """A human lag like "+2h05m", "+3d4h", "±0"."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "±0"
    sign = "+" if seconds > 0 else "−"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d{hours}h"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    return f"{sign}{minutes}m"


def relation_label(article: ArticleView) -> str:
    """ "original", "copy", "rewrite crediting Politico"."""
    if article.relation is None:
        return "—"
    if article.relation is Relation.REWRITE and article.credits_outlet:
        return f"rewrite crediting {article.credits_outlet}"
    return article.relation.value


def clusters_table(clusters: Sequence[ClusterView]) -> Table:
    table = Table(title=f"{len(clusters)} story clusters", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("size", justify="right")
    table.add_column("first reporter")
    table.add_column("basis")
    table.add_column("title", overflow="fold", max_width=60)
    table.add_column("outlets", overflow="fold", max_width=40)
    table.add_column("last seen (UTC)")
    for c in clusters:
        table.add_row(
            str(c.id),
            str(c.size),
            c.first_reporter.outlet,
            c.first_reporter.basis.value,
            c.title,
            ", ".join(c.outlets),
            when(c.last_seen_at),
        )
    return table


def cluster_detail(console: Console, c: ClusterView) -> None:
    """A cluster's header and its timeline: one block per member, readable at any width."""
    first = c.first_reporter
    console.print(Text.assemble((f"#{c.id} ", "bold"), (c.title, "bold")))
    console.print(
        Text.assemble(
            "first reporter: ",
            (first.outlet, "bold"),
            f" at {when(first.at)} UTC (basis: {first.basis.value}, confidence {c.confidence:.2f})",
        )
    )
    if c.credited_source:
        console.print(Text.assemble("credited source: ", c.credited_source))
    for m in c.members:
        at = m.at or m.first_seen_at
        shown = m.similarity is not None and m.relation is not Relation.ORIGINAL
        similarity = f"  similarity {m.similarity:.2f}" if shown else ""
        console.print(
            Text.assemble(
                f"  {when(at)}  {lag(at - first.at):>7}  ",
                (m.outlet, "bold"),
                "  ",
                (relation_label(m), "cyan"),
                similarity,
            )
        )
        credits = f"  credits: {', '.join(m.credits)}" if m.credits else ""
        console.print(Text(f"      [{m.id}] {m.title}{credits}", style="dim"))


def feeds_table(feeds: Sequence[FeedStatusView]) -> Table:
    table = Table(title=f"{len(feeds)} feeds", title_justify="left")
    for name in ("outlet", "feed", "state", "last fetch", "status", "error", "errors", "next due"):
        table.add_column(name, overflow="fold")
    table.add_column("articles", justify="right")
    for f in feeds:
        error = f"{f.error_kind.value}: {f.error_message}" if f.error_kind else "—"
        table.add_row(
            f.outlet,
            f.feed_url,
            f.state.value,
            when(f.last_fetched_at),
            str(f.last_status) if f.last_status is not None else "—",
            error,
            str(f.error_count),
            when(f.next_fetch_at),
            str(f.articles),
        )
    return table


def explanation(console: Console, e: Explanation) -> None:
    """``aggregator why``: the verdict first, then the evidence."""
    together = "in the same cluster" if e.same_cluster else "in different clusters"
    verdict = "one story" if e.verifies else "not one story"
    console.print(Text.assemble((f"[{e.a.id}] ", "bold"), e.a.outlet, ": ", e.a.title))
    console.print(Text.assemble((f"[{e.b.id}] ", "bold"), e.b.outlet, ": ", e.b.title))
    console.print(Text.assemble("verdict: ", (verdict, "bold"), f" — {e.reason}; {together}"))
    sim = e.similarity
    console.print(
        f"similarity: Jaccard {sim.jaccard:.2f}, containment {sim.containment:.2f}, "
        f"{sim.shared_anchors} shared anchors, {sim.shared_passages} shared long paragraphs"
    )
    gap = lag(timedelta(seconds=e.gap_seconds))
    console.print(f"time: [{e.b.id}] is {gap} after [{e.a.id}]")
    for who, credit in ((e.a, e.a_credits_b), (e.b, e.b_credits_a)):
        if credit is not None:
            kind = credit.kind.value
            console.print(
                Text(f"credit: [{who.id}] credits {credit.outlet} ({kind}: “{credit.name}”)")
            )
    for paragraph in e.shared_paragraphs:
        console.print(Text(f"  shared paragraph: {paragraph}", style="dim"))
    for run in e.shared_runs:
        console.print(Text(f"  shared words: “{run}”", style="dim"))


def outlets_table(stats: Sequence[OutletStatsView]) -> Table:
    table = Table(title=f"{len(stats)} outlets", title_justify="left")
    for name in ("outlet", "articles", "first reports", "copies", "rewrites", "median lag"):
        table.add_column(name, justify="left" if name == "outlet" else "right")
    table.add_column("credits", overflow="fold")
    table.add_column("copied by", overflow="fold")
    for o in stats:
        median = (
            lag(timedelta(seconds=o.median_lag_seconds))
            if o.median_lag_seconds is not None
            else "—"
        )
        table.add_row(
            o.outlet,
            str(o.articles),
            str(o.first_reports),
            str(o.copies),
            str(o.rewrites),
            median,
            ", ".join(f"{name} ({n})" for name, n in o.credits) or "—",
            ", ".join(f"{name} ({n})" for name, n in o.copied_by) or "—",
        )
    return table
