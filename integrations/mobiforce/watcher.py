"""One Mobiforce poll cycle: the change feed since the cursor -> one alert per changed task.

- **Feed.** ``get-updates?type=task&usn=N`` lists each changed task once, with its latest usn,
  ascending, up to 3000 rows a page. The cursor is that usn as text.
- **First start** (cursor ``None``): no history is replayed. The feed is read to its end and
  the newest usn becomes the cursor. An account with more history than ``max_catch_up_pages``
  pages gets a ``"catch-up:<usn>"`` cursor and the next cycle reads on, still silently.
- **Per changed task ONE get-task**, diffed against the snapshot the bot keeps
  (:class:`~integrations.base.SnapshotReader`, keyed by the internal task id as text) by
  :mod:`integrations.mobiforce.changes`; who the task is for and who does it come from the
  bot's :data:`~integrations.mobiforce.facts.FactsReader`. The new snapshots go back in
  :attr:`WatchResult.snapshots`; the bot commits them with the alerts and the cursor in one
  transaction.
- **Bounded.** At most ``max_tasks_per_cycle`` get-task calls a cycle (plus the feed pages).
  The cursor moves only past feed rows whose task was fully processed, so whatever did not
  fit, or failed to answer, comes again next cycle: nothing is lost.
- **Never jammed.** A task Mobiforce refuses because it is gone (the refusal says so) loses its
  snapshot. A task whose answer does not parse, or that is refused for another reason, is
  logged, counted (:attr:`MobiforceWatcher.skipped_total`, shown by /status through a
  ``system.events_skipped`` notice) and skipped past: one bad task never holds up the feed.
- **One alert per task per cycle**: the kind of its most important change, with fields that
  describe all its changes (``changes`` lists them when there are several).
- **Overdue**: every cycle, the tasks the bot keeps whose planned start passed by
  ``overdue_after`` without any change since are told once as ``task.overdue``
  (:mod:`integrations.mobiforce.overdue`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from integrations.base import Alert, Snapshot, SnapshotReader, Subject, WatchResult
from integrations.mobiforce.changes import (
    KINDS,
    SOURCE,
    changes_between,
    first_sight,
    snapshot_of,
    task_alert,
)
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.commands import FEED_PAGE_SIZE
from integrations.mobiforce.errors import (
    MobiforceBadAnswer,
    MobiforceError,
    MobiforceRejected,
    says_gone,
)
from integrations.mobiforce.facts import FactsReader, answer_only
from integrations.mobiforce.models import Task, Update
from integrations.mobiforce.overdue import KEPT_KEYS, overdue_alerts

__all__ = ["CATCH_UP_PREFIX", "KINDS", "SOURCE", "MobiforceWatcher", "snapshot_of"]

log = logging.getLogger("integrations.mobiforce")

CATCH_UP_PREFIX: Final = "catch-up:"
MAX_IDS_IN_NOTICE: Final = 20


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
        facts: FactsReader = answer_only,
        overdue_after: timedelta | None = None,  # None: no task.overdue (the bot sets it)
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.snapshots = snapshots
        self.facts = facts
        self.max_tasks = max(1, max_tasks_per_cycle)
        self.max_feed_pages = max(1, max_feed_pages)
        self.max_catch_up_pages = max(1, max_catch_up_pages)
        self.new_task_window = new_task_window
        self.overdue_after = overdue_after
        self.clock = clock
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self.calls_last_cycle = 0
        self.skipped_total = 0  # tasks skipped past since start (unparsable or refused)
        # Time of the newest feed row already behind the cursor (in memory: after a restart
        # the ``new_task_window`` rule decides whether a task first seen is new).
        self._horizon: datetime | None = None

    async def poll(self, cursor: str | None) -> WatchResult:
        calls_before = sum(self.client.stats.calls.values())
        try:
            if cursor is None or cursor.startswith(CATCH_UP_PREFIX):
                return await self._catch_up(cursor)
            return await self._with_overdue(await self._cycle(int(cursor)))
        finally:
            self.calls_last_cycle = sum(self.client.stats.calls.values()) - calls_before

    async def _with_overdue(self, result: WatchResult) -> WatchResult:
        """The cycle's result plus the tasks overdue now (their snapshots as this cycle left
        them)."""
        if self.overdue_after is None:
            return result
        known = await self.snapshots(None)
        known.update({k: v for k, v in result.snapshots.items() if v is not None})
        for gone in [k for k, v in result.snapshots.items() if v is None]:
            known.pop(gone, None)
        alerts, told = overdue_alerts(known, self.clock(), self.overdue_after)
        result.alerts += alerts
        result.snapshots.update(told)
        return result

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
        gone: set[int] = set()
        skipped: set[int] = set()
        failure: MobiforceError | None = None
        for task_id, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Task):
                tasks[task_id] = outcome
            elif says_gone(outcome):
                log.info("mobiforce: task %s is gone (%s)", task_id, outcome.vendor_text)
                gone.add(task_id)
            elif isinstance(outcome, MobiforceBadAnswer | MobiforceRejected):
                log.warning("mobiforce: task %s skipped past: %s", task_id, outcome)
                skipped.add(task_id)
            else:
                failure = failure or outcome
        cursor, last_rows = _safe_cursor(usn, rows, set(tasks) | gone | skipped)
        if failure is not None and cursor == usn:
            raise failure  # no progress at all: the cycle failed (the bot counts it as down)
        alerts, snapshots = await self._diff(
            [task for task_id, task in tasks.items() if task_id in last_rows], last_rows
        )
        snapshots.update({str(task_id): None for task_id in gone if task_id in last_rows})
        passed_skipped = sorted(task_id for task_id in skipped if task_id in last_rows)
        if passed_skipped:
            alerts.append(self._skipped_notice(passed_skipped, cursor))
        if failure is not None:
            log.warning("mobiforce: cycle stopped at usn %s: %s", cursor, failure)
        passed = [row.time for row in rows if row.usn <= cursor and row.time is not None]
        if passed:
            self._horizon = max(passed)
        return WatchResult(alerts, str(cursor), snapshots)

    async def _diff(
        self, tasks: list[Task], last_rows: dict[int, Update]
    ) -> tuple[list[Alert], dict[str, Snapshot | None]]:
        """Each task against its snapshot: the alerts, and the new snapshots."""
        known = await self.snapshots([str(task.id) for task in tasks])
        facts = await self.facts(tasks) if tasks else {}
        alerts: list[Alert] = []
        snapshots: dict[str, Snapshot | None] = {}
        for task in tasks:
            row = last_rows[task.id]
            new = snapshot_of(task, facts.get(task.id))
            old = known.get(str(task.id))
            if old is None:
                changes = [first_sight(task, new, created_recently=self._is_new(task, row))]
            else:
                changes = changes_between(task, old, new)
                new.update({key: old[key] for key in KEPT_KEYS if key in old})
            if changes:
                new["changed_at"] = (row.time or self.clock()).isoformat()
                alerts.append(
                    task_alert(task, changes, new, row.usn, row.time or datetime.now(UTC))
                )
            snapshots[str(task.id)] = new
        return alerts, snapshots

    def _is_new(self, task: Task, row: Update) -> bool:
        """Whether a task seen for the first time was created just now (else it is older and
        only new to the bot)."""
        if task.created_at is None:
            return False
        if self._horizon is not None:  # created after everything the feed showed before
            return task.created_at > self._horizon
        return (row.time or datetime.now(UTC)) - task.created_at <= self.new_task_window

    def _skipped_notice(self, task_ids: list[int], cursor: int) -> Alert:
        """For the admins and /status: tasks the feed moved past without reading them."""
        self.skipped_total += len(task_ids)
        shown = ", ".join(str(task_id) for task_id in task_ids[:MAX_IDS_IN_NOTICE])
        if len(task_ids) > MAX_IDS_IN_NOTICE:
            shown += ", …"
        return Alert(
            kind="system.events_skipped",
            source=SOURCE,
            subject=Subject("integration", SOURCE, "Mobiforce"),
            occurred_at=datetime.now(UTC),
            dedupe_key=f"{SOURCE}:skipped:{cursor}:{task_ids[0]}",
            fields={"skipped_task_ids": shown, "skipped_total": self.skipped_total},
        )

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
