"""Article pages for summary-only feeds: fetched through the guarded fetcher, extracted
off the event loop.

The pipeline decides which new articles need their page (extract.needs_full_text, at most
``fetch.full_text_max_pages`` per feed); here each page is requested with the fetcher's
guard, deadlines, size caps and per-host limits, and its text extracted with trafilatura
in a worker thread. Every failure costs one article its page text and nothing more: the
feed's summary is kept, and the outcome is counted in the ``full_text_pages`` metric.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial

from aggregator.extract import extract_text
from aggregator.fetch import Fetcher
from aggregator.metrics import Metrics
from aggregator.types import Article, Fetched, FetchFailure, ParsedFeed

__all__ = ["FullTexts", "page_text", "page_texts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FullTexts:
    """A feed parsed ahead of its batch, and the text found on its new articles' pages."""

    parsed: ParsedFeed
    texts: Mapping[str, str] = field(default_factory=dict)  # identity key → page text


async def page_texts(
    fetcher: Fetcher, articles: Sequence[Article], extractor: Executor, metrics: Metrics
) -> dict[str, str]:
    """The page text of each article that has one longer than its summary, by identity key."""
    found = await asyncio.gather(
        *(page_text(fetcher, a, extractor, metrics) for a in articles), return_exceptions=True
    )
    texts: dict[str, str] = {}
    for article, text in zip(articles, found, strict=True):
        if isinstance(text, BaseException):  # a bug, never an I/O problem: one summary kept
            log.error("full text of %s failed", article.url, exc_info=text)
        elif text:
            texts[article.identity_key] = text
    return texts


async def page_text(
    fetcher: Fetcher, article: Article, extractor: Executor, metrics: Metrics
) -> str | None:
    """The text of ``article``'s page when it is longer than the feed's, else None."""
    assert article.url is not None  # needs_full_text() promised an http(s) URL
    page = await fetcher.fetch_page(article.url)
    if not isinstance(page, Fetched):
        kind = page.kind.value if isinstance(page, FetchFailure) else "not_modified"
        why = page.message if isinstance(page, FetchFailure) else "HTTP 304"
        log.info("full text: keeping the summary of %s: %s", article.url, why)
        metrics.full_text_pages.labels(outcome=kind).inc()
        return None
    loop = asyncio.get_running_loop()
    extract = partial(
        extract_text, page.body, page.url, content_type=page.headers.get("content-type")
    )
    try:
        text = await loop.run_in_executor(extractor, extract)
    except Exception:  # a bug in extraction must cost one article's text, nothing more
        log.exception("full text: extracting %s failed; keeping the summary", page.url)
        metrics.full_text_pages.labels(outcome="extract_error").inc()
        return None
    if text is None or len(text.split()) <= len(article.text.split()):
        log.info("full text: no article text on %s beyond the summary", page.url)
        metrics.full_text_pages.labels(outcome="no_text").inc()
        return None
    metrics.full_text_pages.labels(outcome="extracted").inc()
    return text
