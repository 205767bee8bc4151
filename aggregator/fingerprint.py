"""Text → word shingles → MinHash signature, plus hashes of long paragraphs.

The front end never builds shingle strings: the text is lower-cased and reduced to words in
C (``re.sub``), encoded once to UTF-8, and every later step is a vectorized numpy pass over
integer arrays (token hashes → shingle hashes → one permutation pass). Measurements in
DESIGN.md §8 show the text front end, not MinHash, dominates the cost.

Signatures use datasketch's "affine32" permutation scheme with the same seed, so a
signature here equals ``datasketch.MinHash(scheme="affine32").update_batch`` over the
same shingle hashes, and can be handed to datasketch's LSH as a ``LeanMinHash``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

from aggregator.settings import DedupSettings
from aggregator.types import Fingerprint

U32 = np.uint32
U64 = np.uint64
SignatureArray = npt.NDArray[np.uint32]

#: Bump when tokenizing, hashing or passage rules change: stored signatures are rebuilt.
ALGORITHM_VERSION = 1
#: Paragraphs at least this long (normalized characters) count as reusable passages;
#: 120 is where verbatim paragraph reuse in the real AP/Reuters stream stops being
#: boilerplate ("Advertisement", bylines) and starts being reporting.
PASSAGE_MIN_CHARS = 120
#: Byte positions inside one token that get distinct multipliers; longer tokens wrap.
_TOKEN_LANES = 64

_NON_WORD = re.compile(r"[\W_]+")
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class _Tables:
    """Random constants for one (seed, num_perm, shingle size): built once, reused."""

    lane_mult: npt.NDArray[np.uint64]
    shingle_mult: npt.NDArray[np.uint64]
    perm_a: npt.NDArray[np.uint32]
    perm_b: npt.NDArray[np.uint32]


@lru_cache(maxsize=8)
def _tables(seed: int, num_perm: int, shingle_size: int) -> _Tables:
    rng = np.random.default_rng(seed)
    odd = np.uint64(1)
    lane = rng.integers(0, 2**63, size=_TOKEN_LANES, dtype=np.uint64) * np.uint64(2) + odd
    shingle = rng.integers(0, 2**63, size=shingle_size, dtype=np.uint64) * np.uint64(2) + odd
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return _Tables(lane, shingle, np.asarray(a, dtype=U32), np.asarray(b, dtype=U32))


def version_of(settings: DedupSettings) -> str:
    """The version string stored with signatures; any change means a rebuild."""
    return (
        f"v{ALGORITHM_VERSION}-w{settings.shingle_size}-p{settings.num_perm}"
        f"-s{settings.seed}-affine32"
    )


def _fmix64(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """MurmurHash3's 64-bit finalizer: spreads the linear token hash over all bits."""
    h = h ^ (h >> U64(33))
    h = h * U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> U64(33))
    h = h * U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> U64(33))


def _fmix32(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before the permutations."""
    h = h ^ (h >> U32(16))
    h = h * U32(0x85EBCA6B)
    h = h ^ (h >> U32(13))
    h = h * U32(0xC2B2AE35)
    return h ^ (h >> U32(16))


def normalize_words(text: str) -> str:
    """Lower-case words separated by single spaces: the only form that gets hashed."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def token_hashes(words: str, tables: _Tables) -> npt.NDArray[np.uint64]:
    """64-bit hash of every space-separated token, computed in one vectorized pass.

    Each byte is multiplied by a random odd constant chosen by its position inside the
    token, the products are summed per token (``add.reduceat``) and the sum is mixed.
    """
    if not words:
        return np.empty(0, dtype=U64)
    data = np.frombuffer(words.encode("utf-8"), dtype=np.uint8)
    is_space = data == 32
    starts = np.flatnonzero(np.concatenate(([True], is_space[:-1])) & ~is_space)
    marks = np.zeros(data.size, dtype=np.int64)
    marks[starts] = 1
    token_id = np.cumsum(marks) - 1
    offset = np.arange(data.size) - starts[token_id]
    weights = tables.lane_mult[offset % _TOKEN_LANES]
    values = (data.astype(U64) + U64(1)) * weights
    values[is_space] = 0
    return _fmix64(np.add.reduceat(values, starts))


def shingle_hashes(tokens: npt.NDArray[np.uint64], tables: _Tables) -> npt.NDArray[np.uint32]:
    """Distinct 32-bit hashes of every run of ``shingle_size`` consecutive tokens."""
    k = tables.shingle_mult.size
    if tokens.size == 0:
        return np.empty(0, dtype=U32)
    k = min(k, tokens.size)  # a text shorter than one shingle is its own single shingle
    n = tokens.size - k + 1
    acc = np.zeros(n, dtype=U64)
    for i in range(k):
        acc += tokens[i : i + n] * tables.shingle_mult[i]
    return np.unique((_fmix64(acc) >> U64(32)).astype(U32))


def minhash(shingles: npt.NDArray[np.uint32], tables: _Tables) -> SignatureArray:
    """MinHash signature: the minimum of every affine permutation over the shingle hashes."""
    if shingles.size == 0:
        return np.full(tables.perm_a.size, np.iinfo(U32).max, dtype=U32)
    mixed = _fmix32(shingles)
    permuted = tables.perm_a[:, None] * mixed[None, :] + tables.perm_b[:, None]
    return np.asarray(permuted.min(axis=1), dtype=U32)


def passage_hashes(text: str) -> tuple[int, ...]:
    """64-bit hashes of the long paragraphs, normalized the way shingles are."""
    found: set[int] = set()
    for paragraph in _PARAGRAPH_SPLIT.split(text):
        words = normalize_words(paragraph)
        if len(words) >= PASSAGE_MIN_CHARS:
            digest = hashlib.blake2b(words.encode("utf-8"), digest_size=8).digest()
            found.add(int.from_bytes(digest, "little", signed=True))
    return tuple(sorted(found))


def fingerprint(text: str, settings: DedupSettings) -> Fingerprint:
    """Fingerprint an article's clean text."""
    tables = _tables(settings.seed, settings.num_perm, settings.shingle_size)
    words = normalize_words(text)
    tokens = token_hashes(words, tables)
    shingles = shingle_hashes(tokens, tables)
    return Fingerprint(
        signature=minhash(shingles, tables).astype("<u4").tobytes(),
        shingles=int(shingles.size),
        tokens=int(tokens.size),
        passages=passage_hashes(text),
        version=version_of(settings),
    )


def signature_array(signature: bytes) -> SignatureArray:
    """The stored little-endian bytes of a signature as a native uint32 array."""
    return np.frombuffer(signature, dtype="<u4").astype(U32)
