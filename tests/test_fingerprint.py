"""Tests of the fingerprint stage: shingles → MinHash signatures, passage hashes, versions."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import re
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from datasketch import MinHash

from aggregator import fingerprint as fp_module
from aggregator.devdata import shared_path
from aggregator.fingerprint import (
    PASSAGE_MIN_CHARS,
    fingerprint,
    normalize_words,
    passage_hashes,
    signature_array,
    version_of,
)
from aggregator.settings import DedupSettings

SETTINGS = DedupSettings()
BBC = shared_path("eval", "bbc")
MAX_HASH = np.iinfo(np.uint32).max

STORY = """The city council voted on Tuesday to close the old harbour bridge for repairs,
after engineers found corrosion in three of its steel supports during a routine inspection.

Traffic will be diverted through the northern ring road for at least four months, the
council said, and a temporary ferry will carry cyclists and pedestrians across the river.

Shop owners near the bridge said they feared losing customers during the busy summer season
and asked the council to compensate them for the disruption caused by the closure."""


def shingle_hashes_of(text: str, settings: DedupSettings = SETTINGS) -> np.ndarray:
    tables = fp_module._tables(settings.seed, settings.num_perm, settings.shingle_size)
    tokens = fp_module.token_hashes(normalize_words(text), tables)
    return fp_module.shingle_hashes(tokens, tables)


def sig(text: str, settings: DedupSettings = SETTINGS) -> np.ndarray:
    return signature_array(fingerprint(text, settings).signature)


def jaccard_estimate(a: str, b: str) -> float:
    return float(np.mean(sig(a) == sig(b)))


def exact_jaccard(a: str, b: str, k: int = SETTINGS.shingle_size) -> float:
    """Word k-shingle Jaccard computed from word tuples, independently of any hashing."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = normalize_words(text).split()
        return {tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}

    left, right = shingles(a), shingles(b)
    return len(left & right) / len(left | right)


# --- agreement with datasketch -----------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [DedupSettings(), DedupSettings(num_perm=64, seed=7), DedupSettings(shingle_size=3, seed=42)],
)
def test_signature_equals_datasketch_affine32_minhash_over_the_same_shingle_hashes(
    settings: DedupSettings,
) -> None:
    hashes = shingle_hashes_of(STORY, settings)
    reference = MinHash(
        num_perm=settings.num_perm, seed=settings.seed, scheme="affine32", hashfunc=lambda v: v
    )
    reference.update_batch(hashes.tolist())
    assert hashes.size > 50
    assert np.array_equal(sig(STORY, settings), reference.hashvalues)


def test_signature_bytes_are_num_perm_little_endian_uint32() -> None:
    result = fingerprint(STORY, DedupSettings(num_perm=64))
    assert len(result.signature) == 64 * 4
    assert np.array_equal(
        np.frombuffer(result.signature, dtype="<u4"), signature_array(result.signature)
    )


def test_shingle_count_is_the_number_of_distinct_word_shingles() -> None:
    words = normalize_words(STORY).split()
    distinct = {tuple(words[i : i + 5]) for i in range(len(words) - 4)}
    result = fingerprint(STORY, SETTINGS)
    assert result.tokens == len(words)
    assert result.shingles == len(distinct)
    repeated = fingerprint(STORY + "\n\n" + STORY, SETTINGS)
    assert repeated.shingles == len(distinct) + 4  # only the seam adds new shingles


# --- determinism -------------------------------------------------------------------------


def test_fingerprint_is_identical_when_recomputed_with_fresh_tables() -> None:
    first = fingerprint(STORY, SETTINGS)
    fp_module._tables.cache_clear()
    second = fingerprint(STORY, SETTINGS)
    assert first.signature == second.signature
    assert first.passages == second.passages
    assert (first.shingles, first.tokens) == (second.shingles, second.tokens)


def test_fingerprint_bytes_are_identical_in_another_process_with_another_hash_seed() -> None:
    texts = [STORY, "Президент провёл совещание в четверг", "short"]
    here = [fingerprint(t, SETTINGS) for t in texts]
    current = os.environ.get("PYTHONHASHSEED", "random")
    other_seed = "12345" if current != "12345" else "54321"
    script = (
        "import sys, json\n"
        "from aggregator.fingerprint import fingerprint\n"
        "from aggregator.settings import DedupSettings\n"
        "for text in json.loads(sys.stdin.read()):\n"
        "    f = fingerprint(text, DedupSettings())\n"
        "    print(f.signature.hex(), ','.join(map(str, f.passages)), f.shingles)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": other_seed}
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts),
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    expected = [f"{f.signature.hex()} {','.join(map(str, f.passages))} {f.shingles}" for f in here]
    assert out == expected


# --- normalization -----------------------------------------------------------------------


def test_signature_ignores_case_and_punctuation() -> None:
    shouted = STORY.upper().replace(",", " ,").replace(".", "!!")
    plain = normalize_words(STORY)
    assert sig(shouted).tobytes() == sig(STORY).tobytes() == sig(plain).tobytes()
    assert fingerprint(shouted, SETTINGS).shingles == fingerprint(STORY, SETTINGS).shingles


