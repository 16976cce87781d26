"""Issue 10: one Taxi-Master watcher cycle over 500 live orders, against the simulator over
loopback HTTP and a real SQLite file, through the bot's snapshot store and alert pipeline.

What matters: one ``get_order_state`` per live order per cycle (none for finished ones), plus
two calls (car, driver) per newly assigned crew and one ``get_crews_coords`` in a cycle with
crew alerts; and the cycle's wall time — at the default ``TAXIMASTER_RPS`` (the bot's own cap
for the dispatch service's server, which is what bounds it) and uncapped (the bot's own cost).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import Row, at_most, exactly
from bot.alerts.pipeline import AlertPipeline
from bot.config import Settings
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.watcher import SOURCE, TaxiMasterWatcher, initial_snapshot
from sandbox.simulators.taximaster.city import POINTS, STREETS
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database

TITLE = "Taxi-Master watcher cycle: 500 live orders"
ORDERS = 500
FINISHED = 50  # watched once, finished: must cost no call
SECRET = "bench-secret"


def address(n: int) -> str:
    if n % 3 == 0:
        return POINTS[n % len(POINTS)].name
    street = STREETS[n % len(STREETS)]
    return f"{street.name}, {1 + n % 9}"


async def run() -> list[Row]:
    start = datetime.now(UTC)
    sim = TaxiMasterSimulator(SECRET, clock=lambda: start)  # time moves only by advance()
    await sim.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with Database(Path(folder) / "bench.sqlite3") as db:
                return await _measure(sim, Repos.on(db))
    finally:
        await sim.stop()


async def _measure(sim: TaxiMasterSimulator, repos: Repos) -> list[Row]:
    assert sim.base_url is not None
    for n in range(ORDERS):
        order_id = sim.place_order(address(n), address(n + 7), phone=f"8912{n:07d}")
        await repos.snapshots.put(SOURCE, str(order_id), initial_snapshot(order_id))
        chat = -(1 + n % 100)
        await repos.chats.upsert(
            chat, type="group", title=f"g{chat}", status=ChatStatus.APPROVED, added_by=1
        )
        await repos.subscriptions.add(chat, 0, "all", f"order:{order_id}", by=1)
    for n in range(FINISHED):
        await repos.snapshots.put(
            SOURCE, str(900_000 + n), {"order_id": 900_000 + n, "state_kind": "finished"}
        )

    async def snapshots(ids: object = None) -> dict[str, dict[str, object]]:
        return await repos.snapshots.get(SOURCE, None)

    pipeline = AlertPipeline(repos, ZoneInfo("Europe/Moscow"))
    rps = Settings.model_fields["taximaster_rps"].default
    poll_seconds = Settings.model_fields["taximaster_poll_seconds"].default
    capped = TaxiMasterClient(sim.base_url, SECRET, requests_per_second=rps, max_rate_wait=120)
    free = TaxiMasterClient(sim.base_url, SECRET, requests_per_second=100_000)
    try:
        # An idle cycle at the default cap: every live order asked once, nothing changed.
        watcher = TaxiMasterWatcher(capped, snapshots)
        started = time.perf_counter()
        idle = await watcher.poll(None)
        await pipeline.commit(SOURCE, idle.alerts, None, snapshots=idle.snapshots)
        idle_wall = time.perf_counter() - started
        idle_calls = watcher.calls_last_cycle
        # A busy cycle, uncapped: crews assigned to some orders, others still waiting.
        sim.advance(timedelta(minutes=3))
        watcher = TaxiMasterWatcher(free, snapshots)
        started = time.perf_counter()
        busy = await watcher.poll(None)
        await pipeline.commit(SOURCE, busy.alerts, None, snapshots=busy.snapshots)
        busy_wall = time.perf_counter() - started
        busy_calls = watcher.calls_last_cycle
        # Every watched order started without a crew: an alert naming a car is a new crew.
        crews = sum(1 for a in busy.alerts if "car_plate" in a.fields)
    finally:
        await capped.aclose()
        await free.aclose()
    return [
        Row("live orders watched (+ finished ones)", ORDERS, "", None, 0),
        Row("upstream calls, idle cycle", idle_calls, "", exactly(ORDERS), 0),
        Row(f"cycle wall time at TAXIMASTER_RPS={rps:g}", idle_wall, "s", None, 1),
        Row(
            f"  … as a share of TAXIMASTER_POLL_SECONDS={poll_seconds}",
            idle_wall / poll_seconds * 100,
            "%",
            None,
            0,
        ),
        Row(f"alerts in the busy cycle (new crews: {crews})", len(busy.alerts), "", None, 0),
        Row(
            "upstream calls, busy cycle (live + 2 per new crew + 1)",
            busy_calls,
            "",
            at_most(ORDERS + 2 * crews + 1),
            0,
        ),
        Row("busy cycle wall time, uncapped (the bot's own cost)", busy_wall * 1000, "ms", None, 0),
    ]
