"""A deterministic benchmark corpus: N news articles of 300-1,200 words, a quarter syndicated.

Text source. The real BBC News texts (../shared/eval/bbc, 2,225 articles, read at run time
and never written into the repository) are first deduplicated: exact copies, articles that
share half their word 5-shingles with an earlier one, and repeated paragraphs are dropped.
Their ~20,000 paragraphs cannot fill 100,000 articles without every paragraph recurring in
dozens of unrelated articles, which would make every article a candidate of every other (no
real stream looks like that). So each article keeps the real paragraph sequence, the
punctuation and the ~150 most frequent words (function words, "said", "Mr") of its source
paragraphs, and redraws every other word from the real vocabulary at the same frequency rank
(within a factor of two), seeded per article. Vocabulary, Zipf statistics and paragraph
structure stay real; word 5-shingles shared between unrelated articles are as rare as in
real news. Without ../shared the same composition runs on Zipf-distributed synthetic words,
and the corpus says so.

Syndication. ``SYNDICATED_SHARE`` of the articles derive from one of the previous
``RECENT`` articles of another outlet: verbatim copies (half of them re-headlined), trimmed
copies (the first 35-80 %), edited copies (2-8 % of the words changed, a paragraph dropped
or added) and rewrites that keep ~40 % of the paragraphs verbatim, reword the rest and
credit the origin. Every outlet adds its own furniture (a copyright line, a repeated
self-promotion line, sometimes "Advertisement" or a newsletter prompt), so the boilerplate
stage has real work too.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aggregator.devdata import missing_reason, shared_path

MIN_WORDS, MAX_WORDS = 300, 1200
#: Share of articles that copy, trim, edit or rewrite an earlier article.
SYNDICATED_SHARE = 0.25
#: A syndicated article derives from one of this many previous articles (hours, not weeks).
RECENT = 400
DERIVED_KINDS = (("copy", 0.30), ("trim", 0.25), ("edit", 0.25), ("rewrite", 0.20))
#: The most frequent words are kept as they are: they are the skeleton of English prose.
KEEP_TOP_WORDS = 150
#: Source texts sharing this share of their 5-shingles with an earlier one are duplicates.
SOURCE_DUPLICATE_SHARE = 0.5

OUTLETS = (
    "Harbor Wire",
    "Northgate Herald",
    "Riverside Chronicle",
    "Capital Ledger",
    "Meridian Post",
    "Lakeshore Times",
    "Summit Daily",
    "Coastline Gazette",
    "Prairie Tribune",
    "Granite Observer",
    "Valley Courier",
    "Metro Bulletin",
    "Evergreen Journal",
    "Highland Review",
    "Bayside Standard",
    "Orchard Express",
)
#: Larger outlets publish more (a Zipf-like share per outlet).
_OUTLET_WEIGHTS = tuple(1.0 / (1 + i) ** 0.7 for i in range(len(OUTLETS)))

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)
_PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class Article:
    """One benchmark article, in arrival order (``doc_id`` 0, 1, 2, …)."""

    doc_id: int
    outlet: str
    title: str
    body: tuple[str, ...]  # the reporting, without the outlet's furniture
    paragraphs: tuple[str, ...]  # what the outlet publishes: body and furniture
    kind: str  # "original", "copy", "trim", "edit" or "rewrite"
    origin: int | None = None  # the article this one derives from
    credited: str | None = None  # the outlet a rewrite credits

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def body_text(self) -> str:
        return "\n\n".join(self.body)


@dataclass(slots=True)
class Corpus:
    articles: list[Article]
    source: str  # one line saying where the words came from
    real: bool  # False: synthetic Zipf words (../shared was absent)

    def kinds(self) -> Counter[str]:
        return Counter(a.kind for a in self.articles)

    def describe(self) -> str:
        words = [sum(p.count(" ") + 1 for p in a.body) for a in self.articles]
        kinds = self.kinds()
        share = 1 - kinds["original"] / max(1, len(self.articles))
        return (
            f"{len(self.articles):,} articles, body {min(words):,}-{max(words):,} words "
            f"(mean {sum(words) / max(1, len(words)):,.0f}); {share:.0%} syndicated "
            f"({', '.join(f'{k} {kinds[k]:,}' for k, _ in DERIVED_KINDS)}); {self.source}"
        )


# --- source texts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    category: str
    title: str
    paragraphs: tuple[str, ...]


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def read_bbc(root: Path) -> list[Source]:
    """The BBC texts: a title line, then paragraphs separated by blank lines."""
    sources = []
    for path in sorted(root.glob("*/*.txt")):
        parts = [" ".join(p.split()) for p in _PARAGRAPH.split(_read_text(path).strip())]
        parts = [p for p in parts if p]
        if len(parts) >= 2:
            sources.append(Source(path.parent.name, parts[0], tuple(parts[1:])))
    return sources


def distinct_sources(sources: Sequence[Source]) -> list[Source]:
    """Drop exact and near-duplicate texts, then paragraphs seen before (whitespace-blind)."""
    first_owner: dict[tuple[str, ...], int] = {}
    kept: list[Source] = []
    for source in sources:
        words = _WORD.findall(" ".join(source.paragraphs).lower())
        shingles = {tuple(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        shared = Counter(first_owner[s] for s in shingles if s in first_owner)
        if shared and max(shared.values()) >= SOURCE_DUPLICATE_SHARE * len(shingles):
            continue
        for s in shingles:
            first_owner.setdefault(s, len(kept))
        kept.append(source)
    seen: set[str] = set()
    distinct = []
    for source in kept:
        paragraphs = []
        for paragraph in source.paragraphs:
            key = " ".join(_WORD.findall(paragraph.lower()))
            if key and key not in seen:
                seen.add(key)
                paragraphs.append(paragraph)
        if paragraphs:
            distinct.append(Source(source.category, source.title, tuple(paragraphs)))
    return distinct


def synthetic_sources(count: int = 2500, seed: int = 7) -> list[Source]:
    """Zipf-distributed pseudo-words in sentences and paragraphs (when ../shared is absent)."""
    rng = np.random.default_rng(seed)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    vocabulary: list[str] = []
    seen: set[str] = set()
    while len(vocabulary) < 30_000:
        parts = rng.integers(0, len(syllables), size=int(rng.integers(1, 5)))
        word = "".join(syllables[p] for p in parts)
        if word not in seen:
            seen.add(word)
            vocabulary.append(word)
    weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 1.07
    cdf = np.cumsum(weights / weights.sum())
    sources = []
    for i in range(count):
        paragraphs = []
        for _ in range(int(rng.integers(6, 18))):
            ranks = np.searchsorted(cdf, rng.random(int(rng.integers(25, 110))))
            words = [vocabulary[min(r, len(vocabulary) - 1)] for r in ranks]
            for cut in range(0, len(words), 18):
                words[cut] = words[cut].capitalize()
                end = min(cut + 17, len(words) - 1)
                words[end] += "."
            paragraphs.append(" ".join(words))
        title = " ".join(vocabulary[int(r)] for r in rng.integers(50, 5000, size=6)).capitalize()
        sources.append(Source(f"topic{i % 5}", title, tuple(paragraphs)))
    return sources


# --- the pool: every source paragraph as token arrays, for fast redrawing ------------------


@dataclass(slots=True)
class _Pool:
    """Tokens (whitespace-separated) of every source paragraph, flattened into arrays."""

    offsets: npt.NDArray[np.intp]  # paragraph p has tokens offsets[p]:offsets[p+1]
    rank: npt.NDArray[np.int64]  # vocabulary rank of the token's core word
    cap: npt.NDArray[np.intp]  # 0 lower, 1 Capitalized, 2 UPPER
    keep: npt.NDArray[np.bool_]  # keep the token as written (frequent word, number, no word)
    original: npt.NDArray[np.object_]
    prefix: npt.NDArray[np.object_]
    suffix: npt.NDArray[np.object_]
    affixed: npt.NDArray[np.bool_]
    forms: npt.NDArray[np.object_]  # (3, vocabulary) lower / Capitalized / UPPER
    bucket_lo: npt.NDArray[np.int64]  # a content word of rank r is redrawn in
    bucket_size: npt.NDArray[np.int64]  # [bucket_lo[r], bucket_lo[r] + bucket_size[r])
    sources: list[Source]
    title_of: list[int]  # pool paragraph id of each source's title
    body_of: list[list[int]]  # pool paragraph ids of each source's paragraphs
    by_category: dict[str, list[int]] = field(default_factory=dict)

    def words(self, paragraph: int) -> int:
        return int(self.offsets[paragraph + 1] - self.offsets[paragraph])


def _build_pool(sources: list[Source]) -> _Pool:
    texts: list[str] = []
    title_of: list[int] = []
    body_of: list[list[int]] = []
    for source in sources:
        title_of.append(len(texts))
        texts.append(source.title)
        body_of.append(list(range(len(texts), len(texts) + len(source.paragraphs))))
        texts.extend(source.paragraphs)
    prefixes, cores, suffixes, offsets = [], [], [], [0]
    for text in texts:
        tokens = text.split(" ")
        for token in tokens:
            match = _TOKEN.match(token)
            assert match is not None
            prefixes.append(match.group(1))
            cores.append(match.group(2))
            suffixes.append(match.group(3))
        offsets.append(offsets[-1] + len(tokens))
    counts = Counter(core.lower() for core in cores)
    vocabulary = sorted(counts, key=lambda w: (-counts[w], w))
    rank_of = {w: r for r, w in enumerate(vocabulary)}
    rank = np.fromiter((rank_of[c.lower()] for c in cores), np.int64, len(cores))
    cap = np.fromiter((_cap_style(c) for c in cores), np.intp, len(cores))
    numeric = np.fromiter((any(ch.isdigit() for ch in c) or not c for c in cores), bool)
    prefix = np.array(prefixes, dtype=object)
    suffix = np.array(suffixes, dtype=object)
    lo, size = _buckets(len(vocabulary))
    pool = _Pool(
        offsets=np.asarray(offsets, dtype=np.intp),
        rank=rank,
        cap=cap,
        keep=(rank < KEEP_TOP_WORDS) | numeric,
        original=np.array(cores, dtype=object),
        prefix=prefix,
        suffix=suffix,
        affixed=(prefix != "") | (suffix != ""),
        forms=np.array(
            [
                vocabulary,
                [w[:1].upper() + w[1:] for w in vocabulary],
                [w.upper() for w in vocabulary],
            ],
            dtype=object,
        ),
        bucket_lo=lo,
        bucket_size=size,
        sources=sources,
        title_of=title_of,
        body_of=body_of,
    )
    for i, source in enumerate(sources):
        pool.by_category.setdefault(source.category, []).append(i)
    return pool


def _cap_style(core: str) -> int:
    if len(core) > 1 and core.isupper():
        return 2
    return 1 if core[:1].isupper() else 0


def _buckets(vocabulary: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Frequency-rank buckets [KEEP·2^k, KEEP·2^(k+1)): a word is redrawn within its own."""
    ranks = np.arange(vocabulary, dtype=np.int64)
    level = np.floor(np.log2(np.maximum(ranks, KEEP_TOP_WORDS) / KEEP_TOP_WORDS)).astype(np.int64)
    lo = KEEP_TOP_WORDS * (1 << level)
    hi = np.minimum(lo * 2, vocabulary)
    return lo, np.maximum(hi - lo, 1)


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finalizer (overflow wraps, as meant)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _render(pool: _Pool, paragraphs: Sequence[int], seed: int, limit: int) -> list[str]:
    """The given pool paragraphs with content words redrawn by ``seed``; at most ``limit``
    words (the last paragraph is cut)."""
    lengths = [pool.words(p) for p in paragraphs]
    index = np.concatenate([np.arange(pool.offsets[p], pool.offsets[p + 1]) for p in paragraphs])
    index = index[:limit]
    rank = pool.rank[index]
    with np.errstate(over="ignore"):
        salt = rank.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93) + np.uint64(seed)
    drawn = pool.bucket_lo[rank] + (_mix(salt) % pool.bucket_size[rank].astype(np.uint64)).astype(
        np.int64
    )
    words = pool.forms[pool.cap[index], drawn]
    keep = pool.keep[index]
    words[keep] = pool.original[index[keep]]
    affixed = np.flatnonzero(pool.affixed[index])
    if affixed.size:
        at = index[affixed]
        words[affixed] = pool.prefix[at] + words[affixed] + pool.suffix[at]
    out, start = [], 0
    as_list = words.tolist()
    for length in lengths:
        if start >= len(as_list):
            break
        out.append(" ".join(as_list[start : start + length]))
        start += length
    return out


