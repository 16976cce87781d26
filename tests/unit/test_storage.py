import asyncio
import contextlib
import sqlite3
from dataclasses import replace

import pytest

from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database, utcnow
from storage.live_follows import LiveFollow
from storage.migrations import LATEST_VERSION, MIGRATIONS
from storage.users import Role


async def test_fresh_database_is_at_the_latest_version_with_wal(tmp_path):
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    try:
        assert await db.schema_version() == LATEST_VERSION
        row = await db.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
    finally:
        await db.close()


async def test_an_old_database_migrates_in_place_keeping_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = Database(path)
    await old.open(migrations=MIGRATIONS[:1])
    assert await old.schema_version() == 1
    await old.execute(
        "INSERT INTO users (id, first_name, role, created_at, updated_at) "
        "VALUES (42, 'Анна', 'dispatcher', '2026-01-01T00:00:00+00:00', "
        "'2026-01-01T00:00:00+00:00')"
    )
    await old.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.schema_version() == LATEST_VERSION
        user = await Repos.on(db).users.get(42)
        assert user is not None and user.role is Role.DISPATCHER and user.first_name == "Анна"
        applied = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in applied] == [m.version for m in MIGRATIONS]
    finally:
        await db.close()


async def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "bot.sqlite3"
    for _ in range(2):
        db = Database(path)
        await db.open()
        await db.close()
    with sqlite3.connect(path) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert count == len(MIGRATIONS)


async def test_users_roles_and_admin_bootstrap(tmp_path):
    async with Database(tmp_path / "b.sqlite3") as db:
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


async def test_chats_move_keeps_approval(tmp_path):
    async with Database(tmp_path / "b.sqlite3") as db:
        chats = Repos.on(db).chats
        await chats.upsert(-5, type="group", title="Склад", status=ChatStatus.APPROVED, added_by=1)
        await chats.move(-5, -1005)
        assert await chats.get(-5) is None
        moved = await chats.get(-1005)
        assert moved is not None and moved.status is ChatStatus.APPROVED
        assert moved.type == "supergroup"


async def test_chats_move_takes_confirmations_taxi_orders_and_live_follows_along(tmp_path):
    async with Database(tmp_path / "b.sqlite3") as db:
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


async def test_confirmation_is_claimed_once(tmp_path):
    async with Database(tmp_path / "b.sqlite3") as db:
        confirmations = Repos.on(db).confirmations
        token = await confirmations.create(user_id=1, chat_id=1, action="x", payload={"a": 1})
        assert await confirmations.claim(token, user_id=2) is None  # not theirs
        first = await confirmations.claim(token, user_id=1)
        assert first is not None and first.payload == {"a": 1}
        assert await confirmations.claim(token, user_id=1) is None


async def test_transaction_rolls_back_on_error(tmp_path):
    async with Database(tmp_path / "b.sqlite3") as db:
        repos = Repos.on(db)
        try:
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 'now')"
                )
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert await repos.settings.get("a") is None
        await repos.settings.set("poll", {"movizor": 60}, by=1)
        assert await repos.settings.get("poll") == {"movizor": 60}


async def test_one_chats_due_rows_are_found_through_an_index(tmp_path):
    """The sender asks for one chat's due rows every round: that must not scan the backlog of
    every other chat (make bench measures it: the ratio at 100,000 vs 1,000 pending rows)."""
    async with Database(tmp_path / "plan.sqlite3") as db:
        plan = await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT * FROM outbox WHERE state = 'pending' AND chat_id = ? "
            "AND not_before <= ? ORDER BY id LIMIT 500",
            (-1, "2026-01-01"),
        )
    details = " ".join(row["detail"] for row in plan)
    assert "USING INDEX outbox_chat_due (chat_id=? AND state=?" in details


async def test_a_read_never_sees_another_coroutines_open_transaction(tmp_path):
    async with Database(tmp_path / "iso.sqlite3") as db:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def half_done_write() -> None:
            async with db.transaction() as conn:
                await conn.execute(
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


async def test_a_cancel_at_any_point_of_a_transaction_leaves_the_connection_usable(tmp_path):
    async with Database(tmp_path / "cancel.sqlite3") as db:

        async def write(n: int) -> None:
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES (?, '1', 'now')",
                    (f"k{n}",),
                )

        # Cancel after 0, 1, 2… turns of the event loop: inside BEGIN, the INSERT, COMMIT.
        for turns in range(12):
            task = asyncio.create_task(write(turns))
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert not db.conn.in_transaction, f"left inside a transaction after {turns} turns"
            await write(100 + turns)  # the next transaction works
        keys = await db.fetchall("SELECT key FROM settings WHERE key LIKE 'k1__'")
        assert len(keys) == 12


async def test_a_subscription_change_is_seen_whole_or_not_at_all(tmp_path):
    """Swapping what a chat hears (remove one, add another) never shows a moment of neither."""
    async with Database(tmp_path / "swap.sqlite3") as db:
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
            old, new = (
                ("area:drivers", "area:tasks") if n % 2 == 0 else ("area:tasks", "area:drivers")
            )
            await subs.change(-1, 0, "", add=[new], remove=[old], by=1)
        done = True
        await watcher
        assert gaps == 0
        assert [s.selector for s in await subs.for_chat(-1, 0)] == ["area:drivers"]
