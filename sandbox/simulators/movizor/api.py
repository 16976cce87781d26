"""What the Movizor simulator's 20 API functions check and answer.

Each function reads its parameters (:mod:`sandbox.simulators.movizor.params`), checks them in
the order the document lists its errors (raising :class:`SimError` with the documented code),
changes the world through :class:`World`'s methods, and renders the answer
(:mod:`sandbox.simulators.movizor.wire`). Every function takes ``(params, now)``.

Interpretations of what the document leaves open are marked "Rule:".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from integrations.movizor.models import parse_moscow
from sandbox.simulators.movizor.data import (
    OPERATOR_TITLES,
    PACKAGE_TARIFF,
    SUPPORTED_OPERATORS,
    TARIFF_TITLES,
    TARIFFS,
    operator_of,
    region_of,
    search_cities,
    tariff_price,
)
from sandbox.simulators.movizor.params import (
    check_dateoff,
    check_route,
    check_schedule,
    flag,
    items,
    metadata,
    normalize_phone,
    pretty_phone,
    tags,
    text,
    unix_time,
)
from sandbox.simulators.movizor.state import Reply, SimError, SimObject
from sandbox.simulators.movizor.wire import Wire
from sandbox.simulators.movizor.world import HISTORY_LIMIT, World

Params = Mapping[str, Any]

POS_REQUEST_COOLDOWN: Final = timedelta(minutes=5)
PACKAGE_ACTIVATION: Final = timedelta(minutes=10)
# Rule: a phone still "new" (the operator has not sent the SMS) may be deleted after 1 hour,
# one in "wait" (the driver has the SMS) after 24 hours: error 3 and error 2 of object_delete.
DELETE_NEW_AFTER: Final = timedelta(hours=1)
DELETE_WAIT_AFTER: Final = timedelta(hours=24)


class Api:
    """The 20 functions of one simulated Movizor account (``world``)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.wire = Wire(world.rng)

    # --- account --------------------------------------------------------------------------------

    def balance(self, params: Params, at: datetime) -> Reply:
        tariffs = {
            operator: {
                tariff_id: {
                    "abon": self.wire.money(abon),
                    "request": self.wire.money(request),
                    "title": TARIFF_TITLES[tariff_id],
                }
                for tariff_id, (abon, request) in table.items()
            }
            for operator, table in TARIFFS.items()
        }
        data = {
            "balance": f"{self.world.balance:.2f}",
            "credit": f"{self.world.credit:.2f}",
            "type": "org",
            "tariff": tariffs,
        }
        return Reply(message="Balance info", data=data)

    def tariff_calculator(self, params: Params, at: datetime) -> Reply:
        operator = text(params.get("operator"))
        tariff = text(params.get("tariff"))
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
            data={"type": kind, "price": self.wire.num(abon), "description": description},
        )

    def get_operator(self, params: Params, at: datetime) -> Reply:
        phone = normalize_phone(text(params.get("phone")))
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

    def distance_search(self, params: Params, at: datetime) -> Reply:
        found = search_cities(text(params.get("query")))
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

    # --- objects --------------------------------------------------------------------------------

    def object_add(self, params: Params, at: datetime) -> Reply:
        world = self.world
        phone = normalize_phone(text(params.get("phone")))
        if phone is None:
            raise SimError("1")
        dateoff = check_dateoff(params, at, past="2", too_close="3")
        route = check_route(params, no_coord="4")
        check_schedule(params, bad="5")
        pending = sum(obj.status in ("new", "wait") for obj in world.objects.values())
        if pending >= world.max_unconfirmed:
            raise SimError("6")
        existing = world.objects.get(phone)
        if existing is not None and existing.status != "off":
            raise SimError("7")
        if phone in world.foreign_phones:
            raise SimError("8")
        if phone in world.blocked_phones:
            raise SimError("9")
        operator = operator_of(phone)
        if operator is None:
            raise SimError("10")
        if operator not in SUPPORTED_OPERATORS:
            raise SimError("11")
        tariff = text(params.get("tariff")) or "manual"
        price = tariff_price(operator, tariff)
        if price is None:
            raise SimError("12")
        if price[0] > world.balance + world.credit:
            raise SimError("13")
        if existing is not None:
            # The document: adding a phone in status "off" deletes it for good and adds it anew.
            world.forget(existing)
        world.add_object(
            phone,
            text(params.get("title")) or pretty_phone(phone),
            at,
            tariff=tariff,
            route=route or [],
            tags=tags(params.get("tags")),
            metadata=metadata(params.get("metadata")),
            timestamp_off=dateoff,
        )
        return Reply(message="Added")

    def object_edit(self, params: Params, at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        tariff = text(params.get("tariff"))
        if tariff and tariff_price(obj.operator, tariff) is None:
            raise SimError("2")
        dateoff = check_dateoff(params, at, past="3", too_close="4")
        route = check_route(params, no_coord="5")
        check_schedule(params, bad="6")
        if title := text(params.get("title")):
            obj.title = title
        if "tags" in params:
            obj.tags = tags(params.get("tags"))
        if "metadata" in params:
            obj.metadata = metadata(params.get("metadata"))
        if dateoff is not None:
            obj.timestamp_off = dateoff
            obj.timers["auto_off"] = dateoff
        if route is not None:
            self.world.reroute(obj, route, at)
        if tariff and tariff != obj.tariff:
            self.world.change_tariff(obj, tariff, at, activate=flag(params.get("activate")))
        return Reply(message="Edited")

    def object_get(self, params: Params, at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        return Reply(data=self.wire.object(obj, at))

    def object_list(self, params: Params, at: datetime) -> Reply:
        data = [{"phone": obj.phone, "status": obj.status} for obj in self.world.objects.values()]
        return Reply(data=data)

    def object_delete(self, params: Params, at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        age = at - obj.added_at
        if obj.status == "ok":
            self.world.switch_off(obj, at)
            return Reply(code="DISABLED", message="Phone set as disabled")
        if obj.status == "off_new":
            raise SimError("4")
        if obj.status == "new" and age < DELETE_NEW_AFTER:
            raise SimError("3")
        if obj.status == "wait" and age < DELETE_WAIT_AFTER:
            raise SimError("2")
        self.world.forget(obj)
        return Reply(code="DELETED", message="Phone deleted from system")

    def object_reactivate(self, params: Params, at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        if obj.phone in self.world.blocked_phones:
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
        if price is not None and price[0] > self.world.balance + self.world.credit:
            raise SimError("5")
        self.world.reactivate(obj, at)
        return Reply(message="Phone reactivated, need confirm from abonent")

    def object_cancel_tariff(self, params: Params, at: datetime) -> Reply:
        self.world.cancel_tariff_change(self._find(params, missing="1"))
        return Reply(message="New tariff canceled")

    # --- positions ------------------------------------------------------------------------------

    def pos_last(self, params: Params, at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        fix = obj.last_fix
        data = self.wire.fix(fix) if fix else {"lat": None, "lon": None, "timestamp": 0}
        return Reply(data=data)

    def pos_list(self, params: Params, at: datetime) -> Reply:
        obj = self._find(params, missing="1")
        start = unix_time(params.get("date_start"))
        end = unix_time(params.get("date_end"))
        offset = int(text(params.get("offset")) or 0)
        fixes = [
            fix
            for fix in reversed(obj.fixes)
            if (start is None or fix.at >= start) and (end is None or fix.at <= end)
        ]
        return Reply(data=[self.wire.fix(fix) for fix in fixes[offset : offset + HISTORY_LIMIT]])

    def pos_objects(self, params: Params, at: datetime) -> Reply:
        data = [
            {"phone": obj.phone, **self.wire.fix(obj.last_fix)}
            for obj in self.world.objects.values()
            if obj.last_fix is not None
        ]
        return Reply(message="Current positions", data=data)

    def pos_request(self, params: Params, at: datetime) -> Reply:
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
        if cost > self.world.balance + self.world.credit:
            raise SimError("6")
        request = self.world.request_position(obj, cost, at)
        return Reply(message="Request is added to queue", data={"request_id": str(request.id)})

    def pos_get(self, params: Params, at: datetime) -> Reply:
        try:
            request = self.world.requests[int(text(params.get("id")))]
        except (KeyError, ValueError):
            raise SimError("1") from None
        if request.phone not in self.world.objects:
            raise SimError("1")
        if request.state == "queued":
            raise SimError("2")
        if request.state == "failed" or request.fix is None:
            raise SimError("4")
        data = {
            **self.wire.fix(request.fix),
            "timestamp_request": int(request.created_at.timestamp()),
        }
        return Reply(data=data)

    # --- events and shares ----------------------------------------------------------------------

    def events(self, params: Params, at: datetime) -> Reply:
        """Rule: newest event first, as the service answers (ids descending in recorded
        answers). With ``afterid``, the events after that id; when more than ``limit`` follow
        it the document does not say which come back, so by default the NEWEST ``limit`` do
        (the worst case: the older ones cannot be reached through ``afterid``).
        ``events_window = "oldest"`` gives the other reading, the oldest ``limit`` after it."""
        try:
            limit = min(max(int(text(params.get("limit")) or 100), 10), 1000)
        except ValueError:
            limit = 100
        after = text(params.get("afterid"))
        following = self.world.events
        if after.isdigit():
            following = [event for event in following if event["id"] > int(after)]
        if after.isdigit() and self.world.events_window == "oldest":
            chosen = following[:limit]
        else:
            chosen = following[-limit:]
        return Reply(data=[self.wire.event(event) for event in reversed(chosen)])

    def share_list(self, params: Params, at: datetime) -> Reply:
        data = [
            {
                "id": str(share.id),
                "timestamp": str(int(share.created_at.timestamp())),
                "key": share.key,
                "link": share.link,
                "cnt": sum(phone in self.world.objects for phone in share.phones),
                "req_limit": share.req_limit,
                "req_cnt": 0,
                "timestamp_off": (
                    str(int(share.timestamp_off.timestamp())) if share.timestamp_off else ""
                ),
                "client": share.client,
                "comments": share.comments,
                "email": share.email,
            }
            for share in self.world.shares.values()
        ]
        return Reply(data=data)

    def share_add(self, params: Params, at: datetime) -> Reply:
        phones = [text(p) for p in items(params.get("phone"))]
        if not phones or any(phone not in self.world.objects for phone in phones):
            raise SimError("1")
        active = [phone for phone in phones if self.world.objects[phone].status == "ok"]
        if not active:
            raise SimError("2")
        dateoff = text(params.get("dateoff"))
        share = self.world.add_share(
            active,
            at,
            req_limit=int(text(params.get("req_limit")) or 0),
            timestamp_off=parse_moscow(dateoff) if dateoff else None,
            client=text(params.get("client")),
            comments=text(params.get("comments")),
            email=text(params.get("email")),
        )
        return Reply(data={"key": share.key, "objects_count": len(active)})

    def share_delete(self, params: Params, at: datetime) -> Reply:
        if self.world.shares.pop(text(params.get("share_key")), None) is None:
            raise SimError("1")
        return Reply(code="DELETED", message="Share_key deleted from system")

    # --- helpers --------------------------------------------------------------------------------

    def _find(self, params: Params, *, missing: str) -> SimObject:
        obj = self.world.objects.get(text(params.get("phone")))
        if obj is None:
            raise SimError(missing)
        return obj
