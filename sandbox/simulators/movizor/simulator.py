"""A Movizor look-alike over real HTTP, for contract tests, end-to-end tests and ``make demo``.

The HTTP layer lives here: routing ``/api/{project}/{function}/`` (GET or POST, parameters
merged like PHP's ``$_REQUEST``), the key check with the lockout after 5 wrong keys in an hour,
the hourly request limit, documented errors on demand, and the JSON envelope. The rules of the
service live in :mod:`sandbox.simulators.movizor.world` (state and time) and
:mod:`sandbox.simulators.movizor.api` (the 20 functions); the server, the simulated clock, the
request log and the faults below the API in :mod:`sandbox.simulators.base`.

:meth:`MovizorSimulator.advance` jumps ahead in simulated time and runs everything due
meanwhile (drivers move, events are emitted). Randomness comes from one seeded
``random.Random``, so a run is repeatable.

Usage::

    sim = MovizorSimulator(project="demo", key="demo-key", seed_demo=True, speed=60)
    base_url = await sim.start()          # "http://127.0.0.1:PORT/api"
    ...
    await sim.stop()

No access log is written: request lines carry ``?key=``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from aiohttp import web

from integrations.movizor.errors import ACCESS_DENIED, ERRORS, LIMIT_EXCEEDED, WORD_ERRORS, lookup
from integrations.movizor.functions import FUNCTIONS
from integrations.movizor.models import RoutePoint, to_moscow
from integrations.movizor.phpform import decode_php_form
from sandbox.simulators.base import NextCalls, VendorSimulator, php_request_pairs
from sandbox.simulators.movizor.api import Api
from sandbox.simulators.movizor.data import CITY_BY_NAME, DEMO_DRIVERS
from sandbox.simulators.movizor.motion import position_at
from sandbox.simulators.movizor.state import Reply, SimError, SimObject, SimPoint
from sandbox.simulators.movizor.world import World

__all__ = ["MovizorSimulator"]

RouteSpec = RoutePoint | SimPoint | tuple[str, float, float, datetime | None]

AUTH_BLOCKED_TEXT = "Auth rate limit exceeded"


class Call(NamedTuple):
    """One request as the simulator saw it: the function and its parameters (no key)."""

    name: str
    params: dict[str, Any]


class MovizorSimulator(VendorSimulator[Call]):
    """An in-process Movizor service with a control API for tests and demos."""

    CALLS = FUNCTIONS
    CALL_KIND = "Movizor function"
    CUT_SHORT = '{"code":"OK","result":"succ'

    def __init__(
        self,
        project: str = "demo",
        key: str = "demo-key",
        *,
        clock: Callable[[], datetime] | None = None,
        speed: float = 1.0,
        hourly_limit: int = 5000,
        seed_demo: bool = False,
        seed: int = 0,
        auto_confirm: bool | None = None,
        max_wrong_keys: int = 5,
        events_window: str = "newest",
    ) -> None:
        super().__init__(clock=clock, speed=speed)
        self.project = project
        self.key = key
        self.hourly_limit = hourly_limit
        self.max_wrong_keys = max_wrong_keys
        self._wrong_keys: Counter[datetime] = Counter()
        self._served: Counter[datetime] = Counter()
        self._forced: NextCalls[str] = NextCalls()

        self.rng = random.Random(seed)
        self.world = World(
            self.rng, self.now(), auto_confirm=seed_demo if auto_confirm is None else auto_confirm
        )
        self.world.events_window = events_window
        api = Api(self.world)
        self._handlers: dict[str, Callable[[dict[str, Any], datetime], Reply]] = {
            "balance": api.balance,
            "object_add": api.object_add,
            "object_get": api.object_get,
            "object_edit": api.object_edit,
            "object_list": api.object_list,
            "object_delete": api.object_delete,
            "object_reactivate": api.object_reactivate,
            "object_cancel_tariff": api.object_cancel_tariff,
            "pos_last": api.pos_last,
            "pos_request": api.pos_request,
            "pos_get": api.pos_get,
            "pos_objects": api.pos_objects,
            "pos_list": api.pos_list,
            "distance_search": api.distance_search,
            "get_operator": api.get_operator,
            "tariff_calculator": api.tariff_calculator,
            "events": api.events,
            "share_list": api.share_list,
            "share_add": api.share_add,
            "share_delete": api.share_delete,
        }
        assert set(self._handlers) == set(FUNCTIONS), "every documented function is served"

        self.app.router.add_route("*", "/api/{project}/{function}/", self._handle)
        self.app.router.add_route("*", "/api/{project}/{function}", self._handle)
        if seed_demo:
            self._seed_demo()

    def _api_url(self, origin: str) -> str:
        self.world.share_origin = origin  # share links point at this server
        return f"{origin}/api"

    def _tick(self, now: datetime) -> None:
        """Drivers move and events are emitted up to ``now``."""
        self.world.tick(now)

    # --- control API --------------------------------------------------------------------------

    def add_driver(
        self,
        phone: str,
        title: str,
        route: Sequence[RouteSpec] = (),
        *,
        tags: Iterable[str] = (),
        confirmed: bool = True,
        speed_kmh: float = 70.0,
        tariff: str = "15",
        depart_at: datetime | None = None,
        parking: Iterable[tuple[float, float]] = (),
        detours: Iterable[tuple[float, float]] = (),
        detour_km: float = 8.0,
        metadata: Mapping[str, str] | None = None,
        loop: bool = False,
    ) -> SimObject:
        """Put a driver on the account, as if added by ``object_add``.

        ``route`` points are ``(text, lat, lon, planned_arrival)``; the driver starts at the
        first point at ``depart_at`` (default: when confirmed) and drives at ``speed_kmh``.
        ``parking`` and ``detours`` are ``(minutes after departure, duration in minutes)``.
        ``tariff`` "15" locates every 15 simulated minutes; "manual" only on ``pos_request``.
        ``loop``: after arriving, rest and drive the route back, again and again.
        """
        now = self.now()
        self.world.tick(now)
        obj = self.world.add_object(
            phone,
            title,
            now,
            tariff=tariff,
            route=[_point(spec) for spec in route],
            tags=tags,
            metadata=metadata,
        )
        obj.speed_kmh = speed_kmh
        obj.depart_at = depart_at
        obj.parking = list(parking)
        obj.detours = list(detours)
        obj.detour_km = detour_km
        obj.loop = loop
        if confirmed:
            self.world.confirm(phone, now)
        return obj

    def confirm(self, phone: str) -> None:
        """The driver answers "yes" to the tracking SMS."""
        self.world.tick(self.now())
        self.world.confirm(phone, self.now())

    def reject(self, phone: str) -> None:
        """The driver answers "no" to the tracking SMS."""
        self.world.tick(self.now())
        self.world.reject(phone, self.now())

    def emit(self, phone: str, event_type: str, **fields: Any) -> int:
        """Add any event (e.g. ``mstart``, ``autoinform``, ``limit``); returns its id."""
        return self.world.emit(phone, event_type, self.now(), **fields)

    def set_unreachable(
        self, phone: str, reason: Literal["offline", "roaming", "error"] = "offline"
    ) -> None:
        """From now on position requests for ``phone`` fail (pos_get error 4)."""
        self.world.objects[phone].unreachable = reason

    def set_reachable(self, phone: str) -> None:
        self.world.objects[phone].unreachable = None

    def block_phone(self, phone: str) -> None:
        """The subscriber put the number on Movizor's block list."""
        self.world.blocked_phones.add(phone)

    def add_foreign_phone(self, phone: str) -> None:
        """The number is tracked by another Movizor account."""
        self.world.foreign_phones.add(phone)

    def set_balance(self, balance: float, credit: float = 0.0) -> None:
        self.world.balance, self.world.credit = balance, credit

    def object(self, phone: str) -> SimObject:
        return self.world.objects[phone]

    def position(self, phone: str) -> tuple[float, float]:
        """Where the driver really is now (what a locate would find)."""
        return position_at(self.world.objects[phone], self.now(), self.rng)

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.world.events

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def force_error(self, function: str, code: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``function`` answer with a documented error ``code``.
        (:meth:`fail_next` makes them fail below the API: an HTTP status, ``"timeout"``,
        ``"bad_json"``, ``"html"``.)"""
        if lookup(function, code) is None:
            raise ValueError(f"{function} has no documented error {code}")
        self._forced.add(function, code, times)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        function = request.match_info["function"]
        params = decode_php_form(await php_request_pairs(request))
        key = params.pop("key", None)
        project = request.match_info["project"]
        return await self._serve(
            request, Call(function, params), lambda: self._answer(function, project, key, params)
        )

    def _answer(
        self, function: str, project: str, key: Any, params: dict[str, Any]
    ) -> web.Response:
        now = self.now()
        self.world.tick(now)
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self._wrong_keys[hour] >= self.max_wrong_keys:
            return _json(_word_error(ACCESS_DENIED, AUTH_BLOCKED_TEXT))
        if project != self.project or key != self.key:
            self._wrong_keys[hour] += 1
            return _json(_word_error(ACCESS_DENIED, WORD_ERRORS[ACCESS_DENIED].vendor_text))
        if self._served[hour] >= self.hourly_limit:
            return _json(_word_error(LIMIT_EXCEEDED, WORD_ERRORS[LIMIT_EXCEEDED].vendor_text))
        self._served[hour] += 1

        handler = self._handlers.get(function)
        if handler is None:
            return web.Response(status=404, text="Not Found")
        forced = self._forced.pop(function)
        if forced is not None:
            return _json(_documented_error(function, forced))
        try:
            reply = handler(params, now)
        except SimError as error:
            return _json(_documented_error(function, error.code))
        body: dict[str, Any] = {"code": reply.code, "message": reply.message, "result": "success"}
        if reply.data is not None:
            body["data"] = reply.data
        return _json(body)

    # --- demo ---------------------------------------------------------------------------------

    def _seed_demo(self) -> None:
        """A handful of drivers on real Russian routes, with something happening every minute."""
        start = self.now()
        for driver in DEMO_DRIVERS:
            route = [
                SimPoint(
                    city,
                    CITY_BY_NAME[city.casefold()].lat,
                    CITY_BY_NAME[city.casefold()].lon,
                    planned_at=start + timedelta(minutes=minutes),
                )
                for city, minutes in driver.stops
            ]
            departed = start - timedelta(minutes=driver.departed_min)
            added = departed - timedelta(minutes=10) if driver.confirmed else start
            obj = self.world.add_object(
                driver.phone,
                driver.title,
                added,
                tariff=driver.tariff,
                route=route,
                tags=driver.tags,
                metadata={"Водитель": driver.title.split(",")[0], "Рейс": f"Д-{driver.phone[-4:]}"},
            )
            obj.speed_kmh = driver.speed_kmh
            obj.parking = list(driver.parking)
            obj.detours = list(driver.detours)
            obj.unreachable = "offline" if driver.unreachable else None
            obj.loop = True
            if driver.confirmed:
                # Confirmed before leaving: the locates since then make a history for pos_list.
                obj.depart_at = departed
                self.world.confirm(driver.phone, added + timedelta(minutes=5))
        self.world.tick(start)


def _point(spec: RouteSpec) -> SimPoint:
    if isinstance(spec, SimPoint):
        return spec
    if isinstance(spec, RoutePoint):
        text, lat, lon, planned = spec.text, spec.lat, spec.lon, spec.planned_at
    else:
        text, lat, lon, planned = spec
    return SimPoint(text, lat, lon, planned_at=to_moscow(planned) if planned else None)


def _documented_error(function: str, code: str) -> dict[str, Any]:
    spec = ERRORS[(function, code)]
    return {"result": "error", "error_code": code, "error_text": spec.vendor_text}


def _word_error(code: str, text: str) -> dict[str, Any]:
    return {"result": "error", "error_code": code, "error_text": text, "error_text_ru": ""}


def _json(body: Mapping[str, Any]) -> web.Response:
    # PHP's json_encode escapes non-ASCII as \uXXXX, like the document's samples.
    return web.Response(
        text=json.dumps(body, default=_json_default), content_type="application/json"
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return str(int(value.timestamp()))
    raise TypeError(f"cannot encode {type(value).__name__}")
