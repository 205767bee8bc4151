"""Boilerplate out before shingling: outlet furniture must not make stories look alike.

Two sources of boilerplate are removed from the text that is fingerprinted (the stored
text and the credits keep everything):

* furniture every outlet has: copyright and "all rights reserved" lines, the wire
  agencies' redistribution notices, newsletter and subscription prompts, "Advertisement",
  "Read more:" and "Related:" lines, photo captions and credits, "Reporting by … Editing
  by …" lines — recognized by FURNITURE patterns, only in short paragraphs;
* lines one outlet repeats across its own articles (its footer, its disclaimer): learned
  per outlet from its recent articles. A short paragraph seen in REPEATS_TO_LEARN of an
  outlet's last RECENT_ARTICLES articles is that outlet's boilerplate.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Only paragraphs up to this many characters (about 40 words) can be furniture or learned
#: boilerplate. The longest furniture seen (the AP redistribution notice with its
#: copyright line) is ~130 characters, while the mean news paragraph is ~350 (BBC set):
#: a length check is then all the work most paragraphs ever get.
MAX_BOILERPLATE_CHARS = 250
#: How many of an outlet's recent articles are remembered, and how many of them must
#: carry a paragraph before it counts as boilerplate.
RECENT_ARTICLES = 100
REPEATS_TO_LEARN = 4

_PARAGRAPHS = re.compile(r"\n\s*\n")
#: Furniture recognized at the start of a paragraph (matched at position 0 only: cheap).
LEADING_FURNITURE = (
    r"(?:copyright|©|\(c\))\s",
    r"(?:sign up|subscribe)\b.{0,80}\b(?:newsletter|updates|alerts|briefing|email)",
    r"advertisement\s*$",
    r"(?:story continues below|continue reading|scroll to continue)",
    r"(?:read more|related|more from|see also|recommended|watch|listen|also read)\s*[:：]",
    r"follow (?:us|[\w .@]+) on (?:twitter|facebook|instagram|x|telegram|whatsapp)\b",
    r"(?:image|media|photo) (?:caption|source|copyright|credit)\b",
    r"(?:additional )?(?:reporting|writing|editing|compiled) by\b",
    r"our standards\s*:",
    r"(?:click here|tap here|download (?:our|the) app)\b",
    r"(?:share this|share on|email this)\b",
    r"(?:most read|most popular|most viewed|trending|top stories|editor's picks)\s*[:：]",
    r"listen to this (?:article|story)\b",
    r"(?:estimated )?reading time\b",
    r"comments? (?:are|is) (?:closed|disabled|turned off)\b",
    r"(?:subscribe|become a (?:member|subscriber)|support our journalism)\b",
    r"(?:filed under|tags?|topics?)\s*[:：]",
    r"(?:updated|published|posted|last updated)\s*[:：]?\s*\d",
)
#: Furniture recognized anywhere in a short paragraph (few alternatives: scanning every
#: position with a regex of all the patterns cost ~50 µs per paragraph).
INNER_FURNITURE = (
    r"all rights reserved",
    r"may not be (?:published|reproduced),? broadcast,? rewritten,? or redistributed",
    r"\((?:photo|image|picture|file photo|video)\b[^)]{0,120}\)\s*$",
    r"\b(?:getty images|ap photo|afp photo|reuters/[a-z]+|epa-efe|shutterstock)\b",
    r"\bcontributed to this (?:report|story)\b",
    r"\bhave (?:a|any) (?:news )?tips?\b",
)
#: Words one of which every inner pattern contains: tested with ``in`` first, because a
#: regex search of a paragraph costs ~40 µs and the substring tests ~1 µs.
_INNER_WORDS = (
    "rights reserved", "redistributed", "(photo", "(image", "(picture", "(file photo",
    "(video", "getty", "ap photo", "afp photo", "reuters/", "epa-efe", "shutterstock",
    "contributed to this", "have a", "have any",
)  # fmt: skip
#: How every leading pattern can begin (a startswith test before the regex).
_LEADING_WORDS = (
    "copyright", "©", "(c)", "sign up", "subscribe", "advertisement", "story continues",
    "continue reading", "scroll to", "read more", "related", "more from", "see also",
    "recommended", "watch", "listen", "also read", "follow", "image", "media", "photo",
    "additional", "reporting", "writing", "editing", "compiled", "our standards", "click",
    "tap here", "download", "share", "email this", "most ", "trending", "top stories",
    "editor", "estimated", "reading time", "comment", "become a", "support our", "filed",
    "tag", "topic", "updated", "published", "posted", "last updated",
)  # fmt: skip
_LEADING = re.compile(r"\s*(?:" + "|".join(LEADING_FURNITURE) + ")", re.IGNORECASE)
_INNER = re.compile("|".join(INNER_FURNITURE), re.IGNORECASE)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a clean text (a blank line between paragraphs)."""
    return [p for p in _PARAGRAPHS.split(text) if p.strip()]


