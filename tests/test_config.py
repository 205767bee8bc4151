"""Settings and outlets: defaults, the shipped files, environment overrides, every error."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.config import load_outlets, load_settings
from aggregator.configfile import parse_duration
from aggregator.errors import ConfigError
from aggregator.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHIPPED_SETTINGS = REPO / "config" / "aggregator.toml"
SHIPPED_OUTLETS = REPO / "config" / "outlets.toml"
REQUIRED_OUTLETS = ("AzerNEWS", "Politico", "CBS News", "Reuters", "BBC News", "Al Jazeera")

# A few lines of preamble so that every expected line number below is a real lookup.
PREAMBLE = "# test file\n# line two\n\n"
FIRST = PREAMBLE.count("\n") + 1  # the first line after the preamble


@pytest.fixture(autouse=True)
def _isolated_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up ./config/aggregator.toml by accident."""
    monkeypatch.chdir(tmp_path)


def _sections() -> dict[str, Any]:
    defaults = Settings()
    return {
        field.name: getattr(defaults, field.name)
        for field in dataclasses.fields(Settings)
        if dataclasses.is_dataclass(getattr(defaults, field.name))
    }


def _write(tmp_path: Path, text: str, name: str = "file.toml") -> Path:
    path = tmp_path / name
    path.write_text(PREAMBLE + text, encoding="utf-8")
    return path


def _assert_error(error: ConfigError, path: Path | str, line: int | None, *fragments: str) -> None:
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    message = str(error)
    assert message.startswith(where), message
    assert error.line == line
    for fragment in fragments:
        assert fragment in message, message


# --- defaults and the shipped files -------------------------------------------------------


def test_no_settings_file_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}) == Settings()


def test_shipped_settings_file_equals_the_defaults() -> None:
    settings = load_settings(SHIPPED_SETTINGS, environ={})
    assert settings.source == SHIPPED_SETTINGS
    assert settings.outlets_file == SHIPPED_OUTLETS
    assert dataclasses.replace(settings, source=None, outlets_file=Settings().outlets_file) == (
        Settings()
    )


def test_shipped_settings_file_writes_out_every_setting() -> None:
    written = tomllib.loads(SHIPPED_SETTINGS.read_text(encoding="utf-8"))
    for section, values in _sections().items():
        fields = {field.name for field in dataclasses.fields(values)}
        assert set(written[section]) == fields, section
    assert written["outlets"] == {"file": "outlets.toml"}


def test_settings_file_in_the_working_directory_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    settings = load_settings(environ={})
    assert settings.source == Path("config/aggregator.toml")
    assert settings.outlets_file == Path("config/outlets.toml")


def test_aggregator_config_variable_selects_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[fetch]\nconcurrency = 3\n")
    settings = load_settings(environ={"AGGREGATOR_CONFIG": str(path)})
    assert settings.fetch.concurrency == 3
    assert settings.source == path


def test_explicit_path_wins_over_aggregator_config(tmp_path: Path) -> None:
    chosen = _write(tmp_path, "[fetch]\nconcurrency = 3\n", "chosen.toml")
    other = _write(tmp_path, "[fetch]\nconcurrency = 9\n", "other.toml")
    settings = load_settings(chosen, environ={"AGGREGATOR_CONFIG": str(other)})
    assert settings.fetch.concurrency == 3


def test_missing_explicit_settings_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing, environ={})
    _assert_error(caught.value, missing, None, "not found", "--config")


def test_missing_aggregator_config_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"AGGREGATOR_CONFIG": str(missing)})
    _assert_error(caught.value, missing, None, "not found", "AGGREGATOR_CONFIG")


def test_shipped_outlets_file() -> None:
    outlets = load_outlets(SHIPPED_OUTLETS)
    names = {outlet.name for outlet in outlets}
    assert len(outlets) >= 25
    assert set(REQUIRED_OUTLETS) <= names
    by_name = {outlet.name: outlet for outlet in outlets}
    assert {"AP", "The Associated Press"} <= set(by_name["Associated Press"].aliases)
    assert "Thomson Reuters" in by_name["Reuters"].aliases
    assert "POLITICO" in by_name["Politico"].aliases
    for outlet in outlets:
        assert 1 <= len(outlet.feeds) <= 3, outlet.name
        assert outlet.homepage is not None and outlet.homepage.startswith("https://")
        for url in outlet.feeds:
            assert url.startswith(("https://", "http://")), url
            assert "{base}" not in url


