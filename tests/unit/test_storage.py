"""The storage suite: every test here runs on SQLite and on PostgreSQL (``backend``), but for the
few about one engine's own machinery (WAL, the file lock, an old SQLite file's upgrade)."""

import asyncio
import contextlib
import sqlite3
import warnings
from dataclasses import replace
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from storage import Repos
from storage import legacy_migrations as legacy
from storage.chats import ChatStatus
from storage.db import Database, DatabaseLocked, utcnow
from storage.live_follows import LiveFollow
from storage.migrate import current_revision, head, is_ours
from storage.outbox import NewOutboxRow, OutboxRepo, chat_due_query, insert_rows
from storage.schema import metadata
from storage.users import Role

BIG_CHAT = -1_002_345_678_901  # a supergroup id: more than 32 bits


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


@pytest.fixture
async def db(database_url):
    async with Database(database_url) as db:
        yield db


def outbox_row(chat_id: int, key: str, *, thread_id: int = 0) -> NewOutboxRow:
    return NewOutboxRow(
        chat_id=chat_id,
        thread_id=thread_id,
        dedupe_key=key,
        kind="driver.late",
        severity=2,
        subject_key="driver:79990000001",
        payload="{}",
        not_before=utcnow() - timedelta(seconds=1),
    )


async def schema_differences(db: Database) -> list[object]:
    """What Alembic finds between the database and storage/schema.py (nothing, we want)."""

    def compare(sync: Connection) -> list[object]:
        context = MigrationContext.configure(sync, opts={"include_name": is_ours})
        with warnings.catch_warnings():
            # SQLite cannot reflect the index on lower(username); PostgreSQL compares it.
            warnings.filterwarnings("ignore", ".*expression-based index")
            return compare_metadata(context, metadata)

    return await db.inspect(compare)


# --- migrations ------------------------------------------------------------------------------
async def test_a_new_database_gets_the_whole_schema_at_open(db):
    assert await current_revision(db) == head()
    assert await schema_differences(db) == []


async def test_reopening_applies_nothing_twice(database_url):
    for _ in range(2):
        async with Database(database_url) as db:
            rows = await db.fetchall("SELECT version_num FROM alembic_version")
    assert [row.version_num for row in rows] == [head()]


async def test_two_processes_starting_at_once_migrate_once(database_url):
    first, second = Database(database_url), Database(database_url)
    try:
        await asyncio.gather(first.open(), second.open())
        assert await current_revision(first) == head()
    finally:
        await first.close()
        await second.close()


