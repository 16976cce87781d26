"""`make bench` on both databases: some sections run again on PostgreSQL, in a throwaway
cluster this run starts on first use and removes at its end (sandbox/pg_cluster.py).

A section that runs on both takes ``database_url`` (None: its own SQLite file) and is listed a
second time as ``OnPostgres(section)``, whose rows are named "… [PostgreSQL]".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from bench.report import Row
from sandbox.pg_cluster import ThrowawayPostgres

_cluster: ThrowawayPostgres | None = None


class DatabaseSection(Protocol):
    TITLE: str

    async def run(self, database_url: str | None = None) -> list[Row]: ...


def cluster() -> ThrowawayPostgres:
    global _cluster
    if _cluster is None:
        _cluster = ThrowawayPostgres().start()
    return _cluster


def stop() -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


class OnPostgres:
    """``section`` again, on a new PostgreSQL database."""

    def __init__(self, section: DatabaseSection) -> None:
        self.section = section
        self.TITLE = f"{section.TITLE} [PostgreSQL]"

    @property
    def module_name(self) -> str:
        """The section's module (bench/isolated.py runs it by name in a process of its own)."""
        return str(getattr(self.section, "__name__", ""))

    async def run(self) -> list[Row]:
        url = await cluster().new_database()
        try:
            rows = await self.section.run(database_url=url)
        finally:
            await cluster().drop_database(url)
        return self.named(rows)

    @staticmethod
    def named(rows: list[Row]) -> list[Row]:
        return [replace(row, name=f"{row.name} [PostgreSQL]") for row in rows]
