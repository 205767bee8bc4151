"""The JSON shape of clusters, articles and feeds: the one definition of PRODUCT.md §2.

The CLI's ``--json``, ``export`` and the HTTP API all call these functions, so a field is
named, ordered and formatted in exactly one place. Values are plain JSON types: timestamps
are ISO-8601 UTC strings ending in "Z", enums are their string values. The text is passed
through unchanged (an export must be faithful); renderers that embed it clean it themselves.
Links are the exception: every article link is http(s) or null (``safe_url``), whatever a row
written by hand or by an older version holds, because API clients follow them.
"""

from __future__ import annotations

from aggregator.explain import Explanation
from aggregator.outputs.safety import iso_z, safe_url
from aggregator.types import (
    ArticleView,
    ClusterView,
    Credit,
    FeedStatusView,
    FirstReporter,
    OutletStatsView,
)

#: Similarities are estimates; more digits than this would only suggest false precision.
SIMILARITY_DIGITS = 4


def article_to_dict(a: ArticleView) -> dict[str, object]:
    """Return the export record of one article (PRODUCT.md §2 ``export --format jsonl``)."""
    return {
        "id": a.id,
        "outlet": a.outlet,
        "feed_url": a.feed_url,  # a configured feed, or the file:// URI of `ingest`
        "guid": a.guid,
        "url": safe_url(a.url),
        "canonical_url": safe_url(a.canonical_url),
        "title": a.title,
        "published_at": iso_z(a.published_at),
        "first_seen_at": iso_z(a.first_seen_at),
        "cluster_id": a.cluster_id,
        "relation": a.relation.value if a.relation is not None else None,
        "similarity": _round(a.similarity),
        "credits": list(a.credits),
        "author": a.author,
        "credits_outlet": a.credits_outlet,
        "at": iso_z(a.at),
    }


def first_reporter_to_dict(f: FirstReporter) -> dict[str, object]:
    """Return a cluster's ``first_reporter`` object."""
    return {
        "outlet": f.outlet,
        "article_id": f.article_id,
        "url": safe_url(f.url),
        "at": iso_z(f.at),
        "basis": f.basis.value,
    }


def cluster_to_dict(c: ClusterView) -> dict[str, object]:
    """Return one cluster; ``members`` is present only when the view carries members."""
    out: dict[str, object] = {
        "id": c.id,
        "title": c.title,
        "size": c.size,
        "outlets": list(c.outlets),
        "first_reporter": first_reporter_to_dict(c.first_reporter),
        "credited_source": c.credited_source,
        "first_seen_at": iso_z(c.first_seen_at),
        "last_seen_at": iso_z(c.last_seen_at),
        "confidence": _round(c.confidence),
    }
    if c.members:
        out["members"] = [article_to_dict(m) for m in c.members]
    return out


def feed_status_to_dict(f: FeedStatusView) -> dict[str, object]:
    """Return one feed's state (PRODUCT.md §2 ``feeds status --json``)."""
    return {
        "outlet": f.outlet,
        "feed_url": f.feed_url,
        "state": f.state.value,
        "last_fetched_at": iso_z(f.last_fetched_at),
        "last_status": f.last_status,
        "error_kind": f.error_kind.value if f.error_kind is not None else None,
        "error_message": f.error_message,
        "error_count": f.error_count,
        "next_fetch_at": iso_z(f.next_fetch_at),
        "articles": f.articles,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, SIMILARITY_DIGITS)


def credit_to_dict(credit: Credit | None) -> dict[str, object] | None:
    """A credit: the name as written, its kind, and the tracked outlet it resolves to."""
    if credit is None:
        return None
    return {"name": credit.name, "kind": credit.kind.value, "outlet": credit.outlet}


def explanation_to_dict(e: Explanation) -> dict[str, object]:
    """``aggregator why A B --json``."""
    return {
        "a": article_to_dict(e.a),
        "b": article_to_dict(e.b),
        "same_cluster": e.same_cluster,
        "verifies": e.verifies,
        "reason": e.reason,
        "similarity": {
            "jaccard": _round(e.similarity.jaccard),
            "containment": _round(e.similarity.containment),
            "shared_anchors": e.similarity.shared_anchors,
            "shared_passages": e.similarity.shared_passages,
        },
        "shared_paragraphs": list(e.shared_paragraphs),
        "shared_runs": list(e.shared_runs),
        "a_credits_b": credit_to_dict(e.a_credits_b),
        "b_credits_a": credit_to_dict(e.b_credits_a),
        "gap_seconds": e.gap_seconds,
    }


def outlet_stats_to_dict(o: OutletStatsView) -> dict[str, object]:
    """``aggregator outlets --json``: one object per outlet."""
    return {
        "outlet": o.outlet,
        "articles": o.articles,
        "first_reports": o.first_reports,
        "copies": o.copies,
        "rewrites": o.rewrites,
        "median_lag_seconds": o.median_lag_seconds,
        "credits": [{"outlet": name, "count": n} for name, n in o.credits],
        "copied_by": [{"outlet": name, "count": n} for name, n in o.copied_by],
    }
