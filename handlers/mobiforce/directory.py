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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final, Protocol, TypeVar

from handlers.mobiforce.numbers import typed_number
from integrations.base import Snapshot
from integrations.errors import IntegrationDisabled
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.commands import PAGE_SIZE
from integrations.mobiforce.errors import MobiforceError, MobiforceLimitExceeded
from integrations.mobiforce.facts import TaskFacts
from integrations.mobiforce.models import Task
from storage.mobiforce import Entry, MobiforceRepo

log = logging.getLogger(__name__)


class Row(Protocol):
    """A row of a Mobiforce list page."""

    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Row)


# A full sync reads every page of templates, employees and clients (up to this many, 10 rows
# a page), and the first pages of the task list (newer tasks come with the change feed).
MAX_SYNC_PAGES: Final = 10_000
MAX_TASK_PAGES: Final = 100
# Between two pages of a sync: at most ~150 pages a minute, half the default request budget.
PAGE_PAUSE: Final = 0.4
BUDGET_PAUSE: Final = 5.0
FIRST_SYNC_DELAY: Final = 0.0
MAX_ID_DIGITS: Final = 12


def task_state(draft: bool, closed: bool) -> str:
    return "closed" if closed else "draft" if draft else "sent"


def task_entry(task: Task, facts: TaskFacts) -> Entry:
    return Entry(
        "task",
        task.id,
        task.number,
        {
            "client": facts.client,
            "template": task.template.name if task.template else "",
            "executor": facts.executor,
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
        self,
        client: MobiforceClient,
        repo: MobiforceRepo,
        *,
        sync_minutes: int = 60,
        page_pause: float = PAGE_PAUSE,
    ) -> None:
        self.client = client
        self.repo = repo
        self.page_pause = page_pause
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
        """Read templates, employees and clients in full, and the first pages of task numbers
        (pages of 10; the change feed keeps the newest tasks in step)."""
        counts: dict[str, int] = {}
        templates = [
            Entry("template", t.id, t.name)
            for page in await self._all_pages(self.client.get_template_list)
            for t in page
        ]
        counts["template"] = await self.repo.replace("template", templates)
        employees = [
            Entry(
                "employee",
                e.id,
                e.name,
                {"phone": e.phone, "mobile": e.mobile_role, "operator": e.operator_role},
            )
            for page in await self._all_pages(self.client.get_employee_list)
            for e in page
        ]
        counts["employee"] = await self.repo.replace("employee", employees)
        counts["contractor"] = 0
        # Clients can be many thousands: each page is kept as it comes.
        async for page in self._pages(self.client.get_contractor_list):
            counts["contractor"] += await self.repo.upsert(
                "contractor",
                [Entry("contractor", c.id, c.name, {"parent": c.parent_name}) for c in page],
            )
        numbers = [
            (t.id, t.name or str(t.id))
            async for t in self.client.iter_tasks(max_pages=MAX_TASK_PAGES)
        ]
        counts["task"] = await self.repo.add_names("task", numbers)
        self.synced.set()
        log.info("mobiforce directories synced: %s", counts)
        return counts

    async def _all_pages(self, get_page: Callable[[int], Awaitable[list[R]]]) -> list[list[R]]:
        return [page async for page in self._pages(get_page)]

    async def _pages(self, get_page: Callable[[int], Awaitable[list[R]]]) -> AsyncIterator[list[R]]:
        """Every page of a list, to its end (a short page, or one repeating the last), at a
        pace that leaves most of the request budget to people's commands; a page refused for
        the budget is asked again after a pause."""
        previous: list[int] | None = None
        page = 0
        while page < MAX_SYNC_PAGES:
            try:
                rows = await get_page(page)
            except MobiforceLimitExceeded:
                log.info("mobiforce directory sync waits for the request budget (page %d)", page)
                await asyncio.sleep(BUDGET_PAUSE)
                continue
            ids = [row.id for row in rows]
            if ids and ids == previous:
                log.warning("mobiforce: page %d repeats page %d, stopping", page, page - 1)
                return
            previous = ids
            yield rows
            if len(rows) < PAGE_SIZE:
                return
            page += 1
            await asyncio.sleep(self.page_pause)
        log.warning("mobiforce directory sync stopped after %d pages", MAX_SYNC_PAGES)

    # --- kept in step ----------------------------------------------------------------------------
    async def remember_task(self, task: Task, facts: TaskFacts) -> None:
        await self.repo.upsert("task", [task_entry(task, facts)])

    async def remember_snapshots(self, snapshots: Mapping[str, Snapshot | None]) -> None:
        entries = [
            entry
            for task_id, snapshot in snapshots.items()
            if snapshot is not None and (entry := snapshot_entry(task_id, snapshot)) is not None
        ]
        await self.repo.upsert("task", entries)

    async def remember_contractor(self, contractor_id: int, name: str) -> None:
        await self.repo.upsert("contractor", [Entry("contractor", contractor_id, name)])

    async def numbered(self, text: str) -> list[Entry]:
        """Tasks numbered as a person typed it («23» finds №000023)."""
        number = typed_number(text)
        return await self.repo.by_number("task", number) if number else []

    async def task_ids(self, text: str) -> list[int]:
        """Internal ids for what a person typed: a task number, else an internal id."""
        found = [entry.id for entry in await self.numbered(text)]
        if found:
            return found
        number = typed_number(text) or ""
        return [int(number)] if number.isdigit() and len(number) <= MAX_ID_DIGITS else []


def employee_phone(data: Mapping[str, Any]) -> str:
    return str(data.get("phone") or "")
