"""baseline: the schema the hand-written SQLite migrations 1-10 left

An empty database (SQLite or PostgreSQL) starts here; an old SQLite file at version 10 is
stamped with this revision (storage/migrate.py). Telegram ids are BIGINT on PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Coordinate: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")


def _text(name: str, *, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def _thread() -> sa.Column[int]:
    return sa.Column("thread_id", BigId, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BigId, primary_key=True, autoincrement=False),
        sa.Column("username", sa.Text()),
        _text("first_name", default=""),
        sa.Column("last_name", sa.Text()),
        sa.Column("language_code", sa.Text()),
        sa.Column("role", sa.Text()),
        sa.Column("granted_by", BigId),
        _text("created_at"),
        _text("updated_at"),
        sa.Column("stranger_notified_at", sa.Text()),
        sa.CheckConstraint("role IN ('admin', 'dispatcher', 'viewer')", name="users_role"),
    )
    op.create_index("users_username", "users", [sa.text("lower(username)")])
    op.create_table(
        "chats",
        sa.Column("id", BigId, primary_key=True, autoincrement=False),
        _text("type"),
        _text("title", default=""),
        _text("status"),
        sa.Column("added_by", BigId),
        _text("created_at"),
        _text("updated_at"),
        sa.CheckConstraint("status IN ('approved', 'pending', 'disabled')", name="chats_status"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True),
        _text("at"),
        sa.Column("actor_id", BigId),
        _text("action"),
        sa.Column("target", sa.Text()),
        sa.Column("details", sa.Text()),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.Text(), primary_key=True),
        _text("value"),
        _text("updated_at"),
        sa.Column("updated_by", BigId),
    )
    op.create_table(
        "confirmations",
        sa.Column("token", sa.Text(), primary_key=True),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("chat_id", BigId, nullable=False),
        _text("action"),
        _text("payload", default="{}"),
        _text("created_at"),
        sa.Column("used_at", sa.Text()),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("chat_id", BigId, nullable=False),
        _thread(),
        _text("selector"),
        _text("filter", default=""),
        sa.Column("created_by", BigId),
        _text("created_at"),
        sa.UniqueConstraint("chat_id", "thread_id", "selector", "filter"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "chat_prefs",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("muted_until", sa.Text()),
        sa.Column("quiet_from", sa.Text()),
        sa.Column("quiet_to", sa.Text()),
        sa.Column("timezone", sa.Text()),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("chat_id", BigId, nullable=False),
        _thread(),
        _text("dedupe_key"),
        _text("kind"),
        sa.Column("severity", sa.Integer(), nullable=False),
        _text("subject_key"),
        _text("payload"),
        _text("state", default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        _text("not_before"),
        _text("created_at"),
        sa.Column("sent_at", sa.Text()),
        sa.Column("message_id", BigId),
        sa.UniqueConstraint("chat_id", "thread_id", "dedupe_key"),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed', 'dropped')", name="outbox_state"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("outbox_due", "outbox", ["state", "not_before", "id"])
    op.create_index("outbox_message", "outbox", ["chat_id", "message_id"])
    op.create_index("outbox_chat_due", "outbox", ["chat_id", "state", "not_before", "id"])
    op.create_table(
        "cursors",
        sa.Column("source", sa.Text(), primary_key=True),
        _text("value"),
        _text("updated_at"),
    )
    op.create_table(
        "subject_states",
        sa.Column("subject_key", sa.Text(), primary_key=True),
        sa.Column("state", sa.Text(), primary_key=True),
        _text("since"),
    )
    op.create_table(
        "subject_silences",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("subject_key", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True, server_default=""),
        sa.Column("until", sa.Text()),
        sa.Column("by_user", BigId),
    )
    op.create_table(
        "status_cards",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("subject_key", sa.Text(), primary_key=True),
        sa.Column("message_id", BigId, nullable=False),
    )
    op.create_table(
        "drivers",
        sa.Column("phone", sa.Text(), primary_key=True),
        _text("title", default=""),
        _text("tags", default="[]"),
        _text("updated_at"),
    )
    op.create_table(
        "watch_snapshots",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("subject_id", sa.Text(), primary_key=True),
        _text("data"),
        _text("updated_at"),
    )
    op.create_table(
        "mobiforce_directory",
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("id", BigId, primary_key=True, autoincrement=False),
        _text("name", default=""),
        _text("search", default=""),
        _text("data", default="{}"),
        _text("updated_at"),
        sa.CheckConstraint(
            "kind IN ('template', 'employee', 'contractor', 'task')",
            name="mobiforce_directory_kind",
        ),
    )
    op.create_index("mobiforce_directory_name", "mobiforce_directory", ["kind", "name"])
    op.create_table(
        "taximaster_orders",
        sa.Column("order_key", sa.Text(), primary_key=True),
        sa.Column("order_id", BigId),
        sa.Column("chat_id", BigId, nullable=False),
        _thread(),
        sa.Column("user_id", BigId, nullable=False),
        _text("payload"),
        _text("created_at"),
        _text("updated_at"),
    )
    op.create_index("taximaster_orders_id", "taximaster_orders", ["order_id"])
    op.create_table(
        "live_follows",
        sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
        sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
        sa.Column("phone", sa.Text(), primary_key=True),
        _text("title"),
        _text("locale"),
        sa.Column("message_id", BigId, nullable=False),
        _text("live_until"),
        sa.Column("lat", Coordinate, nullable=False),
        sa.Column("lon", Coordinate, nullable=False),
        _text("created_at"),
    )


def downgrade() -> None:
    for table in (
        "live_follows", "taximaster_orders", "mobiforce_directory", "watch_snapshots", "drivers",
        "status_cards", "subject_silences", "subject_states", "cursors", "outbox", "chat_prefs",
        "subscriptions", "confirmations", "settings", "audit_log", "chats", "users",
    ):  # fmt: skip
        op.drop_table(table)
