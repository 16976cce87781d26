"""storage.taximaster: every create sent, its outcome, moved by compare-and-set."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest

from storage import Repos
from storage.db import Database, utcnow
from storage.taximaster import UNSETTLED, CreateState
from tests.unit.test_storage import make_old_file

PAYLOAD = {"phone": "89123456789", "source": "улица Малышева, 51"}


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


async def record(repos: Repos, key: str = "k1"):
    return await repos.taximaster.sending(
        order_key=key, chat_id=-100, thread_id=3, user_id=7, locale="en", payload=PAYLOAD
    )


async def test_a_create_is_recorded_before_it_is_sent_and_moved_once(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        row = await record(repos)
        assert row.state is CreateState.SENDING and row.order_id is None
        assert (row.chat_id, row.thread_id, row.user_id, row.locale) == (-100, 3, 7, "en")
        assert row.payload == PAYLOAD
        # A press and the start-up reconcile race: exactly one of them moves the row.
        moves = await asyncio.gather(
            repos.taximaster.move(
                row.create_id, CreateState.ADOPTED, expected=UNSETTLED, order_id=5001
            ),
            repos.taximaster.move(row.create_id, CreateState.DISMISSED, expected=UNSETTLED),
        )
        assert sorted(moves) == [False, True]
        after = await repos.taximaster.get(row.create_id)
        assert after is not None and after.state in (CreateState.ADOPTED, CreateState.DISMISSED)


async def test_unsettled_rows_and_the_orders_already_ours(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        sending = await record(repos, "a")
        unknown = await record(repos, "b")
        created = await record(repos, "c")
        await repos.taximaster.move(unknown.create_id, CreateState.UNKNOWN, expected=UNSETTLED)
        await repos.taximaster.move(
            created.create_id, CreateState.CREATED, expected=UNSETTLED, order_id=42
        )
        since = utcnow() - timedelta(hours=1)
        open_rows = await repos.taximaster.in_states(UNSETTLED, since=since)
        assert [r.create_id for r in open_rows] == [sending.create_id, unknown.create_id]
        assert await repos.taximaster.in_states(UNSETTLED, since=utcnow() + timedelta(1)) == []
        assert await repos.taximaster.order_ids() == {42}


async def test_rows_of_the_old_one_row_per_key_table_are_kept(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_old_file(path, 13)  # the last version with taximaster_orders
    with sqlite3.connect(path) as old:
        old.executemany(
            "INSERT INTO taximaster_orders (order_key, order_id, chat_id, thread_id, user_id, "
            "payload, created_at, updated_at) VALUES (?, ?, 1, 0, 2, '{}', "
            "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            [("answered", 5001), ("lost", None)],
        )
    async with Database(path) as db:
        repos = Repos.on(db)
        answered, lost = await repos.taximaster.get("answered"), await repos.taximaster.get("lost")
        assert answered is not None and answered.state is CreateState.CREATED
        assert lost is not None and lost.state is CreateState.UNKNOWN and lost.order_id is None
        assert await repos.taximaster.order_ids() == {5001, 555}  # 555: make_old_file's
