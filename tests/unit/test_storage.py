import sqlite3

from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database
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
