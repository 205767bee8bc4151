"""Source articles for the generator: the BBC corpus (../shared) or our own seeds/ feeds.

Sources are deduplicated first: a corpus that already holds near-copies (the BBC set has
some) would make the generator label true duplicates as different stories.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aggregator.normalize import normalize_entry
from aggregator.parse import parse_feed
from eval.overlap import shingle_set
from eval.textgen import split_sentences

#: A source sharing this share of its word-5 shingles with an earlier one is a near-copy.
#: (Unrelated BBC stories share < 0.05; the seeds' own wire copies share 0.7-1.0.)
NEAR_COPY_CONTAINMENT = 0.2
#: Sources shorter than this are teasers or stubs, not stories to syndicate.
MIN_SOURCE_WORDS = 80
_CONTENT_TYPES = {".xml": "application/rss+xml", ".json": "application/feed+json"}


@dataclass(frozen=True, slots=True)
class SourceArticle:
    """An article the generator syndicates: its headline and body paragraphs."""

    key: str  # where it came from ("bbc/sport/199", "seeds/pacific-wire.xml#3")
    title: str
    paragraphs: tuple[str, ...]
    topic: str = ""

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def distinct_sources(sources: Iterable[SourceArticle]) -> list[SourceArticle]:
    """The sources in order, without near-copies of earlier ones and without stubs."""
    kept: list[SourceArticle] = []
    sizes: list[int] = []
    index: dict[int, list[int]] = {}
    for source in sources:
        if source.words < MIN_SOURCE_WORDS:
            continue
        shingles = shingle_set("\n\n".join(source.paragraphs), 5)
        shared: Counter[int] = Counter()
        for shingle in shingles:
            shared.update(index.get(shingle, ()))
        if any(
            n / max(1, min(len(shingles), sizes[k])) >= NEAR_COPY_CONTAINMENT
            for k, n in shared.items()
        ):
            continue
        for shingle in shingles:
            index.setdefault(shingle, []).append(len(kept))
        sizes.append(len(shingles))
        kept.append(source)
    return kept


def read_bbc(folder: Path) -> list[SourceArticle]:
    """The BBC corpus: ``<topic>/NNN.txt``, line 1 the headline, then paragraphs.

    Files are UTF-8 except one Latin-1 file (sport/199.txt); both are read.
    """
    articles: list[SourceArticle] = []
    for path in sorted(folder.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        title, _, body = text.strip().partition("\n")
        paragraphs = news_paragraphs(p.strip() for p in body.split("\n") if p.strip())
        key = f"bbc/{path.parent.name}/{path.stem}"
        articles.append(SourceArticle(key, title.strip(), paragraphs, path.parent.name))
    return articles


def news_paragraphs(paragraphs: Iterable[str]) -> tuple[str, ...]:
    """Paragraphs of one or two sentences, as news sites and wires lay stories out.

    The BBC files merge several such paragraphs into one; without re-splitting, a trimmed
    or edited copy could only cut whole thirds of a story.
    """
    out: list[str] = []
    for paragraph in paragraphs:
        sentences = split_sentences(paragraph)
        while sentences:
            take = 2 if len(sentences) != 3 and len(" ".join(sentences[:2])) < 320 else 1
            out.append(" ".join(sentences[:take]))
            sentences = sentences[take:]
    return tuple(out)


def read_seed_feeds(seeds: Path) -> list[SourceArticle]:
    """Plain text of every article in our demo feeds, through the product's own parse and
    normalize stages (the outlet of each feed from ``outlets.toml``)."""
    outlets = tomllib.loads((seeds / "outlets.toml").read_text(encoding="utf-8"))["outlets"]
    now = datetime(2026, 3, 1, tzinfo=UTC)
    articles: list[SourceArticle] = []
    for outlet in outlets:
        for feed in outlet["feeds"]:
            path = seeds / feed.rsplit("/", 1)[-1]
            headers = {"content-type": _CONTENT_TYPES.get(path.suffix, "application/xml")}
            url = f"https://seeds.example/{path.name}"
            parsed = parse_feed(path.read_bytes(), headers, url)
            for n, entry in enumerate(parsed.entries):
                article = normalize_entry(entry, outlet=outlet["name"], feed_url=url, now=now)
                paragraphs = tuple(p for p in article.text.split("\n\n") if p.strip())
                key = f"seeds/{path.name}#{n}"
                articles.append(SourceArticle(key, article.title, paragraphs, outlet["name"]))
    return articles


def by_topic(sources: Sequence[SourceArticle]) -> dict[str, list[SourceArticle]]:
    """Sources grouped by topic, in order."""
    groups: dict[str, list[SourceArticle]] = {}
    for source in sources:
        groups.setdefault(source.topic, []).append(source)
    return groups
