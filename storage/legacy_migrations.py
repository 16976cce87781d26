"""The hand-written SQLite migrations that came before Alembic: frozen history.

A SQLite file made by an older logibot records them in ``schema_migrations``. At start a file
below 10 is brought to 10 with these (in the same transaction as the rest of the upgrade) and
stamped with the Alembic baseline, the schema after 10; a file at 11 to 16 is stamped with
the Alembic revision that makes the same change (``storage/migrate.py``). New schema changes
are Alembic migrations in ``storage/alembic/versions``, never additions here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection


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
    Migration(
        3,
        "alerts: subscriptions, chat preferences, outbox, cursors, subject states, cards",
        """
        CREATE TABLE subscriptions (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,   -- forum topic; 0 = the whole chat
            selector        TEXT NOT NULL,                -- 'all' | 'area:drivers' | 'kind:x.y'
            filter          TEXT NOT NULL DEFAULT '',     -- '' | 'driver:7999…' | 'tag:Склад'
            created_by      INTEGER,
            created_at      TEXT NOT NULL,
            UNIQUE (chat_id, thread_id, selector, filter)
        );
        CREATE INDEX subscriptions_selector ON subscriptions (selector);

        CREATE TABLE chat_prefs (
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            muted_until     TEXT,
            quiet_from      TEXT,                         -- 'HH:MM' local time
            quiet_to        TEXT,
            timezone        TEXT,
            PRIMARY KEY (chat_id, thread_id)
        );

        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            dedupe_key      TEXT NOT NULL,
            kind            TEXT NOT NULL,
            severity        INTEGER NOT NULL,
            subject_key     TEXT NOT NULL,
            payload         TEXT NOT NULL,                -- the Alert as JSON
            state           TEXT NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'sent', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            not_before      TEXT NOT NULL,                -- quiet hours, backoff, 429 waits
            created_at      TEXT NOT NULL,
            sent_at         TEXT,
            message_id      INTEGER,
            UNIQUE (chat_id, thread_id, dedupe_key)
        );
        CREATE INDEX outbox_due ON outbox (state, not_before, id);
        CREATE INDEX outbox_message ON outbox (chat_id, message_id);

        CREATE TABLE cursors (
            source          TEXT PRIMARY KEY,
            value           TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );

        CREATE TABLE subject_states (
            subject_key     TEXT NOT NULL,
            state           TEXT NOT NULL,                -- an inhibiting kind
            since           TEXT NOT NULL,
            PRIMARY KEY (subject_key, state)
        );

        CREATE TABLE subject_silences (
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            subject_key     TEXT NOT NULL,
            kind            TEXT NOT NULL DEFAULT '',     -- '' = every kind (a mute)
            until           TEXT,                         -- NULL = until the subject changes
            by_user         INTEGER,
            PRIMARY KEY (chat_id, thread_id, subject_key, kind)
        );

        CREATE TABLE status_cards (
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            subject_key     TEXT NOT NULL,
            message_id      INTEGER NOT NULL,
            PRIMARY KEY (chat_id, thread_id, subject_key)
        );
        """,
    ),
    Migration(
        4,
        "drivers known to the bot (titles and tags for alerts)",
        """
        CREATE TABLE drivers (
            phone           TEXT PRIMARY KEY,             -- MSISDN 7XXXXXXXXXX
            title           TEXT NOT NULL DEFAULT '',
            tags            TEXT NOT NULL DEFAULT '[]',   -- JSON list
            updated_at      TEXT NOT NULL
        );
        """,
    ),
    Migration(
        5,
        "what each watcher remembers of its subjects (tasks, taxi orders, wagons)",
        """
        CREATE TABLE watch_snapshots (
            source          TEXT NOT NULL,                -- integration name
            subject_id      TEXT NOT NULL,
            data            TEXT NOT NULL,                -- JSON object
            updated_at      TEXT NOT NULL,
            PRIMARY KEY (source, subject_id)
        );
        """,
    ),
    Migration(
        6,
        "Mobiforce directories: templates, employees, clients, task numbers",
        """
        CREATE TABLE mobiforce_directory (
            kind            TEXT NOT NULL
                            CHECK (kind IN ('template', 'employee', 'contractor', 'task')),
            id              INTEGER NOT NULL,             -- Mobiforce's internal id
            name            TEXT NOT NULL DEFAULT '',     -- a task's name is its number
            search          TEXT NOT NULL DEFAULT '',     -- casefolded words, searched locally
            data            TEXT NOT NULL DEFAULT '{}',   -- JSON: phone, mobile, client…
            updated_at      TEXT NOT NULL,
            PRIMARY KEY (kind, id)
        );
        CREATE INDEX mobiforce_directory_name ON mobiforce_directory (kind, name);
        """,
    ),
    Migration(
        7,
        "Taxi-Master orders the bot sent: the order key (its exact parameters) -> order id",
        """
        CREATE TABLE taximaster_orders (
            order_key       TEXT PRIMARY KEY,             -- NewOrder.key(): the body's hash
            order_id        INTEGER,                      -- NULL while sent and unanswered
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            user_id         INTEGER NOT NULL,
            payload         TEXT NOT NULL,                -- JSON: what was confirmed
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX taximaster_orders_id ON taximaster_orders (order_id);
        """,
    ),
    # 8 was kept for Alta; its table came later (11).
    Migration(
        9,
        "outbox: 'dropped' rows and an index for one chat's due rows; unused indexes go",
        """
        DROP INDEX audit_log_at;              -- the log is read newest id first
        DROP INDEX subscriptions_selector;    -- routing reads them all; chats by primary key

        CREATE TABLE outbox_v9 (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            dedupe_key      TEXT NOT NULL,
            kind            TEXT NOT NULL,
            severity        INTEGER NOT NULL,
            subject_key     TEXT NOT NULL,
            payload         TEXT NOT NULL,                -- the Alert as JSON
            state           TEXT NOT NULL DEFAULT 'pending'
                            -- dropped: queued, then unwanted by the time it could be sent
                            CHECK (state IN ('pending', 'sent', 'failed', 'dropped')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            not_before      TEXT NOT NULL,                -- quiet hours, backoff, 429 waits
            created_at      TEXT NOT NULL,
            sent_at         TEXT,
            message_id      INTEGER,
            UNIQUE (chat_id, thread_id, dedupe_key)
        );
        INSERT INTO outbox_v9 SELECT * FROM outbox;
        DROP TABLE outbox;
        ALTER TABLE outbox_v9 RENAME TO outbox;
        CREATE INDEX outbox_due ON outbox (state, not_before, id);
        CREATE INDEX outbox_message ON outbox (chat_id, message_id);
        -- the sender's per-chat query: its cost must not grow with other chats' backlog
        CREATE INDEX outbox_chat_due ON outbox (chat_id, state, not_before, id);
        """,
    ),
    Migration(
        10,
        "live locations the bot moves (/follow), so a restart resumes them",
        """
        CREATE TABLE live_follows (
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            phone           TEXT NOT NULL,
            title           TEXT NOT NULL,
            locale          TEXT NOT NULL,
            message_id      INTEGER NOT NULL,             -- the live location being moved
            live_until      TEXT NOT NULL,                -- when Telegram stops taking edits
            lat             REAL NOT NULL,                -- the point it shows now
            lon             REAL NOT NULL,
            created_at      TEXT NOT NULL,
            PRIMARY KEY (chat_id, thread_id, phone)
        );
        """,
    ),
    Migration(
        11,
        "Mobiforce tasks the bot creates (its number is the bot's marker), /tasks searches",
        """
        CREATE TABLE mobiforce_creates (
            marker          TEXT PRIMARY KEY,             -- the task's number, chosen by the bot
            task_id         INTEGER,                      -- Mobiforce's id, once known
            state           TEXT NOT NULL
                            CHECK (state IN ('sending', 'unknown', 'created', 'dropped')),
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            user_id         INTEGER NOT NULL,
            payload         TEXT NOT NULL,                -- JSON: what was confirmed
            feed_usn        INTEGER,                      -- the task feed's usn before sending
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX mobiforce_creates_task ON mobiforce_creates (task_id);

        CREATE TABLE mobiforce_searches (
            key             TEXT PRIMARY KEY,             -- a short hash, in /tasks page buttons
            query           TEXT NOT NULL,
            created_at      TEXT NOT NULL
        );
        """,
    ),
    Migration(
        12,
        "Alta add attempts: recorded before they are sent, found again by the marker in comment",
        """
        CREATE TABLE alta_adds (
            token           TEXT PRIMARY KEY,             -- our marker, sent in add's comment
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            user_id         INTEGER NOT NULL,
            payload         TEXT NOT NULL,                -- JSON: numbers and settings sent
            state           TEXT NOT NULL
                            CHECK (state IN ('sending', 'added', 'refused', 'unknown',
                                             'declined', 'absent')),
            hashes          TEXT NOT NULL DEFAULT '{}',   -- JSON: hash / cont_hash when known
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX alta_adds_state ON alta_adds (state, created_at);
        """,
    ),
    Migration(
        13,
        "alerts: indexed routing reads, subjects that ended, ages for pruning",
        """
        -- a watcher's commit reads the subscriptions, silences and cards of ITS subjects only;
        -- a filter as compared (any case, ids without leading zeros) is written by the repo,
        -- and rows from before this column are keyed at start (SubscriptionsRepo.key_filters)
        ALTER TABLE subscriptions ADD COLUMN filter_key TEXT NOT NULL DEFAULT '';
        CREATE INDEX subscriptions_filter_key ON subscriptions (filter_key);
        CREATE INDEX subject_silences_subject ON subject_silences (subject_key);
        CREATE INDEX status_cards_subject ON status_cards (subject_key);
        -- the sender's "routine news of this subject went out when?" (one line per window)
        CREATE INDEX outbox_subject ON outbox (chat_id, thread_id, subject_key, state);
        ALTER TABLE subject_silences ADD COLUMN since TEXT;   -- NULL: set before this column
        ALTER TABLE status_cards ADD COLUMN updated_at TEXT;  -- NULL: set before this column

        -- a subject whose last news ended it (trip finished, task closed, tracking ended):
        -- its subscriptions, cards, silences and snapshot are pruned a while later
        CREATE TABLE ended_subjects (
            subject_key     TEXT PRIMARY KEY,
            source          TEXT NOT NULL,                -- the watcher (its snapshots' source)
            subject_id      TEXT NOT NULL,
            ended_at        TEXT NOT NULL
        );
        CREATE INDEX ended_subjects_at ON ended_subjects (ended_at);
        """,
    ),
    Migration(
        14,
        "Taxi-Master creates: one row per send, its outcome (unknown until TMWeb says), no "
        "more one row per order key",
        """
        CREATE TABLE taximaster_creates (
            create_id       TEXT PRIMARY KEY,             -- ours: one row per create_order sent
            order_key       TEXT NOT NULL,                -- NewOrder.key(): the body's hash
            state           TEXT NOT NULL CHECK (state IN (
                                'sending',    -- recorded, about to go: a crash leaves this
                                'created',    -- TMWeb answered with the order id
                                'adopted',    -- no answer, then found via get_current_orders
                                'unknown',    -- sent, no answer: the order may exist
                                'not_sent',   -- never left (no connection): no order
                                'refused',    -- TMWeb answered an error: no order
                                'exists',     -- TMWeb answered 100 "already created"
                                'repeated',   -- the person chose to order again (a new row)
                                'dismissed'   -- the person will check it themselves
                            )),
            order_id        INTEGER,
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            user_id         INTEGER NOT NULL,
            locale          TEXT NOT NULL DEFAULT 'ru',
            payload         TEXT NOT NULL,                -- JSON: what was confirmed
            sent_at         TEXT NOT NULL,                -- just before the request left
            updated_at      TEXT NOT NULL
        );
        CREATE INDEX taximaster_creates_state ON taximaster_creates (state, sent_at);
        INSERT INTO taximaster_creates (create_id, order_key, state, order_id, chat_id,
                                        thread_id, user_id, payload, sent_at, updated_at)
            SELECT order_key, order_key,
                   CASE WHEN order_id IS NULL THEN 'unknown' ELSE 'created' END,
                   order_id, chat_id, thread_id, user_id, payload, created_at, updated_at
            FROM taximaster_orders;
        DROP TABLE taximaster_orders;
        """,
    ),
    Migration(
        15,
        "alert storms: chats whose alerts go out summarized, and how many so far",
        """
        -- one row per chat (forum topic) that got summarized alerts in the chat's current
        -- storm; the rows go when the storm ends (its "storm ended, N alerts" line is sent)
        CREATE TABLE alert_storms (
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            since           TEXT NOT NULL,                -- when the chat's storm began
            last_dense_at   TEXT NOT NULL,                -- the last time it needed density
            summarized      INTEGER NOT NULL DEFAULT 0,   -- alerts sent in summaries here
            PRIMARY KEY (chat_id, thread_id)
        );
        """,
    ),
    Migration(
        16,
        "item owners: the chat (topic) and person that created each taxi order, task and wagon",
        """
        -- keyed by the item's alert subject as subscriptions compare it (filter_key): one key
        -- for the owner, the chats watching it (subscriptions) and its alerts
        CREATE TABLE item_owners (
            subject_key     TEXT PRIMARY KEY,             -- order:123, task:tg-…, wagon:5467…
            chat_id         INTEGER NOT NULL,
            thread_id       INTEGER NOT NULL DEFAULT 0,
            user_id         INTEGER NOT NULL,
            created_at      TEXT NOT NULL
        );
        CREATE INDEX item_owners_chat ON item_owners (chat_id);
        -- what the bot created before this table: its taxi orders and its tasks (wagons put on
        -- tracking before it stay watched by their chats, and unowned: visible as before)
        INSERT INTO item_owners (subject_key, chat_id, thread_id, user_id, created_at)
            SELECT 'order:' || order_id, chat_id, thread_id, user_id, sent_at
            FROM taximaster_creates
            WHERE order_id IS NOT NULL AND state IN ('created', 'adopted')
            ON CONFLICT (subject_key) DO NOTHING;
        INSERT INTO item_owners (subject_key, chat_id, thread_id, user_id, created_at)
            SELECT 'task:' || LOWER(marker), chat_id, thread_id, user_id, created_at
            FROM mobiforce_creates
            WHERE marker <> ''
            ON CONFLICT (subject_key) DO NOTHING;
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
BASELINE_VERSION = 10  # the Alembic baseline's schema; later ones are Alembic revisions too


def recorded_version(connection: Connection) -> int | None:
    """The version an old file recorded; None when it has no ``schema_migrations`` table."""
    found = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).first()
    if found is None:
        return None
    version = connection.exec_driver_sql("SELECT max(version) FROM schema_migrations").scalar()
    return int(version or 0)


def upgrade_to_baseline(connection: Connection, current: int) -> None:
    """Apply the migrations after ``current`` up to the baseline, in the caller's transaction."""
    for migration in MIGRATIONS:
        if not current < migration.version <= BASELINE_VERSION:
            continue
        for statement in split_sql(migration.sql):
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, datetime.now(UTC).isoformat()),
        )


def create_history_table(connection: Connection) -> None:
    """For tests that make an old file: the table older versions recorded migrations in."""
    connection.exec_driver_sql(
        "CREATE TABLE schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )


def split_sql(script: str) -> Iterable[str]:
    """Split a migration script into statements, line by line, using SQLite's own notion of a
    complete statement (so a ';' inside a comment or a literal does not split)."""
    buffer: list[str] = []
    for line in script.splitlines():
        buffer.append(line)
        text = "\n".join(buffer)
        if sqlite3.complete_statement(text):
            yield text.strip()
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest and not all(line.strip().startswith("--") for line in buffer if line.strip()):
        raise ValueError(f"incomplete SQL statement in migration: {rest[:80]}")
