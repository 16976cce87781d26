"""item owners: the chat (topic) and person that created each taxi order, task and wagon

(The hand-written SQLite migration 16; an old file at 16 is stamped here.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Read by ranges ('task:' <= key < 'task;'): byte order on PostgreSQL too, whatever the locale.
Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    # Keyed by the item's alert subject as subscriptions compare it (filter_key): one key for
    # the owner, the chats watching it (subscriptions) and its alerts.
    op.create_table(
        "item_owners",
        sa.Column("subject_key", Key, primary_key=True),  # order:123, task:tg-…, wagon:5467…
        sa.Column("chat_id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False, server_default="0"),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
    )
    op.create_index("item_owners_chat", "item_owners", ["chat_id"])
    # What the bot created before this table: its taxi orders and its tasks (wagons put on
    # tracking before it stay watched by their chats, and unowned: visible as before).
    op.execute(
        "INSERT INTO item_owners (subject_key, chat_id, thread_id, user_id, created_at) "
        "SELECT 'order:' || order_id, chat_id, thread_id, user_id, sent_at "
        "FROM taximaster_creates "
        "WHERE order_id IS NOT NULL AND state IN ('created', 'adopted') "
        "ON CONFLICT (subject_key) DO NOTHING"
    )
    op.execute(
        "INSERT INTO item_owners (subject_key, chat_id, thread_id, user_id, created_at) "
        "SELECT 'task:' || LOWER(marker), chat_id, thread_id, user_id, created_at "
        "FROM mobiforce_creates "
        "WHERE marker <> '' "
        "ON CONFLICT (subject_key) DO NOTHING"
    )


def downgrade() -> None:
    op.drop_table("item_owners")
