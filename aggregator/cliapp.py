"""What every ``aggregator`` command shares: the lazily built settings, outlets and store,
JSON output, and the rule that a user error ends in one line and an exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from aggregator.config import load_outlets, load_settings
from aggregator.errors import AggregatorError, StoreError
from aggregator.outputs.params import parse_since
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.types import OutletConfig

__all__ = [
    "Context",
    "json_out",
    "one_line",
    "output_file",
    "pass_app",
    "since_option",
    "user_errors",
    "write_bytes",
]


class Context:
    """Settings, outlets and the store, built on first use from the global options."""

    def __init__(self, config: Path | None, database_url: str | None) -> None:
        self.config_path = config
        self.database_url = database_url
        self.out = Console(highlight=False, soft_wrap=False)

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        if self.database_url:
            settings = replace(settings, database=replace(settings.database, url=self.database_url))
        return settings

    @cached_property
    def outlets(self) -> tuple[OutletConfig, ...]:
        return load_outlets(self.settings.outlets_file)

    def store(self, *, check_schema: bool = True) -> Store:
        """The store, closed (its connections too) when the command ends."""
        store = Store.open(self.settings.database.url, check_schema=check_schema)
        click.get_current_context().call_on_close(store.close)
        return store


def json_out(value: object) -> None:
    """Machine output: JSON on stdout."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def since_option(text: str) -> datetime | None:
    """The ``--since`` value as a cut-off (None for "all"), or a usage error naming it."""
    try:
        return parse_since(text, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def one_line(message: object) -> str:
    """A message on one line (drivers such as psycopg add indented hint lines)."""
    return " ".join(str(message).split())


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the product's errors into a one-line message and an exit code."""
    try:
        yield
    except AggregatorError as exc:
        click.echo(f"aggregator: error: {one_line(exc)}", err=True)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:
        reason = one_line(getattr(exc, "orig", None) or exc)
        click.echo(f"aggregator: database error: {reason}", err=True)
        sys.exit(StoreError.exit_code)


pass_app = click.make_pass_decorator(Context)


@contextmanager
def output_file(path: Path | None) -> Iterator[IO[str]]:
    """A text file to write to, or standard output without a path."""
    if path is None:
        yield sys.stdout
        return
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            yield handle
    except OSError as exc:
        raise AggregatorError(f"cannot write {path}: {exc.strerror}") from None


def write_bytes(body: bytes, output: Path | None) -> None:
    """Write ``body`` to ``output``, or to standard output without one."""
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        raise AggregatorError(f"cannot write {output}: {exc.strerror}") from None
