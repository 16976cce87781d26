"""One Mobiforce poll cycle: the change feed since the cursor -> one alert per changed task.

- **Feed.** ``get-updates?type=task&usn=N`` lists each changed task once, with its latest usn,
  ascending, up to 3000 rows a page. The cursor is that usn as text.
- **First start** (cursor ``None``): no history is replayed. The feed is read to its end and
  the newest usn becomes the cursor. An account with more history than ``max_catch_up_pages``
  pages gets a ``"catch-up:<usn>"`` cursor and the next cycle reads on, still silently.
- **Per changed task ONE get-task**, diffed against the snapshot the bot keeps
  (:class:`~integrations.base.SnapshotReader`, keyed by the internal task id as text). The new
  snapshots go back in :attr:`WatchResult.snapshots`; the bot commits them with the alerts and
  the cursor in one transaction.
- **Bounded.** At most ``max_tasks_per_cycle`` get-task calls a cycle (plus the feed pages).
  The cursor moves only past feed rows whose task was fully processed, so whatever did not
  fit, or failed, comes again next cycle: nothing is lost.
- **One alert per task per cycle**: the kind of its most important change, with fields that
  describe all its changes (``changes`` lists them when there are several).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from integrations.base import Alert, FieldValue, Snapshot, SnapshotReader, Subject, WatchResult
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.commands import FEED_PAGE_SIZE
from integrations.mobiforce.errors import MobiforceError, MobiforceRejected
from integrations.mobiforce.models import Task, TaskItem, Update, photo_count

log = logging.getLogger("integrations.mobiforce")

SOURCE: Final = "mobiforce"
CATCH_UP_PREFIX: Final = "catch-up:"

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
class _Change:
    kind: str
    name: str  # snake_case token for the ``changes`` field
    fields: dict[str, FieldValue] = field(default_factory=dict)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _value_text(item: TaskItem) -> str:
    """A checklist value as a language-free text: photos as a count, booleans as ✓/✗."""
    if item.is_photo:
        return f"{photo_count(item.value)} 📷"
    value = item.value
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or json.dumps(value, ensure_ascii=False))
    return str(value)


def _item_state(item: TaskItem) -> Any:
    return photo_count(item.value) if item.is_photo else item.value


def snapshot_of(task: Task) -> Snapshot:
    """What the watcher remembers of a task. Handlers that create a task may store this (after
    a get-task) so that the watcher does not announce the chat's own creation."""
    return {
        "number": task.number,
        "client": task.contractor.name if task.contractor else "",
        "template": task.template.name if task.template else "",
        "executor_id": task.employee.id if task.employee else None,
        "executor": task.employee.name if task.employee else "",
        "planned_start": _iso(task.planned_start),
        "planned_end": _iso(task.planned_end),
        "draft": task.draft,
        "status": task.status.name if task.status else "",
        "closed": task.closed,
        "address": task.address,
        "checklist": {str(item.id): _item_state(item) for item in task.checklist},
        "props": {str(item.id): item.value for item in task.props},
        "fingerprint": _fingerprint(task),
    }


