"""News organisations' names: the vocabulary that tells a news name from a person's or a
company's, the alias table that resolves names and domains to tracked outlets, and the
cleaning of a credited name ("the Associated Press's" → "Associated Press").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
REPORTING, WIRE, SOURCE = CreditKind.REPORTING, CreditKind.WIRE, CreditKind.SOURCE
#: Words after a news name that describe it ("Rossiya TV station", "the Kommersant newspaper").
_DESCRIPTORS = _words("tv station newspaper website channel network broadcaster")
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
