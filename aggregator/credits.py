"""Who does an article say it got its story from? Credits from text and metadata.

A credit is either a *reporting* credit ("via Politico", "CBS News reported", "according to
Reuters", "told the BBC", "Reuters contributed to this report"), which marks the article
as the outlet's own telling of someone else's story, or a *wire* credit ("LONDON (AP) —",
"By Reuters", "Copyright 2018 The Associated Press", "Associated Press writer … contributed"),
which marks a republished wire copy, or a *source* credit ("This article was originally
published by …", RSS ``<source>``) or a *canonical* one (rel=canonical on another outlet's
site), which mark a republication. Names resolve to tracked outlets through their
aliases; a name that is not tracked is kept as written when it looks like a news
organisation. Photo and video credits ("(AP Photo/…)", "… via Getty Images") are not
credits: the picture came from the agency, not the story.

Measured on hand-labelled real paragraphs by ``python -m eval`` (docs/QUALITY.md,
section "credits"); the labelling guide is in docs/design-notes.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.types import Credit, CreditKind, OutletConfig


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that make an unknown name look like a news organisation rather than a person,
#: a company or a government body ("according to officials" is not a credit).
NEWS_WORDS = _words(
    """news times post press herald journal tribune reuters ap afp tv radio daily gazette
    telegraph wire broadcasting broadcaster courier chronicle observer guardian magazine
    media channel express bulletin standard insider ledger examiner dispatch sentinel
    inquirer star globe monitor newspaper newswire newsweek weekly politico bbc cnn cbs nbc
    abc msnbc cnbc npr pbs xinhua tass interfax anadolu bloomberg dpa efe ansa kyodo yonhap
    irna kcna pti apa wam kuna bernama antara"""
)
#: Well-known news organisations whose names carry no news word, in lower case:
#: broadcasters, agencies, magazines and sites, written from general knowledge. Short
#: names that are also ordinary words or titles ("Vice", "Dr") are left out.
NEWS_NAMES = _words(
    """axios vox wired slate salon buzzfeed huffpost mediaite breitbart semafor propublica
    intercept forbes fortune nikkei sputnik novosti rt itv nhk kbs sbs rte rai zdf tf1 ctv
    lusa ukrinform unian belta kazinform akipress tanjug hina bta agerpres lehtikuva ntb
    ritzau wafa qna bernama ria"""
)
_MULTIWORD_NEWS_NAMES = frozenset(
    {"the intercept", "new yorker", "the atlantic", "the hill", "roll call", "ria novosti",
     "al arabiya", "sky news", "mail on sunday", "national review"}
)  # fmt: skip
#: Head words that make a name an institution even when it holds a news word ("the Post
#: Office", "the Press Office", "Herald Square").
NOT_NEWS_HEADS = _words(
    """office offices ministry department committee council institute university
    foundation centre center bank party square conference club school hospital court
    board commission service services secretary"""
)
#: "Eastern Wire Service", "Tribune News Service": a service that is news after all.
_NEWS_SERVICE = re.compile(r"\b(?:wire|news)\s+services?$")
#: "The Journal of Medicine", "Annals of Surgery": scholarly, not news.
_SCHOLARLY = re.compile(r"\b(?:journal|review|bulletin|proceedings|annals|archives)\s+of\b")
#: Sentence words a capitalized name picks up in front of it ("As Politico reported",
#: "On Thursday CBS News reported"): never part of an outlet's name.
_LEADING_NOISE = _words(
    """a an as and but also earlier later meanwhile however separately yesterday today on
    in last monday tuesday wednesday thursday friday saturday sunday said told citing
    with from by via according while when after before since then now even both first
    previously reporting asked"""
)
#: Lower-case nouns after which a news name is a modifier, not a source.
_MODIFIED_HEADS = NOT_NEWS_HEADS | _words(
    """conference summit forum festival awards headquarters building offices studio studios
    debate event gala crew"""
)
_MONTHS = _words(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec"""
)
#: One capitalized word; a dot only inside it ("Politico.com") or in initials ("U.S."), so
#: that a name does not run across the end of a sentence ("… in Baku. CBS News reported").
_WORD = r"(?:(?:[A-Z]\.){2,}|[A-Z]\.(?=[ \t]+[A-Z])|[A-Z](?:[\w&'’-]|\.(?=\w))*)"
# Words of a name are separated by spaces within one line: a name never runs across a line
# or paragraph break ("…10:44 UTC\n\nTranswire Press reported" is not "UTC Transwire Press").
_SP = r"[ \t\u00a0]+"
#: A capitalized name of up to eight words ("The Associated Press", "France 24", "The
#: South China Morning Post's Orange Wang"); the possessive and what follows are cut later.
_NAME = (
    rf"(?P<name>(?:[Tt]he{_SP})?{_WORD}"
    rf"(?:{_SP}(?:(?:of|and|&){_SP})?{_WORD}|{_SP}\d{{1,3}}\b){{0,7}})"
)
#: A name as a domain ("washingtonpost.com") where a page says where it was first published.
_DOMAIN = r"(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})"
_QUOTE = r"[\"“‘']?"
#: A person's name of one to three capitalized words ("Karen Freifeld", "David M. Drucker").
_PERSON = r"[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){0,2}"
#: Verbs of a name that reports: "CBS News reported", "The Guardian revealed".
_REPORT_VERBS = (
    r"(?:reports|reported|report|reporting|has\s+reported|had\s+reported|"
    r"said\s+in\s+a\s+report|was\s+(?:the\s+)?first\s+to\s+report|first\s+reported|"
    r"revealed|broke\s+the\s+(?:news|story)|released\s+excerpts|disclosed|"
    r"is\s+reporting|was\s+reporting|said|says|wrote|writes|noted|learned|has\s+learned|"
    r"describes|described)\b"
)
#: What a news organisation produces ("a CNN poll found", "CNN's report said").
_WORKS = (
    r"(?:report|poll|survey|analysis|investigation|story|article|tally|review|count|"
    r"interview|documentary|podcast)"
)
#: Nouns that say the next name is a news organisation ("state news agency IRNA").
_NEWS_NOUNS = (
    r"(?:news\s+agency|newspaper|broadcaster|news\s+outlet|news\s+site|"
    r"news\s+portal|tabloid|daily|weekly|magazine|wire\s+service|TV\s+channel|"
    r"television|radio\s+station)"
)
#: A photo or video credit around a match ("(Roni Rekomaa/Lehtikuva via AP)").
_PICTURE = re.compile(r"/|\bphoto|\bpool\b|\bimage|\bgetty|\bcredit|\bvideo", re.IGNORECASE)
_PICTURE_NEAR = re.compile(r"\w/\s*[@\w]|\bphoto|\bpool\b|\bimages?\b|\bgetty", re.IGNORECASE)
#: How far into the text a dateline or byline may appear (after a headline or a caption).
_LEAD_CHARS = 400
#: How far before a match a photo credit may start ("Lehtikuva/Antti Aimo-Koivisto via …").
_PICTURE_WINDOW = 40


