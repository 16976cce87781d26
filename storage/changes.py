"""What a repository may remember of the tables every update reads, and when it must forget.

Every update reads its person (``users``), their wizard step (``fsm_states``), their chat's zone
(``chat_prefs``) and language (``setting_values``): four reads before a handler runs. The
repositories of those tables remember what they read, for as long as it is known to be true:

- **SQLite**: one process owns the file (``Database(exclusive=True)``), so every write passes
  through this process: the repository forgets on its own writes and on every commit.
- **PostgreSQL**: other replicas write too. A trigger on each of the four tables (Alembic 0013)
  sends ``NOTIFY logibot_changes, '<table> <key>'`` with every changed row, delivered when its
  transaction commits; :class:`ChangeListener` LISTENs on a connection of its own and forgets
  the row in every repository. Until it listens — and from the moment its connection is lost
  until it listens again — nothing is remembered and every read goes to the database.

A read remembers its answer only if nothing changed while it ran (:attr:`Changes.generation`
did not move): a read that started before another process's commit and ended before the
notice arrived is forgotten when the notice arrives; one that overlapped the notice is never
stored. So a replica sees another's change within the notice's delay (milliseconds), and its
own at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

CHANNEL = "logibot_changes"
# The tables with a trigger (Alembic 0013) and a repository that remembers them.
FOLLOWED_TABLES = ("users", "fsm_states", "chat_prefs", "setting_values")
CHECK_SECONDS = 5.0  # the listening connection is asked for an answer this often
CHECK_TIMEOUT = 3.0  # ... and is lost when it does not answer within this
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)  # waits between tries to listen again, then the last

# A row's key as the trigger sends it (the text after the table's name; None: the whole table).
Forget = Callable[[str | None], None]


class Changes:
    """The generation of what was read, and who forgets what when a table changes."""

    def __init__(self, *, trusted: bool) -> None:
        # SQLite: True from the start (this process is the only writer). PostgreSQL: True only
        # while the ChangeListener listens.
        self._trusted = trusted
        self.generation = 0
        self._forgetters: dict[str, list[Forget]] = {}
        self._followers: dict[str, list[Callable[[], None]]] = {}

    @property
    def trusted(self) -> bool:
        """Whether a repository may answer from (and add to) what it remembers."""
        return self._trusted

    def on_change(self, table: str, forget: Forget) -> None:
        """``forget(key)`` for each changed row of ``table`` (``None``: forget the table)."""
        self._forgetters.setdefault(table, []).append(forget)

    def on_remote_change(self, table: str, follow: Callable[[], None]) -> None:
        """``follow()`` whenever a notice says ``table`` changed (PostgreSQL: any process's
        commit, this one's included), after what was remembered of it is forgotten."""
        self._followers.setdefault(table, []).append(follow)

    def committed(self) -> None:
        """This process committed a transaction: a read that overlapped it must not be stored."""
        self.generation += 1

    def changed(self, table: str, key: str | None = None) -> None:
        """A row of ``table`` changed (``key`` None: any row): forget it everywhere."""
        self.generation += 1
        for forget in self._forgetters.get(table, ()):
            forget(key)

    def noticed(self, table: str, key: str | None) -> None:
        """A notice from the database (any process's commit)."""
        self.changed(table, key)
        for follow in self._followers.get(table, ()):
            try:
                follow()
            except Exception:
                log.exception("changes: following a change of %s failed", table)

    def set_trusted(self, trusted: bool) -> None:
        """Listening began or ended: either way, everything remembered so far is suspect."""
        self._trusted = trusted
        self.generation += 1
        for forgetters in self._forgetters.values():
            for forget in forgetters:
                forget(None)


def parse_notice(payload: str) -> tuple[str, str | None]:
    """``"users 42"`` -> ``("users", "42")``; ``"chat_prefs"`` -> ``("chat_prefs", None)``."""
    table, _, key = payload.partition(" ")
    return table, key or None


class ChangeListener:
    """PostgreSQL: LISTEN on a connection of its own for as long as the process runs; every
    notice is handed to :meth:`Changes.noticed`. A lost connection distrusts the caches at once
    and is opened again (after a short wait, growing to :data:`RECONNECT_SECONDS`' last)."""

    def __init__(
        self,
        changes: Changes,
        connect: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
    ) -> None:
        """``connect``: a connection of its own, outside any pool (Database's
        ``dedicated_connection``): a LISTEN lasts as long as its session."""
        self.changes = changes
        self.connect = connect
        self.listening = asyncio.Event()  # set while LISTEN is in force
        self._task: asyncio.Task[None] | None = None
        self._listened = False  # since the last try
        self.server_pid: int | None = None  # the listening session's backend (pg_stat_activity)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="change-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        tries = 0
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "changes: not listening (%s: %s); every read goes to the database",
                    type(exc).__name__,
                    exc,
                )
            if self._listened:  # it listened, then lost the connection: try again soon
                tries, self._listened = 0, False
            await asyncio.sleep(RECONNECT_SECONDS[min(tries, len(RECONNECT_SECONDS) - 1)])
            tries += 1

    async def _listen(self) -> None:
        async with self.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg.Connection
            closed = asyncio.Event()
            driver.add_termination_listener(lambda _connection: closed.set())
            await driver.add_listener(CHANNEL, self._on_notice)
            self.server_pid = driver.get_server_pid()
            self.changes.set_trusted(True)
            self.listening.set()
            self._listened = True
            log.info("changes: listening for %s", ", ".join(FOLLOWED_TABLES))
            try:
                while not closed.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(CHECK_SECONDS):
                            await closed.wait()
                    if not closed.is_set():
                        # A connection that went quiet (a cut network) sends no close: ask.
                        async with asyncio.timeout(CHECK_TIMEOUT):
                            await driver.execute("SELECT 1")
            finally:
                self.listening.clear()
                self.changes.set_trusted(False)
            raise ConnectionError("the listening connection was closed")

    def _on_notice(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        table, key = parse_notice(payload)
        self.changes.noticed(table, key)
