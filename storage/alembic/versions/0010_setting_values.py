"""setting values: what admins and chats set from the chat, over the environment's defaults

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # One row per setting and place: chat_id 0 for a GLOBAL setting, else the chat and its
    # forum topic (thread 0: the whole chat). The value is JSON, in the setting's kind's form.
    op.create_table(
        "setting_values",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("set_by", BigId),
        sa.Column("set_at", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("setting_values")
