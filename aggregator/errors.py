"""One error hierarchy for the whole product.

    AggregatorError                 anything the product reports to a user
     ├── ConfigError                a settings or outlets file (or variable) is wrong
     ├── FetchError                 a fetch failed; ``kind`` is one of ErrorKind
     │    └── BlockedDestination    the SSRF guard refused an address
     ├── ParseError                 a feed body could not be read as a feed
     ├── StoreError                 the database refused, or its schema is out of date
     │    └── SchemaOutOfDate       ``aggregator db upgrade`` fixes it
     └── NotFound                   a cluster, article or outlet the user named does not exist

The CLI prints ``str(error)`` of any AggregatorError to stderr and exits non-zero; only
programming errors ever show a traceback.
"""

from __future__ import annotations

from aggregator.types import ErrorKind


class AggregatorError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = 1


class ConfigError(AggregatorError):
    """A configuration file or environment variable is invalid.

    The message names the file (or variable), the line when known, and the problem.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line
        self.problem = message


class FetchError(AggregatorError):
    """A fetch failed in a way the feed's state records (``kind`` goes to ``error_kind``)."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class BlockedDestination(FetchError):
    """The destination is not a public http(s) address and private networks are not allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.BLOCKED_DESTINATION, message)


class ParseError(AggregatorError):
    """A body could not be read as RSS, Atom or JSON Feed."""

    def __init__(self, message: str, *, kind: ErrorKind = ErrorKind.PARSE_ERROR) -> None:
        super().__init__(message)
        self.kind = kind


class StoreError(AggregatorError):
    """The database could not do what was asked."""


class SchemaOutOfDate(StoreError):
    """The database schema is older (or newer) than this program's."""

    exit_code = 3


class NotFound(AggregatorError):
    """Something the user named (a cluster id, an article id, an outlet) does not exist."""

    exit_code = 4