# --- the environment -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "setting", "expected"),
    [
        ("AGGREGATOR_FETCH__ALLOW_PRIVATE_NETWORKS", "true", "fetch.allow_private_networks", True),
        ("AGGREGATOR_FETCH__ALLOW_PRIVATE_NETWORKS", "YES", "fetch.allow_private_networks", True),
        ("AGGREGATOR_FETCH__ALLOW_PRIVATE_NETWORKS", "1", "fetch.allow_private_networks", True),
        ("AGGREGATOR_FETCH__FULL_TEXT", "False", "fetch.full_text", False),
        ("AGGREGATOR_FETCH__FULL_TEXT", "no", "fetch.full_text", False),
        ("AGGREGATOR_FETCH__FULL_TEXT", "0", "fetch.full_text", False),
        ("AGGREGATOR_FETCH__CONCURRENCY", " 4 ", "fetch.concurrency", 4),
        ("AGGREGATOR_FETCH__CONNECT_TIMEOUT", "2.5", "fetch.connect_timeout", 2.5),
        ("AGGREGATOR_FETCH__USER_AGENT", "test/1", "fetch.user_agent", "test/1"),
        ("AGGREGATOR_SCHEDULE__JITTER", "0", "schedule.jitter", 0.0),
        ("AGGREGATOR_SCHEDULE__TICK", "5s", "schedule.tick", timedelta(seconds=5)),
        ("AGGREGATOR_SCHEDULE__LEASE", "90", "schedule.lease", timedelta(seconds=90)),
        ("AGGREGATOR_DEDUP__WINDOW", "7d", "dedup.window", timedelta(days=7)),
        ("AGGREGATOR_DEDUP__LSH_THRESHOLD", "0.5", "dedup.lsh_threshold", 0.5),
        ("AGGREGATOR_HTTP__PORT", "0", "http.port", 0),
        ("AGGREGATOR_HTTP__BASE_URL", "https://n.example", "http.base_url", "https://n.example"),
        ("AGGREGATOR_REDIS__PREFIX", "agg2", "redis.prefix", "agg2"),
        ("AGGREGATOR_DATABASE__URL", "sqlite:///x.db", "database.url", "sqlite:///x.db"),
        (
            "AGGREGATOR_DATABASE_URL",
            "postgresql+psycopg://db/a",
            "database.url",
            "postgresql+psycopg://db/a",
        ),
        (
            "AGGREGATOR_REDIS_URL",
            "redis://localhost:6379/0",
            "redis.url",
            "redis://localhost:6379/0",
        ),
    ],
)
def test_environment_overrides_a_setting(
    variable: str, value: str, setting: str, expected: object
) -> None:
    section, _, key = setting.partition(".")
    settings = load_settings(environ={variable: value})
    assert getattr(getattr(settings, section), key) == expected


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, timedelta):
        return str(int(value.total_seconds()))
    return "" if value is None else str(value)


def test_every_setting_has_a_variable() -> None:
    environ = {
        f"AGGREGATOR_{section.upper()}__{field.name.upper()}": _as_text(getattr(values, field.name))
        for section, values in _sections().items()
        for field in dataclasses.fields(values)
    }
    environ["AGGREGATOR_OUTLETS__FILE"] = "config/outlets.toml"
    assert load_settings(environ=environ) == Settings()


def test_outlets_variables(tmp_path: Path) -> None:
    assert load_settings(environ={"AGGREGATOR_OUTLETS": "x/o.toml"}).outlets_file == Path(
        "x/o.toml"
    )
    absolute = str(tmp_path / "o.toml")
    assert load_settings(environ={"AGGREGATOR_OUTLETS__FILE": absolute}).outlets_file == Path(
        absolute
    )


def test_empty_redis_url_means_no_redis() -> None:
    assert load_settings(environ={"AGGREGATOR_REDIS_URL": ""}).redis.url is None


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[fetch]\nconcurrency = 3\n[database]\nurl = "sqlite:///file.db"\n')
    environ = {"AGGREGATOR_FETCH__CONCURRENCY": "5", "AGGREGATOR_DATABASE_URL": "sqlite:///env.db"}
    settings = load_settings(path, environ=environ)
    assert settings.fetch.concurrency == 5
    assert settings.database.url == "sqlite:///env.db"


