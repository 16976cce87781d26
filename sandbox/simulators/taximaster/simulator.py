"""A TMWeb (Taxi-Master common_api 1.0) look-alike over real HTTP, for contract tests,
end-to-end tests and ``make demo``.

The HTTP layer lives here: routing ``/{api}/{version}/{request}``, the ``Signature`` check
(md5 of the raw query string or body + secret), GET vs POST, the ``X-User-Id`` check (13/14,
when ``users`` is given), missing and malformed parameters (8/9 with the parameter named in
``data``), forced error codes and the JSON envelope (always HTTP 200). The server, the simulated
clock, the request log, the faults below the API and the held calls come from
:mod:`sandbox.simulators.base`.

By default it is the document's server: the document's shape, UTF-8, duplicates refused with
100, and no ``get_current_orders`` (answered 6, "unknown request"). Options make it a newer or
different one — the tests run both: ``wire="public"`` (answers as real servers send them, see
:mod:`~sandbox.simulators.taximaster.public_shape`), ``charset="windows-1251"``,
``current_orders=True``, ``reject_duplicates=False`` (a server that takes a repeat as a new
order: the document does not promise the check). The service's rules live
in :mod:`sandbox.simulators.taximaster.world` (and the city, fleet, tariffs and orders modules
next to it).

Time is simulated (:meth:`TaxiMasterSimulator.advance`). At ``speed=20`` an order placed in the
centre has a crew assigned within seconds and the car at the door within about a minute.

Usage::

    sim = TaxiMasterSimulator(secret="demo-secret", speed=20, seed_demo=True)
    base_url = await sim.start()          # "http://127.0.0.1:PORT"
    ...
    await sim.stop()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from aiohttp import web

from integrations.taximaster.errors import COMMON_ERRORS, lookup
from integrations.taximaster.models import MOSCOW
from integrations.taximaster.requests import REQUESTS, ParamType, RequestSpec
from integrations.taximaster.wire import format_time, parse_time, sign
from sandbox.simulators.base import NextCalls, VendorSimulator
from sandbox.simulators.taximaster.orders import SimOrder
from sandbox.simulators.taximaster.public_shape import reshape
from sandbox.simulators.taximaster.world import SimError, World

__all__ = ["TaxiMasterSimulator"]

Wire = Literal["document", "public"]

API = "common_api"
VERSION = "1.0"


@dataclass
class _Forced:
    code: int
    data: Any = None


@dataclass
class SeenRequest:
    name: str
    method: str
    params: dict[str, str]
    signature_ok: bool
    headers: dict[str, str] = field(default_factory=dict)


class TaxiMasterSimulator(VendorSimulator[SeenRequest]):
    """An in-process TMWeb with a control API for tests and demos."""

    CALLS = REQUESTS
    CALL_KIND = "TMWeb request"
    CUT_SHORT = '{"code":0,"descr":"OK","da'

    def __init__(
        self,
        secret: str = "demo-secret",
        *,
        clock: Callable[[], datetime] | None = None,
        speed: float = 1.0,
        tz: ZoneInfo = MOSCOW,
        seed_demo: bool = False,
        users: Mapping[int, bool] | None = None,
        duplicate_reveals_order_id: bool = False,
        reject_duplicates: bool = True,
        current_orders: bool = False,
        wire: Wire = "document",
        charset: str = "utf-8",
        fleet_size: int | None = None,
    ) -> None:
        """``users``: X-User-Id -> allowed; None means the header is not checked.
        ``duplicate_reveals_order_id``: put the existing ``order_id`` in ``data`` of a
        create_order 100 answer (the document shows no data for it; off by default).
        ``reject_duplicates``: refuse a create with the same phone, pickup and time (100).
        ``current_orders``: serve ``get_current_orders`` (newer TMWeb); off: code 6.
        ``wire``: "public" answers in real servers' shape; ``charset``: of every answer.
        ``fleet_size``: crews in the city (default the twelve of the demo)."""
        super().__init__(clock=clock, speed=speed)
        self.secret = secret
        self.tz = tz
        self.users = dict(users) if users is not None else None
        self.api_enabled = True
        self.current_orders = current_orders
        self.wire = wire
        self.charset = charset
        self._forced: NextCalls[_Forced] = NextCalls()

        self.world = World(tz, fleet_size=fleet_size)
        self.world.duplicate_reveals_order_id = duplicate_reveals_order_id
        self.world.reject_duplicates = reject_duplicates
        assert set(self.world.handlers) == set(REQUESTS), "every known request is served"
        self.app.router.add_route("*", "/{api}/{version}/{request}", self._handle)
        if seed_demo:
            self._seed_demo()

    def _api_url(self, origin: str) -> str:
        return origin  # the client adds /common_api/1.0

    def _tick(self, now: datetime) -> None:
        """Crews dispatch and drive up to ``now``."""
        self.world.tick(now)

    # --- control API ----------------------------------------------------------------------------

    def place_order(
        self,
        source: str,
        dest: str = "",
        *,
        phone: str = "89120000000",
        source_time: datetime | None = None,
        crew_group_id: int | None = None,
    ) -> int:
        """An order as if a dispatcher took a phone call; returns its id."""
        now = self.now()
        params = {
            "phone": phone,
            "source": source,
            "source_time": format_time(source_time or now, self.tz),
            "dest": dest,
        }
        if crew_group_id is not None:
            params["crew_group_id"] = str(crew_group_id)
        order_id = int(self.world.create_order(params, now)["order_id"])
        self.world.book.orders[order_id].creation_way = "operator"
        return order_id

    def order(self, order_id: int) -> SimOrder:
        return self.world.book.orders[order_id]

    def order_state(self, order_id: int) -> str:
        return self.order(order_id).state_kind(self.now())

    @property
    def orders(self) -> list[SimOrder]:
        return list(self.world.book.orders.values())

    def abort_order(self, order_id: int) -> None:
        """The client cancelled: the order becomes ``aborted`` now, its crew is free."""
        self.world.book.abort(order_id, self.now())

    def advance_until(
        self, order_id: int, state: str, *, step: timedelta = timedelta(seconds=10)
    ) -> timedelta:
        """Advance in ``step``s until the order is in ``state`` (or final); return the time
        it took. Raises after a simulated day."""
        waited = timedelta(0)
        while self.order_state(order_id) != state:
            if self.order(order_id).is_final(self.now()) or waited > timedelta(days=1):
                raise AssertionError(f"order {order_id} is {self.order_state(order_id)}")
            self.advance(step)
            waited += step
        return waited

    def set_crew_state(
        self, crew_id: int, state: Literal["waiting", "on_break", "not_available"]
    ) -> None:
        self.world.crews[crew_id].base_state = state

    def block_phone(self, phone: str) -> None:
        """create_order from this phone answers 110 (client blocked)."""
        self.world.blocked_phones.add(phone)

    def deactivate_tariff(self, tariff_id: int) -> None:
        """The dispatch service switched the tariff off: ``is_active: false`` in the public
        shape (the document's shape has no such flag)."""
        self.world.inactive_tariffs.add(tariff_id)

    def set_api_enabled(self, enabled: bool) -> None:
        """False: every request but ping answers 3 (API switched off in TMWeb settings)."""
        self.api_enabled = enabled

    def fail_next(
        self, name: str, fault: int | str = "timeout", *, times: int = 1, after: bool = False
    ) -> None:
        """The next ``times`` calls of ``name`` fail below the API (see
        :class:`~sandbox.simulators.base.Fault`); ``"drop_after"`` is ``"drop"`` after the
        request is handled (an order IS created and the answer is lost)."""
        if fault == "drop_after":
            fault, after = "drop", True
        super().fail_next(name, fault, times=times, after=after)

    def force_error(self, request: str, code: int, *, data: Any = None, times: int = 1) -> None:
        """The next ``times`` valid calls of ``request`` answer with ``code``."""
        if lookup(request, code) is None:
            raise ValueError(f"{request} has no known code {code}")
        self._forced.add(request, _Forced(code, data), times)

    # --- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["request"]
        raw = request.rel_url.raw_query_string
        if request.method == "POST":
            raw = (await request.read()).decode("utf-8", errors="replace")
        params = dict(parse_qsl(raw, keep_blank_values=True))
        signature = request.headers.get("Signature", "").strip().lower()
        signature_ok = signature == sign(raw, self.secret)
        seen = SeenRequest(name, request.method, params, signature_ok, dict(request.headers))
        return await self._serve(
            request, seen, lambda: self._handled(request, name, params, signature_ok)
        )

    def _handled(
        self, request: web.Request, name: str, params: dict[str, str], signature_ok: bool
    ) -> web.Response:
        now = self.now()
        self.world.tick(now)
        return self._answer(request, name, params, signature_ok, now)

    def _answer(
        self,
        request: web.Request,
        name: str,
        params: dict[str, str],
        signature_ok: bool,
        now: datetime,
    ) -> web.Response:
        spec = REQUESTS.get(name)
        if spec is not None and spec.unchecked:  # ping: no version, key or method check
            error = self._forced.pop(name)
            if error is None:
                return self._envelope(0)
            return self._envelope(error.code, error.data, name)
        if request.match_info["api"] != API:
            return self._envelope(2)
        if request.match_info["version"] != VERSION:
            return self._envelope(5)
        if spec is None or (name == "get_current_orders" and not self.current_orders):
            return self._envelope(6)
        if not self.api_enabled:
            return self._envelope(3)
        if not signature_ok:
            return self._envelope(4)
        if request.method != spec.method:
            return self._envelope(7)
        user_error = self._check_user(request)
        if user_error:
            return self._envelope(user_error)
        try:
            _validate(spec, params, self.tz)
            forced = self._forced.pop(name)
            if forced is not None:
                return self._envelope(forced.code, forced.data, name)
            data = self.world.handlers[name](params, now)
            if self.wire == "public":
                data = reshape(name, data, self.world, now)
            return self._envelope(0, data)
        except SimError as error:
            data = (
                error.data
                if error.data is not None
                else ({"param": error.param} if error.param else {})
            )
            return self._envelope(error.code, data, name)

    def _envelope(self, code: int, data: Any = None, request: str = "") -> web.Response:
        descr = "OK" if code == 0 else _descr(request, code)
        body = {"code": code, "descr": descr, "data": data if data is not None else {}}
        return web.Response(
            body=json.dumps(body, ensure_ascii=False).encode(self.charset),
            headers={"Content-Type": f"application/json; charset={self.charset}"},
        )

    def _check_user(self, request: web.Request) -> int:
        if self.users is None:
            return 0
        user = request.headers.get("X-User-Id", "").strip()
        if not user.isdigit() or int(user) not in self.users:
            return 13
        return 0 if self.users[int(user)] else 14

    # --- demo ---------------------------------------------------------------------------------

    def _seed_demo(self) -> None:
        """A few orders already on the way so crews are busy and the map is alive."""
        trips = [
            ("Железнодорожный вокзал", "улица Малышева, 51", 2),
            ("ТЦ Гринвич", "Аэропорт Кольцово", 1),
            ("улица Белинского, 86", "Ельцин Центр", 1),
        ]
        start = self.now()
        for n, (source, dest, group) in enumerate(trips):
            self.place_order(source, dest, phone=f"8912555000{n}", crew_group_id=group)
        self.world.tick(start + timedelta(minutes=1))


def _descr(request: str, code: int) -> str:
    spec = lookup(request, code) or COMMON_ERRORS.get(code)
    return spec.vendor_text if spec else "Ошибка"


def _validate(spec: RequestSpec, params: Mapping[str, str], tz: ZoneInfo) -> None:
    """Codes 8 (missing) and 9 (malformed), naming the parameter."""
    for name in spec.required:
        if not params.get(name, "").strip():
            raise SimError(8, name)
    for name, kind in spec.params.items():
        value = params.get(name)
        if value is None or (value == "" and name not in spec.required):
            continue
        if not _valid(kind, value, tz):
            raise SimError(9, name)


def _valid(kind: ParamType, value: str, tz: ZoneInfo) -> bool:
    text = value.strip()
    if kind is ParamType.INT:
        return text.lstrip("-").isdigit()
    if kind is ParamType.FLOAT:
        try:
            float(text)
        except ValueError:
            return False
        return True
    if kind is ParamType.BOOL:
        return text.lower() in ("true", "false")
    if kind is ParamType.TIME:
        return parse_time(text, tz) is not None
    if kind is ParamType.PHONE:
        return 0 < len(text) <= 16 and all(ch.isdigit() or ch in "+-() " for ch in text)
    if kind is ParamType.ID_LIST:
        return all(part.isdigit() for part in text.split(";"))
    return True
