"""Words of many texts at once, as 64-bit hashes, straight from UTF-8 bytes.

The text front end is the cost of deduplication (DESIGN.md §8), so it never builds word or
shingle strings and never loops in Python per character: texts are encoded, joined into
one byte array, and every step is a vectorized numpy pass.

A word is a run of letters and digits. ASCII is classified by a table (and lower-cased by
it); every byte of a multi-byte character counts as a letter, except the punctuation and
space characters listed below, which separate words. Ideographic scripts that do not
separate words with spaces (CJK ideographs, kana) get one word per character.

A word's hash is read eight bytes at a time: the (lower-cased) bytes of a word of up to
eight bytes, loaded as one little-endian 64-bit number with the bytes past its end masked to
zero, are already a unique key (no byte of a word is zero). Most words are that short, so
most words cost one unaligned load. A longer word is a polynomial over its 8-byte limbs,
l0·R**(n−1) + l1·R**(n−2) + … + l(n−1), the same formula at n = 1. Every key then goes
through a 64-bit finalizer, a bijection that spreads it over all bits. There is no pass of
64-bit arithmetic over every byte (an earlier byte polynomial from a cumulative sum cost two
to three times as much: DESIGN.md §8 puts the front end on the dedup stage's critical path).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

U64 = np.uint64
HashArray = npt.NDArray[np.uint64]
IndexArray = npt.NDArray[np.intp]

#: Texts are cut to this many bytes before hashing: no real article is longer, and it
#: bounds the work a hostile feed can cause.
MAX_TEXT_BYTES = 256 * 1024
#: Texts are hashed in chunks of about this many bytes: large enough to amortize numpy's
#: per-call cost, small enough to stay in cache (measured: 50-100 articles per chunk).
CHUNK_BYTES = 384 * 1024
#: An odd multiplier (the 64-bit golden ratio) for the byte polynomial.
_R = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1

# Multi-byte characters that separate words: (lead byte, second byte range, length).
# U+00A0-00BF (nbsp, « », ©, ®, °, ·, ¿), U+2000-206F (spaces, dashes, quotes, bullets,
# ellipsis), U+3000-303F (ideographic space and punctuation), Arabic-script comma,
# semicolon, question mark and full stop (U+060C, 061B, 061F, 06D4), the Devanagari
# dandas (U+0964-0965), the BOM (U+FEFF) and fullwidth punctuation (U+FF01-FF20 partly).
_SEPARATORS_2 = {0xC2: range(0xA0, 0xC0), 0xD8: (0x8C, 0x9B, 0x9F), 0xDB: (0x94,)}
_SEPARATORS_3 = {
    (0xE2, 0x80): range(0x80, 0xC0),
    (0xE2, 0x81): range(0x80, 0xB0),
    (0xE3, 0x80): range(0x80, 0xC0),
    (0xE0, 0xA5): (0xA4, 0xA5),
    (0xEF, 0xBB): (0xBF,),
    (0xEF, 0xBC): (0x81, 0x88, 0x89, 0x8C, 0x8E, 0x9A, 0x9B, 0x9F),
}
#: Lead bytes of ideographs and kana (U+3040-9FFF): one word per character.
_IDEOGRAPHIC_LEADS = (0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9)


def _byte_table() -> bytes:
    """``bytes.translate`` table: separators → 0, ASCII letters lower-cased, the rest kept.

    Translating the joined bytes in C costs ~0.3 ns a byte; a numpy table lookup of the
    same bytes cost 2.5 ns (its indices are widened to 64 bits first).
    """
    table = bytearray(256)
    for byte in range(256):
        char = chr(byte)
        if byte >= 0x80:
            table[byte] = byte
        elif char.isalnum():
            table[byte] = ord(char.lower())
    return bytes(table)


_TABLE = _byte_table()


#: Bytes after the last text: every word start can load eight bytes.
_PADDING = 8
#: Powers of R for the limbs of the longest possible word.
_MAX_LIMBS = MAX_TEXT_BYTES // 8 + 1
#: The mask keeping the first r bytes of a little-endian 64-bit load, for r = 0 … 8.
_LIMB_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(9)], dtype=U64)


@lru_cache(maxsize=1)
def _powers() -> HashArray:
    """R**i modulo 2**64 for every limb position of a word (built once)."""
    table = np.empty(_MAX_LIMBS, dtype=U64)
    table[0] = 1
    filled = 1
    while filled < table.size:  # doubling: the next block is the first times R**filled
        count = min(filled, table.size - filled)
        table[filled : filled + count] = table[:count] * U64(pow(_R, filled, 1 << 64))
        filled += count
    return table


@dataclass(frozen=True, slots=True)
class TokenizedChunk:
    """The words of several texts: hashes in order, and where each text's words are."""

    hashes: HashArray  # one 64-bit hash per word, all texts concatenated
    bounds: IndexArray  # text i has words hashes[bounds[i]:bounds[i+1]]
    starts: IndexArray  # byte offset of each word in the joined chunk
    text_offsets: IndexArray  # byte offset where text i begins in the joined chunk
    data: npt.NDArray[np.uint8]  # the joined chunk itself


def encode_texts(texts: list[str]) -> list[bytes]:
    """UTF-8 bytes of each text, cut at MAX_TEXT_BYTES (on a character boundary)."""
    encoded = []
    for text in texts:
        raw = text.encode("utf-8", "replace")
        if len(raw) > MAX_TEXT_BYTES:
            raw = raw[:MAX_TEXT_BYTES].decode("utf-8", "ignore").encode("utf-8")
        encoded.append(raw)
    return encoded


