"""What changed in a task between two get-task answers, as one alert.

The watcher keeps a snapshot of every task it has read (:func:`snapshot_of`) and compares the
next one with it. Alerts come from what the document's get-task shows — sent (``draft`` true ->
false), rescheduled (the planned times), the task's fields (``props``) and the report
(``checklist``; a photo field's value is a count) — and from the executor, status and closing
only when the answer (or the bot's :class:`~integrations.mobiforce.facts.TaskFacts`) has them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from integrations.base import Alert, FieldValue, Snapshot, Subject
from integrations.mobiforce.facts import TaskFacts
from integrations.mobiforce.models import Task, TaskItem, photo_count

SOURCE: Final = "mobiforce"

# Most important first: a cycle's alert for a task takes the first kind that applies.
KINDS: Final = (
    "task.closed",
    "task.created",
    "task.sent",
    "task.assigned",
    "task.rescheduled",
    "task.checklist",
    "task.changed",
)


@dataclass
class Change:
    kind: str
    name: str  # snake_case token for the ``changes`` field
    fields: dict[str, FieldValue] = field(default_factory=dict)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def value_text(item: TaskItem) -> str:
    """A field's value as a language-free text: photos as a count, booleans as ✓/✗."""
    if item.is_photo:
        return f"{photo_count(item.value)} 📷"
    value = item.value
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or json.dumps(value, ensure_ascii=False))
    return "—" if value in (None, "") else str(value)


def _item_state(item: TaskItem) -> Any:
    return photo_count(item.value) if item.is_photo else item.value


def snapshot_of(task: Task, facts: TaskFacts | None = None) -> Snapshot:
    """What the watcher remembers of a task. Handlers that create or show a task store this so
    that the watcher does not announce what the chat has just seen."""
    facts = facts or TaskFacts.of(task)
    return {
        "number": task.number,
        "client": facts.client,
        "template": task.template.name if task.template else "",
        "executor_id": facts.executor_id,
        "executor": facts.executor,
        "planned_start": _iso(task.planned_start),
        "planned_end": _iso(task.planned_end),
        "draft": task.draft,
        "status": task.status.name if task.status else "",
        "closed": task.closed,
        "address": facts.address,
        "checklist": {str(item.id): _item_state(item) for item in task.checklist},
        "props": {str(item.id): item.value for item in task.props},
        "fingerprint": _fingerprint(task),
    }


