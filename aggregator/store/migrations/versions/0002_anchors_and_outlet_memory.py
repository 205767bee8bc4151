"""articles.anchors (sampled anchor shingles); outlet_memory (learned boilerplate)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchors", sa.LargeBinary(), nullable=True))
    op.create_table(
        "outlet_memory",
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"],
            ["outlets.id"],
            name=op.f("fk_outlet_memory_outlet_id_outlets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outlet_id", name=op.f("pk_outlet_memory")),
    )


def downgrade() -> None:
    op.drop_table("outlet_memory")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("anchors")
