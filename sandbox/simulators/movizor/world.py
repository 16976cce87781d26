"""The Movizor simulator's world: tracked phones, drivers moving in simulated time, events.

Pure state and rules, no HTTP and no real clock: every method takes the simulated ``now``.
:class:`World` answers the 20 API functions (returning JSON-ready data or raising
:class:`SimError` with the documented code) and :meth:`World.tick` runs timers up to ``now``:
SMS sent, confirmations in demo mode, periodic locates, finished position requests, switch-offs,
tariff changes at Moscow midnight.

Drivers move as :mod:`sandbox.simulators.movizor.motion` computes. Events about movement
(``onroute``, ``leftroute``, ``pos_late``, ``pos_finished``, ``onparking``…) are derived when a
position is taken (a periodic locate or a ``pos_request``), as Movizor can only know where a
phone is when it locates it.

Interpretations of what the document leaves open are marked "Rule:".
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from integrations.movizor.models import EventType, format_moscow, parse_moscow, to_moscow
from sandbox.simulators.movizor.data import (
    CITIES,
    OPERATOR_TITLES,
    PACKAGE_TARIFF,
    PERIODIC_MINUTES,
    SUPPORTED_OPERATORS,
    TARIFF_TITLES,
    TARIFFS,
    operator_of,
    region_of,
    search_cities,
    tariff_price,
)
from sandbox.simulators.movizor.motion import (
    Path,
    driving,
    forecast,
    place_name,
    position_at,
)
from sandbox.simulators.movizor.state import (
    Fix,
    PosRequest,
    Reply,
    Share,
    SimError,
    SimObject,
    SimPoint,
)

MSISDN_RE: Final = re.compile(r"^79\d{9}$")
HHMM_RE: Final = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

POS_REQUEST_COOLDOWN: Final = timedelta(minutes=5)
PACKAGE_ACTIVATION: Final = timedelta(minutes=10)
NO_CONFIRM_AFTER: Final = timedelta(hours=24)
# Rule: a phone still "new" (the operator has not sent the SMS) may be deleted after 1 hour,
# one in "wait" (the driver has the SMS) after 24 hours: error 3 and error 2 of object_delete.
DELETE_NEW_AFTER: Final = timedelta(hours=1)
DELETE_WAIT_AFTER: Final = timedelta(hours=24)
ARRIVING_KM: Final = 10.0
TURNAROUND: Final = timedelta(minutes=45)
HISTORY_LIMIT: Final = 1000


# --- the world ----------------------------------------------------------------------------------


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

    # --- API: account -------------------------------------------------------------------------

    def balance_info(self) -> Reply:
        tariffs = {
            operator: {
                tariff_id: {
                    "abon": self._wire_money(abon),
                    "request": self._wire_money(request),
                    "title": TARIFF_TITLES[tariff_id],
                }
                for tariff_id, (abon, request) in table.items()
            }
            for operator, table in TARIFFS.items()
        }
        data = {
            "balance": f"{self.balance:.2f}",
            "credit": f"{self.credit:.2f}",
            "type": "org",
            "tariff": tariffs,
        }
        return Reply(message="Balance info", data=data)

    def tariff_calculator(self, params: Mapping[str, Any]) -> Reply:
        operator = _text(params.get("operator"))
        tariff = _text(params.get("tariff"))
        if not operator:
            raise SimError("1")
        if not tariff:
            raise SimError("2")
        price = tariff_price(operator, tariff)
        if price is None:
            raise SimError("3")
        abon, request = price
        kind = "package" if tariff == PACKAGE_TARIFF else "daily"
        description = (
            f"Абонентская плата — {abon:.2f}</b> руб. в сутки + "
            f"Оплата за каждый запрос — {request:.2f}</b> руб."
        )
        return Reply(
            message="Operator info",
            data={"type": kind, "price": self._wire_num(abon), "description": description},
        )

    def get_operator(self, params: Mapping[str, Any]) -> Reply:
        phone = _normalize_phone(_text(params.get("phone")))
        if phone is None:
            raise SimError("1")
        operator = operator_of(phone)
        if operator is None:
            raise SimError("2")
        data = {
            "operator": operator,
            "title": OPERATOR_TITLES[operator],
            "region": region_of(phone),
        }
        return Reply(message="Operator info", data=data)

    def distance_search(self, params: Mapping[str, Any]) -> Reply:
        found = search_cities(_text(params.get("query")))
        if not found:
            raise SimError("1")
        data = [
            {
                "lat": f"{city.lat:.7f}",
                "lon": f"{city.lon:.7f}",
                "title": f"{city.name}, {city.region}, Россия",
            }
            for city in found
        ]
        return Reply(message="Found", data=data)

    # --- API: objects -------------------------------------------------------------------------

    def object_add(self, params: Mapping[str, Any], at: datetime) -> Reply:
        phone = _normalize_phone(_text(params.get("phone")))
        if phone is None:
            raise SimError("1")
        dateoff = self._check_dateoff(params, at, past="2", too_close="3")
        route = self._check_route(params, no_coord="4")
        self._check_schedule(params, bad="5")
        pending = sum(obj.status in ("new", "wait") for obj in self.objects.values())
        if pending >= self.max_unconfirmed:
            raise SimError("6")
        existing = self.objects.get(phone)
        if existing is not None and existing.status != "off":
            raise SimError("7")
        if phone in self.foreign_phones:
            raise SimError("8")
        if phone in self.blocked_phones:
            raise SimError("9")
        operator = operator_of(phone)
        if operator is None:
            raise SimError("10")
        if operator not in SUPPORTED_OPERATORS:
            raise SimError("11")
        tariff = _text(params.get("tariff")) or "manual"
        price = tariff_price(operator, tariff)
        if price is None:
            raise SimError("12")
        if price[0] > self.balance + self.credit:
            raise SimError("13")
        if existing is not None:
            # The document: adding a phone in status "off" deletes it for good and adds it anew.
            self._delete(existing)
        self.add_object(
            phone,
            _text(params.get("title")) or _pretty_phone(phone),
            at,
            tariff=tariff,
            route=route or [],
            tags=_tags(params.get("tags")),
            metadata=_metadata(params.get("metadata")),
            timestamp_off=dateoff,
        )
        return Reply(message="Added")

    def object_edit(self, params: Mapping[str, Any], at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        tariff = _text(params.get("tariff"))
        if tariff and tariff_price(obj.operator, tariff) is None:
            raise SimError("2")
        dateoff = self._check_dateoff(params, at, past="3", too_close="4")
        route = self._check_route(params, no_coord="5")
        self._check_schedule(params, bad="6")
        if title := _text(params.get("title")):
            obj.title = title
        if "tags" in params:
            obj.tags = _tags(params.get("tags"))
        if "metadata" in params:
            obj.metadata = _metadata(params.get("metadata"))
        if dateoff is not None:
            obj.timestamp_off = dateoff
            obj.timers["auto_off"] = dateoff
        if route is not None:
            self._reroute(obj, route, at)
        if tariff and tariff != obj.tariff:
            if _flag(params.get("activate")):
                obj.tariff, obj.tariff_new = tariff, None
                obj.timers.pop("tariff_switch", None)
                if obj.status == "ok":
                    obj.confirmed_at = at  # a new package activates from now
                    self._schedule_locate(obj, at, first=True)
            else:
                obj.tariff_new = tariff
                obj.timers["tariff_switch"] = _next_moscow_midnight(at)
        return Reply(message="Edited")

    def object_get(self, params: Mapping[str, Any], at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        return Reply(data=self._render_object(obj, at))

    def object_list(self) -> Reply:
        data = [{"phone": obj.phone, "status": obj.status} for obj in self.objects.values()]
        return Reply(data=data)

    def object_delete(self, params: Mapping[str, Any], at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        age = at - obj.added_at
        if obj.status == "ok":
            obj.status = "off_new"
            obj.timers.pop("locate", None)
            obj.timers["switched_off"] = at + self.off_delay
            return Reply(code="DISABLED", message="Phone set as disabled")
        if obj.status == "off_new":
            raise SimError("4")
        if obj.status == "new" and age < DELETE_NEW_AFTER:
            raise SimError("3")
        if obj.status == "wait" and age < DELETE_WAIT_AFTER:
            raise SimError("2")
        self._delete(obj)
        return Reply(code="DELETED", message="Phone deleted from system")

    def object_reactivate(self, params: Mapping[str, Any], at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        if obj.phone in self.blocked_phones:
            raise SimError("2")
        if obj.status in ("new", "wait", "ok"):
            raise SimError("6")
        if obj.status not in ("off", "rejected"):
            raise SimError("7")
        # Rule: the DATEOFF errors refer to the auto-off date already stored on the object.
        if obj.timestamp_off is not None:
            if obj.timestamp_off <= at:
                raise SimError("3")
            if obj.timestamp_off - at < timedelta(days=1):
                raise SimError("4")
        price = tariff_price(obj.operator, obj.tariff)
        if price is not None and price[0] > self.balance + self.credit:
            raise SimError("5")
        obj.status, obj.confirmed, obj.confirmed_at = "new", False, None
        obj.depart_at = None
        obj.on_route, obj.parked, obj.forecast, obj.arriving_sent = None, None, None, False
        obj.timers = {"sms_sent": at + self.sms_delay}
        if self.auto_confirm:
            obj.timers["auto_confirm"] = at + timedelta(seconds=self.rng.uniform(20, 90))
        if obj.timestamp_off is not None:
            obj.timers["auto_off"] = obj.timestamp_off
        self.emit(obj.phone, EventType.REACTIVATE, at)
        return Reply(message="Phone reactivated, need confirm from abonent")

    def object_cancel_tariff(self, params: Mapping[str, Any]) -> Reply:
        obj = self._find(params, missing="1")
        obj.tariff_new = None
        obj.timers.pop("tariff_switch", None)
        return Reply(message="New tariff canceled")

    # --- API: positions -----------------------------------------------------------------------

    def pos_last(self, params: Mapping[str, Any]) -> Reply:
        obj = self._find(params, missing="1")
        fix = obj.last_fix
        data = self._render_fix(fix) if fix else {"lat": None, "lon": None, "timestamp": 0}
        return Reply(data=data)

    def pos_list(self, params: Mapping[str, Any]) -> Reply:
        obj = self._find(params, missing="1")
        start = _unix_param(params.get("date_start"))
        end = _unix_param(params.get("date_end"))
        offset = int(_text(params.get("offset")) or 0)
        fixes = [
            fix
            for fix in reversed(obj.fixes)
            if (start is None or fix.at >= start) and (end is None or fix.at <= end)
        ]
        return Reply(data=[self._render_fix(fix) for fix in fixes[offset : offset + HISTORY_LIMIT]])

    def pos_objects(self) -> Reply:
        data = [
            {"phone": obj.phone, **self._render_fix(obj.last_fix)}
            for obj in self.objects.values()
            if obj.last_fix is not None
        ]
        return Reply(message="Current positions", data=data)

    def pos_request(self, params: Mapping[str, Any], at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        if obj.status != "ok":
            raise SimError("2")
        if obj.pending is not None:
            return Reply(
                code="WAIT",
                message="Last request is processing",
                data={"request_id": str(obj.pending.id)},
            )
        if obj.last_request_at is not None and at - obj.last_request_at < POS_REQUEST_COOLDOWN:
            raise SimError("4")
        if obj.tariff == PACKAGE_TARIFF and (
            obj.confirmed_at is None or at - obj.confirmed_at < PACKAGE_ACTIVATION
        ):
            raise SimError("5")
        price = tariff_price(obj.operator, obj.tariff)
        cost = price[1] if price else 0.0
        if cost > self.balance + self.credit:
            raise SimError("6")
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
        return Reply(message="Request is added to queue", data={"request_id": str(request.id)})

    def pos_get(self, params: Mapping[str, Any]) -> Reply:
        try:
            request = self.requests[int(_text(params.get("id")))]
        except (KeyError, ValueError):
            raise SimError("1") from None
        if request.phone not in self.objects:
            raise SimError("1")
        if request.state == "queued":
            raise SimError("2")
        if request.state == "failed" or request.fix is None:
            raise SimError("4")
        data = {
            **self._render_fix(request.fix),
            "timestamp_request": int(request.created_at.timestamp()),
        }
        return Reply(data=data)

    # --- API: events and shares ---------------------------------------------------------------

    def list_events(self, params: Mapping[str, Any]) -> Reply:
        """Rule: newest event first, as the service answers (ids descending in recorded
        answers). With ``afterid``, the events after that id; when more than ``limit`` follow
        it the document does not say which come back, so by default the NEWEST ``limit`` do
        (the worst case: the older ones cannot be reached through ``afterid``).
        ``events_window = "oldest"`` gives the other reading, the oldest ``limit`` after it."""
        try:
            limit = min(max(int(_text(params.get("limit")) or 100), 10), 1000)
        except ValueError:
            limit = 100
        after = _text(params.get("afterid"))
        following = self.events
        if after.isdigit():
            following = [event for event in self.events if event["id"] > int(after)]
        if after.isdigit() and self.events_window == "oldest":
            chosen = following[:limit]
        else:
            chosen = following[-limit:]
        return Reply(data=[self._render_event(event) for event in reversed(chosen)])

    def share_list(self) -> Reply:
        data = [
            {
                "id": str(share.id),
                "timestamp": str(int(share.created_at.timestamp())),
                "key": share.key,
                "link": share.link,
                "cnt": sum(phone in self.objects for phone in share.phones),
                "req_limit": share.req_limit,
                "req_cnt": 0,
                "timestamp_off": (
                    str(int(share.timestamp_off.timestamp())) if share.timestamp_off else ""
                ),
                "client": share.client,
                "comments": share.comments,
                "email": share.email,
            }
            for share in self.shares.values()
        ]
        return Reply(data=data)

    def share_add(self, params: Mapping[str, Any], at: datetime) -> Reply:
        raw = params.get("phone")
        phones = [_text(p) for p in (raw.values() if isinstance(raw, dict) else _as_list(raw))]
        if not phones or any(phone not in self.objects for phone in phones):
            raise SimError("1")
        active = [phone for phone in phones if self.objects[phone].status == "ok"]
        if not active:
            raise SimError("2")
        key = "-".join(
            [
                *(f"{self.rng.randint(100, 999)}" for _ in range(4)),
                f"{self.rng.randint(1000, 9999)}",
            ]
        )
        dateoff_text = _text(params.get("dateoff"))
        share = Share(
            id=self._next_share_id,
            key=key,
            created_at=at,
            phones=active,
            link=f"{self.share_origin}/share/{key}",
            req_limit=int(_text(params.get("req_limit")) or 0),
            timestamp_off=parse_moscow(dateoff_text) if dateoff_text else None,
            client=_text(params.get("client")),
            comments=_text(params.get("comments")),
            email=_text(params.get("email")),
        )
        self._next_share_id += 1
        self.shares[key] = share
        return Reply(data={"key": key, "objects_count": len(active)})

    def share_delete(self, params: Mapping[str, Any]) -> Reply:
        key = _text(params.get("share_key"))
        if self.shares.pop(key, None) is None:
            raise SimError("1")
        return Reply(code="DELETED", message="Share_key deleted from system")

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

    def _reroute(self, obj: SimObject, route: list[SimPoint], at: datetime) -> None:
        """A new route starts where the driver is now."""
        if obj.status == "ok" and obj.depart_at is not None:
            obj.home = position_at(obj, at, self.rng)
            obj.depart_at = at
            obj.parking, obj.detours = [], []
        obj.route = route
        obj.arriving_sent = False

    # --- checks and helpers -------------------------------------------------------------------

    def _find(self, params: Mapping[str, Any], *, missing: str) -> SimObject:
        obj = self.objects.get(_text(params.get("phone")))
        if obj is None:
            raise SimError(missing)
        return obj

    def _delete(self, obj: SimObject) -> None:
        del self.objects[obj.phone]

    @staticmethod
    def _check_dateoff(
        params: Mapping[str, Any], at: datetime, *, past: str, too_close: str
    ) -> datetime | None:
        text = _text(params.get("dateoff"))
        if not text:
            return None
        try:
            when = parse_moscow(text)
        except ValueError:
            raise SimError(past) from None
        if when <= at:
            raise SimError(past)
        if when - at < timedelta(days=1):
            raise SimError(too_close)
        return when

    @staticmethod
    def _check_route(params: Mapping[str, Any], *, no_coord: str) -> list[SimPoint] | None:
        if _text(params.get("distance_text")):
            coord = _coord(params.get("distance_coord"))
            if coord is None:
                raise SimError(no_coord)
            return [SimPoint(_text(params.get("distance_text")), *coord, planned_at=None)]
        raw = params.get("destination")
        if raw is None:
            return None
        points = []
        for item in raw.values() if isinstance(raw, dict) else _as_list(raw):
            if not isinstance(item, dict):
                continue
            coord = _coord(item.get("coord"))
            if coord is None:
                raise SimError(no_coord)
            planned = _text(item.get("time"))
            try:
                planned_at = parse_moscow(planned) if planned else None
            except ValueError:
                planned_at = None
            points.append(SimPoint(_text(item.get("text")), *coord, planned_at=planned_at))
        return points

    @staticmethod
    def _check_schedule(params: Mapping[str, Any], *, bad: str) -> None:
        raw = params.get("st")
        if raw is None:
            return
        values = raw.values() if isinstance(raw, dict) else _as_list(raw)
        if any(not HHMM_RE.match(_text(value)) for value in values):
            raise SimError(bad)

    def _random_home(self) -> tuple[float, float]:
        city = self.rng.choice(CITIES)
        return city.lat, city.lon

    # --- rendering: loose types on purpose, like the real service ------------------------------

    def _wire_num(self, value: float) -> float | str:
        """Sometimes a number, sometimes a string: Movizor does both."""
        if self.rng.random() < 0.5:
            return f"{value:.10g}" if isinstance(value, float) else str(value)
        return int(value) if float(value).is_integer() else value

    def _wire_money(self, value: float) -> float | str:
        return f"{value:.2f}" if self.rng.random() < 0.8 else value

    def _render_fix(self, fix: Fix | None) -> dict[str, Any]:
        if fix is None:
            return {}
        return {
            "lon": f"{fix.lon:.6f}",
            "lat": f"{fix.lat:.6f}",
            "timestamp": self._wire_num(int(fix.at.timestamp())),
            "radius": self._wire_num(fix.radius),
            "distance": None if fix.distance is None else self._wire_num(round(fix.distance)),
            "distance_forecast_time": None
            if fix.eta_hours is None
            else self._wire_num(fix.eta_hours),
            "distance_forecast_status": fix.forecast,
            "place": fix.place if fix.place is not None else self.rng.choice((None, "")),
        }

    def _render_object(self, obj: SimObject, at: datetime) -> dict[str, Any]:
        fix = obj.last_fix
        forecast(obj, at)  # per-point statuses as of now
        return {
            "phone": obj.phone,
            "status": obj.status,
            "confirmed": obj.confirmed,
            "title": obj.title,
            "tariff": obj.tariff,
            "tariff_new": obj.tariff_new,
            "last_timestamp": int(fix.at.timestamp()) if fix else 0,
            "at_request": obj.pending is not None,
            "current_lon": f"{fix.lon:.6f}" if fix else None,
            "current_lat": f"{fix.lat:.6f}" if fix else None,
            "place": (fix.place or "") if fix else "",
            "distance": self._wire_num(round(fix.distance))
            if fix and fix.distance is not None
            else 0,
            "distance_forecast_time": fix.eta_hours if fix else None,
            "distance_forecast_status": fix.forecast if fix else None,
            "on_parking": obj.parked,
            "destination": [
                {
                    "text": point.text,
                    "lat": f"{point.lat:.6f}",
                    "lon": f"{point.lon:.6f}",
                    "time": format_moscow(point.planned_at) if point.planned_at else "",
                    "status": point.status,
                }
                for point in obj.route
            ],
            "offline_time": int(fix.at.timestamp()) if obj.pos_error and fix else 0,
            "pos_error": obj.pos_error,
            "timestamp_off": str(int(obj.timestamp_off.timestamp())) if obj.timestamp_off else "0",
            "timestamp_add": str(int(obj.added_at.timestamp())),
            # PHP encodes an empty array as [] instead of {}: keep that quirk.
            "metadata": dict(obj.metadata) if obj.metadata else [],
        }

    def _render_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        rendered = {
            **event,
            "id": str(event["id"]),
            "timestamp": str(int(event["timestamp"].timestamp())),
        }
        return rendered


# --- parameter helpers --------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _flag(value: Any) -> bool:
    return _text(value).lower() not in ("", "0", "false", "no")


def _tags(value: Any) -> list[str]:
    return [tag.strip() for tag in _text(value).split(",") if tag.strip()]


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:32]: _text(v)[:64] for k, v in value.items()}


def _coord(value: Any) -> tuple[float, float] | None:
    parts = _text(value).split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _unix_param(value: Any) -> datetime | None:
    text = _text(value)
    return datetime.fromtimestamp(int(text), UTC) if text.isdigit() else None


def _normalize_phone(raw: str) -> str | None:
    """The document: "+7 (921) 001-02-03" and "8-921-001-02-03" are accepted when adding."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    return digits if MSISDN_RE.match(digits) else None


def _pretty_phone(phone: str) -> str:
    """The document's sample names an untitled object like "(911) 111-11-15"."""
    return f"({phone[1:4]}) {phone[4:7]}-{phone[7:9]}-{phone[9:11]}"


def _next_moscow_midnight(at: datetime) -> datetime:
    local = to_moscow(at)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return midnight.astimezone(UTC)
