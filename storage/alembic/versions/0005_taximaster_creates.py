"""Taxi-Master creates: one row per send and its outcome (unknown until TMWeb says), no more
one row per order key

(The hand-written SQLite migration 14; an old file at 14 is stamped here.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATES = (
    "sending",  # recorded, about to go: a crash leaves this
    "created",  # TMWeb answered with the order id
    "adopted",  # no answer, then found via get_current_orders
    "unknown",  # sent, no answer: the order may exist
    "not_sent",  # never left (no connection): no order
    "refused",  # TMWeb answered an error: no order
    "exists",  # TMWeb answered 100 "already created"
    "repeated",  # the person chose to order again (a new row)
    "dismissed",  # the person will check it themselves
)


def upgrade() -> None:
    op.create_table(
        "taximaster_creates",
        sa.Column("create_id", sa.Text(), primary_key=True),  # ours: one per create_order sent
        sa.Column("order_key", sa.Text(), nullable=False),  # NewOrder.key(): the body's hash
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("order_id", BigId),
        sa.Column("chat_id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False, server_default="0"),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("locale", sa.Text(), nullable=False, server_default="ru"),
        sa.Column("payload", sa.Text(), nullable=False),  # JSON: what was confirmed
        sa.Column("sent_at", sa.Text(), nullable=False),  # just before the request left
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")",
            name="taximaster_creates_state",
        ),
    )
    op.create_index("taximaster_creates_state", "taximaster_creates", ["state", "sent_at"])
    op.execute(
        "INSERT INTO taximaster_creates (create_id, order_key, state, order_id, chat_id, "
        "thread_id, user_id, payload, sent_at, updated_at) "
        "SELECT order_key, order_key, "
        "CASE WHEN order_id IS NULL THEN 'unknown' ELSE 'created' END, "
        "order_id, chat_id, thread_id, user_id, payload, created_at, updated_at "
        "FROM taximaster_orders"
    )
    op.drop_table("taximaster_orders")


def downgrade() -> None:
    raise NotImplementedError("taximaster_orders kept one row per order key: not restorable")
