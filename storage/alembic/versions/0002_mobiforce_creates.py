"""Mobiforce tasks the bot creates (its number is the bot's marker), /tasks searches

(The hand-written SQLite migration 11; an old file at 11 is stamped here.)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mobiforce_creates",
        sa.Column("marker", sa.Text(), primary_key=True),  # the task's number, the bot's choice
        sa.Column("task_id", BigId),  # Mobiforce's id, once known
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("chat_id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False, server_default="0"),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),  # JSON: what was confirmed
        sa.Column("feed_usn", BigId),  # the task feed's usn before sending
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('sending', 'unknown', 'created', 'dropped')", name="mobiforce_creates_state"
        ),
    )
    op.create_index("mobiforce_creates_task", "mobiforce_creates", ["task_id"])
    op.create_table(
        "mobiforce_searches",
        sa.Column("key", sa.Text(), primary_key=True),  # a short hash, in /tasks page buttons
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mobiforce_searches")
    op.drop_table("mobiforce_creates")
