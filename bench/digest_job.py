"""Issue 20: the digest job for 1,000 chats — its time and the database queries per chat.

1,000 approved groups, each subscribed to everything, with 30 events of history in the last
24 hours and the digest at 09:00 in its zone; the bot runs against the Telegram emulator (no
rate limits: the job's own cost is measured, not Telegram's pacing). At 09:00 one round of the
job sends the 1,000 digests. Reported: the round's time, and the SQL statements per chat at
100 and at 1,000 chats (target: the same — O(1) per chat, the per-round reads shared).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.report import Row, at_most, exactly
from bot.digests.settings import DIGEST_HOUR
from bot.settings.registry import ChatKey
from sandbox.harness import BotHarness
from storage.chats import ChatStatus
from storage.db import set_clock
from storage.history import HistoryEvent

TITLE = "Digest job: one round for 100 and 1,000 chats (time, queries per chat)"
BEFORE = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)  # 08:30 in Moscow
AT_NINE = datetime(2026, 12, 2, 6, 0, 30, tzinfo=UTC)
EVENTS_PER_CHAT = 30
KINDS = (
    ("drivers", "driver.late"),
    ("drivers", "driver.arrived"),
    ("tasks", "task.created"),
    ("taxi", "taxi.finished"),
    ("wagons", "wagon.moved"),
)


async def _round(chats: int) -> tuple[float, float, int]:
    """(seconds of the round, statements per chat, digests sent)."""
    now = [BEFORE]
    set_clock(lambda: now[0])
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with BotHarness(Path(folder), admin_ids=[1], limits=None) as h:
                assert h.app is not None
                app = h.app
                ids = [-1_000_000_000 - n for n in range(chats)]
                for chat in ids:
                    h.emu.add_group(chat, f"Склад {chat}", supergroup=True, bot_already_member=True)
                    await app.repos.chats.upsert(
                        chat, type="supergroup", title="g", status=ChatStatus.APPROVED, added_by=1
                    )
                    await app.repos.subscriptions.add(chat, 0, "all", by=1)
                    await app.settings_values.set(
                        DIGEST_HOUR, clock_time(9, 0), by=1, chat=ChatKey(chat)
                    )
                    await app.repos.history.record(
                        [
                            HistoryEvent(
                                chat,
                                0,
                                BEFORE - timedelta(minutes=20 * n),
                                KINDS[n % len(KINDS)][0],
                                KINDS[n % len(KINDS)][1],
                                f"subject:{n % 7}",
                                f"e{n}",
                                subject_title=f"Объект {n % 7}",
                            )
                            for n in range(EVENTS_PER_CHAT)
                        ]
                    )
                statements = [0]

                def count(*_args: Any) -> None:
                    statements[0] += 1

                engines = {app.db.writes.sync_engine, app.db.reads.sync_engine}
                for engine in engines:
                    event.listen(engine, "before_cursor_execute", count)
                now[0] = AT_NINE
                started = time.perf_counter()
                sent = await app.digests.run_once()
                seconds = time.perf_counter() - started
                for engine in engines:
                    event.remove(engine, "before_cursor_execute", count)
                return seconds, statements[0] / chats, sent
    finally:
        set_clock(None)


async def run() -> list[Row]:
    _small_time, small_queries, small_sent = await _round(100)
    big_time, big_queries, big_sent = await _round(1000)
    return [
        Row("digest: digests sent, 100 chats", small_sent, "", exactly(100), 0),
        Row("digest: digests sent, 1,000 chats", big_sent, "", exactly(1000), 0),
        Row("digest: one round, 1,000 chats", big_time, "s", None, 2),
        Row("digest: per chat", big_time, "ms", None, 2),  # seconds / 1,000 chats, in ms
        Row("digest: SQL statements per chat, 100 chats", small_queries, "", None, 2),
        Row("digest: SQL statements per chat, 1,000 chats", big_queries, "", at_most(10), 2),
        Row(
            "digest: statements per chat ratio 1,000 / 100",
            big_queries / small_queries,
            "×",
            at_most(1.05),
            2,
        ),
    ]