def test_signature_changes_when_a_word_changes() -> None:
    edited = STORY.replace("harbour", "railway")
    assert sig(edited).tobytes() != sig(STORY).tobytes()
    assert 0.6 < jaccard_estimate(STORY, edited) < 1.0


def test_word_order_matters() -> None:
    words = normalize_words(STORY).split()
    shuffled = " ".join(random.Random(3).sample(words, len(words)))
    assert jaccard_estimate(STORY, shuffled) < 0.1


# --- accuracy on real texts --------------------------------------------------------------


def _bbc_articles(count: int) -> list[str]:
    if not BBC.is_dir():
        pytest.skip(f"{BBC} is absent: the Jaccard accuracy test needs the BBC eval articles")
    paths = sorted(BBC.glob("*/*.txt"))
    if len(paths) < count:
        pytest.skip(f"{BBC} holds {len(paths)} articles; the accuracy test needs {count}")
    chosen = random.Random(7).sample(paths, count)
    return [p.read_text(encoding="latin-1") for p in chosen]


def _variants(text: str, rng: random.Random) -> list[str]:
    """Trimmed copies and copies with a share of words replaced: Jaccard across 0.05-0.9."""
    words = text.split()
    trimmed = [" ".join(words[: int(len(words) * share)]) for share in (0.25, 0.5, 0.75)]
    edited = [
        " ".join(w if rng.random() > rate else f"zq{rng.randrange(10**6)}" for w in words)
        for rate in (0.03, 0.08)
    ]
    return trimmed + edited


def test_jaccard_estimate_tracks_exact_word_shingle_jaccard_on_bbc_articles() -> None:
    """Mean absolute error over 400 pairs, against MinHash's own sampling error.

    With 128 permutations the estimate of a Jaccard J is a binomial share with standard
    deviation sqrt(J(1-J)/128); its expected absolute error is sqrt(2/π) times that
    (0.035 at J = 0.5). Measured here: mean abs error ≈ 0.033 against ≈ 0.032 expected,
    mean signed error ≈ 0.000.
    """
    rng = random.Random(11)
    errors: list[float] = []
    expected: list[float] = []
    for text in _bbc_articles(80):
        original = sig(text)
        for variant in _variants(text, rng):
            exact = exact_jaccard(text, variant)
            estimate = float(np.mean(original == sig(variant)))
            errors.append(estimate - exact)
            sampling_sd = math.sqrt(exact * (1 - exact) / SETTINGS.num_perm)
            expected.append(math.sqrt(2 / math.pi) * sampling_sd)
    mean_abs = float(np.mean(np.abs(errors)))
    assert len(errors) == 400
    assert mean_abs < 0.04, mean_abs
    assert mean_abs < 1.2 * float(np.mean(expected)), (mean_abs, np.mean(expected))
    assert abs(float(np.mean(errors))) < 0.01  # no bias


# --- passages ----------------------------------------------------------------------------


def test_passage_hashes_only_for_paragraphs_of_at_least_passage_min_chars() -> None:
    # punctuation does not count: the rule applies to the normalized paragraph
    too_short = "x" * (PASSAGE_MIN_CHARS - 1) + "!!!!"
    just_long = "y" * PASSAGE_MIN_CHARS
    assert passage_hashes(too_short) == ()
    assert len(passage_hashes(just_long)) == 1
    assert len(passage_hashes(too_short + "\n\n" + just_long)) == 1
    assert passage_hashes(too_short + "\n\n" + just_long) == passage_hashes(just_long)


def test_passage_hashes_of_a_story_are_one_per_long_paragraph() -> None:
    paragraphs = STORY.split("\n\n")
    assert all(len(normalize_words(p)) >= PASSAGE_MIN_CHARS for p in paragraphs)
    hashes = passage_hashes(STORY)
    assert len(hashes) == len(paragraphs) == 3
    assert hashes == tuple(sorted(hashes))
    assert set(passage_hashes(paragraphs[1])) < set(hashes)
    assert fingerprint(STORY, SETTINGS).passages == hashes


def test_passage_hashes_ignore_whitespace_case_and_punctuation_changes() -> None:
    paragraphs = STORY.split("\n\n")
    # re-wrapped lines, tabs and double spaces, upper case, paragraphs separated by blank
    # lines that hold spaces, and different punctuation
    reformatted = "\n \n\n".join(
        "\t" + p.upper().replace(" ", "  ").replace("\n", "\n   ").replace(",", " —") + "!"
        for p in paragraphs
    )
    assert reformatted != STORY
    assert passage_hashes(reformatted) == passage_hashes(STORY)
    assert len(passage_hashes(reformatted)) == len(paragraphs)


def test_passage_hash_changes_when_a_paragraph_is_edited() -> None:
    edited = STORY.replace("four months", "five months")
    assert len(set(passage_hashes(edited)) & set(passage_hashes(STORY))) == 2


