"""The settings every stage receives: frozen dataclasses with every default written out.

``config.py`` fills these from ``config/aggregator.toml`` and the environment; stages take
the section they need as an argument and never read files or variables themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    #: SQLAlchemy URL; relative SQLite paths are relative to the working directory.
    url: str = "sqlite:///data/aggregator.db"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    #: Loopback, private, link-local, CGNAT and metadata addresses are refused unless true.
    allow_private_networks: bool = False
    user_agent: str = (
        "aggregator/0.1 (news deduplicator; +https://github.com/aggregator-news/aggregator)"
    )
    connect_timeout: float = 10.0  # seconds (DESIGN.md §3)
    read_timeout: float = 15.0
    total_timeout: float = 20.0  # whole request including the body, for a feed
    page_total_timeout: float = 30.0  # the same for an article page
    max_body_bytes: int = 15 * MIB  # decoded bytes, feed
    max_page_bytes: int = 20 * MIB  # decoded bytes, article page
    max_redirects: int = 5
    concurrency: int = 16  # requests in flight in one process
    per_host_connections: int = 2
    #: Fetch the article page and extract its text when a feed carries only summaries
    #: (docs/design-notes.md, "Full text": why this is on by default).
    full_text: bool = True
    #: At most this many article pages per feed per cycle, for new summary-only items only.
    full_text_max_pages: int = 20


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    default_interval: timedelta = timedelta(minutes=30)
    min_interval: timedelta = timedelta(minutes=1)  # bounds for Cache-Control / <ttl> hints
    max_interval: timedelta = timedelta(hours=24)
    jitter: float = 0.25  # up to +25 % on every interval, so hosts are not hit in lockstep
    tick: timedelta = timedelta(seconds=60)  # how often the daemon looks for due feeds
    error_backoff_base: timedelta = timedelta(minutes=15)
    error_backoff_max: timedelta = timedelta(hours=24)
    failing_after: int = 3  # errors in a row before a feed is shown as failing
    full_refetch_every: timedelta = timedelta(hours=12)  # ignore validators this often
    retry_after_default: timedelta = timedelta(hours=1)  # 429/503 without a usable Retry-After
    lease: timedelta = timedelta(minutes=10)  # a claimed feed is not claimed again before this


@dataclass(frozen=True, slots=True)
class DedupSettings:
    num_perm: int = 256  # bins of the one-permutation MinHash (a power of two)
    shingle_size: int = 5  # words per shingle
    seed: int = 1
    anchor_bits: int = 4  # about one shingle in 2**anchor_bits is an anchor
    window: timedelta = timedelta(days=14)  # articles older than this leave the index
    min_tokens: int = 40  # shorter texts never cluster (empty bodies, teasers, boilerplate)
    lsh_threshold: float = 0.4  # bands propose above roughly this Jaccard; the verifier decides


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    feed_items: int = 100  # items in /feed.xml when ?limit= is not given
    #: Public base URL used for self links in the feeds; defaults to http://host:port.
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class RedisSettings:
    #: When set, the LSH index lives in Redis and is shared by every daemon.
    url: str | None = None
    prefix: str = "aggregator"


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    #: The outlets file (``[outlets] file``; ``AGGREGATOR_OUTLETS``).
    outlets_file: Path = Path("config/outlets.toml")
    #: The settings file these came from, if any.
    source: Path | None = None
