"""escalation and on-call: open chains and their steps, the copies they sent, each chat's
chain, the on-call rota

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _thread() -> sa.Column[int]:
    return sa.Column("thread_id", BigId, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("chat_id", BigId, nullable=False),
        _thread(),
        sa.Column("subject_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("steps", sa.Text()),
        sa.Column("rounds", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("step", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False, server_default="open"),
        sa.Column("opened_at", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.Text()),
        sa.Column("closed_by", BigId),
        sa.Column("closed_reason", sa.Text()),
        sa.Column("notice", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.Text()),
        sa.Column("claimed_until", sa.Text()),
        sa.UniqueConstraint("chat_id", "thread_id", "dedupe_key"),
        sa.CheckConstraint(
            "state IN ('open', 'acked', 'resolved', 'exhausted', 'off')",
            name="escalations_state",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("escalations_due", "escalations", ["state", "next_at"])
    op.create_index("escalations_subject", "escalations", ["subject_key", "state"])
    op.create_index("escalations_notice", "escalations", ["notice"])
    op.create_table(
        "escalation_copies",
        sa.Column("escalation_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("step", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("message_id", BigId),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("error", sa.Text()),
        sa.Column("sent_at", sa.Text(), nullable=False),
    )
    op.create_index("escalation_copies_message", "escalation_copies", ["chat_id", "message_id"])
    op.create_table(
        "escalation_chains",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("updated_by", BigId),
        sa.Column("updated_at", sa.Text(), nullable=False),
    )
    op.create_table(
        "oncall_shifts",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("chat_id", BigId, nullable=False),
        _thread(),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("days", sa.Text(), nullable=False),
        sa.Column("start", sa.Text(), nullable=False),
        sa.Column("end", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("added_by", BigId),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.CheckConstraint("mode IN ('shift', 'rotation')", name="oncall_shifts_mode"),
        sqlite_autoincrement=True,
    )
    op.create_index("oncall_shifts_chat", "oncall_shifts", ["chat_id", "thread_id"])


def downgrade() -> None:
    op.drop_table("oncall_shifts")
    op.drop_table("escalation_chains")
    op.drop_table("escalation_copies")
    op.drop_table("escalations")
