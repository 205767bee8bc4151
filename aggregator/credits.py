"""Who does an article say it got its story from? Credits from text and metadata.

A credit is either a *reporting* credit ("via Politico", "CBS News reported", "according to
Reuters"), which marks the article as the outlet's own telling of someone else's story, or
a *wire* credit ("LONDON (AP) —", "By Reuters"), which marks a republished wire copy, or a
*source* / *canonical* credit from the feed's metadata. Names resolve to tracked outlets
through their aliases; a name that is not tracked is kept as written when it looks like a
news organisation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.types import Credit, CreditKind, OutletConfig

#: Words that make an unknown name look like a news organisation rather than a person,
#: a company or a government body ("according to officials" is not a credit).
NEWS_WORDS = frozenset(
    {
        "news",
        "times",
        "post",
        "press",
        "agency",
        "herald",
        "journal",
        "tribune",
        "reuters",
        "ap",
        "afp",
        "tv",
        "radio",
        "daily",
        "gazette",
        "telegraph",
        "wire",
        "broadcasting",
        "network",
        "courier",
        "chronicle",
        "observer",
        "guardian",
        "magazine",
        "report",
        "reports",
        "media",
        "channel",
        "review",
        "bulletin",
        "standard",
        "mail",
        "express",
        "insider",
        "ledger",
        "politico",
        "bbc",
        "cnn",
        "cbs",
        "nbc",
        "abc",
        "npr",
        "xinhua",
        "tass",
        "interfax",
        "anadolu",
        "bloomberg",
        # national news agencies credited by their acronym in running text
        "dpa",
        "efe",
        "ansa",
        "kyodo",
        "yonhap",
        "irna",
        "kcna",
        "pti",
        "apa",
        "wam",
        "kuna",
        "bernama",
        "antara",
    }
)
#: One capitalized word; a dot only inside it ("Politico.com") or in initials ("U.S."), so
#: that a name does not run across the end of a sentence ("… in Baku. CBS News reported").
_WORD = r"(?:(?:[A-Z]\.){2,}|[A-Z](?:[\w&'’-]|\.(?=\w))*)"
#: A capitalized name of up to six words ("The Associated Press", "Caspian Daily").
# Words of a name are separated by spaces within one line: a name never runs across a line
# or paragraph break ("…10:44 UTC\n\nTranswire Press reported" is not "UTC Transwire Press").
_SP = r"[ \t\u00a0]+"
_NAME = rf"(?P<name>(?:[Tt]he{_SP})?{_WORD}(?:{_SP}(?:of{_SP}|and{_SP}|&{_SP})?{_WORD}){{0,5}})"
_REPORTING_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b[Vv]ia\s+" + _NAME),
    re.compile(
        _NAME + r",?\s+(?:first\s+)?(?:reports|reported|has reported|had reported|"
        r"said in a report|was first to report|first reported)\b"
    ),
    # sentence-initial "According to Reuters, …" and "according to a Politico report" too
    re.compile(
        r"\b[Aa]ccording to (?:a report (?:by|in|from)\s+|reporting by\s+|an?\s+(?=[A-Z]))?" + _NAME
    ),
    re.compile(r"\b(?:[Aa]|[Tt]he) report (?:by|in|from)\s+" + _NAME),
    re.compile(r"\b(?:first |originally )?reported (?:first )?by\s+" + _NAME),
    re.compile(r"\btold\s+" + _NAME + r"\s+(?:in an interview|on\s)"),
)
_SOURCE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?:originally|first) (?:published|appeared) (?:by|at|in|on)\s+" + _NAME),
)
#: "LONDON (AP) —", "(Reuters) -", "BAKU, Azerbaijan (MPA) –" at the start of the text.
_DATELINE = re.compile(
    r"^[^()\n]{0,80}?\((?P<name>[A-Za-z][\w .&'-]{0,40})\)\s*[—–-]{1,2}\s", re.MULTILINE
)
#: A byline line: "By The Associated Press", "By Reuters staff".
_BYLINE = re.compile(r"^\s*By\s+" + _NAME + r"(?:\s+staff)?\s*$", re.MULTILINE)
#: Sentence words a capitalized name picks up in front of it ("As Politico reported",
#: "On Thursday CBS News reported"): never part of an outlet's name.
_LEADING_NOISE = frozenset(
    {
        "as",
        "and",
        "but",
        "also",
        "earlier",
        "later",
        "meanwhile",
        "however",
        "separately",
        "yesterday",
        "today",
        "on",
        "in",
        "last",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    }
)
#: How far into the text a dateline or byline may appear (after a headline or a caption).
_LEAD_CHARS = 400


@dataclass(frozen=True, slots=True)
class AliasTable:
    """Resolves names and domains to tracked outlets' display names."""

    names: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_outlets(cls, outlets: Iterable[OutletConfig]) -> AliasTable:
        names: dict[str, str] = {}
        domains: dict[str, str] = {}
        for outlet in outlets:
            for alias in (outlet.name, *outlet.aliases):
                names[_key(alias)] = outlet.name
            for url in (outlet.homepage, *outlet.feeds):
                domain = _domain(url)
                if domain:
                    domains.setdefault(domain, outlet.name)
        return cls(names, domains)

    def resolve(self, name: str) -> str | None:
        """The display name of the tracked outlet called ``name``, if any."""
        key = _key(name)
        found = self.names.get(key)
        if found is None and key.startswith("the "):
            found = self.names.get(key[4:])
        return found

    def resolve_url(self, url: str | None) -> str | None:
        """The tracked outlet whose site serves ``url``, if any."""
        domain = _domain(url)
        while domain:
            if domain in self.domains:
                return self.domains[domain]
            _, _, domain = domain.partition(".")
            if "." not in domain:
                return None
        return None


