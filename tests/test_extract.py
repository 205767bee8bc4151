"""The extract stage: article page → main text, and the summary-only rule. No network."""

from __future__ import annotations

import gzip
import json
import re
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import trafilatura
import trafilatura.downloads
import urllib3

from aggregator.devdata import missing_reason, shared_path
from aggregator.extract import (
    SUMMARY_MAX_WORDS,
    decode_page,
    extract_text,
    needs_full_text,
)
from aggregator.types import Article

URL = "https://news.example/world/2025/03/01/harbour-reopens"
PARAGRAPHS = (
    "The harbour reopened on Saturday after three weeks of repairs, the port authority said, "
    "and the first ferries left for the islands shortly after dawn.",
    "Engineers replaced the damaged section of the northern breakwater, which storms had "
    "breached in early February, and dredged the approach channel to its former depth.",
    "Fishermen who had moored their boats in neighbouring towns began returning on Friday "
    "evening, and the fish market will open again on Monday morning, officials said.",
    "The repairs cost about four million euros, most of it paid from the regional "
    "emergency fund, according to figures released by the council this week.",
)
BOILERPLATE = (
    "Subscribe to our newsletter",
    "Sign in",
    "Most read stories this week",
    "Copyright 2025 Example News",
    "What a great article",
)


def article_page(paragraphs: tuple[str, ...] = PARAGRAPHS, *, head: str = "") -> str:
    """A news page: navigation, the article, a sidebar, readers' comments and a footer."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head>{head}<title>Harbour reopens | Example News</title></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/subscribe">Subscribe to our newsletter</a></li><li><a href="/login">Sign in</a></li>
</ul></nav></header>
<main><article><h1>Harbour reopens after repairs</h1>{body}</article></main>
<aside class="sidebar"><h2>Most read stories this week</h2><ul>
<li><a href="/a">Council approves the new budget</a></li><li><a href="/b">Storm warning</a></li>
</ul></aside>
<section id="comments" class="comments"><h2>Comments</h2>
<div class="comment"><p>What a great article, thanks for the update on the harbour!</p></div>
</section>
<footer><p>Copyright 2025 Example News. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body></html>"""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every way trafilatura (or anything under it) could reach the network fails loudly."""
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise AssertionError(f"extraction tried the network: {name}")

        return refused

    for module in (trafilatura, trafilatura.downloads):
        for name in ("fetch_url", "fetch_response"):
            monkeypatch.setattr(module, name, refuse(f"trafilatura.{name}"))
    monkeypatch.setattr(urllib3.PoolManager, "urlopen", refuse("urllib3"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    yield attempts
    assert attempts == []


# --- extract_text ------------------------------------------------------------------------------


def test_the_article_paragraphs_come_out_and_the_boilerplate_stays_behind() -> None:
    text = extract_text(article_page().encode(), URL)
    assert text is not None
    paragraphs = text.split("\n\n")
    assert list(PARAGRAPHS) == [p for p in paragraphs if p in PARAGRAPHS]
    assert paragraphs[-1] == PARAGRAPHS[-1]
    for furniture in BOILERPLATE:
        assert furniture not in text


def test_paragraphs_are_clean_and_separated_by_a_blank_line() -> None:
    messy = ("First   paragraph\nwith a\tbroken line and enough words to count as text.",)
    text = extract_text(article_page(messy + PARAGRAPHS[1:]), URL)
    assert text is not None
    assert "First paragraph with a broken line and enough words to count as text." in text
    for paragraph in text.split("\n\n"):
        assert paragraph == " ".join(paragraph.split())
    assert "\n\n\n" not in text


def test_the_same_page_always_gives_the_same_text() -> None:
    page = article_page().encode()
    assert extract_text(page, URL) == extract_text(page, URL) == extract_text(page.decode(), URL)


@pytest.mark.parametrize(
    "page",
    [
        b"",
        "   \n\t ",
        b"\x00\x01\x02\xff\xfe garbage \x9c\x80",
        "just some words, no markup at all",
        "<html></html>",
        "<html><head><title>Only a title</title></head><body></body></html>",
        bytes(range(256)) * 20,
        "<" * 5000,
    ],
    ids=["empty", "blank", "binary", "plain", "empty-html", "title-only", "bytes", "lt"],
)  # fmt: skip
def test_pages_without_an_article_give_none(page: bytes | str) -> None:
    assert extract_text(page, URL) is None


def test_control_characters_never_come_out() -> None:
    dirty = (PARAGRAPHS[0].replace("harbour", "har\x00bour\x0b") + " &#1;&#xFFFE;",)
    text = extract_text(article_page(dirty + PARAGRAPHS[1:]), URL)
    assert text is not None
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text)


# --- charsets ----------------------------------------------------------------------------------

ACCENTED = (
    "Le café de la gare a rouvert samedi après des semaines de travaux, a déclaré la mairie, "
    "et les habitués sont revenus dès l’ouverture — « enfin », disait un serveur ému.",
    *PARAGRAPHS[1:],
)


@pytest.mark.parametrize(
    ("encoding", "content_type", "head"),
    [
        ("utf-8", None, ""),
        ("utf-8", "text/html; charset=UTF-8", ""),
        ("cp1252", "text/html; charset=windows-1252", ""),
        ("cp1252", "text/html; charset=ISO-8859-1", ""),  # read as windows-1252, as browsers do
        ("cp1252", None, '<meta charset="windows-1252">'),
        (
            "cp1252",
            "text/html",
            '<meta http-equiv="Content-Type" content="text/html; charset=cp1252">',
        ),
        ("cp1252", None, ""),  # no declaration, not UTF-8: windows-1252
        ("iso-8859-15", "text/html; charset=iso-8859-15", ""),
        ("utf-8", "text/html; charset=utf-8", '<meta charset="iso-8859-1">'),  # header wins
    ],
)
def test_bytes_are_decoded_with_the_page_charset(
    encoding: str, content_type: str | None, head: str
) -> None:
    paragraphs = (
        ACCENTED
        if encoding != "iso-8859-15"
        else (ACCENTED[0].replace("’", "'").replace("—", "-"), *ACCENTED[1:])
    )
    page = article_page(paragraphs, head=head).encode(encoding)
    text = extract_text(page, URL, content_type=content_type)
    assert text is not None
    assert paragraphs[0] in text


def test_byte_order_marks_decide_the_encoding() -> None:
    page = article_page(ACCENTED)
    assert decode_page(b"\xef\xbb\xbf" + page.encode("utf-8"), "text/html; charset=cp1252") == page
    assert decode_page(page.encode("utf-16")) == page  # encode("utf-16") writes a BOM


def test_undecodable_bytes_are_replaced_never_raised() -> None:
    broken = b"<p>caf\xc3</p>"
    assert decode_page(broken, "text/html; charset=utf-8") == "<p>caf\ufffd</p>"
    assert decode_page(broken, "text/html; charset=no-such-charset") == "<p>caf\u00c3</p>"
    for not_text in ("base64", "rot13", "zlib", "hex"):  # codecs, but not text encodings
        assert decode_page(broken, f"text/html; charset={not_text}") == "<p>caf\u00c3</p>"


# --- needs_full_text ---------------------------------------------------------------------------

BASE = Article(
    outlet="Example News",
    feed_url="https://news.example/feed.xml",
    identity_key=f"url:{URL}",
    guid=None,
    url=URL,
    canonical_url=URL,
    title="Harbour reopens",
    text="",
    summary="",
    content_html=None,
    author=None,
    published_at=None,
    first_seen_at=datetime(2025, 3, 1, tzinfo=UTC),
)
FULL_BODY = "\n\n".join(PARAGRAPHS * 3)  # 5 paragraphs' worth of words, more than the limit


def with_text(text: str, **changes: Any) -> Article:
    return replace(BASE, text=text, summary=text, **changes)


def test_a_long_body_is_the_full_text() -> None:
    assert len(FULL_BODY.split()) >= SUMMARY_MAX_WORDS
    assert not needs_full_text(with_text(FULL_BODY))


@pytest.mark.parametrize(
    "text",
    [
        "",
        PARAGRAPHS[0],
        " ".join(["word"] * (SUMMARY_MAX_WORDS - 1)),
        FULL_BODY + " and then the text stops…",
        FULL_BODY + " and then the text stops...",
        FULL_BODY + " […]",
        FULL_BODY + "\n\nRead more",
        FULL_BODY + "\n\nContinue reading →",
        FULL_BODY + "\n\nSeguir leyendo\n\nDesign: Ana",
        FULL_BODY + "\n\nThe post Harbour reopens appeared first on Example News.",
    ],
    ids=["empty", "one-paragraph", "just-short", "ellipsis", "dots", "bracket", "read-more",
         "continue", "seguir-leyendo", "appeared-first"],
)  # fmt: skip
def test_short_or_cut_off_bodies_are_summaries(text: str) -> None:
    assert needs_full_text(with_text(text))


@pytest.mark.parametrize(
    "paragraph",
    [
        "Residents can read more about the works on the council's website.",
        "Read More: Why the harbour closed for three weeks",  # TIME links inside its articles
    ],
)
def test_a_paragraph_that_only_mentions_reading_more_is_not_a_marker(paragraph: str) -> None:
    paragraphs = [*PARAGRAPHS, paragraph, *PARAGRAPHS]
    assert not needs_full_text(with_text("\n\n".join(paragraphs)))


@pytest.mark.parametrize("url", [None, "ftp://news.example/a", "mailto:desk@news.example"])
def test_without_an_http_page_there_is_nothing_to_fetch(url: str | None) -> None:
    assert not needs_full_text(with_text("Short summary.", url=url))


# --- real pages (../shared/eval/html) ----------------------------------------------------------

NEWSPAPER4K = shared_path("eval", "html", "newspaper4k")
TOKEN_RE = re.compile(r"\w+")


def _bag_f1(gold: str, predicted: str) -> float:
    gold_bag, predicted_bag = Counter(TOKEN_RE.findall(gold)), Counter(TOKEN_RE.findall(predicted))
    shared = sum((gold_bag & predicted_bag).values())
    if not shared:
        return 0.0
    precision = shared / sum(predicted_bag.values())
    recall = shared / sum(gold_bag.values())
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("name", ["cnn_001", "time_001", "wired_001", "fox13now_001"])
def test_real_news_pages_give_their_article_text(name: str) -> None:
    page_file = NEWSPAPER4K / "html" / f"{name}.html.gz"
    if not page_file.is_file():
        pytest.skip(missing_reason(f"{page_file}"))
    gold = (NEWSPAPER4K / "txt" / f"{name}.txt").read_text(encoding="utf-8")
    meta = json.loads((NEWSPAPER4K / "metadata" / f"{name}.json").read_text(encoding="utf-8"))
    text = extract_text(gzip.decompress(page_file.read_bytes()), meta["url"])
    assert text is not None
    assert _bag_f1(gold, text) > 0.9
