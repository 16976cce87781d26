"""Where the throwaway PostgreSQL's server binaries come from, and saying so when there are none
(the tests that need it then fail; they are never skipped)."""

import importlib.util

import pytest

import sandbox.pg_cluster as pg_cluster
from sandbox.pg_cluster import NoPostgres, find_bindir


def server_binaries(folder):
    folder.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl", "postgres"):
        (folder / tool).write_text("")
    return folder


@pytest.fixture
def bare_machine(monkeypatch, tmp_path):
    """No PG_BINDIR, no Debian server, nothing on the PATH, no pgserver package."""
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(pg_cluster, "DEBIAN_VERSIONS", tmp_path / "none")
    monkeypatch.setattr(pg_cluster.shutil, "which", lambda name: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    return tmp_path


def test_no_server_binaries_is_said_not_skipped(bare_machine):
    with pytest.raises(NoPostgres, match="no PostgreSQL server binaries"):
        find_bindir()


def test_the_newest_debian_server_is_taken(bare_machine, monkeypatch):
    versions = bare_machine / "versions"
    server_binaries(versions / "9.6" / "bin")
    newest = server_binaries(versions / "15" / "bin")
    (versions / "16" / "bin").mkdir(parents=True)  # the client only: no server there
    monkeypatch.setattr(pg_cluster, "DEBIAN_VERSIONS", versions)
    assert find_bindir() == newest


def test_pg_bindir_comes_first(bare_machine, monkeypatch):
    server_binaries(bare_machine / "versions" / "15" / "bin")
    monkeypatch.setattr(pg_cluster, "DEBIAN_VERSIONS", bare_machine / "versions")
    chosen = server_binaries(bare_machine / "mine")
    monkeypatch.setenv("PG_BINDIR", str(chosen))
    assert find_bindir() == chosen
