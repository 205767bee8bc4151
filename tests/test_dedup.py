"""Tests of the in-memory clustering engine (StoryClusterer): copies, trimmed copies and
credited rewrites join their original; distinct stories stay apart."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from aggregator.dedup import Document, MemoryDirectory, StoryClusterer
from aggregator.devdata import missing_reason, shared_path
from aggregator.fingerprint import fingerprint_batch
from aggregator.index import MemoryIndex
from aggregator.placement import NewArticle, place_batch
from aggregator.settings import DedupSettings
from aggregator.types import Assignment, Credit, CreditKind

SETTINGS = DedupSettings()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BBC = shared_path("eval", "bbc")
VIA_POLITICO = Credit("POLITICO", CreditKind.REPORTING, "Politico")
_VOCABULARY = [f"{a}{b}{c}" for a in "bdgklmnprstvz" for b in "aeiou" for c in "nrstlmk"]

BRIDGE = """Harbour bridge to close for four months after engineers find corrosion

The city council voted on Tuesday to close the old harbour bridge for repairs, after \
engineers found corrosion in three of its steel supports during a routine inspection \
last month.

Traffic will be diverted through the northern ring road for at least four months, the \
council said, and a temporary ferry will carry cyclists and pedestrians across the river \
every fifteen minutes from Monday.

"We cannot take any risk with a structure that carries forty thousand vehicles a day," \
the council's head of transport, Maria Lindqvist, told reporters after the vote. "The \
repairs are urgent, and they will be done properly."

Shop owners near the bridge said they feared losing customers during the busy summer \
season and asked the council to compensate them for the disruption caused by the \
closure. The council said it would consider a relief fund at its next meeting.

The bridge, opened in 1931, was last renovated in the 1990s. Engineers said the \
corrosion was caused by road salt seeping through cracks in the deck, and that the \
supports would be replaced rather than patched."""

# The same topic, another event: it must never join the story above.
RAIL_BRIDGE = """Rail bridge reopens after six weeks of repairs

Trains returned to the river rail bridge on Friday after six weeks of emergency repairs, \
the regional transport authority said, ending a closure that forced thousands of \
commuters onto replacement buses.

The bridge was shut in early spring when inspectors discovered a crack in one of its \
concrete piers. Divers and engineers worked through the night to strengthen the \
foundations, the authority's chief engineer, Tomas Berg, said on Thursday.

"Passengers have been patient, and we thank them," Berg said. "The bridge is now safe \
for at least another thirty years."

Commuter groups welcomed the reopening but asked the authority to publish the \
inspection reports and explain why the crack had not been found earlier. The authority \
said the reports would be released next month.

The rail bridge, built in 1958, carries around two hundred trains a day between the \
city centre and the eastern suburbs."""

ELECTION = """Voters return a hung parliament as turnout falls to a record low

No party won a majority in Sunday's general election, official results showed on \
Monday, leaving the outgoing prime minister to seek a coalition partner among three \
smaller parties that have all ruled out serving under her.

Turnout fell to 54 percent, the lowest since the country's first free elections, which \
analysts blamed on a short campaign held during the harvest and on widespread distrust \
of the main parties after a series of corruption trials.