def make_old_file(path, version: int) -> None:
    """A SQLite file as a logibot before Alembic left it at ``version``, with a user in it."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for migration in legacy.MIGRATIONS:
            if migration.version <= version:
                conn.executescript(migration.sql)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, 'then')",
                    (migration.version, migration.name),
                )
        conn.execute(
            "INSERT INTO users (id, first_name, role, created_at, updated_at) "
            "VALUES (42, 'Анна', 'dispatcher', '2026-01-01T00:00:00+00:00', "
            "'2026-01-01T00:00:00+00:00')"
        )
        if 7 <= version < 14:  # a taxi order the bot sent, before creates had a table
            conn.execute(
                "INSERT INTO taximaster_orders (order_key, order_id, chat_id, user_id, payload, "
                "created_at, updated_at) VALUES ('key-7', 555, -5, 42, '{}', :at, :at)",
                {"at": "2026-01-01T00:00:00+00:00"},
            )


@pytest.mark.parametrize("version", [1, 9, 10, 11, 14, legacy.LATEST_VERSION])
async def test_an_old_sqlite_file_upgrades_in_place_keeping_its_data(tmp_path, version):
    path = tmp_path / "old.sqlite3"
    make_old_file(path, version)
    async with Database(path) as db:
        assert await current_revision(db) == head()
        # The same schema as a new database's; only, a primary key column the old migrations
        # wrote without NOT NULL says so (SQLite lets such a key be NULL; none ever is).
        differences = [
            d
            for d in await schema_differences(db)
            if not (
                isinstance(d, list)
                and d[0][0] == "modify_nullable"
                and metadata.tables[d[0][2]].c[d[0][3]].primary_key
            )
        ]
        assert differences == []
        user = await Repos.on(db).users.get(42)
        assert user is not None and user.role is Role.DISPATCHER and user.first_name == "Анна"
        if 7 <= version < 14:  # revision 0005 moved it to taximaster_creates
            order = await Repos.on(db).taximaster.get("key-7")
            assert order is not None and order.order_id == 555 and order.state == "created"
        history = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        recorded = max(version, legacy.BASELINE_VERSION)  # the old ones ran up to the baseline
        assert [r.version for r in history] == [
            m.version for m in legacy.MIGRATIONS if m.version <= recorded
        ]


async def test_sqlite_runs_in_wal_mode(tmp_path):
    async with Database(tmp_path / "bot.sqlite3") as db:
        assert await db.scalar("PRAGMA journal_mode") == "wal"


async def test_a_second_bot_on_the_same_sqlite_file_is_refused(tmp_path):
    async with Database(tmp_path / "bot.sqlite3", exclusive=True):
        with pytest.raises(DatabaseLocked, match="another logibot is running"):
            await Database(tmp_path / "bot.sqlite3", exclusive=True).open()
        async with Database(tmp_path / "bot.sqlite3") as reader:  # `logibot check` may look
            assert await reader.ping()
    async with Database(tmp_path / "bot.sqlite3", exclusive=True):  # released at close
        pass


# --- repositories ----------------------------------------------------------------------------
async def test_users_roles_and_admin_bootstrap(db):
    repos = Repos.on(db)
    await repos.users.ensure_admins([1, 2])
    assert [u.id for u in await repos.users.admins()] == [1, 2]
    await repos.users.touch(
        7, username="Ivan_P", first_name="Иван", last_name=None, language_code="ru"
    )
    assert (await repos.users.find_by_username("@ivan_p")).id == 7  # type: ignore[union-attr]
    await repos.users.set_role(7, Role.VIEWER, by=1)
    await repos.users.touch(
        7, username="ivan", first_name="Иван", last_name="П", language_code=None
    )
    user = await repos.users.get(7)
    assert user is not None and user.role is Role.VIEWER and user.language_code == "ru"
    assert user.full_name == "Иван П"


async def test_telegram_ids_beyond_32_bits(db):
    repos = Repos.on(db)
    await repos.chats.upsert(
        BIG_CHAT,
        type="supergroup",
        title="Склад",
        status=ChatStatus.APPROVED,
        added_by=7_000_000_001,
    )
    await repos.subscriptions.add(BIG_CHAT, 2_147_483_648, "all", by=7_000_000_001)
    chat = await repos.chats.get(BIG_CHAT)
    assert chat is not None and chat.added_by == 7_000_000_001
    assert [s.thread_id for s in await repos.subscriptions.of_chat(BIG_CHAT)] == [2_147_483_648]


async def test_chats_move_keeps_approval(db):
    chats = Repos.on(db).chats
    await chats.upsert(-5, type="group", title="Склад", status=ChatStatus.APPROVED, added_by=1)
    await chats.move(-5, -1005)
    assert await chats.get(-5) is None
    moved = await chats.get(-1005)
    assert moved is not None and moved.status is ChatStatus.APPROVED
    assert moved.type == "supergroup"


async def test_a_move_onto_rows_already_at_the_new_id(db):
    """What the new id already has gives way to the moved chat's rows, but an alert queued at
    both ids is sent once, at the new id."""
    repos = Repos.on(db)
    await repos.chats.upsert(
        -5, type="group", title="Склад", status=ChatStatus.APPROVED, added_by=1
    )
    for chat in (-5, -1005):
        await repos.subscriptions.add(chat, 0, "area:drivers", by=1)
        await repos.subscriptions.set_timezone(chat, 0, "Asia/Omsk" if chat == -5 else "UTC")
    async with db.transaction() as tx:
        await insert_rows(
            tx, [outbox_row(-5, "twin"), outbox_row(-1005, "twin"), outbox_row(-5, "own")]
        )
    assert await repos.chats.move(-5, -1005)
    assert [s.selector for s in await repos.subscriptions.of_chat(-1005)] == ["area:drivers"]
    assert await repos.subscriptions.of_chat(-5) == []
    assert (await repos.subscriptions.prefs(-1005)).timezone == "Asia/Omsk"
    due = sorted((row.chat_id, row.id) for row in await repos.outbox.due())
    assert [chat for chat, _ in due] == [-1005, -1005]
    left = await db.fetchall("SELECT state FROM outbox WHERE chat_id = -5")
    assert [row.state for row in left] == ["dropped"]
    assert not await repos.chats.move(-5, -1005)  # the second service message: nothing to move


async def test_chats_move_takes_confirmations_taxi_orders_and_live_follows_along(db):
    repos = Repos.on(db)
    await repos.chats.upsert(
        -5, type="group", title="Склад", status=ChatStatus.APPROVED, added_by=1
    )
    token = await repos.confirmations.create(user_id=1, chat_id=-5, action="x", payload={})
    create = await repos.taximaster.sending(
        order_key="key-1", chat_id=-5, thread_id=0, user_id=1, locale="ru", payload={}
    )
    follow = LiveFollow(-5, 0, "79991234567", "Петров", "ru", 42, utcnow(), 55.7, 37.6)
    await repos.live_follows.save(follow)
    await repos.live_follows.save(replace(follow, chat_id=-7))  # another group's stays

    assert await repos.chats.move(-5, -1005)

    claimed = await repos.confirmations.claim(token, user_id=1)
    assert claimed is not None and claimed.chat_id == -1005
    order = await repos.taximaster.get(create.create_id)
    assert order is not None and order.chat_id == -1005
    follows = {f.chat_id: f for f in await repos.live_follows.all()}
    assert set(follows) == {-1005, -7}
    assert follows[-1005].message_id == 0  # the old message stays in the old group
    assert follows[-7].message_id == 42


async def test_a_chats_zone_read_before_a_move_is_not_kept_after_it(db):
    """Every update reads its chat's zone; on SQLite the answer is remembered, but only until
    the next commit: the join of the new id reads it before the move brings the old group's."""
    repos = Repos.on(db)
    await repos.chats.upsert(
        -5, type="group", title="Склад", status=ChatStatus.APPROVED, added_by=1
    )
    await repos.subscriptions.set_timezone(-5, 0, "Asia/Omsk")
    assert (await repos.subscriptions.prefs(-1005)).timezone is None  # the join, first
    assert (await repos.subscriptions.prefs(-1005)).timezone is None  # remembered
    await repos.chats.move(-5, -1005)
    assert (await repos.subscriptions.prefs(-1005)).timezone == "Asia/Omsk"


