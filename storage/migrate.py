"""The schema brought to the latest version at start: Alembic, run in code on the bot's own
connection, in ONE transaction.

- An empty database gets every migration from the baseline (``0001``: the schema of the
  hand-written migrations 1-10).
- A SQLite file of an older logibot (``schema_migrations``) below 10 is brought to 10 by the
  old migrations and stamped with the baseline; one at 11-16 is stamped with the revision that
  made the same change; then it is upgraded like any other: in place, data kept.
- Two processes starting at once: on SQLite the transaction's BEGIN IMMEDIATE makes the second
  wait; on PostgreSQL a transaction-level advisory lock does.
- A database already at the latest revision (every start but the first after an upgrade) is
  told apart by plain SQL against the revision files' names, and Alembic is not imported at all:
  it costs the idle bot about 11 MB of memory for as long as it runs (``make bench``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import Connection, inspect, text

import storage.legacy_migrations as legacy

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

ALEMBIC_DIR = Path(__file__).parent / "alembic"
BASELINE = "0001"
# An old SQLite file's last hand-written migration -> the Alembic revision with that schema.
LEGACY_REVISIONS = {
    legacy.BASELINE_VERSION: BASELINE,
    11: "0002",
    12: "0003",
    13: "0004",
    14: "0005",
    15: "0006",
    16: "0007",
}
MIGRATION_LOCK_KEY = 1_702_017  # pg_advisory_xact_lock: one process migrates at a time
T = TypeVar("T")


class Migratable(Protocol):
    """What migrating needs of a :class:`storage.db.Database` (which calls :func:`upgrade`)."""

    @property
    def is_sqlite(self) -> bool: ...

    async def inspect(self, work: Callable[[Connection], T]) -> T: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...


def is_ours(name: str | None, type_: str, parent_names: object) -> bool:
    """What Alembic compares (``include_name``): not the table where logibot before Alembic
    recorded its migrations, which an upgraded SQLite file keeps as history."""
    return not (type_ == "table" and name == "schema_migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """Alembic's head revision (imports Alembic)."""
    revision = scripts().get_current_head()
    assert revision is not None
    return revision


@functools.cache
def latest_revision() -> str:
    """The head revision without Alembic: revisions are numbered ``NNNN`` in a line, each file
    named after its number, so the head is the highest (a test checks it equals :func:`head`)."""
    numbers = [
        match.group(1)
        for path in (ALEMBIC_DIR / "versions").glob("*.py")
        if (match := re.match(r"(\d{4})_", path.name))
    ]
    return max(numbers)


def recorded_revision(connection: Connection) -> str | None:
    """The revision the database says it is at (Alembic's ``alembic_version`` table), by plain
    SQL: None for a database Alembic has not touched."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def upgrade(db: Migratable) -> str:
    """Bring ``db`` to the head revision; returns it."""
    async with db.transaction() as tx:
        if not db.is_sqlite:
            await tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": MIGRATION_LOCK_KEY})
        await tx.connection.run_sync(_upgrade)
    return latest_revision()


def _upgrade(connection: Connection) -> None:
    current = recorded_revision(connection)
    if current == latest_revision():
        return  # Alembic stays unimported (see the module's note)
    from alembic import command

    config = alembic_config(connection)
    if current is None and connection.dialect.name == "sqlite":
        old = legacy.recorded_version(connection)
        if old is not None:
            legacy.upgrade_to_baseline(connection, old)
            command.stamp(config, LEGACY_REVISIONS[max(old, legacy.BASELINE_VERSION)])
    command.upgrade(config, "head")


async def current_revision(db: Migratable) -> str | None:
    return await db.inspect(recorded_revision)
