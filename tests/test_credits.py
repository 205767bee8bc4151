"""Tests of credit extraction: who an article says it got its story from."""

from __future__ import annotations

import pytest

from aggregator.credits import AliasTable, credit_names, extract_credits
from aggregator.devdata import shared_path
from aggregator.types import Credit, CreditKind, OutletConfig

SEEDS = shared_path("seeds")

REPORTING, WIRE = CreditKind.REPORTING, CreditKind.WIRE
SOURCE, CANONICAL = CreditKind.SOURCE, CreditKind.CANONICAL


def outlet(name: str, homepage: str, *aliases: str, feeds: tuple[str, ...] = ()) -> OutletConfig:
    return OutletConfig(name=name, homepage=homepage, aliases=aliases, feeds=feeds)


OUTLETS = [
    outlet(
        "AzerNEWS", "https://www.azernews.az", "AzerNews", feeds=("https://www.azernews.az/feed",)
    ),
    outlet("Politico", "https://www.politico.com", "POLITICO", "Politico.com"),
    outlet("CBS News", "https://www.cbsnews.com", feeds=("https://www.cbsnews.com/latest/rss",)),
    outlet("Reuters", "https://www.reuters.com"),
    outlet("Associated Press", "https://apnews.com", "AP", "The Associated Press"),
    outlet("BBC", "https://www.bbc.com", "BBC News", feeds=("https://feeds.bbci.co.uk/news/rss",)),
]
ALIASES = AliasTable.from_outlets(OUTLETS)


def credits(text: str, outlet_name: str = "Caspian Daily", **meta: str) -> tuple[Credit, ...]:
    return extract_credits(outlet=outlet_name, text=text, aliases=ALIASES, **meta)


# --- reporting credits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The startup rejected the demand, via POLITICO.", "Politico"),
        ("Via Politico", "Politico"),
        ("On Thursday, CBS News reported that the offer was final.", "CBS News"),
        ("CBS News first reported the offer.", "CBS News"),
        ("The offer was final, CBS News has reported.", "CBS News"),
        ("As Politico reported on Monday, the offer was final.", "Politico"),
        ("But CBS News reported that the offer was final.", "CBS News"),
        ("On Thursday CBS News reported that the offer was final.", "CBS News"),
        ("The deal is off, according to Reuters.", "Reuters"),
        ("According to Reuters, the deal is off.", "Reuters"),
        ("The deal is off, according to a report by Reuters.", "Reuters"),
        ("The deal is off, according to a Politico report.", "Politico"),
        ("A report by Politico said the deal is off.", "Politico"),
        ("The deal, first reported by Politico, is off.", "Politico"),
        ("The deal is off, according to Politico on Thursday.", "Politico"),
        ("The deal is off, according to Politico's report.", "Politico"),
        ("The minister told the BBC on Friday that the deal is off.", "BBC"),
        ("The talks were held in Baku. CBS News reported that the offer was final.", "CBS News"),
        ("The talks ended, according to Politico.com.", "Politico"),
    ],
)
def test_reporting_credit_to_a_tracked_outlet(text: str, expected: str) -> None:
    found = credits(text)
    assert [(c.outlet, c.kind) for c in found] == [(expected, REPORTING)], found


def test_seed_phrase_credits_politico_and_drops_the_self_credit() -> None:
    found = credits("It refused, AzerNEWS reports via Politico.", outlet_name="AzerNEWS")
    assert found == (Credit("Politico", REPORTING, "Politico"),)


def test_self_credit_through_an_alias_is_removed() -> None:
    found = credits("It refused, AzerNews reports via Politico.", outlet_name="AzerNEWS")
    assert credit_names(found) == ("Politico",)


def test_reporting_credit_of_another_tracked_outlet_is_kept_with_the_via_credit() -> None:
    found = credits("It refused, AzerNEWS reports via Politico.", outlet_name="Caspian Daily")
    # first mention first: the outlet that reports it, then its source
    assert [(c.outlet, c.kind) for c in found] == [
        ("AzerNEWS", REPORTING),
        ("Politico", REPORTING),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The deal is off, according to officials.",
        "According to officials, the deal is off.",
        "The deal is off, according to Pentagon officials.",
        "The deal is off, according to John Smith.",
        "The deal is off, according to Acme Corp.",
        "Microsoft reported record earnings on Tuesday.",
        "The figures were reported by the Health Ministry.",
        "Amodei wrote in a blog post published on Thursday.",
        "In an interview with the minister, the deal was called off.",
        "the deal was sent via email to staff.",
        "The deal is off, according to U.S. officials.",
        "The deal is off, according to NATO.",
        "The FBI reported a rise in fraud.",
        "",
    ],
)
def test_people_companies_and_officials_are_not_credits(text: str) -> None:
    assert credits(text) == ()


