"""The signatures an in-memory index holds: one uint16 matrix, with each row's article id,
shingle and anchor counts and first sighting, grown in steps and looked up by id."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["SignatureMatrix"]

#: Signatures kept in memory grow by this many rows at a time (or a quarter, when more).
_GROW_ROWS = 4096


@dataclass(slots=True)
class SignatureMatrix:
    """Indexed signatures in one matrix, with each row's id, shingle count and arrival."""

    width: int
    matrix: npt.NDArray[np.uint16] = field(init=False)
    ids: npt.NDArray[np.int64] = field(init=False)
    shingles: npt.NDArray[np.int32] = field(init=False)
    anchors: npt.NDArray[np.int32] = field(init=False)
    seen: npt.NDArray[np.float64] = field(init=False)
    rows: int = 0
    in_order: bool = True  # ids ascend with rows (true unless ids arrive out of order)
    _order: npt.NDArray[np.intp] | None = None  # argsort of ids when not in order

    def __post_init__(self) -> None:
        self.matrix = np.empty((0, self.width), dtype=np.uint16)
        self.ids = np.empty(0, dtype=np.int64)
        self.shingles = np.empty(0, dtype=np.int32)
        self.anchors = np.empty(0, dtype=np.int32)
        self.seen = np.empty(0, dtype=np.float64)

    def extend(
        self,
        ids: npt.NDArray[np.int64],
        signatures: npt.NDArray[np.uint16],
        shingles: npt.NDArray[np.int32],
        anchors: npt.NDArray[np.int32],
        seen: npt.NDArray[np.float64],
    ) -> None:
        """Append rows (ids need not ascend: rows_of then keeps a sort order)."""
        count = ids.size
        if count == 0:
            return
        if self.rows + count > self.ids.size:
            self._grow(max(_GROW_ROWS, self.rows // 4, self.rows + count - self.ids.size))
        if (self.rows and ids[0] < self.ids[self.rows - 1]) or bool(np.any(np.diff(ids) < 0)):
            self.in_order = False
        self._order = None
        end = self.rows + count
        self.matrix[self.rows : end] = signatures
        self.ids[self.rows : end] = ids
        self.shingles[self.rows : end] = shingles
        self.anchors[self.rows : end] = anchors
        self.seen[self.rows : end] = seen
        self.rows = end

    def _grow(self, extra: int) -> None:
        self.matrix = np.concatenate((self.matrix, np.zeros((extra, self.width), np.uint16)))
        self.ids = np.concatenate((self.ids, np.zeros(extra, np.int64)))
        self.shingles = np.concatenate((self.shingles, np.zeros(extra, np.int32)))
        self.anchors = np.concatenate((self.anchors, np.zeros(extra, np.int32)))
        self.seen = np.concatenate((self.seen, np.zeros(extra)))

    def row_of(self, article_id: int) -> int | None:
        ids = self.ids[: self.rows]
        if self.in_order:
            row = int(np.searchsorted(ids, article_id))
        else:
            if self._order is None:
                self._order = np.argsort(ids, kind="stable")
            pos = int(np.searchsorted(ids[self._order], article_id))
            row = int(self._order[pos]) if pos < self.rows else self.rows
        return row if row < self.rows and ids[row] == article_id else None

    def rows_of(self, article_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """The row of each id, or -1 where it is not indexed."""
        ids = self.ids[: self.rows]
        if self.in_order:
            order = None
            sorted_ids = ids
        else:
            if self._order is None:
                self._order = np.argsort(ids, kind="stable")
            order = self._order
            sorted_ids = ids[order]
        pos = np.searchsorted(sorted_ids, article_ids)
        found = pos < self.rows
        found[found] = sorted_ids[pos[found]] == article_ids[found]
        rows = pos if order is None else order[np.minimum(pos, max(self.rows - 1, 0))]
        return np.where(found, rows, -1)

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Keep only the rows where ``mask`` is True."""
        self.matrix = self.matrix[: self.rows][mask]
        self.ids = self.ids[: self.rows][mask]
        self.shingles = self.shingles[: self.rows][mask]
        self.anchors = self.anchors[: self.rows][mask]
        self.seen = self.seen[: self.rows][mask]
        self.rows = int(mask.sum())
        self.in_order = bool(np.all(np.diff(self.ids) >= 0))
        self._order = None
