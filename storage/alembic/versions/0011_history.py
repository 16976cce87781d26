"""history of what happened per chat (alerts heard, actions taken) and the digests' sent-marks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # One row per event a chat (forum topic) saw or caused: the digests and /report read it by
    # chat and time range; HISTORY_DAYS keeps it (storage/retention.py).
    op.create_table(
        "history",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("chat_id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False, server_default="0"),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject_key", sa.Text(), nullable=False),
        sa.Column("subject_title", sa.Text(), nullable=False, server_default=""),
        sa.Column("minutes", sa.Integer()),
        sa.Column("amount_kopecks", BigId),  # money, in kopecks
        sa.Column("fields", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.UniqueConstraint("chat_id", "thread_id", "dedupe_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("history_chat_at", "history", ["chat_id", "thread_id", "at"])
    op.create_index("history_subject", "history", ["subject_key", "kind"])
    op.create_index("history_at", "history", ["at"])
    # A digest is claimed here (chat, topic, the chat's local day) before it is sent.
    op.create_table(
        "digest_marks",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("day", sa.Text(), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.Text()),
        sa.Column("late", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("message_id", BigId),
        sa.CheckConstraint(
            "state IN ('claimed', 'sent', 'skipped', 'failed')", name="digest_marks_state"
        ),
    )


def downgrade() -> None:
    op.drop_table("digest_marks")
    op.drop_index("history_at", "history")
    op.drop_index("history_subject", "history")
    op.drop_index("history_chat_at", "history")
    op.drop_table("history")
