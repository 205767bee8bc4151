"""Text → word shingles → a MinHash signature, anchors and passage hashes, in batches.

Signature: one-permutation MinHash. Every shingle is hashed once to 64 bits; the top bits
pick one of ``num_perm`` bins, the low 32 bits are its value, and each bin keeps its
minimum. That is one pass over the shingles instead of one per permutation (the k-hash
scheme costs shingles × 128 operations per article; DESIGN.md §8 measured it as the
bottleneck). Bins no shingle fell into are filled by optimal densification: each empty bin
borrows the value of a bin chosen by a fixed random probe sequence, so two similar texts
borrow alike. Each value is kept to 16 bits: a chance match then has probability 2**-16,
far below the estimate's own noise, and the signature takes 512 bytes at 256 bins.

Anchors: the shingles whose hash has ``anchor_bits`` zero bits in a fixed place, about one
in 2**anchor_bits. Two texts that share a passage share its anchors, whatever else each
contains, so anchors find trimmed copies and partial reuse that Jaccard LSH misses.

Passages: hashes of long paragraphs (≥ PASSAGE_MIN_TOKENS words), over their word hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from aggregator.settings import DedupSettings
from aggregator.tokens import TokenizedChunk, chunks, encode_texts, mix, tokenize_chunk
from aggregator.types import Fingerprint

U64 = np.uint64
SignatureArray = npt.NDArray[np.uint16]

#: Bump when tokenizing, hashing or any rule here changes: stored signatures are rebuilt.
ALGORITHM_VERSION = 5
#: Paragraphs of at least this many words count as reusable passages: about 120
#: characters, where verbatim paragraph reuse in the real AP/Reuters stream stops being
#: furniture ("Advertisement", bylines) and starts being reporting.
PASSAGE_MIN_TOKENS = 20
#: Random bins an empty bin probes, in order, before giving up (at 31 % empty bins the
#: chance that all 24 probes are empty is below 10**-12).
_DENSIFY_PROBES = 24
_EMPTY = U64(1 << 32)  # above every 32-bit value
_BLANKS = np.array([9, 13, 32], dtype=np.uint8)
#: Distinct position weights inside a paragraph; longer paragraphs reuse them cyclically.
_PARAGRAPH_POSITIONS = 1024
_LOW32 = U64(0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class _Tables:
    shingle_mult: npt.NDArray[np.uint64]
    probes: npt.NDArray[np.intp]  # (num_perm, probes) bins an empty bin borrows from
    bin_shift: np.uint64
    anchor_mask: np.uint64
    position_mult: npt.NDArray[np.uint64]  # per word position inside a paragraph


@lru_cache(maxsize=8)
def _tables(seed: int, num_perm: int, shingle_size: int, anchor_bits: int) -> _Tables:
    rng = np.random.default_rng(seed)
    odd = U64(1)
    mult = rng.integers(0, 2**63, size=shingle_size, dtype=U64) * U64(2) + odd
    probes = rng.integers(0, num_perm, size=(num_perm, _DENSIFY_PROBES)).astype(np.intp)
    bin_shift = U64(64 - (num_perm.bit_length() - 1))
    positions = rng.integers(0, 2**63, size=_PARAGRAPH_POSITIONS, dtype=U64) * U64(2) + odd
    return _Tables(mult, probes, bin_shift, U64((1 << anchor_bits) - 1), positions)


def tables_for(settings: DedupSettings) -> _Tables:
    return _tables(settings.seed, settings.num_perm, settings.shingle_size, settings.anchor_bits)


def version_of(settings: DedupSettings) -> str:
    """The version string stored with signatures; any change means a rebuild."""
    return (
        f"v{ALGORITHM_VERSION}-w{settings.shingle_size}-b{settings.num_perm}"
        f"-s{settings.seed}-a{settings.anchor_bits}-oph16"
    )


def fingerprint(text: str, settings: DedupSettings) -> Fingerprint:
    """Fingerprint one article's clean text."""
    return fingerprint_batch([text], settings)[0]


def fingerprint_batch(texts: Sequence[str], settings: DedupSettings) -> list[Fingerprint]:
    """Fingerprint many texts; the same result as one by one, several times faster."""
    tables = tables_for(settings)
    encoded = encode_texts(list(texts))
    out: list[Fingerprint] = []
    for group in chunks(encoded):
        out += _fingerprint_chunk(tokenize_chunk([encoded[i] for i in group]), settings, tables)
    return out


