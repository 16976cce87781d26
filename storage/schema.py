"""The schema as it is now, as SQLAlchemy Core tables: what the repositories' Core queries use,
what `logibot copy-db` copies, and what Alembic compares a database with (``alembic check``).

The migrations in ``storage/alembic/versions`` are how a database gets here; a change to a table
is a new migration AND the same change here (a test checks that the two agree on both engines).

Types, the same on both engines unless said: times are UTC ISO-8601 text (``storage.db.to_db_time``;
they sort as text), JSON is text, Telegram ids are BIGINT on PostgreSQL (they outgrow 32 bits)
and INTEGER on SQLite (the same 64-bit integer there, and ``INTEGER PRIMARY KEY`` is the rowid).
"""

from __future__ import annotations

import sqlalchemy as sa

# Telegram user/chat/message ids and vendor ids.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Keys read by ranges ('tag:' <= key < 'tag;'): byte order on PostgreSQL too (its default
# collation may be a language's, in which ':' and ';' sort as equals); SQLite's is bytes.
Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

metadata = sa.MetaData()


def _time(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable)


def _thread() -> sa.Column[int]:
    """A forum topic; 0 = the whole chat."""
    return sa.Column("thread_id", BigId, nullable=False, server_default="0")


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=False),  # Telegram user id
    sa.Column("username", sa.Text),
    sa.Column("first_name", sa.Text, nullable=False, server_default=""),
    sa.Column("last_name", sa.Text),
    sa.Column("language_code", sa.Text),
    sa.Column("role", sa.Text),
    sa.Column("granted_by", BigId),
    _time("created_at"),
    _time("updated_at"),
    _time("stranger_notified_at", nullable=True),
    sa.CheckConstraint("role IN ('admin', 'dispatcher', 'viewer')", name="users_role"),
)
sa.Index("users_username", sa.func.lower(users.c.username))

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=False),  # Telegram chat id
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("added_by", BigId),
    _time("created_at"),
    _time("updated_at"),
    sa.CheckConstraint("status IN ('approved', 'pending', 'disabled')", name="chats_status"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _time("at"),
    sa.Column("actor_id", BigId),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("details", sa.Text),
    sqlite_autoincrement=True,
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    _time("updated_at"),
    sa.Column("updated_by", BigId),
)

# What admins and chats set from the chat (bot/settings): chat_id 0 for a GLOBAL setting, else
# the chat and topic. The value is JSON in the setting's kind's form.
setting_values = sa.Table(
    "setting_values",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("set_by", BigId),
    _time("set_at"),
)