@dataclass(frozen=True, slots=True)
class AliasTable:
    """Resolves names and domains to tracked outlets' display names."""

    names: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    #: Compact spellings of each outlet's own name: its names and its domains' labels.
    selves: dict[str, frozenset[str]] = field(default_factory=dict)
    #: The last word of every tracked name, in lower case: where a credit may be (_spans).
    tokens: frozenset[str] = frozenset()

    @classmethod
    def from_outlets(cls, outlets: Iterable[OutletConfig]) -> AliasTable:
        names: dict[str, str] = {}
        domains: dict[str, str] = {}
        selves: dict[str, frozenset[str]] = {}
        tokens: set[str] = set()
        for outlet in outlets:
            for alias in (outlet.name, *outlet.aliases):
                names[_key(alias)] = outlet.name
                words = _key(alias).split()
                tokens.update(words[-1:] if words[-1:] and words[-1].isalpha() else words[:1])
            own = {_compact(n) for n in (outlet.name, *outlet.aliases)}
            for url in (outlet.homepage, *outlet.feeds):
                domain = _domain(url)
                if domain:
                    domains.setdefault(domain, outlet.name)
                    own.add(domain.split(".")[0])
            selves[outlet.name] = frozenset(own - {""})
        return cls(names, domains, selves, frozenset(tokens))

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

    def is_self(self, name: str, outlet: str) -> bool:
        """Does ``name`` spell the outlet itself ("Fox News" on foxnews.com, "NBC" on NBC News)?"""
        compact = _compact(name)
        own = self.selves.get(outlet, frozenset()) | {_compact(outlet)}
        last = _key(outlet).split()[-1:]
        short = len(_key(name).removeprefix("the ").split()) == 1 and [compact] == last
        return compact in own or f"{compact}news" in own or short


def _key(name: str) -> str:
    return " ".join(name.replace("’", "'").lower().split()).strip(" .,'")


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _key(name).removeprefix("the "))


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.") or None