def test_documented_short_variable_wins_over_the_long_form() -> None:
    environ = {
        "AGGREGATOR_DATABASE__URL": "sqlite:///long.db",
        "AGGREGATOR_DATABASE_URL": "sqlite:///short.db",
    }
    assert load_settings(environ=environ).database.url == "sqlite:///short.db"


def test_unrelated_and_test_variables_are_ignored() -> None:
    environ = {
        "AGGREGATOR_TEST_DATABASE_URL": "postgresql+psycopg://x/y",
        "AGGREGATOR_TEST_REDIS_URL": "redis://x",
        "HOME": "/root",
        "aggregator_fetch__concurrency": "0",
    }
    assert load_settings(environ=environ) == Settings()


@pytest.mark.parametrize(
    ("variable", "value", "fragments"),
    [
        (
            "AGGREGATOR_FETCH__CONCURRENCY",
            "abc",
            ["fetch.concurrency: expected an integer, got 'abc'"],
        ),
        ("AGGREGATOR_FETCH__CONCURRENCY", "0", ["fetch.concurrency must be at least 1"]),
        ("AGGREGATOR_FETCH__ALLOW_PRIVATE_NETWORKS", "maybe", ["expected a boolean", "'maybe'"]),
        ("AGGREGATOR_SCHEDULE__JITTER", "nan", ["schedule.jitter: expected a number"]),
        ("AGGREGATOR_SCHEDULE__TICK", "soon", ["schedule.tick", "invalid duration 'soon'"]),
        (
            "AGGREGATOR_FETCH__CONCURENCY",
            "3",
            ["unknown key 'concurency' in [fetch]", "'concurrency'"],
        ),
        ("AGGREGATOR_FECH__CONCURRENCY", "3", ["unknown section 'fech'", "did you mean 'fetch'"]),
        ("AGGREGATOR_DATABSE_URL", "sqlite://", ["unknown variable", "AGGREGATOR_DATABASE_URL"]),
        ("AGGREGATOR_DATABASE_URL", "", ["database.url must not be empty"]),
    ],
)
def test_bad_variable_is_named(variable: str, value: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={variable: value})
    _assert_error(caught.value, variable, None, *fragments)


