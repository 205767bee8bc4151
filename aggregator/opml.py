"""Outlets ↔ OPML (``aggregator opml import FILE`` / ``aggregator opml export``).

OPML files come from other programs and from strangers, so they are read as hostile input:

* through **defusedxml**, with DTDs forbidden outright: no entity can be declared, so
  neither entity expansion ("billion laughs") nor external entities (XXE) nor an external
  DTD can happen; OPML never needs a DTD;
* at most :data:`MAX_OPML_BYTES` (5 MiB: 10,000 outlines as our export writes them take
  about 2.5 MiB), :data:`MAX_DEPTH` levels of elements (32; real files nest folders two or
  three deep) and :data:`MAX_OUTLINES` outlines (10,000), checked while parsing, so a
  hostile file is refused before it is built in memory;
* without building a tree at all: a parser target keeps only the outlines' attributes.

Every refusal is an :class:`OpmlError` naming the file and the problem.

Import maps each ``<outline xmlUrl=…>`` (at any depth; enclosing outlines are categories)
to an outlet: outlines are grouped by our own ``aggregator:outlet`` attribute, else by the
host of ``htmlUrl``, else by their title; a group whose name is an existing outlet's name
or alias gives that outlet the new feeds. Feeds already in the outlets file are skipped.

Export writes OPML 2.0: one ``type="rss"`` outline per feed, titled with the outlet's name,
with its homepage as ``htmlUrl`` and its name, aliases and interval in attributes of the
``aggregator`` namespace, so export → import gives back the same outlets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError as XmlSyntaxError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import (  # type: ignore[import-untyped]
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]

from aggregator.configfile import parse_duration
from aggregator.errors import AggregatorError
from aggregator.outletsfile import (
    NewOutlet,
    OutletsFile,
    format_duration,
    host_name,
    site_name,
)
from aggregator.textclean import clean_line
from aggregator.types import OutletConfig

__all__ = [
    "MAX_DEPTH",
    "MAX_OPML_BYTES",
    "MAX_OUTLINES",
    "NAMESPACE",
    "ImportPlan",
    "OpmlDocument",
    "OpmlError",
    "OpmlFeed",
    "export_opml",
    "parse_opml",
    "plan_import",
    "read_opml",
]

MAX_OPML_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 32
MAX_OUTLINES = 10_000
#: Our own outline attributes: aggregator:outlet, aggregator:aliases, aggregator:interval.
NAMESPACE = "https://github.com/aggregator-news/aggregator/ns/opml"
_OUTLET, _ALIASES, _INTERVAL = (
    f"{{{NAMESPACE}}}{name}" for name in ("outlet", "aliases", "interval")
)
#: Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(AggregatorError):
    """An OPML file was refused or could not be read; the message names the file."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One ``<outline>`` with an ``xmlUrl``."""

    xml_url: str
    html_url: str | None = None
    title: str | None = None  # its title, else its text
    categories: tuple[str, ...] = ()  # the texts of the outlines around it, outermost first
    outlet: str | None = None  # aggregator:outlet
    aliases: tuple[str, ...] = ()  # aggregator:aliases
    interval: str | None = None  # aggregator:interval
    line: int | None = None


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    version: str | None
    title: str | None
    feeds: tuple[OpmlFeed, ...]


class _Refused(Exception):
    """A limit was passed while parsing; carries the message (the file is added later)."""


class _Collector:
    """The parser's target: checks depth and counts, keeps the outlines' attributes."""

    def __init__(self) -> None:
        self.parser: Any = None
        self._stack: list[str] = []
        self._categories: list[str] = []
        self._title_parts: list[str] | None = None
        self.outlines = 0
        self.version: str | None = None
        self.title: str | None = None
        self.has_body = False
        self.feeds: list[OpmlFeed] = []

    def _line(self) -> int | None:
        expat = getattr(self.parser, "parser", None)
        line = getattr(expat, "CurrentLineNumber", None)
        return line if isinstance(line, int) else None

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        if len(self._stack) >= MAX_DEPTH:
            where = f" (line {self._line()})" if self._line() else ""
            raise _Refused(f"refused: elements are nested more than {MAX_DEPTH} levels deep{where}")
        parent = self._stack[-1] if self._stack else None
        self._stack.append(tag)
        if parent is None:
            if tag != "opml":
                raise _Refused(f"not an OPML file: the root element is <{tag}>, not <opml>")
            self.version = attrib.get("version")
        elif tag == "body" and parent == "opml":
            self.has_body = True
        elif tag == "title" and self._stack[:2] == ["opml", "head"] and len(self._stack) == 3:
            self._title_parts = []
        elif tag == "outline" and self._in_body():
            self._outline(attrib)

    def _in_body(self) -> bool:
        return self._stack[:2] == ["opml", "body"] and all(t == "outline" for t in self._stack[2:])

    def _outline(self, attrib: Mapping[str, str]) -> None:
        self.outlines += 1
        if self.outlines > MAX_OUTLINES:
            raise _Refused(f"refused: more than {MAX_OUTLINES} outlines")
        plain = {name.lower(): value for name, value in attrib.items() if "}" not in name}
        text = clean_line(plain.get("title")) or clean_line(plain.get("text")) or None
        xml_url = (plain.get("xmlurl") or "").strip()
        if xml_url:
            self.feeds.append(
                OpmlFeed(
                    xml_url=xml_url,
                    html_url=(plain.get("htmlurl") or "").strip() or None,
                    title=text,
                    categories=tuple(self._categories),
                    outlet=clean_line(attrib.get(_OUTLET)) or None,
                    aliases=_aliases(attrib.get(_ALIASES)),
                    interval=clean_line(attrib.get(_INTERVAL)) or None,
                    line=self._line(),
                )
            )
        self._categories.append(text or "")

    def end(self, tag: str) -> None:
        self._stack.pop()
        if tag == "title" and self._title_parts is not None:
            self.title = clean_line("".join(self._title_parts)) or None
            self._title_parts = None
        elif tag == "outline" and self._in_body():
            self._categories.pop()

    def data(self, text: str) -> None:
        if self._title_parts is not None:
            self._title_parts.append(text)

    def close(self) -> None:
        return None