async def test_confirmation_is_claimed_once(db):
    confirmations = Repos.on(db).confirmations
    token = await confirmations.create(user_id=1, chat_id=1, action="x", payload={"a": 1})
    assert await confirmations.claim(token, user_id=2) is None  # not theirs
    first = await confirmations.claim(token, user_id=1)
    assert first is not None and first.payload == {"a": 1}
    assert await confirmations.claim(token, user_id=1) is None


async def test_an_outbox_row_is_inserted_once_per_dedupe_key(db):
    async with db.transaction() as tx:
        assert await insert_rows(tx, [outbox_row(-1, "a"), outbox_row(-1, "b")]) == 2
    async with db.transaction() as tx:
        rows = [outbox_row(-1, "a"), outbox_row(-1, "c"), outbox_row(-2, "a")]
        assert await insert_rows(tx, rows) == 2  # -1/a was there
    assert await Repos.on(db).outbox.depth() == 4


async def test_key_ranges_read_right_where_the_database_sorts_by_language(postgres):
    """A server's database often sorts text by a language's rules, where ':' and ';' are equal
    at first: the key columns read by ranges sort by bytes all the same."""
    url = await postgres.new_database(icu_locale="ru-RU")
    try:
        async with Database(url) as db:
            repos = Repos.on(db)
            await repos.subscriptions.add(-1, 0, "all", "tag:Склад", by=1)
            await repos.subscriptions.add(-1, 0, "all", "task:5", by=1)
            found = await repos.subscriptions.for_subjects(["driver:7999"])
            assert [s.filter for s in found] == ["tag:Склад"]
            await repos.item_owners.record("task:5", chat_id=-1, thread_id=0, user_id=1)
            await repos.item_owners.record("taxi:1", chat_id=-1, thread_id=0, user_id=1)
            assert [o.subject_key for o in await repos.item_owners.of_type("task")] == ["task:5"]
    finally:
        await postgres.drop_database(url)


# --- the outbox claim ------------------------------------------------------------------------
async def test_two_senders_never_claim_the_same_rows(db):
    first, second = OutboxRepo(db), OutboxRepo(db)
    async with db.transaction() as tx:
        await insert_rows(tx, [outbox_row(-1, f"k{n}") for n in range(3)])
    claimed = await first.claim_for_chat(-1)
    assert len(claimed) == 3
    assert await second.claim_for_chat(-1) == []
    assert await second.due() == []
    await first.mark_sent([claimed[0].id], message_id=10)
    await second.release([row.id for row in claimed])  # not its claims: nothing changes
    assert await second.claim_for_chat(-1) == []
    await first.release([row.id for row in claimed])  # what it did not send
    assert [row.id for row in await second.claim_for_chat(-1)] == [r.id for r in claimed[1:]]