# --- errors in the settings file -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ("[fetch]\nconcurrency =\n", 1, ["invalid TOML", "Invalid value", "column"]),
        ("[fetch]\nmax_redirects = [1,\n", 1, ["invalid TOML"]),
        (
            "[fecth]\nconcurrency = 3\n",
            0,
            ["unknown section 'fecth'", "did you mean 'fetch'", "valid: database"],
        ),
        (
            "[fetch]\nuser_agent = 'x'\nconcurency = 3\n",
            2,
            [
                "unknown key 'concurency' in [fetch]",
                "did you mean 'concurrency'",
                "per_host_connections",
            ],
        ),
        ("concurrency = 3\n", 0, ["unknown section 'concurrency'"]),
        ("fetch = 3\n", 0, ["fetch: expected a table"]),
        (
            "[fetch]\nconcurrency = 'abc'\n",
            1,
            ["fetch.concurrency: expected an integer, got 'abc'"],
        ),
        ("[fetch]\nconcurrency = 2.5\n", 1, ["fetch.concurrency: expected an integer, got 2.5"]),
        (
            "[fetch]\nallow_private_networks = 'true'\n",
            1,
            ["fetch.allow_private_networks: expected a boolean"],
        ),
        ("[fetch]\nconnect_timeout = 'fast'\n", 1, ["fetch.connect_timeout: expected a number"]),
        ("[database]\nurl = 5\n", 1, ["database.url: expected a string, got 5"]),
        ("[schedule]\ntick = '5 parsecs'\n", 1, ["schedule.tick: invalid duration '5 parsecs'"]),
        ("[schedule]\ntick = true\n", 1, ["schedule.tick: expected a duration"]),
        ("[fetch]\nconcurrency = 0\n", 1, ["fetch.concurrency must be at least 1, got 0"]),
        ("[fetch]\nread_timeout = 0\n", 1, ["fetch.read_timeout must be greater than 0"]),
        ("[fetch]\nmax_redirects = -1\n", 1, ["fetch.max_redirects must not be negative"]),
        ("[schedule]\njitter = 1.5\n", 1, ["schedule.jitter must be between 0 and 1"]),
        ("[schedule]\n\nlease = '0s'\n", 2, ["schedule.lease must be greater than 0"]),
        (
            "[schedule]\nmin_interval = '2d'\n",
            1,
            ["schedule.min_interval", "must not exceed schedule.max_interval"],
        ),
        ("[schedule]\nmax_interval = '30s'\n", 1, ["must not exceed schedule.max_interval"]),
        (
            "[dedup]\nlsh_threshold = 1.0\n",
            1,
            ["dedup.lsh_threshold must be strictly between 0 and 1"],
        ),
        (
            "[dedup]\nlsh_threshold = 0\n",
            1,
            ["dedup.lsh_threshold must be strictly between 0 and 1"],
        ),
        (
            "[dedup]\nnum_perm = 8\n",
            1,
            ["dedup.num_perm must be a power of two between 64 and 1024"],
        ),
        (
            "[dedup]\nnum_perm = 100\n",
            1,
            ["dedup.num_perm must be a power of two between 64 and 1024"],
        ),
        (
            "[dedup]\nnum_perm = 2048\n",
            1,
            ["dedup.num_perm must be a power of two between 64 and 1024"],
        ),
        ("[dedup]\nshingle_size = 13\n", 1, ["dedup.shingle_size must be between 1 and 12"]),
        ("[dedup]\nwindow = 0\n", 1, ["dedup.window must be greater than 0"]),
        ("[http]\nport = 70000\n", 1, ["http.port must be between 0 and 65535"]),
        ("[http]\nbase_url = 'ftp://example.org'\n", 1, ["http.base_url must be an http(s) URL"]),
        ("[redis]\nprefix = ''\n", 1, ["redis.prefix must not be empty"]),
        ("[outlets]\nfiles = 'x.toml'\n", 1, ["unknown key 'files' in [outlets]", "'file'"]),
    ],
)
def test_bad_settings_file_names_file_line_and_problem(
    tmp_path: Path, text: str, line: int, fragments: list[str]
) -> None:
    """``line`` counts from the first line after the preamble (0 = that line)."""
    path = _write(tmp_path, text, "settings.toml")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    _assert_error(caught.value, path, FIRST + line, *fragments)


def test_error_points_at_the_key_in_its_own_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "[database]\nurl = 'sqlite:///a.db'\n\n[redis]\nurl = 5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    _assert_error(caught.value, path, FIRST + 4, "redis.url: expected a string, got 5")


