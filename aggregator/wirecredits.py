"""Credits of republished wire copy: datelines ("LONDON (AP) —"), bylines ("By Reuters"),
copyright lines and staff sign-offs ("Associated Press writer … contributed")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aggregator.newsnames import (
    _LEAD_CHARS,
    _MONTHS,
    _NAME,
    REPORTING,
    WIRE,
    AliasTable,
    _credit,
    _is_acronym,
    _words,
    looks_like_news,
)
from aggregator.types import Credit

# --- wire copy: dateline, byline, copyright, staff sign-off ---------------------------------

#: "LONDON (AP) —", "(Reuters) -", "BAKU, Azerbaijan (MPA) –" at the start of a line.
_DATELINE = re.compile(
    r"^[^()\n]{0,80}?\((?P<name>[A-Za-z][\w .&'-]{0,40})\)\s*[—–-]{1,2}\s", re.MULTILINE
)
#: "(CNN)Your child …": a parenthesised wire name opening a line, without the dash.
_BARE_DATELINE = re.compile(
    r"^[ \t]*(?:(?!The\b)[A-Z][\w.'-]*(?:[ \t]+[A-Z][\w.'-]*)?"
    r"(?:,[ \t]+[A-Z][\w.'-]*){0,2}[ \t]*)?"
    r"\((?P<name>[A-Za-z][\w .&'-]{0,40})\)[ \t]*(?=[A-Z\"“])",
    re.MULTILINE,
)
#: "Los Angeles Times (TNS)": a source line naming the paper and its distributor.
_SOURCE_LINE = re.compile(
    r"^[ \t]*" + _NAME + r"[ \t]*(?:\([A-Z]{2,6}\)|[|•][ \t]*(?:[A-Z][a-z]+day\b|\d)[^\n]*)"
    r"[ \t]*$",
    re.MULTILINE,
)
#: "ڈھاکہ ۔ یکم دسمبر (اے پی پی)": a dateline in a script the rules above cannot read; the
#: name in brackets counts only when it is a tracked outlet's name or alias.
_OTHER_SCRIPT_DATELINE = re.compile(r"^[^()\n]{0,80}?\((?P<name>[^()\n]{2,40})\)", re.MULTILINE)
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_BYLINE = re.compile(
    r"^(?:[^\n]{0,60}?[ \t][—–-][ \t]+)?[ \t]*By[ \t]+(?P<body>[^\n]{1,140})$", re.MULTILINE
)
#: A byline without "By": "Justin Sink, Margaret Talev and Ilya Arkhipov, Bloomberg".
_NAMES_LINE = re.compile(
    r"^[ \t]*(?P<people>(?:[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){1,3}"
    r"(?:,[ \t]*|[ \t]+and[ \t]+))+)"
    r"(?P<org>[A-Z][\w.&'’-]*(?:[ \t]+(?:of|and|&|[A-Z][\w.&'’-]*)){0,5})[ \t]*$",
    re.MULTILINE,
)
_COPYRIGHT = re.compile(
    r"^[^\n(©]{0,40}?(?:Trademark\s+and\s+)?(?:(?:©|\(c\)|Copyright)\s*)+"
    r"(?:\d{4}(?:\s*[-–]\s*\d{4})?\s+)?"
    r"(?:by\s+)?(?P<name>[^.,\n©]{2,60}?)\s*(?:,?\s*(?:Inc|LLC|Ltd|Co|Corp|Limited|plc)\.?)?"
    r"(?:\s+\d{4})?\s*(?:[.,]|\s-\s|All\s+rights|$)",
    re.MULTILINE,
)
_CONTRIBUTED = re.compile(
    r"\scontributed(?:\s+(?:to\s+(?:this|the)\s+(?:report|story|article)|reporting))?"
    r"(?=\s*(?:[.;]|$))",
    re.MULTILINE,
)
_MATERIAL_FROM = re.compile(
    r"(?:contains|includes)\s+(?:material|reporting|information)\s+from\s+(?P<list>[^.;\n]{2,240})"
)
#: How far back a sign-off's list of contributors may reach.
_CONTRIBUTORS_CHARS = 240
#: Generic words after an outlet's name that are not part of it ("RT TV station").
#: Words of a reporter's title after the organisation in a byline.
_TITLES = _words("writer reporter correspondent editor staff producer bureau desk columnist")
_ROLE = re.compile(r"(?:staff\s+)?(?:writers?|reporters?|correspondents?|journalists?)\b")
_LIST_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)")


def _lead_credits(text: str, aliases: AliasTable) -> Iterator[tuple[int, Credit]]:
    """Datelines, source lines and bylines in the first few hundred characters."""
    lead = text[:_LEAD_CHARS]
    for match in _DATELINE.finditer(lead.lstrip()):
        credit = _credit(match["name"], WIRE, aliases)
        if credit is not None:
            yield match.start(), credit
    for match in _SOURCE_LINE.finditer(lead):
        credit = _credit(match["name"], WIRE, aliases)
        if credit is not None:
            yield match.start(), credit
    for match in _BARE_DATELINE.finditer(lead):
        # without the dash, only a known or news-like name ("(INF) Treaty" is no wire)
        credit = _credit(match["name"], WIRE, aliases)
        if credit is not None and (credit.outlet or looks_like_news(credit.name)):
            yield match.start(), credit
    for match in _OTHER_SCRIPT_DATELINE.finditer(lead):
        name = match["name"].strip()
        outlet = aliases.resolve(name) if not _LATIN_LETTER.search(name) else None
        if outlet is not None:
            yield match.start(), Credit(name, WIRE, outlet)
    for match in _BYLINE.finditer(lead):
        for credit in _byline_credits(match["body"], aliases):
            yield match.start(), credit
    for match in _NAMES_LINE.finditer(lead):
        # two or more people: "Name, AP" alone is as often a photo credit as a byline
        people = [p for p in re.split(r",|\band\b", match["people"]) if p.strip()]
        if (
            len(people) > 1
            and match["people"].rstrip().endswith(",")
            and not any(looks_like_news(p) for p in people)
        ):
            credit = _byline_org(match["org"].split(), aliases)
            if credit is not None:
                yield match.start(), credit


def _byline_credits(body: str, aliases: AliasTable) -> Iterator[Credit]:
    """The organisations a byline names: "By Reuters Staff", "By JILL COLVIN Associated
    Press", "By Michelle Kosinski, CNN, AP", "By S.A. Miller - The Washington Times -
    Sunday", "By ROBERT BURNS, AP National Security Writer"."""
    for segment in re.split(r"\s*(?:[|,;]|\s[-–—]\s|[-–—]$)\s*", body):
        words = [w.strip("()") for w in re.split(r"\s+", segment) if w]
        while words and (words[-1].lower().strip(".") in _MONTHS or words[-1][:1].isdigit()):
            words.pop()
        if words and words[-1].lower() == "staff":
            words.pop()
        if not words or any(w[:1].isdigit() for w in words):
            continue
        credit = _byline_org(words, aliases)
        if credit is not None:
            yield credit


