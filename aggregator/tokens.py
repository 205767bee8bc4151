"""Words of many texts at once, as 64-bit hashes, straight from UTF-8 bytes.

The text front end is the cost of deduplication (DESIGN.md §8), so it never builds word or
shingle strings and never loops in Python per character: texts are encoded, joined into
one byte array, and every step is a vectorized numpy pass.

A word is a run of letters and digits. ASCII is classified by a table (and lower-cased by
it); every byte of a multi-byte character counts as a letter, except the punctuation and
space characters listed below, which separate words. Ideographic scripts that do not
separate words with spaces (CJK ideographs, kana) get one word per character.

A word's hash is a polynomial over its bytes, computed for all words together from one
cumulative sum: with P[i] = R**i, C = cumsum(byte · P), the word [s, e) hashes to
(C[e-1] − C[s-1]) · R**−s, which is the same polynomial wherever the word stands. R is odd,
so it is invertible modulo 2**64.
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


#: Powers are needed up to the longest chunk: CHUNK_BYTES, or one text of MAX_TEXT_BYTES.
_POWER_TABLE_SIZE = CHUNK_BYTES + MAX_TEXT_BYTES + 16


@lru_cache(maxsize=1)
def _powers() -> tuple[HashArray, HashArray]:
    """R**i and R**-i modulo 2**64 for every byte offset of a chunk (built once)."""
    tables = []
    for base in (_R, pow(_R, -1, 1 << 64)):
        table = np.empty(_POWER_TABLE_SIZE, dtype=U64)
        table[0] = 1
        filled = 1
        while filled < table.size:  # doubling: the next block is the first times base**filled
            count = min(filled, table.size - filled)
            table[filled : filled + count] = table[:count] * U64(pow(base, filled, 1 << 64))
            filled += count
        tables.append(table)
    return tables[0], tables[1]


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
    joined = b" " + b" ".join(encoded) + b"  "
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
    power, inverse = _powers()
    cumulative = np.cumsum(np.multiply(values, power[: data.size], dtype=U64))
    hashes = (cumulative[ends - 1] - cumulative[starts - 1]) * inverse[starts]
    bounds = np.searchsorted(starts, np.append(offsets, data.size))
    return TokenizedChunk(_mix(hashes), bounds, starts, offsets, data)


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
