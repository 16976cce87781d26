"""`logibot copy-db`: everything of one database into another, empty one (SQLite -> PostgreSQL
when a company moves to more than one process, or back), verified by row counts.

The source is read in one transaction (a consistent snapshot: on SQLite BEGIN IMMEDIATE also
keeps writers out meanwhile; on PostgreSQL REPEATABLE READ), the target written in one (all or
nothing), table by table in batches, ids kept. PostgreSQL's id sequences then continue after
the copied ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database, Transaction
from storage.schema import metadata

BATCH = 1000


class TargetNotEmpty(RuntimeError):
    """copy-db writes only into an empty database."""


@dataclass(frozen=True)
class Copied:
    table: str
    source_rows: int
    target_rows: int

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows


async def count_rows(connection: AsyncConnection | Transaction, table: Table) -> int:
    result = await connection.execute(select(func.count()).select_from(table))
    return int(result.scalar_one())


async def copy_database(source: Database, target: Database) -> list[Copied]:
    """Copy every table of the schema; returns the row counts of each, source and target."""
    tables = metadata.sorted_tables
    for table in tables:
        if await target.scalar(select(func.count()).select_from(table)):
            raise TargetNotEmpty(
                f"the target database already has rows in {table.name}: "
                "copy-db copies into an empty database only"
            )
    source_rows: dict[str, int] = {}
    async with source.writes.connect() as reading:
        if not source.is_sqlite:
            reading = await reading.execution_options(isolation_level="REPEATABLE READ")
        async with reading.begin(), target.transaction() as tx:
            for table in tables:
                source_rows[table.name] = await count_rows(reading, table)
                await _copy_table(reading, tx, table)
            if not target.is_sqlite:
                await _continue_sequences(tx, tables)
    copied = []
    for table in tables:
        in_target = int(await target.scalar(select(func.count()).select_from(table)))
        copied.append(Copied(table.name, source_rows[table.name], in_target))
    return copied


async def _copy_table(reading: AsyncConnection, tx: Transaction, table: Table) -> None:
    rows = await reading.stream(select(table).order_by(*table.primary_key.columns))
    async for batch in rows.partitions(BATCH):
        await tx.execute(insert(table), [dict(row._mapping) for row in batch])


async def _continue_sequences(tx: Transaction, tables: list[Table]) -> None:
    """PostgreSQL: the next id of each table with one is past the largest copied."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        await tx.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f"coalesce(max({column.name}), 1), max({column.name}) IS NOT NULL) "
                f"FROM {table.name}"
            )
        )
