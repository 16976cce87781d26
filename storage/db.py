"""The database: SQLite (the embedded default) or PostgreSQL, with ONE set of queries for both.

SQLAlchemy 2 Core over the async drivers (aiosqlite, asyncpg). Repositories pass SQL text with
named parameters (``"... WHERE id = :id"``, ``{"id": 1}``) or a Core statement:

    row = await db.fetchone("SELECT title FROM chats WHERE id = :id", {"id": chat_id})
    async with db.transaction() as tx:
        await tx.execute(insert(outbox).values(...))
        await tx.executemany("DELETE FROM x WHERE k = :k", [{"k": 1}, {"k": 2}])

Reads (:meth:`Database.fetchone`, :meth:`Database.fetchall`) see committed data only: never the
half of another coroutine's open transaction. Writes go through :meth:`Database.transaction`.

How concurrency is kept differs, and only here:

- SQLite: one writer connection and an asyncio lock (SQLite has one writer at a time anyway),
  transactions BEGIN IMMEDIATE; WAL, so the read connection sees the last commit; a busy timeout.
  A second process on the same file must not write: ``Database(..., exclusive=True)`` (the bot)
  takes a lock file and refuses to open if another holds it.
- PostgreSQL: a pool of connections and real transactions, concurrently; the database's own row
  locks (``FOR UPDATE SKIP LOCKED`` in the outbox claim) and unique keys do the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import Connection, Table, event, text
from sqlalchemy.engine import URL, CursorResult, Row, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from storage.changes import Changes
from storage.migrate import upgrade

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
POOL_SIZE = 5  # PostgreSQL: connections for writes, and as many for reads (each may overflow)

# A row of any columns: by name (``row.title``) or, where thousands are read at once and the
# name lookup would cost more than the query, by position (``Subscription(*row)``).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
Statement = str | Executable
Params = Mapping[str, Any] | None
ManyParams = Params | Sequence[Mapping[str, Any]]  # a list: the statement once for each
T = TypeVar("T")


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


class DatabaseLocked(RuntimeError):
    """Another process holds this SQLite file."""


def engine_url(target: str | Path) -> URL:
    """``sqlite:///path`` or ``postgresql://user:pass@host/db`` (or a bare SQLite path) -> the
    URL of its async driver."""
    if isinstance(target, Path) or "://" not in target:
        return URL.create("sqlite+aiosqlite", database=str(target))
    url = make_url(target)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL scheme {url.drivername!r}: sqlite or postgresql")


@functools.lru_cache(maxsize=4096)
def _text(sql: str) -> Executable:
    return text(sql)


def _statement(statement: Statement) -> Executable:
    return _text(statement) if isinstance(statement, str) else statement


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the caller is cancelled meanwhile (then re-raise the
    cancel): a COMMIT or ROLLBACK is never left half-known."""
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


class Transaction:
    """The statements of one transaction (see :meth:`Database.transaction`)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection  # for Core constructs that want the connection itself

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    async def execute(self, statement: Statement, params: ManyParams = None) -> CursorResult[Any]:
        return await self.connection.execute(_statement(statement), params)

    async def executemany(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for each of ``rows`` (nothing at all for none)."""
        if rows:
            await self.connection.execute(_statement(statement), list(rows))

    async def fetchone(self, statement: Statement, params: Params = None) -> AnyRow | None:
        return (await self.execute(statement, params)).fetchone()

    async def fetchall(self, statement: Statement, params: Params = None) -> Sequence[AnyRow]:
        return (await self.execute(statement, params)).fetchall()


