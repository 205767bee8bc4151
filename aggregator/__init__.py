"""aggregator: a multi-outlet news aggregator and deduplicator.

Fetches RSS/Atom/JSON Feed coverage from many outlets, clusters syndicated copies and
rewrites of the same report, and records who reported first, who copied whom and who
credits whom.
"""

__version__ = "0.1.0"
