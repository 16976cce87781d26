"""Issue 9: one Mobiforce watcher cycle over a feed page of 3,000 updates for 1,000 distinct
tasks, against the simulator over loopback HTTP and a real SQLite file.

What matters: upstream calls per cycle stay bounded by the cap (one feed page + at most
``MOBIFORCE_MAX_TASKS_PER_CYCLE`` get-task), never one per update; nothing is lost (the rest
comes in the next cycles); the wall time of a cycle and the outbox rows it writes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import Row, at_most, exactly
from bot.alerts.pipeline import AlertPipeline
from bot.config import Settings
from handlers.mobiforce.facts import TaskFactsBook
from integrations.base import Snapshot
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.watcher import MobiforceWatcher
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database

TITLE = "Mobiforce watcher cycle: a feed page of 3,000 updates for 1,000 tasks"
TASKS = 1_000
UPDATES = 3_000
CHATS = 100


async def run() -> list[Row]:
    sim = MobiforceSimulator("bench-key", auto_employees=False)
    await sim.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with Database(Path(folder) / "bench.sqlite3") as db:
                return await _measure(sim, Repos.on(db))
    finally:
        await sim.stop()


async def _measure(sim: MobiforceSimulator, repos: Repos) -> list[Row]:
    template = sim.add_template("Монтаж", visit_minutes=60)
    client_row = sim.add_contractor("ООО «Ромашка»", "г Москва")
    for chat in range(1, CHATS + 1):
        await repos.chats.upsert(
            -chat, type="group", title=f"g{chat}", status=ChatStatus.APPROVED, added_by=1
        )
        await repos.subscriptions.add(-chat, 0, "area:tasks", by=1)
    assert sim.base_url is not None
    client = MobiforceClient(sim.base_url, "bench-key", per_minute=100_000)

    async def snapshots(ids: Collection[str] | None = None) -> dict[str, Snapshot]:
        return await repos.snapshots.get("mobiforce", ids)

    cap = Settings.model_fields["mobiforce_max_tasks_per_cycle"].default
    # As the bot runs it: who each task is for comes from the bot's own rows (get-task as
    # documented does not say), one query a cycle.
    watcher = MobiforceWatcher(
        client, snapshots, max_tasks_per_cycle=cap, facts=TaskFactsBook(repos)
    )
    pipeline = AlertPipeline(repos, ZoneInfo("Europe/Moscow"))
    tasks = [
        sim.add_task({"template": {"id": template.id}, "contractor": {"id": client_row.id}})
        for _ in range(TASKS)
    ]
    # A busy account's feed page: 3,000 updates, three for each of 1,000 tasks (the document
    # does not promise one row per task, so the bench does not assume it).
    feed: list[dict[str, object]] = []

    def get_updates(query: dict[str, str], body: object, now: object) -> list[dict[str, object]]:
        after = int(query.get("usn") or 0)
        return [row for row in feed if int(str(row["usn"])) > after][:UPDATES]

    sim._handlers["get-updates"] = get_updates  # type: ignore[assignment]
    try:
        cursor = (await watcher.poll(None)).cursor  # the first start: an empty feed
        feed += [
            {"usn": str(n + 1), "taskId": str(tasks[n % TASKS].id), "time": "2030-01-10 12:00:00"}
            for n in range(UPDATES)
        ]
        page = len(get_updates({"usn": str(cursor)}, None, None))
        calls, cycles, alerts, rows, first_wall = [], 0, 0, 0, 0.0
        while True:
            started = time.perf_counter()
            result = await watcher.poll(cursor)
            rows += await pipeline.commit(
                "mobiforce", result.alerts, result.cursor, snapshots=result.snapshots
            )
            if cycles == 0:
                first_wall = time.perf_counter() - started
            cycles += 1
            calls.append(watcher.calls_last_cycle)
            alerts += len(result.alerts)
            if result.cursor == cursor or cycles > UPDATES:
                break
            cursor = result.cursor
    finally:
        await client.aclose()
    bound = 1 + cap + 2  # one feed page (up to max_feed_pages), at most `cap` get-task
    return [
        Row("feed page: updates (distinct tasks)", page, "", exactly(UPDATES), 0),
        Row("upstream calls, first cycle", calls[0], "", at_most(bound), 0),
        Row("upstream calls, largest cycle", max(calls), "", at_most(bound), 0),
        Row("cycle wall time (poll + route + commit), first", first_wall * 1000, "ms", None, 0),
        Row(f"cycles to drain the page (cap {cap} tasks a cycle)", cycles, "", None, 0),
        Row("alerts in all: one per task, none lost", alerts, "", exactly(TASKS), 0),
        Row(f"outbox rows written ({CHATS} chats on area:tasks)", rows, "", None, 0),
    ]
