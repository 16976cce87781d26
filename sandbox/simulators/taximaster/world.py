"""The rules of the simulated TMWeb: one handler per request, on validated parameters.

Handlers take the request's parameters as text (already checked against
:data:`~integrations.taximaster.requests.REQUESTS` by the HTTP layer) and the simulated
``now``; they return the answer's ``data`` or raise :class:`SimError` with a documented code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integrations.taximaster.wire import TIME_FORMAT, parse_time
from sandbox.simulators.taximaster.city import POINTS, STREETS
from sandbox.simulators.taximaster.fleet import SimCar, SimCrew, SimDriver, seed_fleet
from sandbox.simulators.taximaster.geo import find_street, house_numbers, locate, route, zone_of
from sandbox.simulators.taximaster.orders import STATE_IDS, OrderBook, SimOrder
from sandbox.simulators.taximaster.tariffs import (
    CREW_GROUPS,
    DISCOUNTS,
    SERVICES,
    TARIFFS,
    UDS,
    CostError,
    CostInput,
    calc_cost,
)

Params = dict[str, str]
Data = dict[str, Any]


@dataclass
class SimError(Exception):
    code: int
    param: str | None = None
    data: Data | None = None


class World:
    def __init__(self, tz: ZoneInfo, *, fleet_size: int | None = None) -> None:
        self.tz = tz
        self.crews, self.drivers, self.cars = seed_fleet(fleet_size)
        self.book = OrderBook(self.crews)
        self.blocked_phones: set[str] = set()
        # The document: an order "с такими параметрами" is refused with 100. Which parameters,
        # for how long, and whether the check is on at all, it does not say: a server may not
        # check (False), and the bot must not rely on it.
        self.reject_duplicates = True
        self.duplicate_reveals_order_id = False
        self.inactive_tariffs: set[int] = set()  # shown as is_active=false in the public shape
        self.handlers: dict[str, Callable[[Params, datetime], Data]] = {
            "ping": lambda p, now: {},
            "get_crew_groups_list": lambda p, now: {"crew_groups": _named(CREW_GROUPS)},
            "get_uds_list": lambda p, now: {"uds": _named(UDS)},
            "get_tariffs_list": lambda p, now: {
                "tariffs": [{"id": t.id, "name": t.name} for t in TARIFFS]
            },
            "get_services_list": lambda p, now: {"services": _extras(SERVICES)},
            "get_discounts_list": lambda p, now: {"discounts": _extras(DISCOUNTS)},
            "create_order": self.create_order,
            "calc_order_cost": self.calc_order_cost,
            "get_crew_info": self.get_crew_info,
            "get_driver_info": self.get_driver_info,
            "get_car_info": self.get_car_info,
            "get_crews_coords": self.get_crews_coords,
            "get_addresses_like": self.get_addresses_like,
            "analyze_route": self.analyze_route,
            "get_order_state": self.get_order_state,
            "get_current_orders": self.get_current_orders,
        }

    def tick(self, now: datetime) -> None:
        self.book.tick(now)

    # --- orders -------------------------------------------------------------------------------

    def create_order(self, p: Params, now: datetime) -> Data:
        source_time = self._time(p["source_time"])
        duplicate = self.book.find_duplicate(p["phone"], p["source"], source_time)
        if duplicate is not None and self.reject_duplicates:
            raise SimError(
                100, data={"order_id": duplicate.id} if self.duplicate_reveals_order_id else {}
            )
        if p["phone"] in self.blocked_phones:
            raise SimError(110)
        group = _int(p.get("crew_group_id"))
        if group is not None and group not in dict(CREW_GROUPS):
            raise SimError(102)
        uds = _int(p.get("uds_id"))
        if uds is not None and uds not in dict(UDS):
            raise SimError(103)
        source_pos = locate(p["source"])
        if source_pos is None:
            raise SimError(9, "source")
        dest = p.get("dest", "")
        dest_pos = locate(dest) if dest else None
        if dest and dest_pos is None:
            raise SimError(9, "dest")
        order = self.book.add(
            SimOrder(
                id=0,
                phone=p["phone"],
                source=p["source"],
                source_pos=source_pos,
                source_time=source_time,
                created_at=now,
                dest=dest,
                dest_pos=dest_pos,
                customer=p.get("customer", ""),
                comment=p.get("comment", ""),
                crew_group_id=group,
                uds_id=uds,
            )
        )
        return {"order_id": order.id}

    def get_order_state(self, p: Params, now: datetime) -> Data:
        order = self.book.orders.get(int(p["order_id"]))
        if order is None:
            raise SimError(100)
        kind = order.state_kind(now)
        crew = self.crews.get(order.crew_id) if order.crew_id and kind != "new_order" else None
        return {
            "order_id": order.id,
            "state_id": STATE_IDS[kind],
            "state_kind": kind,
            "crew_id": crew.id if crew else None,
            "driver_id": crew.driver_id if crew else None,
            "car_id": crew.car_id if crew else None,
        }

    def get_current_orders(self, p: Params, now: datetime) -> Data:
        """Not in the document (newer TMWeb): every order not finished yet, of one phone, crew
        or driver when asked, in the public clients' shape."""
        digits = "".join(ch for ch in p.get("phone", "") if ch.isdigit())[-10:]
        crew, driver = _int(p.get("crew_id")), _int(p.get("driver_id"))
        rows = []
        for order in self.book.orders.values():
            if order.is_final(now):
                continue
            if digits and "".join(ch for ch in order.phone if ch.isdigit())[-10:] != digits:
                continue
            assigned = self.crews.get(order.crew_id) if order.crew_id else None
            if crew is not None and (assigned is None or assigned.id != crew):
                continue
            if driver is not None and (assigned is None or assigned.driver_id != driver):
                continue
            rows.append(self.order_row(order, now))
        return {"orders": rows}

    def order_row(self, order: SimOrder, now: datetime) -> Data:
        """An order as ``get_current_orders`` lists it (and the public shape's
        ``get_order_state`` adds it)."""
        kind = order.state_kind(now)
        crew = self.crews.get(order.crew_id) if order.crew_id and kind != "new_order" else None
        car = self.cars.get(crew.car_id) if crew else None
        finished = order.job.finish_at if order.job and kind == "finished" else order.aborted_at
        return {
            "id": order.id,
            "state_id": STATE_IDS[kind],
            "state_kind": kind,
            "crew_id": crew.id if crew else 0,
            "prior_crew_id": 0,
            "driver_id": crew.driver_id if crew else 0,
            "car_id": crew.car_id if crew else 0,
            "server_time_offset": 0,
            "start_time": self._tm_time(order.created_at),
            "source_time": self._tm_time(order.source_time),
            "finish_time": self._tm_time(finished) if order.is_final(now) else "",
            "source": order.source,
            "source_lat": round(order.source_pos[0], 6),
            "source_lon": round(order.source_pos[1], 6),
            "destination": order.dest,
            "destination_lat": round(order.dest_pos[0], 6) if order.dest_pos else 0,
            "destination_lon": round(order.dest_pos[1], 6) if order.dest_pos else 0,
            "stops": [],
            "customer": order.customer,
            "passenger": "",
            "phone": order.phone,
            "phone_to_dial": order.phone,
            "client_id": 0,
            "order_crew_group_id": order.crew_group_id or 0,
            "tariff_id": 0,
            "car_mark": car.mark if car else "",
            "car_model": car.model if car else "",
            "car_color": car.color if car else "",
            "car_number": car.gos_number if car else "",
            "confirmed": "confirmed_by_driver" if crew else "not_confirmed",
            "creation_way": order.creation_way,
            "is_prior": order.source_time > order.created_at,
            "sum": 0,
            "total_sum": 0,
            "attribute_values": [],
        }

    def _tm_time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime(TIME_FORMAT) if moment else ""

    def calc_order_cost(self, p: Params, now: datetime) -> Data:
        tariff = next((t for t in TARIFFS if t.id == int(p["tariff_id"])), None)
        if tariff is None:
            raise SimError(100)
        order = CostInput(
            distance_city=float(p.get("distance_city", 0)),
            distance_country=float(p.get("distance_country", 0)),
            source_distance_country=float(p.get("source_distance_country", 0)),
            waiting_minutes=int(p.get("waiting_minutes", 0)),
            is_hourly=p.get("is_hourly") == "true",
            hourly_minutes=_int(p.get("hourly_minutes")),
            is_prior=p.get("is_prior") == "true",
            back_way=p.get("back_way") == "true",
            source_time=self._time(p["source_time"]) if "source_time" in p else None,
            services=[int(s) for s in p.get("services", "").split(";") if s],
            discount_id=_int(p.get("discount_id")),
        )
        try:
            total, lines = calc_cost(tariff, order)
        except CostError:
            raise SimError(101) from None
        return {
            "sum": total,
            "info": [{"comment": comment, "sum": f"{amount:.2f}"} for comment, amount in lines],
        }

    # --- crews --------------------------------------------------------------------------------

    def get_crew_info(self, p: Params, now: datetime) -> Data:
        crew = self.crews.get(int(p["crew_id"]))
        if crew is None:
            raise SimError(100)
        return {
            "crew_id": crew.id,
            "code": crew.code,
            "name": crew.name,
            "driver_id": crew.driver_id,
            "car_id": crew.car_id,
            "crew_group_id": crew.crew_group_id,
        }

    def get_driver_info(self, p: Params, now: datetime) -> Data:
        driver = self.drivers.get(int(p["driver_id"]))
        if driver is None:
            raise SimError(100)
        data = _driver(driver)
        if p.get("need_photo") == "true":
            data["driver_photo"] = _PHOTO
        return data

    def get_car_info(self, p: Params, now: datetime) -> Data:
        car = self.cars.get(int(p["car_id"]))
        if car is None:
            raise SimError(100)
        data = _car(car)
        if p.get("need_photo") == "true":
            data["car_photo"] = _PHOTO
        return data

    def get_crews_coords(self, p: Params, now: datetime) -> Data:
        if "crew_id" in p:
            crew = self.crews.get(int(p["crew_id"]))
            if crew is None:
                raise SimError(100)
            crews = [crew]
        else:
            crews = [c for c in self.crews.values() if c.state_kind(now) != "not_available"]
            if not crews:
                raise SimError(100)
        return {"crews_coords": [self._coords(crew, now) for crew in crews]}

    def _coords(self, crew: SimCrew, now: datetime) -> Data:
        lat, lon = crew.position(now)
        fix = now.replace(second=now.second // 10 * 10, microsecond=0)
        return {
            "crew_id": crew.id,
            "crew_code": crew.code,
            "coords_time": self._tm_time(fix),
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "state_kind": crew.state_kind(now),
        }

    # --- addresses ----------------------------------------------------------------------------

    def get_addresses_like(self, p: Params, now: datetime) -> Data:
        streets, points, houses = (p[f"get_{k}"] == "true" for k in ("streets", "points", "houses"))
        if houses and (streets or points):
            raise SimError(9, "get_houses")
        limit = _int(p.get("max_addresses_count"))
        found: list[Data] = []
        if houses:
            street = find_street(p["street"])
            if street is not None:
                prefix = p.get("house", "").casefold()
                found = [
                    _address(street.name, number, "house")
                    for number in house_numbers(street)
                    if number.startswith(prefix)
                ]
        else:
            part = " ".join(p["street"].casefold().replace("ё", "е").split())
            if streets:
                found += [_address(s.name, "", "street") for s in STREETS if _like(part, s.name)]
            if points:
                found += [
                    _address(pt.name, "", "point", pt.comment)
                    for pt in POINTS
                    if _like(part, pt.name)
                ]
            found.sort(key=lambda a: (not _norm(a["street"]).startswith(part), a["street"]))
        if limit:
            found = found[:limit]
        if not found:
            raise SimError(100)
        return {"addresses": found}

    def analyze_route(self, p: Params, now: datetime) -> Data:
        source, dest = locate(p["source"]), locate(p["dest"])
        if source is None:
            raise SimError(100)
        if dest is None:
            raise SimError(101)
        if source == dest:
            raise SimError(102)
        trip = route(source, dest)
        return {
            "source_lat": round(source[0], 6),
            "source_lon": round(source[1], 6),
            "source_zone_id": zone_of(source)[0],
            "dest_lat": round(dest[0], 6),
            "dest_lon": round(dest[1], 6),
            "dest_zone_id": zone_of(dest)[0],
            "city_dist": trip.city_km,
            "country_dist": trip.country_km,
            "source_country_dist": trip.source_country_km,
        }

    def _time(self, text: str) -> datetime:
        moment = parse_time(text, self.tz)
        if moment is None:  # the HTTP layer checked the format already
            raise SimError(9, "source_time")
        return moment


# A 1×1 PNG: enough for a "photo" field.
_PHOTO = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="  # noqa: E501


def _named(items: tuple[tuple[int, str], ...]) -> list[Data]:
    return [{"id": item_id, "name": name} for item_id, name in items]


def _extras(items: tuple[Any, ...]) -> list[Data]:
    return [{"id": e.id, "name": e.name, "sum": e.sum, "percent": e.percent} for e in items]


def _driver(driver: SimDriver) -> Data:
    return {
        "driver_id": driver.id,
        "name": driver.name,
        "birthday": driver.birthday.strftime("%d.%m.%Y"),
        "car_id": driver.car_id,
        "license": driver.license,
        "home_phone": driver.home_phone,
        "mobile_phone": driver.mobile_phone,
        "is_locked": driver.is_locked,
        "is_dismissed": driver.is_dismissed,
    }


def _car(car: SimCar) -> Data:
    return {
        "car_id": car.id,
        "code": car.code,
        "name": car.name,
        "gos_number": car.gos_number,
        "color": car.color,
        "mark": car.mark,
        "model": car.model,
        "short_name": car.short_name,
        "production_year": car.production_year,
    }


def _address(street: str, house: str, kind: str, comment: str = "") -> Data:
    return {"street": street, "house": house, "kind": kind, "comment": comment}


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def _like(part: str, name: str) -> bool:
    return part in _norm(name)


def _int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None