def insert_for(tx: Transaction, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` that takes ``.on_conflict_do_nothing(...)``/``.on_conflict_do_update(...)``:
    the same SQL on both engines, but SQLAlchemy keeps the construct per dialect. Imported
    when first used: a bot on SQLite never loads PostgreSQL's dialect (2 MB)."""
    if tx.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


class Database:
    def __init__(self, url: str | Path, *, exclusive: bool = False) -> None:
        """``url``: ``sqlite:///path``, ``postgresql://…`` or a SQLite file's path.
        ``exclusive``: this process is the file's only writer (SQLite; the bot sets it)."""
        self.url = engine_url(url)
        self.dialect = self.url.get_backend_name()
        self.exclusive = exclusive
        self._writes: AsyncEngine | None = None
        self._reads: AsyncEngine | None = None
        # SQLite: one writer at a time (a transaction must not interleave with another
        # coroutine's on the one connection). PostgreSQL: the database's own locks.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        # SQLite: reads share one connection, kept open (a pool's checkout costs as much as
        # the read itself); PostgreSQL: a pooled connection per read.
        self._reader: AsyncConnection | None = None
        self._read_lock = asyncio.Lock()
        self._lock_file: IO[bytes] | None = None
        # What the repositories may remember (storage/changes.py): on SQLite this process is
        # the only writer; on PostgreSQL only while a ChangeListener listens.
        self.changes = Changes(trusted=self.is_sqlite)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sole_writer(self) -> bool:
        """Every write goes through this object (SQLite: one process per file). On PostgreSQL
        other processes write too (what may be remembered: :attr:`changes`)."""
        return self.is_sqlite

    @property
    def sqlite_path(self) -> Path | None:
        """The file, on SQLite."""
        return Path(self.url.database or "") if self.is_sqlite else None

    @property
    def shown_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    # --- life --------------------------------------------------------------------------
    async def open(self, *, migrate: bool = True) -> None:
        """Connect, and bring the schema to the latest version (an empty database is created,
        an old SQLite file upgraded in place)."""
        if self.is_sqlite:
            self._open_sqlite()
        else:
            self._open_postgresql()
        if migrate:
            try:
                await upgrade(self)
            except BaseException:
                await self.close()
                raise

    def _open_sqlite(self) -> None:
        path = self.sqlite_path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.exclusive:
            self._lock(path)
        # isolation_level=None: no implicit transactions (the writer BEGINs explicitly);
        # timeout: how long a statement waits for another process's lock (busy timeout).
        args = {"connect_args": {"isolation_level": None, "timeout": BUSY_TIMEOUT_MS / 1000}}
        # One connection each: the writer (behind the lock), the reader. The pool does not
        # roll back on return: every transaction ends in COMMIT or ROLLBACK of its own.
        pool = {"pool_size": 1, "max_overflow": 0, "pool_reset_on_return": None}
        self._writes = create_async_engine(self.url, **args, **pool)
        self._reads = create_async_engine(
            self.url, **args, **pool, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True
        )

        @event.listens_for(self._writes.sync_engine, "connect")
        def _writer_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(self._writes.sync_engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # Take the write lock at BEGIN, not at the first write: a transaction that reads
            # first then writes cannot fail half-way on another process's lock. (Straight to
            # the driver: one trip to aiosqlite's thread instead of a cursor's three.)
            connection.connection.dbapi_connection.run_async(
                lambda driver: driver.execute("BEGIN IMMEDIATE")
            )

        @event.listens_for(self._reads.sync_engine, "connect")
        def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

    def _lock(self, path: Path) -> None:
        lock = (path.parent / (path.name + ".lock")).open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DatabaseLocked(
                f"another logibot is running on this database file ({path}); "
                "more than one process needs PostgreSQL (DATABASE_URL=postgresql://…)"
            ) from None
        self._lock_file = lock

    def _open_postgresql(self) -> None:
        pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_SIZE, "pool_pre_ping": True}
        self._writes = create_async_engine(self.url, **pool)
        self._reads = create_async_engine(
            self.url, **pool, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True
        )

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()
        for engine in (self._reads, self._writes):
            if engine is not None:
                await engine.dispose()
        self._reads = self._writes = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writes(self) -> AsyncEngine:
        if self._writes is None:
            raise RuntimeError("database is not open")
        return self._writes

    @property
    def reads(self) -> AsyncEngine:
        if self._reads is None:
            raise RuntimeError("database is not open")
        return self._reads

    # --- writes ------------------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN ... COMMIT, rolled back on any exception.

        Safe under cancellation: BEGIN, COMMIT and ROLLBACK are awaited to their end (shielded),
        a cancel after BEGIN rolls back, and a cancel inside a statement makes SQLAlchemy drop
        that connection (its state is unknown): the transaction is rolled back either way and
        the next one gets a good connection.
        """
        async with self._write_lock or contextlib.nullcontext():
            connection = await self.writes.connect()
            try:
                try:
                    await _to_the_end(connection.begin())
                except asyncio.CancelledError:
                    await self._rollback(connection)  # BEGIN ran (waited for above)
                    raise
                try:
                    yield Transaction(connection)
                except BaseException:
                    await self._rollback(connection)
                    raise
                await _to_the_end(connection.commit())
                self.changes.committed()
            finally:
                await _to_the_end(connection.close())

    @staticmethod
    async def _rollback(connection: AsyncConnection) -> None:
        try:
            await _to_the_end(connection.rollback())
        except asyncio.CancelledError:
            pass  # rolled back (waited for above); the caller's cancel is being raised
        except Exception:
            log.exception("ROLLBACK failed")

    async def execute(self, statement: Statement, params: Params = None) -> int:
        """One write statement in its own transaction; returns the number of rows changed."""
        async with self.transaction() as tx:
            return (await tx.execute(statement, params)).rowcount

    # --- reads -------------------------------------------------------------------------
    async def fetchone(self, statement: Statement, params: Params = None) -> AnyRow | None:
        """A read of committed data (never another coroutine's open transaction)."""
        async with self._reading() as connection:
            return (await connection.execute(_statement(statement), params)).fetchone()

    async def fetchall(self, statement: Statement, params: Params = None) -> Sequence[AnyRow]:
        """A read of committed data (never another coroutine's open transaction)."""
        async with self._reading() as connection:
            return (await connection.execute(_statement(statement), params)).fetchall()

    async def inspect(self, work: Callable[[Connection], T]) -> T:
        """Run a synchronous SQLAlchemy function (Alembic's, an inspector's) on a read
        connection."""
        async with self._reading() as connection:
            return await connection.run_sync(work)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        if not self.is_sqlite:
            async with self.reads.connect() as connection:
                yield connection
            return
        async with self._read_lock:
            if self._reader is None:
                self._reader = await self.reads.connect()
            try:
                yield self._reader
            except BaseException:
                # A failed or cancelled read may leave the connection in any state: the next
                # read gets a new one.
                reader, self._reader = self._reader, None
                with contextlib.suppress(Exception):
                    await _to_the_end(reader.close())
                raise

    async def scalar(self, statement: Statement, params: Params = None) -> Any:
        """The first column of the first row (None without rows)."""
        row = await self.fetchone(statement, params)
        return row[0] if row is not None else None

    async def ping(self) -> bool:
        try:
            await self.fetchone("SELECT 1")
        except Exception:
            log.exception("database ping failed")
            return False
        return True

    # --- for what needs a connection of its own ----------------------------------------
    @asynccontextmanager
    async def dedicated_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection outside the pools, held for as long as the caller needs (in autocommit):
        for a session-level lock such as ``pg_advisory_lock`` that must outlive transactions and
        must not return to a pool while held. Closed when the block ends."""
        engine = create_async_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                yield connection
        finally:
            await engine.dispose()
