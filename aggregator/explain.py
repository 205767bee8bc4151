"""``aggregator why A B``: why two articles are, or are not, one story.

Pure: the store hands over both articles with their text, fingerprint and credits; this
module recomputes what the verifier saw (similarity, containment, shared anchors and
paragraphs), finds the passages both texts share word for word, the credits between them
and the time gap, and states the verifier's verdict with the rule that decided it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from aggregator.cluster import Candidate, Evidence, credits_outlet, estimate, verdict
from aggregator.fingerprint import anchor_array, fingerprint_batch
from aggregator.settings import DedupSettings
from aggregator.types import ArticleView, Credit, Fingerprint, Similarity

#: Shared word runs shorter than this are phrases, not reuse.
MIN_RUN_WORDS = 10
#: How many shared runs an explanation lists (longest first).
MAX_RUNS = 5
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Subject:
    """One article as ``why`` needs it."""

    article: ArticleView
    text: str
    fingerprint: Fingerprint
    credits: tuple[Credit, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    a: ArticleView
    b: ArticleView
    similarity: Similarity
    shared_paragraphs: tuple[str, ...]
    shared_runs: tuple[str, ...]
    a_credits_b: Credit | None
    b_credits_a: Credit | None
    gap_seconds: float  # b's trusted time minus a's
    same_cluster: bool
    verifies: bool
    reason: str


def _when(article: ArticleView) -> datetime:
    return article.at or article.published_at or article.first_seen_at


def _credit_to(subject: Subject, outlet: str) -> Credit | None:
    return next((c for c in subject.credits if c.outlet == outlet), None)


def explain(a: Subject, b: Subject, settings: DedupSettings) -> Explanation:
    """Everything that decides whether ``a`` and ``b`` are one story."""
    anchors_a, anchors_b = anchor_array(a.fingerprint.anchors), anchor_array(b.fingerprint.anchors)
    shared_anchors = np.intersect1d(anchors_a, anchors_b).size
    shared_passages = len(set(a.fingerprint.passages) & set(b.fingerprint.passages))
    sim = estimate(
        Candidate.of(a.article.id, a.fingerprint),
        Candidate.of(b.article.id, b.fingerprint),
        Evidence(int(shared_anchors), shared_passages),
    )
    credited = credits_outlet(a.credits, b.article.outlet) or credits_outlet(
        b.credits, a.article.outlet
    )
    shorter = min(a.fingerprint.shingles, b.fingerprint.shingles)
    too_short = min(a.fingerprint.tokens, b.fingerprint.tokens) < settings.min_tokens
    verifies, reason = verdict(sim, shorter, credited=credited)
    if too_short:
        verifies, reason = False, f"a text under {settings.min_tokens} words never clusters"
    return Explanation(
        a=a.article,
        b=b.article,
        similarity=sim,
        shared_paragraphs=shared_paragraphs(a.text, b.fingerprint, settings),
        shared_runs=shared_runs(a.text, b.text),
        a_credits_b=_credit_to(a, b.article.outlet),
        b_credits_a=_credit_to(b, a.article.outlet),
        gap_seconds=(_when(b.article) - _when(a.article)).total_seconds(),
        same_cluster=a.article.cluster_id is not None
        and a.article.cluster_id == b.article.cluster_id,
        verifies=verifies,
        reason=reason,
    )


def shared_paragraphs(text: str, other: Fingerprint, settings: DedupSettings) -> tuple[str, ...]:
    """The paragraphs of ``text`` that the other text carries verbatim (as passages)."""
    wanted = set(other.passages)
    if not wanted:
        return ()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    fingerprints = fingerprint_batch(paragraphs, settings)
    pairs = zip(paragraphs, fingerprints, strict=True)
    return tuple(p for p, fp in pairs if wanted & set(fp.passages))


def shared_runs(a: str, b: str, *, min_words: int = MIN_RUN_WORDS) -> tuple[str, ...]:
    """Runs of at least ``min_words`` words found in both texts, longest first."""
    words_a = [w.lower() for w in _WORDS.findall(a)]
    words_b = [w.lower() for w in _WORDS.findall(b)]
    starts: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(words_b) - min_words + 1):
        starts.setdefault(tuple(words_b[i : i + min_words]), []).append(i)
    runs: list[tuple[int, int]] = []
    i = 0
    while i <= len(words_a) - min_words:
        found = starts.get(tuple(words_a[i : i + min_words]))
        if not found:
            i += 1
            continue
        best = max(_extend(words_a, words_b, i, j) for j in found)
        runs.append((best, i))
        i += best
    runs.sort(key=lambda run: -run[0])
    return tuple(" ".join(words_a[start : start + length]) for length, start in runs[:MAX_RUNS])


def _extend(a: list[str], b: list[str], i: int, j: int) -> int:
    length = 0
    while i + length < len(a) and j + length < len(b) and a[i + length] == b[j + length]:
        length += 1
    return length
