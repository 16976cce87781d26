"""Who a task is for and who does it, when get-task does not say.

The document's get-task shows no executor, client or address (its sample: id, createdAt,
planned times, draft, template, name, props, checklist). A real account may add them, perhaps
as bare ids (``{"id": 2977}``). So the watcher and the cards take these facts from a
:data:`FactsReader` the bot provides: the answer's own fields when it has them, names for bare
ids from the bot's synced directories, and what the bot itself set when it created the task.
Without a reader only the answer counts (:meth:`TaskFacts.of`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from integrations.mobiforce.models import Task


@dataclass(frozen=True)
class TaskFacts:
    client_id: int | None = None
    client: str = ""
    executor_id: int | None = None
    executor: str = ""
    address: str = ""
    # Whether "no executor" is known (the answer says so, or the bot created it without
    # one) rather than merely not shown.
    executor_known: bool = False

    @classmethod
    def of(cls, task: Task) -> TaskFacts:
        """What the get-task answer itself says (nothing, for the document's shape)."""
        return cls(
            client_id=task.contractor.id if task.contractor else None,
            client=task.contractor.name if task.contractor else "",
            executor_id=task.employee.id if task.employee else None,
            executor=task.employee.name if task.employee else "",
            address=task.address,
            executor_known=task.carries("employee"),
        )


FactsReader = Callable[[Sequence[Task]], Awaitable[Mapping[int, TaskFacts]]]


def refs_to_name(task: Task, remembered: TaskFacts | None) -> tuple[int | None, int | None]:
    """The (executor id, client id) whose names :func:`merge` will want."""
    own = remembered or TaskFacts()
    executor = task.employee if task.carries("employee") else None
    client = task.contractor if task.carries("contractor") else None
    return (
        executor.id if executor else None if task.carries("employee") else own.executor_id,
        client.id if client else None if task.carries("contractor") else own.client_id,
    )


def merge(
    task: Task,
    remembered: TaskFacts | None,
    employees: Mapping[int, str],
    clients: Mapping[int, str],
) -> TaskFacts:
    """The facts of ``task``: a field the answer carries wins (even ``null``: the executor was
    taken off), else what the bot remembered; a bare id is named from the directories, or by
    the remembered name of that same id."""
    own = remembered or TaskFacts()
    executor_id, client_id = refs_to_name(task, remembered)
    answer_executor = task.employee.name if task.employee else ""
    answer_client = task.contractor.name if task.contractor else ""
    return TaskFacts(
        client_id=client_id,
        client=answer_client
        or clients.get(client_id or 0, "")
        or (own.client if client_id == own.client_id else ""),
        executor_id=executor_id,
        executor=answer_executor
        or employees.get(executor_id or 0, "")
        or (own.executor if executor_id == own.executor_id else ""),
        address=task.address if task.carries("address") else own.address,
        executor_known=task.carries("employee") or remembered is not None,
    )


async def answer_only(tasks: Sequence[Task]) -> dict[int, TaskFacts]:
    """The reader of a watcher without the bot: each answer alone."""
    return {task.id: TaskFacts.of(task) for task in tasks}