# --- names -----------------------------------------------------------------------------------


def _clean_name(raw: str) -> str:
    """The outlet's name out of what a pattern captured.

    Leading sentence words go ("On Thursday CBS News" → "CBS News"), and so do leading
    adjectives ("Kremlin-controlled Sputnik News"); a possessive ends the name ("The
    Washington Post's Ellen Nakashima" → "The Washington Post").
    """
    words = _strip_leading(raw.replace("\u00a0", " ").split())
    for n, word in enumerate(words):
        if re.search(r"['’][sS]?$", word):
            words = words[: n + 1]
            break
    name = " ".join(words).strip(" .,:;'’\"“”")
    return re.sub(r"['’][sS]?$", "", name)


def _strip_leading(words: list[str]) -> list[str]:
    """Without sentence words and adjectives in front ("the Russia-backed RT" → "RT")."""
    adjective = re.compile(r"[A-Z][a-z]+-[a-z]+")
    while len(words) > 1 and (
        words[0].lower() in _LEADING_NOISE
        or adjective.fullmatch(words[0])
        or (words[0].lower() == "the" and adjective.fullmatch(words[1]) and len(words) > 2)
    ):
        words = words[1:]
    return words


def _after_possessive(raw: str) -> str | None:
    """ "Russia's RT TV station" → "RT TV": the outlet after a place's possessive."""
    words = _strip_leading(raw.split())
    if len(words) > 1 and re.search(r"['’][sS]$", words[0]):
        return _clean_name(" ".join(words[1:]))
    return None


def _is_acronym(name: str) -> bool:
    return name.isupper() and name.isalpha() and 2 <= len(name) <= 6


def looks_like_news(name: str, *, acronym: bool = False) -> bool:
    """A news word or a known news name, or (``acronym``) a short all-capitals name.

    Acronyms count only where a wire service stands ("BAKU (MPA) –"): in running text an
    unknown acronym is mostly a government body ("according to NATO", "U.S. officials").
    """
    key = _key(name)
    words = [w.strip(".") for w in re.split(r"[\s/]+", key) if w]
    if not words or _SCHOLARLY.search(key):
        return False
    if words[-1] in NOT_NEWS_HEADS and not _NEWS_SERVICE.search(key):
        return False
    bare = key.removeprefix("the ")
    known = (
        bare.split()[0] in NEWS_NAMES
        or key in _MULTIWORD_NEWS_NAMES
        or any(bare == m or bare.startswith(m + " ") for m in _MULTIWORD_NEWS_NAMES)
    )
    return bool(set(words) & NEWS_WORDS) or known or (acronym and _is_acronym(name))


def _credit(
    raw: str, kind: CreditKind, aliases: AliasTable, *, lenient: bool = False
) -> Credit | None:
    """A credit to ``raw`` when it names a tracked outlet or looks like news (or ``lenient``)."""
    name = _clean_name(raw)
    owned = _after_possessive(raw)
    if owned and (_resolve_prefix(owned, aliases) or looks_like_news(owned)):
        name = owned  # "according to Russia's ITAR-TASS news agency" → "ITAR-TASS"
    words = name.split()
    if len(words) > 1 and words[-1].lower() in _DESCRIPTORS and not aliases.resolve(name):
        shorter = " ".join(words[:-1])
        if _resolve_prefix(shorter, aliases) or looks_like_news(shorter):
            name = shorter  # "RT TV" (station) → "RT"
    _, joined, tail = name.rpartition(" and ")
    if joined and tail[:1].isupper() and (_resolve_prefix(tail, aliases) or looks_like_news(tail)):
        name = tail  # "Scotland and CBS News released excerpts" → "CBS News"
    for part in (name, *name.split("/")) if "/" in name else (name,):
        found = _resolve_prefix(part, aliases)
        if found is not None:
            written, outlet = found
            return Credit(name=written, kind=kind, outlet=outlet)
    if not name or "/" in name or _key(name).split()[0] in _LEADING_NOISE | _MONTHS:
        return None
    if lenient or looks_like_news(name, acronym=kind is CreditKind.WIRE):
        return Credit(name=name, kind=kind, outlet=None)
    return None


def _resolve_prefix(name: str, aliases: AliasTable) -> tuple[str, str] | None:
    """(name as written, outlet) for ``name`` or its longest resolvable leading part
    ("Politico on Thursday" → "Politico", "CBS Evening News" → "CBS")."""
    words = name.split()
    for cut in range(len(words), 0, -1):
        part = " ".join(words[:cut])
        outlet = aliases.resolve(part) or (
            aliases.resolve_url(f"https://{part}") if "." in part and cut == 1 else None
        )
        if outlet is not None:
            return part, outlet
    return None


