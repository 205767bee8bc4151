"""Text operations of the generator: sentences, names, own sentences, light paraphrase,
typographic noise and new headlines. Everything is deterministic given the ``Random``.

The "own sentences" are written here for the generator (stock newsroom phrasing with the
story's names filled in): a write-thru's new lede, a rewrite's added context. They share
no facts with the story, only its names, as an outlet's own sentences would.
"""

from __future__ import annotations

import random
import re
from collections import Counter

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’']?\s+(?=[\"“‘(]?[A-Z0-9])")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:of |the |de )?[A-Z][a-z]+)*\b")
_NOT_NAME_WORDS = (
    "The", "A", "An", "And", "But", "In", "On", "At", "For", "It", "He", "She", "They", "We", "I",
    "Its", "His", "Her", "Their", "This", "That", "These", "Those", "There", "Mr", "Mrs", "Ms",
    "Dr", "Sir", "However", "Meanwhile", "Some", "Many", "Most", "Other", "Last", "Next", "First",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January",
    "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "If", "As", "When", "While", "After", "Before", "Since", "Although",
    "With", "Without", "Our", "Your", "You", "What", "Who", "How", "Why", "Where", "Not", "No",
    "Yes", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Speaking", "Asked", "Under", "Over",
)  # fmt: skip
_NOT_NAMES = frozenset(_NOT_NAME_WORDS)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Parts of an outlet's own sentences ({a}, {b}: names from the story; {day}: a weekday).
#: Sentences are put together from parts, so two stories rarely share a whole sentence,
#: only the stock phrases newsrooms really share ("did not respond to requests for comment").
_LEDE_OPENINGS = (
    "", "In a new development, ", "Late on {day}, ", "Hours after the first reports, ",
    "In the latest twist, ", "On {day}, ", "As the story moved on, ",
)  # fmt: skip
_LEDE_VERBS = (
    "{a} faced fresh questions", "{a} came under renewed pressure",
    "{a} moved to address the fallout", "{a} set out its next steps",
    "{a} sought to calm the row", "{a} was drawn deeper into the dispute",
    "{a} responded to the criticism", "{a} defended the decision",
    "{a} and {b} held further talks", "{a} signalled a change of course",
)  # fmt: skip
_LEDE_TAILS = (
    "", " with {b} also involved", " as {b} weighed its response", " as new details emerged",
    " after talks with {b} broke down", " while {b} stayed silent", " amid growing scrutiny",
)  # fmt: skip
_CONTEXT_SUBJECTS = (
    "{a}", "A spokesperson for {a}", "Representatives of {b}", "People close to {a}",
    "Analysts following {b}", "Officials at {a}", "Advisers to {b}",
)  # fmt: skip
_CONTEXT_VERBS = (
    "declined to comment", "did not respond to requests for comment",
    "said more details would follow", "pointed to earlier statements",
    "said the matter was under review", "expected a decision soon",
    "described the situation as fluid", "promised a fuller account",
    "played down the significance of the move", "said talks were continuing",
)  # fmt: skip
_CONTEXT_TAILS = (
    "", " on {day}", " when contacted", " later in the week", " at the time of writing",
    " in a brief statement", " ahead of {day}",
)  # fmt: skip
#: Light paraphrase: word or phrase swaps a rewriting desk makes.
_SWAPS: tuple[tuple[str, str], ...] = (
    (r"\bsaid\b", "stated"),
    (r"\bsays\b", "states"),
    (r"\bHowever,\s", "But "),
    (r"\bbecause of\b", "due to"),
    (r"\bbecause\b", "as"),
    (r"\babout\b", "around"),
    (r"\bmore than\b", "over"),
    (r"\bafter\b", "following"),
    (r"\bbefore\b", "ahead of"),
    (r"\bannounced\b", "unveiled"),
    (r"\bthe company\b", "the firm"),
    (r"\bincrease\b", "rise"),
    (r"\bexpected\b", "forecast"),
    (r"\bincluding\b", "among them"),
    (r"\bwill\b", "is set to"),
    (r"\bbig\b", "large"),
    (r"\balso\s", ""),
    (r"\bvery\s", ""),
    (r"\bbut\b", "though"),
    (r"\bthink\b", "believe"),
    (r"\bpeople\b", "individuals"),
    (r"\bwant\b", "wish"),
    (r"\bnumber of\b", "count of"),
    (r"\bshow\b", "indicate"),
    (r"\bcompanies\b", "firms"),
    (r"\bgovernment\b", "administration"),
    (r"(\d)bn\b", r"\1 billion"),
    (r"(\d)m\b", r"\1 million"),
)


