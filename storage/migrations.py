"""Versioned, forward-only schema migrations.

Each migration is applied once, in order, inside a transaction, and recorded in
``schema_migrations``. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, chats, audit log, settings",
        """
        CREATE TABLE users (
            id              INTEGER PRIMARY KEY,          -- Telegram user id
            username        TEXT,
            first_name      TEXT NOT NULL DEFAULT '',
            last_name       TEXT,
            language_code   TEXT,
            role            TEXT CHECK (role IN ('admin', 'dispatcher', 'viewer')),
            granted_by      INTEGER,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX users_username ON users (lower(username));

        CREATE TABLE chats (
            id              INTEGER PRIMARY KEY,          -- Telegram chat id
            type            TEXT NOT NULL,
            title           TEXT NOT NULL DEFAULT '',
            status          TEXT NOT NULL CHECK (status IN ('approved', 'pending', 'disabled')),
            added_by        INTEGER,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );

        CREATE TABLE audit_log (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            at              TEXT NOT NULL,
            actor_id        INTEGER,
            action          TEXT NOT NULL,
            target          TEXT,
            details         TEXT
        );
        CREATE INDEX audit_log_at ON audit_log (at);

        CREATE TABLE settings (
            key             TEXT PRIMARY KEY,
            value           TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            updated_by      INTEGER
        );
        """,
    ),
    Migration(
        2,
        "stranger notices and one-shot confirmations",
        """
        ALTER TABLE users ADD COLUMN stranger_notified_at TEXT;

        CREATE TABLE confirmations (
            token           TEXT PRIMARY KEY,
            user_id         INTEGER NOT NULL,
            chat_id         INTEGER NOT NULL,
            action          TEXT NOT NULL,
            payload         TEXT NOT NULL DEFAULT '{}',
            created_at      TEXT NOT NULL,
            used_at         TEXT
        );
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
