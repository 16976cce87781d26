"""The bot's Mobiforce directories, kept in step with the account.

Mobiforce's lists have no search and page by ten, so the bot keeps its own rows (storage/
mobiforce.py) and searches those: templates, employees, clients (contractors) and task numbers
-> internal ids. They are filled in the background at start and read again every
``MOBIFORCE_SYNC_MINUTES``; between syncs the change feed keeps tasks in step (every task the
watcher reads, and every task a command reads or creates, is remembered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Final

from integrations.base import Snapshot
from integrations.errors import IntegrationDisabled
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceError
from integrations.mobiforce.models import Task
from storage.mobiforce import Entry, MobiforceRepo

log = logging.getLogger(__name__)

# A full sync reads at most this many pages of each list (10 rows a page).
MAX_SYNC_PAGES: Final = 100
FIRST_SYNC_DELAY: Final = 0.0


def task_state(draft: bool, closed: bool) -> str:
    return "closed" if closed else "draft" if draft else "sent"


def task_entry(task: Task) -> Entry:
    return Entry(
        "task",
        task.id,
        task.number,
        {
            "client": task.contractor.name if task.contractor else "",
            "template": task.template.name if task.template else "",
            "executor": task.employee.name if task.employee else "",
            "state": task_state(task.draft, task.closed),
            "start": task.planned_start.isoformat() if task.planned_start else "",
        },
    )


def snapshot_entry(task_id: str, snapshot: Snapshot) -> Entry | None:
    if not task_id.isdigit():
        return None
    return Entry(
        "task",
        int(task_id),
        str(snapshot.get("number") or task_id),
        {
            "client": snapshot.get("client") or "",
            "template": snapshot.get("template") or "",
            "executor": snapshot.get("executor") or "",
            "state": task_state(bool(snapshot.get("draft")), bool(snapshot.get("closed"))),
            "start": snapshot.get("planned_start") or "",
        },
    )


class MobiforceDirectory:
    def __init__(
        self, client: MobiforceClient, repo: MobiforceRepo, *, sync_minutes: int = 60
    ) -> None:
        self.client = client
        self.repo = repo
        self.sync_seconds = sync_minutes * 60
        self.synced = asyncio.Event()  # set after the first complete sync
        self._task: asyncio.Task[None] | None = None

    # --- background ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mobiforce-directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
            except IntegrationDisabled as exc:
                log.warning("mobiforce directories not synced (key refused): %s", exc)
            except MobiforceError as exc:
                log.warning("mobiforce directories not synced: %s", exc)
            except Exception:  # never fatal: the next sync tries again
                log.exception("mobiforce directory sync failed")
            await asyncio.sleep(self.sync_seconds)

    async def sync(self) -> dict[str, int]:
        """Read templates, employees, clients and task numbers in full (pages of 10)."""
        counts: dict[str, int] = {}
        templates = [
            Entry("template", t.id, t.name)
            async for t in self.client.iter_templates(max_pages=MAX_SYNC_PAGES)
        ]
        counts["template"] = await self.repo.replace("template", templates)
        employees = [
            Entry(
                "employee",
                e.id,
                e.name,
                {"phone": e.phone, "mobile": e.mobile_role, "operator": e.operator_role},
            )
            async for e in self.client.iter_employees(max_pages=MAX_SYNC_PAGES)
        ]
        counts["employee"] = await self.repo.replace("employee", employees)
        contractors = [
            Entry("contractor", c.id, c.name, {"parent": c.parent_name})
            async for c in self.client.iter_contractors(max_pages=MAX_SYNC_PAGES)
        ]
        counts["contractor"] = await self.repo.upsert("contractor", contractors)
        numbers = [
            (t.id, t.name or str(t.id))
            async for t in self.client.iter_tasks(max_pages=MAX_SYNC_PAGES)
        ]
        counts["task"] = await self.repo.add_names("task", numbers)
        self.synced.set()
        log.info("mobiforce directories synced: %s", counts)
        return counts

    # --- kept in step ----------------------------------------------------------------------------
    async def remember_task(self, task: Task) -> None:
        await self.repo.upsert("task", [task_entry(task)])

    async def remember_snapshots(self, snapshots: Mapping[str, Snapshot | None]) -> None:
        entries = [
            entry
            for task_id, snapshot in snapshots.items()
            if snapshot is not None and (entry := snapshot_entry(task_id, snapshot)) is not None
        ]
        await self.repo.upsert("task", entries)

    async def remember_contractor(self, contractor_id: int, name: str) -> None:
        await self.repo.upsert("contractor", [Entry("contractor", contractor_id, name)])

    async def task_ids(self, text: str) -> list[int]:
        """Internal ids for what a person typed: a task number, else an internal id."""
        text = text.strip().lstrip("№#")
        found = [entry.id for entry in await self.repo.by_name("task", text)]
        if found:
            return found
        return [int(text)] if text.isdigit() and len(text) <= 12 else []


def employee_phone(data: Mapping[str, Any]) -> str:
    return str(data.get("phone") or "")
