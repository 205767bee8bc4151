"""Full-text extraction: :func:`aggregator.extract.extract_text` against gold article bodies,
and the summary-only rule (:func:`aggregator.extract.needs_full_text`) on real feeds.

Data (../shared/eval, read at run time, never copied):

* ``html/article-extraction-benchmark``: 181 real pages (``html/<key>.html.gz``) and
  ``ground-truth.json`` (``{key: {"articleBody", "url"}}``);
* ``html/newspaper4k``: the 23 pages with an expected text (``html/<name>.html.gz``,
  ``txt/<name>.txt``; the page URL from ``metadata/<name>.json`` when there is one);
* ``feeds/fastfeedparser/benchmark_data``: the 26 news-outlet feeds of its MANIFEST.tsv.

Scores follow the article-extraction-benchmark's own evaluation: tokens are runs of word
characters (``\\w+``, case kept); per page, true positives, false positives and false
negatives over the multiset of units, normalized by their sum so that long pages do not
weigh more; precision is the mean over pages with a prediction, recall the mean over pages
with a gold text, F1 the harmonic mean of the two means. Units are single tokens (bag of
words) and 4-token shingles (the benchmark's published metric). "empty" is the share of
pages where the extractor returned nothing (those pages count in recall, not in precision).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

import trafilatura

from aggregator.cluster import is_clusterable
from aggregator.devdata import missing_reason, shared_path
from aggregator.extract import (
    SUMMARY_MAX_WORDS,
    decode_page,
    extract_text,
    is_cut_off,
    needs_full_text,
)
from aggregator.fingerprint import fingerprint_batch
from aggregator.normalize import normalize_entry
from aggregator.parse import parse_feed
from aggregator.settings import DedupSettings
from aggregator.textclean import html_to_text
from aggregator.types import Article
from eval.datasets import DataMissing
from eval.report import Section, table

HTML = ("eval", "html")
FEEDS = ("eval", "feeds", "fastfeedparser")
TOKEN_RE = re.compile(r"\w+")
SHINGLE = 4  # the benchmark's n-gram size
#: The news-outlet feeds that carry whole articles, found by reading each feed's items; the
#: other 21 carry a summary (a lead sentence, a teaser, an excerpt cut off with "…").
FULL_TEXT_FEEDS = {
    "16dc10cf98d1ee82": "The Week",
    "5da3b20f957be51d": "TIME Tech",
    "9f9555d69283aeda": "TIME World",
    "ce5f942d1cd40fc0": "Dawn",
    "a44f75939f245a7e": "404 Media (teasers for paywalled posts)",
}
THRESHOLDS = (40, 60, 80, 100, 120, 150)

Extractor = Callable[[bytes, str], str | None]


@dataclass(frozen=True, slots=True)
class GoldPage:
    name: str
    html: bytes
    gold: str
    url: str


def _folder(*parts: str) -> Path:
    path = shared_path(*parts)
    if not path.is_dir():
        raise DataMissing(missing_reason(str(path)))
    return path


def load_benchmark() -> list[GoldPage]:
    """The article-extraction-benchmark pages with their gold ``articleBody``."""
    base = _folder(*HTML, "article-extraction-benchmark")
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        GoldPage(key, gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes()),
                 item.get("articleBody") or "", item.get("url") or "")
        for key, item in sorted(truth.items())
    ]  # fmt: skip


def load_newspaper4k() -> list[GoldPage]:
    """The newspaper4k test pages that come with an expected text."""
    base = _folder(*HTML, "newspaper4k")
    pages = []
    for expected in sorted((base / "txt").glob("*.txt")):
        meta = base / "metadata" / f"{expected.stem}.json"
        url = json.loads(meta.read_text(encoding="utf-8")).get("url") if meta.is_file() else None
        html = gzip.decompress((base / "html" / f"{expected.stem}.html.gz").read_bytes())
        pages.append(GoldPage(expected.stem, html, expected.read_text(encoding="utf-8"), url or ""))
    return pages


# --- extractors ----------------------------------------------------------------------------


def _trafilatura(**options: bool) -> Extractor:
    """trafilatura.extract with ``options`` on the page as extract_text decodes it."""

    def run(html: bytes, url: str) -> str | None:
        text: str | None = trafilatura.extract(
            decode_page(html), url=url or None, output_format="txt", include_comments=False,
            deduplicate=False, **options,
        )  # fmt: skip
        return text

    return run


OURS = "extract_text (trafilatura: favor_precision, tables)"
BASELINE = "baseline: html_to_text of the whole page"
EXTRACTORS: dict[str, Extractor] = {
    OURS: extract_text,
    "trafilatura defaults, no tables": _trafilatura(include_tables=False),
    "trafilatura favor_recall, tables": _trafilatura(favor_recall=True, include_tables=True),
    "trafilatura favor_precision, no tables": _trafilatura(
        favor_precision=True, include_tables=False
    ),
    BASELINE: lambda html, url: html_to_text(decode_page(html)) or None,
}


# --- scores --------------------------------------------------------------------------------


def _units(text: str, n: int) -> Counter[tuple[str, ...]]:
    tokens = TOKEN_RE.findall(text)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def page_counts(gold: str, predicted: str, n: int) -> tuple[float, float, float]:
    """(tp, fp, fn) over the multisets of n-token units, normalized to sum to 1."""
    wanted, got = _units(gold, n), _units(predicted, n)
    tp = sum((wanted & got).values())
    fp, fn = sum(got.values()) - tp, sum(wanted.values()) - tp
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def mean_scores(counts: Sequence[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Mean precision, mean recall and their F1, as the benchmark computes them."""
    precisions = [tp / (tp + fp) for tp, fp, _ in counts if tp + fp > 0]
    recalls = [tp / (tp + fn) for tp, _, fn in counts if tp + fn > 0]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score_row(label: str, extractor: Extractor, pages: Sequence[GoldPage]) -> list[object]:
    start = perf_counter()
    predicted = [extractor(page.html, page.url) or "" for page in pages]
    per_page_ms = (perf_counter() - start) * 1000 / len(pages)
    words = mean_scores([page_counts(p.gold, t, 1) for p, t in zip(pages, predicted, strict=True)])
    shingles = [page_counts(p.gold, t, SHINGLE) for p, t in zip(pages, predicted, strict=True)]
    empty = sum(1 for text in predicted if not text.strip()) / len(pages)
    name = f"**{label}**" if label == OURS else label
    return [name, *words, mean_scores(shingles)[2], empty, f"{per_page_ms:.0f}"]


