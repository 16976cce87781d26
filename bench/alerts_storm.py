"""Issue 22, item 4: alert latency in a storm, with storm mode on and off.

A real storm (a snowfall, a closed highway, a Movizor outage): 200 drivers, 20 events a second
for three minutes, into 10 groups that each follow every driver; the watcher's poll is 5 s and
Telegram lets a group hear 20 messages a minute. Each group is due ~1,200 alerts a minute, which
messages of even 50 alerts cannot carry: with storm mode off the queue grows; with it on, the
messages get denser (bot/alerts/storm.py) and latency stays bounded.

The kinds are a storm's mix: late, left the route and unreachable (🔴, 56 %), back on route and
arrived (🟢), roaming, app stopped, location failed (🟡). Routine kinds are left out: they are
held per subject and window on purpose (ALERT_ROUTINE_MINUTES), which is not latency.

The clock is compressed as in bench/alerts_stream.py (``SCALE``): the poll, the group budget (in
ours and in the emulator's limits) and storm mode's horizon and calm all run ``SCALE`` times
faster; figures are in Telegram time.

Figures, per mode: alert latency p50/p95 from the commit of the event's poll to the message that
carries it, counted per outbox row (a summarized alert rides its summary: that message is when
the chat read about it; target p95 <= poll + 5 s), the same p95 for 🔴 alerts, messages per group
per minute over the run beyond the opening burst of 20 that Telegram allows (target <= 20),
alerts lost (not delivered, or marked sent without a message the chat received: target 0), and
the 429s the emulator answered (clock skew between our pacing and its buckets; each costs a
short wait, nothing is lost).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.alerts_stream import start_groups, stream
from bench.report import Row, at_most, exactly
from bench.stats import p50_p95
from bot.alerts.sender import SendLimits
from bot.alerts.storm import CALM, HORIZON
from integrations.base import Alert, Location, Severity, Subject
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import RateLimits
from storage.db import utcnow

TITLE = "alerts: storm (200 drivers, 20 events/s, 10 groups, poll 5 s, 3 min), storm mode on/off"
SCALE = 3.0
DRIVERS = 200
EVENTS_PER_SECOND = 20.0
STREAM_SECONDS = 180.0  # Telegram time
POLL_SECONDS = 5.0
GROUPS = 10
GROUP_PER_MINUTE = 20.0
GROUP_BURST = 20
DRAIN_LIMIT = 300.0  # Telegram time: how long the backlog may take to go out after the stream
TARGET_P95 = POLL_SECONDS + 5.0
ADMIN = 1
KINDS = {  # a storm's mix (weights)
    "driver.late": 36,
    "driver.left_route": 8,
    "driver.unreachable": 12,
    "driver.returned_route": 8,
    "driver.arrived": 6,
    "driver.roaming": 10,
    "driver.app_stopped": 10,
    "driver.request_failed": 10,
}


def make_alert(n: int, rng: random.Random) -> Alert:
    d = rng.randrange(DRIVERS)
    [kind] = rng.choices(list(KINDS), weights=list(KINDS.values()))
    return Alert(
        kind=kind,
        source="bench",
        subject=Subject("driver", f"7997{d:07d}", f"Водитель {d}"),
        occurred_at=utcnow(),
        dedupe_key=f"storm:{n}",
        fields={"details": f"ev-{n:06d}"},
        location=Location(55.0 + d / 1000, 37.0 + d / 1000, f"Склад {d % 17}"),
    )


@dataclass(frozen=True)
class Outcome:
    latencies: list[float]
    urgent: list[float]
    per_minute: float
    routed: int
    lost: int
    rate_limited: int


async def run() -> list[Row]:
    rows: list[Row] = []
    for storm in (True, False):
        outcome = await _one_run(storm)
        rows += _rows(outcome, "on" if storm else "off")
    return rows


def _rows(o: Outcome, mode: str) -> list[Row]:
    p50, p95 = p50_p95(o.latencies) if len(o.latencies) > 1 else (float("nan"),) * 2
    _, urgent95 = p50_p95(o.urgent) if len(o.urgent) > 1 else (0.0, float("nan"))
    on = mode == "on"
    return [
        Row(f"storm {mode}: alerts routed (10 groups)", o.routed, "", None, 0),
        Row(f"storm {mode}: alert latency p50", p50, "s", None, 1),
        Row(f"storm {mode}: alert latency p95", p95, "s", at_most(TARGET_P95) if on else None, 1),
        Row(f"storm {mode}: 🔴 latency p95", urgent95, "s", at_most(TARGET_P95) if on else None, 1),
        Row(
            f"storm {mode}: messages per group per minute (beyond the burst)",
            o.per_minute,
            "",
            at_most(GROUP_PER_MINUTE),
            1,
        ),
        Row(f"storm {mode}: alerts lost", o.lost, "", exactly(0), 0),
        Row(f"storm {mode}: 429 answers from the emulator", o.rate_limited, "", None, 0),
    ]


async def _one_run(storm: bool) -> Outcome:
    limits = RateLimits(per_group_per_minute=GROUP_PER_MINUTE * SCALE, group_burst=GROUP_BURST)
    ours = SendLimits(
        group_window_seconds=60.0 / SCALE,
        storm=storm,
        storm_horizon_seconds=HORIZON / SCALE,
        storm_calm_seconds=CALM / SCALE,
    )
    with tempfile.TemporaryDirectory() as folder:
        async with BotHarness(Path(folder), admin_ids=[ADMIN], limits=limits) as harness:
            return await _measure(harness, ours)


async def _measure(harness: BotHarness, ours: SendLimits) -> Outcome:
    app = harness.app
    assert app is not None
    emu, repos = harness.emu, app.repos
    groups = await start_groups(harness, GROUPS, ours)
    rng = random.Random(22)
    calls_before = len(emu.calls)
    started = time.monotonic()
    committed = await stream(
        harness,
        lambda n: make_alert(n, rng),
        per_poll=round(EVENTS_PER_SECOND * POLL_SECONDS),
        polls=round(STREAM_SECONDS / POLL_SECONDS),
        poll_wall_seconds=POLL_SECONDS / SCALE,
    )
    deadline = time.monotonic() + DRAIN_LIMIT / SCALE
    while await repos.outbox.depth() > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    await app.sender.stop()

    sent = [
        c
        for c in emu.calls[calls_before:]
        if c.ok and c.method == "sendMessage" and c.params.get("chat_id") in groups
    ]
    shown_at = {(int(c.params["chat_id"]), int(c.result["message_id"])): c.at for c in sent}
    outbox = await repos.db.fetchall(
        "SELECT chat_id, dedupe_key, state, message_id, severity FROM outbox"
    )
    latencies: list[float] = []
    urgent: list[float] = []
    lost = 0
    for row in outbox:
        at = shown_at.get((row.chat_id, row.message_id or 0))
        if row.state != "sent" or at is None:
            lost += 1
            continue
        latency = (at - committed[row.dedupe_key]) * SCALE
        latencies.append(latency)
        if row.severity >= Severity.HIGH:
            urgent.append(latency)
    # Telegram's (and our) budget: a burst of 20 to start with, then 20 a minute.
    last = max((c.at for c in sent), default=started)
    minutes = max((last - started) * SCALE / 60.0, 1e-9)
    return Outcome(
        latencies=latencies,
        urgent=urgent,
        per_minute=(len(sent) / GROUPS - GROUP_BURST) / minutes,
        routed=len(outbox),
        lost=lost,
        rate_limited=emu.rate_limited_count,
    )
