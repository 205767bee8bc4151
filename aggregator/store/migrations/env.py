"""alembic environment: migrations run on the connection the Store hands over."""

from __future__ import annotations

from alembic import context

from aggregator.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the Store always passes a connection
    raise RuntimeError("run migrations through `aggregator db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