The opposition leader said he was ready to form a minority government and would put a \
budget to parliament within weeks if invited to do so by the president."""


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def bridge_copies() -> dict[str, str]:
    """Syndicated forms of BRIDGE that PRODUCT.md calls copies."""
    paras = paragraphs(BRIDGE)
    return {
        "verbatim": BRIDGE,
        "re-headlined": "\n\n".join(["Corroded bridge shuts until autumn", *paras[1:]]),
        "trimmed": "\n\n".join(paras[:3]),
        "furniture": "\n\n".join(
            [
                "LONDON (AP) \u2014 " + paras[0],
                *paras[1:3],
                "Advertisement",
                *paras[3:],
                "Sign up for our daily newsletter to get the latest updates.",
                "Copyright 2026 The Associated Press. All rights reserved.",
            ]
        ),
        "edited": BRIDGE.replace("Tuesday", "Wednesday")
        .replace("four months", "five months")
        .replace("1931", "1932"),
    }


def bridge_rewrite() -> str:
    """An outlet's own article reusing two of BRIDGE's paragraphs verbatim."""
    paras = paragraphs(BRIDGE)
    return "\n\n".join(
        [
            "Residents brace for traffic chaos as the harbour crossing shuts",
            "Drivers in the port district face months of detours after councillors backed "
            "an emergency closure of the crossing that links the old town to the docks.",
            paras[2],
            paras[3],
            "Local business groups are planning a protest outside the town hall on Friday "
            "and say that they will ask for an independent review of the inspection.",
        ]
    )


# --- copies, rewrites, distinct stories ----------------------------------------------------


@pytest.mark.parametrize("kind", list(bridge_copies()))
def test_a_copy_joins_its_original(kind: str) -> None:
    clusterer = StoryClusterer(SETTINGS)
    original = clusterer.add(1, BRIDGE, outlet="Politico", seen_at=T0)
    assert clusterer.add(2, bridge_copies()[kind], outlet="Wire", seen_at=T0) == original == 1


def test_a_rewrite_reusing_two_paragraphs_joins_its_original() -> None:
    clusterer = StoryClusterer(SETTINGS)
    clusterer.add(1, BRIDGE, outlet="Politico")
    assert clusterer.add(2, bridge_rewrite(), outlet="Caspian Daily") == 1


def test_distinct_stories_on_the_same_topic_stay_apart() -> None:
    clusterer = StoryClusterer(SETTINGS)
    assert clusterer.add(1, BRIDGE, outlet="Politico") == 1
    assert clusterer.add(2, RAIL_BRIDGE, outlet="Politico") == 2
    assert clusterer.add(3, ELECTION, outlet="BBC") == 3
    assert clusterer.add(4, bridge_copies()["trimmed"], outlet="Wire") == 1
    assert clusterer.clusters() == {1: [1, 4], 2: [2], 3: [3]}


def quote_with_anchors(rng: random.Random, minimum: int = 2) -> str:
    """A 45-word quote holding at least ``minimum`` anchors (sampled shingles)."""
    while True:
        quote = " ".join(rng.choice(_VOCABULARY) for _ in range(45))
        if len(fingerprint_batch([quote], SETTINGS)[0].anchors) >= 4 * minimum:
            return quote


def credited_rewrite_case() -> tuple[str, str]:
    rng = random.Random(2024)
    own = [" ".join(rng.choice(_VOCABULARY) for _ in range(n)) for n in (200, 150, 180, 170)]
    quote = quote_with_anchors(rng)
    original = f"{own[0]} fenceone {quote} fenceone {own[1]}"
    rewrite = f"{own[2]} fencetwo {quote} fencetwo {own[3]}"  # one paragraph: no passage
    return original, rewrite


def test_a_rewrite_crediting_the_original_outlet_joins_on_a_shared_quote() -> None:
    original, rewrite = credited_rewrite_case()
    clusterer = StoryClusterer(SETTINGS)
    clusterer.add(1, original, outlet="Politico")
    assert clusterer.add(2, rewrite, outlet="AzerNEWS", credits=[VIA_POLITICO]) == 1


@pytest.mark.parametrize(
    "credits",
    [(), (Credit("CBS News", CreditKind.REPORTING, "CBS News"),)],
    ids=["no credit", "credits another outlet"],
)
def test_the_same_rewrite_without_that_credit_stays_apart(credits: tuple[Credit, ...]) -> None:
    original, rewrite = credited_rewrite_case()
    clusterer = StoryClusterer(SETTINGS)
    clusterer.add(1, original, outlet="Politico")
    assert clusterer.add(2, rewrite, outlet="AzerNEWS", credits=credits) == 2


def test_versions_drift_into_the_cluster_but_never_chain_away_from_the_original() -> None:
    rng = random.Random(77)
    parts = [" ".join(rng.choice(_VOCABULARY) for _ in range(60)) for _ in range(16)]

    def version(*numbers: int) -> str:  # each part a long paragraph (a passage)
        return "\n\n".join(parts[n] for n in numbers)

    clusterer = StoryClusterer(SETTINGS)
    assert clusterer.add(1, version(0, 1, 2, 3, 4, 5)) == 1
    assert clusterer.add(2, version(0, 1, 6, 7, 8, 9)) == 1  # two paragraphs of the original
    # Verifies version 2 and keeps one paragraph of the original: a later write-thru.
    assert clusterer.add(3, version(0, 6, 7, 11, 12, 13)) == 1
    # Verifies versions 2 and 3 but keeps nothing of the original: another story.
    assert clusterer.add(4, version(6, 7, 11, 12, 14, 15)) == 4


# --- the engine's contract -----------------------------------------------------------------


def mixed_documents() -> list[Document]:
    copies = bridge_copies()
    original, rewrite = credited_rewrite_case()
    texts = [
        (BRIDGE, "Politico", ()),
        (RAIL_BRIDGE, "Politico", ()),
        (copies["trimmed"], "Wire", ()),
        (original, "Politico", ()),
        ("Too short to cluster.", "Wire", ()),
        (ELECTION, "BBC", ()),
        (copies["furniture"], "AP", ()),
        (rewrite, "AzerNEWS", (VIA_POLITICO,)),
        ("Too short to cluster.", "BBC", ()),
        (bridge_rewrite(), "Caspian Daily", ()),
        (copies["edited"], "Reuters", ()),
    ]
    return [
        Document(10 + i, text, outlet, T0, credits)
        for i, (text, outlet, credits) in enumerate(texts)
    ]


def test_add_and_add_many_give_the_same_clusters() -> None:
    documents = mixed_documents()
    one_by_one = StoryClusterer(SETTINGS)
    returned = [
        one_by_one.add(d.doc_id, d.text, outlet=d.outlet, seen_at=d.seen_at, credits=d.credits)
        for d in documents
    ]
    expected = {
        10: [10, 12, 16, 19, 20],
        11: [11],
        13: [13, 17],
        14: [14],
        15: [15],
        18: [18],
    }
    assert one_by_one.clusters() == expected
    for size in (len(documents), 4, 3):
        batched = StoryClusterer(SETTINGS)
        ids: list[int] = []
        for start in range(0, len(documents), size):
            ids += batched.add_many(documents[start : start + size])
        assert ids == returned
        assert batched.clusters() == expected


def test_add_many_returns_each_documents_cluster() -> None:
    clusterer = StoryClusterer(SETTINGS)
    docs = [Document(1, BRIDGE), Document(2, ELECTION), Document(3, BRIDGE)]
    assert clusterer.add_many(docs) == [1, 2, 1]
    assert [clusterer.cluster_of(i) for i in (1, 2, 3)] == [1, 2, 1]
    assert clusterer.add_many([]) == []


def test_adding_an_id_twice_raises() -> None:
    clusterer = StoryClusterer(SETTINGS)
    clusterer.add(1, BRIDGE)
    with pytest.raises(ValueError, match="1"):
        clusterer.add(1, ELECTION)
    with pytest.raises(ValueError, match="5"):
        clusterer.add_many([Document(5, RAIL_BRIDGE), Document(5, ELECTION)])
    with pytest.raises(ValueError, match="7"):
        clusterer.add_many([Document(7, "short"), Document(7, "short")])


def test_a_rejected_batch_leaves_the_clusterer_unchanged() -> None:
    clusterer = StoryClusterer(SETTINGS)
    with pytest.raises(ValueError, match="already"):
        clusterer.add_many([Document(1, "short"), Document(2, BRIDGE), Document(1, BRIDGE)])
    assert clusterer.clusters() == {}
    assert clusterer.add_many([Document(1, BRIDGE), Document(2, BRIDGE)]) == [1, 1]


def test_texts_below_min_tokens_stay_alone_even_when_identical() -> None:
    clusterer = StoryClusterer(SETTINGS)
    rng = random.Random(5)
    teaser = " ".join(rng.choice(_VOCABULARY) for _ in range(SETTINGS.min_tokens - 1))
    ids = [clusterer.add(i, teaser, outlet="Wire") for i in range(1, 4)]
    ids += [clusterer.add(i, "", outlet="Wire") for i in range(4, 6)]
    assert ids == [1, 2, 3, 4, 5]
    long_enough = teaser + " finally"
    assert [clusterer.add(i, long_enough) for i in (6, 7)] == [6, 6]


FOOTER = """Sign up for our morning newsletter and get the most important stories from our \
newsroom, with analysis from correspondents around the world, delivered to your inbox \
every weekday.

