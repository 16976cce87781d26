"""Who runs the background work: one leader per database, the other processes stand by.

Watchers, scheduler jobs, the alert sender, directory syncs, live-location follows (and, in
polling mode, getUpdates: Telegram allows one long-polling consumer per token) run only in the
leader. Two backends:

- **PostgreSQL** (:class:`AdvisoryLockLeadership`): the leader holds a session-level advisory
  lock (``pg_try_advisory_lock``) on a connection of its own. A standby tries for it every
  ``takeover/3`` seconds. PostgreSQL releases the lock the moment the holder's session ends —
  a SIGKILLed process's socket is closed by the kernel, so at once; a vanished host or a hung
  process within about ``2 × takeover`` seconds (at least 10), since the lock's session asks
  the server to drop it after that long without a word (TCP keepalives,
  ``idle_session_timeout``).
  The leader checks its connection every ``takeover/5`` seconds (at most ``takeover/10``, and
  not under a second, for an answer); a failed or late check is a lost lock, and
  :attr:`Leadership.lost` is set so the app stops its background work at once.
  A new leader waits out one check period (plus its timeout) after taking the lock before it
  starts anything: a leader whose session the server ended without it knowing (a network cut)
  has noticed by then and stopped. Worst case from a leader's death to the new leader's
  start: ``takeover/3 + takeover/5 + max(takeover/10, 1)``: 0.63 × ``LEADER_TAKEOVER_SECONDS``
  for the default 15 s.
- **SQLite** (:class:`SoleWriterLeadership`): a SQLite file has one writer; the database itself
  holds an exclusive OS lock on ``<file>.lock`` (storage/db.py, ``exclusive=True``), so a
  second ``logibot run`` on the same file stops at start saying why, and the one running is
  the leader from the start. (A standby on the same machine and file would buy nothing: the
  file does not outlive the machine. More than one process needs PostgreSQL.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger(__name__)

# The advisory lock's key: "logibot" in ASCII. Advisory locks are per database, so two bots on
# two databases of one server never meet.
LOCK_KEY = int.from_bytes(b"logibot", "big")
MIN_CHECK_TIMEOUT = 1.0
MIN_IDLE_SESSION_SECONDS = 10


class Role(StrEnum):
    STARTING = "starting"  # not campaigning yet (the database or Telegram not reached)
    STANDBY = "standby"
    LEADER = "leader"


class Leadership(Protocol):
    role: Role
    lost: asyncio.Event  # set when a leader loses its lock

    async def acquire(self) -> None:
        """Return once this process is the leader (waiting as a standby until then)."""
        ...

    async def release(self) -> None:
        """Give the role up (at shutdown): a standby may take over at once."""
        ...


class SoleWriterLeadership:
    """SQLite: the process that holds the database file is the leader, for as long as it runs."""

    def __init__(self) -> None:
        self.role = Role.STARTING
        self.lost = asyncio.Event()  # never set: the file lock lives as long as the process

    async def acquire(self) -> None:
        self.role = Role.LEADER

    async def release(self) -> None:
        self.role = Role.STARTING


class AdvisoryLockLeadership:
    """PostgreSQL: a session-level advisory lock on a dedicated connection."""

    def __init__(self, db: Database, takeover_seconds: float, *, key: int = LOCK_KEY) -> None:
        self.db = db
        self.key = key
        self.takeover_seconds = takeover_seconds
        self.poll_seconds = takeover_seconds / 3  # a standby's tries
        self.check_seconds = takeover_seconds / 5  # the leader's look at its connection
        # A check that takes longer than this is a lost lock: not below a second, so that a
        # busy database or machine does not pass for a dead one.
        self.check_timeout = max(takeover_seconds / 10, MIN_CHECK_TIMEOUT)
        self.role = Role.STARTING
        self.lost = asyncio.Event()
        self._stack: AsyncExitStack | None = None
        self._connection: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def fence_seconds(self) -> float:
        """How long a new leader waits before it starts: an old leader that lost the lock
        without knowing has seen it by then (its next check failed or timed out)."""
        return self.check_seconds + self.check_timeout

    async def acquire(self) -> None:
        self.role = Role.STANDBY
        while True:
            if await self._try_lock():
                # Checked again after the fence: the lock may have gone with the connection.
                await asyncio.sleep(self.fence_seconds)
                if await self._holds_lock():
                    break
                log.warning("leadership: the lock was lost while fencing; standing by again")
                await self._disconnect()
            await asyncio.sleep(self.poll_seconds)
        self.role = Role.LEADER
        self.lost.clear()
        self._watch = asyncio.create_task(self._watch_lock(), name="leader-watch")
        log.info("leadership: this process is the leader now")

    async def release(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await self._disconnect()  # the session ends: PostgreSQL releases the lock
        self.role = Role.STARTING

    # --- the lock's connection ----------------------------------------------------------------
    async def _try_lock(self) -> bool:
        """One try; a database that cannot be reached is "not now" (and logged)."""
        try:
            async with asyncio.timeout(self.takeover_seconds):
                connection = await self._connect()
                return bool(await self._scalar(connection, "SELECT pg_try_advisory_lock(:key)"))
        except Exception as exc:
            log.warning("leadership: cannot try the lock (%s: %s)", type(exc).__name__, exc)
            await self._disconnect()
            return False

    async def _holds_lock(self) -> bool:
        """Whether the lock's session is alive and still holds the lock (within the timeout)."""
        connection = self._connection
        if connection is None:
            return False
        try:
            async with asyncio.timeout(self.check_timeout):
                held = await self._scalar(
                    connection,
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid()",
                )
        except Exception as exc:
            log.error("leadership: the lock's connection failed (%s: %s)", type(exc).__name__, exc)
            return False
        return bool(held)

    async def _watch_lock(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            if not await self._holds_lock():
                self.role = Role.STANDBY
                log.error("leadership: LOST the lock: stopping the background work")
                self.lost.set()
                return

    async def _connect(self) -> AsyncConnection:
        if self._connection is not None:
            return self._connection
        stack = AsyncExitStack()
        try:
            connection = await stack.enter_async_context(self.db.dedicated_connection())
            await self._session_settings(connection)
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._connection = stack, connection
        return connection

    async def _session_settings(self, connection: AsyncConnection) -> None:
        """Ask the server to end this session (releasing the lock) when its client is gone —
        a host that vanished, a process that hangs — within about ``takeover`` seconds."""
        seconds = max(1, int(self.takeover_seconds))
        settings = {
            "tcp_keepalives_idle": max(1, seconds // 3),
            "tcp_keepalives_interval": max(1, seconds // 6),
            "tcp_keepalives_count": 2,
            # The leader checks every takeover/5 s: silence for twice `takeover` means it is
            # stuck (a standby tries every takeover/3 s, a new leader fences a while).
            "idle_session_timeout": f"{max(2 * seconds, MIN_IDLE_SESSION_SECONDS) * 1000}",
        }
        for name, value in settings.items():
            try:
                await connection.exec_driver_sql(f"SET {name} = {value}")
            except Exception as exc:  # an older server (idle_session_timeout is 14+)
                log.info("leadership: %s not set (%s)", name, exc)

    async def _disconnect(self) -> None:
        stack, self._stack, self._connection = self._stack, None, None
        if stack is not None:
            try:
                async with asyncio.timeout(self.check_timeout):
                    await stack.aclose()
            except Exception as exc:  # a dead connection may not close cleanly: let it go
                log.info("leadership: closing the lock's connection: %s", exc)

    async def _scalar(self, connection: AsyncConnection, sql: str) -> object:
        from sqlalchemy import text

        result = await connection.execute(text(sql), {"key": self.key})
        return result.scalar()


def leadership_for(db: Database, takeover_seconds: float) -> Leadership:
    if db.is_sqlite:
        return SoleWriterLeadership()
    return AdvisoryLockLeadership(db, takeover_seconds)
