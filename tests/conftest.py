"""The databases the tests run on: SQLite always; PostgreSQL for the storage suite and the e2e
alerts and crash tests, in a throwaway cluster this session starts on first use and removes at
its end (sandbox/pg_cluster.py). Where the machine has no PostgreSQL server those tests FAIL,
saying so: they are never skipped.

A test (or a module: ``pytestmark``) marked ``both_databases`` runs once on each, by the
``backend`` it asks for directly or through ``database_url``; unmarked, it runs on SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sandbox.pg_cluster import NoPostgres, ThrowawayPostgres

DATABASES = ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("both_databases") is None:
        return
    chosen = any(
        mark.args and mark.args[0] == "backend"
        for mark in metafunc.definition.iter_markers("parametrize")
    )
    if not chosen:  # a test may still name its one database itself
        metafunc.parametrize("backend", DATABASES)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    try:
        cluster = ThrowawayPostgres().start()
    except NoPostgres as exc:
        pytest.fail(f"these tests run on PostgreSQL too: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def backend() -> str:
    """The database a test runs on (both, for a test marked ``both_databases``)."""
    return "sqlite"


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """An empty database of ``backend``: a new SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'logibot.sqlite3'}"
        return
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    url = await cluster.new_database()
    try:
        yield url
    finally:
        await cluster.drop_database(url)