def chunks(encoded: list[bytes]) -> list[list[int]]:
    """Indices of texts grouped into chunks of about CHUNK_BYTES."""
    groups: list[list[int]] = [[]]
    size = 0
    if not encoded:
        return []
    for i, raw in enumerate(encoded):
        if groups[-1] and size + len(raw) > CHUNK_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += len(raw) + 1
    return groups


def _byte_set(values: object) -> npt.NDArray[np.bool_]:
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True  # type: ignore[call-overload]
    return table


_SEPARATOR_TABLES_2 = {lead: _byte_set(seconds) for lead, seconds in _SEPARATORS_2.items()}
_SEPARATOR_TABLES_3 = {key: _byte_set(thirds) for key, thirds in _SEPARATORS_3.items()}


def _mark_separators(
    data: npt.NDArray[np.uint8], values: npt.NDArray[np.uint8], leads: IndexArray
) -> None:
    """Zero the values of multi-byte punctuation and space characters (in place).

    ``leads`` are the offsets of the lead bytes of multi-byte characters (≥ 0xC2).
    """
    first, second, third = data[leads], data[leads + 1], data[leads + 2]
    for lead, table in _SEPARATOR_TABLES_2.items():
        hit = leads[(first == lead) & table[second]]
        values[hit] = 0
        values[hit + 1] = 0
    for (lead, mid), table in _SEPARATOR_TABLES_3.items():
        hit = leads[(first == lead) & (second == mid) & table[third]]
        values[hit] = 0
        values[hit + 1] = 0
        values[hit + 2] = 0


def _ideograph_breaks(
    data: npt.NDArray[np.uint8], values: npt.NDArray[np.uint8], leads: IndexArray
) -> IndexArray:
    """Byte offsets where an ideograph or kana begins or ends (forced word boundaries)."""
    first = data[leads]
    leads = leads[(first >= _IDEOGRAPHIC_LEADS[0]) & (first <= _IDEOGRAPHIC_LEADS[-1])]
    if leads.size == 0:
        return np.empty(0, dtype=np.intp)
    # U+3000-303F is punctuation (already zeroed); U+3040 and up are letters.
    leads = leads[(data[leads] != 0xE3) | (data[leads + 1] >= 0x81)]
    leads = leads[values[leads] != 0]
    return np.union1d(leads, leads + 3)


def tokenize_chunk(encoded: list[bytes]) -> TokenizedChunk:
    """Hash every word of the given texts (joined with a separator between them)."""
    joined = b" " + b" ".join(encoded) + b" " * _PADDING
    data = np.frombuffer(joined, dtype=np.uint8)
    offsets = np.cumsum([1] + [len(raw) + 1 for raw in encoded[:-1]], dtype=np.intp)
    values = np.frombuffer(joined.translate(_TABLE), dtype=np.uint8).copy()
    leads = np.flatnonzero(data[:-2] >= 0xC2)  # multi-byte characters: few in most text
    if leads.size:
        _mark_separators(data, values, leads)
    is_word = values != 0
    edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    forced = _ideograph_breaks(data, values, leads) if leads.size else leads
    if forced.size:
        starts, ends = _split_at(starts, ends, forced)
    hashes = _word_keys(values, starts, ends)
    bounds = np.searchsorted(starts, np.append(offsets, data.size))
    return TokenizedChunk(_mix(hashes), bounds, starts, offsets, data)


def _word_keys(values: npt.NDArray[np.uint8], starts: IndexArray, ends: IndexArray) -> HashArray:
    """The key of every word [start, end) of ``values`` (before the finalizer)."""
    loads = np.ndarray((values.size - 7,), dtype="<u8", buffer=values, strides=(1,))
    lengths = ends - starts
    keys: HashArray = loads[starts] & _LIMB_MASKS[np.minimum(lengths, 8)]
    two = np.flatnonzero(lengths > 8)  # most of these have two limbs: no general pass
    if two.size:
        second = loads[starts[two] + 8] & _LIMB_MASKS[np.minimum(lengths[two] - 8, 8)]
        keys[two] = keys[two] * U64(_R) + second
        longer = two[lengths[two] > 16]
        if longer.size:
            keys[longer] = _long_word_keys(loads, starts[longer], lengths[longer])
    return keys.astype(U64, copy=False)


def _long_word_keys(loads: HashArray, starts: IndexArray, lengths: IndexArray) -> HashArray:
    """The limb polynomial of words longer than eight bytes, all at once."""
    limbs = (lengths + 7) // 8
    first = np.cumsum(limbs) - limbs  # where each word's limbs begin in the flat list
    rank = np.arange(int(limbs.sum())) - np.repeat(first, limbs)  # limb number in its word
    count = np.repeat(limbs, limbs)
    values = loads[np.repeat(starts, limbs) + 8 * rank]
    last = np.cumsum(limbs) - 1
    values[last] &= _LIMB_MASKS[lengths - 8 * (limbs - 1)]
    weighted = values * _powers()[count - 1 - rank]
    return np.add.reduceat(weighted, first)


def _split_at(
    starts: IndexArray, ends: IndexArray, forced: IndexArray
) -> tuple[IndexArray, IndexArray]:
    """Add word boundaries at the ``forced`` byte offsets that fall inside a word."""
    owner = np.searchsorted(starts, forced, "right") - 1
    known = owner >= 0
    forced, owner = forced[known], owner[known]
    inside = forced[(forced > starts[owner]) & (forced < ends[owner])]
    return np.sort(np.concatenate((starts, inside))), np.sort(np.concatenate((ends, inside)))


def _mix(h: HashArray) -> HashArray:
    """MurmurHash3's 64-bit finalizer: spreads the polynomial over all bits."""
    h = h ^ (h >> U64(33))
    h = h * U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> U64(33))
    h = h * U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> U64(33))


def mix(h: HashArray) -> HashArray:
    """The 64-bit finalizer, for other stages that combine hashes."""
    return _mix(h)
