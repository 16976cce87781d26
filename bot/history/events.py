"""An alert a chat heard, as a history event: its area, subject and the numbers that matter.

The pipeline records one event per (alert, chat, topic) it routes, in the same transaction as
the outbox rows (bot/alerts/pipeline.py). System alerts (integrations down, skipped events) are
internals for admins, not what a chat's day consisted of: they are not recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.kinds import KINDS
from integrations.base import Alert
from storage.history import HistoryEvent

# The kinds whose subject "begins" (a task's creation): when a task closes, minutes to close
# count from the first of these the history holds for it.
TASK_OPENED = ("task.created", "action.task_created")
TASK_CLOSED = ("task.closed", "action.task_closed")
# A driver's lateness in minutes, where an alert carries it (a richer feed than Movizor's
# documented one may); otherwise the digest measures it from "late" to "arrived".
LATE_MINUTES_FIELDS = ("minutes_late", "late_minutes", "delay_minutes")


def recorded(alert: Alert) -> bool:
    spec = KINDS.get(alert.kind)
    return spec is not None and spec.area != "system"


def area_of(kind: str) -> str:
    spec = KINDS.get(kind)
    return spec.area if spec is not None else kind.split(".")[0]


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _aware(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def minutes_of(alert: Alert, opened: datetime | None) -> int | None:
    """The alert's one number in minutes: late by (driver.late), to close (task.closed)."""
    if alert.kind == "driver.late":
        for key in LATE_MINUTES_FIELDS:
            minutes = _number(alert.fields.get(key))
            if minutes is not None:
                return max(0, minutes)
        return None
    if alert.kind == "task.closed" and opened is not None:
        closed = _aware(alert.fields.get("closed_at")) or alert.occurred_at
        return max(0, int((closed - opened).total_seconds() // 60))
    return None


def alert_event(
    alert: Alert, chat_id: int, thread_id: int, *, opened: datetime | None = None
) -> HistoryEvent:
    """``opened``: when the alert's task was created (for task.closed), if the history knows."""
    return HistoryEvent(
        chat_id=chat_id,
        thread_id=thread_id,
        at=alert.occurred_at,
        area=area_of(alert.kind),
        kind=alert.kind,
        subject_key=alert.subject.key,
        subject_title=alert.subject.title,
        dedupe_key=alert.dedupe_key,
        minutes=minutes_of(alert, opened),
        fields=dict(alert.fields),
    )