def _fingerprint(task: Task) -> str:
    dump = task.model_dump(mode="json", by_alias=True)
    return hashlib.sha1(
        json.dumps(dump, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def task_alert(task: Task, changes: list[Change], new: Snapshot, usn: int, when: datetime) -> Alert:
    """One alert for all of a task's changes in a cycle: the kind of the most important, the
    client and executor always named when known."""
    changes.sort(key=lambda change: KINDS.index(change.kind))
    fields: dict[str, FieldValue] = {"task_number": task.number}
    if new["client"]:
        fields["client"] = new["client"]
    for change in changes:
        for key, value in change.fields.items():
            fields.setdefault(key, value)
    if new["executor"]:
        fields.setdefault("executor", new["executor"])
    if len(changes) > 1:
        fields["changes"] = ",".join(change.name for change in changes)
    fields["task_id"] = task.id
    title = f"№{task.number}" + (f" · {new['client']}" if new["client"] else "")
    tags = tuple(tag for tag in (new["template"],) if tag)
    return Alert(
        kind=changes[0].kind,
        source=SOURCE,
        subject=Subject("task", task.number, title, tags),
        occurred_at=when,
        dedupe_key=f"{SOURCE}:task:{task.id}:{usn}",
        fields=fields,
    )


def first_sight(task: Task, new: Snapshot, *, created_recently: bool) -> Change:
    """A task with no snapshot: just created, or an older task the bot has not seen yet."""
    fields: dict[str, FieldValue] = {
        "template": new["template"] or None,
        "address": new["address"] or None,
        "executor": new["executor"] or None,
        "planned_start": new["planned_start"],
        "planned_end": new["planned_end"],
        "draft": new["draft"],
    }
    if new["status"]:
        fields["status"] = new["status"]
    if task.closed:
        closed = _closed(task)
        closed.fields = {**fields, **closed.fields}
        return closed
    if created_recently:
        return Change("task.created", "created", fields)
    return Change("task.changed", "first_seen", fields)


def changes_between(task: Task, old: Snapshot, new: Snapshot) -> list[Change]:
    changes: list[Change] = []
    if new["closed"] and not old.get("closed"):
        changes.append(_closed(task))
    if old.get("draft") and not new["draft"]:
        changes.append(
            Change(
                "task.sent",
                "sent",
                {"executor": new["executor"] or None, "planned_start": new["planned_start"]},
            )
        )
    if new["executor_id"] != old.get("executor_id"):
        assigned = {"executor": new["executor"] or None}
        if old.get("executor"):
            assigned["previous_executor"] = old["executor"]
        kind = "task.assigned" if new["executor_id"] else "task.changed"
        changes.append(Change(kind, "assigned" if new["executor_id"] else "unassigned", assigned))
    if (new["planned_start"], new["planned_end"]) != (
        old.get("planned_start"),
        old.get("planned_end"),
    ):
        changes.append(
            Change(
                "task.rescheduled",
                "rescheduled",
                {
                    "planned_start": new["planned_start"],
                    "planned_end": new["planned_end"],
                    "previous_planned_start": old.get("planned_start"),
                },
            )
        )
    checklist = _checklist_change(task, old.get("checklist") or {})
    if checklist is not None:
        changes.append(checklist)
    changes += _other_changes(task, old, new)
    if not changes and old.get("fingerprint") not in (None, new["fingerprint"]):
        changes.append(Change("task.changed", "other"))
    return changes


def _closed(task: Task) -> Change:
    status = task.result_status or task.status
    return Change(
        "task.closed",
        "closed",
        {
            "result_status": status.name or (str(status.id) if status.id else None)
            if status
            else None,
            "result": task.results_description or None,
            "closed_at": _iso(task.closed_at),
        },
    )


def _checklist_change(task: Task, before: dict[str, Any]) -> Change | None:
    filled = [
        item
        for item in task.checklist
        if item.is_filled and before.get(str(item.id)) != _item_state(item)
    ]
    if not filled:
        return None
    photos = sum(
        photo_count(item.value) - int(before.get(str(item.id)) or 0)
        for item in filled
        if item.is_photo
    )
    fields: dict[str, FieldValue] = {
        "checklist": "; ".join(f"{item.name}: {value_text(item)}" for item in filled),
        "checklist_filled": sum(1 for item in task.checklist if item.is_filled),
        "checklist_total": len(task.checklist),
    }
    if photos > 0:
        fields["photos_added"] = photos
    return Change("task.checklist", "checklist", fields)


def _other_changes(task: Task, old: Snapshot, new: Snapshot) -> Sequence[Change]:
    """Changes with no kind of their own: status (short of closing), address, task data."""
    changes = []
    status_explained = new["closed"] or (old.get("draft") and not new["draft"])
    if new["status"] != old.get("status", new["status"]) and not status_explained:
        changes.append(
            Change(
                "task.changed",
                "status",
                {"status": new["status"] or None, "previous_status": old.get("status") or None},
            )
        )
    if new["address"] != old.get("address", new["address"]):
        changes.append(Change("task.changed", "address", {"address": new["address"] or None}))
    before: dict[str, Any] = old["props"] if isinstance(old.get("props"), dict) else new["props"]
    changed = [item for item in task.props if before.get(str(item.id)) != item.value]
    if changed:
        text = "; ".join(f"{item.name}: {value_text(item)}" for item in changed)
        changes.append(Change("task.changed", "props", {"props": text}))
    if new["draft"] and not old.get("draft", True):
        changes.append(Change("task.changed", "draft", {"draft": True}))
    return changes
