"""Tests of the fingerprint stage: one-permutation MinHash signatures, anchors, passages."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.cluster import Candidate, estimate
from aggregator.devdata import missing_reason, shared_path
from aggregator.fingerprint import (
    PASSAGE_MIN_TOKENS,
    anchor_array,
    fingerprint,
    fingerprint_batch,
    signature_array,
    version_of,
)
from aggregator.settings import DedupSettings
from aggregator.types import Fingerprint

SETTINGS = DedupSettings()
K = SETTINGS.shingle_size
BBC = shared_path("eval", "bbc")
REPO = Path(__file__).resolve().parent.parent

# Words as tokens.py defines them (runs of ASCII letters and digits and of non-ASCII
# characters other than the listed punctuation; one word per ideograph), by regex.
_SEPARATORS = (
    r"\x00-\x7f\u00a0-\u00bf\u2000-\u206f\u3000-\u303f\u060c\u061b\u061f\u06d4"
    r"\u0964\u0965\ufeff\uff01\uff08\uff09\uff0c\uff0e\uff1a\uff1b\uff1f"
)
_WORD = re.compile(rf"[\u3040-\u9fff]|(?:[0-9A-Za-z]|[^{_SEPARATORS}\u3040-\u9fff])+")
_VOCABULARY = [
    a + b + c
    for a in ("ba", "ko", "mi", "te", "ru", "sa", "di", "lo")
    for b in "aeiou"
    for c in ("n", "r", "s", "t", "l", "m", "k", "")
]


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r]{0,7}\n")


def exact_shingles(text: str, k: int = K) -> set[tuple[str, ...]]:
    """Word k-shingles as tuples of strings, without any hashing. Shingles stay inside a
    paragraph (a blank line ends one); a text of fewer than k words is one shingle."""
    paragraphs = [
        ["".join(c.lower() if c < "\x80" else c for c in w) for w in _WORD.findall(p)]
        for p in _PARAGRAPH_BREAK.split(text)
    ]
    every = [w for words in paragraphs for w in words]
    if 0 < len(every) < k:
        return {tuple(every)}
    return {tuple(ws[i : i + k]) for ws in paragraphs for i in range(len(ws) - k + 1)}


def exact_jaccard(a: str, b: str) -> float:
    left, right = exact_shingles(a), exact_shingles(b)
    return len(left & right) / len(left | right)


def estimated_jaccard(a: Fingerprint, b: Fingerprint) -> float:
    return estimate(Candidate.of(1, a), Candidate.of(2, b)).jaccard


def prose(rng: random.Random, words: int) -> str:
    """A paragraph of pseudo-words: shingles of two such texts practically never match."""
    return " ".join(rng.choice(_VOCABULARY) for _ in range(words))


def fields(fps: list[Fingerprint]) -> list[tuple[object, ...]]:
    """Every field of each fingerprint (Fingerprint does not compare by value)."""
    return [dataclasses.astuple(fp) for fp in fps]


def anchors(fp: Fingerprint) -> set[int]:
    return set(anchor_array(fp.anchors).tolist())


def read_bbc(limit: int | None = None) -> list[str]:
    if not BBC.is_dir():
        pytest.skip(missing_reason(f"BBC corpus ({BBC})"))
    files = sorted(BBC.glob("*/*.txt"))[:limit]
    return [f.read_bytes().decode("utf-8", "replace") for f in files]


# --- batches, determinism, format ----------------------------------------------------------


def batch_texts() -> list[str]:
    rng = random.Random(11)
    texts = [
        "",
        "   \n\n \t ",
        "three words only",
        "東京で会議が開催された。首相は記者団に対し、経済対策を発表した。",
        "Москва, 5 марта \u2014 Правительство одобрило бюджет на следующий год.",
        "\n\n" + prose(rng, 30) + "\n\n",
        prose(rng, 25) + "\n",
        "\n" + prose(rng, 25),
        "\r\n\r\n".join(prose(rng, 22) for _ in range(3)),
    ]
    texts += [prose(rng, rng.randint(1, 400)) for _ in range(30)]
    # Large enough to fill several chunks (CHUNK_BYTES) in one batch.
    texts += ["\n\n".join(prose(rng, 400) for _ in range(8)) for _ in range(60)]
    return texts


def test_a_batch_equals_fingerprints_one_by_one() -> None:
    texts = batch_texts()
    assert sum(len(t.encode()) for t in texts) > 2 * 384 * 1024  # several chunks
    batch = fingerprint_batch(texts, SETTINGS)
    assert fields(batch) == fields([fingerprint(text, SETTINGS) for text in texts])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["alpha", "Beta", "gamma,", "δέλτα", "東", "\n", "\n\n", " \n \n"]),
            max_size=60,
        ).map(" ".join),
        max_size=5,
    )
)
def test_any_batch_equals_fingerprints_one_by_one(texts: list[str]) -> None:
    batch = fingerprint_batch(texts, SETTINGS)
    assert fields(batch) == fields([fingerprint(t, SETTINGS) for t in texts])


def test_an_empty_batch_has_no_fingerprints() -> None:
    assert fingerprint_batch([], SETTINGS) == []


def test_fingerprints_are_the_same_in_another_process_with_another_hash_seed() -> None:
    texts = batch_texts()[:12]
    script = (
        "import json, sys\n"
        "from aggregator.fingerprint import fingerprint_batch\n"
        "from aggregator.settings import DedupSettings\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps([[f.signature.hex(), f.anchors.hex(), list(f.passages), f.shingles,"
        " f.tokens, f.version] for f in fingerprint_batch(texts, DedupSettings())]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
        timeout=60,
    )
    here = [
        [f.signature.hex(), f.anchors.hex(), list(f.passages), f.shingles, f.tokens, f.version]
        for f in fingerprint_batch(texts, SETTINGS)
    ]
    assert json.loads(result.stdout) == here


@pytest.mark.parametrize("num_perm", [64, 128, 256, 1024])
def test_signature_has_num_perm_16_bit_values(num_perm: int) -> None:
    text = prose(random.Random(3), 3000)
    fp = fingerprint(text, DedupSettings(num_perm=num_perm))
    assert len(fp.signature) == num_perm * 2
    values = signature_array(fp.signature)
    assert values.dtype == np.uint16
    assert values.size == num_perm
    assert np.unique(values).size > num_perm * 0.8  # values, not a constant filler


def test_counts_of_words_and_shingles() -> None:
    text = prose(random.Random(4), 120)
    fp = fingerprint(text, SETTINGS)
    assert fp.tokens == 120
    assert fp.shingles == 120 - K + 1
    short = fingerprint("only three words", SETTINGS)
    assert (short.tokens, short.shingles) == (3, 1)  # one shingle of all its words
    empty = fingerprint(" \n ", SETTINGS)
    assert (empty.tokens, empty.shingles, empty.passages, empty.anchors) == (0, 0, (), b"")


def test_version_changes_with_each_fingerprint_parameter() -> None:
    base = version_of(SETTINGS)
    changed = [
        dataclasses.replace(SETTINGS, seed=2),
        dataclasses.replace(SETTINGS, num_perm=128),
        dataclasses.replace(SETTINGS, shingle_size=4),
        dataclasses.replace(SETTINGS, anchor_bits=3),
    ]
    versions = {version_of(s) for s in changed}
    assert base not in versions
    assert len(versions) == len(changed)
    assert fingerprint("some text here", SETTINGS).version == base


def test_version_ignores_settings_that_do_not_change_signatures() -> None:
    # The window, the minimum length and the LSH threshold are used after fingerprinting:
    # changing them must not force every stored signature to be recomputed.
    for other in (
        dataclasses.replace(SETTINGS, min_tokens=10),
        dataclasses.replace(SETTINGS, lsh_threshold=0.6),
    ):
        assert version_of(other) == version_of(SETTINGS)


@pytest.mark.parametrize("field", ["seed", "shingle_size", "anchor_bits"])
def test_each_parameter_changes_the_fingerprint_itself(field: str) -> None:
    text = prose(random.Random(5), 400)
    changed = dataclasses.replace(SETTINGS, **{field: getattr(SETTINGS, field) + 1})
    a, b = fingerprint(text, SETTINGS), fingerprint(text, changed)
    assert (a.signature, a.anchors) != (b.signature, b.anchors)


# --- accuracy ------------------------------------------------------------------------------


def edited(rng: random.Random, words: list[str], rate: float) -> list[str]:
    """Substitute, delete and insert words at about ``rate`` each."""
    out: list[str] = []
    for w in words:
        roll = rng.random()
        if roll < rate:
            out.append(rng.choice(words))  # substituted
        elif roll < 2 * rate:
            continue  # deleted
        else:
            out.append(w)
        if rng.random() < rate:
            out.append(rng.choice(_VOCABULARY))  # inserted
    return out


def accuracy_pairs(texts: list[str], rng: random.Random) -> list[tuple[str, str]]:
    pairs = []
    for text in texts:
        words = text.split(" ")
        keep = rng.uniform(0.15, 1.0)
        pairs.append((text, " ".join(words[: max(1, int(len(words) * keep))])))
        pairs.append((text, " ".join(edited(rng, words, rng.uniform(0.0, 0.1)))))
    return pairs


def estimation_errors(pairs: list[tuple[str, str]]) -> np.ndarray:
    left = fingerprint_batch([a for a, _ in pairs], SETTINGS)
    right = fingerprint_batch([b for _, b in pairs], SETTINGS)
    return np.array(
        [
            abs(estimated_jaccard(x, y) - exact_jaccard(a, b))
            for (a, b), x, y in zip(pairs, left, right, strict=True)
        ]
    )


def test_jaccard_estimates_are_within_003_of_exact_on_real_bbc_texts() -> None:
    rng = random.Random(2005)
    texts = rng.sample(read_bbc(), 200)
    errors = estimation_errors(accuracy_pairs(texts, rng))
    mean, p90 = float(errors.mean()), float(np.percentile(errors, 90))
    print(f"BBC Jaccard estimate: mean abs error {mean:.4f}, p90 {p90:.4f}, n={errors.size}")
    assert mean <= 0.03
    assert p90 <= 0.08


def test_identical_texts_estimate_one_and_unrelated_bbc_texts_near_zero() -> None:
    texts = read_bbc()
    rng = random.Random(7)
    sample = rng.sample(texts, 60)
    fps = fingerprint_batch(sample, SETTINGS)
    for fp, again in zip(fps, fingerprint_batch(sample, SETTINGS), strict=True):
        assert estimated_jaccard(fp, again) == 1.0
    shingles = [exact_shingles(text) for text in sample]
    unrelated = [
        (i, j) for i in range(len(sample)) for j in range(i) if not shingles[i] & shingles[j]
    ]
    assert len(unrelated) > 1000
    worst = max(estimated_jaccard(fps[i], fps[j]) for i, j in unrelated)
    assert worst <= 0.05


def test_short_texts_of_50_words_still_estimate_sanely() -> None:
    # 46 shingles in 256 bins leave most bins empty: densification must fill them alike.
    rng = random.Random(50)
    pairs = []
    for _ in range(150):
        words = prose(rng, 50).split()
        if rng.random() < 0.5:
            other = words[: rng.randint(25, 50)]
        else:
            other = edited(rng, words, rng.uniform(0.0, 0.08))
        pairs.append((" ".join(words), " ".join(other)))
    errors = estimation_errors(pairs)
    assert float(errors.mean()) <= 0.04
    assert float(errors.max()) <= 0.2
    unrelated = fingerprint_batch([prose(rng, 50) for _ in range(40)], SETTINGS)
    pairs_apart = zip(unrelated[::2], unrelated[1::2], strict=True)
    assert max(estimated_jaccard(a, b) for a, b in pairs_apart) <= 0.05


def test_short_text_signatures_are_filled_from_their_own_shingles() -> None:
    # An empty bin borrows another bin's value: a 50-word text's 256 values are (nearly
    # all) copies of its ~46 bin minima, not a constant filler.
    fp = fingerprint(prose(random.Random(8), 50), SETTINGS)
    values = signature_array(fp.signature)
    distinct, counts = np.unique(values, return_counts=True)
    assert distinct.size <= fp.shingles + 1
    assert counts.max() < 40


def test_shingles_stay_inside_paragraphs() -> None:
    rng = random.Random(21)
    first, second = prose(rng, 80), prose(rng, 90)
    plain = fingerprint(f"{first}\n\n{second}", SETTINGS)
    assert plain.shingles == (80 - K + 1) + (90 - K + 1)
    # A line shorter than a shingle between them (a byline, a caption) changes nothing.
    with_line = fingerprint(f"{first}\n\nFiled under: Politics\n\n{second}", SETTINGS)
    assert with_line.signature == plain.signature
    assert with_line.anchors == plain.anchors
    assert with_line.shingles == plain.shingles
    assert with_line.tokens == plain.tokens + 3
    # Within one paragraph the same words make shingles across the former break.
    assert fingerprint(f"{first} {second}", SETTINGS).shingles == 80 + 90 - K + 1


def test_exact_shingles_follow_the_fingerprints_paragraph_rule() -> None:
    rng = random.Random(22)
    for gap in ("\n\n", "\n \n", "\r\n\r\n", "\n", " "):
        text = prose(rng, 30) + gap + prose(rng, 3) + gap + prose(rng, 40)
        assert fingerprint(text, SETTINGS).shingles == len(exact_shingles(text))


# --- anchors -------------------------------------------------------------------------------


def test_anchors_are_about_one_shingle_in_sixteen() -> None:
    fp = fingerprint(prose(random.Random(9), 20_000), SETTINGS)
    ratio = anchor_array(fp.anchors).size / fp.shingles
    assert 1 / 16 * 0.85 <= ratio <= 1 / 16 * 1.15


def test_anchor_bits_set_the_sampling_rate() -> None:
    text = prose(random.Random(10), 4000)
    every = fingerprint(text, dataclasses.replace(SETTINGS, anchor_bits=0))
    assert anchor_array(every.anchors).size == len(exact_shingles(text))
    quarter = fingerprint(text, dataclasses.replace(SETTINGS, anchor_bits=2))
    assert 0.2 <= anchor_array(quarter.anchors).size / quarter.shingles <= 0.3


def test_anchors_are_sorted_distinct_uint32() -> None:
    rng = random.Random(12)
    paragraph = prose(rng, 300)
    fp = fingerprint(paragraph + " " + paragraph, SETTINGS)  # every anchor occurs twice
    assert len(fp.anchors) % 4 == 0
    keys = anchor_array(fp.anchors)
    assert keys.dtype == np.uint32
    assert keys.size > 5
    assert np.all(np.diff(keys.astype(np.int64)) > 0)
    assert np.array_equal(keys, np.frombuffer(fp.anchors, dtype="<u4"))


def test_a_shared_passage_gives_shared_anchors_whatever_surrounds_it() -> None:
    rng = random.Random(13)
    passage = prose(rng, 200)
    # Fence words no other text has: even the shingles straddling the passage's edges differ.
    a = fingerprint(f"{prose(rng, 300)} fence1 {passage} fence1 {prose(rng, 100)}", SETTINGS)
    b = fingerprint(f"{prose(rng, 50)} fence2\n\n{passage}. fence2 {prose(rng, 400)}", SETTINGS)
    own = anchors(fingerprint(passage, SETTINGS))
    assert len(own) >= 4
    assert own <= anchors(a) & anchors(b)
    assert anchors(a) & anchors(b) == own  # the rest of each text is its own
    assert estimated_jaccard(a, b) < 0.3  # Jaccard alone would not tell


# --- passages ------------------------------------------------------------------------------


def test_only_paragraphs_of_passage_min_tokens_words_are_passages() -> None:
    rng = random.Random(14)
    long_enough = prose(rng, PASSAGE_MIN_TOKENS)
    too_short = prose(rng, PASSAGE_MIN_TOKENS - 1)
    assert len(fingerprint(long_enough, SETTINGS).passages) == 1
    assert fingerprint(too_short, SETTINGS).passages == ()
    both = fingerprint(long_enough + "\n\n" + too_short, SETTINGS)
    assert both.passages == fingerprint(long_enough, SETTINGS).passages


def test_passages_ignore_case_punctuation_and_whitespace() -> None:
    words = prose(random.Random(15), 30).split()
    plain = " ".join(words)
    dressed = (
        "  \u201c"
        + words[0].upper()
        + ", "
        + "\u2014 ".join(words[1:10])
        + "\u201d\n"
        + "\t".join(w.capitalize() for w in words[10:])
        + "...  "
    )
    assert fingerprint(plain, SETTINGS).passages == fingerprint(dressed, SETTINGS).passages


def test_passages_change_with_the_words_and_their_order() -> None:
    words = prose(random.Random(16), 30).split()
    base = fingerprint(" ".join(words), SETTINGS).passages
    swapped = [words[1], words[0], *words[2:]]
    assert fingerprint(" ".join(swapped), SETTINGS).passages != base
    assert fingerprint(" ".join(words[:-1]), SETTINGS).passages != base


def test_paragraph_order_does_not_matter() -> None:
    rng = random.Random(17)
    paragraphs = [prose(rng, 25 + 10 * i) for i in range(4)]
    forward = fingerprint("\n\n".join(paragraphs), SETTINGS).passages
    backward = fingerprint("\n\n".join(reversed(paragraphs)), SETTINGS).passages
    assert len(forward) == 4
    assert forward == backward  # sorted hashes of the set of paragraphs


@pytest.mark.parametrize("gap", ["\n\n", "\n \n", "\r\n\r\n", "\n\t\n", "\n\n\n\n", "\n  \r\n"])
def test_blank_lines_of_any_kind_separate_paragraphs(gap: str) -> None:
    rng = random.Random(18)
    first, second = prose(rng, 25), prose(rng, 30)
    expected = set(fingerprint(first, SETTINGS).passages + fingerprint(second, SETTINGS).passages)
    assert set(fingerprint(first + gap + second, SETTINGS).passages) == expected


@pytest.mark.parametrize("gap", ["\n", " ", "\r\n", "\n.\n"])
def test_a_single_line_break_does_not_separate_paragraphs(gap: str) -> None:
    rng = random.Random(19)
    first, second = prose(rng, 25), prose(rng, 30)
    joined = fingerprint(first + gap + second, SETTINGS).passages
    assert joined == fingerprint(first + " " + second, SETTINGS).passages
    assert len(joined) == 1


# --- other scripts -------------------------------------------------------------------------

CYRILLIC = "абвгдежзиклмнопрстуфхцчшщыэюя"
URDU = "ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہیے"
CJK = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000, 7))


def script_text(rng: random.Random, letters: str, words: int, *, spaced: bool = True) -> str:
    if not spaced:  # ideographs: one word per character, no spaces
        return "".join(rng.choice(letters) for _ in range(words))
    return " ".join(
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 8))) for _ in range(words)
    )


@pytest.mark.parametrize(
    ("letters", "spaced"), [(CYRILLIC, True), (URDU, True), (CJK, False)], ids=["ru", "ur", "zh"]
)
def test_non_latin_texts_get_non_degenerate_signatures(letters: str, spaced: bool) -> None:
    rng = random.Random(20)
    text, other = (script_text(rng, letters, 400, spaced=spaced) for _ in range(2))
    fp, other_fp = fingerprint_batch([text, other], SETTINGS)
    assert fp.tokens == 400
    assert fp.shingles == 400 - K + 1
    assert np.unique(signature_array(fp.signature)).size > 150
    assert anchor_array(fp.anchors).size > 10
    assert estimated_jaccard(fp, other_fp) < 0.05
    half = text[: len(text) // 2]
    estimate_half = estimated_jaccard(fp, fingerprint(half, SETTINGS))
    assert abs(estimate_half - exact_jaccard(text, half)) < 0.1
