"""What every update reads (its user, wizard step, chat's zone and language) is remembered, and
forgotten when anyone changes it: on PostgreSQL another replica's commit reaches this one as a
trigger's NOTIFY (storage/changes.py, Alembic 0013). Two ``Database`` objects on one PostgreSQL
database are two replicas here; each statement a replica sends is counted to tell a remembered
answer from a read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import event

from storage import Repos
from storage.changes import ChangeListener, Changes, parse_notice
from storage.db import Database
from storage.users import Role

NOTICE_WAIT = 5.0  # a notice crosses loopback in milliseconds; this only bounds a failure


@pytest.fixture
def backend() -> str:
    return "postgresql"


class Replica:
    """A Database, its repositories and its listener; counts the statements it sends."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.repos = Repos.on(db)
        self.listener = ChangeListener(db.changes, db.dedicated_connection)
        self.statements = 0

        @event.listens_for(db.reads.sync_engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            self.statements += 1

    async def reads(self, work: Callable[[], Awaitable[Any]]) -> int:
        """How many statements ``work`` sent."""
        before = self.statements
        await work()
        return self.statements - before


@asynccontextmanager
async def replica(url: str, *, listening: bool = True) -> AsyncIterator[Replica]:
    async with Database(url) as db:
        one = Replica(db)
        if listening:
            one.listener.start()
            async with asyncio.timeout(NOTICE_WAIT):
                await one.listener.listening.wait()
        try:
            yield one
        finally:
            await one.listener.stop()


async def remembered(one: Replica, work: Callable[[], Awaitable[Any]]) -> None:
    """Until ``work`` is answered from memory: the notices of the writes before it (this
    replica's own included) arrive a moment after their commits and make it read again."""
    async with asyncio.timeout(NOTICE_WAIT):
        while await one.reads(work) != 0:  # noqa: ASYNC110 - notices from the database
            await asyncio.sleep(0.01)


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(NOTICE_WAIT):
        while not await check():  # noqa: ASYNC110 - what it waits for is in another process
            await asyncio.sleep(0.01)


async def test_a_replica_remembers_what_it_read_and_hears_another_replicas_change(
    database_url: str,
):
    async with replica(database_url) as here, replica(database_url) as there:
        users, fsm = here.repos.users, here.repos.fsm
        await there.repos.users.set_role(5, Role.VIEWER, by=None)
        await there.repos.fsm.set_state("fsm:1:5:5", "Flow:title")
        assert (await users.get(5)).role is Role.VIEWER  # type: ignore[union-attr]
        assert await fsm.state("fsm:1:5:5") == "Flow:title"
        await remembered(here, lambda: users.get(5))
        await remembered(here, lambda: fsm.state("fsm:1:5:5"))

        await there.repos.users.set_role(5, Role.ADMIN, by=None)
        await there.repos.fsm.set_state("fsm:1:5:5", "Flow:point")

        async def role_is_admin() -> bool:
            user = await users.get(5)
            return user is not None and user.role is Role.ADMIN

        await until(role_is_admin)
        await until(lambda: _equals(fsm.state("fsm:1:5:5"), "Flow:point"))
        await remembered(here, lambda: users.get(5))  # and remembered again
        await there.repos.fsm.set_state("fsm:1:5:5", None)  # the wizard ends: the row goes
        await until(lambda: _equals(fsm.state("fsm:1:5:5"), None))


async def test_chat_preferences_and_settings_are_heard_too(database_url: str):
    async with replica(database_url) as here, replica(database_url) as there:
        prefs, values = here.repos.subscriptions, here.repos.setting_values
        assert (await prefs.prefs(-100, 0)).timezone is None
        assert await values.get("language", -100) is None
        await remembered(here, lambda: prefs.prefs(-100, 0))
        await remembered(here, lambda: values.get("language", -100))

        await there.repos.subscriptions.set_timezone(-100, 0, "Asia/Yekaterinburg")
        async with there.db.transaction() as tx:
            await there.repos.setting_values.put(tx, "language", "en", by=1, chat_id=-100)

        async def zone_heard() -> bool:
            return (await prefs.prefs(-100, 0)).timezone == "Asia/Yekaterinburg"

        async def language_heard() -> bool:
            stored = await values.get("language", -100)
            return stored is not None and stored.value == "en"

        await until(zone_heard)
        await until(language_heard)


async def test_a_truncated_table_is_forgotten_whole(database_url: str):
    async with replica(database_url) as here, replica(database_url) as there:
        await there.repos.users.set_role(5, Role.VIEWER, by=None)
        assert await here.repos.users.get(5) is not None
        await there.db.execute("TRUNCATE users")
        await until(lambda: _equals(here.repos.users.get(5), None))


async def test_nothing_is_remembered_until_it_listens_nor_while_its_connection_is_lost(
    database_url: str,
):
    async with replica(database_url, listening=False) as here:
        users = here.repos.users
        await users.set_role(5, Role.VIEWER, by=None)
        assert not here.db.changes.trusted
        assert await here.reads(lambda: users.get(5)) == 1
        assert await here.reads(lambda: users.get(5)) == 1  # not remembered: nobody listens

        here.listener.start()
        async with asyncio.timeout(NOTICE_WAIT):
            await here.listener.listening.wait()
        assert await here.reads(lambda: users.get(5)) == 1
        assert await here.reads(lambda: users.get(5)) == 0

        # The server ends the listening session (a restart, a failover of the server).
        killed = await here.db.scalar(
            "SELECT pg_terminate_backend(:pid)", {"pid": here.listener.server_pid}
        )
        assert killed is True

        async def distrusted() -> bool:
            return not here.db.changes.trusted

        await until(distrusted)
        # Whatever changed while nobody listened reaches this replica: it reads again.
        await here.db.execute("UPDATE users SET role = 'admin' WHERE id = 5")
        user = await users.get(5)
        assert user is not None and user.role is Role.ADMIN
        async with asyncio.timeout(NOTICE_WAIT):  # and it listens again by itself
            await here.listener.listening.wait()
        await remembered(here, lambda: users.get(5))
        user = await users.get(5)
        assert user is not None and user.role is Role.ADMIN


async def test_a_read_that_overlaps_a_change_is_not_remembered(database_url: str):
    """The other replica's commit lands while this replica's read is on the wire: the notice
    may arrive before the answer (it must not be stored) or after (it forgets it)."""
    async with replica(database_url) as here:
        users = here.repos.users
        await users.set_role(5, Role.VIEWER, by=None)
        await remembered(here, lambda: users.get(5))  # its own write's notice came and went
        here.db.changes.changed("users", "5")  # forgotten here, so the next get reads
        read = here.db.fetchone

        async def read_then_notice(*args: Any, **kwargs: Any) -> Any:
            row = await read(*args, **kwargs)  # the old row
            here.db.changes.noticed("users", "5")  # ... and the notice, before the answer
            return row

        here.db.fetchone = read_then_notice  # type: ignore[method-assign]
        assert (await users.get(5)).role is Role.VIEWER  # type: ignore[union-attr]
        here.db.fetchone = read  # type: ignore[method-assign]
        assert await here.reads(lambda: users.get(5)) == 1  # it was not remembered


def test_notices_name_a_table_and_maybe_a_row():
    assert parse_notice("users 42") == ("users", "42")
    assert parse_notice("fsm_states fsm:1:-100 5:5") == ("fsm_states", "fsm:1:-100 5:5")
    assert parse_notice("chat_prefs") == ("chat_prefs", None)


def test_a_notice_forgets_in_every_repository_and_moves_the_generation():
    changes = Changes(trusted=True)
    forgotten: list[str | None] = []
    followed: list[str] = []
    changes.on_change("users", forgotten.append)
    changes.on_remote_change("users", lambda: followed.append("users"))
    before = changes.generation
    changes.noticed("users", "42")
    changes.noticed("chat_prefs", None)  # nobody remembers it per row: the generation moves
    assert forgotten == ["42"] and followed == ["users"]
    assert changes.generation == before + 2
    changes.set_trusted(False)
    assert forgotten == ["42", None] and not changes.trusted


async def _equals(read: Awaitable[Any], expected: Any) -> bool:
    return await read == expected
