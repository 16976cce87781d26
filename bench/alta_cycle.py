"""Issue 11: Alta watcher cycles over 2,000 numbers in 200 tracking requests, 10 of which
changed since the last cycle, against the simulator over loopback HTTP and a real SQLite file.

What matters: upstream calls per cycle (target: 1 ``track_list`` + 1 ``show`` — Alta's
once-a-minute rule is kept for the whole account, so a cycle reads one changed request and
never calls per number), how many cycles (minutes, at ALTA_POLL_SECONDS = 60) the 10 changed
requests take (target 10, none lost), and a cycle's wall time (poll + routing + the outbox
transaction). Simulated time moves a minute between cycles; the client's pace follows it.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import Row, exactly
from bot.alerts.pipeline import AlertPipeline
from integrations.alta.client import AltaClient
from integrations.alta.functions import TEST_LOGIN, TEST_PASSWORD, TEST_SA
from integrations.alta.numbers import wagon_check_digit
from integrations.alta.watcher import AltaWatcher, initial_snapshot
from sandbox.simulators.alta.simulator import AltaSimulator
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database

TITLE = "Alta watcher cycle: 2,000 numbers in 200 requests, 10 changed"
REQUESTS = 200
PER_REQUEST = 10
CHANGED = 10
CHATS = 200
LINES = ("moscow_ekaterinburg", "novorossiysk_moscow", "spb_moscow")


def wagon(n: int) -> str:
    first = f"5{n:06d}"
    return first + str(wagon_check_digit(first))


async def run() -> list[Row]:
    sim = AltaSimulator(first_report_delay=timedelta(hours=1))
    await sim.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with Database(Path(folder) / "bench.sqlite3") as db:
                return await _measure(sim, Repos.on(db))
    finally:
        await sim.stop()


async def _measure(sim: AltaSimulator, repos: Repos) -> list[Row]:
    hashes: list[str] = []
    added = datetime.now(UTC) - timedelta(hours=5)
    for r in range(REQUESTS):
        numbers = [wagon(r * PER_REQUEST + k) for k in range(PER_REQUEST)]
        request_hash = sim.put_on_track(
            numbers,
            line=LINES[r % len(LINES)],
            departed_ago=timedelta(hours=4 + r % 7),
            added_ago=timedelta(hours=5),
        )
        hashes.append(request_hash)
        for number in numbers:
            await repos.snapshots.put("alta", number, initial_snapshot(number, request_hash, added))
    for chat in range(1, CHATS + 1):
        await repos.chats.upsert(
            -chat, type="group", title=f"g{chat}", status=ChatStatus.APPROVED, added_by=1
        )
        await repos.subscriptions.add(-chat, 0, "area:wagons", by=1)
    assert sim.base_url is not None
    client = AltaClient(
        sim.base_url, TEST_LOGIN, TEST_SA, TEST_PASSWORD, per_minute_limit=1000,
        monotonic=lambda: sim.now().timestamp(),
    )  # fmt: skip
    watcher = AltaWatcher(client, lambda ids=None: repos.snapshots.get("alta", ids))
    pipeline = AlertPipeline(repos, ZoneInfo("Europe/Moscow"))
    try:
        # The state after earlier cycles: every request's report read at its modify date.
        listed = await client.track_list()
        cursor = json.dumps({"v": 1, "modified": {r.hash: r.modify_date_raw for r in listed}})
        sim.advance(timedelta(minutes=5))
        for request_hash in hashes[:: REQUESTS // CHANGED][:CHANGED]:
            sim.report_now(request_hash)
        calls: list[int] = []
        walls: list[float] = []
        alerts = rows_written = 0
        while len(calls) < 3 * CHANGED:
            before = sim.calls("track_list") + sim.calls("show") + sim.calls("carr_list")
            started = time.perf_counter()
            result = await watcher.poll(cursor)
            rows_written += await pipeline.commit("alta", result.alerts, result.cursor)
            walls.append(time.perf_counter() - started)
            cursor = result.cursor or cursor
            calls.append(
                sim.calls("track_list") + sim.calls("show") + sim.calls("carr_list") - before
            )
            alerts += len(result.alerts)
            sim.advance(61)
            if watcher.deferred_last_cycle == 0:
                break
        idle = await watcher.poll(cursor)
        idle_calls = watcher.calls_last_cycle
    finally:
        await client.aclose()
    return [
        Row("upstream calls per cycle, most", max(calls), "", exactly(2), 0),
        Row(
            "cycles (minutes) to read the 10 changed requests", len(calls), "", exactly(CHANGED), 0
        ),
        Row("  of which show", sim.calls("show"), "", exactly(CHANGED), 0),
        Row("upstream calls, idle cycle", idle_calls, "", exactly(1), 0),
        Row("alerts (10 requests x 10 wagons)", alerts, "", exactly(CHANGED * PER_REQUEST), 0),
        Row("outbox rows written (200 chats hear the area)", rows_written, "", None, 0),
        Row("cycle wall time, slowest (poll + route + commit)", max(walls) * 1000, "ms", None, 0),
        Row("alerts in the idle cycle", len(idle.alerts), "", exactly(0), 0),
    ]
