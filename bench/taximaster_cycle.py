"""Issue 12: 500 live Taxi-Master orders within the poll period, without a constant 20 requests a
second against the dispatch service's own server.

A simulated city (700 crews) takes 24 new orders a minute, so about 500 are live at any moment
in a steady mix (a few waiting for a crew, one in ten driving to the pickup, one in ten at the
door, the rest riding, some of them out of town). The watcher runs every
``TAXIMASTER_POLL_SECONDS`` of simulated time, through the bot's snapshot store and alert
pipeline on a real SQLite file, against the simulator over loopback HTTP, with the default
``TAXIMASTER_MAX_CALLS_PER_CYCLE``. After a settling period
it is measured over seven and a half simulated minutes:

* on a newer TMWeb (``get_current_orders``): one call gives every order's state — calls per
  cycle (target: within the cap) and the oldest order's staleness (target: ≤ 2 × poll);
* on the document's server (one ``get_order_state`` per order): each order polled by how
  soon it can change — calls per cycle (target: within the cap), the oldest order waiting for
  a crew or at the door (target: ≤ 2 × poll), and the worst order's staleness as a multiple of
  its own schedule (target ≤ 2); the oldest order's staleness is shown too.

Every figure is in simulated time: nothing here depends on the machine's speed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import Row, at_most
from bot.alerts.pipeline import AlertPipeline
from bot.config import Settings
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.watcher import SOURCE, TaxiMasterWatcher, initial_snapshot
from sandbox.simulators.taximaster.city import POINTS, STREETS
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage import Repos
from storage.db import Database

TITLE = "Taxi-Master watcher: 500 live orders"
LIVE = 500
ORDERS_PER_MINUTE = 24  # ~500 live at any moment once the city is steady
FLEET = 700
WARM_UP = timedelta(minutes=80)  # the city before the bot looks: steady by then
SETTLE_CYCLES = 15
MEASURED_CYCLES = 30
SECRET = "bench-secret"
SETTINGS = Settings.model_fields
POLL = timedelta(seconds=SETTINGS["taximaster_poll_seconds"].default)
CAP = SETTINGS["taximaster_max_calls_per_cycle"].default


def address(n: int) -> str:
    if n % 3 == 0:
        return POINTS[n % len(POINTS)].name
    street = STREETS[n % len(STREETS)]
    return f"{street.name}, {1 + n % 9}"


async def run() -> list[Row]:
    rows: list[Row] = [
        Row("poll period (TAXIMASTER_POLL_SECONDS)", POLL.total_seconds(), "s", None, 0),
        Row("cap a cycle (TAXIMASTER_MAX_CALLS_PER_CYCLE)", CAP, "calls", None, 0),
        Row(
            "one call per order a cycle would be",
            LIVE / POLL.total_seconds(),
            "req/s",
            None,
            1,
        ),
    ]
    for newer in (True, False):
        rows += await _scenario(newer)
    return rows


async def _scenario(newer: bool) -> list[Row]:
    start = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 11:00 in Yekaterinburg: a busy day
    sim = TaxiMasterSimulator(SECRET, clock=lambda: start, current_orders=newer, fleet_size=FLEET)
    await sim.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with Database(Path(folder) / "bench.sqlite3") as db:
                return await _measure(sim, Repos.on(db), newer)
    finally:
        await sim.stop()


async def _measure(sim: TaxiMasterSimulator, repos: Repos, newer: bool) -> list[Row]:
    assert sim.base_url is not None
    placed, arrivals = 0, 0.0

    async def place(*, watch: bool = True) -> None:
        nonlocal placed, arrivals
        arrivals += ORDERS_PER_MINUTE * POLL.total_seconds() / 60
        while arrivals >= 1:
            arrivals -= 1
            order_id = sim.place_order(
                address(placed), address(placed + 7), phone=f"8912{placed:07d}"
            )
            if watch:
                await repos.snapshots.put(SOURCE, str(order_id), initial_snapshot(order_id))
            placed += 1

    # The city before the bot looks: orders arriving at a steady rate; then the bot watches
    # every live one, from the state it is in (as if it had been watching all along).
    for _ in range(int(WARM_UP / POLL)):
        await place(watch=False)
        sim.advance(POLL)
    now = sim.now()
    for order in sim.orders:
        kind = order.state_kind(now)
        if kind not in ("finished", "aborted"):
            crew = order.crew_id if kind != "new_order" else None
            snapshot = {**initial_snapshot(order.id), "state_kind": kind, "crew_id": crew}
            await repos.snapshots.put(SOURCE, str(order.id), snapshot)

    async def snapshots(ids: Collection[str] | None = None) -> dict[str, dict[str, object]]:
        return await repos.snapshots.get(SOURCE, ids)

    pipeline = AlertPipeline(repos, ZoneInfo("Europe/Moscow"))
    rps = SETTINGS["taximaster_rps"].default
    client = TaxiMasterClient(sim.base_url, SECRET, requests_per_second=1000, max_rate_wait=120)
    watcher = TaxiMasterWatcher(
        client, snapshots, poll_seconds=POLL.total_seconds(), max_calls=CAP, clock=sim.now
    )
    calls: list[int] = []
    live: list[int] = []
    stale, urgent, late = timedelta(0), timedelta(0), 0.0
    try:
        for n in range(SETTLE_CYCLES + MEASURED_CYCLES):
            if n > SETTLE_CYCLES:  # the age of what the bot knows, just before it asks again
                now = sim.now()
                stale = max(stale, watcher.schedule.staleness(now))
                urgent = max(urgent, watcher.schedule.staleness(now, every=1))
                late = max(late, watcher.schedule.lateness(now))
            result = await watcher.poll(None)
            await pipeline.commit(SOURCE, result.alerts, None, snapshots=result.snapshots)
            if n >= SETTLE_CYCLES:
                calls.append(watcher.calls_last_cycle)
                live.append(sum(not o.is_final(sim.now()) for o in sim.orders))
            await place()
            sim.advance(POLL)
    finally:
        await client.aclose()
    poll_s = POLL.total_seconds()
    where = "newer TMWeb (get_current_orders)" if newer else "document's server"
    rows = [
        Row(f"{where}: live orders watched (mean)", sum(live) / len(live), "", None, 0),
        Row(f"{where}: calls a cycle (max)", max(calls), "calls", at_most(CAP), 0),
        Row(
            f"{where}: … as requests a second (mean; the bot's own cap is {rps:g})",
            sum(calls) / len(calls) / poll_s,
            "req/s",
            None,
            2,
        ),
    ]
    if newer:
        rows.append(
            Row(
                f"{where}: oldest order's staleness",
                stale.total_seconds(),
                "s",
                at_most(2 * poll_s),
                0,
            )
        )
    else:
        rows += [
            Row(
                f"{where}: oldest order waiting for a crew or at the door",
                urgent.total_seconds(),
                "s",
                at_most(2 * poll_s),
                0,
            ),
            Row(
                f"{where}: worst order's staleness / its own schedule",
                late,
                "×",
                at_most(2),
                2,
            ),
            Row(f"{where}: oldest order's staleness", stale.total_seconds(), "s", None, 0),
        ]
    return rows
