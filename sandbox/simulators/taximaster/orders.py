"""Orders in the simulator and the dispatcher that gives them crews, in simulated time.

An order goes new_order -> driver_assigned -> car_at_place -> client_inside -> finished, or
to aborted (by :meth:`OrderBook.abort`, or when no crew was free for ``NO_CREW_ABORT``).
The dispatcher assigns the nearest free crew of the order's group ``ASSIGN_DELAY`` after the
order came (a prior order ``PRIOR_LEAD`` before its pickup time); from then on the order's
state is read off the crew's :class:`~sandbox.simulators.taximaster.fleet.Job` times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.simulators.taximaster.fleet import Job, SimCrew
from sandbox.simulators.taximaster.geo import LatLon, distance_km, route

ASSIGN_DELAY = timedelta(seconds=20)
PRIOR_LEAD = timedelta(minutes=15)
RETRY_EVERY = timedelta(seconds=30)
NO_CREW_ABORT = timedelta(minutes=20)
BOARDING = timedelta(minutes=2)
MIN_APPROACH = timedelta(minutes=2)
CITY_KMH = 30.0
COUNTRY_KMH = 70.0
NO_DEST_TRIP = timedelta(minutes=12)

# state_kind -> state_id: ids are configured per dispatch service in TM; these are ours.
STATE_IDS = {
    "new_order": 1,
    "driver_assigned": 7,
    "car_at_place": 10,
    "client_inside": 11,
    "finished": 4,
    "aborted": 5,
}


@dataclass
class SimOrder:
    id: int
    phone: str
    source: str
    source_pos: LatLon
    source_time: datetime
    created_at: datetime
    dest: str = ""
    dest_pos: LatLon | None = None
    customer: str = ""
    comment: str = ""
    crew_group_id: int | None = None
    uds_id: int | None = None
    crew_id: int | None = None
    job: Job | None = None
    aborted_at: datetime | None = None
    next_attempt: datetime = field(default=datetime.min)
    # "common_api" for orders made through the API, "operator" for a dispatcher's phone call
    creation_way: str = "common_api"

    def state_kind(self, at: datetime) -> str:
        if self.aborted_at is not None and self.aborted_at <= at:
            return "aborted"
        job = self.job
        if job is None or at < job.start_at:
            return "new_order"
        if at < job.at_place_at:
            return "driver_assigned"
        if at < job.inside_at:
            return "car_at_place"
        if at < job.finish_at:
            return "client_inside"
        return "finished"

    def is_final(self, at: datetime) -> bool:
        return self.state_kind(at) in ("finished", "aborted")


class OrderBook:
    def __init__(self, crews: dict[int, SimCrew]) -> None:
        self.crews = crews
        self.orders: dict[int, SimOrder] = {}
        self._next_id = 5001

    def add(self, order: SimOrder) -> SimOrder:
        order.id = self._next_id
        self._next_id += 1
        order.next_attempt = max(order.created_at + ASSIGN_DELAY, order.source_time - PRIOR_LEAD)
        self.orders[order.id] = order
        return order

    def find_duplicate(self, phone: str, source: str, source_time: datetime) -> SimOrder | None:
        """TMWeb's "заказ с такими параметрами уже создан": same phone, pickup and time."""
        key = (phone, source.casefold().strip(), source_time)
        return next(
            (
                o
                for o in self.orders.values()
                if (o.phone, o.source.casefold().strip(), o.source_time) == key
            ),
            None,
        )

    def abort(self, order_id: int, at: datetime) -> None:
        order = self.orders[order_id]
        if order.is_final(at):
            return
        order.aborted_at = at
        if order.job is not None:
            order.job.stop_at(at)

    def tick(self, now: datetime) -> None:
        """Dispatch every order whose turn came up to ``now``, oldest turn first."""
        while True:
            pending = [
                o
                for o in self.orders.values()
                if o.job is None and o.aborted_at is None and o.next_attempt <= now
            ]
            if not pending:
                return
            order = min(pending, key=lambda o: (o.next_attempt, o.id))
            self._dispatch(order, order.next_attempt)

    def _dispatch(self, order: SimOrder, at: datetime) -> None:
        free = [
            crew
            for crew in self.crews.values()
            if crew.free_at(at) and order.crew_group_id in (None, crew.crew_group_id)
        ]
        if not free:
            if at - order.created_at >= NO_CREW_ABORT:
                order.aborted_at = at
            else:
                order.next_attempt = at + RETRY_EVERY
            return
        crew = min(free, key=lambda c: (distance_km(c.position(at), order.source_pos), c.id))
        order.crew_id = crew.id
        order.job = self._plan(order, crew, at)
        crew.jobs.append(order.job)

    @staticmethod
    def _plan(order: SimOrder, crew: SimCrew, at: datetime) -> Job:
        start = crew.position(at)
        approach = route(start, order.source_pos)
        drive = timedelta(hours=approach.city_km / CITY_KMH + approach.country_km / COUNTRY_KMH)
        at_place = at + max(MIN_APPROACH, drive)
        inside = max(at_place, order.source_time) + BOARDING
        if order.dest_pos is None:
            dest, trip = order.source_pos, NO_DEST_TRIP
        else:
            ride = route(order.source_pos, order.dest_pos)
            dest = order.dest_pos
            trip = max(
                MIN_APPROACH,
                timedelta(hours=ride.city_km / CITY_KMH + ride.country_km / COUNTRY_KMH),
            )
        return Job(order.id, at, start, order.source_pos, at_place, inside, dest, inside + trip)
