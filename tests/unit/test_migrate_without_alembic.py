"""A database already at the latest revision opens without importing Alembic (about 11 MB the
idle bot would carry for as long as it runs), and the revision files' numbering that this relies
on agrees with Alembic's own idea of the head."""

import subprocess
import sys

from storage.db import Database
from storage.migrate import head, latest_revision

OPEN_AND_LIST_ALEMBIC = """
import asyncio, sys
from storage.db import Database

async def main():
    async with Database(sys.argv[1]):
        pass

asyncio.run(main())
print(sorted(name for name in sys.modules if name == "alembic" or name.startswith("alembic.")))
"""


def test_the_files_numbering_gives_alembics_head():
    assert latest_revision() == head()


async def test_an_up_to_date_database_opens_without_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with Database(url):  # the first open migrates (Alembic needed)
        pass

    def modules_after_open() -> str:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_AND_LIST_ALEMBIC, url],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    assert modules_after_open() == "[]"
