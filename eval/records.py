"""The labelled document every data set yields, and its JSON Lines form."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

#: Roles of a document in its gold story.
ORIGINAL = "original"  # the first report of a story
COPY = "copy"  # a republication of the original (whole, trimmed, with furniture …)
REWRITE = "rewrite"  # the outlet's own telling that reuses the original and credits it
NEGATIVE = "negative"  # a hard negative: a story of its own that must not merge
UNLABELLED = "unlabelled"  # real data without duplicate labels (helsinki)


@dataclass(frozen=True, slots=True)
class Doc:
    """One article of an evaluation stream, with its gold label.

    ``story`` is the gold story id (documents of one story must share a cluster, all others
    must not). ``kinds`` says how the document was made: the copy kinds applied
    ("trimmed", "boilerplate" …), "rewrite", "original", or the kind of hard negative
    ("template", "teaser" …); real data sets put their own label there (ECB+ topic, COUNTER
    WD/PD/ND). ``parent`` is the document a copy or rewrite was derived from.
    """

    doc_id: int
    story: str
    role: str
    kinds: tuple[str, ...]
    outlet: str
    title: str
    text: str
    first_seen_at: datetime
    published_at: datetime | None = None
    url: str | None = None
    parent: int | None = None
    topic: str = ""
    #: The outlet of the story's original (for the provenance evaluation).
    source_outlet: str | None = None
    #: The outlet this document credits in its text (dateline, "via X"), if any.
    credited: str | None = None
    #: Where a real document came from (file, CSV id); empty for generated text.
    origin: str = ""

    @property
    def kind(self) -> str:
        """The kinds as one label: "trimmed+boilerplate"."""
        return "+".join(self.kinds)


def doc_to_json(doc: Doc) -> dict[str, Any]:
    """A JSON-ready dict; times as ISO-8601."""
    return {
        "doc_id": doc.doc_id,
        "story": doc.story,
        "role": doc.role,
        "kinds": list(doc.kinds),
        "outlet": doc.outlet,
        "title": doc.title,
        "text": doc.text,
        "first_seen_at": doc.first_seen_at.isoformat(),
        "published_at": doc.published_at.isoformat() if doc.published_at else None,
        "url": doc.url,
        "parent": doc.parent,
        "topic": doc.topic,
        "source_outlet": doc.source_outlet,
        "credited": doc.credited,
        "origin": doc.origin,
    }


def doc_from_json(data: dict[str, Any]) -> Doc:
    """The inverse of :func:`doc_to_json`."""
    published = data.get("published_at")
    return Doc(
        doc_id=int(data["doc_id"]),
        story=str(data["story"]),
        role=str(data["role"]),
        kinds=tuple(data["kinds"]),
        outlet=str(data["outlet"]),
        title=str(data["title"]),
        text=str(data["text"]),
        first_seen_at=datetime.fromisoformat(data["first_seen_at"]),
        published_at=datetime.fromisoformat(published) if published else None,
        url=data.get("url"),
        parent=data.get("parent"),
        topic=str(data.get("topic", "")),
        source_outlet=data.get("source_outlet"),
        credited=data.get("credited"),
        origin=str(data.get("origin", "")),
    )


def write_jsonl(docs: Iterable[Doc], path: Path) -> int:
    """Write one JSON object per line (UTF-8, stable key order); returns the count."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for doc in docs:
            out.write(json.dumps(doc_to_json(doc), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[Doc]:
    """Read documents written by :func:`write_jsonl`."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield doc_from_json(json.loads(line))


def stream_order(docs: Iterable[Doc]) -> list[Doc]:
    """Documents in the order a daemon would see them: first sighting, then id."""
    return sorted(docs, key=lambda d: (d.first_seen_at, d.doc_id))
