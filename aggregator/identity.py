"""Which feed items are the same article: within one fetched document, then against the store.

The one identity rule (normalize.identity_key: guid → canonical link → hash of title and
text) holds for an item alone. Feeds break the guid promise — one guid on every item, a
guid that is the item's position, a new guid on every request — so here a guid or a link
identifies an item only as far as the rest of the item agrees with it. The cases are in
docs/design-notes.md, "Article identity when guids lie".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.normalize import content_hash, fold, guid_key, link_key
from aggregator.types import Article

__all__ = [
    "REPEAT_WINDOW_DAYS",
    "ItemKeys",
    "ItemMatch",
    "StoredItem",
    "item_keys",
    "match_by_content",
    "match_by_keys",
    "repeat_since",
    "stored_item",
]

#: How long a new guid with the same title and text but no link of its own to compare is
#: taken for a rotated guid of the earlier article rather than a new article (a notice
#: repeated word for word weeks later is a new one; a feed keeps an item for days or weeks).
REPEAT_WINDOW_DAYS = 30


def repeat_since(now: datetime) -> datetime:
    """Since when a new guid with a known title and text but no link is a rotated guid."""
    return now - timedelta(days=REPEAT_WINDOW_DAYS)


@dataclass(frozen=True, slots=True)
class ItemKeys:
    """How one item of a fetched document is recognised (see :func:`item_keys`)."""

    key: str  # the identity key a new article is stored under
    guid: str | None  # "guid:…" of the item's guid, even when it does not identify the item
    link: str | None  # "url:…" of its canonical link, only when the link is the item's own
    content: str  # content_hash() of the title and text as the feed carried them
    title: str  # the normalized title

    @property
    def fallback(self) -> str:
        """The key taken when the guid turns out to belong to another stored article."""
        return self.link or "hash:" + self.content


@dataclass(frozen=True, slots=True)
class StoredItem:
    """What identity needs of a stored article (see :func:`stored_item`)."""

    article_id: int
    link: str | None  # "url:…" of its canonical link
    content: str | None  # None for articles stored before content hashes were kept
    title: str  # normalized
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """An item resolved against the store: known (its stored article's key), or new (the
    key it is to be stored under)."""

    key: str
    known: bool


def stored_item(
    article_id: int, url: str | None, title: str, content: str | None, first_seen_at: datetime
) -> StoredItem:
    """A stored article's identity facts from its row (``url`` as stored, not canonical)."""
    return StoredItem(article_id, link_key(url), content, fold(title), first_seen_at)


def item_keys(articles: Sequence[Article]) -> list[ItemKeys]:
    """The identity evidence of each item of one fetched document, in order.

    A guid (or canonical link) identifies an item only when no other item of the same
    document with a different title or text carries it: two different texts side by side
    in one document are never one article edited. The key is the first of guid, link and
    content hash that identifies the item, so items that share a guid or a link still get
    distinct keys, and items listed twice (same key, same text) share one. ``articles``
    must carry the feed's own text (before any full text from the article page).
    """
    raw = [(guid_key(a.guid), link_key(a.url), content_hash(a.title, a.text)) for a in articles]
    texts_of: dict[str, set[str]] = {}
    for guid, link, content in raw:
        for key in (guid, link):
            if key is not None:
                texts_of.setdefault(key, set()).add(content)
    found: list[ItemKeys] = []
    for article, (guid, link, content) in zip(articles, raw, strict=True):
        own_guid = guid if guid is not None and len(texts_of[guid]) == 1 else None
        own_link = link if link is not None and len(texts_of[link]) == 1 else None
        key = own_guid or own_link or "hash:" + content
        found.append(ItemKeys(key, guid, own_link, content, fold(article.title)))
    return found


def _same_article(stored: StoredItem, item: ItemKeys) -> bool:
    """Whether the stored article holding the item's guid is this item (maybe edited).

    The same text, or the same canonical link, or — when either has no link of its own to
    compare — the same title. Otherwise the publisher reused the guid for another article.
    """
    if stored.content is None or stored.content == item.content:
        return True  # an article stored before hashes were kept: the guid decides, as it did
    if stored.link is not None and item.link is not None:
        return stored.link == item.link
    return stored.title == item.title


def match_by_keys(
    item: ItemKeys, known: Collection[str], by_guid: Mapping[str, StoredItem]
) -> ItemMatch:
    """Resolve ``item`` by identity keys alone.

    ``known`` holds which of the item's keys (``key``, ``guid``, ``fallback``) the outlet
    already stores; ``by_guid`` the stored articles of its guid key. Returns the stored
    article's key (known), or the key a new article would take.
    """
    key = item.key
    if item.guid is not None and item.guid in known:
        holder = by_guid.get(item.guid)
        if holder is None or _same_article(holder, item):
            return ItemMatch(item.guid, known=True)
        if key == item.guid:  # the guid is taken by another article: the next rule decides
            key = item.fallback
    if key != item.guid and key in known:
        return ItemMatch(key, known=True)
    return ItemMatch(key, known=False)


def match_by_content(
    item: ItemKeys, candidates: Sequence[StoredItem], since: datetime
) -> StoredItem | None:
    """The stored article a new-looking item repeats under another guid (or none).

    ``candidates`` are the outlet's articles with the item's content hash. The same title and
    text at the same canonical link is the same article whatever its guid says (a rotating
    guid); with no link on one side to compare, the same title and text first seen since
    ``since`` is too.
    """
    for stored in candidates:
        if stored.content != item.content:
            continue
        if stored.link is not None and item.link is not None:
            if stored.link == item.link:
                return stored
        elif stored.first_seen_at >= since:
            return stored
    return None
