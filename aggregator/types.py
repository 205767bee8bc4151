"""The data that flows between the stages, one frozen type per stage.

Every datetime here is timezone-aware UTC. Stages pass these values along; none of them
carries behaviour beyond small derived properties.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class ErrorKind(enum.StrEnum):
    """Typed reason for a failed fetch, shown as ``error_kind`` by ``feeds status``."""

    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    BLOCKED_DESTINATION = "blocked_destination"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"
    TLS_ERROR = "tls_error"
    NETWORK_ERROR = "network_error"
    PARSE_ERROR = "parse_error"
    EMPTY_BODY = "empty_body"


class FeedState(enum.StrEnum):
    """Health of a feed as ``feeds status`` shows it."""

    OK = "ok"
    FAILING = "failing"
    DISABLED = "disabled"


class Relation(enum.StrEnum):
    """An article's place in its cluster."""

    ORIGINAL = "original"
    COPY = "copy"
    REWRITE = "rewrite"


class Basis(enum.StrEnum):
    """How a cluster's first reporter was decided."""

    PUBLISHED = "published"  # the publisher's timestamp, judged plausible
    OBSERVED = "observed"  # our own first sighting
    CREDIT = "credit"  # the other members credit it


class CreditKind(enum.StrEnum):
    """How an article credits another source; decides copy versus rewrite."""

    REPORTING = "reporting"  # "via X", "X reported", "according to X": the outlet's own telling
    WIRE = "wire"  # "(AP)", "By Reuters", "LONDON (Reuters) -": a republished wire copy
    SOURCE = "source"  # RSS <source>, dc:source, "originally published by/at"
    CANONICAL = "canonical"  # rel=canonical pointing at another outlet's site


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutletConfig:
    """One outlet from the outlets file."""

    name: str
    homepage: str | None
    aliases: tuple[str, ...]
    feeds: tuple[str, ...]
    interval: timedelta | None = None


# --- fetch ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What the fetcher needs to know to GET one feed."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    #: Ignore the validators above (the forced full refetch every 12 h).
    force_full: bool = False


@dataclass(frozen=True, slots=True)
class Fetched:
    """A complete 2xx response whose decoded body is within the cap."""

    url: str  # final URL after redirects
    status: int
    body: bytes
    headers: Mapping[str, str]  # lower-case names
    fetched_at: datetime
    elapsed: float = 0.0

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304 answer to a conditional GET."""

    url: str
    headers: Mapping[str, str]
    fetched_at: datetime
    status: int = 304
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A fetch that ended in a typed error; never raised across the batch boundary."""

    url: str
    kind: ErrorKind
    message: str
    fetched_at: datetime
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


FetchResult = Fetched | NotModified | FetchFailure


# --- parse ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One item of a feed, as the feed states it; HTML fields are already sanitized."""

    guid: str | None
    link: str | None
    title: str
    author: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    source_name: str | None = None  # RSS <source>, dc:source, Atom <source><title>
    source_url: str | None = None
    canonical_url: str | None = None  # rel=canonical stated in the feed, if any
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed body."""

    format: str  # e.g. "rss20", "atom10", "rss10", "json11"
    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    #: Seconds the feed asks us to wait (<ttl>, sy:updatePeriod); None when unstated.
    ttl_seconds: int | None = None
    #: A non-fatal problem the parser noticed (feedparser's "bozo"), kept for diagnostics.
    warning: str | None = None


# --- normalize -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credit:
    """A source an article credits, as written and as resolved to a tracked outlet."""

    name: str  # as written ("POLITICO", "the Associated Press")
    kind: CreditKind
    outlet: str | None = None  # display name of the tracked outlet, when resolved


@dataclass(frozen=True, slots=True)
class Article:
    """A normalized entry, ready to fingerprint and store."""

    outlet: str
    feed_url: str
    identity_key: str  # unique within the outlet: "guid:…", "url:…" or "hash:…"
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    text: str  # clean text of the best body available; paragraphs separated by "\n\n"
    summary: str  # clean text of the summary (may equal text)
    content_html: str | None  # sanitized HTML of the body, for display
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    source_name: str | None = None
    source_url: str | None = None
    tags: tuple[str, ...] = ()


# --- fingerprint / cluster -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprint:
    """Signature of an article's text (see fingerprint.py for the byte formats).

    ``signature`` holds ``num_perm`` 16-bit one-permutation MinHash values, ``shingles``
    the number of shingles it was computed from (so that containment can be estimated),
    ``anchors`` the sorted 32-bit keys of the sampled anchor shingles, ``passages`` signed
    64-bit hashes of long paragraphs.
    """

    signature: bytes
    shingles: int
    tokens: int
    passages: tuple[int, ...]
    version: str
    anchors: bytes = b""


@dataclass(frozen=True, slots=True)
class Similarity:
    """How two texts compare: estimated Jaccard, containment of the shorter in the longer,
    long paragraphs and anchors (sampled shingles) found in both."""

    jaccard: float
    containment: float
    shared_passages: int
    shared_anchors: int = 0


@dataclass(frozen=True, slots=True)
class Assignment:
    """The cluster decision for one new article.

    ``cluster_id`` None means: open a new cluster. ``merge`` lists further clusters that
    this decision joins with ``cluster_id``.
    """

    cluster_id: int | None
    matched_article_id: int | None = None
    similarity: Similarity | None = None
    merge: tuple[int, ...] = ()


# --- provenance ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What provenance needs to know about one member of a cluster."""

    article_id: int
    outlet: str
    published_at: datetime | None
    first_seen_at: datetime
    #: Last successful fetch of the article's feed that did not carry it (None if unknown).
    absent_at: datetime | None
    credits: tuple[Credit, ...]


