"""Issue 20: a month's /report over 100,000 history rows — build time and peak extra memory.

A chat's history gets 100,000 events over 30 days (drivers, tasks, taxis, wagons, escalations).
A child process (its memory is its own) then does what /report does after parsing the period:
reads the month of history, writes the XLSX workbook (openpyxl, write-only) and draws the chart
(matplotlib, Agg). Reported: the time from the read to both files (target <= 10 s) and the peak
RSS above the child's RSS before the read (target <= 100 MB) — the libraries' own import
included, since an idle bot does not carry them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.idle_memory import MB, proc_status_bytes
from bench.report import Row, at_most, exactly
from storage import Repos
from storage.db import Database, utcnow
from storage.history import HistoryEvent

TITLE = "Report: a month's XLSX + chart over 100,000 history rows"
ROWS = 100_000
DAYS = 30
CHAT = -1_000_000_001
KINDS = (
    ("drivers", "driver.late"),
    ("drivers", "driver.arrived"),
    ("drivers", "driver.left_route"),
    ("tasks", "task.created"),
    ("tasks", "task.closed"),
    ("taxi", "action.taxi_ordered"),
    ("taxi", "taxi.finished"),
    ("wagons", "wagon.moved"),
    ("wagons", "wagon.arrived"),
    ("escalations", "escalation.acked"),
)
AREAS = ("drivers", "tasks", "taxi", "wagons", "escalations")


def history(count: int) -> list[HistoryEvent]:
    start = utcnow() - timedelta(days=DAYS - 1)
    step = timedelta(days=DAYS - 1) / count
    events = []
    for n in range(count):
        area, kind = KINDS[n % len(KINDS)]
        events.append(
            HistoryEvent(
                CHAT,
                0,
                start + step * n,
                area,
                kind,
                f"{area}:{n % 500}",
                f"bench:{n}",
                subject_title=f"Объект {n % 500}",
                minutes=n % 90 if area in ("drivers", "tasks", "escalations") else None,
                amount=Decimal("450.50") if kind == "action.taxi_ordered" else None,
                fields={"place": "Тверь", "distance_left_km": n % 700},
            )
        )
    return events


async def fill(url: str) -> None:
    async with Database(url) as db:
        repos = Repos.on(db)
        events = history(ROWS)
        for start in range(0, len(events), 5000):
            await repos.history.record(events[start : start + 5000])


async def child(url: str) -> None:
    """The /report work, measured from inside its own process."""
    from bot.i18n import build_i18n
    from bot.reports.build import build_report
    from bot.reports.period import Period, parse_period

    tz = ZoneInfo("Europe/Moscow")
    i18n = build_i18n("ru")
    async with Database(url) as db:
        repos = Repos.on(db)
        before = proc_status_bytes(os.getpid(), "VmRSS")
        started = time.perf_counter()
        period = parse_period("месяц", utcnow(), tz, 90)
        assert isinstance(period, Period)
        with i18n.context(), i18n.use_locale("ru"):
            built = await build_report(repos, CHAT, 0, AREAS, period, tz, "ru")
        seconds = time.perf_counter() - started
        peak = proc_status_bytes(os.getpid(), "VmHWM")
    result = {
        "rows": built.events,
        "seconds": seconds,
        "extra": peak - before,
        "xlsx": len(built.xlsx),
        "png": len(built.png),
    }
    print(json.dumps(result))


async def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'report.sqlite3'}"
        await fill(url)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bench.report_build", url],
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        Row("report: month's history rows read", result["rows"], "rows", exactly(ROWS), 0),
        Row("report: read + XLSX + chart", result["seconds"], "s", at_most(10), 2),
        Row("report: peak extra RSS", result["extra"] / MB, "MB", at_most(100), 1),
        Row("report: XLSX size", result["xlsx"] / MB, "MB", None, 1),
    ]


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1]))