# --- untracked sources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The deal is off, The New York Times reported.", "The New York Times"),
        ("The deal is off, the Caspian Times reported on Friday.", "the Caspian Times"),
        ("Yesterday The Caspian Times reported the deal.", "The Caspian Times"),
        ("The deal is off, according to Interfax.", "Interfax"),
        ("The deal is off, according to CNN.", "CNN"),
        ("The deal is off, KCNA reported.", "KCNA"),
        ("The deal is off, U.S. News reported.", "U.S. News"),
        ("This story was originally published by Caspian Daily Herald.", "Caspian Daily Herald"),
    ],
)
def test_untracked_news_like_names_are_kept_as_written(text: str, name: str) -> None:
    (found,) = credits(text, outlet_name="AzerNEWS")
    assert found.name == name
    assert found.outlet is None
    assert credit_names((found,)) == (name,)


def test_originally_published_by_is_a_source_credit_whatever_the_name() -> None:
    (found,) = credits("This article was originally published by Eurasianet.")
    assert (found.name, found.kind, found.outlet) == ("Eurasianet", SOURCE, None)


# --- wire credits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LONDON (AP) — The prime minister resigned on Monday.", "Associated Press"),
        ("(Reuters) - The prime minister resigned on Monday.", "Reuters"),
        ("LONDON, May 20 (Reuters) - The prime minister resigned.", "Reuters"),
        ("By The Associated Press\n\nLONDON — The prime minister resigned.", "Associated Press"),
        ("By Reuters Staff\n\nThe prime minister resigned.", "Reuters"),
        (
            "A caption: protesters outside parliament.\n\nLONDON (AP) — The minister resigned.",
            "Associated Press",
        ),
    ],
)
def test_wire_dateline_and_byline_are_wire_credits(text: str, expected: str) -> None:
    found = credits(text)
    assert [(c.outlet, c.kind) for c in found] == [(expected, WIRE)], found


def test_untracked_wire_in_a_dateline_is_kept_as_written() -> None:
    (found,) = credits("BAKU, Azerbaijan (MPA) – The talks resumed on Monday.")
    assert (found.name, found.kind, found.outlet) == ("MPA", WIRE, None)


def test_dateline_deep_in_the_text_is_not_a_credit() -> None:
    text = "The talks resumed. " * 40 + "\n\nLONDON (AP) — More talks."
    assert credits(text) == ()


def test_parenthesis_that_is_not_a_news_name_is_not_a_wire_credit() -> None:
    assert credits("WASHINGTON (Updated) — The talks resumed on Monday.") == ()


URDU_AGENCY = outlet("APP", "https://www.app.com.pk", "اے پی پی", "Associated Press of Pakistan")
URDU_ALIASES = AliasTable.from_outlets([*OUTLETS, URDU_AGENCY])


def test_a_dateline_in_another_script_credits_the_tracked_outlet_it_names() -> None:
    text = "ڈھاکہ ۔ یکم دسمبر (اے پی پی) بنگلہ دیش نے زمبابوے کو ون ڈے سیریز میں بھی شکست دی۔"
    (found,) = extract_credits(outlet="jang", text=text, aliases=URDU_ALIASES)
    assert (found.name, found.kind, found.outlet) == ("اے پی پی", WIRE, "APP")
    # the agency's own copy credits nobody
    assert extract_credits(outlet="APP", text=text, aliases=URDU_ALIASES) == ()


def test_a_bracketed_name_in_another_script_that_no_outlet_has_is_not_a_credit() -> None:
    text = "لاہور (سپورٹس ڈیسک) بلائنڈ کرکٹ ورلڈکپ میں پاکستان نے بنگلادیش کو شکست دیدی۔"
    assert extract_credits(outlet="jang", text=text, aliases=URDU_ALIASES) == ()


def test_a_wire_service_crediting_itself_has_no_credit() -> None:
    assert (
        credits("LONDON (AP) — The prime minister resigned.", outlet_name="Associated Press") == ()
    )


def test_dedupe_keeps_the_reporting_credit_over_the_wire_credit() -> None:
    text = "WASHINGTON (AP) — The talks resumed, The AP reported on Monday."
    (found,) = credits(text)
    assert (found.outlet, found.kind) == ("Associated Press", REPORTING)


