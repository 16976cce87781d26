"""Issue 8, item 9: the sender's per-chat claim (``claim_for_chat``) under a backlog.

The cost of one chat's dispatch must not grow with the rows waiting for OTHER chats: measured
with 1,000 and with 100,000 pending rows spread over 5,000 chats, the chats asked about having
20 due rows both times. Reported: the mean time of one ``claim_for_chat`` (a transaction: the
chat's due rows read and locked, then marked claimed) at each size and their ratio (target
<= 2). Run on SQLite and on PostgreSQL (bench/databases.py).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.report import Row, at_most
from storage import Repos
from storage.db import Database, utcnow
from storage.outbox import NewOutboxRow, insert_rows

TITLE = "Outbox backlog: one chat's due rows at 1,000 vs 100,000 pending (5,000 chats)"
CHATS = 5_000
SMALL, LARGE = 1_000, 100_000
PROBES = 500


async def run(database_url: str | None = None) -> list[Row]:
    small = await _per_dispatch(SMALL, database_url)
    large = await _per_dispatch(LARGE, database_url)
    return [
        Row("claim_for_chat, 1,000 pending", small * 1e6, "µs"),
        Row("claim_for_chat, 100,000 pending", large * 1e6, "µs"),
        Row("per-dispatch time ratio 100k / 1k", large / small, "×", at_most(2), decimals=2),
    ]


async def _per_dispatch(pending: int, database_url: str | None) -> float:
    """Mean seconds of one claim_for_chat, for a chat with 20 rows among ``pending``."""
    with tempfile.TemporaryDirectory() as folder:
        async with Database(database_url or Path(folder) / "bench.sqlite3") as db:
            repos = Repos.on(db)
            await db.execute("DELETE FROM outbox")  # PostgreSQL: the same database both times
            await _fill(db, pending)
            if not db.is_sqlite:
                await db.execute("ANALYZE outbox")  # as autovacuum would have by now
            probe_chats = [-chat for chat in _probe_chats()]
            for chat in probe_chats:  # warm the page cache
                await repos.outbox.due_for_chat(chat)
            started = time.perf_counter()
            for chat in probe_chats:
                rows = await repos.outbox.claim_for_chat(chat)
                assert len(rows) == 20
            return (time.perf_counter() - started) / len(probe_chats)


async def _fill(db: Database, pending: int) -> None:
    """20 due rows for each probe chat; the rest of the backlog, due as well (an outage's worth),
    spread over the other chats."""
    due = utcnow() - timedelta(seconds=1)
    step = CHATS // PROBES
    rows = [_row(-chat, f"probe-{k}", due) for chat in _probe_chats() for k in range(20)]
    others = [chat for chat in range(1, CHATS + 1) if (chat - 1) % step]
    for n in range(pending - len(rows)):
        rows.append(_row(-others[n % len(others)], f"backlog-{n}", due))
    async with db.transaction() as tx:
        await insert_rows(tx, rows)


def _probe_chats() -> list[int]:
    return [1 + n * (CHATS // PROBES) for n in range(PROBES)]


def _row(chat_id: int, key: str, not_before: datetime) -> NewOutboxRow:
    return NewOutboxRow(
        chat_id=chat_id,
        thread_id=0,
        dedupe_key=key,
        kind="driver.late",
        severity=2,
        subject_key="driver:79990000000",
        payload="{}",
        not_before=not_before,
    )
