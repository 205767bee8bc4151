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
from collections.abc import Iterable, Sequence

from aggregator.creditrules import _RULES, Span, _source_credits
from aggregator.newsnames import (
    _NEWS_NOUNS,
    NEWS_NAMES,
    NEWS_WORDS,
    SOURCE,
    AliasTable,
    _key,
    _words,
    looks_like_news,
)
from aggregator.types import Credit, CreditKind
from aggregator.wirecredits import _contributor_credits, _copyright_credits, _lead_credits

__all__ = ["NEWS_WORDS", "AliasTable", "credit_names", "extract_credits", "looks_like_news"]


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