# --- empty and non-Latin texts -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n  ", "!!! — ... ???"])
def test_empty_text_has_no_tokens_shingles_or_passages(text: str) -> None:
    result = fingerprint(text, SETTINGS)
    assert (result.tokens, result.shingles, result.passages) == (0, 0, ())
    # the signature of the empty set, as datasketch writes it
    empty = MinHash(num_perm=SETTINGS.num_perm, seed=SETTINGS.seed, scheme="affine32")
    assert np.array_equal(signature_array(result.signature), empty.hashvalues)
    assert (signature_array(result.signature) == MAX_HASH).all()


def test_text_shorter_than_one_shingle_is_a_single_shingle() -> None:
    result = fingerprint("Breaking news", SETTINGS)
    assert (result.tokens, result.shingles) == (2, 1)
    assert not (signature_array(result.signature) == MAX_HASH).all()


NON_LATIN = {
    "urdu": (
        "وزیر اعظم نے جمعرات کو اسلام آباد میں کابینہ کے اجلاس کی صدارت کی۔ "
        "اجلاس میں ملک کی معاشی صورتحال اور مہنگائی پر تفصیلی غور کیا گیا۔ "
        "وزیر خزانہ نے بتایا کہ برآمدات میں اضافہ ہوا ہے اور زرمبادلہ کے ذخائر بہتر ہوئے ہیں۔",
        "کراچی میں شدید بارش کے باعث کئی علاقوں میں بجلی کی فراہمی معطل ہو گئی۔ "
        "شہری انتظامیہ نے نکاسی آب کے لیے اضافی عملہ تعینات کر دیا ہے۔ "
        "محکمہ موسمیات نے آئندہ دو روز میں مزید بارش کی پیش گوئی کی ہے۔",
    ),
    "russian": (
        "Правительство в четверг утвердило новый план развития транспорта в регионах. "
        "Документ предусматривает строительство дорог и модернизацию аэропортов. "
        "Министр заявил, что первые проекты начнутся уже в следующем году.",
        "В Москве прошёл международный шахматный турнир с участием молодых игроков. "
        "Победителем стал шестнадцатилетний спортсмен из Новосибирска. "
        "Организаторы пообещали провести турнир снова следующей весной.",
    ),
    "chinese": (
        "国务院周四召开常务会议，研究部署进一步稳定经济增长的措施。"
        "会议指出，要加大对中小企业的支持力度，扩大有效投资。"
        "会议还要求各地加快推进重大项目建设，确保就业形势总体稳定。"
        "专家表示，这些政策有助于提振市场信心，推动经济持续恢复。",
        "北京市今天发布暴雨蓝色预警，提醒市民减少外出。"
        "气象部门预计，强降雨将持续到明天上午，部分地区可能出现积水。"
        "交通部门已经安排人员在重点路段值守，保障道路安全畅通。"
        "学校和幼儿园也接到通知，做好防汛准备工作。",
    ),
}


@pytest.mark.parametrize("language", sorted(NON_LATIN))
def test_non_latin_texts_get_non_degenerate_signatures(language: str) -> None:
    text, other = NON_LATIN[language]
    result = fingerprint(text, SETTINGS)
    signature = signature_array(result.signature)
    # the letters survive normalization: several tokens and shingles, a real signature
    assert normalize_words(text).replace(" ", "") != ""
    assert result.tokens >= 8
    assert result.shingles >= 4
    assert not (signature == MAX_HASH).any()
    # a different story in the same script is far; the same story, reformatted, is equal
    assert jaccard_estimate(text, other) < 0.1
    assert sig(text.upper() + " \n").tobytes() == signature.tobytes()
    # the same story with a sentence of another one added is still close
    added = re.split(r"(?<=[.۔。])", other)[0]
    assert 0.5 < jaccard_estimate(text, text + " " + added) < 1.0


def test_russian_and_urdu_words_are_tokens() -> None:
    for language in ("russian", "urdu"):
        text = NON_LATIN[language][0]
        words = re.sub(r"[.,۔]", " ", text).split()
        assert fingerprint(text, SETTINGS).tokens == len(words), language


# --- versions ----------------------------------------------------------------------------


def test_version_is_recorded_on_every_fingerprint() -> None:
    assert fingerprint(STORY, SETTINGS).version == version_of(SETTINGS)


@pytest.mark.parametrize(
    "change", [{"num_perm": 64}, {"shingle_size": 4}, {"seed": 2}], ids=lambda c: next(iter(c))
)
def test_version_changes_with_every_signature_parameter(change: dict[str, int]) -> None:
    changed = dataclasses.replace(SETTINGS, **change)
    assert version_of(changed) != version_of(SETTINGS)
    assert fingerprint(STORY, changed).signature != fingerprint(STORY, SETTINGS).signature


def test_version_changes_with_the_algorithm_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = version_of(SETTINGS)
    monkeypatch.setattr(fp_module, "ALGORITHM_VERSION", fp_module.ALGORITHM_VERSION + 1)
    assert version_of(SETTINGS) != before


def test_version_ignores_settings_that_do_not_change_signatures() -> None:
    other = dataclasses.replace(SETTINGS, window=timedelta(days=3), min_tokens=5, lsh_threshold=0.6)
    assert version_of(other) == version_of(SETTINGS)
