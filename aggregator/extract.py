"""Extract stage: an article page's HTML → its main text, for feeds that carry only summaries.

    needs_full_text(article)                        is the feed item only a summary?
    extract_text(page, url, content_type=…)         → the article's text, or None

The stage is pure. It never fetches anything: the pipeline fetches the page through the
guarded :class:`~aggregator.fetch.Fetcher` and hands the bytes in; trafilatura only reads
them (its own download helpers are never called). The extracted text has the same shape
as every other article text: clean paragraphs separated by a blank line.
"""

from __future__ import annotations

import codecs
import re
import sys

import trafilatura

from aggregator.textclean import PARAGRAPH_SEPARATOR, clean_line, strip_bom, strip_control
from aggregator.types import Article

__all__ = [
    "SUMMARY_MAX_WORDS",
    "decode_page",
    "extract_text",
    "is_cut_off",
    "needs_full_text",
]

# --- when is a feed item only a summary? -----------------------------------------------------

#: A feed body shorter than this many words is taken for a summary. Measured on the 26 news-
#: outlet feeds in ../shared/eval/feeds/fastfeedparser/benchmark_data (1,054 items; the
#: "Summary-only rule" tables in docs/QUALITY.md, ``python -m eval``): the items of the 21
#: summary-only feeds have a median of 18 words and a 95th percentile of 80; the 5 full-text
#: feeds (TIME ×2, The Week, Dawn, 404 Media) a median of 784. 100 is the smallest round
#: limit that, with the cut-off markers, leaves no summary item unfetched (80 leaves 2); it
#: fetches 9 of the 295 full-text items: 5 are excerpts after all (404 Media's teasers of
#: paywalled posts, The Week's "Read more"), 4 puzzles and link-only items.
SUMMARY_MAX_WORDS = 100

# A paragraph that only says "there is more on the page" (English and the languages of the
# outlets we ship; El País English ends its excerpts with the Spanish one).
_READ_MORE_RE = re.compile(
    r"\W*(?:(?:read|see|view) (?:the )?(?:more|full (?:story|article|post))|continue reading|"
    r"keep reading|seguir leyendo|leer más|lire la suite|weiterlesen|leia mais|"
    r"continua a leggere|devamını oku)\W*",
    re.IGNORECASE,
)  # the whole paragraph: TIME's "Read More: <headline>" links sit inside full articles
# WordPress's excerpt footer: "The post <title> appeared first on <site>."
_APPEARED_FIRST_RE = re.compile(r"^the post .+ appeared first on .+$", re.IGNORECASE | re.DOTALL)
# A text cut off by the publisher: "…", "...", "[…]", "[...]", "(more…)".
_CUT_OFF_RE = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|\(more…\))\W*$")


def needs_full_text(article: Article) -> bool:
    """True when ``article`` has a page to fetch and its feed gave only a summary of it:
    fewer than SUMMARY_MAX_WORDS words, or a text the publisher marked as cut off."""
    if not article.url or not article.url.startswith(("http://", "https://")):
        return False
    text = article.text
    return len(text.split()) < SUMMARY_MAX_WORDS or is_cut_off(text)


def is_cut_off(text: str) -> bool:
    """True when a feed text says there is more on the page: a trailing ellipsis, a
    "Read more" / "Continue reading" paragraph, or WordPress's "The post … appeared first
    on …" footer."""
    paragraphs = [p.strip() for p in text.split(PARAGRAPH_SEPARATOR) if p.strip()]
    if not paragraphs:
        return False
    return (
        any(_READ_MORE_RE.fullmatch(p) for p in paragraphs)
        or _APPEARED_FIRST_RE.match(paragraphs[-1]) is not None
        or _CUT_OFF_RE.search(paragraphs[-1]) is not None
    )


# --- decoding ------------------------------------------------------------------------------