@pytest.mark.parametrize("text", ["fetch.concurrency = 0\n", "fetch = { concurrency = 0 }\n"])
def test_dotted_and_inline_keys_point_at_their_line(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    _assert_error(caught.value, path, FIRST, "fetch.concurrency must be at least 1")


def test_outlets_file_is_relative_to_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = _write(tmp_path / "etc", "[outlets]\nfile = 'mine.toml'\n")
    assert load_settings(path, environ={}).outlets_file == tmp_path / "etc" / "mine.toml"
    absolute = tmp_path / "elsewhere.toml"
    path = _write(tmp_path / "etc", f"[outlets]\nfile = '{absolute}'\n")
    assert load_settings(path, environ={}).outlets_file == absolute


def test_settings_file_values_are_read(tmp_path: Path) -> None:
    text = "[schedule]\ndefault_interval = '1h30m'\njitter = 0\n[redis]\nurl = 'redis://r:6379/1'\n"
    settings = load_settings(_write(tmp_path, text), environ={})
    assert settings.schedule.default_interval == timedelta(minutes=90)
    assert settings.schedule.jitter == 0.0
    assert isinstance(settings.schedule.jitter, float)
    assert settings.redis.url == "redis://r:6379/1"


# --- outlets -------------------------------------------------------------------------------

GOOD_OUTLETS = """\
[[outlets]]
name = "Politico"
homepage = "{base}/"
aliases = ["POLITICO", "Politico.com", "politico"]
feeds = ["{base}/politico.xml"]
interval = "15m"

[[outlets]]
name = "AzerNEWS"
feeds = [
    "{base}/azernews.xml",
    "https://www.azernews.az/feed.php",
]
"""


def test_base_substitution(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_OUTLETS, "outlets.toml")
    politico, azernews = load_outlets(path, base_url="http://127.0.0.1:8123/")
    assert politico.feeds == ("http://127.0.0.1:8123/politico.xml",)
    assert politico.homepage == "http://127.0.0.1:8123/"
    assert politico.interval == timedelta(minutes=15)
    assert politico.aliases == ("POLITICO", "Politico.com")
    assert azernews.feeds == (
        "http://127.0.0.1:8123/azernews.xml",
        "https://www.azernews.az/feed.php",
    )
    assert azernews.homepage is None
    assert azernews.aliases == ()
    assert azernews.interval is None


def test_base_placeholder_without_base_url(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_OUTLETS, "outlets.toml")
    with pytest.raises(ConfigError) as caught:
        load_outlets(path)
    _assert_error(caught.value, path, FIRST + 2, "outlet 'Politico'", "homepage")


def test_missing_outlets_file_says_how_to_choose_one(tmp_path: Path) -> None:
    missing = tmp_path / "outlets.toml"
    with pytest.raises(ConfigError) as caught:
        load_outlets(missing)
    _assert_error(caught.value, missing, None, "not found", "AGGREGATOR_OUTLETS", "--config")


def test_empty_outlets_file_has_no_outlets(tmp_path: Path) -> None:
    assert load_outlets(_write(tmp_path, "")) == ()


A = '[[outlets]]\nname = "A"\nfeeds = ["https://a.example/feed"]\n'
B = '[[outlets]]\nname = "B"\nfeeds = ["https://b.example/feed"]\n'
WIRE = '[[outlets]]\nname = "A"\naliases = ["Wire"]\nfeeds = ["https://a.example/"]\n'


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ('[[outlets]]\nname = "A"\nfeeds = ["https://a.example/feed"\n', 2, ["invalid TOML"]),
        (
            '[[outlets]]\nfeeds = ["https://a.example/feed"]\n',
            0,
            ["outlet #1", "'name' must be a non-empty string"],
        ),
        (
            '[[outlets]]\nname = "  "\nfeeds = ["https://a.example/feed"]\n',
            1,
            ["outlet #1", "'name'"],
        ),
        (
            A + '[[outlets]]\nname = "a"\nfeeds = ["https://c.example/feed"]\n',
            4,
            ["duplicate name: 'a'", "(line 5)"],
        ),
        (
            A
            + '[[outlets]]\nname = "C"\nfeeds = [\n  "https://c.example/",\n  "https://a.example/feed",\n]\n',
            7,
            ["outlet 'C'", "'https://a.example/feed' already belongs to outlet 'A'"],
        ),
        (
            '[[outlets]]\nname = "A"\nfeeds = ["ftp://a.example/feed"]\n',
            2,
            ["outlet 'A'", "'ftp://a.example/feed' is not a valid http(s) URL"],
        ),
        ('[[outlets]]\nname = "A"\nfeeds = ["a.example/feed"]\n', 2, ["not a valid http(s) URL"]),
        ('[[outlets]]\nname = "A"\nfeeds = ["http://[::1/feed"]\n', 2, ["not a valid http(s) URL"]),
        (
            '[[outlets]]\nname = "A"\nfeeds = ["https://a.example:port/"]\n',
            2,
            ["not a valid http(s) URL"],
        ),
        (
            '[[outlets]]\nname = "A"\nfeeds = ["{base}/a.xml"]\n',
            2,
            ["uses {base} but no base URL was given"],
        ),
        (
            '[[outlets]]\nname = "A"\nfeeds = ["https://a.example/", "https://a.example/"]\n',
            2,
            ["listed twice"],
        ),
        ('[[outlets]]\nname = "A"\nfeeds = []\n', 2, ["feeds must be a non-empty list of URLs"]),
        ('[[outlets]]\nname = "A"\n', 0, ["feeds must be a non-empty list of URLs"]),
        (
            A + B + 'aliases = ["x", "a"]\n',
            6,
            ["outlet 'B'", "alias 'a' is already the name of outlet 'A'"],
        ),
        (
            WIRE + B + 'aliases = [\n  "WIRE",\n]\n',
            8,
            ["alias 'WIRE' is already an alias of outlet 'A'"],
        ),
        (
            WIRE + '[[outlets]]\nname = "wire"\nfeeds = ["https://b.example/"]\n',
            5,
            ["duplicate name: 'wire' is an alias of outlet 'A'"],
        ),
        (A + 'aliases = "A1"\n', 3, ["aliases must be a list of non-empty strings"]),
        (A + 'interval = "soon"\n', 3, ["outlet 'A': interval: invalid duration 'soon'"]),
        (A + 'interval = "0s"\n', 3, ["interval must be greater than 0"]),
        (A + "interval = [1]\n", 3, ["interval", "expected a duration"]),
        (A + 'homepage = "www.a.example"\n', 3, ["homepage must be an http(s) URL"]),
        (A + 'feed = ["https://a.example/2"]\n', 3, ["unknown key 'feed'", "did you mean 'feeds'"]),
        (
            A + '[[outlet]]\nname = "B"\n',
            3,
            ["unknown top-level key 'outlet'", "did you mean 'outlets'"],
        ),
        ('outlets = "A"\n', 0, ["[[outlets]] tables"]),
        ("outlets = [1]\n", 0, ["outlet #1: expected a table"]),
    ],
)
def test_bad_outlets_file_names_file_line_and_problem(
    tmp_path: Path, text: str, line: int, fragments: list[str]
) -> None:
    """``line`` counts from the first line after the preamble (0 = that line)."""
    path = _write(tmp_path, text, "outlets.toml")
    with pytest.raises(ConfigError) as caught:
        load_outlets(path)
    _assert_error(caught.value, path, FIRST + line, *fragments)


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("14d", timedelta(days=14)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m 15s", timedelta(hours=1, minutes=30, seconds=15)),
        (" 2H ", timedelta(hours=2)),
        ("1.5h", timedelta(minutes=90)),
        ("0s", timedelta(0)),
        ("90", timedelta(seconds=90)),
        ("0.25", timedelta(milliseconds=250)),
        (90, timedelta(seconds=90)),
        (1.5, timedelta(seconds=1.5)),
    ],
)
def test_parse_duration(text: str | int | float, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "h",
        "5x",
        "m5",
        "1h-5m",
        "30m1h",
        "5m5m",
        "-5",
        "-5m",
        "nan",
        "inf",
        "1e400d",
        "1.h",
        "1,5h",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [True, None, [1], -1, float("nan"), float("inf")])