def _fingerprint_chunk(
    chunk: TokenizedChunk, settings: DedupSettings, tables: _Tables
) -> list[Fingerprint]:
    docs = chunk.bounds.size - 1
    cuts = _paragraph_starts(chunk)
    paragraph = _paragraph_of_words(chunk, cuts)
    shingles, owner = _shingles(chunk, cuts, paragraph, tables)
    signatures = _signatures(shingles, owner, docs, settings.num_perm, tables)
    anchors = _anchors(shingles, owner, docs, tables)
    passages = _passages(chunk, cuts, paragraph, tables)
    counts = np.bincount(owner, minlength=docs).tolist()
    tokens = np.diff(chunk.bounds).tolist()
    version = version_of(settings)
    raw = signatures.astype("<u2").tobytes()
    width = 2 * settings.num_perm
    return [
        Fingerprint(
            signature=raw[d * width : (d + 1) * width],
            shingles=counts[d],
            tokens=tokens[d],
            passages=passages[d],
            version=version,
            anchors=anchors[d],
        )
        for d in range(docs)
    ]


def _paragraph_starts(chunk: TokenizedChunk) -> npt.NDArray[np.intp]:
    """The word index where each non-empty paragraph begins (texts never share one)."""
    edges = np.concatenate((_paragraph_breaks(chunk.data), chunk.text_offsets))
    edges.sort()
    cuts = np.searchsorted(chunk.starts, edges)
    cuts = cuts[cuts < chunk.hashes.size]
    return cuts[np.concatenate(([True], cuts[1:] != cuts[:-1]))] if cuts.size else cuts