def _fingerprint(task: Task) -> str:
    dump = task.model_dump(mode="json", by_alias=True)
    return hashlib.sha1(
        json.dumps(dump, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


class MobiforceWatcher:
    """Polls one Mobiforce account's task feed. ``snapshots`` reads what the bot remembers."""

    name = SOURCE

    def __init__(
        self,
        client: MobiforceClient,
        snapshots: SnapshotReader,
        *,
        max_tasks_per_cycle: int = 50,
        max_feed_pages: int = 3,
        max_catch_up_pages: int = 20,
        new_task_window: timedelta = timedelta(hours=1),
        concurrency: int = 4,
    ) -> None:
        self.client = client
        self.snapshots = snapshots
        self.max_tasks = max(1, max_tasks_per_cycle)
        self.max_feed_pages = max(1, max_feed_pages)
        self.max_catch_up_pages = max(1, max_catch_up_pages)
        self.new_task_window = new_task_window
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self.calls_last_cycle = 0
        # Time of the newest feed row already behind the cursor (in memory: after a restart
        # the ``new_task_window`` rule decides whether a task first seen is new).
        self._horizon: datetime | None = None

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            if cursor is None or cursor.startswith(CATCH_UP_PREFIX):
                return await self._catch_up(cursor)
            return await self._cycle(int(cursor))
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    # --- first start --------------------------------------------------------------------------

    async def _catch_up(self, cursor: str | None) -> WatchResult:
        usn = int(cursor.removeprefix(CATCH_UP_PREFIX)) if cursor else 0
        for _ in range(self.max_catch_up_pages):
            page = [row for row in await self.client.get_updates(usn) if row.usn > usn]
            if page:
                usn, self._horizon = page[-1].usn, page[-1].time or self._horizon
            if len(page) < FEED_PAGE_SIZE:
                log.info("mobiforce: feed starts at usn %s (history is not replayed)", usn)
                return WatchResult([], str(usn))
        return WatchResult([], f"{CATCH_UP_PREFIX}{usn}")

    # --- a normal cycle -----------------------------------------------------------------------

    async def _cycle(self, usn: int) -> WatchResult:
        rows = await self._feed(usn)
        if not rows:
            return WatchResult([], str(usn))
        batch = list(dict.fromkeys(row.object_id for row in rows))[: self.max_tasks]
        outcomes = await asyncio.gather(*(self._get(task_id) for task_id in batch))
        tasks: dict[int, Task] = {}
        done: set[int] = set()
        failure: MobiforceError | None = None
        for task_id, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Task):
                tasks[task_id] = outcome
                done.add(task_id)
            elif isinstance(outcome, MobiforceRejected):
                log.info("mobiforce: task %s is gone (%s), skipped", task_id, outcome.vendor_text)
                done.add(task_id)
            else:
                failure = failure or outcome
        cursor, last_rows = _safe_cursor(usn, rows, done)
        if failure is not None and cursor == usn:
            raise failure  # no progress at all: the cycle failed (the bot counts it as down)
        known = await self.snapshots([str(task_id) for task_id in tasks])
        alerts: list[Alert] = []
        snapshots: dict[str, Snapshot | None] = {}
        for task_id, task in tasks.items():
            if task_id not in last_rows:
                continue  # processed, but a row before it was not: it comes again next cycle
            new = snapshot_of(task)
            old = known.get(str(task_id))
            alert = self._alert(task, old, new, last_rows[task_id])
            if alert is not None:
                alerts.append(alert)
            snapshots[str(task_id)] = new
        if failure is not None:
            log.warning("mobiforce: cycle stopped at usn %s: %s", cursor, failure)
        passed = [row.time for row in rows if row.usn <= cursor and row.time is not None]
        if passed:
            self._horizon = max(passed)
        return WatchResult(alerts, str(cursor), snapshots)

    async def _feed(self, usn: int) -> list[Update]:
        """Feed rows after ``usn``: pages until a short one, enough distinct tasks for this
        cycle, or ``max_feed_pages``."""
        rows: list[Update] = []
        tasks: set[int] = set()
        for _ in range(self.max_feed_pages):
            page = [row for row in await self.client.get_updates(usn) if row.usn > usn]
            rows += page
            tasks.update(row.object_id for row in page)
            if len(page) < FEED_PAGE_SIZE or len(tasks) > self.max_tasks:
                break
            usn = page[-1].usn
        return rows

    async def _get(self, task_id: int) -> Task | MobiforceError:
        async with self._gate:
            try:
                return await self.client.get_task(task_id)
            except MobiforceError as exc:
                return exc

    # --- diff -> alert ------------------------------------------------------------------------

    def _alert(self, task: Task, old: Snapshot | None, new: Snapshot, row: Update) -> Alert | None:
        changes = self._changes(task, old, new, row)
        if not changes:
            return None
        changes.sort(key=lambda change: KINDS.index(change.kind))
        fields: dict[str, FieldValue] = {"task_number": task.number}
        if new["client"]:
            fields["client"] = new["client"]
        for change in changes:
            for key, value in change.fields.items():
                fields.setdefault(key, value)
        if len(changes) > 1:
            fields["changes"] = ",".join(change.name for change in changes)
        fields["task_id"] = task.id
        title = f"№{task.number}" + (f" · {new['client']}" if new["client"] else "")
        tags = tuple(tag for tag in (new["template"],) if tag)
        return Alert(
            kind=changes[0].kind,
            source=SOURCE,
            subject=Subject("task", task.number, title, tags),
            occurred_at=row.time or datetime.now(UTC),
            dedupe_key=f"{SOURCE}:task:{task.id}:{row.usn}",
            fields=fields,
        )

    def _changes(
        self, task: Task, old: Snapshot | None, new: Snapshot, row: Update
    ) -> list[_Change]:
        if old is None:
            return [self._first_sight(task, new, row)]
        changes: list[_Change] = []
        if new["closed"] and not old.get("closed"):
            changes.append(_closed(task))
        if old.get("draft") and not new["draft"]:
            changes.append(
                _Change(
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
            changes.append(
                _Change(kind, "assigned" if new["executor_id"] else "unassigned", assigned)
            )
        if (new["planned_start"], new["planned_end"]) != (
            old.get("planned_start"),
            old.get("planned_end"),
        ):
            changes.append(
                _Change(
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
        changes += _other_changes(old, new)
        if not changes and old.get("fingerprint") not in (None, new["fingerprint"]):
            changes.append(_Change("task.changed", "other"))
        return changes

    def _first_sight(self, task: Task, new: Snapshot, row: Update) -> _Change:
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
        seen_at = row.time or datetime.now(UTC)
        if task.created_at is None:
            created_recently = False
        elif self._horizon is not None:  # created after everything the feed showed before
            created_recently = task.created_at > self._horizon
        else:
            created_recently = seen_at - task.created_at <= self.new_task_window
        if task.closed:
            closed = _closed(task)
            closed.fields = {**fields, **closed.fields}
            return closed
        if created_recently:
            return _Change("task.created", "created", fields)
        return _Change("task.changed", "first_seen", fields)


def _closed(task: Task) -> _Change:
    status = task.result_status or task.status
    return _Change(
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


def _checklist_change(task: Task, before: dict[str, Any]) -> _Change | None:
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
        "checklist": "; ".join(f"{item.name}: {_value_text(item)}" for item in filled),
        "checklist_filled": sum(1 for item in task.checklist if item.is_filled),
        "checklist_total": len(task.checklist),
    }
    if photos > 0:
        fields["photos_added"] = photos
    return _Change("task.checklist", "checklist", fields)


def _other_changes(old: Snapshot, new: Snapshot) -> Sequence[_Change]:
    """Changes with no kind of their own: status (short of closing), address, task data."""
    changes = []
    status_explained = new["closed"] or (old.get("draft") and not new["draft"])
    if new["status"] != old.get("status", new["status"]) and not status_explained:
        changes.append(
            _Change(
                "task.changed",
                "status",
                {"status": new["status"] or None, "previous_status": old.get("status") or None},
            )
        )
    if new["address"] != old.get("address", new["address"]):
        changes.append(_Change("task.changed", "address", {"address": new["address"] or None}))
    if new["props"] != old.get("props", new["props"]):
        changes.append(_Change("task.changed", "props"))
    if new["draft"] and not old.get("draft", True):
        changes.append(_Change("task.changed", "draft", {"draft": True}))
    return changes


def _safe_cursor(usn: int, rows: list[Update], done: set[int]) -> tuple[int, dict[int, Update]]:
    """The furthest usn such that every feed row up to it is about a processed task, and the
    last row of each task within that prefix."""
    cursor = usn
    last: dict[int, Update] = {}
    for row in rows:
        if row.object_id not in done:
            break
        cursor = row.usn
        last[row.object_id] = row
    return cursor, last