def test_parse_duration_rejects_other_values(value: Any) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


def test_parse_duration_messages_quote_the_input_and_say_why() -> None:
    with pytest.raises(ValueError, match=r"'30m1h': units go from largest to smallest"):
        parse_duration("30m1h")
    with pytest.raises(ValueError, match=r"'5x': use seconds or units .* 1h30m"):
        parse_duration("5x")
    with pytest.raises(ValueError, match=r"'-5m'"):
        parse_duration("-5m")
    with pytest.raises(ValueError, match=r"'-5': must not be negative"):
        parse_duration("-5")


def _format(value: timedelta) -> str:
    """A test-side writer of durations, deliberately independent of the parser."""
    days, seconds = value.days, value.seconds
    parts = [(days, "d"), (seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"


@given(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=36_500)).map(
        lambda d: timedelta(days=d.days, seconds=d.seconds)
    )
)
def test_parse_duration_round_trip(value: timedelta) -> None:
    assert parse_duration(_format(value)) == value


@given(st.integers(min_value=0, max_value=10**9))
def test_seconds_are_seconds(seconds: int) -> None:
    assert parse_duration(seconds) == parse_duration(str(seconds)) == timedelta(seconds=seconds)


@given(
    st.lists(st.sampled_from("wdhms"), min_size=1, max_size=5, unique=True),
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=5, max_size=5),
)
def test_units_add_up(units: list[str], amounts: list[int]) -> None:
    seconds = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
    ordered = sorted(units, key=lambda unit: -seconds[unit])
    text = "".join(f"{amount}{unit}" for amount, unit in zip(amounts, ordered, strict=False))
    expected = sum(amount * seconds[unit] for amount, unit in zip(amounts, ordered, strict=False))
    assert parse_duration(text) == timedelta(seconds=expected)