def _split(text: str) -> list[tuple[str, int | None]]:
    """Paragraphs, each with its key when it is short enough to be boilerplate."""
    return [(p, _key(p) if _short(p) else None) for p in paragraphs(text)]


def _key(paragraph: str) -> int:
    """A stable 32-bit key of a paragraph (an outlet repeats its lines byte for byte)."""
    return zlib.crc32(paragraph.strip().encode("utf-8", "surrogatepass"))


def _short(paragraph: str) -> bool:
    return len(paragraph) <= MAX_BOILERPLATE_CHARS


def is_furniture(paragraph: str) -> bool:
    """Is this (short) paragraph outlet furniture rather than reporting?"""
    if not _short(paragraph):
        return False
    start = paragraph.lstrip()[:24].lower()
    if start.startswith(_LEADING_WORDS) and _LEADING.match(paragraph):
        return True
    lower = paragraph.lower()
    return any(map(lower.__contains__, _INNER_WORDS)) and _INNER.search(paragraph) is not None


@dataclass(slots=True)
class OutletMemory:
    """The short paragraphs of one outlet's recent articles."""

    recent: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=RECENT_ARTICLES))
    counts: Counter[int] = field(default_factory=Counter)

    def remember(self, keys: tuple[int, ...]) -> None:
        if len(self.recent) == self.recent.maxlen:
            self.counts.subtract(self.recent[0])
        self.recent.append(keys)
        self.counts.update(keys)

    def learned(self, key: int) -> bool:
        return self.counts[key] >= REPEATS_TO_LEARN


class Boilerplate:
    """Strips furniture and each outlet's learned boilerplate from texts to fingerprint."""

    def __init__(self, memories: Mapping[str, Sequence[Sequence[int]]] | None = None) -> None:
        self._outlets: dict[str, OutletMemory] = {}
        for outlet, articles in (memories or {}).items():
            memory = self._memory(outlet)
            for keys in articles:
                memory.remember(tuple(keys))

    def _memory(self, outlet: str) -> OutletMemory:
        found = self._outlets.get(outlet)
        if found is None:
            found = self._outlets[outlet] = OutletMemory()
        return found

    def strip(self, outlet: str, text: str) -> str:
        """The text without boilerplate paragraphs, for fingerprinting."""
        return self._strip(outlet, _split(text))

    def observe(self, outlet: str, text: str) -> None:
        """Remember one more article of ``outlet`` (its short paragraphs, once each)."""
        self._observe(outlet, _split(text))

    def prepare(self, outlet: str, text: str) -> str:
        """Strip, then observe: the text to fingerprint for a newly arrived article."""
        parts = _split(text)
        stripped = self._strip(outlet, parts)
        self._observe(outlet, parts)
        return stripped

    def _strip(self, outlet: str, parts: list[tuple[str, int | None]]) -> str:
        memory = self._outlets.get(outlet)
        kept = [
            p
            for p, key in parts
            if key is None or not (is_furniture(p) or (memory is not None and memory.learned(key)))
        ]
        return "\n\n".join(kept)

    def _observe(self, outlet: str, parts: list[tuple[str, int | None]]) -> None:
        keys = tuple(sorted({key for _, key in parts if key is not None}))
        self._memory(outlet).remember(keys)

    def export(self, outlets: Iterable[str]) -> dict[str, list[list[int]]]:
        """The memory of the given outlets, to store."""
        return {
            o: [list(keys) for keys in self._outlets[o].recent]
            for o in outlets
            if o in self._outlets
        }
