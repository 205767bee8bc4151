"""How close the product's Jaccard estimate is to the exact word-5-shingle Jaccard.

Pairs are built to spread over J in [0, 1]: verbatim copies, copies trimmed to a random
share, copies with a random share of words replaced, an original spliced with an unrelated
text, rewrites that keep a random share of paragraphs, and unrelated articles. Exact J is
computed on sets of word 5-shingles, with words split as the product splits them (runs of
letters and digits, lower-cased). The product's estimate is ``cluster.estimate`` on two
fingerprints; datasketch's ``MinHash(num_perm=128)`` on the same shingles is shown beside it
for reference.

A k-value MinHash has a standard error of sqrt(J(1 − J)/k) (0.031 at J = 0.5, k = 256),
so "within 0.03" is read as the mean absolute error; the percentiles show the tail.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

import numpy as np
from datasketch import MinHash

from aggregator.cluster import Candidate, estimate
from aggregator.fingerprint import fingerprint_batch
from aggregator.settings import DedupSettings
from benchmarks.common import table
from benchmarks.corpus import pool_for_pairs
from benchmarks.results import Section, Target

TARGET_MAE = 0.03
SHINGLE = 5
_WORD = re.compile(r"[^\W_]+")
#: (kind, share of the pairs)
PAIR_KINDS = (
    ("copy", 0.05),
    ("trim", 0.25),
    ("edit", 0.25),
    ("splice", 0.20),
    ("rewrite", 0.15),
    ("unrelated", 0.10),
)


def shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def exact_jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def make_pairs(count: int) -> list[tuple[str, str, str]]:
    """(kind, text a, text b) pairs spread over J in [0, 1]."""
    composer = pool_for_pairs()
    rng = composer.rng
    kinds, weights = zip(*PAIR_KINDS, strict=True)
    pairs = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        a = composer.original()[1]
        text_a = "\n\n".join(a)
        words = text_a.split(" ")
        if kind == "copy":
            text_b = text_a
        elif kind == "trim":
            text_b = " ".join(words[: max(SHINGLE, int(rng.uniform(0.05, 1.0) * len(words)))])
        elif kind == "edit":
            rate = rng.uniform(0.0, 0.3)
            text_b = "\n\n".join(composer.edit(p, rate) for p in a)
        elif kind == "splice":
            other = "\n\n".join(composer.original()[1]).split(" ")
            cut = int(rng.uniform(0.0, 1.0) * len(words))
            text_b = " ".join(words[:cut] + other[cut : max(cut, len(words))])
        elif kind == "rewrite":
            keep = rng.uniform(0.0, 1.0)
            text_b = "\n\n".join(p if rng.random() < keep else composer.edit(p, 0.6) for p in a)
        else:
            text_b = "\n\n".join(composer.original()[1])
        pairs.append((kind, text_a, text_b))
    return pairs


def datasketch_jaccard(a: str, b: str) -> float:
    sketches = []
    for text in (a, b):
        sketch = MinHash(num_perm=128)
        sketch.update_batch([" ".join(s).encode() for s in shingles(text)])
        sketches.append(sketch)
    return float(sketches[0].jaccard(sketches[1]))


def run(pair_count: int, log: Callable[[str], None] = print) -> Section:
    started = time.perf_counter()
    settings = DedupSettings()
    pairs = make_pairs(pair_count)
    texts = [t for _, a, b in pairs for t in (a, b)]
    fps = fingerprint_batch(texts, settings)
    exact, product, reference = [], [], []
    for i, (_, a, b) in enumerate(pairs):
        exact.append(exact_jaccard(a, b))
        first, second = Candidate.of(0, fps[2 * i]), Candidate.of(1, fps[2 * i + 1])
        product.append(estimate(first, second).jaccard)
        reference.append(datasketch_jaccard(a, b))
    log(f"  accuracy: {len(pairs):,} pairs")
    exact_a, product_a, reference_a = np.array(exact), np.array(product), np.array(reference)
    error = product_a - exact_a
    ref_error = reference_a - exact_a
    mae = float(np.abs(error).mean())
    overall = table(
        ["estimator", "pairs", "mean abs error", "bias", "p90 |error|", "p99 |error|", "max"],
        [
            _summary(f"product ({settings.num_perm}-bin one-permutation MinHash)", error),
            _summary("datasketch MinHash(num_perm=128), reference", ref_error),
        ],
    )
    rows = []
    for lo in np.arange(0.0, 1.0, 0.1):
        hi = lo + 0.1
        inside = (exact_a >= lo) & ((exact_a < hi) if hi < 0.999 else (exact_a <= 1.0))
        if not inside.any():
            continue
        centre = float(exact_a[inside].mean())
        expected = math.sqrt(centre * (1 - centre) / settings.num_perm) * math.sqrt(2 / math.pi)
        rows.append(
            [
                f"{lo:.1f}–{hi:.1f}",
                int(inside.sum()),
                f"{np.abs(error[inside]).mean():.4f}",
                f"{error[inside].mean():+.4f}",
                f"{np.quantile(np.abs(error[inside]), 0.9):.4f}",
                f"{expected:.4f}",
                f"{np.abs(ref_error[inside]).mean():.4f}",
            ]
        )
    bins = table(
        [
            "exact J",
            "pairs",
            "product MAE",
            "product bias",
            "product p90",
            f"k-hash MinHash expected MAE (k={settings.num_perm})",
            "datasketch-128 MAE",
        ],
        rows,
    )
    kinds = ", ".join(f"{k} {sum(1 for p in pairs if p[0] == k)}" for k, _ in PAIR_KINDS)
    body = f"""
{len(pairs):,} pairs ({kinds}); exact Jaccard of word 5-shingle sets against the estimate
from two fingerprints (`cluster.estimate`). The "expected" column is the mean absolute error
of an unbiased k-hash MinHash with k = {settings.num_perm} at that J, sqrt(J(1−J)/k)·sqrt(2/π);
one-permutation hashing samples without replacement and can do a little better.

{overall}

{bins}
"""
    target = Target(
        "Jaccard estimate vs exact (mean abs error)",
        f"≤ {TARGET_MAE}",
        f"{mae:.4f} (p90 {np.quantile(np.abs(error), 0.9):.3f}, bias {error.mean():+.4f})",
        mae <= TARGET_MAE,
    )
    return Section("accuracy", "Jaccard accuracy", body, [target], time.perf_counter() - started)


def _summary(name: str, error: np.ndarray) -> list[object]:
    absolute = np.abs(error)
    return [
        name,
        f"{error.size:,}",
        f"{absolute.mean():.4f}",
        f"{error.mean():+.4f}",
        f"{np.quantile(absolute, 0.9):.4f}",
        f"{np.quantile(absolute, 0.99):.4f}",
        f"{absolute.max():.4f}",
    ]
