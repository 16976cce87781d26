"""The check at send time: rows wait in the outbox (quiet hours, 429s, a backlog), and by the
time they can go, the chat may no longer want them, or routine news may be too soon.

- A row for a chat that no longer wants it (muted, unsubscribed, revoked, disabled since) is
  dropped and counted, not delivered.
- Routine news of a subject (kinds.py ``routine``) reaches a chat at most once per window: rows
  that come sooner wait in the outbox until the window ends, and then go out folded into one
  line with the latest state (bot/alerts/packing.py). Nothing is lost, and every row is counted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.alerts.kinds import KINDS
from bot.alerts.packing import is_routine
from bot.alerts.pipeline import AlertPipeline
from bot.metrics import Metrics
from integrations.base import Alert
from storage import Repos
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)
ROUTINE_KINDS = frozenset(name for name, spec in KINDS.items() if spec.routine)


async def drop_unwanted(
    repos: Repos, pipeline: AlertPipeline, metrics: Metrics, chat_id: int, rows: list[OutboxRow]
) -> list[OutboxRow]:
    """The rows the chat still wants; the others are marked dropped with the reason."""
    snapshot = await pipeline.chat_snapshot(chat_id)
    if snapshot is None:
        return rows
    keep: list[OutboxRow] = []
    dropped: dict[str, list[int]] = {}
    for row in rows:
        try:
            alert = Alert.from_json(row.payload)
        except (ValueError, KeyError, TypeError):
            keep.append(row)  # planning fails it with the reason
            continue
        reason = await pipeline.still_wanted(chat_id, row.thread_id, alert, snapshot)
        if reason is None:
            keep.append(row)
        else:
            dropped.setdefault(reason, []).append(row.id)
    for reason, ids in dropped.items():
        log.info("chat %s: %s queued alerts dropped (%s)", chat_id, len(ids), reason)
        await repos.outbox.mark_dropped(ids, reason)
        metrics.alerts_dropped.inc(len(ids))
    return keep


async def hold_routine(
    repos: Repos, chat_id: int, rows: list[OutboxRow], window: timedelta, now: datetime
) -> list[OutboxRow]:
    """The rows that may go now; routine rows of a subject whose last routine line went out
    less than ``window`` ago are postponed to the window's end."""
    if window <= timedelta(0):
        return rows
    subjects = {(row.thread_id, row.subject_key) for row in rows if is_routine(row.kind)}
    held: dict[datetime, list[int]] = {}
    for thread_id, subject in subjects:
        last = await repos.outbox.last_sent_at(chat_id, thread_id, subject, ROUTINE_KINDS)
        if last is None or last + window <= now:
            continue
        ids = [
            row.id
            for row in rows
            if is_routine(row.kind) and (row.thread_id, row.subject_key) == (thread_id, subject)
        ]
        held.setdefault(last + window, []).extend(ids)
    for until, ids in held.items():
        await repos.outbox.postpone(ids, until, None)
    waiting = {row_id for ids in held.values() for row_id in ids}
    return [row for row in rows if row.id not in waiting]
