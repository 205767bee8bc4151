"""The ``aggregator`` command: thin commands over the library (build, call one thing, print).

Machine output (``--json``) goes to stdout and nothing else does; messages go to stderr.
User errors end with a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from aggregator import __version__, console
from aggregator.config import load_outlets, load_settings
from aggregator.errors import AggregatorError, ConfigError, NotFound, StoreError
from aggregator.outputs.params import parse_since
from aggregator.outputs.serialize import (
    article_to_dict,
    cluster_to_dict,
    explanation_to_dict,
    feed_status_to_dict,
    outlet_stats_to_dict,
)
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.types import OutletConfig

if TYPE_CHECKING:
    from aggregator.discover import Discovery, FeedCandidate
    from aggregator.outletsfile import OutletsFile

F = TypeVar("F", bound=Callable[..., Any])
EXPORT_FIELDS = (
    *("id", "outlet", "feed_url", "guid", "url", "canonical_url", "title"),
    *("published_at", "first_seen_at", "cluster_id", "relation", "similarity"),
    *("credits", "credits_outlet", "at"),
)


class Context:
    """Settings, outlets and the store, built on first use from the global options."""

    def __init__(self, config: Path | None, database_url: str | None) -> None:
        self.config_path = config
        self.database_url = database_url
        self.out = Console(highlight=False, soft_wrap=False)

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        if self.database_url:
            settings = replace(settings, database=replace(settings.database, url=self.database_url))
        return settings

    @cached_property
    def outlets(self) -> tuple[OutletConfig, ...]:
        return load_outlets(self.settings.outlets_file)

    def store(self, *, check_schema: bool = True) -> Store:
        """The store, closed (its connections too) when the command ends."""
        store = Store.open(self.settings.database.url, check_schema=check_schema)
        click.get_current_context().call_on_close(store.close)
        return store


def json_out(value: object) -> None:
    """Machine output: JSON on stdout."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def since_option(text: str) -> datetime | None:
    """The ``--since`` value as a cut-off (None for "all"), or a usage error naming it."""
    try:
        return parse_since(text, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def one_line(message: object) -> str:
    """A message on one line (drivers such as psycopg add indented hint lines)."""
    return " ".join(str(message).split())


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the product's errors into a one-line message and an exit code."""
    try:
        yield
    except AggregatorError as exc:
        click.echo(f"aggregator: error: {one_line(exc)}", err=True)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:
        reason = one_line(getattr(exc, "orig", None) or exc)
        click.echo(f"aggregator: database error: {reason}", err=True)
        sys.exit(StoreError.exit_code)


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


pass_app = click.make_pass_decorator(Context)


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


@cli.group(invoke_without_command=True)
@click.option("--since", default="all", show_default=True, help="7d, 12h, all, or an ISO date.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@click.pass_context
def outlets(ctx: click.Context, since: str, as_json: bool) -> None:
    """Per outlet: articles, first reports, copies made, median lag, whom it credits.

    `aggregator outlets add URL` adds an outlet to the outlets file instead.
    """
    with user_errors():
        if ctx.invoked_subcommand is not None:
            if as_json or since != "all":
                raise click.UsageError(
                    f"--since and --json belong to 'aggregator outlets' (the statistics), "
                    f"not to 'outlets {ctx.invoked_subcommand}'"
                )
            return
        app = ctx.find_object(Context)
        assert app is not None  # the root group always creates it
        stats = app.store().outlet_stats(since=since_option(since))
        if as_json:
            json_out([outlet_stats_to_dict(o) for o in stats])
        else:
            app.out.print(console.outlets_table(stats))


def _web_url(value: str, hint: str) -> str:
    """``value`` if it is an absolute http(s) URL, else a usage error naming ``hint``."""
    from aggregator.discover import normalize_site_url

    url = normalize_site_url(value)
    parts = urlsplit(url)
    spaced = any(character.isspace() for character in url)
    if parts.scheme not in ("http", "https") or not parts.hostname or spaced:
        raise click.BadParameter(f"{value!r} is not an http(s) URL", param_hint=hint)
    return url


@outlets.command("add")
@click.argument("url")
@click.option("--name", help="Display name (default: the site's name from its page).")
@click.option("--alias", "aliases", multiple=True, help="A name others credit it by (repeatable).")
@click.option(
    "--feed", "feeds", multiple=True, help="Feed URL to use instead of discovering (repeatable)."
)
@click.option("--all-feeds", is_flag=True, help="Add every feed found, not only the main one.")
@click.option("--interval", help="Poll interval for this outlet, e.g. 30m (default: the schedule).")
@click.option("--dry-run", is_flag=True, help="Print the [[outlets]] block; change nothing.")
@pass_app
def outlets_add(  # noqa: PLR0917 - one parameter per option, as click passes them
    app: Context,
    url: str,
    name: str | None,
    aliases: tuple[str, ...],
    feeds: tuple[str, ...],
    all_feeds: bool,
    interval: str | None,
    dry_run: bool,
) -> None:
    """Add an outlet: find its feeds from its homepage, append it to the outlets file.

    URL is the outlet's homepage (or a feed). The feeds it advertises with
    <link rel="alternate"> are used, else the usual places (/feed, /rss, /atom.xml …);
    each is fetched and parsed first. The new [[outlets]] block is appended to the
    outlets file (AGGREGATOR_OUTLETS); the rest of the file is left as it is.
    """
    from aggregator import discover
    from aggregator.outletsfile import NewOutlet, OutletsFile, host_name

    with user_errors():
        homepage: str | None = _web_url(url, "URL")
        chosen = [_web_url(feed, "--feed") for feed in feeds]
        _check_interval(interval)
        if name is not None and not name.strip():
            raise click.BadParameter("the name is empty", param_hint="--name")
        target = OutletsFile.open(app.settings.outlets_file)  # a broken file stops us early
        title, found, picked = None, None, []
        if chosen:
            if name is None:
                title = discover.page_site_title(homepage or url, app.settings.fetch)
        else:
            found = discover.discover_feeds(url, app.settings.fetch)
            title, homepage = found.site_title, found.homepage
            picked = list(found.feeds if all_feeds else found.primary[:1])
            chosen = [feed.url for feed in picked]
        outlet_name = " ".join((name or title or host_name(homepage or chosen[0]) or "").split())
        _refuse_duplicates(target, outlet_name, aliases, chosen)
        block = target.append(
            NewOutlet(
                name=outlet_name,
                feeds=tuple(dict.fromkeys(chosen)),
                homepage=homepage,
                aliases=tuple(dict.fromkeys(a.strip() for a in aliases if a.strip())),
                interval=interval.strip() if interval else None,
            )
        )
        if dry_run:
            target.check()
        else:
            target.save()
        if found is not None:
            _report_discovery(found, picked)
        if dry_run:
            click.echo(block, nl=False)
            click.echo(f"(dry run: {target.path} is unchanged)", err=True)
            return
        count = len(set(chosen))
        click.echo(
            f"added outlet {outlet_name!r} with {count} feed{'s' * (count != 1)} to {target.path}",
            err=True,
        )


def _check_interval(interval: str | None) -> None:
    from aggregator.config import parse_duration

    if interval is None:
        return
    try:
        if parse_duration(interval).total_seconds() <= 0:
            raise ValueError(f"invalid duration {interval!r}: must be greater than 0")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None


def _report_discovery(found: Discovery, picked: list[FeedCandidate]) -> None:
    """On stderr: the feeds found, which are used, and what else could be."""
    click.echo(f"{found.page_url}: found {len(found.feeds)} feed(s)", err=True)
    for feed in found.feeds:
        mark = "+" if feed in picked else " "
        title = f" ({feed.title})" if feed.title else ""
        click.echo(f"  {mark} {feed.url} [{feed.format}, {feed.source}]{title}", err=True)
    if len(picked) < len(found.feeds):
        click.echo(
            "  (+ = added; choose others with --feed URL, or all with --all-feeds)", err=True
        )


def _refuse_duplicates(
    target: OutletsFile, name: str, aliases: tuple[str, ...], feeds: list[str]
) -> None:
    """Clear messages for the usual mistakes; load_outlets checks everything again."""
    path = str(target.path)
    if not name:
        raise click.BadParameter("no name could be found; give one", param_hint="--name")
    for label, value in (("name", name), *(("alias", a) for a in aliases)):
        index = target.find(value)
        if index is not None:
            owner = target.outlets[index].name
            problem = f"the {label} {value!r} is already used by outlet {owner!r}"
            hint = "choose another with --name" if label == "name" else "leave it out"
            raise ConfigError(f"{problem}; {hint}; nothing written", path=path)
    for feed in feeds:
        holder = target.owner_of(feed)
        if holder is not None:
            raise ConfigError(
                f"feed {feed!r} already belongs to outlet {holder!r}; nothing written", path=path
            )


@cli.group()
def opml() -> None:
    """Outlets to and from OPML (the feed-reader subscription format)."""


@opml.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what would be added; change nothing.")
@pass_app
def opml_import(app: Context, file: Path, dry_run: bool) -> None:
    """Add the feeds of an OPML file to the outlets file (known feeds are skipped).

    Outlines with an xmlUrl become outlets, grouped by site (the host of htmlUrl, else the
    title); a group named like an existing outlet adds its feeds to that outlet. New
    outlets are appended; the rest of the outlets file is left as it is.
    """
    from aggregator.opml import OpmlError, plan_import, read_opml
    from aggregator.outletsfile import OutletsFile

    with user_errors():
        document = read_opml(file)
        if not document.feeds:
            raise OpmlError(f"{file}: no feeds to import: no <outline> has an xmlUrl")
        target = OutletsFile.open(app.settings.outlets_file)
        plan = plan_import(document, target)
        for new in plan.added:
            click.echo(f"add outlet {new.name!r}: {', '.join(new.feeds)}", err=True)
        for outlet_name, urls in plan.extended:
            click.echo(f"add to outlet {outlet_name!r}: {', '.join(urls)}", err=True)
        for url, reason in plan.skipped:
            click.echo(f"skip {url}: {reason}", err=True)
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
        summary = (
            f"{file}: {len(plan.added)} new outlet(s), {len(plan.extended)} extended, "
            f"{plan.feeds_added} feed(s) added, {len(plan.skipped)} skipped"
        )
        if not target.changed:
            click.echo(f"{summary}; {target.path} is unchanged", err=True)
            return
        if dry_run:
            target.check()
            parts = [new.render() for new in plan.added]
            parts += [
                f"# feeds added to outlet {outlet_name!r}:\n"
                + "".join(f"#   {url}\n" for url in urls)
                for outlet_name, urls in plan.extended
            ]
            click.echo("\n".join(parts), nl=False)
            click.echo(f"{summary} (dry run: {target.path} is unchanged)", err=True)
            return
        target.save()
        click.echo(f"{summary} → {target.path}", err=True)


@opml.command("export")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File (default stdout)."
)
@pass_app
def opml_export(app: Context, output: Path | None) -> None:
    """Write the configured outlets as OPML 2.0: one outline per feed."""
    from aggregator.opml import export_opml

    with user_errors():
        body = export_opml(app.outlets)
        _write_bytes(body, output)


def _write_bytes(body: bytes, output: Path | None) -> None:
    """Write ``body`` to ``output``, or to standard output without one."""
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        raise AggregatorError(f"cannot write {output}: {exc.strerror}") from None


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


@contextmanager
def output_file(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            yield handle
    except OSError as exc:
        raise AggregatorError(f"cannot write {path}: {exc.strerror}") from None


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
        _write_bytes(body, output)


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


def main() -> None:
    """Entry point of the ``aggregator`` script and ``python -m aggregator``."""
    cli(prog_name="aggregator")
