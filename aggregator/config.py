"""TOML files and the environment → frozen ``Settings`` and the outlets list.

Precedence, lowest first: the defaults in ``settings.py``, the settings file, then the
environment (``AGGREGATOR_SECTION__KEY`` and the three documented short variables). Every
mistake becomes a ``ConfigError`` naming the file (or variable), the line and the problem,
because a daemon that silently ignores a typo in its configuration is worse than one that
refuses to start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import os
import typing
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from aggregator.configfile import TomlFile, parse_duration, unknown_name
from aggregator.errors import ConfigError
from aggregator.settings import Settings
from aggregator.types import OutletConfig

__all__ = ["load_outlets", "load_settings"]

DEFAULT_SETTINGS_FILE = Path("config/aggregator.toml")
ENV_PREFIX = "AGGREGATOR_"
ENV_CONFIG = "AGGREGATOR_CONFIG"
#: The documented short variables (PRODUCT.md §2) and the setting each one sets.
ENV_SHORTCUTS = {
    "AGGREGATOR_DATABASE_URL": "database.url",
    "AGGREGATOR_REDIS_URL": "redis.url",
    "AGGREGATOR_OUTLETS": "outlets.file",
}
#: Variables the test suite owns (DESIGN.md §6); never settings, never errors.
ENV_TEST_PREFIX = "AGGREGATOR_TEST_"

# --- the settings schema -------------------------------------------------------------------


_SECTIONS: dict[str, Any] = {
    name: hint
    for name, hint in typing.get_type_hints(Settings).items()
    if dataclasses.is_dataclass(hint)
}
#: section → key → type, read from the dataclasses so that the two never drift apart.
_SCHEMA = {section: typing.get_type_hints(cls) for section, cls in _SECTIONS.items()}
_SCHEMA["outlets"] = {"file": Path}
_BOOL_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _is_number(raw: object) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)


#: type → (accepts the TOML value?, what was expected, turns it into the setting's value)
_TYPES: dict[Any, tuple[Callable[[Any], bool], str, Callable[[Any], Any]]] = {
    bool: (lambda raw: isinstance(raw, bool), "a boolean (true or false)", bool),
    int: (lambda raw: isinstance(raw, int) and not isinstance(raw, bool), "an integer", int),
    float: (_is_number, "a number", float),
    str: (lambda raw: isinstance(raw, str), "a string", str),
    # TOML has no null: an empty string means "not set", in the file and in variables.
    str | None: (lambda raw: isinstance(raw, str), "a string", lambda raw: raw or None),
    timedelta: (lambda raw: isinstance(raw, str) or _is_number(raw), "a duration", parse_duration),
    Path: (lambda raw: isinstance(raw, str) and bool(raw.strip()), "a file path", _path),
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Given:
    """One setting as written, and where: for messages and for relative paths."""

    raw: Any
    path: str  # the settings file, or the environment variable
    line: int | None
    base: Path | None = None  # the settings file's directory; None for variables

    def fail(self, problem: str) -> NoReturn:
        raise ConfigError(problem, path=self.path, line=self.line)


def _convert(name: str, given: _Given) -> Any:
    section, _, key = name.partition(".")
    hint = _SCHEMA[section][key]
    raw = given.raw if given.base is not None else _from_text(hint, given.raw)
    accepts, expected, finish = _TYPES[hint]
    if not accepts(raw):
        given.fail(f"{name}: expected {expected}, got {given.raw!r}")
    try:
        value = finish(raw)
    except ValueError as error:  # parse_duration says what is wrong and quotes the input
        given.fail(f"{name}: {error}")
    if isinstance(value, Path) and given.base is not None:
        value = given.base / value  # relative to the settings file; absolute stays absolute
    return value


def _from_text(hint: Any, text: str) -> Any:
    """Variables are text: read one as the TOML value it stands for, if it can be."""
    word = text.strip().lower()
    if hint is bool:
        return _BOOL_WORDS.get(word, text)
    with contextlib.suppress(ValueError):
        if hint is int or hint is float:
            return hint(word)
    return text


def _positive(value: Any) -> bool:
    return bool(value > type(value)())


#: Ranges that matter; any duration must also be positive.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "database.url": (bool, "must not be empty"),
    "fetch.user_agent": (lambda v: bool(v.strip()), "must not be empty (sites block those)"),
    "fetch.connect_timeout": (_positive, "must be greater than 0 seconds"),
    "fetch.read_timeout": (_positive, "must be greater than 0 seconds"),
    "fetch.total_timeout": (_positive, "must be greater than 0 seconds"),
    "fetch.page_total_timeout": (_positive, "must be greater than 0 seconds"),
    "fetch.max_body_bytes": (_positive, "must be at least 1"),
    "fetch.max_page_bytes": (_positive, "must be at least 1"),
    "fetch.max_redirects": (lambda v: v >= 0, "must not be negative"),
    "fetch.concurrency": (lambda v: v >= 1, "must be at least 1"),
    "fetch.per_host_connections": (lambda v: v >= 1, "must be at least 1"),
    "fetch.full_text_max_pages": (lambda v: v >= 0, "must not be negative"),
    "schedule.jitter": (lambda v: 0 <= v <= 1, "must be between 0 and 1"),
    "schedule.failing_after": (lambda v: v >= 1, "must be at least 1"),
    "dedup.num_perm": (
        lambda v: 64 <= v <= 1024 and v & (v - 1) == 0,
        "must be a power of two between 64 and 1024",
    ),
    "dedup.anchor_bits": (lambda v: 0 <= v <= 8, "must be between 0 and 8"),
    "dedup.shingle_size": (lambda v: 1 <= v <= 12, "must be between 1 and 12"),
    "dedup.seed": (lambda v: 0 <= v < 2**32, "must be between 0 and 4294967295"),  # numpy's
    "dedup.min_tokens": (lambda v: v >= 0, "must not be negative"),
    "dedup.lsh_threshold": (lambda v: 0 < v < 1, "must be strictly between 0 and 1"),
    "http.host": (bool, "must not be empty"),
    "http.port": (lambda v: 0 <= v <= 65535, "must be between 0 and 65535"),
    "http.feed_items": (lambda v: v >= 1, "must be at least 1"),
    "http.base_url": (lambda v: v is None or _is_web_url(v), "must be an http(s) URL"),
    "redis.prefix": (bool, "must not be empty"),
}
#: (smaller, larger) pairs: a clamp or backoff range that is upside down is a mistake.
_ORDERED = (
    ("schedule.min_interval", "schedule.max_interval"),
    ("schedule.error_backoff_base", "schedule.error_backoff_max"),
)


# --- load_settings -------------------------------------------------------------------------


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the Settings from a settings file and the environment.

    The file is ``path`` if given (it must exist), else ``$AGGREGATOR_CONFIG``, else
    ``config/aggregator.toml`` in the working directory when present; with none of them
    the defaults apply. ``environ`` defaults to ``os.environ``. Raises ConfigError.
    """
    env = os.environ if environ is None else environ
    source = _settings_file(path, env)
    given = _read_settings_file(source) if source is not None else {}
    given.update(_read_environment(env))
    values = {name: _convert(name, item) for name, item in given.items()}
    _check_ranges(values, given)
    nested: dict[str, dict[str, Any]] = {section: {} for section in _SCHEMA}
    for name, value in values.items():
        section, _, key = name.partition(".")
        nested[section][key] = value
    sections = {section: cls(**nested[section]) for section, cls in _SECTIONS.items()}
    outlets_file = nested["outlets"].get("file", Settings().outlets_file)
    return Settings(**sections, outlets_file=outlets_file, source=source)


