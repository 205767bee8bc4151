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

import hashlib
import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Only paragraphs up to this many words can be furniture or learned boilerplate: real
#: reporting paragraphs are longer, or at least not repeated word for word.
MAX_BOILERPLATE_WORDS = 60
#: How many of an outlet's recent articles are remembered, and how many of them must
#: carry a paragraph before it counts as boilerplate.
RECENT_ARTICLES = 100
REPEATS_TO_LEARN = 4

_PARAGRAPHS = re.compile(r"\n\s*\n")
_WORDS = re.compile(r"\w+")
FURNITURE: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^\s*(?:copyright|©|\(c\))\s",
        r"all rights reserved",
        r"may not be (?:published|reproduced),? broadcast,? rewritten,? or redistributed",
        r"^\s*(?:sign up|subscribe)\b.{0,80}\b(?:newsletter|updates|alerts|briefing|email)",
        r"^\s*advertisement\s*$",
        r"^\s*(?:story continues below|continue reading|scroll to continue)",
        r"^\s*(?:read more|related|more from|see also|recommended|watch|listen|also read)\s*[:：]",
        r"^\s*follow (?:us|[\w .@]+) on (?:twitter|facebook|instagram|x|telegram|whatsapp)\b",
        r"\((?:photo|image|picture|file photo|video)\b[^)]{0,120}\)\s*$",
        r"\b(?:getty images|ap photo|afp photo|reuters/[a-z]+|epa-efe|shutterstock)\b",
        r"^\s*(?:image|media|photo) (?:caption|source|copyright|credit)\b",
        r"^\s*(?:additional )?(?:reporting|writing|editing|compiled) by\b",
        r"^\s*our standards\s*:",
        r"\bcontributed to this (?:report|story)\b",
        r"^\s*(?:click here|tap here|download (?:our|the) app)\b",
        r"^\s*(?:share this|share on|email this)\b",
        r"^\s*(?:most read|most popular|most viewed|trending|top stories|editor's picks)\s*[:：]",
        r"^\s*listen to this (?:article|story)\b",
        r"^\s*(?:estimated )?reading time\b",
        r"^\s*comments? (?:are|is) (?:closed|disabled|turned off)\b",
        r"\bhave (?:a|any) (?:news )?tips?\b",
        r"^\s*(?:subscribe|become a (?:member|subscriber)|support our journalism)\b",
        r"^\s*(?:filed under|tags?|topics?)\s*[:：]",
        r"^\s*(?:updated|published|posted|last updated)\s*[:：]?\s*\d",
    )
)


def paragraphs(text: str) -> list[str]:
    return [p for p in _PARAGRAPHS.split(text) if p.strip()]


def _key(paragraph: str) -> int:
    words = " ".join(_WORDS.findall(paragraph.lower()))
    return int.from_bytes(
        hashlib.blake2b(words.encode(), digest_size=8).digest(), "little", signed=True
    )


def _short(paragraph: str) -> bool:
    return len(_WORDS.findall(paragraph)) <= MAX_BOILERPLATE_WORDS


def is_furniture(paragraph: str) -> bool:
    """Is this (short) paragraph outlet furniture rather than reporting?"""
    return _short(paragraph) and any(p.search(paragraph) for p in FURNITURE)


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
        memory = self._outlets.get(outlet)
        kept = [
            p
            for p in paragraphs(text)
            if not is_furniture(p) and not (memory and _short(p) and memory.learned(_key(p)))
        ]
        return "\n\n".join(kept)

    def observe(self, outlet: str, text: str) -> None:
        """Remember one more article of ``outlet`` (its short paragraphs, once each)."""
        keys = tuple(sorted({_key(p) for p in paragraphs(text) if _short(p)}))
        self._memory(outlet).remember(keys)

    def prepare(self, outlet: str, text: str) -> str:
        """Strip, then observe: the text to fingerprint for a newly arrived article."""
        stripped = self.strip(outlet, text)
        self.observe(outlet, text)
        return stripped

    def export(self, outlets: Iterable[str]) -> dict[str, list[list[int]]]:
        """The memory of the given outlets, to store."""
        return {
            o: [list(keys) for keys in self._outlets[o].recent]
            for o in outlets
            if o in self._outlets
        }