def test_dedupe_keeps_one_credit_per_source_in_first_mention_order() -> None:
    text = (
        "The deal is off, according to Reuters. CBS News reported it first. "
        "Reuters reported the talks. The Caspian Times reported it, as did the Caspian Times."
    )
    found = credits(text)
    assert credit_names(found) == ("Reuters", "CBS News", "The Caspian Times")
    assert all(c.kind is REPORTING for c in found)


# --- metadata credits --------------------------------------------------------------------


def test_rss_source_name_resolves_to_a_tracked_outlet() -> None:
    found = credits("", source_name="POLITICO", source_url="https://www.politico.com/rss")
    assert found == (Credit("POLITICO", SOURCE, "Politico"),)


def test_rss_source_url_alone_resolves_by_domain() -> None:
    found = credits("", source_url="https://rss.politico.com/politics.xml")
    assert found == (Credit("Politico", SOURCE, "Politico"),)


def test_rss_source_that_is_not_tracked_is_kept_by_name() -> None:
    found = credits("", source_name="Caspian Daily Herald", source_url="https://cdh.example/")
    assert found == (Credit("Caspian Daily Herald", SOURCE, None),)


def test_rss_source_naming_the_outlet_itself_is_not_a_credit() -> None:
    assert credits("", outlet_name="Politico", source_name="POLITICO") == ()


@pytest.mark.parametrize(
    "url",
    [
        "https://www.politico.com/news/2026/02/26/anthropic",
        "https://politico.com/news/x",
        "https://subscriber.politico.com/news/x",
    ],
)
def test_canonical_url_on_another_outlets_domain_is_a_canonical_credit(url: str) -> None:
    assert credits("", canonical_url=url) == (Credit("Politico", CANONICAL, "Politico"),)


@pytest.mark.parametrize(
    "url",
    [
        "https://notpolitico.com/news/x",
        "https://politico.com.example.net/news/x",
        "https://www.caspian-daily.example/news/x",
        "not a url",
    ],
)
def test_canonical_url_on_an_unknown_domain_is_no_credit(url: str) -> None:
    assert credits("", canonical_url=url) == ()


def test_canonical_url_on_the_outlets_own_domain_is_no_credit() -> None:
    url = "https://www.politico.com/news/x"
    assert credits("", outlet_name="Politico", canonical_url=url) == ()


def test_feed_domains_count_as_the_outlets_domains() -> None:
    assert ALIASES.resolve_url("https://feeds.bbci.co.uk/news/story") == "BBC"
    assert ALIASES.resolve_url("https://www.bbc.com/news/x") == "BBC"


def test_reporting_credit_outranks_a_source_credit_for_the_same_outlet() -> None:
    found = credits(
        "The deal is off, according to Politico.",
        source_name="Politico",
        canonical_url="https://www.politico.com/x",
    )
    assert [(c.outlet, c.kind) for c in found] == [("Politico", REPORTING)]


# --- AliasTable --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Politico", "Politico"),
        ("POLITICO", "Politico"),
        ("politico.com", "Politico"),
        ("the Politico", "Politico"),
        ("The Associated Press", "Associated Press"),
        ("the associated press", "Associated Press"),
        ("Associated  Press", "Associated Press"),
        ("AP", "Associated Press"),
        ("azernews", "AzerNEWS"),
        ("CBS", None),
        ("Politico Europe", None),
        ("", None),
    ],
)
def test_alias_table_resolves_names_case_insensitively(name: str, expected: str | None) -> None:
    assert ALIASES.resolve(name) == expected


def test_credit_names_use_display_names_for_tracked_outlets() -> None:
    found = credits("According to POLITICO, the talks failed, The New York Times reported.")
    assert credit_names(found) == ("Politico", "The New York Times")


# --- the seed case -----------------------------------------------------------------------


def test_seed_article_credits_politico_and_cbs_news_but_not_itself() -> None:
    seeds = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not seeds:
        pytest.skip(f"no seed document in {SEEDS}")
    text = seeds[0].read_text(encoding="utf-8")
    aliases = AliasTable.from_outlets(
        [
            outlet("AzerNEWS", "https://www.azernews.az", "AzerNews"),
            outlet("Politico", "https://www.politico.com"),
            outlet("CBS News", "https://www.cbsnews.com"),
        ]
    )
    found = extract_credits(outlet="AzerNEWS", text=text, aliases=aliases)
    by_outlet = {c.outlet: c.kind for c in found}
    assert by_outlet.get("Politico") is REPORTING
    assert by_outlet.get("CBS News") is REPORTING
    assert "AzerNEWS" not in by_outlet
    assert not any(aliases.resolve(c.name) == "AzerNEWS" for c in found)
    assert credit_names(found)[0] == "Politico"  # "via Politico" comes first