def _settings_file(path: Path | None, env: Mapping[str, str]) -> Path | None:
    hint = "check the path given with --config"
    if path is None and env.get(ENV_CONFIG):
        path, hint = Path(env[ENV_CONFIG]), f"check {ENV_CONFIG}"
    elif path is None:
        return DEFAULT_SETTINGS_FILE if DEFAULT_SETTINGS_FILE.is_file() else None
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"settings file not found; {hint}", path=str(path))
    return path


def _read_settings_file(path: Path) -> dict[str, _Given]:
    toml = TomlFile(path, "settings file not found")
    given: dict[str, _Given] = {}
    for section, table in toml.data.items():
        if section not in _SCHEMA:
            toml.fail(unknown_name("section", section, _SCHEMA), section)
        if not isinstance(table, dict):
            toml.fail(f"{section}: expected a table [{section}], got {table!r}", section)
        for key, raw in table.items():
            name = f"{section}.{key}"
            if key not in _SCHEMA[section]:
                toml.fail(unknown_name("key", key, _SCHEMA[section], f" in [{section}]"), name)
            given[name] = _Given(raw, toml.path, toml.line(name), path.parent)
    return given


def _read_environment(env: Mapping[str, str]) -> dict[str, _Given]:
    given: dict[str, _Given] = {}
    # Shortcuts sort last, so AGGREGATOR_DATABASE_URL (the documented name) beats
    # AGGREGATOR_DATABASE__URL when both are set.
    for variable in sorted(env, key=lambda v: (v in ENV_SHORTCUTS, v)):
        ignored = variable == ENV_CONFIG or variable.startswith(ENV_TEST_PREFIX)
        if variable.startswith(ENV_PREFIX) and not ignored:
            name = ENV_SHORTCUTS.get(variable) or _variable_setting(variable)
            given[name] = _Given(env[variable], variable, None)
    return given


