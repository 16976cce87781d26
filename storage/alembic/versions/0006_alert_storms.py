"""alert storms: chats whose alerts go out summarized, and how many so far

(The hand-written SQLite migration 15; an old file at 15 is stamped here.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # One row per chat (forum topic) that got summarized alerts in the chat's current storm;
    # the rows go when the storm ends (its "storm ended, N alerts" line is sent).
    op.create_table(
        "alert_storms",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("since", sa.Text(), nullable=False),  # when the chat's storm began
        sa.Column("last_dense_at", sa.Text(), nullable=False),  # the last time it was dense
        sa.Column("summarized", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("alert_storms")
