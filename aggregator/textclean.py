"""Plain-text helpers shared by the parse and normalize stages.

Feed text is untrusted and often broken. Everything here is total: any ``str`` in, a clean
``str`` out, never an exception. "Clean" means no NUL, no other C0 control character
except tab, newline and carriage return, no lone surrogate and no U+FFFE/U+FFFF: PostgreSQL
rejects NUL, and XML 1.0 (our RSS/Atom outputs) rejects all of them.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = [
    "clean_line",
    "collapse_whitespace",
    "html_to_text",
    "plain_line",
    "strip_bom",
    "strip_control",
    "unescape_line",
]

# C0 controls except \t \n \r; every surrogate (in a decoded ``str`` a surrogate is always
# lone: valid pairs were combined when the bytes were decoded); the XML-invalid
# non-characters U+FFFE and U+FFFF.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Elements whose start or end separates paragraphs of the readable text.
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip

# Table cells sit side by side: a space keeps "a</td><td>b" from becoming "ab".
_CELL_TAGS = frozenset({"td", "th"})

# Elements whose content is never readable article text (code, styling, fallbacks, widgets).
SKIP_CONTENT_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "select",
     "textarea", "canvas", "audio", "video"}
)  # fmt: skip

# "<" followed by what can start a tag, a comment or a declaration.
_TAG_LIKE_RE = re.compile(r"<[A-Za-z/!?]")

# Fallback for the rare input that trips the stdlib parser (malformed "<![" sections).
_TAG_RE = re.compile(r"<[^>]*>?")
_SKIP_BLOCK_RE = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)

PARAGRAPH_SEPARATOR = "\n\n"

# Byte order marks of UTF-8, UTF-16 LE and UTF-16 BE (UTF-32 LE begins like UTF-16 LE).
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def strip_bom(body: bytes) -> bytes:
    """``body`` without a leading byte order mark."""
    for bom in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :]
    return body


def strip_control(text: str) -> str:
    """Remove NUL, C0 controls (but tab/newline/CR), lone surrogates and U+FFFE/U+FFFF."""
    if _CONTROL_RE.search(text) is None:  # the common case costs one scan, no copy
        return text
    return _CONTROL_RE.sub("", text)


def collapse_whitespace(text: str) -> str:
    """Collapse every run of whitespace (newlines too) to one space and strip both ends."""
    return " ".join(text.split())


def clean_line(text: str | None) -> str:
    """A one-line plain-text field: control characters removed, whitespace collapsed."""
    if not text:
        return ""
    return collapse_whitespace(strip_control(text))


def unescape_line(text: str | None) -> str:
    """Like :func:`clean_line`, also decoding entities a feed escaped once too often."""
    if not text:
        return ""
    return clean_line(html.unescape(text) if "&" in text else text)


class _TextExtractor(HTMLParser):
    """Collects readable text, starting a new paragraph at every block boundary."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._current: list[str] = []
        self._skip_depth = 0

    def _break(self) -> None:
        if self._current:
            paragraph = collapse_whitespace("".join(self._current))
            if paragraph:
                self.paragraphs.append(paragraph)
            self._current = []

    def _boundary(self, tag: str) -> None:
        if self._skip_depth:
            return
        if tag in BLOCK_TAGS:
            self._break()
        elif tag in _CELL_TAGS:
            self._current.append(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_CONTENT_TAGS:
            self._skip_depth += 1
        else:
            self._boundary(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<br/>" or "<script/>": a boundary perhaps, but never content to skip.
        if tag not in SKIP_CONTENT_TAGS:
            self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_CONTENT_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        else:
            self._boundary(tag)

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._current.append(data)

    def unknown_decl(self, data: str) -> None:
        # "<![CDATA[text]]>" inside HTML content: the text is meant to be read.
        if data.startswith("CDATA[") and not self._skip_depth:
            self._current.append(data[len("CDATA[") :])

    def finish(self) -> list[str]:
        self.close()
        self._break()
        return self.paragraphs


def _regex_paragraphs(markup: str) -> list[str]:
    """Crude tag stripping, used only when the HTML parser gives up."""
    text = _TAG_RE.sub(" ", _SKIP_BLOCK_RE.sub(" ", markup))
    paragraph = collapse_whitespace(html.unescape(text))
    return [paragraph] if paragraph else []


def html_to_text(html_text: str) -> str:
    """Readable plain text of an HTML fragment: paragraphs separated by a blank line.

    Block elements (p, div, br, li, h1–h6, blockquote, tr, figcaption …) end paragraphs;
    whitespace inside a paragraph collapses to single spaces; entities are decoded; the
    content of script, style, noscript, template and similar elements is dropped. Never
    raises, and the result never contains control characters.
    """
    markup = strip_control(html_text)
    if "<" not in markup:
        # Plain text (most titles and many summaries): no parser needed.
        if "&" in markup:
            markup = strip_control(html.unescape(markup))
        return collapse_whitespace(markup)
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        paragraphs = extractor.finish()
    except AssertionError:
        # html.parser asserts on some malformed "<![ ... ]>" marked sections.
        paragraphs = _regex_paragraphs(markup)
    # Character references such as "&#1;" decode to control characters: strip again.
    return strip_control(PARAGRAPH_SEPARATOR.join(paragraphs))


def plain_line(text: str | None) -> str:
    """A one-line plain-text field (title, author, tag) from text that may hold markup.

    Feeds often put HTML in fields that should be plain, or escape them once too often,
    and feedparser can only guess which (a hostile "<script>" even makes it say "plain").
    Anything that looks like a tag is therefore read as HTML, at the price of losing a
    literal "<b>" in a headline about HTML; otherwise only entities are decoded.
    """
    if not text:
        return ""
    if _TAG_LIKE_RE.search(text):
        return clean_line(html_to_text(text))
    return unescape_line(text)