def _byline_org(words: list[str], aliases: AliasTable) -> Credit | None:
    """The organisation of a byline segment: after the reporters' names ("JILL COLVIN
    Associated Press"), or before a title ("AP National Security Writer")."""
    for start in range(len(words)):
        part = " ".join(words[start:])
        outlet = aliases.resolve(part)
        if outlet is not None:
            return Credit(part, WIRE, outlet)
    for start in range(len(words)):
        for end in range(len(words) - 1, start, -1):
            rest = words[end:]
            titled = any(w.lower() in _TITLES for w in rest) or (
                len(rest) == 1 and _is_acronym(rest[0])
            )
            outlet = aliases.resolve(" ".join(words[start:end])) if titled else None
            if outlet is not None:
                return Credit(" ".join(words[start:end]), WIRE, outlet)
    whole = " ".join(words)
    titled = any(w.lower() in _TITLES for w in words)
    if len(words) <= 5 and not titled and looks_like_news(whole, acronym=len(words) == 1):
        return Credit(whole, WIRE, None)
    # AP style writes the reporter in capitals: "By GEOFF MULVIHILL Caspian Herald"
    capitals = 0
    while capitals < len(words) and words[capitals].isupper() and len(words[capitals]) > 1:
        capitals += 1
    after = " ".join(words[capitals:])
    if 0 < capitals < len(words) <= capitals + 4 and looks_like_news(after):
        return Credit(after, WIRE, None)
    return None


def _copyright_credits(text: str, aliases: AliasTable) -> Iterator[tuple[int, Credit]]:
    """ "Copyright 2018 The Associated Press. All rights reserved." as its own line."""
    for match in _COPYRIGHT.finditer(text):
        credit = _credit(match["name"].strip(" -,"), WIRE, aliases)
        if credit is not None:
            yield match.start(), credit


def _contributor_credits(text: str, aliases: AliasTable) -> Iterator[tuple[int, Credit]]:
    """Sign-offs: "Associated Press writer X contributed" and "CNN's X contributed" travel
    with the organisation's own copy (wire); "The Associated Press contributed to this
    report" and "contains material from Reuters" credit another's reporting."""
    lists: list[tuple[int, str]] = []
    for match in _CONTRIBUTED.finditer(text):
        clause = text[max(0, match.start() - _CONTRIBUTORS_CHARS) : match.start()]
        clause = re.split(r"[;\n()]|(?<=[.!?])\s+", clause)[-1]
        lists.append((match.start() - len(clause), clause))
    lists += [(m.start(), m["list"]) for m in _MATERIAL_FROM.finditer(text)]
    for start, items in lists:
        for item in _LIST_SPLIT.split(items.strip()):
            credit = _contributor(item.strip(), aliases)
            if credit is not None:
                yield start, credit


def _contributor(item: str, aliases: AliasTable) -> Credit | None:
    found = re.match(_NAME, item)
    if found is None:
        return None
    raw, rest = found["name"], item[found.end() :].strip()
    possessive = re.search(r"['’][sS]?(?=\s|$)", raw)
    if possessive:
        return _credit(raw[: possessive.start()], WIRE, aliases)
    if _ROLE.match(rest):
        return _credit(raw, WIRE, aliases)
    if not rest:
        return _credit(raw, REPORTING, aliases)
    return None
