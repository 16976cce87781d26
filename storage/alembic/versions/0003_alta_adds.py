"""Alta add attempts: recorded before they are sent, found again by the marker in comment

(The hand-written SQLite migration 12; an old file at 12 is stamped here.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alta_adds",
        sa.Column("token", sa.Text(), primary_key=True),  # our marker, sent in add's comment
        sa.Column("chat_id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False, server_default="0"),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),  # JSON: numbers and settings sent
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("hashes", sa.Text(), nullable=False, server_default="{}"),  # JSON
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('sending', 'added', 'refused', 'unknown', 'declined', 'absent')",
            name="alta_adds_state",
        ),
    )
    op.create_index("alta_adds_state", "alta_adds", ["state", "created_at"])


def downgrade() -> None:
    op.drop_table("alta_adds")
