"""Issue 8, item 17: alert latency under a sustained stream, as a busy dispatch room sees it.

200 drivers, about 4 events a second with a location each, for three minutes, into three groups
subscribed to every driver; the watcher's poll period is 5 s, and Telegram lets a group hear 20
messages a minute. The real pipeline and sender run against the Telegram emulator with its flood
limits on.

The clock is compressed by ``SCALE``: every period (the poll, the group's budget in ours and in
the emulator's limits) runs ``SCALE`` times faster, so the three minutes take a minute of wall
time and exercise the same per-group budget (the same number of messages per poll). Latencies
are reported back in Telegram time (wall seconds x ``SCALE``); fixed costs (HTTP round trips,
SQLite) are inflated by the scaling, so the figures err on the slow side.

Figures: alert latency p50/p95 from the commit of the event's poll to the message carrying it
(target p95 <= 2 x (poll period + 3 s)), the share of the groups' budget spent on alert messages
and on map pins, alerts lost (target 0), 429s received.
"""

from __future__ import annotations

import asyncio
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Row, at_most, exactly
from bench.stats import p50_p95
from bot.alerts.sender import AlertSender, SendLimits
from integrations.base import Alert, Location, Subject
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import RateLimits
from storage.chats import ChatStatus
from storage.db import utcnow

TITLE = "alerts: sustained stream (200 drivers, 4 events/s, 3 groups, poll 5 s, 3 min)"
SCALE = 3.0  # the clock runs 3x faster: 3 minutes of stream in 1 minute of wall time
DRIVERS = 200
EVENTS_PER_SECOND = 4.0
STREAM_SECONDS = 180.0  # Telegram time
POLL_SECONDS = 5.0  # Telegram time
GROUPS = 3
GROUP_PER_MINUTE = 20.0  # Telegram's budget per group
GROUP_BURST = 20
DRAIN_LIMIT = 120.0  # Telegram time: after the stream, how long the backlog may take to go out
TARGET_P95 = 2 * (POLL_SECONDS + 3.0)
ADMIN = 1
MARK_RE = re.compile(r"ev-(\d{6})")


def make_alert(n: int, rng: random.Random) -> Alert:
    d = rng.randrange(DRIVERS)
    return Alert(
        kind="driver.late",
        source="bench",
        subject=Subject("driver", f"7997{d:07d}", f"Водитель {d}"),
        occurred_at=utcnow(),
        dedupe_key=f"stream:{n}",
        fields={"Событие": f"ev-{n:06d}"},
        location=Location(55.0 + d / 1000, 37.0 + d / 1000, f"Склад {d % 17}"),
    )


async def run() -> list[Row]:
    # The emulator's group bucket as Telegram's (20 a minute, a burst of 20), on the fast clock.
    limits = RateLimits(per_group_per_minute=GROUP_PER_MINUTE * SCALE, group_burst=GROUP_BURST)
    with tempfile.TemporaryDirectory() as folder:
        async with BotHarness(Path(folder), admin_ids=[ADMIN], limits=limits) as harness:
            return await _measure(harness)


async def start_groups(harness: BotHarness, count: int, limits: SendLimits) -> list[int]:
    """``count`` approved supergroups following every driver, and a fresh sender with
    ``limits`` (the bench's compressed clock); returns the groups' ids."""
    app = harness.app
    assert app is not None
    emu, repos = harness.emu, app.repos
    await app.sender.stop()
    app.sender = AlertSender(
        app.bot,
        app.repos,
        app.pipeline,
        app.i18n,
        app.metrics,
        default_tz=app.settings.timezone,
        limits=limits,
    )
    groups = [-1_000_100 - g for g in range(count)]
    for n, chat_id in enumerate(groups, 1):
        emu.add_group(chat_id, f"Диспетчерская {n}", supergroup=True, bot_already_member=True)
        await repos.chats.upsert(
            chat_id, type="supergroup", title=f"d{n}", status=ChatStatus.APPROVED, added_by=ADMIN
        )
        await repos.subscriptions.add(chat_id, 0, "area:drivers", by=ADMIN)
    await app.sender.start()
    return groups


async def stream(
    harness: BotHarness,
    make: Callable[[int], Alert],
    *,
    per_poll: int,
    polls: int,
    poll_wall_seconds: float,
) -> dict[str, float]:
    """Commit ``per_poll`` alerts every poll, as a watcher would; returns each alert's dedupe
    key and the monotonic time its poll was committed."""
    app = harness.app
    assert app is not None
    committed: dict[str, float] = {}
    started = time.monotonic()
    n = 0
    for cycle in range(polls):
        await asyncio.sleep(max(0.0, started + cycle * poll_wall_seconds - time.monotonic()))
        batch = [make(n + k) for k in range(per_poll)]
        await app.pipeline.commit("bench", batch, str(cycle))
        at = time.monotonic()
        committed.update((alert.dedupe_key, at) for alert in batch)
        n += per_poll
    return committed


async def _measure(harness: BotHarness) -> list[Row]:
    app = harness.app
    assert app is not None
    emu, repos = harness.emu, app.repos
    groups = await start_groups(harness, GROUPS, SendLimits(group_window_seconds=60.0 / SCALE))

    rng = random.Random(17)
    calls_before = len(emu.calls)
    started = time.monotonic()
    by_key = await stream(
        harness,
        lambda n: make_alert(n, rng),
        per_poll=round(EVENTS_PER_SECOND * POLL_SECONDS),
        polls=round(STREAM_SECONDS / POLL_SECONDS),
        poll_wall_seconds=POLL_SECONDS / SCALE,
    )
    committed = {int(key.split(":")[1]): at for key, at in by_key.items()}
    stream_end = time.monotonic()
    deadline = stream_end + DRAIN_LIMIT / SCALE
    while await repos.outbox.depth() > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    await app.sender.stop()

    calls = [c for c in emu.calls[calls_before:] if c.ok and c.params.get("chat_id") in groups]
    texts = [c for c in calls if c.method == "sendMessage"]
    pins = [c for c in calls if c.method == "sendLocation"]
    latencies: list[float] = []
    delivered: set[tuple[int, int]] = set()
    for call in texts:
        for mark in MARK_RE.findall(str(call.params.get("text", ""))):
            key = (int(call.params["chat_id"]), int(mark))
            if key not in delivered:
                delivered.add(key)
                latencies.append((call.at - committed[int(mark)]) * SCALE)
    p50, p95 = p50_p95(latencies) if len(latencies) > 1 else (float("nan"),) * 2
    # The groups' budget over the stream and its drain (Telegram time): the burst to start with,
    # then 20 a minute.
    span = (max((c.at for c in calls), default=stream_end) - started) * SCALE
    budget = (GROUP_BURST + GROUP_PER_MINUTE * span / 60) * GROUPS
    return [
        Row("alerts committed (x 3 groups)", len(committed), "", None, 0),
        Row("alert latency p50 (commit -> message)", p50, "s", None, 1),
        Row("alert latency p95 (commit -> message)", p95, "s", at_most(TARGET_P95), 1),
        Row("group budget spent on alert messages", len(texts) / budget, "", None, 2),
        Row("group budget spent on map pins", len(pins) / budget, "", None, 2),
        Row("alerts lost", len(committed) * GROUPS - len(delivered), "", exactly(0), 0),
        Row("429 answers from the emulator (stream)", emu.rate_limited_count, "", None, 0),
    ]
