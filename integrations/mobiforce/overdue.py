"""``task.overdue``: a task whose planned start passed by a grace and that has not started.

The Mobiforce document gives a task's planned start (``plannedVisitTime``) but no "started"
state or fact time, so "not started" is read from what the feed shows: the task is neither a
draft nor closed, and it has not changed at all since its planned start (an executor who
starts fills the checklist or the fields, or moves its status where the account sends one).
Told once per planned start (``overdue_told`` in the snapshot); the task's next change — it
started, it was closed, it was moved to another time — ends its escalation.

The watcher keeps ``changed_at`` (when the feed last showed the task changed) in each snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from integrations.base import Alert, FieldValue, Snapshot, Subject
from integrations.mobiforce.changes import SOURCE

KIND = "task.overdue"
KEPT_KEYS = ("changed_at", "overdue_told")  # the watcher's own keys, kept across snapshots


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def is_overdue(snapshot: Snapshot, now: datetime, grace: timedelta) -> bool:
    planned = _time(snapshot.get("planned_start"))
    if planned is None or snapshot.get("closed") or snapshot.get("draft"):
        return False
    if snapshot.get("overdue_told") == snapshot.get("planned_start"):
        return False
    changed = _time(snapshot.get("changed_at"))
    if changed is not None and changed >= planned:
        return False  # something happened to it since its planned start
    return now >= planned + grace


def overdue_alerts(
    snapshots: Mapping[str, Snapshot], now: datetime, grace: timedelta
) -> tuple[list[Alert], dict[str, Snapshot | None]]:
    """The alerts for tasks overdue now, and their snapshots marked as told."""
    alerts: list[Alert] = []
    told: dict[str, Snapshot | None] = {}
    for task_id, snapshot in snapshots.items():
        if not is_overdue(snapshot, now, grace):
            continue
        new = {**snapshot, "overdue_told": snapshot.get("planned_start")}
        told[task_id] = new
        alerts.append(_alert(task_id, new, now))
    return alerts, told


def _alert(task_id: str, snapshot: Snapshot, now: datetime) -> Alert:
    number = str(snapshot.get("number") or task_id)
    client = str(snapshot.get("client") or "")
    fields: dict[str, FieldValue] = {
        "task_number": number,
        "client": client or None,
        "executor": str(snapshot.get("executor") or "") or None,
        "planned_start": str(snapshot.get("planned_start")),
        "task_id": int(task_id) if task_id.isdigit() else None,
    }
    title = f"№{number}" + (f" · {client}" if client else "")
    tags = tuple(tag for tag in (str(snapshot.get("template") or ""),) if tag)
    return Alert(
        kind=KIND,
        source=SOURCE,
        subject=Subject("task", number, title, tags),
        occurred_at=now,
        dedupe_key=f"{SOURCE}:task:{task_id}:overdue:{snapshot.get('planned_start')}",
        fields={key: value for key, value in fields.items() if value is not None},
    )
