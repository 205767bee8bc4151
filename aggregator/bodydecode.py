"""Undoing a response's Content-Encoding with a cap on decoded bytes (gzip bombs end early).

The fetcher asks for gzip and deflate only and decodes the raw stream itself, step by
step, so the cap counts what the body *becomes*, not what crossed the wire.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from aggregator.errors import FetchError
from aggregator.types import ErrorKind

__all__ = ["ACCEPT_ENCODING", "DECODE_STEP", "BodyDecoder", "decoded_headers"]

#: Only what zlib decodes; brotli and zstd are not dependencies (PRODUCT.md §4).
ACCEPT_ENCODING = "gzip, deflate"
#: Most decoded bytes one zlib call may produce: a bomb overshoots the cap by at most this.
DECODE_STEP = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
GZIP_CODINGS = frozenset({"gzip", "x-gzip"})


def decoded_headers(head: Mapping[str, str]) -> dict[str, str]:
    """The headers that describe the decoded body: its wire encoding and length are gone."""
    if not _codings(head.get("content-encoding", "")):
        return dict(head)
    return {name: value for name, value in head.items() if name not in _WIRE_ONLY_HEADERS}


_WIRE_ONLY_HEADERS = frozenset({"content-encoding", "content-length"})


def _codings(header: str) -> list[str]:
    parts = (part.strip().lower() for part in header.split(","))
    return [part for part in parts if part and part != "identity"]


class BodyDecoder:
    """Undo a Content-Encoding step by step, refusing a body over ``limit`` decoded bytes.

    zlib produces at most DECODE_STEP bytes per call (``max_length``) and the running total
    is checked after every step, so a gzip bomb costs at most ``limit + DECODE_STEP`` bytes
    before it is refused. Raises FetchError: ``too_large`` over the cap; ``parse_error``
    for an encoding we did not ask for (br, zstd…) or a corrupt or truncated stream. Those
    are parse errors, not network errors: the bytes arrived intact but cannot be read, and
    retrying sooner would not change them.
    """

    def __init__(self, content_encoding: str, *, limit: int, url: str) -> None:
        codings = _codings(content_encoding)
        if len(codings) > 1 or (codings and codings[0] not in GZIP_CODINGS | {"deflate"}):
            raise FetchError(
                ErrorKind.PARSE_ERROR,
                f"{url}: cannot decode Content-Encoding {content_encoding!r}"
                f" (we accept {ACCEPT_ENCODING} only)",
            )
        self._coding = "gzip" if codings and codings[0] in GZIP_CODINGS else "".join(codings)
        self._limit = limit
        self._url = url
        self._body = bytearray()
        self._wire = 0
        self._held = b""  # the first byte of a gzip member header, until the next chunk
        self._raw_deflate = False  # set once a "deflate" body proves to lack the zlib header
        self._inflater = self._new_inflater() if self._coding else None

    def _new_inflater(self) -> zlib._Decompress:
        if self._coding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # RFC 9110 "deflate" is zlib-wrapped, but some servers send raw deflate data.
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk from the wire."""
        if self._inflater is None:
            self._keep(chunk)
            return
        # Compressed bytes count too: an endless run of empty deflate blocks inflates to
        # nothing, yet must not stream forever (the deadline bounds time, this bounds bytes).
        self._wire += len(chunk)
        if self._wire > self._limit:
            raise self._too_large("compressed bytes")
        data, self._held = self._held + chunk, b""
        self._inflate(data)

    def finish(self) -> bytes:
        """The whole decoded body; raises if a compressed stream stopped halfway."""
        if self._inflater is not None and self._wire:
            # Every input byte went through decompress(); at most the tail of one deflate
            # match (<= 258 bytes) can still be pending, so flush() stays small.
            self._keep(self._inflater.flush())
            if not self._inflater.eof:
                message = f"{self._url}: {self._coding} body ends early (truncated stream)"
                raise FetchError(ErrorKind.PARSE_ERROR, message)
        return bytes(self._body)

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        while data:
            if self._inflater.eof:
                if self._coding == "gzip" and GZIP_MAGIC.startswith(data):
                    self._held = data  # perhaps a member header split across chunks
                    return
                if self._coding != "gzip" or not data.startswith(GZIP_MAGIC):
                    return  # bytes after the end of the stream are padding: ignored
                self._inflater = self._new_inflater()  # the next member of a multi-member gzip
            try:
                piece = self._inflater.decompress(data, DECODE_STEP)
            except zlib.error as exc:
                if self._coding != "deflate" or self._raw_deflate or self._body:
                    message = f"{self._url}: corrupt {self._coding} body ({exc})"
                    raise FetchError(ErrorKind.PARSE_ERROR, message) from None
                self._raw_deflate = True
                self._inflater = self._new_inflater()
                continue
            self._keep(piece)
            inflater = self._inflater
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail

    def _keep(self, piece: bytes) -> None:
        self._body += piece
        if len(self._body) > self._limit:
            raise self._too_large("decoded bytes")

    def _too_large(self, unit: str) -> FetchError:
        return FetchError(ErrorKind.TOO_LARGE, f"{self._url}: body exceeds {self._limit} {unit}")
