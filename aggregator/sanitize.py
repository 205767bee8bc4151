"""HTML sanitizing (nh3) and URL safety for untrusted feed content.

Feed HTML ends up in our web page and our own feeds, so it is cleaned once, at ingest:
a news-article tag set, no scripts, styles, frames or event handlers, and only absolute
http(s) URLs in links and images (relative ones are resolved against the feed's base URL;
``javascript:``, ``data:``, ``vbscript:`` and every other scheme are dropped).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import nh3

from aggregator.textclean import strip_control

__all__ = ["absolute_http_url", "sanitize_html", "text_to_html"]

HTTP_SCHEMES = frozenset({"http", "https"})

# What a news article needs: text structure, emphasis, quotes, lists, tables, figures.
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
        "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip

# No "style" or "class" (layout is ours), no "on*" handlers, no "srcset" (unchecked URLs).
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"lang", "dir", "title"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "ol": {"start", "reversed", "type"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
}

# Dropped together with their content: code, styling and embedded documents or widgets.
DROP_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "applet", "frame", "frameset", "noscript",
     "template", "svg", "math", "textarea", "select", "button", "noembed", "noframes"}
)  # fmt: skip

# Attributes whose value is a URL: each is resolved and must come out as http(s).
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})

LINK_REL = "noopener noreferrer"

_PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")


def absolute_http_url(value: str | None, base: str | None = None) -> str | None:
    """``value`` made absolute against ``base``, or None unless it is an http(s) URL."""
    if not value:
        return None
    value = strip_control(value).strip()
    try:
        joined = urljoin(base, value) if base else value
        parts = urlsplit(joined)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 bracket)
        return None
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES or not parts.netloc:
        return None
    # "HTTP://x" is valid but would defeat every later startswith("http") check.
    return joined if joined.startswith(scheme) else scheme + joined[len(scheme) :]


def _url_filter(base: str | None) -> Callable[[str, str, str], str | None]:
    """An nh3 attribute filter that makes URLs absolute and drops every non-http(s) one."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in URL_ATTRIBUTES:
            return value
        return absolute_http_url(value, base)

    return keep


def sanitize_html(markup: str | None, base_url: str | None = None) -> str | None:
    """Sanitized HTML of ``markup`` (None or whitespace-only in, None out).

    Relative URLs are resolved against ``base_url``; links get ``rel="noopener noreferrer"``.
    """
    if markup is None:
        return None
    markup = strip_control(markup)
    if not markup.strip():
        return None
    cleaned: str = nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROP_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_url_filter(base_url),
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=HTTP_SCHEMES,
    )
    # Character references such as "&#1;" come out of the HTML parser as raw controls.
    cleaned = strip_control(cleaned).strip()
    return cleaned or None


def text_to_html(text: str | None) -> str | None:
    """Plain text as safe HTML: escaped, blank-line separated paragraphs as ``<p>``."""
    if text is None:
        return None
    text = strip_control(text).strip()
    if not text:
        return None
    paragraphs = (p.strip() for p in _PARAGRAPH_SPLIT_RE.split(text))
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)