_TIGHTEN = re.compile(r"\b(?:the|a|an|that) ")


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph (a plain rule: end mark, space, capital)."""
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def story_names(paragraphs: list[str], title: str) -> list[str]:
    """Capitalized names in the story, most frequent first (people, firms, places)."""
    counts: Counter[str] = Counter()
    for text in (title, *paragraphs):
        for match in _NAME.finditer(text):
            name = match.group(0)
            before = text[: match.start()].rstrip()
            starts_sentence = not before or before[-1] in '.!?"“‘:'
            if starts_sentence and " " not in name:
                continue  # "Flu hospitalizations …": a capital from position, not a name
            if name.split()[0] not in _NOT_NAMES and len(name) > 2:
                counts[name] += 1
    names = [n for n, _ in counts.most_common(8)]
    return names or ["the company", "officials"]


def _fill(parts: tuple[tuple[str, ...], ...], rng: random.Random, names: list[str]) -> str:
    a = rng.choice(names[:3])
    b = rng.choice([n for n in names if n != a] or ["officials"])
    template = "".join(rng.choice(options) for options in parts) + "."
    sentence = template.format(a=a, b=b, day=rng.choice(WEEKDAYS))
    return sentence[0].upper() + sentence[1:]


def lede_sentences(rng: random.Random, names: list[str], count: int) -> list[str]:
    """New lede sentences for a write-thru."""
    sentences = []
    for _ in range(count):
        opening = rng.choice(_LEDE_OPENINGS)
        when = ("",) if "{day}" in opening else (" on {day}", " this week", "")
        sentences.append(_fill(((opening,), _LEDE_VERBS, when, _LEDE_TAILS), rng, names))
    return sentences


def context_sentences(rng: random.Random, names: list[str], count: int) -> list[str]:
    """An outlet's own context sentences."""
    parts = (_CONTEXT_SUBJECTS, (" ",), _CONTEXT_VERBS, _CONTEXT_TAILS)
    return [_fill(parts, rng, names) for _ in range(count)]


def paraphrase(sentence: str, rng: random.Random) -> str:
    """A light paraphrase: most applicable swaps, and sometimes a trailing clause dropped.

    Words stay, facts stay; the changes break many of the word shingles a copy would keep.
    """
    out = _number_style(sentence)
    for pattern, replacement in _SWAPS:
        if rng.random() < 0.8:
            out = re.sub(pattern, replacement, out)
    if rng.random() < 0.35 and ", " in out[: len(out) * 2 // 3]:
        head, _, _ = out.rpartition(", ")
        if len(head.split()) >= 6:
            out = head + "."
    # Headline-style tightening: some articles and "that"s go (never the first word).
    first, _, rest = out.partition(" ")
    rest = _TIGHTEN.sub(lambda m: "" if rng.random() < 0.5 else m.group(0), rest)
    return re.sub(r"\s{2,}", " ", f"{first} {rest}".strip())


def _number_style(sentence: str) -> str:
    """Per cent written the other way ("5%" ↔ "5 per cent")."""
    if "%" in sentence:
        return re.sub(r"(\d)\s?%", r"\1 per cent", sentence)
    return re.sub(r"(\d) (?:per cent|percent)\b", r"\1%", sentence)


def lower_first(sentence: str, names: list[str]) -> str:
    """The sentence lower-cased at its start, to follow "X reported that …".

    Left alone when it starts with a name (or "I"): "Reuters reported that Smith …".
    """
    first = sentence.split(" ", 1)[0]
    if first == "I" or first.isupper() or any(n.split()[0] == first for n in names):
        return sentence
    return sentence[:1].lower() + sentence[1:]


def new_headline(rng: random.Random, title: str, lede: str, names: list[str]) -> str:
    """A different headline for the same story, as a copy desk would write one."""
    words = lede.split()
    choice = rng.random()
    if choice < 0.4 and len(words) > 8:
        return " ".join(words[: rng.randint(7, 11)]).rstrip(",;:") + "…"
    if choice < 0.7 and not title.startswith(names[0]):
        return f"{names[0]}: {lower_first(title, names)}"
    prefix = rng.choice(("UPDATE 2-", "Explainer: ", "Latest: ", "Analysis: ", "Watch: "))
    return prefix + title


# --- typographic noise ------------------------------------------------------------------


def _curly(text: str) -> str:
    text = re.sub(r'"(?=\w)', "“", text)
    text = text.replace('"', "”")
    return re.sub(r"(?<=\w)'", "’", text)


def _straight(text: str) -> str:
    for curly, plain in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'")):
        text = text.replace(curly, plain)
    return text


def _dashes(text: str) -> str:
    return text.replace(" - ", " — ").replace("—", " -- ").replace("–", "-")


def _nbsp(text: str, rng: random.Random) -> str:
    return "".join("\u00a0" if c == " " and rng.random() < 0.12 else c for c in text)


def _doubled(text: str) -> str:
    return re.sub(r"([.!?,]) (?=\S)", r"\1  ", text)


def _entities(text: str) -> str:
    """Entities left encoded, as a double-escaping feed delivers them."""
    for char, entity in (("&", "&amp;"), ("’", "&rsquo;"), ("'", "&#39;"), ("—", "&mdash;")):
        text = text.replace(char, entity)
    return text.replace("£", "&pound;").replace("“", "&ldquo;").replace("”", "&rdquo;")


def _soft_hyphens(text: str, rng: random.Random) -> str:
    def hyphenate(match: re.Match[str]) -> str:
        word = match.group(0)
        return word[:4] + "\u00ad" + word[4:] if rng.random() < 0.15 else word

    return re.sub(r"\b[a-z]{9,}\b", hyphenate, text)


def typographic(text: str, rng: random.Random) -> str:
    """Two or three kinds of typographic noise: quotes, dashes, spaces, entities, hyphens."""
    operations = ["quotes", "dashes", "nbsp", "doubled", "entities", "soft"]
    chosen = rng.sample(operations, rng.randint(2, 3))
    if "quotes" in chosen:
        text = _curly(text) if "“" not in text and "’" not in text else _straight(text)
    if "dashes" in chosen:
        text = _dashes(text)
    if "nbsp" in chosen:
        text = _nbsp(text, rng)
    if "doubled" in chosen:
        text = _doubled(text)
    if "soft" in chosen:
        text = _soft_hyphens(text, rng)
    if "entities" in chosen:
        text = _entities(text)
    return text
