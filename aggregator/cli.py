"""The ``aggregator`` command: thin commands over the library (build, call one thing, print).

Machine output (``--json``) goes to stdout and nothing else does; messages go to stderr.
User errors end with a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import click

from aggregator import __version__, console
from aggregator.allocator import keep_freed_memory
from aggregator.cliapp import (
    Context,
    json_out,
    output_file,
    pass_app,
    since_option,
    user_errors,
    write_bytes,
)
from aggregator.clisources import opml, outlets
from aggregator.errors import NotFound
from aggregator.outputs.serialize import (
    article_to_dict,
    cluster_to_dict,
    explanation_to_dict,
    feed_status_to_dict,
)

EXPORT_FIELDS = (
    *("id", "outlet", "feed_url", "guid", "url", "canonical_url", "title"),
    *("published_at", "first_seen_at", "cluster_id", "relation", "similarity"),
    *("credits", "credits_outlet", "at"),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", type=click.Path(path_type=Path), help="Settings file.")
@click.option("--database-url", help="SQLAlchemy URL; overrides the settings.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, database_url: str | None, verbose: int) -> None:
    """aggregator: who reported a story first, who copied it, who credits whom."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context(config, database_url)


@cli.command()
@click.option("--once", is_flag=True, help="Fetch the due feeds once, process, exit.")
@click.option(
    "--all", "everything", is_flag=True, help="With --once: every feed, ignoring the schedule."
)
@pass_app
def run(app: Context, once: bool, everything: bool) -> None:
    """Run the daemon (scheduler + HTTP server), or one cycle with --once."""
    from aggregator import daemon

    with user_errors():
        if everything and not once:
            raise click.UsageError("--all only makes sense with --once")
        if once:
            report = daemon.run_once(app.settings, app.outlets, everything=everything)
            click.echo(
                f"fetched {len(report.feeds)} feeds: {report.new_articles} new articles, "
                f"{len(report.failures)} feeds failed",
                err=True,
            )
            return
        daemon.run_forever(app.settings, app.outlets)


@cli.command()
@click.option(
    "--seeds", type=click.Path(path_type=Path, file_okay=False), help="Demo corpus folder."
)
@pass_app
def demo(app: Context, seeds: Path | None) -> None:
    """Offline demo: serve seeds/ on loopback, run the pipeline, print the clusters."""
    from aggregator import demo as demo_module

    with user_errors():
        clusters = demo_module.run_demo(app.settings, seeds, database_url=app.database_url)
        for c in clusters:
            console.cluster_detail(app.out, c)
            app.out.print()


