"""Issue 14, item 20: a watcher's commit must not read every subscription, silence and state.

The same commit (50 alerts about 10 drivers, heard by 20 chats) is timed with 1,000 and with
100,000 rows in each of the tables that grow with time — subject subscriptions (every order,
task and wagon a chat ever watched), silences, subject states, status cards and snapshots — spread
over 5,000 chats and as many subjects. Reported: the mean time of one commit at each size and
their ratio (target <= 2).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import Row, at_most
from bot.alerts.pipeline import AlertPipeline
from integrations.base import Alert, Subject
from storage import Repos
from storage.db import Database, to_db_time, utcnow

TITLE = "Watcher commit: 50 alerts with 1,000 vs 100,000 rows in the alert tables"
SMALL, LARGE = 1_000, 100_000
CHATS = 5_000
LISTENERS = 20  # chats subscribed to the drivers' area
COMMITS = 200
DRIVERS = 10


async def run() -> list[Row]:
    small = await _per_commit(SMALL)
    large = await _per_commit(LARGE)
    return [
        Row("commit, 1,000 rows per table", small * 1e3, "ms"),
        Row("commit, 100,000 rows per table", large * 1e3, "ms"),
        Row("per-commit time ratio 100k / 1k", large / small, "×", at_most(2), decimals=2),
    ]


async def _per_commit(rows: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        async with Database(Path(folder) / "bench.sqlite3") as db:
            repos = Repos.on(db)
            await _fill(repos, rows)
            pipeline = AlertPipeline(repos, ZoneInfo("Europe/Moscow"))
            for n in range(10):  # warm the page cache
                await pipeline.commit("bench", _alerts(f"warm{n}"), str(n))
            started = time.perf_counter()
            for n in range(COMMITS):
                await pipeline.commit("bench", _alerts(str(n)), str(n))
            return (time.perf_counter() - started) / COMMITS


def _alerts(batch: str) -> list[Alert]:
    now = utcnow()
    return [
        Alert(
            "driver.late",
            "bench",
            Subject("driver", f"7999000{n % DRIVERS:04d}", f"Водитель {n % DRIVERS}"),
            now,
            f"bench:{batch}:{n}",
            {"Опоздание": "15 мин"},
        )
        for n in range(50)
    ]


async def _fill(repos: Repos, rows: int) -> None:
    now = to_db_time(utcnow())
    async with repos.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO chats (id, type, title, status, added_by, created_at, updated_at) "
            "VALUES (:id, 'group', 'g', 'approved', 1, :now, :now)",
            [{"id": -chat, "now": now} for chat in range(1, CHATS + 1)],
        )
        await conn.executemany(
            "INSERT INTO subscriptions (chat_id, thread_id, selector, filter, filter_key, "
            "created_at) VALUES (:chat, 0, 'all', :filter, :filter, :now)",
            [{"chat": -(1 + n % CHATS), "filter": f"order:{n}", "now": now} for n in range(rows)],
        )
        await conn.executemany(
            "INSERT INTO subject_silences (chat_id, thread_id, subject_key, kind, until) "
            "VALUES (:chat, 0, :subject, 'task.changed', NULL)",
            [{"chat": -(1 + n % CHATS), "subject": f"task:{n}"} for n in range(rows)],
        )
        await conn.executemany(
            "INSERT INTO subject_states (subject_key, state, since) "
            "VALUES (:subject, 'driver.left_route', :now)",
            [{"subject": f"driver:7000{n:07d}", "now": now} for n in range(rows)],
        )
        await conn.executemany(
            "INSERT INTO status_cards (chat_id, thread_id, subject_key, message_id) "
            "VALUES (:chat, 0, :subject, :n)",
            [{"chat": -(1 + n % CHATS), "subject": f"wagon:{n}", "n": n} for n in range(rows)],
        )
        await conn.executemany(
            "INSERT INTO watch_snapshots (source, subject_id, data, updated_at) "
            "VALUES ('alta', :id, '{}', :now)",
            [{"id": str(n), "now": now} for n in range(rows)],
        )
        await conn.executemany(
            "INSERT INTO subscriptions (chat_id, thread_id, selector, filter, created_at) "
            "VALUES (:chat, 0, 'area:drivers', '', :now)",
            [{"chat": -chat, "now": now} for chat in range(1, LISTENERS + 1)],
        )
