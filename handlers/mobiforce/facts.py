"""The bot's answer to "who is this task for, and who does it?" (the watcher's FactsReader).

get-task as documented names neither; an account may send bare ids. So: the answer's own
fields when present, names for ids from the synced directories (employees, clients), and for
the tasks `/task new` created, what was set then (storage.mobiforce_creates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handlers.mobiforce.numbers import is_marker
from integrations.mobiforce.facts import TaskFacts, merge, refs_to_name
from integrations.mobiforce.models import Task
from storage import Repos


def set_by_the_bot(payload: Mapping[str, Any]) -> TaskFacts:
    """What a confirmed `/task new` set on the task."""
    client_id, executor_id = payload.get("client_id"), payload.get("executor_id")
    return TaskFacts(
        client_id=int(client_id) if client_id else None,
        client=str(payload.get("client") or ""),
        executor_id=int(executor_id) if executor_id else None,
        executor=str(payload.get("executor") or ""),
        address=str(payload.get("address") or ""),
    )


class TaskFactsBook:
    def __init__(self, repos: Repos) -> None:
        self.repos = repos

    async def __call__(self, tasks: Sequence[Task]) -> dict[int, TaskFacts]:
        # A task of ours whose create answer was lost may be read here first: from now on the
        # bot knows it exists (and what it set on it).
        ours = {task.number: task.id for task in tasks if is_marker(task.number)}
        await self.repos.mobiforce_creates.turned_up(ours)
        created = await self.repos.mobiforce_creates.payloads([task.id for task in tasks])
        remembered = {task_id: set_by_the_bot(payload) for task_id, payload in created.items()}
        refs = [refs_to_name(task, remembered.get(task.id)) for task in tasks]
        employees = await self.repos.mobiforce.names("employee", [e for e, _ in refs if e])
        clients = await self.repos.mobiforce.names("contractor", [c for _, c in refs if c])
        return {task.id: merge(task, remembered.get(task.id), employees, clients) for task in tasks}

    async def of(self, task: Task) -> TaskFacts:
        return (await self([task]))[task.id]