@cli.command()
@click.option("--outlet", required=True, help="The outlet (display name) these files belong to.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@pass_app
def ingest(app: Context, outlet: str, files: tuple[Path, ...]) -> None:
    """Ingest feed files (RSS/Atom/JSON Feed) as if fetched."""
    from aggregator import daemon

    with user_errors():
        for path, new in daemon.ingest_files(app.settings, app.outlets, outlet, files):
            click.echo(f"{path}: {new} new articles", err=True)


@cli.group()
def clusters() -> None:
    """Story clusters."""


@clusters.command("list")
@click.option("--since", default="7d", show_default=True, help="7d, 12h, all, or an ISO date.")
@click.option("--outlet", help="Only clusters this outlet carried.")
@click.option("--min-size", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--limit", type=click.IntRange(min=0), default=100, show_default=True, help="0 = no limit."
)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_app
def clusters_list(  # noqa: PLR0917 - one parameter per option, as click passes them
    app: Context, since: str, outlet: str | None, min_size: int, limit: int, as_json: bool
) -> None:
    """Story clusters, newest activity first."""
    with user_errors():
        found = app.store().list_clusters(
            since=since_option(since),
            outlet=outlet,
            min_size=min_size,
            limit=limit or None,
        )
        if as_json:
            json_out([cluster_to_dict(c) for c in found])
        else:
            app.out.print(console.clusters_table(found))


@clusters.command("show")
@click.argument("cluster_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_app
def clusters_show(app: Context, cluster_id: int, as_json: bool) -> None:
    """One cluster: members, relations, timeline, first reporter, credits."""
    with user_errors():
        found = app.store().get_cluster(cluster_id)
        if found is None:
            raise NotFound(f"cluster {cluster_id} does not exist")
        if as_json:
            json_out(cluster_to_dict(found))
        else:
            console.cluster_detail(app.out, found)


@cli.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_app
def search(app: Context, query: str, limit: int, as_json: bool) -> None:
    """Clusters whose articles match the text (every word must appear)."""
    with user_errors():
        if not query.strip():
            raise click.BadParameter("the query is empty", param_hint="QUERY")
        found = app.store().list_clusters(query=query, limit=limit or None)
        if as_json:
            json_out([cluster_to_dict(c) for c in found])
        else:
            app.out.print(console.clusters_table(found))


@cli.command()
@click.argument("article_a", type=int)
@click.argument("article_b", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_app
def why(app: Context, article_a: int, article_b: int, as_json: bool) -> None:
    """Explain: similarity, containment, shared passages, credits, time gap."""
    from aggregator.explain import explain

    with user_errors():
        store = app.store()
        subjects = []
        for article_id in (article_a, article_b):
            subject = store.article_subject(article_id)
            if subject is None:
                raise NotFound(f"article {article_id} does not exist")
            subjects.append(subject)
        result = explain(subjects[0], subjects[1], app.settings.dedup)
        if as_json:
            json_out(explanation_to_dict(result))
        else:
            console.explanation(app.out, result)


@cli.group()
def feeds() -> None:
    """Feeds and their fetch state."""


@feeds.command("status")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_app
def feeds_status(app: Context, as_json: bool) -> None:
    """Per feed: last fetch, HTTP status, error kind, error count, next due."""
    with user_errors():
        found = app.store().feed_statuses()
        if as_json:
            json_out([feed_status_to_dict(f) for f in found])
        else:
            app.out.print(console.feeds_table(found))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), required=True)
@click.option("--since", default="all", show_default=True, help="7d, 12h, all, or an ISO date.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File (default stdout)."
)
@pass_app
def export(app: Context, fmt: str, since: str, output: Path | None) -> None:
    """Every article with its cluster and provenance fields."""
    with user_errors():
        articles = app.store().export_articles(since=since_option(since))
        with output_file(output) as out:
            if fmt == "jsonl":
                for article in articles:
                    out.write(json.dumps(article_to_dict(article), ensure_ascii=False) + "\n")
                return
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for article in articles:
                row = article_to_dict(article)
                row["credits"] = "; ".join(article.credits)
                writer.writerow(row)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["rss", "atom", "json"]), required=True)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File (default stdout)."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Items (default: http.feed_items)."
)
@click.option("--min-size", type=click.IntRange(min=1), default=1, show_default=True)
@pass_app
def feed(app: Context, fmt: str, output: Path | None, limit: int | None, min_size: int) -> None:
    """Write the cluster feed: one item per story."""
    from aggregator.outputs import feed as feeds_out

    with user_errors():
        body = feeds_out.render(
            fmt,
            app.store().list_clusters(
                limit=limit or app.settings.http.feed_items, min_size=min_size, with_members=True
            ),
            feeds_out.default_channel(app.settings.http, fmt),
        )
        write_bytes(body, output)


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: Context) -> None:
    """Apply schema migrations (alembic)."""
    with user_errors():
        before, after = app.store(check_schema=False).upgrade()
        if before == after:
            click.echo(f"database schema is up to date ({after})", err=True)
        else:
            click.echo(f"database schema upgraded: {before or 'empty'} → {after}", err=True)


cli.add_command(outlets)
cli.add_command(opml)


def main() -> None:
    """Entry point of the ``aggregator`` script and ``python -m aggregator``."""
    keep_freed_memory()
    cli(prog_name="aggregator")