# --- wire copy furniture, photo credits, sign-offs (measured in eval/credits.py) --------


@pytest.mark.parametrize(
    "text",
    [
        "Protesters outside parliament. (Roni Rekomaa/Lehtikuva via AP)",
        "A view of the palace. Lehtikuva/Antti Aimo-Koivisto via REUTERS",
        "The prime minister arrives in Baku. (AP Photo/Evan Vucci, File)",
        "Photo: Jorge Silva, AP",
        "Kremlin Pool Photo via Associated Press/file",
        "The motorcade leaves. PA via AP Andrew Milligan",
        "Image copyright Getty Images",
    ],
)
def test_photo_credits_are_not_credits(text: str) -> None:
    assert credits(text) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Copyright 2018 The Associated Press. All rights reserved.", "Associated Press"),
        ("© 2018 Thomson/Reuters. All rights reserved.", "Reuters"),
        ("Trademark and Copyright 2018 Cable News Network, Inc., a Time Warner Company.", "CNN"),
        ("By MICHELLE KOSINSKI, CNN", "CNN"),
        ("By GEOFF MULVIHILL Associated Press", "Associated Press"),
        ("By ROBERT BURNS, AP National Security Writer", "Associated Press"),
        ("Jonathan Lemire and Vladimir Isachenkov, Associated Press", "Associated Press"),
        (
            "Associated Press writers Ken Thomas and Darlene Superville contributed.",
            "Associated Press",
        ),
        ("(CNN)Your child just told you she wants a phone.", "CNN"),
    ],
)
def test_bylines_copyright_lines_and_staff_sign_offs_are_wire_credits(
    text: str, expected: str
) -> None:
    cnn = outlet("CNN", "https://edition.cnn.com", "Cable News Network")
    aliases = AliasTable.from_outlets([*OUTLETS, cnn])
    found = extract_credits(outlet="Caspian Daily", text=text, aliases=aliases)
    assert [(c.outlet, c.kind) for c in found] == [(expected, WIRE)]


def test_an_organisation_contributing_to_the_report_is_a_reporting_credit() -> None:
    text = "Fox News' Gregg Re and The Associated Press contributed to this report."
    found = credits(text, outlet_name="Fox News")
    assert [(c.outlet, c.kind) for c in found] == [("Associated Press", REPORTING)]


def test_authored_via_is_a_source_credit_not_a_reporting_one() -> None:
    (found,) = credits("Authored by Lena Varga via Oilprice.com,")
    assert (found.name, found.kind, found.outlet) == ("Oilprice.com", SOURCE, None)


def test_first_published_by_in_running_text_is_reporting_and_about_the_article_a_source() -> None:
    (running,) = credits("The figures, first published by Interfax, showed a rise.")
    (article,) = credits("This story was originally published at politico.com.")
    assert (running.name, running.kind) == ("Interfax", REPORTING)
    assert (article.outlet, article.kind) == ("Politico", SOURCE)


def test_a_blog_post_or_a_statement_is_not_a_credit() -> None:
    text = (
        "Amodei wrote in a blog post published on Thursday. In a statement posted on its "
        "website, the company said it would not comply."
    )
    assert credits(text) == ()


def test_the_short_form_of_a_named_outlet_is_the_same_credit() -> None:
    text = "The New York Times reported the plan. The plan is off, the Times reported."
    assert credit_names(credits(text)) == ("The New York Times",)


def test_an_outlet_is_recognised_by_its_own_domain_and_short_name() -> None:
    aliases = AliasTable.from_outlets([outlet("foxnews.com", "https://www.foxnews.com"), *OUTLETS])
    own = extract_credits(
        outlet="foxnews.com", text="A senior aide told Fox News on Sunday.", aliases=aliases
    )
    assert own == ()
    times = outlet("The New York Times", "https://www.nytimes.com", "NYT")
    table = AliasTable.from_outlets([times])
    text = "The GRU is a strike force, the Times reported."
    assert extract_credits(outlet="The New York Times", text=text, aliases=table) == ()