def _key(name: str) -> str:
    return " ".join(name.replace("’", "'").lower().split()).strip(" .,'")


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.") or None


def _clean_name(raw: str) -> str:
    words = raw.split()
    while len(words) > 1 and words[0].lower() in _LEADING_NOISE:
        words = words[1:]
    name = " ".join(words).strip(" .,'’")
    # "Politico's report" / "Reuters’" — the possessive is not part of the name.
    return re.sub(r"['’]s?$", "", name)


def _looks_like_news(name: str, *, acronym: bool = False) -> bool:
    """A news word in the name, or (``acronym``) a short all-capitals name like "MPA".

    Acronyms count only where a wire service stands ("BAKU (MPA) –"): in running text an
    unknown acronym is mostly a government body ("according to NATO", "U.S. officials").
    """
    words = {w.strip(".").lower() for w in name.split()}
    is_acronym = name.isupper() and name.isalpha() and 2 <= len(name) <= 6
    return bool(words & NEWS_WORDS) or (acronym and is_acronym)


def _credit(raw: str, kind: CreditKind, aliases: AliasTable, *, lenient: bool) -> Credit | None:
    name = _clean_name(raw)
    outlet = aliases.resolve(name)
    if outlet is None:
        # try the name without trailing words ("Politico on Thursday" → "Politico")
        words = name.split()
        for cut in range(len(words) - 1, 0, -1):
            outlet = aliases.resolve(" ".join(words[:cut]))
            if outlet is not None:
                name = " ".join(words[:cut])
                break
    if outlet is None and not (lenient or _looks_like_news(name, acronym=kind is CreditKind.WIRE)):
        return None
    return Credit(name=name, kind=kind, outlet=outlet)


def _text_credits(text: str, aliases: AliasTable) -> list[Credit]:
    found: list[tuple[int, Credit]] = []  # (position in the text, credit)
    lead = text[:_LEAD_CHARS]
    for match in _DATELINE.finditer(lead.lstrip()):
        credit = _credit(match["name"], CreditKind.WIRE, aliases, lenient=False)
        found += [(match.start(), credit)] if credit else []
    for match in _BYLINE.finditer(lead):
        credit = _credit(match["name"], CreditKind.WIRE, aliases, lenient=False)
        if credit and (credit.outlet or _looks_like_news(credit.name, acronym=True)):
            found.append((match.start(), credit))
    for pattern in _REPORTING_PATTERNS:
        for match in pattern.finditer(text):
            credit = _credit(match["name"], CreditKind.REPORTING, aliases, lenient=False)
            found += [(match.start(), credit)] if credit else []
    for pattern in _SOURCE_PATTERNS:
        for match in pattern.finditer(text):
            credit = _credit(match["name"], CreditKind.SOURCE, aliases, lenient=True)
            found += [(match.start(), credit)] if credit else []
    # first mention first, as extract_credits promises (a stable sort keeps pattern order on ties)
    return [credit for _, credit in sorted(found, key=lambda item: item[0])]


def extract_credits(
    *,
    outlet: str,
    text: str,
    aliases: AliasTable,
    source_name: str | None = None,
    source_url: str | None = None,
    canonical_url: str | None = None,
) -> tuple[Credit, ...]:
    """Every source the article credits, self-credits removed, first mention first."""
    found = _text_credits(text, aliases)
    if source_name or source_url:
        tracked = aliases.resolve(source_name or "") or aliases.resolve_url(source_url)
        found.append(Credit(source_name or tracked or "", CreditKind.SOURCE, tracked))
    canonical_outlet = aliases.resolve_url(canonical_url)
    if canonical_outlet is not None:
        found.append(Credit(canonical_outlet, CreditKind.CANONICAL, canonical_outlet))
    return _dedupe(c for c in found if c.name and not _is_self(c, outlet, aliases))


def _is_self(credit: Credit, outlet: str, aliases: AliasTable) -> bool:
    return credit.outlet == outlet or aliases.resolve(credit.name) == outlet


def _dedupe(credits: Iterable[Credit]) -> tuple[Credit, ...]:
    """One credit per source; a reporting credit outranks a wire or metadata one."""
    rank = {CreditKind.REPORTING: 0, CreditKind.WIRE: 1, CreditKind.SOURCE: 2}
    best: dict[str, Credit] = {}
    order: list[str] = []
    for credit in credits:
        key = credit.outlet or _key(credit.name).removeprefix("the ")
        if key not in best:
            order.append(key)
            best[key] = credit
        elif rank.get(credit.kind, 3) < rank.get(best[key].kind, 3):
            best[key] = credit
    return tuple(best[key] for key in order)


def credit_names(credits: Sequence[Credit]) -> tuple[str, ...]:
    """The export form: tracked outlets by display name, other sources as written."""
    return tuple(dict.fromkeys(c.outlet or c.name for c in credits))
