"""Alembic's environment: run by `storage.migrate` at start with the bot's own connection, or by
the ``alembic`` command (``alembic -c storage/alembic.ini revision --autogenerate -m "..."``)
against ``DATABASE_URL`` (or ``DATABASE_PATH``), as the bot reads them."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from storage.migrate import is_ours
from storage.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=is_ours,
        # SQLite alters a table by copying it: autogenerate writes batch operations.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_the_command_line() -> None:
    from storage.db import Database

    url = os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_PATH", "data/logibot.sqlite3")
    db = Database(url)
    await db.open(migrate=False)
    try:
        async with db.transaction() as tx:
            await tx.connection.run_sync(run_migrations)
    finally:
        await db.close()


given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    asyncio.run(run_from_the_command_line())
