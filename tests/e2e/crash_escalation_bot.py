"""The bot as a separate process for the escalation crash test: a real `LogiBot` watching a
Movizor simulator the test runs, on a clock ``SPEED`` times faster than the wall's (shared by
every process of the test through ``t0``), with its group, people and on-call seeded at start.

    python -m tests.e2e.crash_escalation_bot <telegram_api_url> <workdir> <movizor_url> <t0>
"""

from __future__ import annotations

import signal
import sys

from bot.cli import exit_quietly, serve

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, exit_quietly)  # a SIGTERM while importing is a clean exit too

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import LogiBot
from bot.config import Settings
from storage.chats import ChatStatus
from storage.db import set_clock
from storage.users import Role

TOKEN = "333333:ESCALATION-CRASH-token"
ADMIN, ONCALL = 1001, 2001
GROUP = -1009990001
PHONE, DRIVER = "79161230077", "Петров И.И."
PROJECT, KEY = "acme", "movizor-crash-key"
SPEED = 60.0  # a simulated minute per second: a chain's 10 minutes take 10 s


def clock_from(t0: float) -> datetime:
    """The bot's time: t0 (wall seconds) is the same instant for every process of the test."""
    return datetime.fromtimestamp(t0, UTC) + timedelta(seconds=(time.time() - t0) * SPEED)


async def seed(app: LogiBot) -> None:
    repos = app.repos
    await repos.chats.upsert(
        GROUP, type="supergroup", title="Диспетчерская", status=ChatStatus.APPROVED, added_by=ADMIN
    )
    await repos.users.set_role(ONCALL, Role.DISPATCHER, by=ADMIN)
    await repos.users.touch(
        ONCALL, username="olga", first_name="Ольга", last_name=None, language_code="ru"
    )
    await repos.drivers.upsert(PHONE, DRIVER)
    await repos.subscriptions.add(GROUP, 0, "area:drivers", by=ADMIN)
    if not await repos.oncall.of_chat(GROUP, 0):  # on call all day, every day
        await repos.oncall.add_shift(
            GROUP, 0, ONCALL, range(7), "00:00", "00:00", by=ADMIN, now=datetime.now(UTC)
        )


async def main(api_url: str, workdir: Path, movizor_url: str, t0: float) -> None:
    set_clock(lambda: clock_from(t0))
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=api_url,
        admin_ids=[ADMIN],
        database_path=workdir / "escalation-crash.sqlite3",
        http_port=0,
        log_level="INFO",
        movizor_project=PROJECT,
        movizor_key=KEY,
        movizor_base_url=movizor_url,
        movizor_poll_seconds=5,
        escalation_tick_seconds=1,
    )
    await serve(lambda: LogiBot(settings), after_start=seed)


if __name__ == "__main__":
    url, folder, movizor, start = sys.argv[1:5]
    asyncio.run(main(url, Path(folder), movizor, float(start)))
