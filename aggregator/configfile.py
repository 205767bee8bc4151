"""Reading configuration files: durations ("30m", "1h30m"), TOML whose tables and keys can
be pointed at by line, and the "unknown key … did you mean …" message: what the settings
and outlets loaders (config.py) build on; durations are also read by the CLI and OPML."""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from aggregator.errors import ConfigError

__all__ = ["TomlFile", "parse_duration", "scan_lines", "unknown_name"]


# --- durations -----------------------------------------------------------------------------

_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])")
_DURATION_HELP = "use seconds or units w, d, h, m, s such as 90s, 30m, 2h, 14d, 1h30m"


def parse_duration(text: str | int | float) -> timedelta:
    """Parse ``"90s"``, ``"30m"``, ``"2h"``, ``"14d"``, ``"1h30m"`` or a number of seconds.

    Units (w, d, h, m, s) go from largest to smallest, each at most once. Raises
    ValueError with a message that quotes the input and says what is accepted.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"invalid duration {text!r}: {_DURATION_HELP}")
    if not isinstance(text, str):  # repr() keeps a float's shortest exact decimal form
        return _seconds(Decimal(repr(text) if isinstance(text, float) else text), text)
    cleaned = text.strip().lower()
    try:
        number = Decimal(cleaned) if cleaned else None
    except InvalidOperation:
        return _seconds(_parse_units(text, cleaned), text)
    if number is None:
        raise ValueError(f"invalid duration {text!r}: {_DURATION_HELP}")
    return _seconds(number, text)


def _parse_units(original: str, text: str) -> Decimal:
    total, position, previous = Decimal(0), 0, math.inf
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise ValueError(f"invalid duration {original!r}: {_DURATION_HELP}")
        number, unit = match.groups()
        # "30m1h" or "5m5m" is more likely a typo than intent.
        if _UNIT_SECONDS[unit] >= previous:
            problem = "units go from largest to smallest, each once"
            raise ValueError(f"invalid duration {original!r}: {problem}")
        previous = _UNIT_SECONDS[unit]
        total += Decimal(number) * _UNIT_SECONDS[unit]
        position = match.end()
    return total


def _seconds(value: Decimal, original: object) -> timedelta:
    problem = None
    if not value.is_finite():
        problem = "must be a finite number"
    elif value < 0:
        problem = "must not be negative"
    else:
        try:
            return timedelta(microseconds=int((value * 1_000_000).to_integral_value()))
        except OverflowError:
            problem = "too large"
    raise ValueError(f"invalid duration {original!r}: {problem}")


# --- locating lines in a TOML file ---------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


class TomlFile:
    """A parsed TOML file that can point at the line of a table or key.

    Lines come from a textual scan: tomllib keeps no positions, and the file has already
    parsed, so a scan of headers and ``key =`` lines finds them (a header-like line inside
    a multi-line string could mislead it, which only moves a message's line). Keys are
    dotted paths; the n-th ``[[outlets]]`` entry is ``outlets#n``.
    """

    def __init__(self, path: Path, missing_message: str) -> None:
        self.path = str(path)
        try:
            self.text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(missing_message, path=self.path) from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the file: {error}", path=self.path) from None
        self.data = self._parse()
        self.lines = self.text.splitlines()
        self.where = scan_lines(self.lines)

    def _parse(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            found = _TOML_POSITION.search(message)
            if found is None:  # "(at end of document)"
                line = max(1, len(self.text.splitlines()))
                raise ConfigError(f"invalid TOML: {message}", path=self.path, line=line) from None
            problem = f"invalid TOML: {message[: found.start()]} (column {found.group(2)})"
            raise ConfigError(problem, path=self.path, line=int(found.group(1))) from None

    def line(self, dotted: str) -> int | None:
        """The line of ``dotted`` (``"fetch.concurrency"``), else of its nearest parent."""
        while dotted:
            # "outlets#2" falls back to "outlets" when the array was written inline.
            for key in (dotted, re.sub(r"#\d+$", "", dotted)):
                if key in self.where:
                    return self.where[key]
            dotted = dotted.rpartition(".")[0]
        return None

    def find(self, needle: str, dotted: str) -> int | None:
        """The first line from ``dotted``'s on that holds ``needle`` (an item of a list)."""
        start = self.line(dotted) or 1
        for pattern in (f'"{needle}"', f"'{needle}'", needle):
            for number in range(start, len(self.lines) + 1):
                if pattern in self.lines[number - 1]:
                    return number
        return start

    def fail(self, problem: str, dotted: str, needle: str | None = None) -> NoReturn:
        line = self.line(dotted) if needle is None else self.find(needle, dotted)
        raise ConfigError(problem, path=self.path, line=line)


def scan_lines(lines: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    table, counts = "", dict[str, int]()
    for number, line in enumerate(lines, 1):
        if header := _HEADER.match(line):
            name = header.group(2).replace('"', "").replace("'", "").replace(" ", "")
            if header.group(1) == "[[":
                found.setdefault(name, number)
                counts[name] = counts.get(name, -1) + 1
                name = f"{name}#{counts[name]}"
            table = name
            found.setdefault(table, number)
        elif key := _KEY.match(line):
            dotted = key.group(1).strip("\"'")
            found.setdefault(f"{table}.{dotted}" if table else dotted, number)
    return found


def unknown_name(kind: str, name: str, valid: Iterable[str], where: str = "") -> str:
    """'unknown key 'concurency' in [fetch]; did you mean 'concurrency'? (valid: …)'."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{where}{hint} (valid: {', '.join(valid)})"