async def test_a_dead_senders_claim_ends_with_its_lease(db):
    dead, alive = OutboxRepo(db), OutboxRepo(db)
    async with db.transaction() as tx:
        await insert_rows(tx, [outbox_row(-1, "a")])
    assert len(await dead.claim_for_chat(-1, lease=timedelta(0))) == 1
    assert len(await alive.claim_for_chat(-1)) == 1
    assert await alive.release_all() == 1
    assert len(await dead.claim_for_chat(-1)) == 1


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has one writer: nothing to skip
async def test_a_claim_skips_rows_another_transaction_has_locked(db):
    """FOR UPDATE SKIP LOCKED: a claim does not wait for another sender's claim transaction,
    it takes the rows nobody holds."""
    async with db.transaction() as tx:
        await insert_rows(tx, [outbox_row(-1, "held"), outbox_row(-1, "free")])
    held = await db.scalar("SELECT id FROM outbox WHERE dedupe_key = 'held'")
    async with db.transaction() as tx:
        await tx.execute("SELECT id FROM outbox WHERE id = :id FOR UPDATE", {"id": held})
        # Were the lock waited for, this would never finish while the transaction is open.
        claimed = await asyncio.wait_for(OutboxRepo(db).claim_for_chat(-1), timeout=30)
    assert [row.id for row in claimed] != [held] and len(claimed) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_dedicated_connection_holds_a_session_lock_outside_the_pools(db):
    """What a leader election needs: a connection of its own whose session-level advisory lock
    lasts across transactions and ends when the connection does."""
    lock, try_lock = text("SELECT pg_advisory_lock(17)"), text("SELECT pg_try_advisory_lock(17)")
    async with db.dedicated_connection() as leader:
        await leader.execute(lock)
        async with db.transaction() as tx:  # the pools' connections are other sessions
            assert (await tx.execute(try_lock)).scalar() is False
        async with db.dedicated_connection() as other:
            assert (await other.execute(try_lock)).scalar() is False
    async with db.dedicated_connection() as successor:
        assert (await successor.execute(try_lock)).scalar() is True


# --- transactions ----------------------------------------------------------------------------
async def test_transaction_rolls_back_on_error(db):
    repos = Repos.on(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 'now')"
            )
            raise RuntimeError("boom")
    assert await repos.settings.get("a") is None
    await repos.settings.set("poll", {"movizor": 60}, by=1)
    assert await repos.settings.get("poll") == {"movizor": 60}


async def test_one_chats_due_rows_are_found_through_an_index(tmp_path):
    """The sender asks for one chat's due rows every round: that must not scan the backlog of
    every other chat (make bench measures it: the ratio at 100,000 vs 1,000 pending rows)."""
    async with Database(tmp_path / "plan.sqlite3") as db:
        query = chat_due_query(-1, "2026-01-01", limit=500)
        compiled = query.compile(db.writes.sync_engine, compile_kwargs={"literal_binds": True})
        plan = await db.fetchall(f"EXPLAIN QUERY PLAN {compiled}")
    details = " ".join(row.detail for row in plan)
    assert "USING INDEX outbox_chat_due (chat_id=? AND state=?" in details


async def test_a_read_never_sees_another_coroutines_open_transaction(db):
    inside = asyncio.Event()
    release = asyncio.Event()

    async def half_done_write() -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('k', '1', 'now')"
            )
            inside.set()
            await release.wait()
            raise RuntimeError("changed my mind")  # rolled back

    writer = asyncio.create_task(half_done_write())
    await inside.wait()
    assert await db.fetchone("SELECT value FROM settings WHERE key = 'k'") is None
    release.set()
    with pytest.raises(RuntimeError):
        await writer
    assert await db.fetchone("SELECT value FROM settings WHERE key = 'k'") is None


async def test_a_cancel_at_any_point_of_a_transaction_leaves_the_database_usable(db):
    async def write(key: str) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (:key, '1', 'now')",
                {"key": key},
            )
            await tx.execute("UPDATE settings SET value = '2' WHERE key = :key", {"key": key})

    # Cancel after 0, 1, 2… turns of the event loop: inside BEGIN, a statement, COMMIT.
    for turns in range(40):
        task = asyncio.create_task(write(f"c{turns:02d}"))
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await write(f"n{turns:02d}")  # the next transaction works
        # the cancelled one is all there or not at all
        row = await db.fetchone("SELECT value FROM settings WHERE key = :k", {"k": f"c{turns:02d}"})
        assert row is None or row.value == "2"
    assert await db.scalar("SELECT count(*) FROM settings WHERE key LIKE 'n%'") == 40


async def test_a_subscription_change_is_seen_whole_or_not_at_all(db):
    """Swapping what a chat hears (remove one, add another) never shows a moment of neither."""
    subs = Repos.on(db).subscriptions
    await subs.add(-1, 0, "area:drivers", by=1)
    done = False
    gaps = 0

    async def watch() -> None:
        nonlocal gaps
        while not done:
            gaps += not await subs.for_chat(-1, 0)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    for n in range(40):
        old, new = ("area:drivers", "area:tasks") if n % 2 == 0 else ("area:tasks", "area:drivers")
        await subs.change(-1, 0, "", add=[new], remove=[old], by=1)
    done = True
    await watcher
    assert gaps == 0
    assert [s.selector for s in await subs.for_chat(-1, 0)] == ["area:drivers"]
