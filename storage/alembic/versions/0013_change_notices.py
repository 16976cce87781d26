"""change notices: PostgreSQL tells every replica when a row every update reads has changed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

A trigger on ``users``, ``fsm_states``, ``chat_prefs`` and ``setting_values`` sends
``NOTIFY logibot_changes, '<table> <key>'`` (just ``'<table>'`` for the last two, whose readers
forget the whole table, and for a TRUNCATE) with every changed row, delivered when the
transaction commits; each replica's ChangeListener (storage/changes.py) forgets what it
remembered of that row. Whoever writes — a replica, `logibot copy-db`, someone at psql — every
replica hears of it. SQLite has one writer process, which forgets on its own writes: nothing to
do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "logibot_changes"  # storage/changes.py's CHANNEL (a migration keeps its own copy)
FUNCTION = "logibot_notify_change"
# table -> the column that names a row in the notice (None: the table as a whole)
TABLES: dict[str, str | None] = {
    "users": "id",
    "fsm_states": "key",
    "chat_prefs": None,
    "setting_values": None,
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # TG_ARGV[0], when given: the key column, read from the row as JSON so that one function
    # serves every table. A statement-level trigger (no arguments) sends the table's name only.
    op.execute(
        f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed jsonb;
            notice text := TG_TABLE_NAME;
        BEGIN
            IF TG_NARGS > 0 THEN
                IF TG_OP = 'DELETE' THEN
                    changed := to_jsonb(OLD);
                ELSE
                    changed := to_jsonb(NEW);
                END IF;
                notice := notice || coalesce(' ' || (changed ->> TG_ARGV[0]), '');
            END IF;
            PERFORM pg_notify('{CHANNEL}', notice);
            RETURN NULL;
        END
        $$
        """
    )
    for table, key in TABLES.items():
        if key is None:
            op.execute(
                f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )
            continue
        op.execute(
            f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}('{key}')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, key in TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_changes ON {table}")
        if key is not None:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_truncated ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
