"""The Movizor simulator's world: tracked phones, drivers moving in simulated time, events.

Pure state and rules, no HTTP and no real clock: every method takes the simulated ``now``.
:meth:`World.tick` runs timers up to ``now``: SMS sent, confirmations in demo mode, periodic
locates, finished position requests, switch-offs, tariff changes at Moscow midnight. What the
20 API functions check and answer lives in :mod:`sandbox.simulators.movizor.api`; they change
the world through the methods here.

Drivers move as :mod:`sandbox.simulators.movizor.motion` computes. Events about movement
(``onroute``, ``leftroute``, ``pos_late``, ``pos_finished``, ``onparking``…) are derived when a
position is taken (a periodic locate or a ``pos_request``), as Movizor can only know where a
phone is when it locates it.

Interpretations of what the document leaves open are marked "Rule:".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from integrations.movizor.models import EventType
from sandbox.simulators.movizor.data import CITIES, PERIODIC_MINUTES, operator_of
from sandbox.simulators.movizor.motion import Path, driving, forecast, place_name, position_at
from sandbox.simulators.movizor.params import next_moscow_midnight
from sandbox.simulators.movizor.state import Fix, PosRequest, Share, SimObject, SimPoint

NO_CONFIRM_AFTER: Final = timedelta(hours=24)
ARRIVING_KM: Final = 10.0
TURNAROUND: Final = timedelta(minutes=45)
HISTORY_LIMIT: Final = 1000


class World:
    """All state of one simulated Movizor account."""

    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        *,
        auto_confirm: bool = False,
        share_origin: str = "https://movizor.ru",
    ) -> None:
        self.rng = rng
        self.now = now
        self.auto_confirm = auto_confirm
        self.share_origin = share_origin
        self.objects: dict[str, SimObject] = {}
        self.requests: dict[int, PosRequest] = {}
        self.events: list[dict[str, Any]] = []
        # Which ``limit`` events ``afterid`` gets when more follow it: "newest" or "oldest".
        self.events_window = "newest"
        self.shares: dict[str, Share] = {}
        self.blocked_phones: set[str] = set()
        self.foreign_phones: set[str] = set()
        self.balance = 1000.0
        self.credit = 0.0
        self.max_unconfirmed = 100
        self.sms_delay = timedelta(seconds=30)
        self.request_delay = timedelta(seconds=30)
        self.off_delay = timedelta(seconds=60)
        self._next_event_id = 3_900_000
        self._next_request_id = 12_345
        self._next_share_id = 1

    # --- time ---------------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Fire every timer due up to ``now``, in time order."""
        while True:
            due = [
                (when, phone, name)
                for phone, obj in self.objects.items()
                for name, when in obj.timers.items()
                if when <= now
            ]
            if not due:
                break
            when, phone, name = min(due)
            obj = self.objects[phone]
            del obj.timers[name]
            self.now = when
            self._fire(obj, name, when)
        self.now = max(self.now, now)

    def _fire(self, obj: SimObject, name: str, at: datetime) -> None:
        if name == "sms_sent" and obj.status == "new":
            obj.status = "wait"
            obj.timers["no_confirm"] = obj.added_at + NO_CONFIRM_AFTER
        elif name == "auto_confirm":
            self.confirm(obj.phone, at)
        elif name == "no_confirm" and obj.status == "wait":
            self.emit(obj.phone, EventType.NO_CONFIRM, at)
        elif name == "locate" and obj.status == "ok":
            self._locate(obj, at)
            self._schedule_locate(obj, at)
        elif name == "request_done" and obj.pending is not None:
            self._finish_request(obj, obj.pending, at)
        elif name == "switched_off" and obj.status == "off_new":
            obj.status = "off"
            obj.timers.pop("locate", None)
            self.emit(obj.phone, EventType.OFF, at)
        elif name == "auto_off" and obj.status in ("new", "wait", "ok"):
            obj.status = "off"
            obj.timers.clear()
            self.emit(obj.phone, EventType.AUTO_OFF, at)
        elif name == "next_trip" and obj.status == "ok":
            self._next_trip(obj, at)
        elif name == "tariff_switch" and obj.tariff_new is not None:
            obj.tariff, obj.tariff_new = obj.tariff_new, None
            self.emit(obj.phone, EventType.TARIFF_AUTO, at)
            self._schedule_locate(obj, at, first=True)

    # --- events -------------------------------------------------------------------------------

    def emit(self, phone: str, event_type: str, at: datetime, **fields: Any) -> int:
        """Append an event; ids grow by a small random step, like real (sparse) ids."""
        self._next_event_id += self.rng.randint(1, 7)
        event = {
            "id": self._next_event_id,
            "timestamp": at,
            "phone": phone,
            "type": str(event_type),
            **fields,
        }
        self.events.append(event)
        return self._next_event_id

    # --- control (tests and demo) ---------------------------------------------------------------

    def add_object(
        self,
        phone: str,
        title: str,
        at: datetime,
        *,
        tariff: str,
        route: list[SimPoint],
        tags: Iterable[str] = (),
        metadata: Mapping[str, str] | None = None,
        timestamp_off: datetime | None = None,
    ) -> SimObject:
        operator = operator_of(phone) or "mts"
        obj = SimObject(
            phone=phone,
            title=title,
            operator=operator,
            added_at=at,
            tariff=tariff,
            tags=list(tags),
            metadata=dict(metadata or {}),
            timestamp_off=timestamp_off,
            route=route,
            home=self._random_home(),
        )
        self.objects[phone] = obj
        obj.timers["sms_sent"] = at + self.sms_delay
        if self.auto_confirm:
            obj.timers["auto_confirm"] = at + timedelta(seconds=self.rng.uniform(20, 90))
        if timestamp_off is not None:
            obj.timers["auto_off"] = timestamp_off
        self.emit(phone, EventType.ADD, at)
        return obj

    def confirm(self, phone: str, at: datetime) -> None:
        obj = self._get(phone)
        if obj.status not in ("new", "wait"):
            return
        obj.status, obj.confirmed, obj.confirmed_at = "ok", True, at
        obj.timers.pop("sms_sent", None)
        obj.timers.pop("auto_confirm", None)
        obj.timers.pop("no_confirm", None)
        if obj.depart_at is None:
            obj.depart_at = at
        self.emit(phone, EventType.CONFIRM, at)
        self._schedule_locate(obj, at, first=True)

    def reject(self, phone: str, at: datetime) -> None:
        obj = self._get(phone)
        if obj.status not in ("new", "wait"):
            return
        obj.status, obj.confirmed = "rejected", False
        for name in ("sms_sent", "auto_confirm", "no_confirm"):
            obj.timers.pop(name, None)
        self.emit(phone, EventType.REJECT, at)

    def _get(self, phone: str) -> SimObject:
        obj = self.objects.get(phone)
        if obj is None:
            raise KeyError(f"no simulated object {phone}")
        return obj

    # --- changes the API functions make ------------------------------------------------------

    def forget(self, obj: SimObject) -> None:
        """The phone is deleted from the account for good."""
        del self.objects[obj.phone]

    def change_tariff(self, obj: SimObject, tariff: str, at: datetime, *, activate: bool) -> None:
        """A new tariff, at once (``activate``) or from the next Moscow midnight."""
        if activate:
            obj.tariff, obj.tariff_new = tariff, None
            obj.timers.pop("tariff_switch", None)
            if obj.status == "ok":
                obj.confirmed_at = at  # a new package activates from now
                self._schedule_locate(obj, at, first=True)
        else:
            obj.tariff_new = tariff
            obj.timers["tariff_switch"] = next_moscow_midnight(at)

    def cancel_tariff_change(self, obj: SimObject) -> None:
        obj.tariff_new = None
        obj.timers.pop("tariff_switch", None)

    def switch_off(self, obj: SimObject, at: datetime) -> None:
        """Tracking stops: the phone is ``off_new`` now, ``off`` after ``off_delay``."""
        obj.status = "off_new"
        obj.timers.pop("locate", None)
        obj.timers["switched_off"] = at + self.off_delay

    def reactivate(self, obj: SimObject, at: datetime) -> None:
        """Tracking starts again: a new SMS, a new confirmation, a new trip."""
        obj.status, obj.confirmed, obj.confirmed_at = "new", False, None
        obj.depart_at = None
        obj.on_route, obj.parked, obj.forecast, obj.arriving_sent = None, None, None, False
        obj.timers = {"sms_sent": at + self.sms_delay}
        if self.auto_confirm:
            obj.timers["auto_confirm"] = at + timedelta(seconds=self.rng.uniform(20, 90))
        if obj.timestamp_off is not None:
            obj.timers["auto_off"] = obj.timestamp_off
        self.emit(obj.phone, EventType.REACTIVATE, at)

    def request_position(self, obj: SimObject, cost: float, at: datetime) -> PosRequest:
        """A paid position request: answered after ``request_delay``."""
        self.balance -= cost
        self._next_request_id += 1
        request = PosRequest(
            id=self._next_request_id,
            phone=obj.phone,
            created_at=at,
            done_at=at + self.request_delay,
        )
        self.requests[request.id] = request
        obj.pending, obj.last_request_at = request, at
        obj.timers["request_done"] = request.done_at
        return request

    def add_share(self, phones: list[str], at: datetime, **fields: Any) -> Share:
        """A public link to these phones' positions, under a fresh random key."""
        key = "-".join(
            [
                *(f"{self.rng.randint(100, 999)}" for _ in range(4)),
                f"{self.rng.randint(1000, 9999)}",
            ]
        )
        share = Share(
            id=self._next_share_id,
            key=key,
            created_at=at,
            phones=phones,
            link=f"{self.share_origin}/share/{key}",
            **fields,
        )
        self._next_share_id += 1
        self.shares[key] = share
        return share

    def reroute(self, obj: SimObject, route: list[SimPoint], at: datetime) -> None:
        """A new route starts where the driver is now."""
        if obj.status == "ok" and obj.depart_at is not None:
            obj.home = position_at(obj, at, self.rng)
            obj.depart_at = at
            obj.parking, obj.detours = [], []
        obj.route = route
        obj.arriving_sent = False

    # --- movement -----------------------------------------------------------------------------

    def _locate(self, obj: SimObject, at: datetime) -> Fix:
        lat, lon = position_at(obj, at, self.rng)
        distance, hours, status = forecast(obj, at)
        fix = Fix(
            at=at,
            lat=lat,
            lon=lon,
            radius=self.rng.choice((250, 300, 500, 790, 1200, 2500, 4300)),
            place=place_name(lat, lon),
            distance=distance,
            eta_hours=hours,
            forecast=status,
        )
        obj.fixes.append(fix)
        del obj.fixes[: -HISTORY_LIMIT * 2]
        obj.pos_error = False
        self._movement_events(obj, at, distance, status)
        return fix

    def _movement_events(
        self, obj: SimObject, at: datetime, distance: float | None, status: str | None
    ) -> None:
        if not obj.route or obj.depart_at is None:
            return
        _, parked, detour = driving(obj, at)
        on_route = not detour
        if obj.on_route is None:
            self.emit(obj.phone, EventType.ONROUTE if on_route else EventType.NOTROUTE, at)
        elif obj.on_route and not on_route:
            self.emit(obj.phone, EventType.LEFTROUTE, at)
        elif not obj.on_route and on_route:
            kind = EventType.RETURNROUTE if obj.was_on_route else EventType.ONROUTE
            self.emit(obj.phone, kind, at)
        obj.on_route = on_route
        obj.was_on_route = obj.was_on_route or on_route

        if not obj.arriving_sent:
            if parked and not obj.parked:
                self.emit(obj.phone, EventType.ONPARKING, at)
            elif obj.parked and not parked:
                self.emit(obj.phone, EventType.OFFPARKING, at)
        obj.parked = parked

        if status == "late" and obj.forecast != "late":
            self.emit(obj.phone, EventType.POS_LATE, at)
        elif status == "ok" and obj.forecast == "late":
            self.emit(obj.phone, EventType.POS_OK, at)
        obj.forecast = status

        if distance is not None and distance <= ARRIVING_KM and not obj.arriving_sent:
            obj.arriving_sent = True
            self.emit(obj.phone, EventType.POS_FINISHED, at)
            if obj.loop:
                obj.timers["next_trip"] = at + TURNAROUND

    def _next_trip(self, obj: SimObject, at: datetime) -> None:
        """Drive the route back. Planned times allow 0.9-1.3 of the pure driving time, so some
        trips run late; a stop or two somewhere on the way."""
        points = list(reversed(obj.route))
        path = Path([(p.lat, p.lon) for p in points])
        slack = self.rng.uniform(0.9, 1.3)
        obj.route = [
            SimPoint(
                p.text,
                p.lat,
                p.lon,
                planned_at=at + timedelta(hours=km / obj.speed_kmh * slack),
            )
            for p, km in zip(points, path.cum, strict=True)
        ]
        hours = path.total / obj.speed_kmh
        obj.parking = [(self.rng.uniform(0.2, 0.8) * hours * 60, self.rng.uniform(15, 45))]
        obj.depart_at = at
        obj.on_route, obj.parked, obj.forecast, obj.arriving_sent = None, None, None, False

    def _schedule_locate(self, obj: SimObject, at: datetime, *, first: bool = False) -> None:
        minutes = PERIODIC_MINUTES.get(obj.tariff)
        if minutes is None or obj.status != "ok":
            obj.timers.pop("locate", None)
            return
        obj.timers["locate"] = at if first else at + timedelta(minutes=minutes)

    def _finish_request(self, obj: SimObject, request: PosRequest, at: datetime) -> None:
        obj.pending = None
        if obj.unreachable is not None:
            request.state = "failed"
            obj.pos_error = True
            kind = {
                "roaming": EventType.REQUEST_ROAMING,
                "error": EventType.REQUEST_ERROR,
            }.get(obj.unreachable, EventType.REQUEST_OFFLINE)
            self.emit(obj.phone, kind, at)
            return
        request.fix = self._locate(obj, at)
        request.state = "done"
        self.emit(obj.phone, EventType.REQUEST, at)

    def _random_home(self) -> tuple[float, float]:
        city = self.rng.choice(CITIES)
        return city.lat, city.lon