# Where a page may declare its charset: the first bytes, as browsers prescan (WHATWG: 1024;
# real pages put a long <head> of scripts first, so we look further).
_PRESCAN_BYTES = 16 * 1024
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
# Labels browsers read as windows-1252 (WHATWG Encoding): its superset, never Latin-1 itself.
_WINDOWS_1252_ALIASES = frozenset({"latin_1", "ascii", "iso8859_1"})
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _codec(label: str | None) -> str | None:
    """Python's name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if name.replace("-", "_") in _WINDOWS_1252_ALIASES else name


def decode_page(body: bytes, content_type: str | None = None) -> str:
    """An HTML page's bytes as text: BOM, else the HTTP charset, else ``<meta charset>``,
    else UTF-8, else windows-1252. Undecodable bytes become U+FFFD; never raises."""
    if body.startswith(b"\xef\xbb\xbf"):
        return strip_bom(body).decode("utf-8", errors="replace")
    if body.startswith(_UTF16_BOMS):
        return body.decode("utf-16", errors="replace")
    header = _HEADER_CHARSET_RE.search(content_type or "")
    meta = _META_CHARSET_RE.search(body[:_PRESCAN_BYTES])
    declared = _codec(header.group(1) if header else None) or _codec(
        meta.group(1).decode("ascii") if meta else None
    )
    # A page cannot be UTF-16 without a BOM and still hold an ASCII <meta> tag that we read.
    if declared and not declared.startswith(("utf_16", "utf_32")):
        try:
            return body.decode(declared, errors="replace")
        except LookupError:  # a codec that is no text encoding: "base64", "rot13", "zlib"
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


# --- extraction ----------------------------------------------------------------------------


# A numeric character reference: "&#1;", "&#x1F;", "&#65534" (the semicolon is optional).
_CONTROL_REFERENCE_RE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def _drop_control_reference(match: re.Match[str]) -> str:
    """A reference to a character ``strip_control`` would remove becomes nothing."""
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if code > sys.maxunicode:
        return ""
    return match.group() if strip_control(chr(code)) else ""


def extract_text(html: bytes | str, url: str, *, content_type: str | None = None) -> str | None:
    """The main text of an article page, or None when none is found.

    ``html`` is the page as fetched (bytes are decoded by :func:`decode_page` with the
    response's ``content_type``); ``url`` is where it came from (only read, never fetched).
    Navigation, footers and readers' comments are left out (tables stay, one row a line);
    paragraphs are separated by a blank line, each one clean (no control characters,
    whitespace collapsed). The same input always gives the same text.
    """
    page = decode_page(html, content_type) if isinstance(html, bytes) else html
    # lxml stops reading at a NUL, and a control character in the tree (raw, or from a
    # reference such as "&#1;") makes trafilatura discard the whole page.
    page = _CONTROL_REFERENCE_RE.sub(_drop_control_reference, strip_control(page))
    if "<" not in page:  # empty, or not markup at all
        return None
    raw = trafilatura.extract(
        page,
        url=url,
        output_format="txt",
        # Chosen by measurement on the 181 + 23 gold pages in ../shared/eval/html
        # (eval/extraction.py; the table in docs/QUALITY.md). Favouring precision keeps
        # out boilerplate (bag-of-words precision 0.95 → 0.96 and 0.88 → 0.95 on the two
        # sets) at no loss of F1; with it, tables raise recall (0.963 → 0.975) and bring
        # back the one page that precision alone empties. Boilerplate left in a text turns
        # into shingles that make unrelated stories of one outlet look alike.
        favor_precision=True,
        include_tables=True,
        include_comments=False,  # readers' comments are not the article
        include_images=False,
        include_links=False,
        with_metadata=False,
        deduplicate=False,  # its cache would make one page's text depend on earlier pages
    )
    if not raw:
        return None
    # trafilatura's text output puts one block (paragraph, heading, list item) per line.
    paragraphs = [line for line in (clean_line(part) for part in raw.split("\n")) if line]
    return PARAGRAPH_SEPARATOR.join(paragraphs) or None