@dataclass(frozen=True, slots=True)
class MemberRole:
    """Provenance's verdict on one member."""

    article_id: int
    relation: Relation
    similarity: float  # 1.0 for the original
    credits_outlet: str | None  # the outlet (tracked or not) this member credits, if any
    at: datetime  # the time provenance trusts for this member


@dataclass(frozen=True, slots=True)
class ClusterState:
    """Provenance's verdict on a whole cluster."""

    first_article_id: int
    first_outlet: str
    first_at: datetime
    basis: Basis
    confidence: float
    credited_source: str | None
    roles: tuple[MemberRole, ...]


# --- views (what the store hands to the outputs and the CLI) -------------------------------


@dataclass(frozen=True, slots=True)
class ArticleView:
    """One stored article with its cluster and provenance fields (the export record)."""

    id: int
    outlet: str
    feed_url: str | None
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    published_at: datetime | None
    first_seen_at: datetime
    cluster_id: int | None
    relation: Relation | None
    similarity: float | None
    credits: tuple[str, ...]  # tracked outlets by display name, other sources as written
    author: str | None = None
    summary: str = ""
    #: The outlet this article credits as its source (a rewrite's "via X"), if any.
    credits_outlet: str | None = None
    #: The time provenance trusts for this article (plausible published_at, else first_seen_at).
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FirstReporter:
    outlet: str
    article_id: int
    url: str | None
    at: datetime
    basis: Basis


@dataclass(frozen=True, slots=True)
class ClusterView:
    """A story cluster; ``members`` is filled by ``get_cluster`` and empty in listings."""

    id: int
    title: str
    size: int
    outlets: tuple[str, ...]  # display names, in order of first appearance
    first_reporter: FirstReporter
    credited_source: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    confidence: float = 1.0
    members: tuple[ArticleView, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedStatusView:
    """One feed's fetch state, as ``feeds status`` shows it."""

    outlet: str
    feed_url: str
    state: FeedState
    last_fetched_at: datetime | None
    last_status: int | None
    error_kind: ErrorKind | None
    error_message: str | None
    error_count: int
    next_fetch_at: datetime | None
    articles: int


@dataclass(frozen=True, slots=True)
class OutletStatsView:
    """What one outlet does in the coverage (``aggregator outlets``)."""

    outlet: str
    articles: int
    first_reports: int  # clusters of two or more articles it reported first
    copies: int  # its articles that copy another outlet's original
    rewrites: int  # its articles that rewrite another outlet's original
    median_lag_seconds: float | None  # behind the original, over its copies and rewrites
    credits: tuple[tuple[str, int], ...]  # whom it credits, most often first
    copied_by: tuple[tuple[str, int], ...]  # who copies or rewrites its originals
