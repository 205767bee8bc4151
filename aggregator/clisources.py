"""``aggregator outlets`` and ``aggregator opml``: which outlets are tracked, how they
fare, and adding them from a homepage or an OPML file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from aggregator import console
from aggregator.cliapp import Context, json_out, pass_app, since_option, user_errors, write_bytes
from aggregator.errors import ConfigError
from aggregator.outputs.serialize import outlet_stats_to_dict

if TYPE_CHECKING:
    from aggregator.discover import Discovery, FeedCandidate
    from aggregator.outletsfile import OutletsFile

__all__ = ["opml", "outlets"]


@click.group(invoke_without_command=True)
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
    from aggregator.configfile import parse_duration

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


@click.group()
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
        write_bytes(body, output)
