"""Adding outlets to the outlets file without rewriting it.

The outlets file is written by people: comments explain choices, entries are grouped, feeds
carry notes. A TOML library would re-serialize all of it (and tomllib only reads), so new
outlets are *appended* as text, and feeds for an existing outlet are *inserted* into its
``feeds = [...]`` list; every other byte stays as it was.

The result is checked twice before anything is written: the edited text must parse to
exactly the old data plus the additions (so a mistake of the text scanner cannot corrupt an
entry), and :func:`~aggregator.config.load_outlets` must accept it (duplicate names, aliases
or feeds are refused with its messages). The file is then replaced atomically; on any error
it is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aggregator.config import load_outlets
from aggregator.errors import AggregatorError, ConfigError
from aggregator.textclean import clean_line
from aggregator.tomlscan import FeedsArray, FeedsScanner
from aggregator.types import OutletConfig

__all__ = [
    "NewOutlet",
    "OutletsFile",
    "format_duration",
    "host_name",
    "site_name",
    "toml_string",
]

NEW_FILE_HEADER = (
    "# Outlets aggregator follows (format: README.md, Configuration). Created by aggregator;\n"
    "# edit freely: `aggregator outlets add` and `aggregator opml import` only append.\n"
)
#: Parts of a page title that name the page, not the site ("BBC News - Home").
_GENERIC_TITLES = frozenset(
    {
        *("home", "homepage", "home page", "front page", "frontpage", "main page", "start"),
        *("welcome", "index", "news", "latest news", "breaking news", "top stories"),
        *("startseite", "accueil", "portada", "inicio", "главная"),
    }
)
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·•:»>]+\s+|\s*::\s*")
_NAME_WORDS = 4  # a site name is short; a tagline is not


# --- names ---------------------------------------------------------------------------------


def site_name(*titles: str | None) -> str | None:
    """A site's name from its page or feed titles: "BBC News - Home" → "BBC News".

    Each title is split at separators (" | ", " - ", " — ", " > ", " :: "…) and the parts
    that only name a page ("Home", "Latest news") are dropped. With several titles (the
    feeds of one site), a part they all share is the name ("World | The Guardian" and
    "Politics | The Guardian"). Otherwise the first part of at most four words wins, as a
    name beside a long tagline usually is, else the shortest part.
    """
    split = [_title_parts(title) for title in titles if clean_line(title)]
    if not split:
        return None
    if len(split) > 1:
        shared = {part.casefold() for part in split[0]}
        for parts in split[1:]:
            shared &= {part.casefold() for part in parts}
        common = [part for part in split[0] if part.casefold() in shared]
        if common:
            return _best_part(common)
    return _best_part(split[0])


def _title_parts(title: str | None) -> list[str]:
    text = clean_line(title)
    parts = [part.strip() for part in _TITLE_SEPARATORS.split(text) if part.strip()]
    named = [part for part in parts if part.casefold() not in _GENERIC_TITLES]
    return named or parts or [text]


def _best_part(parts: Sequence[str]) -> str:
    short = [part for part in parts if len(part.split()) <= _NAME_WORDS]
    return short[0] if short else min(parts, key=len)


def host_name(url: str | None) -> str | None:
    """The host of ``url`` without ``www.``: a name of last resort ("example.com")."""
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@]*@)?([^/?#:]+|\[[^\]]*\])", url or "")
    if match is None:
        return None
    host = match.group(2).lower().rstrip(".")
    return host.removeprefix("www.") or None


def format_duration(value: timedelta) -> str:
    """A duration as the outlets file writes it: "30m", "1h30m", "90s", "2d"."""
    seconds = int(value.total_seconds())
    if seconds <= 0 or seconds != value.total_seconds():
        return str(value.total_seconds()).removesuffix(".0")
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


# --- rendering -----------------------------------------------------------------------------


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    out = ['"']
    for character in text:
        code = ord(character)
        if character in '"\\':
            out.append("\\" + character)
        elif character == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(character)
    out.append('"')
    return "".join(out)


def _array(values: Sequence[str], indent: str, newline: str) -> str:
    """A TOML array of strings: on one line when it has one item, one item a line else."""
    if len(values) <= 1:
        return "[" + ", ".join(toml_string(v) for v in values) + "]"
    lines = [f"{indent}    {toml_string(v)}," for v in values]
    return "[" + newline + newline.join(lines) + newline + indent + "]"


@dataclass(frozen=True, slots=True)
class NewOutlet:
    """An outlet to append, as it will be written (``interval`` as text, e.g. "30m")."""

    name: str
    feeds: tuple[str, ...]
    homepage: str | None = None
    aliases: tuple[str, ...] = ()
    interval: str | None = None

    def render(self, newline: str = "\n") -> str:
        """The ``[[outlets]]`` block, ending with a newline."""
        lines = ["[[outlets]]", f"name = {toml_string(self.name)}"]
        if self.homepage:
            lines.append(f"homepage = {toml_string(self.homepage)}")
        lines.append(f"aliases = {_array(self.aliases, '', newline)}")
        lines.append(f"feeds = {_array(self.feeds, '', newline)}")
        if self.interval:
            lines.append(f"interval = {toml_string(self.interval)}")
        return newline.join(lines) + newline

    def as_data(self) -> dict[str, Any]:
        """The block as tomllib reads it (for checking the edited file)."""
        data: dict[str, Any] = {"name": self.name}
        if self.homepage:
            data["homepage"] = self.homepage
        data["aliases"] = list(self.aliases)
        data["feeds"] = list(self.feeds)
        if self.interval:
            data["interval"] = self.interval
        return data


# --- the file ------------------------------------------------------------------------------


@dataclass(slots=True)
class OutletsFile:
    """The outlets file being extended: its text, what is added, and the checks before saving.

    ``OutletsFile.open(path)`` reads and validates the current file (a missing file is an
    empty one, created on save when its directory exists). ``append`` and ``add_feeds``
    change the text in memory; ``check`` validates it; ``save`` checks and replaces the file.
    """

    path: Path
    original: bytes
    text: str
    exists: bool
    outlets: tuple[OutletConfig, ...]
    newline: str = "\n"
    added: list[NewOutlet] = field(default_factory=list)
    extra_feeds: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> OutletsFile:
        path = Path(path)
        try:
            original = path.read_bytes()
        except FileNotFoundError:
            if not path.parent.is_dir():
                raise ConfigError(
                    "file not found, and its folder does not exist to create it in; name the "
                    "outlets file with AGGREGATOR_OUTLETS or [outlets] file in the settings",
                    path=str(path),
                ) from None
            return cls(path, b"", "", False, ())
        except OSError as exc:
            raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
        outlets = load_outlets(path)  # refuse to extend a file that is already wrong
        text = original.decode("utf-8")
        newline = "\r\n" if "\r\n" in text else "\n"
        return cls(path, original, text, True, outlets, newline)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.extra_feeds)

    def find(self, name: str) -> int | None:
        """The index of the outlet called ``name`` or aliased so (ignoring case), if any."""
        wanted = name.strip().casefold()
        for index, outlet in enumerate(self.outlets):
            if wanted in {outlet.name.casefold(), *(a.casefold() for a in outlet.aliases)}:
                return index
        return None

    def owner_of(self, feed_url: str) -> str | None:
        """The name of the outlet (existing or being added) that has ``feed_url``."""
        for outlet in self.outlets:
            if feed_url in outlet.feeds:
                return outlet.name
        for index, feeds in self.extra_feeds.items():
            if feed_url in feeds:
                return self.outlets[index].name
        for new in self.added:
            if feed_url in new.feeds:
                return new.name
        return None

    def append(self, outlet: NewOutlet) -> str:
        """Add ``outlet`` at the end of the file; returns the block as written."""
        block = outlet.render(self.newline)
        self.added.append(outlet)
        return block

    def add_feeds(self, index: int, feeds: Sequence[str]) -> None:
        """Add ``feeds`` to the existing outlet number ``index`` (in file order)."""
        self.extra_feeds.setdefault(index, []).extend(feeds)

    def render(self) -> str:
        """The whole file as it will be written."""
        text = self._with_extra_feeds(self.text)
        blocks = [new.render(self.newline) for new in self.added]
        if not blocks:
            return text
        nl = self.newline
        text = text or NEW_FILE_HEADER.replace("\n", nl)
        if not text.endswith(nl):
            text += nl
        if text.strip() and not text.endswith(nl * 2):
            text += nl  # one blank line between the file and the first new block
        return text + nl.join(blocks)

    def _with_extra_feeds(self, text: str) -> str:
        if not self.extra_feeds:
            return text
        try:
            arrays = FeedsScanner(text).run()
        except (IndexError, ValueError):  # a layout the scanner does not follow
            arrays = []
        edits = sorted(self.extra_feeds.items(), key=lambda item: -item[0])
        for index, feeds in edits:  # from the end, so earlier offsets stay valid
            array = arrays[index] if index < len(arrays) else None
            if array is None:
                name = self.outlets[index].name
                problem = f"cannot find the feeds list of outlet {name!r} to extend it"
                raise ConfigError(f"{problem}; add {', '.join(feeds)} by hand", path=str(self.path))
            text = self._insert(text, array, index, feeds)
        return text

    def _insert(self, text: str, array: FeedsArray, index: int, feeds: Sequence[str]) -> str:
        nl = self.newline
        span = text[array.open : array.close + 1]
        if "\n" not in span:  # one line, so no comments inside: write the list anew
            line = text[array.line_start : array.open]
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            values = [*self.outlets[index].feeds, *feeds]
            return text[: array.open] + _array(values, indent, nl) + text[array.close + 1 :]
        # Several lines, perhaps with comments: insert new lines before the closing "]".
        assert array.last_end is not None  # a feeds list is never empty in a valid file
        quoted = [toml_string(feed) for feed in feeds]
        close_line = text.rfind("\n", 0, array.close) + 1
        if text[close_line : array.close].strip():  # "]" follows an item on its line
            insertion, at = " " + ", ".join(quoted), array.close
        else:
            last_line = text.rfind("\n", 0, array.last_end) + 1
            before = text[last_line : array.last_end]
            item = before.lstrip(" \t")
            indent = before[: len(before) - len(item)] if item[:1] in "\"'" else "    "
            insertion, at = "".join(f"{indent}{q},{nl}" for q in quoted), close_line
        comma = "" if array.comma_after_last else ","
        return text[: array.last_end] + comma + text[array.last_end : at] + insertion + text[at:]

    def check(self) -> tuple[str, tuple[OutletConfig, ...]]:
        """The new text and its outlets, validated, without touching the outlets file's folder.

        Raises ConfigError naming the outlets file when the result would be refused.
        """
        new_text = self.render()
        self._check_data(new_text)
        with tempfile.TemporaryDirectory(prefix="aggregator-") as folder:
            temporary = Path(folder) / self.path.name
            temporary.write_bytes(new_text.encode("utf-8"))
            return new_text, self._validate(temporary)

    def save(self) -> tuple[OutletConfig, ...]:
        """Validate the result and replace the file with it atomically."""
        new_text = self.render()
        self._check_data(new_text)
        temporary = self._temporary(new_text)
        try:
            outlets = self._validate(temporary)
            current = self.path.read_bytes() if self.path.exists() else b""
            if current != self.original:
                raise AggregatorError(
                    f"{self.path}: the file changed while it was being edited; nothing written,"
                    " run the command again"
                )
            os.replace(temporary, os.path.realpath(self.path))
            return outlets
        finally:
            temporary.unlink(missing_ok=True)

    # ---------------------------------------------------------------------------------------

    def _check_data(self, new_text: str) -> None:
        """The edited text must read as exactly the old data plus the additions."""
        try:
            data = tomllib.loads(new_text)
            expected = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"editing the file would make it invalid ({exc}); nothing written",
                path=str(self.path),
            ) from None
        entries = expected.setdefault("outlets", [])
        for index, feeds in self.extra_feeds.items():
            entries[index]["feeds"] = [*entries[index]["feeds"], *feeds]
        entries.extend(new.as_data() for new in self.added)
        if data != expected:
            raise ConfigError(
                "the file is laid out in a way this command cannot extend safely; nothing "
                "written: add the outlets by hand (see --dry-run for the text)",
                path=str(self.path),
            )

    def _temporary(self, new_text: str) -> Path:
        """The new content in a file beside the real one (same file system: atomic rename)."""
        target = Path(os.path.realpath(self.path))
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        mode = (os.stat(target).st_mode & 0o7777) if self.exists else 0o666
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(new_text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            if self.exists:
                os.chmod(temporary, mode)  # the umask must not narrow the file's permissions
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise ConfigError(
                f"cannot write the file: {exc.strerror}", path=str(self.path)
            ) from None
        return temporary

    def _validate(self, temporary: Path) -> tuple[OutletConfig, ...]:
        try:
            return load_outlets(temporary)
        except ConfigError as exc:
            where = f" (line {exc.line} of the edited file)" if exc.line else ""
            raise ConfigError(
                f"{exc.problem}{where}; nothing written", path=str(self.path)
            ) from None
