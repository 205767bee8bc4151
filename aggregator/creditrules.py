"""The reporting-credit rules: a pattern each ("via X", "X reported", "according to X",
"told X", …), the kind of credit it gives, and where a match must be passed by."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from aggregator.newsnames import (
    _DOMAIN,
    _MODIFIED_HEADS,
    _NAME,
    _NEWS_NOUNS,
    _PERSON,
    _QUOTE,
    _REPORT_VERBS,
    _WORKS,
    REPORTING,
    SOURCE,
    AliasTable,
    _credit,
    _in_picture_credit,
)
from aggregator.types import Credit, CreditKind

# --- rules: a pattern, the kind of credit it gives, and how sure the pattern is -------------

Span = tuple[int, int]
Finder = Callable[[str, AliasTable, Sequence[Span]], Iterator[tuple[int, Credit]]]


def _rule(
    pattern: str,
    kind: CreditKind,
    *,
    lenient: bool = False,
    near: bool = False,
    flags: int = 0,
    skip: Callable[[str, int], bool] | None = None,
) -> Finder:
    """A finder for one pattern whose ``name`` group holds the credited name.

    ``near``: also skip matches right after a photographer's credit (for short credits
    such as "via AP"); ``skip(text, start)``: another reason to pass a match by.
    """
    compiled = re.compile(pattern, flags)

    def find(text: str, aliases: AliasTable, spans: Sequence[Span]) -> Iterator[tuple[int, Credit]]:
        matches = (m for a, b in spans for m in compiled.finditer(text, a, b))
        for match in matches:
            start = match.start()
            if _in_picture_credit(text, start, near=near) or (skip and skip(text, start)):
                continue
            if _modifies_a_noun(text, match.end("name")):
                continue
            credit = _credit(match["name"], kind, aliases, lenient=lenient)
            if credit is not None:
                yield start, credit

    return find


def _modifies_a_noun(text: str, end: int) -> bool:
    """Is the name a modifier ("told the BBC World Service conference", "the Reuters Next
    summit")? Then it names an event or a place, not a source."""
    after = re.match(r"['’]?s?\s+([a-z]+)", text[end : end + 40])
    return bool(after) and after is not None and after[1] in _MODIFIED_HEADS


def _authored_line(text: str, start: int) -> bool:
    """ "Authored by X via Y": a republication (a source credit), not a reporting one."""
    line = text[text.rfind("\n", 0, start) + 1 : start]
    return bool(re.match(r"\s*(?:Authored|Written|Posted|Submitted)\s+by\s", line))


def _is_republication(text: str, start: int) -> bool:
    """Is the sentence before ``start`` about this very article ("This story was first
    published …", "Originally published at …")? Else "first published by X" is reporting."""
    sentence = re.split(r"(?<=[.!?])\s+|\n", text[:start])[-1]
    return not sentence.strip() or bool(
        re.search(
            r"\b(?:this|the)\s+(?:article|story|post|piece|report|column|interview|essay|"
            r"version)\b",
            sentence,
            re.IGNORECASE,
        )
    )


_NAMEQ = _QUOTE + _NAME
_RULES: tuple[Finder, ...] = (
    # "AzerNEWS reports via Politico"; not "Authored by X via Y" (a source, below)
    _rule(r"\b[Vv]ia\s+" + _NAME, REPORTING, near=True, skip=_authored_line),
    # "CBS News reported", "The Guardian revealed", "The Los Angeles Times's Cindy Chang reports"
    _rule(_NAME + r",?\s+(?:first\s+|earlier\s+|also\s+)?" + _REPORT_VERBS, REPORTING),
    # "…," reports Fox News.  (the attribution after a quotation)
    _rule(
        r"\b(?:reports|reported|writes|wrote|notes|noted)\s+" + _NAME + r"(?=\s*[.,;]|\s*$)",
        REPORTING,
    ),
    # "… reported on the comments, as did Sputnik International"
    _rule(r",?\s+as\s+did\s+" + _NAME, REPORTING),
    # "according to Reuters", "according to a Politico report", "according to a tally by X"
    _rule(
        r"\b(?i:according\s+to)\s+(?:(?:a|an|the)\s+(?:\w+\s+)?"
        + _WORKS
        + r"\s+(?:by|in|from|of)\s+|reporting\s+by\s+|(?:a|an)\s+(?=[A-Z]))?"
        + _NAMEQ,
        REPORTING,
    ),
    # "a CNN poll found", "CNN's report said", "a report by Politico"
    _rule(r"\b(?:[Aa]n?|[Tt]he)\s+" + _NAME + r"(?:['’]s?)?\s+" + _WORKS + r"\b", REPORTING),
    _rule(_NAME + r"['’]s?\s+" + _WORKS + r"\s+(?:said|says|found|showed|shows)\b", REPORTING),
    _rule(r"\b(?:[Aa]|[Tt]he)\s+" + _WORKS + r"\s+(?:by|in|from)\s+" + _NAME, REPORTING),
    # "first reported by Politico", "obtained by CBS News", "asked by Politico"
    _rule(
        r"\b(?i:(?:(?:first|originally|earlier|initially)\s+)?(?:reported|obtained|carried|"
        r"confirmed|aired|broadcast|seen|reviewed|quoted|cited|asked|interviewed|released|"
        r"published)(?:\s+(?:first|earlier|originally|initially|previously))?\s+by)\s+" + _NAMEQ,
        REPORTING,
    ),
    # "told CBS News", "speaking to Sky News", "remarks to the Examiner"
    _rule(
        r"\b(?i:told|tells?|telling|said\s+to|speaking\s+to|spoke\s+to|talking\s+to|"
        r"talked\s+to|confirmed\s+to|remarks?\s+to|comments?\s+to)\s+" + _NAMEQ,
        REPORTING,
    ),
    # "in an interview with CBS News", "sat down with ITV's Piers Morgan",
    # "said on NBC's Meet the Press"
    _rule(
        r"\b(?i:interview(?:s|ed)?\s+(?:segment\s+)?(?:with|by|on|for)|segment\s+(?:for|on)|"
        r"sat\s+down\s+with|"
        r"spoke\s+with|speaking\s+with|talked\s+with)\s+" + _NAMEQ,
        REPORTING,
    ),
    _rule(
        r"\b(?:said|says|told(?:\s+[A-Z][\w.'’-]*){0,3}|speaking|spoke|appeared|appearing|"
        r"appearance|airs|aired|broadcast)\s+on\s+" + _NAMEQ,
        REPORTING,
    ),
    # "… on CNN's “State of the Union”": a programme of a network
    _rule(r"\bon\s+" + _NAME + r"['’]s\s+[\"“]", REPORTING),
    # "published on Sunday in The Daily Mail"
    _rule(
        r"\b(?:published|appeared|ran|aired)\s+(?:[\w-]+\s+){0,3}?in\s+" + _NAMEQ,
        REPORTING,
        skip=_is_republication,
    ),
    # "The New York Times's Alexander Burns and Jonathan Martin, who spoke to …, report"
    _rule(
        _NAME + r"['’]s?\s+" + _PERSON + r"(?:\s+and\s+" + _PERSON + r")?"
        r"(?:,[^.;:]{0,100},)?\s+(?:report|reports|reported|wrote|writes|noted|notes)\b",
        REPORTING,
    ),
    # "by the Daily Beast's Kate Brannen", "from ABC News:", "[ The Guardian ]"
    _rule(r"\bby\s+" + _NAME + r"['’]s?\s+[A-Z]", REPORTING),
    _rule(r"\bfrom\s+" + _NAME + r"\s*:", REPORTING),
    _rule(r"[(\[]\s*" + _NAME + r"\s*[)\]]\s*$", REPORTING, near=True, flags=re.MULTILINE),
    # "Reuters journalists Steve Holland and Andrew Osborn noted", "as the New York Times
    # columnist Nicholas Kristof wrote", "NBC chief foreign affairs correspondent … said"
    _rule(
        _NAME + r"\s+(?:[a-z]+\s+){0,3}(?:journalists?|reporters?|correspondents?|columnists?|"
        r"anchors?|hosts?)\s+" + _PERSON + r"(?:\s+and\s+" + _PERSON + r")?,?\s+"
        r"(?:noted|wrote|reported|said|says|writes|found)\b",
        REPORTING,
    ),
    # "… writes the New York Times' Michael Wines"
    _rule(
        r"\b(?:reports|reported|writes|wrote|notes|noted)\s+" + _NAME + r"['’]s?\s+[A-Z]",
        REPORTING,
    ),
    # A noun says it is news, whatever the name: "the Russian news agency TASS reported",
    # "according to state news agency IRNA", "Tass, a Russian state-controlled news agency"
    _rule(
        r"\b" + _NEWS_NOUNS + r"\s+" + _NAME + r",?\s+(?:said|says|reported|reports|quoted)\b",
        REPORTING,
        lenient=True,
    ),
    _rule(
        r"\b(?i:according\s+to|reported\s+by|told|quoted\s+by|cited\s+by)\s+(?:the\s+)?"
        r"(?:[\w-]+\s+){0,2}" + _NEWS_NOUNS + r"\s+" + _NAME,
        REPORTING,
        lenient=True,
    ),
    _rule(
        _NAME
        + r",\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}"
        + _NEWS_NOUNS
        + r",?\s+(?:said|says|reported|reports|described|wrote|writes|quoted|cited)\b",
        REPORTING,
        lenient=True,
    ),
    _rule(
        _NAME + r"\s+(?:news\s+agency|newspaper|broadcaster)\s+(?:said|says|reported)\b",
        REPORTING,
    ),
)


_SOURCE = re.compile(
    r"\b(?:[Oo]riginally|[Ff]irst)\s+(?:published|appeared|ran|posted)\s+(?:by|at|in|on)\s+"
    r"(?:" + _NAME + "|" + _DOMAIN + ")"
)
_REPUBLISHED = re.compile(
    r"\b(?:[Rr]epublished|[Rr]eprinted|[Rr]eproduced|[Ss]yndicated)\s+(?:here\s+)?"
    r"(?:with\s+permission\s+)?(?:from|by)\s+(?:" + _NAME + "|" + _DOMAIN + ")"
)
_AUTHORED_VIA = re.compile(
    r"^\s*(?:Authored|Written|Posted|Submitted)\s+by\s+[^\n]{1,80}?\s+via\s+(?:"
    + _NAME
    + "|"
    + _DOMAIN
    + ")",
    re.MULTILINE,
)


def _source_credits(text: str, aliases: AliasTable) -> Iterator[tuple[int, Credit]]:
    """ "Originally published at …", "republished from …", "Authored by X via Y"."""
    for pattern in (_SOURCE, _REPUBLISHED, _AUTHORED_VIA):
        for match in pattern.finditer(text):
            raw = match["name"] or match["domain"] or ""
            whole = pattern is not _SOURCE or _is_republication(text, match.start())
            credit = _credit(raw, SOURCE if whole else REPORTING, aliases, lenient=whole)
            if credit is not None:
                yield match.start(), credit