# --- the summary-only rule -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedItem:
    full_feed: bool  # the item's feed carries whole articles
    words: int
    flagged: bool  # needs_full_text() says: fetch the page
    cut_off: bool  # marked as an excerpt ("…", "Read more"), whatever its length
    clusterable: bool  # its feed text alone is long enough to ever cluster


def load_feed_items() -> list[FeedItem]:
    """Every item of the news-outlet feeds, normalized as the pipeline does."""
    base = _folder(*FEEDS, "benchmark_data")
    with (base.parent / "MANIFEST.tsv").open(encoding="utf-8", newline="") as manifest:
        rows = [
            r for r in csv.DictReader(manifest, delimiter="\t") if r["category"] == "news-outlet"
        ]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    articles: list[tuple[bool, Article]] = []
    for row in rows:
        feed_url = f"https://feeds.example/{row['file']}"
        parsed = parse_feed((base / row["file"]).read_bytes(), {}, feed_url)
        for entry in parsed.entries:
            article = normalize_entry(entry, outlet=row["file"], feed_url=feed_url, now=now)
            articles.append((row["file"] in FULL_TEXT_FEEDS, article))
    dedup = DedupSettings()
    prints = fingerprint_batch([a.text for _, a in articles], dedup)
    return [
        FeedItem(
            full,
            len(a.text.split()),
            needs_full_text(a),
            is_cut_off(a.text),
            is_clusterable(fp, dedup),
        )
        for (full, a), fp in zip(articles, prints, strict=True)
    ]


def rule_tables(items: Sequence[FeedItem]) -> tuple[str, str]:
    """Per kind of feed: sizes and what the rule does; then the word limit swept."""
    rows = []
    for full in (False, True):
        mine = [i for i in items if i.full_feed is full]
        words = sorted(i.words for i in mine)
        rows.append([
            "full-text feeds" if full else "summary-only feeds",
            len(mine), statistics.median(words), words[int(0.95 * (len(words) - 1))],
            sum(i.flagged for i in mine) / len(mine), sum(i.clusterable for i in mine) / len(mine),
        ])  # fmt: skip
    kinds = table(
        ("feeds", "items", "median words", "95th pct words", "page fetched (rule)",
         "clusterable without full text"),
        rows,
    )  # fmt: skip
    sweep = []
    for limit in THRESHOLDS:
        fetched = [i.words < limit or i.cut_off for i in items]
        missed = sum(1 for i, f in zip(items, fetched, strict=True) if not i.full_feed and not f)
        extra = sum(1 for i, f in zip(items, fetched, strict=True) if i.full_feed and f)
        sweep.append([f"{limit}{' (chosen)' if limit == SUMMARY_MAX_WORDS else ''}", missed, extra])
    limits = table(
        ("fewer words than", "summary items not fetched", "full-text items fetched"), sweep
    )
    return kinds, limits


# --- the section ---------------------------------------------------------------------------


def evaluate_extraction(quick: bool = False) -> Section:
    """The "Full-text extraction" section (raises DataMissing without ../shared/eval/html)."""
    start = perf_counter()
    datasets = {
        "article-extraction-benchmark": load_benchmark(),
        "newspaper4k": load_newspaper4k(),
    }
    section = Section(
        "Full-text extraction",
        "For feeds that carry only summaries the pipeline fetches each new article's page "
        "and keeps the text `aggregator.extract.extract_text` finds on it. Measured against "
        "the gold article bodies of real pages (eval/extraction.py): precision, recall and F1 "
        "over bags of `\\w+` tokens, averaged per page as the article-extraction-benchmark "
        f'does, and F1 over its {SHINGLE}-token shingles; "empty": pages with no text '
        "found. The baseline keeps every text of the page (no extraction); the other "
        "trafilatura rows are the settings we did not choose.",
    )
    headers = ("extractor", "precision", "recall", "F1", f"F1 ({SHINGLE}-shingles)", "empty",
               "ms/page")  # fmt: skip
    for name, pages in datasets.items():
        rows = [score_row(label, extractor, pages) for label, extractor in EXTRACTORS.items()]
        section.add(f"{name}: {len(pages)} pages", table(headers, rows))
    try:
        kinds, limits = rule_tables(load_feed_items())
    except DataMissing as missing:
        section.add("", f"Summary-only rule not measured: {missing}")
    else:
        section.add(
            "Summary-only rule on the 26 news-outlet feeds of fastfeedparser's benchmark_data",
            f"{kinds}\n\n`needs_full_text`: fewer than {SUMMARY_MAX_WORDS} words, or cut off "
            '(a trailing ellipsis, a "Read more" / "Seguir leyendo" paragraph, WordPress\'s '
            '"The post … appeared first on …"). "clusterable": the feed text alone reaches '
            f"dedup.min_tokens = {DedupSettings().min_tokens}. The word limit, with the "
            f"markers:\n\n{limits}",
        )
    section.seconds = perf_counter() - start
    return section
