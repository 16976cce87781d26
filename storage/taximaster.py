"""Taxi-Master creates: every ``create_order`` the bot sends, one row per send, and its outcome.

A confirmed order is recorded (``sending``) BEFORE the request leaves, and its outcome once it
is known. So a process killed with the request in flight leaves a ``sending`` row, which the
next start reconciles: the chat is told the order may exist, and it is adopted where TMWeb can
list current orders — never sent again. A lost answer leaves ``unknown`` until the order is
found (``adopted``), the person says they will check themselves (``dismissed``) or chooses to
order again (``repeated``, and the repeat is a row of its own).

Every change of state is a compare-and-set (:meth:`TaxiMasterCreatesRepo.move`): two presses,
or a press and the start-up reconcile, cannot both act on one row.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.db import Database, from_db_time, to_db_time, utcnow


class CreateState(StrEnum):
    SENDING = "sending"
    CREATED = "created"
    ADOPTED = "adopted"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"
    REFUSED = "refused"
    EXISTS = "exists"
    REPEATED = "repeated"
    DISMISSED = "dismissed"


# Sent, and nobody knows yet whether TMWeb made the order.
UNSETTLED = (CreateState.SENDING, CreateState.UNKNOWN)
# The row names an order TMWeb has.
WITH_ORDER = (CreateState.CREATED, CreateState.ADOPTED)

_COLUMNS = (
    "create_id, order_key, state, order_id, chat_id, thread_id, user_id, locale, payload, "
    "sent_at, updated_at"
)


@dataclass(frozen=True)
class CreateRecord:
    create_id: str
    order_key: str
    state: CreateState
    order_id: int | None
    chat_id: int
    thread_id: int
    user_id: int
    locale: str
    payload: dict[str, Any]
    sent_at: datetime
    updated_at: datetime


def _record(row: Any) -> CreateRecord:
    sent_at, updated_at = from_db_time(row.sent_at), from_db_time(row.updated_at)
    assert sent_at is not None and updated_at is not None
    return CreateRecord(
        create_id=row.create_id,
        order_key=row.order_key,
        state=CreateState(row.state),
        order_id=row.order_id,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        user_id=row.user_id,
        locale=row.locale,
        payload=json.loads(row.payload),
        sent_at=sent_at,
        updated_at=updated_at,
    )


def _marks(prefix: str, values: Collection[str]) -> tuple[str, dict[str, str]]:
    """``:s0, :s1`` and their values, for an ``IN (...)`` with named parameters."""
    names = {f"{prefix}{n}": value for n, value in enumerate(values)}
    return ", ".join(f":{name}" for name in names), names


class TaxiMasterCreatesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def sending(
        self,
        *,
        order_key: str,
        chat_id: int,
        thread_id: int,
        user_id: int,
        locale: str,
        payload: Mapping[str, Any],
    ) -> CreateRecord:
        """Record a create about to be sent; returns its row (``create_id`` is new)."""
        now = to_db_time(utcnow())
        create_id = secrets.token_hex(8)
        await self.db.execute(
            f"INSERT INTO taximaster_creates ({_COLUMNS}) VALUES (:create_id, :order_key, "
            ":state, NULL, :chat_id, :thread_id, :user_id, :locale, :payload, :now, :now)",
            {
                "create_id": create_id,
                "order_key": order_key,
                "state": CreateState.SENDING.value,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "user_id": user_id,
                "locale": locale,
                "payload": json.dumps(dict(payload), ensure_ascii=False),
                "now": now,
            },
        )
        record = await self.get(create_id)
        assert record is not None
        return record

    async def move(
        self,
        create_id: str,
        to: CreateState,
        *,
        expected: Collection[CreateState],
        order_id: int | None = None,
    ) -> bool:
        """Set the state (and the order id, when given) only if the row is in one of
        ``expected``: True if this call moved it."""
        marks, names = _marks("s", [state.value for state in expected])
        changed = await self.db.execute(
            "UPDATE taximaster_creates SET state = :to, "
            "order_id = COALESCE(:order_id, order_id), updated_at = :now "
            f"WHERE create_id = :create_id AND state IN ({marks})",
            {
                **names,
                "to": to.value,
                "order_id": order_id,
                "now": to_db_time(utcnow()),
                "create_id": create_id,
            },
        )
        return changed == 1

    async def get(self, create_id: str) -> CreateRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM taximaster_creates WHERE create_id = :create_id",
            {"create_id": create_id},
        )
        return _record(row) if row is not None else None

    async def in_states(
        self, states: Collection[CreateState], *, since: datetime
    ) -> list[CreateRecord]:
        """Rows in ``states`` sent at or after ``since``, oldest first."""
        marks, names = _marks("s", [state.value for state in states])
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM taximaster_creates "
            f"WHERE state IN ({marks}) AND sent_at >= :since ORDER BY sent_at, create_id",
            {**names, "since": to_db_time(since)},
        )
        return [_record(row) for row in rows]

    async def order_ids(self) -> set[int]:
        """Every order id a create of ours produced or adopted: not to be adopted again."""
        marks, names = _marks("s", [state.value for state in WITH_ORDER])
        rows = await self.db.fetchall(
            f"SELECT order_id FROM taximaster_creates WHERE state IN ({marks}) "
            "AND order_id IS NOT NULL",
            names,
        )
        return {int(row.order_id) for row in rows}
