"""Opening the database, and saying what to do when its folder is not ours to write.

The classic: a host folder bind-mounted on the container's ``/data`` belongs to root, the bot
runs as an unprivileged uid, and SQLite says only "unable to open database file". The
operator needs the folder, the uid and the fix; they get them as a configuration error (exit 2).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from bot.config import ConfigError
from storage.db import Database, DatabaseLocked

# SQLite writes these beside the database (WAL mode): they must be writable too.
SIDE_FILES = ("", "-wal", "-shm")


async def open_database(db: Database) -> None:
    """Open (and migrate) the database, after checking that its folder and files are writable:
    checked first, because a failed connect leaves aiosqlite's thread behind, and SQLite's
    own message says nothing of permissions."""
    if db.sqlite_path is not None:
        problem = access_problem(db.sqlite_path)
        if problem is not None:
            raise ConfigError([problem])
    try:
        await db.open()
    except DatabaseLocked as exc:
        raise ConfigError([f"DATABASE_PATH: {exc}"]) from None


def access_problem(path: Path) -> str | None:
    """Why this process cannot create or write the database at ``path``; None if it can."""
    uid, gid = os.geteuid(), os.getegid()
    fix = (
        f"make it writable for uid {uid}: for a Docker bind mount, "
        f"`chown -R {uid}:{gid} <the host folder>` on the host (README, Docker)"
    )
    folder = path.absolute().parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not _can_create_in(existing):
        action = "write in" if existing == folder else f"create {folder} in"
        return (
            f"DATABASE_PATH: logibot runs as uid {uid} and cannot {action} the folder "
            f"{existing} ({_owner_and_mode(existing)}): {fix}"
        )
    for suffix in SIDE_FILES:
        file = path.with_name(path.name + suffix)
        if file.exists() and not _can_write(file):
            return (
                f"DATABASE_PATH: logibot runs as uid {uid} and cannot write {file} "
                f"({_owner_and_mode(file)}): {fix}"
            )
    return None


def _can_create_in(folder: Path) -> bool:
    """Tried for real: permission bits do not tell the whole story (ACLs, read-only mounts)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _can_write(file: Path) -> bool:
    try:
        with file.open("r+b"):
            return True
    except OSError:
        return False


def _owner_and_mode(path: Path) -> str:
    info = path.stat()
    return f"owner uid {info.st_uid}, mode {stat.filemode(info.st_mode)}"