# --- composition -------------------------------------------------------------------------


@dataclass(slots=True)
class _Composer:
    pool: _Pool
    rng: random.Random

    def original(self) -> tuple[str, tuple[str, ...]]:
        """A new article: a source's paragraphs, continued by others of its category."""
        target = self.rng.randint(MIN_WORDS, MAX_WORDS)
        first = self.rng.randrange(len(self.pool.sources))
        siblings = self.pool.by_category[self.pool.sources[first].category]
        at = siblings.index(first)
        chosen: list[int] = []
        words = 0
        while words < target:
            for p in self.pool.body_of[siblings[at % len(siblings)]]:
                chosen.append(p)
                words += self.pool.words(p)
                if words >= target:
                    break
            at += 1
        seed = self.rng.getrandbits(63)
        title = _render(self.pool, [self.pool.title_of[first]], seed, 40)[0]
        return title, tuple(_render(self.pool, chosen, seed, target))

    def random_word(self) -> str:
        rank = self.rng.randrange(KEEP_TOP_WORDS, self.pool.forms.shape[1])
        return str(self.pool.forms[0, rank])

    def edit(self, paragraph: str, rate: float) -> str:
        """Replace about ``rate`` of the words (keeping their punctuation)."""
        tokens = paragraph.split(" ")
        for _ in range(_binomial(self.rng, len(tokens), rate)):
            i = self.rng.randrange(len(tokens))
            match = _TOKEN.match(tokens[i])
            assert match is not None
            tokens[i] = match.group(1) + self.random_word() + match.group(3)
        return " ".join(tokens)

    def fresh_paragraph(self) -> str:
        source = self.rng.randrange(len(self.pool.sources))
        paragraph = self.rng.choice(self.pool.body_of[source])
        return _render(self.pool, [paragraph], self.rng.getrandbits(63), MAX_WORDS)[0]


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw (exact for short paragraphs, the normal approximation for long ones)."""
    if n < 64:
        return sum(1 for _ in range(n) if rng.random() < p)
    return max(0, min(n, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _word_count(paragraphs: Sequence[str]) -> int:
    return sum(p.count(" ") + 1 for p in paragraphs)


def _fit(composer: _Composer, body: tuple[str, ...]) -> tuple[str, ...]:
    """Keep a derived body within MIN_WORDS-MAX_WORDS: pad with a paragraph, or cut the end."""
    paragraphs = list(body)
    while _word_count(paragraphs) < MIN_WORDS:
        paragraphs.append(composer.fresh_paragraph())
    excess = _word_count(paragraphs) - MAX_WORDS
    while excess > 0:
        words = paragraphs[-1].split(" ")
        if len(words) <= excess:
            paragraphs.pop()
        else:
            paragraphs[-1] = " ".join(words[: len(words) - excess])
        excess = _word_count(paragraphs) - MAX_WORDS
    return tuple(paragraphs)


def derive(
    composer: _Composer, kind: str, title: str, body: tuple[str, ...], origin_outlet: str
) -> tuple[str, tuple[str, ...]]:
    """A syndicated version of ``body`` (title, paragraphs)."""
    rng = composer.rng
    if kind == "copy":
        new_title = composer.edit(title, 0.5) if rng.random() < 0.5 else title
        return new_title, body
    if kind == "trim":
        keep = max(MIN_WORDS, int(rng.uniform(0.35, 0.8) * _word_count(body)))
        kept: list[str] = []
        while body[len(kept) :] and _word_count(kept) < keep:
            kept.append(body[len(kept)])
        return title, tuple(kept)
    if kind == "edit":
        rate = rng.uniform(0.02, 0.08)
        paragraphs = [composer.edit(p, rate) for p in body]
        if len(paragraphs) > 3 and rng.random() < 0.5:
            del paragraphs[rng.randrange(1, len(paragraphs))]
        if rng.random() < 0.5:
            paragraphs.insert(rng.randrange(1, len(paragraphs) + 1), composer.fresh_paragraph())
        return composer.edit(title, 0.3), tuple(paragraphs)
    # rewrite: the quotes and some passages verbatim, the rest reworded, the origin credited
    paragraphs = [p if rng.random() < 0.4 else composer.edit(p, 0.6) for p in body]
    paragraphs.insert(min(2, len(paragraphs)), f"The story was first reported by {origin_outlet}.")
    return composer.edit(title, 0.7), tuple(paragraphs)


@lru_cache(maxsize=16)
def _furniture(outlet: str) -> tuple[str, str, str]:
    """(copyright line, the outlet's repeated self-promotion line, newsletter prompt)."""
    return (
        f"© 2025 {outlet}. All rights reserved.",
        f"{outlet} brings you independent reporting from the whole region, every day of "
        "the week; send your tips to our newsdesk.",
        f"Sign up for the {outlet} morning newsletter.",
    )


def furnish(rng: random.Random, outlet: str, body: tuple[str, ...]) -> tuple[str, ...]:
    """The body as ``outlet`` publishes it: with its furniture."""
    copyright_line, promo, newsletter = _furniture(outlet)
    paragraphs = list(body)
    if len(paragraphs) > 2 and rng.random() < 0.3:
        paragraphs.insert(rng.randrange(1, len(paragraphs)), "Advertisement")
    if rng.random() < 0.3:
        paragraphs.append(newsletter)
    paragraphs += [promo, copyright_line]
    return tuple(paragraphs)


def compose(pool: _Pool, count: int, seed: int) -> list[Article]:
    rng = random.Random(seed)
    composer = _Composer(pool, rng)
    kinds, weights = zip(*DERIVED_KINDS, strict=True)
    articles: list[Article] = []
    for doc_id in range(count):
        outlet = rng.choices(OUTLETS, _OUTLET_WEIGHTS)[0]
        if doc_id and rng.random() < SYNDICATED_SHARE:
            origin = articles[rng.randrange(max(0, doc_id - RECENT), doc_id)]
            while outlet == origin.outlet:
                outlet = rng.choices(OUTLETS, _OUTLET_WEIGHTS)[0]
            kind = rng.choices(kinds, weights)[0]
            title, body = derive(composer, kind, origin.title, origin.body, origin.outlet)
            body = _fit(composer, body)
            credited = origin.outlet if kind == "rewrite" else None
            article = Article(
                doc_id,
                outlet,
                title,
                body,
                furnish(rng, outlet, body),
                kind,
                origin.doc_id,
                credited,
            )
        else:
            title, body = composer.original()
            article = Article(doc_id, outlet, title, body, furnish(rng, outlet, body), "original")
        articles.append(article)
    return articles


@lru_cache(maxsize=2)
def _pool(real: bool) -> tuple[_Pool, str]:
    if real:
        root = shared_path("eval", "bbc")
        raw = read_bbc(root)
        sources = distinct_sources(raw)
        paragraphs = sum(len(s.paragraphs) for s in sources)
        note = (
            f"real text: {len(sources):,} distinct BBC News articles of {len(raw):,} "
            f"(../shared/eval/bbc), {paragraphs:,} distinct paragraphs; content words "
            "redrawn per article at the same frequency rank"
        )
        return _build_pool(sources), note
    return _build_pool(synthetic_sources()), (
        "SYNTHETIC text: Zipf-distributed pseudo-words ("
        + missing_reason("../shared/eval/bbc")
        + ")"
    )


def bbc_available() -> bool:
    return shared_path("eval", "bbc").is_dir()


def build(count: int, *, seed: int = 20250101, real: bool | None = None) -> Corpus:
    """The first ``count`` articles of the corpus (the same for every count: a prefix)."""
    use_real = bbc_available() if real is None else real
    pool, note = _pool(use_real)
    return Corpus(compose(pool, count, seed), note, use_real)


def pool_for_pairs(real: bool | None = None) -> _Composer:
    """A composer of its own (seeded apart from the corpus), for accuracy pairs."""
    use_real = bbc_available() if real is None else real
    return _Composer(_pool(use_real)[0], random.Random(99))
