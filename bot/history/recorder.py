"""The one place the services' flows record what the bot did for a chat, for the digests and
/report: a taxi ordered, a task created or closed, a wagon put on or taken off tracking, an
escalation acknowledged.

Called once the action is known to have happened (the order exists, the task was created…),
never for an attempt. Each event carries a dedupe key of the action itself (the order's id, the
task's number…), so a flow that records twice — a retry, a lost answer found later — keeps one
row. A failure to record is logged and swallowed: the action happened, and the person must hear
so whatever the history says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.history.events import TASK_OPENED
from bot.money import as_amount
from storage import Repos
from storage.db import utcnow
from storage.history import HistoryEvent

log = logging.getLogger(__name__)

TAXI_ORDERED = "action.taxi_ordered"
TASK_CREATED = "action.task_created"
TASK_CLOSED = "action.task_closed"
WAGON_ON = "action.wagon_on"
WAGON_OFF = "action.wagon_off"
ESCALATION_ACKED = "escalation.acked"

# The action kinds, in the order the report lists them, with their area.
ACTION_AREAS: dict[str, str] = {
    TAXI_ORDERED: "taxi",
    TASK_CREATED: "tasks",
    TASK_CLOSED: "tasks",
    WAGON_ON: "wagons",
    WAGON_OFF: "wagons",
    ESCALATION_ACKED: "escalations",
}


class ActionRecorder:
    def __init__(self, repos: Repos) -> None:
        self.repos = repos

    async def _record(self, events: Iterable[HistoryEvent]) -> None:
        events = list(events)
        try:
            await self.repos.history.record(events)
        except Exception:
            log.exception("history: %s not recorded", ", ".join(e.dedupe_key for e in events))

    def _event(
        self,
        kind: str,
        chat_id: int,
        thread_id: int,
        subject_key: str,
        dedupe: str,
        *,
        title: str = "",
        at: datetime | None = None,
        minutes: int | None = None,
        amount: Any = None,
        fields: Mapping[str, Any] | None = None,
    ) -> HistoryEvent:
        return HistoryEvent(
            chat_id=chat_id,
            thread_id=thread_id,
            at=at or utcnow(),
            area=ACTION_AREAS[kind],
            kind=kind,
            subject_key=subject_key,
            subject_title=title,
            dedupe_key=f"{kind}:{dedupe}",
            minutes=minutes,
            amount=as_amount(amount),
            fields={k: v for k, v in (fields or {}).items() if v not in (None, "")},
        )

    async def taxi_ordered(
        self, chat_id: int, thread_id: int, order_id: int, order: Mapping[str, Any]
    ) -> None:
        """An order the bot made (or found after a lost answer): its estimated cost."""
        source, dest = str(order.get("source") or ""), str(order.get("dest") or "")
        await self._record(
            [
                self._event(
                    TAXI_ORDERED,
                    chat_id,
                    thread_id,
                    f"order:{order_id}",
                    str(order_id),
                    title=" → ".join(p for p in (source, dest) if p),
                    amount=order.get("cost"),
                    fields={
                        "source": source,
                        "dest": dest,
                        "source_time": order.get("source_time"),
                    },
                )
            ]
        )

    async def task_created(self, chat_id: int, thread_id: int, number: str, task_id: int) -> None:
        await self._record(
            [
                self._event(
                    TASK_CREATED,
                    chat_id,
                    thread_id,
                    f"task:{number}",
                    number,
                    title=f"№{number}",
                    fields={"task_id": task_id},
                )
            ]
        )

    async def task_closed(self, chat_id: int, thread_id: int, number: str, task_id: int) -> None:
        """Minutes to close count from the task's first creation event the history holds."""
        subject = f"task:{number}"
        now = utcnow()
        try:
            opened = (await self.repos.history.first_seen([subject], TASK_OPENED)).get(subject)
        except Exception:
            log.exception("history: task %s's creation not read", number)
            opened = None
        minutes = None if opened is None else max(0, int((now - opened).total_seconds() // 60))
        await self._record(
            [
                self._event(
                    TASK_CLOSED,
                    chat_id,
                    thread_id,
                    subject,
                    number,
                    title=f"№{number}",
                    at=now,
                    minutes=minutes,
                    fields={"task_id": task_id},
                )
            ]
        )

    async def wagons_tracked(
        self, chat_id: int, thread_id: int, subjects: Iterable[str], request_hash: str, *, on: bool
    ) -> None:
        """Wagons or containers (``wagon:54676515``, ``container:…``) put on tracking (``on``)
        or taken off it."""
        kind = WAGON_ON if on else WAGON_OFF
        stamp = "" if on else f":{utcnow().isoformat()}"  # a number may go off, on, off again
        await self._record(
            self._event(
                kind,
                chat_id,
                thread_id,
                subject,
                f"{request_hash}:{subject}{stamp}",
                title=subject.partition(":")[2],
                fields={"request_hash": request_hash},
            )
            for subject in subjects
        )

    async def escalation_acked(
        self,
        chat_id: int,
        thread_id: int,
        subject_key: str,
        *,
        raised_at: datetime,
        acked_at: datetime,
        by: int,
        title: str = "",
        escalation_id: str = "",
    ) -> None:
        """An escalation acknowledged (the escalation feature calls this): time to ack."""
        minutes = max(0, int((acked_at - raised_at).total_seconds() // 60))
        await self._record(
            [
                self._event(
                    ESCALATION_ACKED,
                    chat_id,
                    thread_id,
                    subject_key,
                    escalation_id or f"{subject_key}:{raised_at.isoformat()}",
                    title=title,
                    at=acked_at,
                    minutes=minutes,
                    fields={"by": by, "raised_at": raised_at.isoformat()},
                )
            ]
        )
