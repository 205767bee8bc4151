"""Where each ``[[outlets]]`` entry's ``feeds = [...]`` list sits in the outlets file's text.

outletsfile.py inserts new feeds into an existing entry's list as text, so it needs the
exact span of that list; this module finds it for every ``[[outlets]]`` entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FeedsArray", "FeedsScanner"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(slots=True)
class FeedsArray:
    """Where a ``feeds = [...]`` value sits in the text."""

    line_start: int  # start of the line holding the key
    open: int  # index of "["
    close: int  # index of "]"
    last_end: int | None = None  # just after the last item
    comma_after_last: bool = False
    comments: bool = False


class FeedsScanner:
    """A lexical walk over a TOML document that tomllib has already accepted.

    It finds the ``[[outlets]]`` headers and, in each of those tables, the ``feeds`` array:
    strings (all four kinds), comments, nested arrays and inline tables are skipped
    correctly, so a "[[outlets]]" inside a string or comment never counts.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.feeds: list[FeedsArray | None] = []  # one per [[outlets]] entry, in order

    def run(self) -> list[FeedsArray | None]:
        text = self.text
        in_outlets = False
        while self.pos < len(text):
            line_start = self.pos
            self._skip_blank()
            if self.pos >= len(text):
                break
            character = text[self.pos]
            if character in "\r\n":
                self.pos += 1
            elif character == "#":
                self._skip_comment()
            elif character == "[":
                header = self._header()
                in_outlets = header == "[[outlets]]"
                if in_outlets:
                    self.feeds.append(None)
            else:
                key = self._key()
                self.pos += 1  # "="
                self._skip_blank()
                if in_outlets and key == "feeds" and text[self.pos] == "[":
                    array = FeedsArray(line_start, self.pos, -1)
                    self._array(array)
                    self.feeds[-1] = array
                else:
                    self._value()
        return self.feeds

    # Lexical pieces ------------------------------------------------------------------------

    def _skip_blank(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def _skip_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def _header(self) -> str:
        """A table header, without spaces or quotes: ``[[outlets]]``."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in "\r\n#":
            if self.text[self.pos] in "\"'":
                self._string()
            else:
                self.pos += 1
        return re.sub(r"\s+|[\"']", "", self.text[start : self.pos])

    def _key(self) -> str:
        start = self.pos
        while self.text[self.pos] != "=":
            if self.text[self.pos] in "\"'":
                self._string()
            else:
                self.pos += 1
        key = self.text[start : self.pos].strip()
        return key.strip("\"'") if not _BARE_KEY.fullmatch(key) else key

    def _string(self) -> None:
        text, quote = self.text, self.text[self.pos]
        if text.startswith(quote * 3, self.pos):
            end = text.find(quote * 3, self.pos + 3)
            while quote == '"' and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
            self.pos = end + 3
            while self.pos < len(text) and text[self.pos] == quote:  # up to 2 more quotes
                self.pos += 1
            return
        self.pos += 1
        while text[self.pos] != quote:
            self.pos += 2 if quote == '"' and text[self.pos] == "\\" else 1
        self.pos += 1

    def _value(self) -> None:
        character = self.text[self.pos]
        if character in "\"'":
            self._string()
        elif character == "[":
            self._array(None)
        elif character == "{":
            self._inline_table()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in " \t\r\n,]}#":
                self.pos += 1

    def _skip_space_and_comments(self, array: FeedsArray | None) -> None:
        while self.pos < len(self.text):
            character = self.text[self.pos]
            if character in " \t\r\n":
                self.pos += 1
            elif character == "#":
                if array is not None:
                    array.comments = True
                self._skip_comment()
            else:
                return

    def _array(self, array: FeedsArray | None) -> None:
        self.pos += 1  # "["
        while True:
            self._skip_space_and_comments(array)
            if self.text[self.pos] == "]":
                break
            self._value()
            if array is not None:
                array.last_end, array.comma_after_last = self.pos, False
            self._skip_space_and_comments(array)
            if self.text[self.pos] == ",":
                self.pos += 1
                if array is not None:
                    array.comma_after_last = True
        if array is not None:
            array.close = self.pos
        self.pos += 1  # "]"

    def _inline_table(self) -> None:
        self.pos += 1  # "{"
        while True:
            self._skip_blank()
            if self.text[self.pos] == "}":
                break
            if self.text[self.pos] == ",":
                self.pos += 1
                continue
            self._key()
            self.pos += 1  # "="
            self._skip_blank()
            self._value()
        self.pos += 1


def _escaped(text: str, index: int) -> bool:
    """Whether the character at ``index`` is escaped by an odd run of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
