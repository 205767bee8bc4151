"""articles.content_hash (title and text as the feed carried them), indexed per outlet

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

A feed that gives an item a new guid on every fetch is recognised by the item's canonical
link and content hash (identity.match_by_content). Existing rows get the hash of their
stored title and text; for an article whose text came from its page (full text) that is not
the feed's text, so such an item, if its feed rotates guids, is stored once more after the
upgrade and recognised from then on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aggregator.normalize import content_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Rows hashed per round trip while filling the new column.
BACKFILL_CHUNK = 1000


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_articles_outlet_content", ["outlet_id", "content_hash"], unique=False
        )
    _backfill()


def _backfill() -> None:
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.Text()),
        sa.column("text", sa.Text()),
        sa.column("content_hash", sa.String(64)),
    )
    conn = op.get_bind()
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(articles.c.id, articles.c.title, articles.c.text)
            .where(articles.c.id > last_id)
            .order_by(articles.c.id)
            .limit(BACKFILL_CHUNK)
        ).all()
        if not rows:
            return
        conn.execute(
            articles.update()
            .where(articles.c.id == sa.bindparam("row_id"))
            .values(content_hash=sa.bindparam("hash")),
            [{"row_id": r.id, "hash": content_hash(r.title or "", r.text or "")} for r in rows],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_outlet_content")
        batch_op.drop_column("content_hash")