def _variable_setting(variable: str) -> str:
    section, separator, key = variable.removeprefix(ENV_PREFIX).lower().partition("__")
    if not separator:
        close = difflib.get_close_matches(variable, [*ENV_SHORTCUTS, ENV_CONFIG], n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        problem = f"unknown variable; {hint}settings are set with AGGREGATOR_SECTION__KEY"
        raise ConfigError(problem, path=variable)
    if section not in _SCHEMA:
        raise ConfigError(unknown_name("section", section, _SCHEMA), path=variable)
    if key not in _SCHEMA[section]:
        raise ConfigError(
            unknown_name("key", key, _SCHEMA[section], f" in [{section}]"), path=variable
        )
    return f"{section}.{key}"


def _check_ranges(values: dict[str, Any], given: dict[str, _Given]) -> None:
    for name, value in values.items():
        check, problem = _RULES.get(name, (_positive, "must be greater than 0"))
        if (name in _RULES or isinstance(value, timedelta)) and not check(value):
            given[name].fail(f"{name} {problem}, got {given[name].raw!r}")
    defaults = Settings()
    for low, high in _ORDERED:
        pair = [values.get(n, _attribute(defaults, n)) for n in (low, high)]
        if pair[0] > pair[1]:
            problem = f"{low} ({pair[0]}) must not exceed {high} ({pair[1]})"
            (given.get(low) or given[high]).fail(problem)


def _attribute(settings: Settings, name: str) -> Any:
    section, _, key = name.partition(".")
    return getattr(getattr(settings, section), key)


# --- load_outlets --------------------------------------------------------------------------

_OUTLET_KEYS = ("name", "homepage", "aliases", "feeds", "interval")
_MISSING_OUTLETS = (
    "file not found; name the outlets file with AGGREGATOR_OUTLETS, or with [outlets] file"
    " in the settings file (--config PATH)"
)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        return False
    spaced = any(character.isspace() for character in url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not spaced


def load_outlets(path: Path, *, base_url: str | None = None) -> tuple[OutletConfig, ...]:
    """Read and validate the outlets file (``[[outlets]]`` tables, PRODUCT.md §2).

    ``base_url`` replaces the literal ``{base}`` in feed and homepage URLs (a trailing
    slash is dropped), so tests and the demo can point outlets at a loopback server.
    Raises ConfigError naming the file, the line and the problem.
    """
    toml = TomlFile(Path(path), _MISSING_OUTLETS)
    for key in toml.data:
        if key != "outlets":
            toml.fail(unknown_name("top-level key", key, ["outlets"]), key)
    entries = toml.data.get("outlets", [])
    if not isinstance(entries, list):
        toml.fail("'outlets' must be written as [[outlets]] tables", "outlets")
    base = None if base_url is None else base_url.rstrip("/")
    outlets = tuple(_outlet(toml, i, entry, base) for i, entry in enumerate(entries))
    _check_unique(toml, outlets)
    return outlets


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    """One ``[[outlets]]`` table being read: what a message about it needs."""

    toml: TomlFile
    where: str  # "outlets#3"
    label: str  # "outlet 'BBC News'"
    base: str | None

    def fail(self, key: str, problem: str, needle: str | None = None) -> NoReturn:
        self.toml.fail(f"{self.label}: {problem}", f"{self.where}.{key}", needle)

    def url(self, written: str) -> str:
        url = written.strip()
        return url if self.base is None else url.replace("{base}", self.base)


def _outlet(toml: TomlFile, index: int, table: object, base: str | None) -> OutletConfig:
    entry = _Entry(toml, f"outlets#{index}", f"outlet #{index + 1}", base)
    if not isinstance(table, dict):
        entry.fail("", f"expected a table, got {table!r}")
    for key in table:
        if key not in _OUTLET_KEYS:
            entry.fail(key, unknown_name("key", key, _OUTLET_KEYS))
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        entry.fail("name", f"'name' must be a non-empty string, got {name!r}")
    entry = dataclasses.replace(entry, label=f"outlet {name.strip()!r}")
    return OutletConfig(
        name=name.strip(),
        homepage=_homepage(entry, table.get("homepage")),
        aliases=_aliases(entry, table.get("aliases", [])),
        feeds=_feeds(entry, table.get("feeds")),
        interval=_interval(entry, table.get("interval")),
    )


def _homepage(entry: _Entry, raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _is_web_url(entry.url(raw)):
        entry.fail("homepage", f"homepage must be an http(s) URL, got {raw!r}")
    return entry.url(raw)


def _aliases(entry: _Entry, raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) and a.strip() for a in raw):
        entry.fail("aliases", f"aliases must be a list of non-empty strings, got {raw!r}")
    aliases: dict[str, str] = {}  # casefolded → as written; credits match without case
    for alias in raw:
        aliases.setdefault(alias.strip().casefold(), alias.strip())
    return tuple(aliases.values())


def _feeds(entry: _Entry, raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(f, str) for f in raw):
        entry.fail("feeds", f"feeds must be a non-empty list of URLs, got {raw!r}")
    feeds: list[str] = []
    for written in raw:
        url = entry.url(written)
        if "{base}" in url:
            entry.fail(
                "feeds", f"feed {written!r} uses {{base}} but no base URL was given", written
            )
        if not _is_web_url(url):
            entry.fail("feeds", f"feed {written!r} is not a valid http(s) URL", written)
        if url in feeds:
            entry.fail("feeds", f"feed {written!r} is listed twice", written)
        feeds.append(url)
    return tuple(feeds)


def _interval(entry: _Entry, raw: object) -> timedelta | None:
    if raw is None:
        return None
    try:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError(f'expected a duration such as "30m", got {raw!r}')
        interval = parse_duration(raw)
    except ValueError as error:
        entry.fail("interval", f"interval: {error}")
    if interval <= timedelta(0):
        entry.fail("interval", f"interval must be greater than 0, got {raw!r}")
    return interval


def _check_unique(toml: TomlFile, outlets: tuple[OutletConfig, ...]) -> None:
    """Names and aliases resolve credits, so each may mean one outlet; a feed has one owner."""
    owners: dict[str, tuple[int, str]] = {}  # casefolded name or alias → (index, what it is)
    feeds: dict[str, str] = {}
    for index, outlet in enumerate(outlets):
        entry = _Entry(toml, f"outlets#{index}", f"outlet {outlet.name!r}", None)
        if (taken := owners.get(outlet.name.casefold())) is not None:
            first = toml.line(f"outlets#{taken[0]}.name")
            entry.fail("name", f"duplicate name: {outlet.name!r} is {taken[1]} (line {first})")
        for alias in outlet.aliases:
            taken = owners.get(alias.casefold())
            if taken is not None and taken[0] != index:
                entry.fail("aliases", f"alias {alias!r} is already {taken[1]}", alias)
        owners[outlet.name.casefold()] = (index, f"the name of outlet {outlet.name!r}")
        for alias in outlet.aliases:
            owners.setdefault(alias.casefold(), (index, f"an alias of outlet {outlet.name!r}"))
        for url in outlet.feeds:
            if url in feeds:
                entry.fail("feeds", f"feed {url!r} already belongs to {feeds[url]}", url)
            feeds[url] = f"outlet {outlet.name!r}"