Copyright 2026 Example Media Group. All rights reserved. This material may not be \
published, broadcast, rewritten or redistributed without the written permission of the \
publisher and its partners."""


def short_lines(rng: random.Random) -> str:
    """48 words (above min_tokens) as twelve 4-word paragraphs: no paragraph holds a shingle."""
    return "\n\n".join(" ".join(rng.choice(_VOCABULARY) for _ in range(4)) for _ in range(12))


def test_texts_of_short_lines_do_not_join_each_other() -> None:
    rng = random.Random(12)
    clusterer = StoryClusterer(SETTINGS)
    assert [clusterer.add(i, short_lines(rng)) for i in (1, 2, 3)] == [1, 2, 3]


def test_a_verbatim_copy_of_a_text_of_short_lines_joins_it() -> None:
    text = short_lines(random.Random(13))
    clusterer = StoryClusterer(SETTINGS)
    assert fingerprint_batch([text], SETTINGS)[0].tokens >= SETTINGS.min_tokens
    assert clusterer.add(1, text, outlet="Wire") == 1
    assert clusterer.add(2, text, outlet="Daily") == 1


def test_outlet_furniture_does_not_make_stories_alike() -> None:
    # Two long furniture paragraphs would prove reuse (two shared passages) if they were
    # fingerprinted; they are stripped first, so unrelated stories stay apart.
    rng = random.Random(6)
    clusterer = StoryClusterer(SETTINGS)
    for i in range(1, 6):
        body = " ".join(rng.choice(_VOCABULARY) for _ in range(60))
        assert clusterer.add(i, body + "\n\n" + FOOTER, outlet=f"Outlet {i % 2}") == i
    assert len(fingerprint_batch([FOOTER], SETTINGS)[0].passages) == 2


def test_a_merge_keeps_the_smaller_cluster_id() -> None:
    # Two daemons opened clusters 3 and 8 for one story; a third copy joins them.
    rng = random.Random(9)
    words = [rng.choice(_VOCABULARY) for _ in range(400)]
    edited = [w if rng.random() > 0.04 else "changed" for w in words]
    older, newer, third = fingerprint_batch(
        [" ".join(edited), " ".join(words), " ".join(words)], SETTINGS
    )
    index = MemoryIndex(SETTINGS)
    index.add_many([3, 8], [older, newer], T0)
    directory = MemoryDirectory()
    directory.open(3, "Wire")
    directory.open(8, "Other")
    assignments: list[Assignment] = []

    def settle(item: NewArticle, assignment: Assignment) -> None:
        assignments.append(assignment)
        assert assignment.cluster_id is not None
        directory.join(item.article_id, item.outlet, assignment.cluster_id, assignment.merge)

    place_batch([NewArticle(12, third, "Daily")], index, directory, settle, seen_at=T0)
    assert (assignments[0].cluster_id, assignments[0].merge) == (8, (3,))  # best: identical
    assert directory.members == {3: [3, 8, 12]}
    assert directory.cluster_of == {3: 3, 8: 3, 12: 3}
    assert directory.representative == {3: 3}


def test_memory_directory_join_moves_every_member_of_merged_clusters() -> None:
    directory = MemoryDirectory()
    for doc in (2, 5, 9):
        directory.open(doc, "X")
    directory.join(6, "Y", 5, ())
    assert directory.join(11, "Z", 9, (2, 5)) == 2
    assert sorted(directory.members[2]) == [2, 5, 6, 9, 11]
    assert list(directory.members) == [2]
    assert set(directory.cluster_of.values()) == {2}
    assert directory.outlet_of[11] == "Z"
    assert directory.representatives([2, 5, 9]) == {2: 2}


def test_merged_members_stay_in_the_order_they_were_added() -> None:
    directory = MemoryDirectory()
    for doc in (2, 5, 9):
        directory.open(doc, "X")
    directory.join(6, "Y", 5, ())
    directory.join(11, "Z", 9, (2, 5))
    assert directory.members == {2: [2, 5, 9, 6, 11]}  # arrival order, not id order


# --- real texts ----------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def distinct_bbc_articles(count: int) -> list[str]:
    """BBC articles that share (almost) no text: the set holds duplicates and follow-ups."""
    if not BBC.is_dir():
        pytest.skip(missing_reason(f"BBC corpus ({BBC})"))
    files = sorted(BBC.glob("*/*.txt"))
    random.Random(31).shuffle(files)
    kept: list[str] = []
    kept_shingles: list[set[tuple[str, ...]]] = []
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        words = _WORD.findall(text.lower())
        shingles = {tuple(words[i : i + 5]) for i in range(len(words) - 4)}
        if len(words) < 120 or any(
            len(shingles & other) > 0.05 * min(len(shingles), len(other)) for other in kept_shingles
        ):
            continue
        kept.append(text)
        kept_shingles.append(shingles)
        if len(kept) == count:
            break
    return kept


def test_real_bbc_articles_stay_apart_and_their_copies_join_them() -> None:
    articles = distinct_bbc_articles(150)
    clusterer = StoryClusterer(SETTINGS)
    originals = [Document(i + 1, text, "BBC", T0) for i, text in enumerate(articles)]
    assert clusterer.add_many(originals) == [d.doc_id for d in originals]
    copies = []
    for i, text in enumerate(articles[:75]):
        paras = [p for p in text.split("\n") if p.strip()]
        kept = paras[1 : max(3, int(len(paras) * 0.6))]  # new headline, tail trimmed
        copies.append(Document(1000 + i, "\n\n".join([f"Wire report {i}", *kept]), "Wire", T0))
    assert clusterer.add_many(copies) == [d.doc_id for d in originals[:75]]
    assert len(clusterer.clusters()) == 150
