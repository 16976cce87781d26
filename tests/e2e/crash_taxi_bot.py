"""The bot as a separate process for the taxi crash test: a real `LogiBot` polling the
emulator and ordering from a Taxi-Master simulator the test runs.

    python -m tests.e2e.crash_taxi_bot <telegram_api_url> <workdir> <taximaster_url> <secret>
"""

from __future__ import annotations

import signal
import sys

from bot.cli import exit_quietly, serve

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, exit_quietly)  # a SIGTERM while importing is a clean exit too

import asyncio
from pathlib import Path

from bot.app import LogiBot
from bot.config import Settings

TOKEN = "222222:TAXI-CRASH-TEST-token"
ADMIN = 1001  # tests.e2e.conftest.ADMIN: the person of the wizard helpers


async def main(api_url: str, workdir: Path, taximaster_url: str, secret: str) -> None:
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=api_url,
        admin_ids=[ADMIN],
        database_path=workdir / "taxi-crash.sqlite3",
        http_port=0,
        log_level="INFO",
        taximaster_base_url=taximaster_url,
        taximaster_secret=secret,
        taximaster_poll_seconds=3600,  # no watcher cycle during the test
    )
    await serve(lambda: LogiBot(settings))


if __name__ == "__main__":
    url, folder, taximaster, key = sys.argv[1:5]
    asyncio.run(main(url, Path(folder), taximaster, key))
