"""Boilerplate removal before fingerprinting: furniture and each outlet's learned lines."""

from __future__ import annotations

import pytest

from aggregator.boilerplate import (
    MAX_BOILERPLATE_CHARS,
    RECENT_ARTICLES,
    REPEATS_TO_LEARN,
    Boilerplate,
    is_furniture,
)

STORY = (
    "The regional council approved the new water plan on Monday after a three-hour debate "
    "in which farmers and city officials argued over how the reservoir should be shared."
)
FOOTER = "Thanks for reading the Daily Example. Tell a friend about us today."


@pytest.mark.parametrize(
    "line",
    [
        "Copyright 2026 The Associated Press. All rights reserved.",
        "This material may not be published, broadcast, rewritten or redistributed.",
        "Sign up for our morning newsletter to get the news first.",
        "Advertisement",
        "Read more: Five things to know about the budget",
        "Related: Council votes on water plan",
        "Follow us on Twitter for more updates",
        "Residents queue for water in Riverton on Monday. (Photo: Jane Doe / Getty Images)",
        "Image caption, The dam failed after heavy rain",
        "Reporting by John Smith; Editing by Jane Roe",
        "Our Standards: The Thomson Reuters Trust Principles.",
        "Associated Press writer Ann Lee in Paris contributed to this report.",
    ],
)
def test_wire_and_outlet_furniture_is_recognized(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        STORY,
        "Officials said the reservoir would be refilled by spring, according to the plan.",
        # reporting that happens to mention a copyright dispute is not furniture
        "The court heard that the copyright of the song had been sold twice.",
    ],
)
def test_reporting_is_not_furniture(line: str) -> None:
    assert not is_furniture(line)


def test_a_long_paragraph_is_never_furniture_even_if_a_pattern_matches() -> None:
    long = "Sign up for the newsletter " + "word " * (MAX_BOILERPLATE_CHARS // 5)
    assert not is_furniture(long)


def test_strip_removes_furniture_and_keeps_the_story() -> None:
    notice = "Copyright 2026 Example Media. All rights reserved."
    text = f"{STORY}\n\nAdvertisement\n\n{STORY} Again.\n\n{notice}"
    stripped = Boilerplate().strip("Daily Example", text)
    assert stripped == f"{STORY}\n\n{STORY} Again."


def test_an_outlets_repeated_footer_is_learned_and_stripped_after_enough_articles() -> None:
    memory = Boilerplate()
    texts = [
        f"Story number {n}: {STORY} Part {n}.\n\n{FOOTER}" for n in range(REPEATS_TO_LEARN + 1)
    ]
    prepared = [memory.prepare("Daily Example", t) for t in texts]
    assert all(FOOTER in p for p in prepared[:REPEATS_TO_LEARN])  # not yet learned
    assert FOOTER not in prepared[REPEATS_TO_LEARN]
    # the footer is this outlet's boilerplate only
    assert FOOTER in memory.strip("Another Outlet", texts[0])


def test_learned_boilerplate_is_forgotten_when_it_leaves_the_recent_articles() -> None:
    memory = Boilerplate()
    for n in range(REPEATS_TO_LEARN):
        memory.observe("Daily Example", f"Story {n}. {STORY}\n\n{FOOTER}")
    assert FOOTER not in memory.strip("Daily Example", f"{STORY}\n\n{FOOTER}")
    for n in range(RECENT_ARTICLES):
        memory.observe("Daily Example", f"Unrelated story {n} with its own words.")
    assert FOOTER in memory.strip("Daily Example", f"{STORY}\n\n{FOOTER}")


def test_memory_survives_export_and_reload() -> None:
    memory = Boilerplate()
    for n in range(REPEATS_TO_LEARN):
        memory.observe("Daily Example", f"Story {n}. {STORY}\n\n{FOOTER}")
    reloaded = Boilerplate(memory.export(["Daily Example", "Unknown"]))
    assert FOOTER not in reloaded.strip("Daily Example", f"{STORY}\n\n{FOOTER}")
    assert memory.export(["Unknown"]) == {}
