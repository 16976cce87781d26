"""A throwaway PostgreSQL cluster for the tests and the bench: created in a temporary folder,
listening on a free loopback port, removed when done.

    with ThrowawayPostgres() as pg:
        url = await pg.new_database()        # postgresql://logibot@127.0.0.1:PORT/t_1

The server binaries are the machine's own PostgreSQL (``/usr/lib/postgresql/<v>/bin``, or
``initdb`` on the PATH, or ``PG_BINDIR``), else the ones the ``pgserver`` package ships. Where
there are none, :class:`NoPostgres` says so: the tests fail rather than skip.

PostgreSQL refuses to run as root, so as root the cluster belongs to ``nobody`` (CI runs as root).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

DEBIAN_VERSIONS = Path("/usr/lib/postgresql")  # <version>/bin for each installed server
USER = "logibot"  # the cluster's superuser (trusted on loopback: nothing else can reach it)
UNPRIVILEGED = "nobody"  # who owns the cluster when we are root
SERVER_SETTINGS = {
    # A throwaway cluster: durability buys nothing and costs the tests time.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "listen_addresses": "127.0.0.1",
}


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """Where ``initdb``, ``pg_ctl`` and ``postgres`` are."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    debian = sorted(
        DEBIAN_VERSIONS.glob("*/bin"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
        reverse=True,
    )
    candidates += debian
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise NoPostgres(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: looked in "
        "PG_BINDIR, /usr/lib/postgresql/*/bin, the PATH and the pgserver package. "
        "Install them (Debian: apt-get install postgresql) or `pip install pgserver==0.1.4`, "
        "or point PG_BINDIR at them."
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.folder: Path | None = None
        self.port = 0
        self._names = itertools.count(1)
        self._owner: pwd.struct_passwd | None = None  # as root: who runs the server

    @property
    def data(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    # --- life --------------------------------------------------------------------------
    def start(self) -> ThrowawayPostgres:
        self.folder = Path(tempfile.mkdtemp(prefix="logibot-pg-"))
        atexit.register(self.stop)
        if os.geteuid() == 0:
            self._owner = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.folder, self._owner.pw_uid, self._owner.pw_gid)
        self._tool(
            "initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--no-locale",
            "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = _free_port()
            options = [f"-p {self.port}", f"-k {self.folder}"]
            options += [f"-c {name}={value}" for name, value in SERVER_SETTINGS.items()]
            try:
                self._tool(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                    "-w", "-t", "60", "-o", " ".join(options), "start",
                )  # fmt: skip
                return self
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.server_log()}") from None
        return self

    def stop(self) -> None:
        if self.folder is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._tool("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
        atexit.unregister(self.stop)

    def server_log(self) -> str:
        log = self.folder / "server.log" if self.folder else None
        return log.read_text(errors="replace")[-4000:] if log and log.exists() else ""

    def _tool(self, name: str, *args: str) -> None:
        owner = self._owner
        subprocess.run(
            [str(self.bindir / name), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.folder,
            user=owner.pw_uid if owner else None,
            group=owner.pw_gid if owner else None,
            extra_groups=[] if owner else None,
        )

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- databases ---------------------------------------------------------------------
    async def new_database(self, *, icu_locale: str | None = None) -> str:
        """A new empty database; its URL. ``icu_locale``: sorting text by a language's rules
        (as many servers' databases do) instead of by bytes."""
        import asyncpg

        name = f"t_{os.getpid()}_{next(self._names)}"
        locale = (
            f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'"
            if icu_locale
            else ""
        )
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"{locale}')
        finally:
            await conn.close()
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        import asyncpg

        name = url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


if __name__ == "__main__":
    # `python -m sandbox.pg_cluster`: where the server binaries are, or exit 1 saying there are
    # none (the Makefile then installs pgserver, which ships them).
    import sys

    try:
        print(f"PostgreSQL server binaries: {find_bindir()}")
    except NoPostgres as missing:
        print(missing, file=sys.stderr)
        sys.exit(1)
