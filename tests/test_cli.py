"""The ``aggregator`` command (PRODUCT.md §2): help, machine output, user errors, each command.

Most tests run the click command in-process (CliRunner keeps stdout and stderr apart);
where what matters is the real process (exit codes, a clean stdout while logs are on,
no traceback, ``python -m``), the command runs as a subprocess. The data is the demo
corpus, fetched from a real loopback server into a real SQLite file (and PostgreSQL where
the backend matters).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import feedparser
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from aggregator import __version__
from aggregator.cli import cli
from aggregator.config import load_outlets
from aggregator.opml import parse_opml
from aggregator.store import Store
from tests.conftest import CONTENT_TYPES, SEEDS, SeedSite, cli_env, run_cli
from tests.loopback import LoopbackServer, respond

EXPECTED = json.loads((SEEDS / "expected.json").read_text())
SEED_CLUSTER = EXPECTED["clusters"][0]  # the seed-like story: original + crediting rewrite
EXPORT_CONTRACT = (
    *("id", "outlet", "feed_url", "guid", "url", "canonical_url", "title", "published_at"),
    *("first_seen_at", "cluster_id", "relation", "similarity", "credits"),
)
CLUSTER_CONTRACT = {
    *("id", "title", "size", "outlets", "first_reporter", "credited_source"),
    *("first_seen_at", "last_seen_at"),
}
FEED_STATUS_CONTRACT = {
    *("outlet", "feed_url", "state", "last_fetched_at", "last_status", "error_kind"),
    *("error_message", "error_count", "next_fetch_at", "articles"),
}
#: A word of the seed-like story's text (not of its title), and one no article contains.
PRESENT_WORD, ABSENT_WORD = "Halyard", "zeppelin"


# --- helpers -------------------------------------------------------------------------------


def invoke(args: Sequence[str], env: dict[str, str] | None = None, **extra: str) -> Result:
    """Run the command in-process with exactly the AGGREGATOR_ variables in ``env``
    (and the ``extra`` variables, such as COLUMNS).

    A Python exception escaping the command (what a user would see as a traceback) fails
    the test; a SystemExit is how the command reports an exit code.
    """
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AGGREGATOR_")}
    overrides.update({k: v for k, v in (env or {}).items() if k.startswith("AGGREGATOR_")})
    overrides.update(extra)
    result = CliRunner().invoke(cli, list(args), env=overrides, prog_name="aggregator")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"aggregator {' '.join(args)} raised") from result.exception
    return result


def ok(args: Sequence[str], env: dict[str, str] | None = None, **extra: str) -> Result:
    result = invoke(args, env, **extra)
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stderr}"
    return result


def assert_user_error(result: Result, code: int, *names: str) -> str:
    """A non-zero exit, nothing on stdout, no traceback, one error line naming ``names``."""
    assert result.exit_code == code, f"exit {result.exit_code}, wanted {code}\n{result.stderr}"
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith(("aggregator: error:", "aggregator: database error:", "Error:"))
    ]
    assert len(errors) == 1, result.stderr
    if errors[0].startswith("aggregator:"):  # the product's own errors are just that line
        assert result.stderr.strip() == errors[0], result.stderr
    for name in names:
        assert name in errors[0], (name, errors[0])
    return errors[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _migrated(database_url: str) -> str:
    store = Store.open(database_url, check_schema=False)
    try:
        store.upgrade()
    finally:
        store.close()
    return database_url


def _export(env: dict[str, str]) -> list[dict[str, Any]]:
    out = ok(["export", "--format", "jsonl"], env).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never pick up the repository's config/aggregator.toml from the working directory."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def seed_outlets(tmp_path: Path) -> Path:
    """The demo outlets file pointing at a closed port: for commands that never fetch."""
    path = tmp_path / "outlets.toml"
    closed = f"http://127.0.0.1:{_free_port()}"
    path.write_text((SEEDS / "outlets.toml").read_text().replace("{base}", closed))
    return path


@dataclass(frozen=True)
class Corpus:
    """The demo corpus fetched once by ``run --once`` into a SQLite file (read-only here)."""

    env: dict[str, str]
    cwd: Path
    articles: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    seed_cluster_id: int


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    cwd = tmp_path_factory.mktemp("corpus")
    with LoopbackServer() as server, contextlib.chdir(cwd):
        for path in sorted(SEEDS.iterdir()):
            if path.suffix in CONTENT_TYPES:
                headers = {"Content-Type": CONTENT_TYPES[path.suffix]}
                server.route(f"/{path.name}", respond(200, path.read_bytes(), headers))
        outlets = cwd / "outlets.toml"
        base = server.url("/").rstrip("/")
        outlets.write_text((SEEDS / "outlets.toml").read_text().replace("{base}", base))
        env = cli_env(f"sqlite:///{cwd / 'aggregator.db'}", outlets)
        ok(["db", "upgrade"], env)
        result = ok(["run", "--once"], env)
        assert "0 feeds failed" in result.stderr, result.stderr
        articles = _export(env)
        listed = ok(["clusters", "list", "--since", "all", "--limit", "0", "--json"], env)
    seed_guid = SEED_CLUSTER["members"][0]["guid"]
    (seed,) = [a["cluster_id"] for a in articles if a["guid"] == seed_guid]
    yield Corpus(env, cwd, articles, json.loads(listed.stdout), seed)


# --- help and version ----------------------------------------------------------------------


def _command_tree(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _command_tree(sub, (*path, name))


COMMANDS = list(_command_tree(cli))


def test_the_command_tree_has_the_contract_commands() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    contract = {
        *("run", "demo", "ingest", "clusters list", "clusters show", "search"),
        *("feeds status", "export", "feed", "db upgrade"),
    }
    assert contract <= paths


def test_the_command_tree_has_the_analysis_and_opml_commands() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"why", "outlets", "outlets add", "opml import", "opml export"} <= paths


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "aggregator" for p, _ in COMMANDS]
)
def test_every_command_has_help_that_describes_it(
    path: tuple[str, ...], command: click.Command
) -> None:
    result = ok([*path, "--help"])
    out = " ".join(result.stdout.split())
    assert out.startswith(" ".join(("Usage: aggregator", *path)))
    assert command.help, f"{' '.join(path)} has no description"
    summary = " ".join(command.help.split("\n\n")[0].split())
    assert summary in out
    for param in command.params:
        for opt in param.opts if isinstance(param, click.Option) else ():
            assert opt in out, f"{opt} of {' '.join(path)} is not in its help"
    if isinstance(command, click.Group):
        for name in command.commands:
            assert name in out


def test_version_prints_the_version() -> None:
    result = ok(["--version"])
    assert result.stdout.strip() == f"aggregator, version {__version__}"


def test_python_dash_m_aggregator_runs_the_cli(tmp_path: Path) -> None:
    result = run_cli(["--help"], cli_env("sqlite://", tmp_path / "none.toml"), tmp_path)
    assert result.stdout.startswith("Usage: aggregator [OPTIONS] COMMAND")
    assert isinstance(cli, click.Group)
    for name in cli.commands:
        assert f"  {name} " in result.stdout or f"  {name}\n" in result.stdout


# --- machine output and tables -------------------------------------------------------------


def _json_commands(corpus: Corpus) -> dict[str, list[str]]:
    return {
        "clusters list": ["clusters", "list", "--since", "all", "--json"],
        "clusters show": ["clusters", "show", str(corpus.seed_cluster_id), "--json"],
        "search": ["search", PRESENT_WORD, "--json"],
        "feeds status": ["feeds", "status", "--json"],
    }


@pytest.mark.parametrize("name", ["clusters list", "clusters show", "search", "feeds status"])
def test_json_output_is_only_json_on_stdout_while_logs_go_to_stderr(
    corpus: Corpus, name: str
) -> None:
    # -vv turns on INFO logs (alembic's schema check among them): none may reach stdout
    result = run_cli(["-vv", *_json_commands(corpus)[name]], corpus.env, corpus.cwd)
    value = json.loads(result.stdout)
    assert value
    assert "INFO " in result.stderr
    assert "Traceback" not in result.stderr


def test_clusters_list_json_has_the_contract_fields(corpus: Corpus) -> None:
    assert len(corpus.clusters) == len({a["cluster_id"] for a in corpus.articles})
    for cluster in corpus.clusters:
        assert cluster.keys() >= CLUSTER_CONTRACT
        assert {"outlet", "article_id", "url", "at", "basis"} <= cluster["first_reporter"].keys()
    stamps = [c["last_seen_at"] for c in corpus.clusters]
    assert stamps == sorted(stamps, reverse=True)  # newest activity first


def test_clusters_show_json_has_the_members_with_their_export_fields(corpus: Corpus) -> None:
    shown = json.loads(
        ok(["clusters", "show", str(corpus.seed_cluster_id), "--json"], corpus.env).stdout
    )
    assert shown.keys() >= CLUSTER_CONTRACT
    assert shown["first_reporter"]["outlet"] == SEED_CLUSTER["first_reporter"]
    assert [m["guid"] for m in shown["members"]] == [m["guid"] for m in SEED_CLUSTER["members"]]
    for member in shown["members"]:
        assert set(EXPORT_CONTRACT) <= member.keys()


@pytest.mark.parametrize(
    "args",
    [
        ["clusters", "list", "--since", "all"],
        ["search", PRESENT_WORD],
        ["feeds", "status"],
    ],
    ids=["clusters list", "search", "feeds status"],
)
def test_tables_print_without_error(corpus: Corpus, args: list[str]) -> None:
    narrow = ok(args, corpus.env, COLUMNS="60")
    assert narrow.stderr == ""
    assert "┃" in narrow.stdout  # a rich table
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
    wide = ok(args, corpus.env, COLUMNS="250")
    assert SEED_CLUSTER["first_reporter"] in wide.stdout


def test_clusters_show_prints_the_timeline(corpus: Corpus) -> None:
    result = ok(["clusters", "show", str(corpus.seed_cluster_id)], corpus.env)
    text = " ".join(result.stdout.split())
    assert f"first reporter: {SEED_CLUSTER['first_reporter']}" in text
    for member in SEED_CLUSTER["members"]:
        assert member["outlet"] in text
        assert member["title"] in text


# --- user errors ---------------------------------------------------------------------------


def test_an_unknown_cluster_id_exits_4(corpus: Corpus) -> None:
    result = invoke(["clusters", "show", "999999"], corpus.env)
    assert_user_error(result, 4, "cluster 999999", "does not exist")


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["clusters", "list", "--since", "garbage"], ["--since", "garbage"]),
        (["clusters", "list", "--limit", "-1"], ["--limit", "-1"]),
        (["search", "Corvane", "--limit", "-1"], ["--limit", "-1"]),
        (["export", "--format", "xml"], ["--format", "xml"]),
        (["feed", "--format", "xml"], ["--format", "xml"]),
        (["export", "--format", "jsonl", "--since", "yesterday"], ["--since", "yesterday"]),
        (["run", "--all"], ["--all", "--once"]),
        (["search", "  "], ["QUERY", "empty"]),
        (["clusters", "show", "first"], ["CLUSTER_ID", "first"]),
    ],
    ids=[
        *("since", "limit", "search-limit", "export-format", "feed-format", "export-since"),
        *("all-without-once", "empty-query", "cluster-id"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_option(
    corpus: Corpus, args: list[str], names: list[str]
) -> None:
    assert_user_error(invoke(args, corpus.env), 2, *names)


def test_export_to_a_missing_directory_names_the_file(corpus: Corpus) -> None:
    for command in (["export", "--format", "csv"], ["feed", "--format", "rss"]):
        result = invoke([*command, "-o", "/nonexistent/dir/file"], corpus.env)
        assert_user_error(result, 1, "/nonexistent/dir/file", "No such file or directory")


def test_ingest_of_an_unknown_outlet_names_it_and_the_known_ones(seed_outlets: Path) -> None:
    env = cli_env("sqlite:///unused.db", seed_outlets)
    result = invoke(["ingest", "--outlet", "Unknown", str(SEEDS / "caspian-daily.xml")], env)
    line = assert_user_error(result, 4, "'Unknown'", "outlets file")
    assert "Caspian Daily" in line


def test_ingest_of_a_missing_file_names_it(seed_outlets: Path, tmp_path: Path) -> None:
    env = cli_env(_migrated(f"sqlite:///{tmp_path / 'a.db'}"), seed_outlets)
    missing = tmp_path / "missing.xml"
    result = invoke(["ingest", "--outlet", "Caspian Daily", str(missing)], env)
    assert_user_error(result, 1, str(missing), "No such file or directory")


def test_ingest_of_a_file_that_is_not_a_feed_is_a_parse_error_naming_it(
    seed_outlets: Path, tmp_path: Path
) -> None:
    env = cli_env(_migrated(f"sqlite:///{tmp_path / 'a.db'}"), seed_outlets)
    notes = tmp_path / "notes.txt"
    notes.write_text("Meeting notes, Tuesday.\nNothing here is a feed.\n")
    result = invoke(["ingest", "--outlet", "Caspian Daily", str(notes)], env)
    assert_user_error(result, 1, str(notes), "not a feed")
    assert "0 new articles" not in result.stderr


def test_a_broken_settings_file_names_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[fetch]\nuser_agent = "unterminated\n')
    result = invoke(["--config", str(broken), "clusters", "list"])
    assert_user_error(result, 2, f"{broken}:2:", "invalid TOML")
    missing = tmp_path / "missing.toml"
    result = invoke(["--config", str(missing), "clusters", "list"])
    assert_user_error(result, 2, str(missing), "not found")


def test_an_unknown_setting_variable_is_named(tmp_path: Path) -> None:
    env = {"AGGREGATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AGGREGATOR_FOO__BAR": "1"}
    result = invoke(["clusters", "list"], env)
    assert_user_error(result, 2, "AGGREGATOR_FOO__BAR", "unknown section 'foo'")


def test_an_unreachable_postgresql_names_the_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/x"
    result = invoke(["--database-url", url, "clusters", "list"])
    assert_user_error(result, 1, url, "refused")


def test_a_database_without_schema_says_to_run_db_upgrade(database_url: str) -> None:
    shown = make_url(database_url).render_as_string(hide_password=True)
    for command in (["clusters", "list"], ["export", "--format", "jsonl"], ["feeds", "status"]):
        result = invoke(["--database-url", database_url, *command])
        assert_user_error(result, 3, shown, "no schema", "aggregator db upgrade")


@pytest.mark.parametrize(
    ("args", "code", "names"),
    [
        (["clusters", "show", "999999"], 4, ["cluster 999999"]),
        (["--config", "broken.toml", "feeds", "status"], 2, ["broken.toml:1:", "invalid TOML"]),
        (
            ["--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/x", "clusters", "list"],
            1,
            ["postgresql+psycopg://nobody@127.0.0.1:1/x"],
        ),
    ],
    ids=["unknown-cluster", "broken-settings", "unreachable-postgresql"],
)
def test_a_real_process_reports_user_errors_without_a_traceback(
    corpus: Corpus, tmp_path: Path, args: list[str], code: int, names: list[str]
) -> None:
    (tmp_path / "broken.toml").write_text("[fetch\n")
    result = run_cli(args, corpus.env, tmp_path, check=False)
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for name in names:
        assert name in lines[0]


# --- commands ------------------------------------------------------------------------------


def test_db_upgrade_twice_says_up_to_date_the_second_time(database_url: str) -> None:
    first = ok(["--database-url", database_url, "db", "upgrade"])
    assert "upgraded: empty →" in first.stderr
    second = ok(["--database-url", database_url, "db", "upgrade"])
    assert "up to date" in second.stderr
    assert first.stdout == second.stdout == ""


def test_ingest_stores_the_files_articles_once(database_url: str, seed_outlets: Path) -> None:
    env = cli_env(database_url, seed_outlets)
    ok(["db", "upgrade"], env)
    files = [SEEDS / "capital-ledger-politics.xml", SEEDS / "capital-ledger-technology.xml"]
    args = ["ingest", "--outlet", "Capital Ledger", *map(str, files)]
    first = ok(args, env)
    stored = _export(env)
    refs = [*SEED_CLUSTER["members"], *EXPECTED["singletons"]]
    assert sorted(a["guid"] for a in stored) == sorted(
        r["guid"] for r in refs if r["outlet"] == "Capital Ledger"
    )
    assert {a["outlet"] for a in stored} == {"Capital Ledger"}
    # each article is recorded under a file that carries it (the item both carry is one)
    uris = {f.resolve().as_uri(): f.read_text(encoding="utf-8") for f in files}
    assert {a["feed_url"] for a in stored} == set(uris)
    for record in stored:
        assert record["guid"] in uris[record["feed_url"]]
    reported = re.findall(r"^(.+): (\d+) new articles$", first.stderr, re.MULTILINE)
    assert [path for path, _ in reported] == [str(f) for f in files]
    assert sum(int(n) for _, n in reported) == len(stored)

    again = ok(args, env)
    assert again.stderr.count(": 0 new articles") == len(files)
    assert [a["id"] for a in _export(env)] == [a["id"] for a in stored]


def test_export_csv_has_the_contract_header_and_one_row_per_article(
    corpus: Corpus, tmp_path: Path
) -> None:
    printed = ok(["export", "--format", "csv"], corpus.env).stdout
    rows = list(csv.DictReader(io.StringIO(printed)))
    header = printed.splitlines()[0].split(",")
    assert set(EXPORT_CONTRACT) <= set(header)
    assert len(rows) == len(corpus.articles) == EXPECTED["total_articles"]
    assert [int(r["id"]) for r in rows] == [a["id"] for a in corpus.articles]
    by_id = {a["id"]: a for a in corpus.articles}
    for row in rows:
        record = by_id[int(row["id"])]
        assert row["title"] == record["title"]
        assert row["credits"] == "; ".join(record["credits"])

    target = tmp_path / "articles.csv"
    result = ok(["export", "--format", "csv", "-o", str(target)], corpus.env)
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == printed


def test_export_jsonl_to_a_file(corpus: Corpus, tmp_path: Path) -> None:
    target = tmp_path / "articles.jsonl"
    result = ok(["export", "--format", "jsonl", "--output", str(target)], corpus.env)
    assert result.stdout == ""
    written = [json.loads(line) for line in target.read_text().splitlines()]
    assert written == corpus.articles


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_feed_has_one_item_per_cluster_with_the_cluster_guid(
    corpus: Corpus, tmp_path: Path, fmt: str
) -> None:
    want = {f"aggregator:cluster:{c['id']}" for c in corpus.clusters}
    printed = ok(["feed", "--format", fmt], corpus.env).stdout_bytes
    if fmt == "json":
        items = json.loads(printed)["items"]
        got = [item["id"] for item in items]
    else:
        parsed = feedparser.parse(printed)
        assert not parsed.bozo, parsed.bozo_exception
        got = [entry.id for entry in parsed.entries]
    assert len(got) == len(want)
    assert set(got) == want

    target = tmp_path / f"feed.{fmt}"
    assert ok(["feed", "--format", fmt, "-o", str(target)], corpus.env).stdout == ""
    assert target.read_bytes() == printed


def test_search_finds_the_cluster_by_a_word_of_its_text(corpus: Corpus) -> None:
    found = json.loads(ok(["search", PRESENT_WORD, "--json"], corpus.env).stdout)
    assert corpus.seed_cluster_id in {c["id"] for c in found}
    assert len(found) < len(corpus.clusters)
    assert json.loads(ok(["search", ABSENT_WORD, "--json"], corpus.env).stdout) == []
    # every word must appear
    both = ok(["search", f"{PRESENT_WORD} {ABSENT_WORD}", "--json"], corpus.env)
    assert json.loads(both.stdout) == []


def test_clusters_list_filters_by_size_and_outlet(corpus: Corpus) -> None:
    def listed(*args: str) -> list[dict[str, Any]]:
        command = ["clusters", "list", "--since", "all", "--json", *args]
        found: list[dict[str, Any]] = json.loads(ok(command, corpus.env).stdout)
        return found

    both = listed("--min-size", "2", "--outlet", "Capital Ledger")
    assert [c["id"] for c in both] == [corpus.seed_cluster_id]
    assert len(listed("--min-size", "2")) == len(EXPECTED["clusters"])
    by_outlet = listed("--outlet", "Capital Ledger")
    assert len(by_outlet) > 1
    assert all("Capital Ledger" in c["outlets"] for c in by_outlet)
    assert len(listed("--limit", "2")) == 2
    assert len(listed("--limit", "0")) == len(corpus.clusters) > 2


def test_feeds_status_after_a_run_reports_each_feed_and_a_network_error(
    seed_site: SeedSite, database_url: str, tmp_path: Path
) -> None:
    closed_url = f"http://127.0.0.1:{_free_port()}/feed.xml"
    outlets = tmp_path / "outlets-closed.toml"
    outlets.write_text(
        seed_site.outlets_file.read_text()
        + f'\n[[outlets]]\nname = "Closed Port"\nfeeds = ["{closed_url}"]\n'
    )
    env = cli_env(_migrated(database_url), outlets)
    result = ok(["run", "--once"], env)
    assert "1 feeds failed" in result.stderr

    feeds = {f["feed_url"]: f for f in json.loads(ok(["feeds", "status", "--json"], env).stdout)}
    assert len(feeds) == EXPECTED["total_feeds"] + 1
    for feed in feeds.values():
        assert feed.keys() >= FEED_STATUS_CONTRACT
        assert feed["last_fetched_at"] is not None
        assert feed["next_fetch_at"] is not None
    closed = feeds.pop(closed_url)
    assert closed["outlet"] == "Closed Port"
    assert closed["error_kind"] == "network_error"
    assert closed["error_count"] == 1
    assert closed["last_status"] is None
    assert closed["articles"] == 0
    assert closed["state"] == "ok"  # failing only after 3 errors in a row
    assert "127.0.0.1" in closed["error_message"]
    for feed in feeds.values():
        assert feed["state"] == "ok"
        assert feed["last_status"] == 200
        assert feed["error_kind"] is None
        assert feed["error_count"] == 0
    assert sum(f["articles"] for f in feeds.values()) == EXPECTED["total_articles"]


def test_demo_runs_offline_and_prints_the_expected_clusters(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env["COLUMNS"] = "200"
    result = run_cli(["demo"], env, tmp_path)
    assert "Traceback" not in result.stderr
    headers = [line for line in result.stdout.splitlines() if line.startswith("#")]
    assert len(headers) == len(EXPECTED["clusters"])
    blocks = result.stdout.split("\n#")
    for expected in EXPECTED["clusters"]:
        original = next(m for m in expected["members"] if m["relation"] == "original")
        (block,) = [b for b in blocks if original["title"] in b.splitlines()[0]]
        assert f"first reporter: {expected['first_reporter']} at " in block
        for member in expected["members"]:
            assert member["title"] in block
    assert not (tmp_path / "data").exists()  # a throwaway database, not ./data
    again = run_cli(["demo"], env, tmp_path)
    assert again.stdout == result.stdout  # the same clusters, ids and order every run


# --- why and outlets -------------------------------------------------------------------------


def _article_id(corpus: Corpus, outlet: str, title_word: str) -> int:
    (found,) = [
        a["id"] for a in corpus.articles if a["outlet"] == outlet and title_word in a["title"]
    ]
    return int(found)


def test_why_explains_the_seed_rewrite_with_its_credit_and_shared_text(corpus: Corpus) -> None:
    members = SEED_CLUSTER["members"]
    ids = [a["id"] for m in members for a in corpus.articles if a["guid"] == m["guid"]]
    result = json.loads(ok(["why", str(ids[0]), str(ids[1]), "--json"], corpus.env).stdout)
    assert result["same_cluster"] is True and result["verifies"] is True
    assert result["b_credits_a"]["outlet"] == "Capital Ledger"
    assert result["b_credits_a"]["kind"] == "reporting"
    assert result["a_credits_b"] is None
    assert result["similarity"]["shared_passages"] >= 1
    assert result["shared_paragraphs"] and result["shared_runs"]
    assert result["gap_seconds"] > 0
    text = ok(["why", str(ids[0]), str(ids[1])], corpus.env, COLUMNS="200").stdout
    assert "verdict: one story" in text
    assert "credits Capital Ledger" in text


def test_why_says_why_unrelated_articles_are_apart(corpus: Corpus) -> None:
    a, b = (
        corpus.articles[0],
        next(x for x in corpus.articles if x["cluster_id"] != corpus.articles[0]["cluster_id"]),
    )
    result = json.loads(ok(["why", str(a["id"]), str(b["id"]), "--json"], corpus.env).stdout)
    assert result["same_cluster"] is False
    assert result["verifies"] is False
    assert result["reason"]


def test_why_with_an_unknown_article_exits_4_naming_it(corpus: Corpus) -> None:
    assert_user_error(invoke(["why", "1", "999999"], corpus.env), 4, "article 999999")


def test_outlets_counts_first_reports_copies_rewrites_and_credits(corpus: Corpus) -> None:
    stats = {o["outlet"]: o for o in json.loads(ok(["outlets", "--json"], corpus.env).stdout)}
    ledger, caspian = stats["Capital Ledger"], stats["Caspian Daily"]
    assert ledger["first_reports"] >= 1
    assert {"outlet": "Caspian Daily", "count": 1} in ledger["copied_by"]
    assert caspian["rewrites"] == 1 and caspian["median_lag_seconds"] > 0
    assert any(c["outlet"] == "Capital Ledger" for c in caspian["credits"])
    wire = stats["Meridian Press Association"]
    assert {c["outlet"] for c in wire["copied_by"]} >= {"Lakeside Tribune", "Northern Courier"}
    for outlet in stats.values():
        assert outlet["articles"] == sum(
            1 for a in corpus.articles if a["outlet"] == outlet["outlet"]
        )
    assert "Capital Ledger" in ok(["outlets"], corpus.env, COLUMNS="200").stdout


# --- outlets add and opml --------------------------------------------------------------------

HOMEPAGE = (
    b"<!doctype html><html><head><title>Harbour Gazette - Home</title>"
    b'<link rel="alternate" type="application/rss+xml" title="Harbour Gazette" href="/rss.xml">'
    b"</head><body><p>News from the harbour.</p></body></html>"
)
HARBOUR_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
    b"<link>https://harbour.example/</link><description>d</description>"
    b"<item><title>Ships</title><link>https://harbour.example/1</link><guid>1</guid></item>"
    b"</channel></rss>"
)


@pytest.fixture
def harbour() -> Iterator[LoopbackServer]:
    """A news site on loopback whose homepage advertises its RSS feed."""
    with LoopbackServer() as server:
        server.route("/", respond(200, HOMEPAGE, {"Content-Type": "text/html"}))
        server.route("/rss.xml", respond(200, HARBOUR_RSS, {"Content-Type": "application/rss+xml"}))
        yield server


def test_outlets_add_discovers_the_feed_and_appends_the_outlet(
    harbour: LoopbackServer, seed_outlets: Path
) -> None:
    before = seed_outlets.read_bytes()
    env = cli_env("sqlite:///unused.db", seed_outlets)
    result = ok(["outlets", "add", harbour.url("/"), "--alias", "HG", "--interval", "30m"], env)
    assert result.stdout == ""
    assert f"added outlet 'Harbour Gazette' with 1 feed to {seed_outlets}" in result.stderr
    assert f"+ {harbour.url('/rss.xml')} [rss20, link]" in result.stderr
    after = seed_outlets.read_bytes()
    assert after.startswith(before)  # appended: comments and entries stay byte for byte
    added = load_outlets(seed_outlets)[-1]
    assert (added.name, added.homepage, added.aliases, added.feeds) == (
        "Harbour Gazette",
        harbour.url("/"),
        ("HG",),
        (harbour.url("/rss.xml"),),
    )
    assert added.interval == timedelta(minutes=30)
    # the same site again: its name is taken, nothing changes
    again = invoke(["outlets", "add", harbour.url("/")], env)
    assert_user_error(again, 2, str(seed_outlets), "'Harbour Gazette'", "already used")
    assert seed_outlets.read_bytes() == after


def test_outlets_add_dry_run_prints_the_block_and_changes_nothing(
    harbour: LoopbackServer, seed_outlets: Path
) -> None:
    before = seed_outlets.read_bytes()
    env = cli_env("sqlite:///unused.db", seed_outlets)
    result = ok(["outlets", "add", harbour.url("/"), "--name", "The Harbour", "--dry-run"], env)
    assert result.stdout == (
        "[[outlets]]\n"
        'name = "The Harbour"\n'
        f'homepage = "{harbour.url("/")}"\n'
        "aliases = []\n"
        f'feeds = ["{harbour.url("/rss.xml")}"]\n'
    )
    assert "dry run" in result.stderr
    assert seed_outlets.read_bytes() == before


def test_outlets_add_with_feeds_given_skips_discovery(
    harbour: LoopbackServer, seed_outlets: Path
) -> None:
    env = cli_env("sqlite:///unused.db", seed_outlets)
    feed = "https://harbour.example/other.xml"
    ok(["outlets", "add", harbour.url("/"), "--name", "Named", "--feed", feed], env)
    assert harbour.requests == []  # a name and a feed: nothing to fetch
    ok(["outlets", "add", harbour.url("/"), "--feed", f"{feed}?2"], env)
    assert [r.path for r in harbour.requests] == ["/"]  # only the page, for its name
    added = load_outlets(seed_outlets)[-2:]
    assert [(o.name, o.feeds) for o in added] == [
        ("Named", (feed,)),
        ("Harbour Gazette", (f"{feed}?2",)),
    ]


def test_outlets_add_refuses_a_feed_that_another_outlet_has(
    seed_outlets: Path, tmp_path: Path
) -> None:
    before = seed_outlets.read_bytes()
    taken = load_outlets(seed_outlets)[0]
    env = cli_env("sqlite:///unused.db", seed_outlets)
    result = invoke(
        ["outlets", "add", "https://x.example", "--name", "X", "--feed", taken.feeds[0]], env
    )
    assert_user_error(result, 2, str(seed_outlets), taken.feeds[0], repr(taken.name))
    alias = invoke(
        ["outlets", "add", "https://x.example", "--name", "X", "--alias", taken.name.upper(),
         "--feed", "https://x.example/rss"],
        env,
    )  # fmt: skip
    assert_user_error(alias, 2, "alias", "already used")
    assert seed_outlets.read_bytes() == before


def test_outlets_add_without_a_feed_names_the_page(seed_outlets: Path) -> None:
    with LoopbackServer() as server:
        server.route("/", respond(200, b"<html><head><title>Nothing</title></head></html>"))
        result = invoke(
            ["outlets", "add", server.url("/")], cli_env("sqlite:///u.db", seed_outlets)
        )
    assert_user_error(result, 1, server.url("/"), "no feed found")


def test_outlets_add_refuses_a_private_address_unless_allowed(
    harbour: LoopbackServer, seed_outlets: Path
) -> None:
    before = seed_outlets.read_bytes()
    env = cli_env("sqlite:///u.db", seed_outlets, AGGREGATOR_FETCH__ALLOW_PRIVATE_NETWORKS="false")
    result = invoke(["outlets", "add", harbour.url("/")], env)
    assert_user_error(result, 1, "refusing", "127.0.0.1", "loopback")
    assert harbour.requests == []
    assert seed_outlets.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["outlets", "add", "ftp://x.example/"], ["URL", "ftp://x.example/"]),
        (["outlets", "add", "https://x.example", "--interval", "soon"], ["--interval", "soon"]),
        (["outlets", "add", "https://x.example", "--feed", "nope nope"], ["--feed"]),
        (["outlets", "--json", "add", "https://x.example"], ["--json", "outlets add"]),
    ],
    ids=["url", "interval", "feed", "json-with-add"],
)
def test_outlets_add_usage_errors_name_the_option(
    seed_outlets: Path, args: list[str], names: list[str]
) -> None:
    before = seed_outlets.read_bytes()
    assert_user_error(invoke(args, cli_env("sqlite:///u.db", seed_outlets)), 2, *names)
    assert seed_outlets.read_bytes() == before


def test_opml_export_writes_one_outline_per_feed(seed_outlets: Path, tmp_path: Path) -> None:
    env = cli_env("sqlite:///u.db", seed_outlets)
    printed = ok(["opml", "export"], env).stdout_bytes
    outlets = load_outlets(seed_outlets)
    document = parse_opml(printed, "stdout")
    assert document.version == "2.0"
    assert [f.xml_url for f in document.feeds] == [u for o in outlets for u in o.feeds]
    target = tmp_path / "subs.opml"
    assert ok(["opml", "export", "-o", str(target)], env).stdout == ""
    assert parse_opml(target.read_bytes(), str(target)) == document


def test_opml_import_round_trip_and_reimport_skips_everything(
    seed_outlets: Path, tmp_path: Path
) -> None:
    subs = tmp_path / "subs.opml"
    ok(["opml", "export", "-o", str(subs)], cli_env("sqlite:///u.db", seed_outlets))
    fresh = tmp_path / "fresh.toml"
    fresh.write_text("# my own outlets\n")
    env = cli_env("sqlite:///u.db", fresh)

    dry = ok(["opml", "import", str(subs), "--dry-run"], env)
    assert dry.stdout.count("[[outlets]]") == len(load_outlets(seed_outlets))
    assert fresh.read_text() == "# my own outlets\n"

    result = ok(["opml", "import", str(subs)], env)
    assert result.stdout == ""
    assert f"{len(load_outlets(seed_outlets))} new outlet(s)" in result.stderr
    assert fresh.read_text().startswith("# my own outlets\n\n[[outlets]]\n")
    assert load_outlets(fresh) == load_outlets(seed_outlets)

    written = fresh.read_bytes()
    again = ok(["opml", "import", str(subs)], env)
    assert "0 feed(s) added" in again.stderr and "skip " in again.stderr
    assert fresh.read_bytes() == written


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]>'
            b'<opml><body><outline text="&a;" xmlUrl="https://a.example/"/></body></opml>',
            "refused: the file has a DTD",
        ),
        (b"<opml><body><outline>", "not valid XML"),
        (b'<opml version="2.0"><body><outline text="folder"/></body></opml>', "no feeds"),
    ],
    ids=["dtd", "invalid", "no-feeds"],
)
def test_opml_import_of_a_bad_file_names_it_and_writes_nothing(
    seed_outlets: Path, tmp_path: Path, content: bytes, problem: str
) -> None:
    before = seed_outlets.read_bytes()
    bad = tmp_path / "bad.opml"
    bad.write_bytes(content)
    result = invoke(["opml", "import", str(bad)], cli_env("sqlite:///u.db", seed_outlets))
    assert_user_error(result, 1, str(bad), problem)
    assert seed_outlets.read_bytes() == before
    missing = invoke(
        ["opml", "import", str(tmp_path / "none.opml")], cli_env("sqlite:///u.db", seed_outlets)
    )
    assert_user_error(missing, 1, str(tmp_path / "none.opml"), "No such file")


def test_outlets_add_takes_the_main_feed_unless_all_feeds(seed_outlets: Path) -> None:
    links = (
        b'<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments.xml">'
        b'<link rel="alternate" type="application/rss+xml" title="Posts" href="/rss.xml">'
    )
    env = cli_env("sqlite:///u.db", seed_outlets)
    with LoopbackServer() as server:
        server.route("/", respond(200, HOMEPAGE.replace(b"</head>", links + b"</head>")))
        server.route("/rss.xml", respond(200, HARBOUR_RSS))
        server.route("/comments.xml", respond(200, HARBOUR_RSS.replace(b"<guid>1", b"<guid>c")))
        one = ok(["outlets", "add", server.url("/"), "--dry-run"], env)
        every = ok(["outlets", "add", server.url("/"), "--all-feeds", "--dry-run"], env)
    assert f'feeds = ["{server.url("/rss.xml")}"]' in one.stdout
    assert "--all-feeds" in one.stderr
    assert server.url("/comments.xml") in every.stdout and server.url("/rss.xml") in every.stdout
