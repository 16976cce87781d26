"""`make bench` on both databases: some sections run again on PostgreSQL, in a throwaway
cluster this run starts on first use and removes at its end (sandbox/pg_cluster.py).

A section that runs on both takes ``database_url`` (None: its own SQLite file) and is listed a
second time as ``OnPostgres(section)``, whose rows are named "… [PostgreSQL]".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import ModuleType

from bench.report import Row
from sandbox.pg_cluster import ThrowawayPostgres

_cluster: ThrowawayPostgres | None = None


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


@contextmanager
def new_database() -> Iterator[str]:
    """A new, empty database of the run's cluster (its URL), dropped afterwards."""
    url = asyncio.run(cluster().new_database())
    try:
        yield url
    finally:
        asyncio.run(cluster().drop_database(url))


class OnPostgres:
    """``section`` (a module) again, on a new PostgreSQL database (bench/isolated.py runs it)."""

    def __init__(self, section: ModuleType) -> None:
        self.section = section
        self.TITLE = f"{section.TITLE} [PostgreSQL]"

    @staticmethod
    def named(rows: list[Row]) -> list[Row]:
        return [replace(row, name=f"{row.name} [PostgreSQL]") for row in rows]
