"""The candidate index in Redis, shared by several daemons (scale-out mode).

The same three kinds of key as the in-memory index (bands, anchors, passages), each a
Redis sorted set of article ids scored by their first sighting. A lookup reads only the
members inside the time window (ZRANGEBYSCORE), every write trims the members that left
it, and every key expires a window after its last write, so Redis holds the window and
nothing more without a sweeper. One pipeline (one round trip) serves a whole batch.

Signatures are not kept in Redis: ``sketch`` returns None and the caller reads them from
the store, which every daemon shares anyway.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import redis

from aggregator.fingerprint import version_of
from aggregator.index import (
    ANCHORS,
    MAX_ANCHOR_FREQUENCY,
    BatchKeys,
    Found,
    Hits,
    Sketch,
    band_layout,
    count_hits,
    stamps,
)
from aggregator.settings import DedupSettings
from aggregator.types import Fingerprint

_KIND_NAMES = ("b", "a", "p")
#: Keys of recently added articles, kept so that a rolled-back batch can be taken back.
_RECENT_LIMIT = 10_000
#: Keys live this long beyond the window after their last write (clock skew between daemons).
_EXPIRY_MARGIN = timedelta(days=1)


class RedisIndex:
    """StoryIndex on a Redis server."""

    def __init__(
        self,
        settings: DedupSettings,
        url: str,
        prefix: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.window = settings.window
        self.bands, self.rows = band_layout(settings.lsh_threshold, settings.num_perm)
        self.client: redis.Redis = redis.Redis.from_url(url)
        self.base = f"{prefix}:index:{version_of(settings)}:t{settings.lsh_threshold}"
        self.clock = clock
        self._recent: OrderedDict[int, list[bytes]] = OrderedDict()

    def _key(self, kind: int, key: int) -> bytes:
        return f"{self.base}:{_KIND_NAMES[kind]}:{key:08x}".encode()

    def keys(self, fps: Sequence[Fingerprint]) -> BatchKeys:
        return BatchKeys.of(fps, self.bands, self.rows)

    def query_many(self, fps: Sequence[Fingerprint], keys: BatchKeys | None = None) -> list[Hits]:
        return count_hits(self.query_found(fps, keys or self.keys(fps)), len(fps))

    def query_found(self, fps: Sequence[Fingerprint], keys: BatchKeys) -> list[Found]:
        cutoff = (self.clock() - self.window).timestamp()
        pipe = self.client.pipeline(transaction=False)
        layout: list[tuple[int, np.ndarray[Any, Any]]] = []
        for kind, kind_keys in enumerate(keys.kinds):
            for key in kind_keys.keys.tolist():
                pipe.zrangebyscore(self._key(kind, key), cutoff, "+inf")
            layout.append((kind, kind_keys.owner))
        replies = iter(pipe.execute())
        found: list[Found] = []
        for kind, owner in layout:
            docs: list[int] = []
            ids: list[int] = []
            for doc in owner.tolist():
                members = next(replies)
                if kind == ANCHORS and len(members) > MAX_ANCHOR_FREQUENCY:
                    continue
                docs += [doc] * len(members)
                ids += [int(m) for m in members]
            found.append(
                (np.asarray(docs, np.intp), np.asarray(ids, np.int64), np.full(len(ids), kind))
            )
        return found

    def add_many(
        self,
        ids: Sequence[int],
        fps: Sequence[Fingerprint],
        seen_at: datetime | Sequence[datetime],
        keys: BatchKeys | None = None,
    ) -> None:
        if not fps:
            return
        keys = keys or self.keys(fps)
        arrivals = stamps(seen_at, len(ids))
        cutoff = (self.clock() - self.window).timestamp()
        expiry = int((self.window + _EXPIRY_MARGIN).total_seconds())
        pipe = self.client.pipeline(transaction=False)
        written: dict[int, list[bytes]] = {article_id: [] for article_id in ids}
        for kind, kind_keys in enumerate(keys.kinds):
            for key, doc in zip(kind_keys.keys.tolist(), kind_keys.owner.tolist(), strict=True):
                name = self._key(kind, key)
                pipe.zadd(name, {str(ids[doc]): arrivals[doc]})
                pipe.zremrangebyscore(name, "-inf", f"({cutoff}")
                pipe.expire(name, expiry)
                written[ids[doc]].append(name)
        pipe.execute()
        for article_id, names in written.items():
            self._recent[article_id] = names
        while len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)

    def discard(self, article_id: int) -> None:
        names = self._recent.pop(article_id, [])
        if names:
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.zrem(name, str(article_id))
            pipe.execute()

    def prune(self, now: datetime) -> int:
        """Nothing to do: lookups skip old members, writes trim them, keys expire."""
        return 0

    def sketch(self, article_id: int) -> Sketch | None:
        return None

    def sketches(self, article_ids: Sequence[int]) -> dict[int, Sketch]:
        return {}

    def rows_of(self, article_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        return np.full(article_ids.size, -1, dtype=np.intp)

    def row_arrays(
        self, rows: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        empty = np.empty(0, dtype=np.int64)
        return np.empty((0, self.settings.num_perm), dtype=np.uint16), empty, empty

    def __len__(self) -> int:
        return len(self._recent)

    def close(self) -> None:
        self.client.close()
