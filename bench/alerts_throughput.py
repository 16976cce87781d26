"""Issue 3: 10,000 alerts routed to 1,000 chats (5,000 subscriptions) and delivered through the
Telegram emulator with its flood limits on.

Figures: routing + outbox CPU time per alert (the pipeline's commits, measured before the
sender starts so nothing else runs; this process's CPU only: on PostgreSQL the server's work is
in its own processes), the sustained send rate as a share of the emulator's global limit
(30 messages/s), alerts lost (target 0), 429s received, and peak memory of the process (bot +
emulator together). Run on SQLite and on PostgreSQL (bench/databases.py).
"""

from __future__ import annotations

import asyncio
import re
import resource
import tempfile
import time
from pathlib import Path

from bench.report import Row, Target, at_most, exactly
from integrations.base import Alert, Subject
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import RateLimits
from storage.chats import ChatStatus
from storage.db import utcnow

TITLE = "alerts: 10,000 alerts -> 1,000 chats through the emulator's limits"
CHATS = 1_000
FOLLOWS_PER_CHAT = 5  # 5,000 subscriptions
ALERTS = 10_000
BATCH = 1_000
ADMIN = 1
MARK_RE = re.compile(r"bench-(\d{5})")


def driver(n: int) -> str:
    return f"7998{n:07d}"


def make_alert(n: int) -> Alert:
    subject = n % (CHATS * FOLLOWS_PER_CHAT)
    return Alert(
        kind="driver.late",
        source="bench",
        subject=Subject("driver", driver(subject), f"bench-{n:05d}"),
        occurred_at=utcnow(),
        dedupe_key=f"bench:{n}",
        fields={"Опоздание": "15 мин"},
    )


SEND_RATE_TARGET = 0.98  # of Telegram's global limit
SQLITE_CPU_TARGET_US = 120  # routing + outbox per alert (PostgreSQL: reported)


async def run(database_url: str | None = None) -> list[Row]:
    limits = RateLimits()
    with tempfile.TemporaryDirectory() as folder:
        harness = BotHarness(
            Path(folder), admin_ids=[ADMIN], limits=limits, database_url=database_url
        )
        async with harness:
            return await _measure(harness, limits, on_sqlite=database_url is None)


async def _measure(harness: BotHarness, limits: RateLimits, *, on_sqlite: bool) -> list[Row]:
    app = harness.app
    assert app is not None
    emu, repos = harness.emu, app.repos
    await app.sender.stop()  # routing is measured alone first
    for c in range(1, CHATS + 1):
        chat_id = -1_000_000 - c
        emu.add_group(chat_id, f"Группа {c}", supergroup=True, bot_already_member=True)
        await repos.chats.upsert(
            chat_id, type="supergroup", title=f"g{c}", status=ChatStatus.APPROVED, added_by=ADMIN
        )
        for k in range(FOLLOWS_PER_CHAT):
            follow = f"driver:{driver((c - 1) * FOLLOWS_PER_CHAT + k)}"
            await repos.subscriptions.add(chat_id, 0, "area:drivers", follow, by=ADMIN)

    cpu_started = time.process_time()
    rows = 0
    for start in range(0, ALERTS, BATCH):
        batch = [make_alert(n) for n in range(start, start + BATCH)]
        rows += await app.pipeline.commit("bench", batch, str(start + BATCH))
    cpu_per_alert = (time.process_time() - cpu_started) / ALERTS * 1e6

    sent_before = len(emu.calls_of("sendMessage"))
    started = time.perf_counter()
    await app.sender.start()
    while await repos.outbox.depth() > 0:  # noqa: ASYNC110 (polling the database, no event)
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    sends = [c for c in emu.calls_of("sendMessage")[sent_before:] if c.ok]
    first, last = sends[0].at, sends[-1].at
    rate = (len(sends) - 1) / (last - first) if last > first else 0.0

    delivered: set[int] = set()
    for call in sends:
        delivered |= {int(n) for n in MARK_RE.findall(str(call.params.get("text", "")))}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        Row("outbox rows written", rows, "", exactly(ALERTS), 0),
        Row(
            "routing + outbox CPU per alert",
            cpu_per_alert,
            "µs",
            at_most(SQLITE_CPU_TARGET_US) if on_sqlite else None,
            0,
        ),
        Row("messages sent (alerts grouped per chat)", len(sends), "", None, 0),
        Row("delivery wall time", elapsed, "s", None, 1),
        Row(
            "sustained send rate / emulator global limit",
            rate / limits.global_per_second,
            "",
            Target(">=", SEND_RATE_TARGET),
        ),
        Row("alerts lost", ALERTS - len(delivered), "", exactly(0), 0),
        Row("429 answers from the emulator", emu.rate_limited_count, "", None, 0),
        Row("peak memory (bot + emulator process)", peak_mb, "MB", None, 0),
    ]
