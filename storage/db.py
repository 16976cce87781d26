"""The SQLite database: one aiosqlite connection, WAL, busy timeout, migrations at start.

One connection is shared by the whole process. SQLite allows one writer at a time anyway, and a
single connection means a transaction must never interleave with another coroutine's writes, so
every write goes through :meth:`Database.transaction`, which holds an asyncio lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import MIGRATIONS, Migration

log = logging.getLogger(__name__)

# Positional (``?``) or, in new SQL, named (``:name``) parameters.
Params = Sequence[Any] | Mapping[str, Any]

BUSY_TIMEOUT_MS = 5000


def _wall_clock() -> datetime:
    return datetime.now(UTC)


# The one clock the bot reads "now" from. Only `make demo` changes it (set_clock): there the
# simulated services run faster than real time, and the bot's times must be theirs.
_clock: Callable[[], datetime] = _wall_clock


def utcnow() -> datetime:
    """Now, timezone-aware UTC, on the bot's clock."""
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Run the bot on ``clock`` (``None``: the wall clock again)."""
    global _clock
    _clock = clock or _wall_clock


def to_db_time(value: datetime) -> str:
    """Datetimes are stored as UTC ISO-8601 text, so they sort and compare as strings."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


IN_CHUNK = 500  # values per ``IN (...)`` list: well under any database's parameter limit


def in_lists(name: str, values: Iterable[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``:name0, :name1, …`` and their named parameters, ``IN_CHUNK`` values at a time, for
    ``WHERE x IN ({marks})`` over a list of any length (each distinct value once)."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        params = {f"{name}{i}": value for i, value in enumerate(chunk)}
        yield ", ".join(f":{key}" for key in params), params


class Database:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        # Reads go through a connection of their own: with WAL it sees only committed data, so a
        # read never sees another coroutine's half-done transaction on the writer connection.
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; we BEGIN explicitly.
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self.migrate(migrations)
        if str(self.path) != ":memory:":  # a second :memory: connection is another database
            self._reader = await aiosqlite.connect(self.path, isolation_level=None)
            self._reader.row_factory = aiosqlite.Row
            await self._reader.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await self._reader.execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- migrations --------------------------------------------------------------------
    async def schema_version(self) -> int:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        row = await self.fetchone("SELECT max(version) AS v FROM schema_migrations")
        return int(row["v"]) if row and row["v"] is not None else 0

    async def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> int:
        current = await self.schema_version()
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying migration %s: %s", migration.version, migration.name)
            async with self.transaction() as conn:
                for statement in _split_sql(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, to_db_time(utcnow())),
                )
            current = migration.version
        return current

    # --- queries -----------------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

        Safe under cancellation: BEGIN, COMMIT and ROLLBACK run in aiosqlite's thread, and a
        cancel that arrives while one is under way must not leave the shared connection inside
        a transaction nobody will end. So each is awaited to its end (shielded), and a cancel
        after BEGIN rolls back before it propagates.
        """
        async with self._write_lock:
            if self.conn.in_transaction:  # never expected; a leftover would block every write
                log.error("database connection was left inside a transaction: rolling back")
                await self._to_the_end("ROLLBACK")
            try:
                await self._to_the_end("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                await self._rollback()
                raise
            try:
                yield self.conn
                await self._to_the_end("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _to_the_end(self, sql: str) -> None:
        """Run ``sql`` and wait for it to finish even if the caller is cancelled meanwhile."""
        running = asyncio.ensure_future(self.conn.execute(sql))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await running
            raise

    async def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                await self._to_the_end("ROLLBACK")
            except asyncio.CancelledError:
                pass  # rolled back (waited for above); the caller's cancel is being raised
            except Exception:
                log.exception("ROLLBACK failed")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write statement in its own transaction; returns the number of rows changed."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    @property
    def reader(self) -> aiosqlite.Connection:
        return self._reader or self.conn

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """A read of committed data (never another coroutine's open transaction)."""
        async with self.reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """A read of committed data (never another coroutine's open transaction)."""
        async with self.reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def ping(self) -> bool:
        try:
            await self.fetchone("SELECT 1")
        except Exception:
            log.exception("database ping failed")
            return False
        return True


def _split_sql(script: str) -> Iterable[str]:
    """Split a migration script into statements, line by line, using SQLite's own notion of a
    complete statement (so a ';' inside a comment or a literal does not split)."""
    buffer: list[str] = []
    for line in script.splitlines():
        buffer.append(line)
        text = "\n".join(buffer)
        if sqlite3.complete_statement(text):
            yield text.strip()
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest and not all(line.strip().startswith("--") for line in buffer if line.strip()):
        raise ValueError(f"incomplete SQL statement in migration: {rest[:80]}")
