"""The bot as a separate process for the crash test: a real `LogiBot` polling the emulator, with a
test source that serves a fixed, numbered list of alerts (the same list after every restart).

    python -m tests.e2e.crash_bot <telegram_api_url> <database_url> <chat_id> <total>
"""

from __future__ import annotations

import signal
import sys

from bot.cli import exit_quietly, serve

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, exit_quietly)  # a SIGTERM while importing is a clean exit too

import asyncio

from bot.alerts.sender import SendLimits
from bot.app import LogiBot
from bot.config import Settings
from sandbox.replica import numbered_alert
from sandbox.testsource.watcher import TestSource
from storage.chats import ChatStatus

TOKEN = "111111:CRASH-TEST-token"
ADMIN = 1
PAGE_SIZE = 200


async def main(api_url: str, database_url: str, chat_id: int, total: int) -> None:
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=api_url,
        admin_ids=[ADMIN],
        database_url=database_url,
        http_port=0,
        log_level="INFO",
        # On PostgreSQL a restarted bot waits out the leader's fence (bot/leader.py): keep the
        # restarts quick.
        leader_takeover_seconds=3,
    )
    source = TestSource(page_size=PAGE_SIZE)
    source.emit(*(numbered_alert(n) for n in range(total)))
    # The emulator runs without flood limits here: this test is about durability, and the
    # 429 handling has tests of its own. Our own pacing is relaxed to match.
    fast = SendLimits(per_group_per_minute=6000, global_per_second=1000)

    async def subscribe(app: LogiBot) -> None:
        await app.repos.chats.upsert(
            chat_id, type="supergroup", title="crash", status=ChatStatus.APPROVED, added_by=ADMIN
        )
        await app.repos.subscriptions.add(chat_id, 0, "area:drivers", by=ADMIN)

    await serve(
        lambda: LogiBot(settings, extra_watchers=[(source, 1)], send_limits=fast),
        after_start=subscribe,
    )


if __name__ == "__main__":
    url, database, chat, count = sys.argv[1:5]
    asyncio.run(main(url, database, int(chat), int(count)))