def _aliases(raw: str | None) -> tuple[str, ...]:
    """aggregator:aliases is a JSON array of strings; anything else is ignored."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(clean_line(v) for v in value if isinstance(v, str) and clean_line(v))


def read_opml(path: Path) -> OpmlDocument:
    """Read and parse the OPML file at ``path`` (see the module docstring for the limits)."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise OpmlError(f"{path}: cannot read the file: {exc.strerror}") from None
    return parse_opml(data, str(path))


def parse_opml(data: bytes, name: str) -> OpmlDocument:
    """Parse OPML ``data``; ``name`` (the file) opens every error message."""
    if len(data) > MAX_OPML_BYTES:
        limit = f"{MAX_OPML_BYTES // (1024 * 1024)} MiB ({MAX_OPML_BYTES} bytes)"
        raise OpmlError(f"{name}: refused: the file is larger than {limit}")
    if not data.strip():
        raise OpmlError(f"{name}: not an OPML file: the file is empty")
    collector = _Collector()
    parser = DefusedXMLParser(
        target=collector, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    collector.parser = parser  # for line numbers in messages
    try:
        parser.feed(data)
        parser.close()
    except _Refused as exc:
        raise OpmlError(f"{name}: {exc}") from None
    except DefusedXmlException as exc:
        raise OpmlError(f"{name}: refused: {_defused_problem(exc)}") from None
    except XmlSyntaxError as exc:
        raise OpmlError(f"{name}: not valid XML: {exc}") from None
    if not collector.has_body:
        raise OpmlError(f"{name}: not an OPML file: it has no <body>")
    return OpmlDocument(collector.version, collector.title, tuple(collector.feeds))


def _defused_problem(exc: DefusedXmlException) -> str:
    if isinstance(exc, DTDForbidden):
        if exc.sysid or exc.pubid:
            external = exc.sysid or exc.pubid
            return (
                f"the file's DOCTYPE loads an external DTD ({external!r}), which would make "
                "the parser fetch or read another file; OPML needs no DTD"
            )
        return (
            f"the file has a DTD (<!DOCTYPE {exc.name} …>); a DTD can declare entities "
            "that expand exponentially (billion laughs) or read local files (XXE), and "
            "OPML needs none"
        )
    if isinstance(exc, EntitiesForbidden):
        return f"the file declares the entity {exc.name!r}; entities are not allowed"
    if isinstance(exc, ExternalReferenceForbidden):
        return f"the file refers to an external resource ({exc.sysid!r}); not allowed"
    return f"unsafe XML: {exc}"


# --- import --------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportPlan:
    """What an import adds to the outlets file, and what it leaves out and why."""

    added: list[NewOutlet] = field(default_factory=list)
    extended: list[tuple[str, list[str]]] = field(default_factory=list)  # (outlet, feeds)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (feed URL, reason)
    notes: list[str] = field(default_factory=list)

    @property
    def feeds_added(self) -> int:
        return sum(len(o.feeds) for o in self.added) + sum(len(f) for _, f in self.extended)


@dataclass(slots=True)
class _Group:
    feeds: list[OpmlFeed]

    @property
    def name(self) -> str:
        first = self.feeds[0]
        named = first.outlet or site_name(*(f.title for f in self.feeds))
        return named or host_name(first.html_url or first.xml_url) or first.xml_url


def _is_web_url(url: str | None) -> bool:
    if not url or any(character.isspace() for character in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _group_key(feed: OpmlFeed) -> tuple[str, str]:
    if feed.outlet:
        return ("outlet", feed.outlet.casefold())
    host = host_name(feed.html_url) if _is_web_url(feed.html_url) else None
    if host:
        return ("host", host)
    if feed.title:
        return ("title", (site_name(feed.title) or feed.title).casefold())
    return ("host", host_name(feed.xml_url) or feed.xml_url)


def plan_import(document: OpmlDocument, outlets_file: OutletsFile) -> ImportPlan:
    """Add the document's feeds to ``outlets_file`` (in memory) and say what was done."""
    plan = ImportPlan()
    groups: dict[tuple[str, str], _Group] = {}
    seen: dict[str, str] = {}
    for feed in document.feeds:
        if not _is_web_url(feed.xml_url):
            plan.skipped.append((feed.xml_url, "not an http(s) URL"))
            continue
        owner = outlets_file.owner_of(feed.xml_url)
        if owner is not None:
            plan.skipped.append((feed.xml_url, f"already a feed of outlet {owner!r}"))
            continue
        if feed.xml_url in seen:
            plan.skipped.append(
                (feed.xml_url, f"listed twice in the file (line {seen[feed.xml_url]})")
            )
            continue
        seen[feed.xml_url] = str(feed.line or "?")
        groups.setdefault(_group_key(feed), _Group([])).feeds.append(feed)

    by_name: dict[str, _Group] = {}  # groups whose names coincide become one outlet
    for group in groups.values():
        existing = by_name.get(group.name.casefold())
        if existing is None:
            by_name[group.name.casefold()] = group
        else:
            existing.feeds.extend(group.feeds)

    taken = {n.casefold() for o in outlets_file.outlets for n in (o.name, *o.aliases)}
    taken |= set(by_name)
    extended: dict[int, list[str]] = {}  # several groups may name one existing outlet
    for key, group in by_name.items():
        urls = [f.xml_url for f in group.feeds]
        index = outlets_file.find(group.name)
        if index is not None:
            extended.setdefault(index, []).extend(urls)
            continue
        new = _new_outlet(group, key, taken, plan)
        outlets_file.append(new)
        plan.added.append(new)
    for index, urls in extended.items():
        outlets_file.add_feeds(index, urls)
        plan.extended.append((outlets_file.outlets[index].name, urls))
    return plan


def _new_outlet(group: _Group, key: str, taken: set[str], plan: ImportPlan) -> NewOutlet:
    name = group.name
    homepage = next((f.html_url for f in group.feeds if _is_web_url(f.html_url)), None)
    aliases: list[str] = []
    for alias in (a for f in group.feeds for a in f.aliases):
        folded = alias.casefold()
        if folded in {a.casefold() for a in aliases}:
            continue
        if folded in taken and folded != key:  # its own name (another case) is fine
            plan.notes.append(
                f"outlet {name!r}: alias {alias!r} left out: it already names an outlet"
            )
            continue
        aliases.append(alias)
        taken.add(folded)
    interval = next((f.interval for f in group.feeds if f.interval), None)
    if interval is not None:
        try:
            valid = parse_duration(interval).total_seconds() > 0
        except ValueError:
            valid = False
        if not valid:
            plan.notes.append(f"outlet {name!r}: interval {interval!r} left out: not a duration")
            interval = None
    urls = tuple(f.xml_url for f in group.feeds)
    return NewOutlet(
        name=name, feeds=urls, homepage=homepage, aliases=tuple(aliases), interval=interval
    )


# --- export --------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _attributes(pairs: Iterable[tuple[str, str | None]]) -> str:
    return "".join(f" {name}={quoteattr(_xml_text(value))}" for name, value in pairs if value)


def export_opml(
    outlets: Iterable[OutletConfig],
    *,
    title: str = "aggregator outlets",
    now: datetime | None = None,
) -> bytes:
    """OPML 2.0 of ``outlets``: one outline per feed (see the module docstring)."""
    created = format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<opml version="2.0" xmlns:aggregator="{NAMESPACE}">',
        "  <head>",
        f"    <title>{escape(_xml_text(title))}</title>",
        f"    <dateCreated>{created}</dateCreated>",
        "    <docs>http://opml.org/spec2.opml</docs>",
        "  </head>",
        "  <body>",
    ]
    for outlet in outlets:
        aliases = json.dumps(list(outlet.aliases), ensure_ascii=False) if outlet.aliases else None
        interval = format_duration(outlet.interval) if outlet.interval else None
        for feed in outlet.feeds:
            attributes = _attributes(
                [
                    ("type", "rss"),
                    ("text", outlet.name),
                    ("title", outlet.name),
                    ("xmlUrl", feed),
                    ("htmlUrl", outlet.homepage),
                    ("aggregator:outlet", outlet.name),
                    ("aggregator:aliases", aliases),
                    ("aggregator:interval", interval),
                ]
            )
            lines.append(f"    <outline{attributes}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")