def _paragraph_of_words(chunk: TokenizedChunk, cuts: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """The paragraph number of every word, from where the paragraphs begin."""
    marks = np.zeros(chunk.hashes.size, dtype=np.intp)
    marks[cuts] = 1
    return np.cumsum(marks)


def _shingles(
    chunk: TokenizedChunk,
    cuts: npt.NDArray[np.intp],
    paragraph: npt.NDArray[np.intp],
    tables: _Tables,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Hashes of every run of ``shingle_size`` words inside one paragraph, and the text of
    each. Shingles do not span paragraphs: a dropped, moved or added paragraph (a byline,
    a caption, a write-thru lede) then changes no shingle of its neighbours, and lines
    shorter than one shingle ("Filed under: Politics") contribute none.

    A text shorter than one shingle (but not empty) is a single shingle of all its words.
    """
    words = chunk.hashes
    k = tables.shingle_mult.size
    doc_of_word = np.repeat(np.arange(chunk.bounds.size - 1), np.diff(chunk.bounds))
    n = max(words.size - k + 1, 0)
    acc = words[:n] * tables.shingle_mult[0]
    step = np.empty_like(acc)
    for i in range(1, k):
        np.multiply(words[i : i + n], tables.shingle_mult[i], out=step)
        acc += step
    in_paragraph = paragraph[:n] == paragraph[k - 1 : k - 1 + n]
    # A text of short lines (a list, a table, verse) has few shingles inside paragraphs:
    # it is shingled across its lines instead, or it would have no signature at all.
    # Both counts follow from lengths alone: a run of m words holds max(m - k + 1, 0).
    docs = chunk.bounds.size - 1
    per_text = np.maximum(np.diff(chunk.bounds) - (k - 1), 0)
    per_paragraph = np.zeros(docs, dtype=np.intp)
    if cuts.size:
        paragraph_words = np.diff(np.append(cuts, words.size))
        text_of_paragraph = np.searchsorted(chunk.bounds, cuts, "right") - 1
        np.add.at(per_paragraph, text_of_paragraph, np.maximum(paragraph_words - (k - 1), 0))
    across_texts = 2 * per_paragraph < per_text
    inside = in_paragraph
    if across_texts.any():
        in_text = doc_of_word[:n] == doc_of_word[k - 1 : k - 1 + n]
        inside = in_paragraph | (across_texts[doc_of_word[:n]] & in_text)
    hashes, owner = mix(acc[inside]), doc_of_word[:n][inside]
    short = np.flatnonzero((np.diff(chunk.bounds) > 0) & (np.diff(chunk.bounds) < k))
    if short.size:
        extra = [
            _whole_text_shingle(words[chunk.bounds[d] : chunk.bounds[d + 1]], tables) for d in short
        ]
        hashes = np.concatenate((hashes, np.asarray(extra, dtype=U64)))
        owner = np.concatenate((owner, short))
    return hashes, owner.astype(np.intp)


def _whole_text_shingle(words: npt.NDArray[np.uint64], tables: _Tables) -> int:
    acc = (words * tables.shingle_mult[: words.size]).sum(dtype=U64)
    return int(mix(np.asarray([acc], dtype=U64))[0])


def _signatures(
    shingles: npt.NDArray[np.uint64],
    owner: npt.NDArray[np.intp],
    docs: int,
    bins: int,
    tables: _Tables,
) -> npt.NDArray[np.uint16]:
    """One-permutation MinHash of every text, densified, as 16-bit values."""
    flat = np.full(docs * bins, _EMPTY, dtype=U64)
    slot = owner * bins + (shingles >> tables.bin_shift).astype(np.intp)
    np.minimum.at(flat, slot, shingles & _LOW32)
    holes = np.flatnonzero(flat == _EMPTY)
    if holes.size:
        row_start = holes - holes % bins
        borrowed = flat[row_start[:, None] + tables.probes[holes % bins]]  # (holes, probes)
        first = (borrowed != _EMPTY).argmax(axis=1)
        flat[holes] = borrowed[np.arange(holes.size), first]
    return (flat & U64(0xFFFF)).astype(np.uint16).reshape(docs, bins)


def _anchors(
    shingles: npt.NDArray[np.uint64], owner: npt.NDArray[np.intp], docs: int, tables: _Tables
) -> list[bytes]:
    """Each text's distinct anchor keys (32-bit), sorted, as little-endian bytes."""
    chosen = ((shingles >> U64(32)) & tables.anchor_mask) == 0
    keys = (owner[chosen].astype(U64) << U64(32)) | (shingles[chosen] & _LOW32)
    keys.sort()  # sort and drop repeats: faster than np.unique's hashing for these sizes
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys
    doc = (keys >> U64(32)).astype(np.intp)
    values = (keys & _LOW32).astype("<u4")
    bounds = np.searchsorted(doc, np.arange(docs + 1))
    return [values[bounds[d] : bounds[d + 1]].tobytes() for d in range(docs)]


def _passages(
    chunk: TokenizedChunk,
    cuts: npt.NDArray[np.intp],
    paragraph: npt.NDArray[np.intp],
    tables: _Tables,
) -> list[tuple[int, ...]]:
    """Hashes of each text's long paragraphs (a blank line separates paragraphs).

    A paragraph's hash weighs each word hash by a random odd multiplier chosen by the
    word's position inside the paragraph, so it depends on the words and their order only.
    """
    docs = chunk.bounds.size - 1
    total = chunk.hashes.size
    if total == 0 or cuts.size == 0:
        return [()] * docs
    lengths = np.diff(np.append(cuts, total))
    position = np.arange(total) - cuts[paragraph - 1]
    weights = tables.position_mult[position % tables.position_mult.size]
    sums = np.add.reduceat(chunk.hashes * weights, cuts)
    long_enough = lengths >= PASSAGE_MIN_TOKENS
    mixed = mix(np.bitwise_xor(sums[long_enough], lengths[long_enough].astype(U64)))
    values = mixed.view(np.int64)
    owner = np.searchsorted(chunk.bounds, cuts[long_enough], "right") - 1
    # each text's distinct values, ascending: sort by (text, value), drop repeats
    order = np.lexsort((values, owner))
    owner, values = owner[order], values[order]
    repeat = (owner[1:] == owner[:-1]) & (values[1:] == values[:-1])
    keep = np.concatenate(([True], ~repeat)) if values.size else np.empty(0, dtype=bool)
    owner, values = owner[keep], values[keep]
    bounds = np.searchsorted(owner, np.arange(docs + 1)).tolist()
    every = values.tolist()
    return [tuple(every[a:b]) for a, b in pairwise(bounds)]


def _paragraph_breaks(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Byte offsets of paragraph breaks: two newlines with at most spaces between them.

    Clean text separates paragraphs with a blank line (html_to_text writes "\n\n").
    """
    newlines = np.flatnonzero(data == 10)
    if newlines.size < 2:
        return np.empty(0, dtype=np.intp)
    gap = newlines[1:] - newlines[:-1]
    adjacent = gap == 1
    spaced = np.flatnonzero((gap > 1) & (gap <= 8))  # "\n \n", "\r\n\r\n"
    for k in spaced.tolist():
        between = data[newlines[k] + 1 : newlines[k + 1]]
        adjacent[k] = bool(np.isin(between, _BLANKS).all())
    breaks: npt.NDArray[np.intp] = newlines[1:][adjacent]
    return breaks


def signature_array(signature: bytes) -> SignatureArray:
    """The stored little-endian bytes of a signature as a native uint16 array."""
    return np.frombuffer(signature, dtype="<u2").astype(np.uint16)


def anchor_array(anchors: bytes) -> npt.NDArray[np.uint32]:
    """The stored little-endian anchor keys as a native uint32 array."""
    return np.frombuffer(anchors, dtype="<u4").astype(np.uint32)