# --- where a credit may not be -----------------------------------------------------------------


def _in_picture_credit(text: str, start: int, *, near: bool = False) -> bool:
    """Is position ``start`` inside a photo or video credit: in a parenthesis that names a
    photo ("(Alexei Nikolsky, Sputnik, Kremlin Pool Photo via AP)"), or (``near``) just
    after a photographer's "Name/Agency" or a photo word on the same line?"""
    line_start = text.rfind("\n", 0, start) + 1
    opened = text.rfind("(", line_start, start)
    if opened > text.rfind(")", line_start, start) and _PICTURE.search(text, opened, start):
        return True
    window = text[max(line_start, start - _PICTURE_WINDOW) : start]
    return near and bool(_PICTURE_NEAR.search(window) or re.search(r"\b[A-Z]{2,6}\s+$", window))


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


REPORTING, WIRE, SOURCE = CreditKind.REPORTING, CreditKind.WIRE, CreditKind.SOURCE
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
_DESCRIPTORS = _words("tv station newspaper website channel network broadcaster")
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


# --- the public functions ---------------------------------------------------------------------


#: How far around a news name the rules look (a rule's context before and after the name).
_BEFORE_NAME, _AFTER_NAME = 160, 280


#: A capitalized word, and the news nouns, that open a stretch where the rules run.
_CAPITALIZED = re.compile(r"\b[A-Z][\w&.'’-]*")
_NEWS_NOUN_WORDS = re.compile(_NEWS_NOUNS)
#: One word of each multi-word news name that marks it ("The Hill" → "hill").
_MULTIWORD_MARKS = _words("intercept yorker atlantic hill roll novosti arabiya sky mail review")


def _spans(text: str, aliases: AliasTable) -> list[Span]:
    """The stretches of ``text`` around news names, merged: the only places the rules run
    (a long article names a news organisation in a few places; this makes it fast)."""
    marks = NEWS_WORDS | NEWS_NAMES | _MULTIWORD_MARKS | aliases.tokens
    hits = [
        m.start()
        for m in _CAPITALIZED.finditer(text)
        if _key(m.group()).removesuffix("'s").strip("'") in marks
    ]
    hits += [m.start() for m in _NEWS_NOUN_WORDS.finditer(text)]
    spans: list[Span] = []
    for hit in sorted(hits):
        a, b = max(0, hit - _BEFORE_NAME), min(len(text), hit + _AFTER_NAME)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
        else:
            spans.append((a, b))
    return spans


def _text_credits(text: str, aliases: AliasTable) -> list[Credit]:
    found: list[tuple[int, Credit]] = []  # (position in the text, credit)
    for whole in (_lead_credits, _copyright_credits, _contributor_credits, _source_credits):
        found.extend(whole(text, aliases))
    spans = _spans(text, aliases)
    for finder in _RULES:
        found.extend(finder(text, aliases, spans))
    # first mention first, as extract_credits promises (a stable sort keeps finder order)
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
        found.append(Credit(source_name or tracked or "", SOURCE, tracked))
    canonical_outlet = aliases.resolve_url(canonical_url)
    if canonical_outlet is not None:
        found.append(Credit(canonical_outlet, CreditKind.CANONICAL, canonical_outlet))
    return _dedupe(c for c in found if c.name and not _is_self(c, outlet, aliases))


def _is_self(credit: Credit, outlet: str, aliases: AliasTable) -> bool:
    if credit.outlet is not None:
        return credit.outlet == outlet
    return aliases.resolve(credit.name) == outlet or aliases.is_self(credit.name, outlet)


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
    kept = [best[key] for key in order]
    return tuple(c for c in kept if not _short_form(c, kept))


def _short_form(credit: Credit, others: Sequence[Credit]) -> bool:
    """ "the Times" beside "The New York Times": the same outlet named again, shortly."""
    words = _key(credit.name).removeprefix("the ").split()
    return (
        credit.outlet is None
        and len(words) == 1
        and any(
            len(o.name.split()) > 1 and _key(o.name).split()[-1] == words[0]
            for o in others
            if o is not credit
        )
    )


def credit_names(credits: Sequence[Credit]) -> tuple[str, ...]:
    """The export form: tracked outlets by display name, other sources as written."""
    return tuple(dict.fromkeys(c.outlet or c.name for c in credits))
