"""Tests of the byte-level tokenizer: words of many texts at once, as 64-bit hashes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.tokens import (
    CHUNK_BYTES,
    MAX_TEXT_BYTES,
    chunks,
    encode_texts,
    tokenize_chunk,
)

# The documented separators among multi-byte characters (tokens.py): Latin-1 punctuation
# and nbsp, general punctuation (spaces, dashes, quotes, ellipsis), CJK punctuation,
# Arabic-script comma/semicolon/question mark/full stop, Devanagari dandas, the BOM and
# the common fullwidth punctuation.
SEPARATORS = frozenset(
    [
        *range(0xA0, 0xC0),
        *range(0x2000, 0x2070),
        *range(0x3000, 0x3040),
        *(0x060C, 0x061B, 0x061F, 0x06D4, 0x0964, 0x0965, 0xFEFF),
        *(0xFF01, 0xFF08, 0xFF09, 0xFF0C, 0xFF0E, 0xFF1A, 0xFF1B, 0xFF1F),
    ]
)
IDEOGRAPHS = range(0x3040, 0xA000)  # kana and CJK ideographs: one word per character


def reference_words(text: str) -> list[str]:
    """The word rule of tokens.py, written character by character (the slow, obvious way)."""
    found: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            found.append("".join(current))
            current.clear()

    for char in text:
        code = ord(char)
        if code in IDEOGRAPHS:
            close()
            found.append(char)
        elif (code < 0x80 and char.isalnum()) or (code >= 0x80 and code not in SEPARATORS):
            current.append(char.lower() if code < 0x80 else char)
        else:
            close()
    close()
    return found


def hashes_of_all(texts: list[str]) -> list[list[int]]:
    """Word hashes of each text, tokenized together in one chunk."""
    chunk = tokenize_chunk(encode_texts(texts))
    return [chunk.hashes[chunk.bounds[i] : chunk.bounds[i + 1]].tolist() for i in range(len(texts))]


def words(text: str) -> list[int]:
    return hashes_of_all([text])[0]


def word(text: str) -> int:
    (only,) = words(text)
    return only


def same_pattern(hashes: list[int], strings: list[str]) -> bool:
    """Equal hashes exactly where the strings are equal (and as many of each)."""
    if len(hashes) != len(strings):
        return False
    return all(
        (hashes[i] == hashes[j]) == (strings[i] == strings[j])
        for i in range(len(strings))
        for j in range(len(strings))
    )


# --- words ---------------------------------------------------------------------------------


def test_words_are_runs_of_letters_and_digits() -> None:
    text = "Council votes 7-2 on Tuesday; budget: $4.5bn (final)!"
    assert words(text) == words("council votes 7 2 on tuesday budget 4 5bn final")
    assert len(words(text)) == 10


def test_ascii_letters_are_lower_cased() -> None:
    assert words("Harbour HARBOUR harbour hArBoUr") == [word("harbour")] * 4
    assert word("Harbour") != word("harbor")


def test_words_are_separate_not_concatenated() -> None:
    one, two = words("harbour bridge")
    assert len({one, two, word("harbourbridge")}) == 3


@pytest.mark.parametrize(
    "punctuated",
    [
        "\u201cpeace\u201d \u2014 at last",  # curly double quotes, em dash
        "\u2018peace\u2019\u2013at\u2026last",  # curly single quotes, en dash, ellipsis
        "peace\u00a0at\u00a0last",  # no-break spaces
        "\u00abpeace\u00bb \u2022 at \u00b7 last",  # guillemets, bullet, middle dot
        "peace\u2009at\u200blast",  # thin space, zero-width space
        "\ufeffpeace\u3000at\u3001last\u3002",  # BOM, ideographic space, comma, full stop
        "peace\uff0cat\uff1alast\uff01",  # fullwidth comma, colon, exclamation mark
    ],
)
def test_multi_byte_punctuation_and_spaces_separate_words(punctuated: str) -> None:
    assert words(punctuated) == words("peace at last")


def test_curly_apostrophe_splits_like_the_ascii_one() -> None:
    assert words("don\u2019t") == words("don't") == words("don t")


def test_urdu_words_are_separated_by_urdu_full_stop_and_comma() -> None:
    text = "وزیراعظم نے کہا۔ اجلاس، کل ہوگا؟"
    assert len(words(text)) == 6
    assert words(text)[2] == word("کہا")  # "۔" (U+06D4) is not part of the word
    assert words(text)[3] == word("اجلاس")  # "،" (U+060C) neither
    assert words("کہا۔اجلاس") == [word("کہا"), word("اجلاس")]


def test_cyrillic_words_are_whole_words() -> None:
    text = "Москва, 5 марта \u2014 Правительство одобрило бюджет."
    assert len(words(text)) == 6
    assert words(text)[2] == word("марта")
    assert word("марта") != word("марте")


def test_devanagari_danda_separates_words() -> None:
    assert words("सरकार ने कहा।बैठक") == [word("सरकार"), word("ने"), word("कहा"), word("बैठक")]


def test_cjk_has_one_word_per_character_beside_latin_words() -> None:
    text = "東京で会議 Tokyo summit 開催"
    hashes = words(text)
    assert len(hashes) == 9
    assert hashes[:5] == [word(char) for char in "東京で会議"]
    assert hashes[5:7] == words("tokyo summit")
    assert hashes[7:] == [word("開"), word("催")]
    assert words("東京。会議、開催") == [word(char) for char in "東京会議開催"]


def test_ideographs_split_from_adjacent_latin_letters() -> None:
    assert words("abc東京def") == [word("abc"), word("東"), word("京"), word("def")]


def test_a_word_hashes_alike_wherever_it_stands() -> None:
    texts = [
        "storm hits the coast",
        "the coast braces for the storm",
        "a storm, then another storm.",
        "x" * 1000 + " storm",
    ]
    storm = word("storm")
    for hashes, text in zip(hashes_of_all(texts), texts, strict=True):
        expected = [i for i, w in enumerate(reference_words(text)) if w == "storm"]
        assert [i for i, h in enumerate(hashes) if h == storm] == expected


def test_different_words_hash_differently() -> None:
    vocabulary = [f"w{i}" for i in range(5000)] + [str(i) for i in range(5000)]
    hashes = words(" ".join(vocabulary))
    assert len(set(hashes)) == len(vocabulary)


def test_words_of_every_length_across_eight_byte_boundaries_hash_apart() -> None:
    # Words are read eight bytes at a time: a prefix, a one-letter change in any limb and
    # a longer word that only adds letters must all hash apart.
    base = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocabulary = [base[:n] for n in range(1, len(base) + 1)]
    vocabulary += [base[: n - 1] + "q" for n in range(2, 30)]
    vocabulary += [w + w for w in ("harbour", "stormfront", "a" * 8, "a" * 16)]
    vocabulary += ["a" * n for n in range(1, 40)]
    vocabulary = list(dict.fromkeys(vocabulary))
    hashes = words(" ".join(vocabulary))
    assert len(set(hashes)) == len(vocabulary)


@pytest.mark.parametrize("length", [7, 8, 9, 16, 17, 24, 25, 300, 5000])
def test_a_long_word_hashes_alike_at_any_byte_offset(length: int) -> None:
    long_word = ("abcdefghijk" * (length // 11 + 1))[:length]
    alone = word(long_word)
    for pad in range(9):  # every alignment of the word's first byte against 8
        hashes = words("x" * pad + " " + long_word + " tail") if pad else words(long_word)
        assert alone in hashes
    assert word(long_word[:-1] + "z") != alone
    assert word(long_word + "a") != alone


def test_multi_byte_words_longer_than_eight_bytes_hash_apart() -> None:
    # Cyrillic and Urdu letters take two bytes: these words span two and three limbs.
    texts = ["государство", "государства", "правительство", "حکومتِ پاکستان", "حکومت"]
    hashes = [words(t) for t in texts]
    flat = [h for hs in hashes for h in hs]
    assert len(set(flat)) == len(flat)
    assert words("ГОСУДАРСТВО") != words("государство")  # only ASCII is lower-cased


ALPHABET = st.sampled_from(
    [
        *"abAZ09 \n\t.,-'\"",
        *("\u00a0", "\u2019", "\u201c", "\u2014", "\u2026", "\ufeff", "\u3001", "\u3000"),
        *("۔", "،", "ک", "д", "Д", "é", "É", "ü", "東", "京", "は", "\uff0c", "\u0964", "न"),
        *("😀", "\u00ad", "\u0301"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_words_follow_the_documented_rule(text: str) -> None:
    assert same_pattern(words(text), reference_words(text))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=6))
def test_any_unicode_text_tokenizes_alike_alone_and_in_a_batch(texts: list[str]) -> None:
    together = hashes_of_all(texts)
    for text, hashes in zip(texts, together, strict=True):
        assert hashes == words(text)
        assert len(hashes) == len(reference_words(text))


# --- limits and chunks ---------------------------------------------------------------------


def test_texts_are_cut_at_max_text_bytes_on_a_character_boundary() -> None:
    text = "a" + "é" * MAX_TEXT_BYTES  # 2-byte characters: the cut falls inside one
    (raw,) = encode_texts([text])
    assert len(raw) == MAX_TEXT_BYTES - 1
    assert raw.decode("utf-8") == text[: MAX_TEXT_BYTES // 2]


def test_words_beyond_max_text_bytes_are_not_hashed() -> None:
    filler = "news " * (MAX_TEXT_BYTES // 5) + "end " * 2
    filler = filler[:MAX_TEXT_BYTES]
    assert len(filler.encode()) == MAX_TEXT_BYTES
    assert filler.endswith(" ")
    hashes = words(filler + "omega")
    assert word("omega") not in hashes
    assert len(hashes) == len(words(filler))
    assert words("omega " + filler)[0] == word("omega")


def test_short_texts_are_not_cut() -> None:
    text = "Краткий текст 東京"
    assert encode_texts([text]) == [text.encode()]


def test_chunks_group_texts_in_order_under_the_chunk_size() -> None:
    encoded = [b"x" * (20_000 + 997 * i) for i in range(60)]
    groups = chunks(encoded)
    assert len(groups) > 1
    assert [i for group in groups for i in group] == list(range(60))
    for group in groups:
        assert sum(len(encoded[i]) + 1 for i in group) <= CHUNK_BYTES + 1


def test_a_text_that_does_not_fit_starts_a_new_chunk() -> None:
    encoded = [b"s" * (CHUNK_BYTES - 100), b"y" * MAX_TEXT_BYTES, b"small"]
    assert chunks(encoded) == [[0], [1, 2]]


def test_chunking_keeps_each_texts_words_apart() -> None:
    texts = [f"text{i} " + "body " * 3000 + f"end{i}" for i in range(60)]
    encoded = encode_texts(texts)
    groups = chunks(encoded)
    assert len(groups) > 1
    for group in groups:
        chunk = tokenize_chunk([encoded[i] for i in group])
        assert chunk.bounds.size == len(group) + 1
        for position, i in enumerate(group):
            hashes = chunk.hashes[chunk.bounds[position] : chunk.bounds[position + 1]]
            assert hashes.tolist() == words(texts[i])


def test_words_do_not_run_across_text_boundaries() -> None:
    assert hashes_of_all(["abc", "def"]) == [[word("abc")], [word("def")]]
    assert hashes_of_all(["東京", "abc"]) == [[word("東"), word("京")], [word("abc")]]


def test_empty_input_makes_no_chunks() -> None:
    assert encode_texts([]) == []
    assert chunks([]) == []


def test_empty_and_blank_texts_have_no_words_and_do_not_shift_their_neighbours() -> None:
    texts = ["", " \n\t ", "first word", "\u00a0\u2014\u3000", "", "last"]
    chunk = tokenize_chunk(encode_texts(texts))
    assert chunk.bounds.tolist() == [0, 0, 0, 2, 2, 2, 3]
    assert hashes_of_all(texts) == [[], [], words("first word"), [], [], [word("last")]]
    assert chunk.hashes.dtype == np.uint64
