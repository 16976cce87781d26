"""How often each watched order is asked about: by how soon it can change.

On a server without ``get_current_orders`` every order costs one ``get_order_state``; 500 live
orders polled every cycle would be a constant 33 requests a second against the dispatch
service's own server. So each order is next asked after a number of poll periods that fits its
state:

=================  =====  ==================================================================
state              polls  why
=================  =====  ==================================================================
new_order          1      waiting for a crew: the moment one is assigned matters
  (prior order)    8      while the pickup is more than :data:`PRIOR_AHEAD` away
driver_assigned    2      the car drives to the pickup: minutes
car_at_place       1      the passenger boards any moment
client_inside      8      a ride: tens of minutes; only its end is told
(other)            2      a state the dispatch service added
=================  =====  ==================================================================

At the default 15 s that is every 15 s waiting for a crew and at the door, every 30 s on the
way to it, every 2 minutes during the ride. The watcher asks first the orders most overdue for
their own schedule (late by a share of their interval: a door-side order a period late goes
before a ride a period late), within its per-cycle cap. :meth:`Schedule.staleness` says how old
the oldest order's state is, :meth:`Schedule.lateness` how far behind its own schedule the worst
order is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Final

from integrations.taximaster.models import OrderStateKind

POLLS_BETWEEN: Final[dict[str, int]] = {
    OrderStateKind.NEW_ORDER: 1,
    OrderStateKind.DRIVER_ASSIGNED: 2,
    OrderStateKind.CAR_AT_PLACE: 1,
    OrderStateKind.CLIENT_INSIDE: 8,
}
OTHER_STATE_POLLS: Final = 2
PRIOR_POLLS: Final = 8
PRIOR_AHEAD: Final = timedelta(minutes=20)


def polls_between(state_kind: str, source_time: datetime | None, now: datetime) -> int:
    if (
        state_kind == OrderStateKind.NEW_ORDER
        and source_time is not None
        and source_time - now > PRIOR_AHEAD
    ):
        return PRIOR_POLLS
    return POLLS_BETWEEN.get(state_kind, OTHER_STATE_POLLS)


class Schedule:
    """When each order is next due, and when its state was last read (in memory: after a
    restart every order is due at once, and the cap spreads them out)."""

    def __init__(self, poll: timedelta) -> None:
        self.poll = poll
        self._due: dict[str, datetime] = {}
        self._every: dict[str, int] = {}  # polls between reads, by the order's state
        self._read: dict[str, datetime] = {}
        self._seen: dict[str, datetime] = {}

    def keep_only(self, ids: Collection[str], now: datetime) -> None:
        """Forget orders no longer watched; start the clock of new ones."""
        for table in (self._due, self._every, self._read, self._seen):
            for gone in [key for key in table if key not in ids]:
                del table[gone]
        for order_id in ids:
            self._seen.setdefault(order_id, now)

    def is_due(self, order_id: str, now: datetime) -> bool:
        due = self._due.get(order_id)
        return due is None or due <= now

    def most_needed(self, ids: Iterable[str], now: datetime) -> list[str]:
        """Due orders: never read first, then the most overdue for their own interval."""
        due = [order_id for order_id in ids if self.is_due(order_id, now)]

        def need(order_id: str) -> tuple[float, str]:
            if order_id not in self._read:
                return (-float("inf"), order_id)
            late = (now - self._due.get(order_id, now)) / self.poll
            return (-late / self._every.get(order_id, 1), order_id)

        return sorted(due, key=need)

    def was_read(
        self, order_id: str, now: datetime, state_kind: str, source_time: datetime | None
    ) -> None:
        polls = polls_between(state_kind, source_time, now)
        self._every[order_id] = polls
        self._read[order_id] = now
        # A little early rather than a cycle late: the next cycle starts about one period on.
        self._due[order_id] = now + self.poll * polls - self.poll / 2

    def due_now(self, order_id: str, now: datetime) -> None:
        self._due[order_id] = now

    def all_due(self) -> None:
        """Every watched order is due at the next cycle (a cycle run out of turn: the tests'
        simulated time runs ahead of the wall clock)."""
        self._due.clear()

    def staleness(self, now: datetime, *, every: int | None = None) -> timedelta:
        """How long ago the oldest-read watched order was read (or first seen, if never);
        ``every``: among orders asked about every that many polls only."""
        ages = [
            now - self._read.get(i, seen)
            for i, seen in self._seen.items()
            if every is None or self._every.get(i, 1) == every
        ]
        return max(ages, default=timedelta(0))

    def lateness(self, now: datetime) -> float:
        """The worst order's age as a multiple of its own interval (1.0: on schedule)."""
        return max(
            (
                (now - self._read.get(i, seen)) / (self.poll * self._every.get(i, 1))
                for i, seen in self._seen.items()
            ),
            default=0.0,
        )
