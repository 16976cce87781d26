"""Finding a task by its number after a create whose answer was lost.

The bot gives every task it creates a number of its own (create-task's ``number``; get-task
and get-task-list answer it as ``name``). A created task is a change, so it is in the change
feed after the usn the feed had before the create: the feed's tasks, newest first, are read
until one has that number (the bot's directory names many without a call). When the feed cannot
answer, or holds more than this search reads, ``get-task-list`` is paged to its end instead.
Only documented commands are used, and nothing is ever written.

The outcome is one of three: found (the task's id), absent (every place it could be was read),
or unknown (Mobiforce did not answer enough to tell) — never a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.commands import FEED_PAGE_SIZE, PAGE_SIZE
from integrations.mobiforce.errors import MobiforceError, MobiforceRejected

log = logging.getLogger("integrations.mobiforce")

MAX_FEED_PAGES: Final = 3
MAX_TASK_READS: Final = 20
MAX_LIST_PAGES: Final = 200

KnownNumbers = Callable[[list[int]], Awaitable[Mapping[int, str]]]


@dataclass(frozen=True)
class NumberSearch:
    task_id: int | None = None
    checked: bool = True  # False: Mobiforce did not answer enough to tell

    @property
    def found(self) -> bool:
        return self.task_id is not None

    @property
    def absent(self) -> bool:
        return self.checked and self.task_id is None


async def _nothing_known(ids: list[int]) -> Mapping[int, str]:
    return {}


async def find_numbered(
    client: MobiforceClient,
    number: str,
    *,
    since_usn: int | None,
    known: KnownNumbers = _nothing_known,
) -> NumberSearch:
    """The task numbered ``number``, looked for among the tasks changed after ``since_usn``
    (``None``: the whole feed), else in the whole task list."""
    try:
        found = await _in_feed(client, number, since_usn or 0, known)
    except MobiforceError as exc:
        log.info("mobiforce: looking for task %s in the feed failed: %s", number, exc)
        found = None
    if found is not None:
        return found
    try:
        return await _in_list(client, number)
    except MobiforceError as exc:
        log.warning("mobiforce: looking for task %s in the task list failed: %s", number, exc)
        return NumberSearch(checked=False)


async def _in_feed(
    client: MobiforceClient, number: str, usn: int, known: KnownNumbers
) -> NumberSearch | None:
    """Found or absent from the feed; None when the feed holds more than this reads."""
    rows = []
    for _ in range(MAX_FEED_PAGES):
        page = [row for row in await client.get_updates(usn) if row.usn > usn]
        rows += page
        if len(page) < FEED_PAGE_SIZE:
            break
        usn = page[-1].usn
    else:
        return None
    candidates = list(dict.fromkeys(row.object_id for row in reversed(rows)))
    names = await known(candidates)
    unknown = []
    for task_id in candidates:
        name = names.get(task_id)
        if name == number:
            return NumberSearch(task_id)
        if name is None:
            unknown.append(task_id)
    for task_id in unknown[:MAX_TASK_READS]:
        try:
            task = await client.get_task(task_id)
        except MobiforceRejected:
            continue  # gone since: not ours (ours was created just now)
        if task.name == number:
            return NumberSearch(task.id)
    return NumberSearch() if len(unknown) <= MAX_TASK_READS else None


async def _in_list(client: MobiforceClient, number: str) -> NumberSearch:
    seen = 0
    async for row in client.iter_tasks(max_pages=MAX_LIST_PAGES):
        seen += 1
        if row.name == number:
            return NumberSearch(row.id)
    # iter_tasks stops at a short page (the end) or after MAX_LIST_PAGES full ones (maybe not).
    return NumberSearch(checked=seen < MAX_LIST_PAGES * PAGE_SIZE)
