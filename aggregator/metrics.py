"""Prometheus metrics of one process, on a registry of its own (tests get a fresh one)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Fetch durations from a fast 304 on loopback to the 20 s deadline.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    fetches: Counter
    fetch_seconds: Histogram
    articles: Counter
    clusters: Counter
    cycles: Counter
    index_size: Gauge
    last_cycle: Gauge
    full_text_pages: Counter

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            fetches=Counter(
                "aggregator_fetches",
                "Feed fetches by outcome (ok, not_modified, or the error kind).",
                ["outcome"],
                registry=registry,
            ),
            fetch_seconds=Histogram(
                "aggregator_fetch_seconds",
                "Duration of feed fetches.",
                buckets=FETCH_BUCKETS,
                registry=registry,
            ),
            articles=Counter("aggregator_articles", "New articles stored.", registry=registry),
            clusters=Counter("aggregator_clusters", "Story clusters opened.", registry=registry),
            cycles=Counter("aggregator_cycles", "Fetch cycles completed.", registry=registry),
            index_size=Gauge(
                "aggregator_index_articles", "Articles in the LSH index.", registry=registry
            ),
            last_cycle=Gauge(
                "aggregator_last_cycle_timestamp_seconds",
                "When the last fetch cycle ended (Unix time).",
                registry=registry,
            ),
            full_text_pages=Counter(
                "aggregator_full_text_pages",
                "Article pages fetched for summary-only items, by outcome: extracted, no_text "
                "(nothing longer than the summary), extract_error, or the fetch error kind.",
                ["outcome"],
                registry=registry,
            ),
        )
