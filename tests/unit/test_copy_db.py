"""`logibot copy-db`: every table, every row, from SQLite to PostgreSQL and back."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.copy_db import copy_db
from storage import Repos
from storage.chats import ChatStatus
from storage.cycle import CycleWrite, EndedSubject, commit_cycle
from storage.db import Database, utcnow
from storage.escalations import NewEscalation
from storage.history import HistoryEvent
from storage.live_follows import LiveFollow
from storage.mobiforce import Entry
from storage.outbox import NewOutboxRow
from storage.schema import metadata
from storage.taximaster import CreateState
from storage.users import Role

ROOT = Path(__file__).resolve().parents[2]
GROUP = -1_002_000_000_001


async def fill_every_table(repos: Repos) -> None:
    """A row (or a few) in each table, through the repositories that write them."""
    now = utcnow()
    await repos.users.touch(
        7, username="ivan", first_name="Иван", last_name=None, language_code="ru"
    )
    await repos.users.set_role(7, Role.DISPATCHER, by=1)
    await repos.chats.upsert(
        GROUP, type="supergroup", title="Склад «Юг»", status=ChatStatus.APPROVED, added_by=7
    )
    await repos.audit.record(7, "chat.added", GROUP, title="Склад")
    await repos.settings.set("poll", {"movizor": 60}, by=7)
    async with repos.db.transaction() as tx:
        await repos.setting_values.put(tx, "alta.poll_seconds", 120, by=7)
        await repos.setting_values.put(tx, "chat.zone", "Asia/Omsk", by=7, chat_id=GROUP)
    await repos.confirmations.create(user_id=7, chat_id=GROUP, action="x", payload={"a": 1})
    await repos.subscriptions.add(GROUP, 0, "area:drivers", "driver:79990000001", by=7)
    await repos.subscriptions.set_mute(GROUP, 3, now + timedelta(hours=1))
    await repos.alert_state.silence(
        GROUP, 0, "driver:79990000001", kind="driver.late", until=None, by=7
    )
    await repos.alert_state.set_card(GROUP, 0, "order:555", 4242)
    await repos.drivers.upsert("79990000001", "Петров", ("Склад",))
    await repos.mobiforce.upsert("template", [Entry("template", 5, "Монтаж", {"x": "y"})])
    taxi = await repos.taximaster.sending(
        order_key="key1", chat_id=GROUP, thread_id=0, user_id=7, locale="ru", payload={"to": "1"}
    )
    await repos.taximaster.move(
        taxi.create_id, CreateState.CREATED, expected=[CreateState.SENDING], order_id=555
    )
    await repos.mobiforce_creates.sending(
        "T-0001", chat_id=GROUP, thread_id=0, user_id=7, payload={"a": 1}, feed_usn=12
    )
    await repos.mobiforce_creates.created("T-0001", 3_000_000_001)
    await repos.mobiforce.save_search("Ромашка")
    await repos.alta_adds.sending("tok", chat_id=GROUP, thread_id=0, user_id=7, payload={"n": [1]})
    await repos.alta_adds.set_state("tok", "added", hashes={"hash": "abc"})
    await repos.item_owners.record("order:555", chat_id=GROUP, thread_id=0, user_id=7)
    await repos.alert_storms.add_summarized(GROUP, 0, 12, since=now, dense_at=now)
    await repos.live_follows.save(
        LiveFollow(GROUP, 0, "79990000001", "Петров", "ru", 99, now, 55.751244, 37.618423)
    )
    await repos.fsm.set_state("fsm:123456:-100:7:default", "TrackFlow:title")
    await repos.fsm.set_data("fsm:123456:-100:7:default", {"phone": "79990000001"})
    rows = [
        NewOutboxRow(GROUP, 0, f"late:{n}", "driver.late", 2, "driver:7999", "{}", now)
        for n in range(2500)  # more than one batch
    ]
    write = CycleWrite(
        source="movizor",
        rows=rows,
        state_changes=[("driver:79990000001", "driver.off_route", True)],
        ended=[EndedSubject("order:555", "taximaster", "555")],
        snapshots={"task-1": {"status": "new"}},
        cursor="1234",
        history=[
            HistoryEvent(GROUP, 0, now, "drivers", "driver.late", "driver:7999", f"late:{n}")
            for n in range(3)
        ],
        escalations=[NewEscalation(GROUP, 0, "driver:7999", "driver.late", "late:1", "{}")],
    )
    await commit_cycle(repos.db, write, now)
    await repos.digest_marks.claim(GROUP, 0, "2026-12-01", now)
    await repos.digest_marks.sent(GROUP, 0, "2026-12-01", now, message_id=77, late=True)
    await repos.escalations.add_copy(1, 0, 7, message_id=99, text="<b>x</b>", error=None, now=now)
    await repos.escalations.set_chain(GROUP, 0, '[{"wait": 5, "to": "chat"}]', by=7, now=now)
    await repos.oncall.add_shift(GROUP, 0, 7, [0, 1, 2], "09:00", "18:00", by=7, now=now)


async def contents(db: Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        table.name: [
            tuple(row)
            for row in await db.fetchall(select(table).order_by(*table.primary_key.columns))
        ]
        for table in metadata.sorted_tables
    }


@pytest.fixture
async def pg_url(postgres):
    url = await postgres.new_database()
    yield url
    await postgres.drop_database(url)


async def test_sqlite_to_postgresql_and_back_copies_every_row(tmp_path, pg_url, capsys):
    sqlite_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with Database(sqlite_url) as source:
        await fill_every_table(Repos.on(source))
        original = await contents(source)
    assert all(original.values()), "fill_every_table must put a row in every table"

    assert await copy_db(sqlite_url, pg_url) == 0
    out = capsys.readouterr().out
    assert "outbox" in out and "2500 -> 2500" in out and "copied and verified" in out
    async with Database(pg_url) as target:
        assert await contents(target) == original
        # The ids go on after the copied ones.
        repos = Repos.on(target)
        async with target.transaction() as tx:
            from storage.outbox import insert_rows

            row = NewOutboxRow(GROUP, 0, "new", "driver.late", 2, "driver:7999", "{}", utcnow())
            assert await insert_rows(tx, [row]) == 1
        assert await repos.outbox.depth() == 2501

    back = f"sqlite:///{tmp_path / 'back.sqlite3'}"
    assert await copy_db(pg_url, back) == 0
    async with Database(back) as again:
        copied = await contents(again)
    assert {k: v for k, v in copied.items() if k != "outbox"} == {
        k: v for k, v in original.items() if k != "outbox"
    }
    assert len(copied["outbox"]) == 2501


async def test_a_target_with_data_is_refused_and_left_as_it_was(tmp_path, capsys):
    source, target = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    async with Database(source) as db:
        await fill_every_table(Repos.on(db))
    async with Database(target) as db:
        await Repos.on(db).settings.set("mine", 1, by=None)
    assert await copy_db(f"sqlite:///{source}", f"sqlite:///{target}") == 2
    assert "empty database only" in capsys.readouterr().err
    async with Database(target) as db:
        assert await db.scalar("SELECT count(*) FROM outbox") == 0


async def test_a_sqlite_file_a_bot_is_running_on_is_not_copied(tmp_path, capsys):
    path = tmp_path / "a.sqlite3"
    async with Database(path, exclusive=True):  # the running bot
        code = await copy_db(f"sqlite:///{path}", f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert code == 2
    assert "another logibot is running" in capsys.readouterr().err


def test_the_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "copy-db", "sqlite:///" + str(tmp_path / "a.sqlite3"),
         "postgres://nobody:s3cret@127.0.0.1:1/none"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "nothing copied" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr  # the password is never shown
    assert "postgresql+asyncpg://nobody:***@127.0.0.1:1/none" in done.stdout