confirmations = sa.Table(
    "confirmations",
    metadata,
    sa.Column("token", sa.Text, primary_key=True),
    sa.Column("user_id", BigId, nullable=False),
    sa.Column("chat_id", BigId, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
    _time("created_at"),
    _time("used_at", nullable=True),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("selector", sa.Text, nullable=False),  # 'all' | 'area:drivers' | 'kind:x.y'
    sa.Column("filter", sa.Text, nullable=False, server_default=""),  # '' | 'driver:7…'
    sa.Column("created_by", BigId),
    _time("created_at"),
    # the filter as compared (storage.subscriptions.filter_key): routing reads by it
    sa.Column("filter_key", Key, nullable=False, server_default=""),
    sa.UniqueConstraint("chat_id", "thread_id", "selector", "filter"),
    sqlite_autoincrement=True,
)
sa.Index("subscriptions_filter_key", subscriptions.c.filter_key)

chat_prefs = sa.Table(
    "chat_prefs",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    _time("muted_until", nullable=True),
    sa.Column("quiet_from", sa.Text),  # 'HH:MM' local time
    sa.Column("quiet_to", sa.Text),
    sa.Column("timezone", sa.Text),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("dedupe_key", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("subject_key", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the Alert as JSON
    sa.Column("state", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    _time("not_before"),  # quiet hours, backoff, 429 waits
    _time("created_at"),
    _time("sent_at", nullable=True),
    sa.Column("message_id", BigId),
    sa.Column("claimed_by", sa.Text),  # the sender sending it now (storage/outbox.py)
    _time("claimed_until", nullable=True),
    sa.UniqueConstraint("chat_id", "thread_id", "dedupe_key"),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed', 'dropped')", name="outbox_state"),
    sqlite_autoincrement=True,
)
sa.Index("outbox_due", outbox.c.state, outbox.c.not_before, outbox.c.id)
sa.Index("outbox_message", outbox.c.chat_id, outbox.c.message_id)
# the sender's per-chat query: its cost must not grow with other chats' backlog
sa.Index("outbox_chat_due", outbox.c.chat_id, outbox.c.state, outbox.c.not_before, outbox.c.id)
# "routine news of this subject went out when?"
sa.Index(
    "outbox_subject", outbox.c.chat_id, outbox.c.thread_id, outbox.c.subject_key, outbox.c.state
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    _time("updated_at"),
)

subject_states = sa.Table(
    "subject_states",
    metadata,
    sa.Column("subject_key", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, primary_key=True),  # an inhibiting kind
    _time("since"),
)

subject_silences = sa.Table(
    "subject_silences",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    sa.Column("subject_key", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True, server_default=""),  # '' = every kind
    _time("until", nullable=True),  # NULL = until the subject changes
    sa.Column("by_user", BigId),
    _time("since", nullable=True),  # NULL: set before this column existed
)
sa.Index("subject_silences_subject", subject_silences.c.subject_key)

status_cards = sa.Table(
    "status_cards",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    sa.Column("subject_key", sa.Text, primary_key=True),
    sa.Column("message_id", BigId, nullable=False),
    _time("updated_at", nullable=True),  # NULL: set before this column existed
)
sa.Index("status_cards_subject", status_cards.c.subject_key)

drivers = sa.Table(
    "drivers",
    metadata,
    sa.Column("phone", sa.Text, primary_key=True),  # MSISDN 7XXXXXXXXXX
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),  # JSON list
    _time("updated_at"),
)

watch_snapshots = sa.Table(
    "watch_snapshots",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),  # integration name
    sa.Column("subject_id", sa.Text, primary_key=True),
    sa.Column("data", sa.Text, nullable=False),  # JSON object
    _time("updated_at"),
)

mobiforce_directory = sa.Table(
    "mobiforce_directory",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("id", BigId, primary_key=True, autoincrement=False),  # Mobiforce's id
    sa.Column("name", sa.Text, nullable=False, server_default=""),  # a task's: its number
    sa.Column("search", sa.Text, nullable=False, server_default=""),  # casefolded words
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),  # JSON
    _time("updated_at"),
    sa.CheckConstraint(
        "kind IN ('template', 'employee', 'contractor', 'task')", name="mobiforce_directory_kind"
    ),
)
sa.Index("mobiforce_directory_name", mobiforce_directory.c.kind, mobiforce_directory.c.name)

taximaster_creates = sa.Table(
    "taximaster_creates",
    metadata,
    sa.Column("create_id", sa.Text, primary_key=True),  # ours: one row per create_order sent
    sa.Column("order_key", sa.Text, nullable=False),  # NewOrder.key(): the body's hash
    sa.Column("state", sa.Text, nullable=False),  # storage.taximaster.CreateState
    sa.Column("order_id", BigId),
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("user_id", BigId, nullable=False),
    sa.Column("locale", sa.Text, nullable=False, server_default="ru"),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: what was confirmed
    _time("sent_at"),  # just before the request left
    _time("updated_at"),
    sa.CheckConstraint(
        "state IN ('sending', 'created', 'adopted', 'unknown', 'not_sent', 'refused', 'exists', "
        "'repeated', 'dismissed')",
        name="taximaster_creates_state",
    ),
)
sa.Index("taximaster_creates_state", taximaster_creates.c.state, taximaster_creates.c.sent_at)

live_follows = sa.Table(
    "live_follows",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    sa.Column("phone", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("message_id", BigId, nullable=False),  # the live location being moved
    _time("live_until"),  # when Telegram stops taking edits
    sa.Column("lat", sa.Double().with_variant(sa.REAL(), "sqlite"), nullable=False),
    sa.Column("lon", sa.Double().with_variant(sa.REAL(), "sqlite"), nullable=False),
    _time("created_at"),
)

mobiforce_creates = sa.Table(
    "mobiforce_creates",
    metadata,
    sa.Column("marker", sa.Text, primary_key=True),  # the task's number, chosen by the bot
    sa.Column("task_id", BigId),  # Mobiforce's id, once known
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("user_id", BigId, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: what was confirmed
    sa.Column("feed_usn", BigId),  # the task feed's usn before sending
    _time("created_at"),
    _time("updated_at"),
    sa.CheckConstraint(
        "state IN ('sending', 'unknown', 'created', 'dropped')", name="mobiforce_creates_state"
    ),
)
sa.Index("mobiforce_creates_task", mobiforce_creates.c.task_id)

mobiforce_searches = sa.Table(
    "mobiforce_searches",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),  # a short hash, in /tasks page buttons
    sa.Column("query", sa.Text, nullable=False),
    _time("created_at"),
)

alta_adds = sa.Table(
    "alta_adds",
    metadata,
    sa.Column("token", sa.Text, primary_key=True),  # our marker, sent in add's comment
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("user_id", BigId, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: numbers and settings sent
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("hashes", sa.Text, nullable=False, server_default="{}"),  # JSON: request hashes
    _time("created_at"),
    _time("updated_at"),
    sa.CheckConstraint(
        "state IN ('sending', 'added', 'refused', 'unknown', 'declined', 'absent')",
        name="alta_adds_state",
    ),
)
sa.Index("alta_adds_state", alta_adds.c.state, alta_adds.c.created_at)

ended_subjects = sa.Table(
    "ended_subjects",
    metadata,
    sa.Column("subject_key", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),  # the watcher (its snapshots' source)
    sa.Column("subject_id", sa.Text, nullable=False),
    _time("ended_at"),
)
sa.Index("ended_subjects_at", ended_subjects.c.ended_at)

alert_storms = sa.Table(
    "alert_storms",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    _time("since"),  # when the chat's storm began
    _time("last_dense_at"),  # the last time it needed density
    sa.Column("summarized", sa.Integer, nullable=False, server_default="0"),  # alerts summarized
)

item_owners = sa.Table(
    "item_owners",
    metadata,
    sa.Column("subject_key", Key, primary_key=True),  # order:123, task:tg-…, wagon:5467…
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("user_id", BigId, nullable=False),
    _time("created_at"),
)
sa.Index("item_owners_chat", item_owners.c.chat_id)

# The wizards' state (aiogram FSM), so that every bot process sees the same step of a dialogue
# (bot/fsm_storage.py). The key is aiogram's (bot, chat, topic, user, destiny).
fsm_states = sa.Table(
    "fsm_states",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("state", sa.Text),  # NULL: no step (the row then holds only data)
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),  # JSON object
    _time("updated_at"),
)

# What each chat (forum topic) heard or did, for the digests and /report (storage/history.py).
history = sa.Table(
    "history",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    _time("at"),
    sa.Column("area", sa.Text, nullable=False),  # drivers | tasks | taxi | wagons | escalations
    sa.Column("kind", sa.Text, nullable=False),  # an alert kind, or action.* / escalation.acked
    sa.Column("subject_key", sa.Text, nullable=False),
    sa.Column("subject_title", sa.Text, nullable=False, server_default=""),
    sa.Column("minutes", sa.Integer),  # late by / to close / to ack, where it means something
    sa.Column("amount_kopecks", BigId),  # money, in kopecks (a taxi order's cost)
    sa.Column("fields", sa.Text, nullable=False, server_default="{}"),  # JSON: the other facts
    sa.Column("dedupe_key", sa.Text, nullable=False),
    sa.UniqueConstraint("chat_id", "thread_id", "dedupe_key"),
    sqlite_autoincrement=True,
)
sa.Index("history_chat_at", history.c.chat_id, history.c.thread_id, history.c.at)
sa.Index("history_subject", history.c.subject_key, history.c.kind)
sa.Index("history_at", history.c.at)  # retention

digest_marks = sa.Table(
    "digest_marks",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    sa.Column("day", sa.Text, primary_key=True),  # the chat's local date, YYYY-MM-DD
    sa.Column("state", sa.Text, nullable=False),
    _time("claimed_at"),
    _time("sent_at", nullable=True),
    sa.Column("late", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message_id", BigId),
    sa.CheckConstraint(
        "state IN ('claimed', 'sent', 'skipped', 'failed')", name="digest_marks_state"
    ),
)


# --- escalation and on-call (bot/escalation) ---------------------------------------------------
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("chat_id", BigId, nullable=False),  # the group (topic) the alert was for
    _thread(),
    sa.Column("subject_key", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("dedupe_key", sa.Text, nullable=False),  # the alert's: finds its outbox row
    sa.Column("payload", sa.Text, nullable=False),  # the Alert as JSON
    sa.Column("steps", sa.Text),  # JSON: the chat's chain when armed (NULL: not yet)
    sa.Column("rounds", sa.Integer, nullable=False, server_default="1"),
    sa.Column("step", sa.Integer, nullable=False, server_default="0"),  # the next step (flat)
    _time("next_at"),
    sa.Column("state", sa.Text, nullable=False, server_default="open"),
    _time("opened_at"),
    _time("closed_at", nullable=True),  # acknowledged, silenced, resolved, exhausted: when
    sa.Column("closed_by", BigId),  # who took it (NULL: it cleared by itself)
    sa.Column("closed_reason", sa.Text),  # 'ack', 'silence' or the kind that resolved it
    sa.Column("notice", sa.Integer, nullable=False, server_default="0"),  # copies to edit
    sa.Column("claimed_by", sa.Text),  # the process performing its step now
    _time("claimed_until", nullable=True),
    sa.UniqueConstraint("chat_id", "thread_id", "dedupe_key"),
    sa.CheckConstraint(
        "state IN ('open', 'acked', 'resolved', 'exhausted', 'off')", name="escalations_state"
    ),
    sqlite_autoincrement=True,
)
sa.Index("escalations_due", escalations.c.state, escalations.c.next_at)
sa.Index("escalations_subject", escalations.c.subject_key, escalations.c.state)
sa.Index("escalations_notice", escalations.c.notice)

escalation_copies = sa.Table(
    "escalation_copies",
    metadata,
    sa.Column("escalation_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("step", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),  # a group or a person
    sa.Column("message_id", BigId),  # NULL: Telegram refused it (error says why)
    sa.Column("text", sa.Text, nullable=False, server_default=""),  # HTML, to edit it later
    sa.Column("error", sa.Text),
    _time("sent_at"),
)
sa.Index("escalation_copies_message", escalation_copies.c.chat_id, escalation_copies.c.message_id)

escalation_chains = sa.Table(
    "escalation_chains",
    metadata,
    sa.Column("chat_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("thread_id", BigId, primary_key=True, server_default="0"),
    sa.Column("steps", sa.Text, nullable=False),  # JSON: [{"wait": 10, "to": "chat"}, …]
    sa.Column("updated_by", BigId),
    _time("updated_at"),
)

oncall_shifts = sa.Table(
    "oncall_shifts",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("chat_id", BigId, nullable=False),
    _thread(),
    sa.Column("user_id", BigId, nullable=False),
    # 'shift': on call on ``days`` from ``start`` to ``end`` (local times in the chat's zone);
    # 'rotation': one of a weekly rotation, in ``position`` order, handed over on ``days`` (one
    # weekday) at ``start``.
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("days", sa.Text, nullable=False),  # weekdays 0=Monday, as "0,1,2,3,4"
    sa.Column("start", sa.Text, nullable=False),  # HH:MM
    sa.Column("end", sa.Text, nullable=False),  # HH:MM
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("added_by", BigId),
    _time("created_at"),
    sa.CheckConstraint("mode IN ('shift', 'rotation')", name="oncall_shifts_mode"),
    sqlite_autoincrement=True,
)
sa.Index("oncall_shifts_chat", oncall_shifts.c.chat_id, oncall_shifts.c.thread_id)
