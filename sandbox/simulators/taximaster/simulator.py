"""A TMWeb (Taxi-Master common_api 1.0) look-alike over real HTTP, for contract tests,
end-to-end tests and ``make demo``.

The HTTP layer lives here: routing ``/{api}/{version}/{request}``, the ``Signature`` check
(md5 of the raw query string or body + secret), GET vs POST, the ``X-User-Id`` check (13/14,
when ``users`` is given), missing and malformed parameters (8/9 with the parameter named in
``data``), fault injection and the JSON envelope (always HTTP 200).

By default it is the document's server: the document's shape, UTF-8, duplicates refused with
100, and no ``get_current_orders`` (answered 6, "unknown request"). Options make it a newer or
different one — the tests run both: ``wire="public"`` (answers as real servers send them, see
:mod:`~sandbox.simulators.taximaster.public_shape`), ``charset="windows-1251"``,
``current_orders=True``, ``reject_duplicates=False`` (a server that takes a repeat as a new
order: the document does not promise the check). The service's rules live
in :mod:`sandbox.simulators.taximaster.world` (and the city, fleet, tariffs and orders modules
next to it).

Time is simulated: ``now = clock() + advanced`` with a ``clock`` given, otherwise
``start + real elapsed × speed + advanced``. At ``speed=20`` an order placed in the centre has
a crew assigned within seconds and the car at the door within about a minute.

Usage::

    sim = TaxiMasterSimulator(secret="demo-secret", speed=20, seed_demo=True)
    base_url = await sim.start()          # "http://127.0.0.1:PORT"
    ...
    await sim.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from aiohttp import web

from integrations.taximaster.errors import COMMON_ERRORS, lookup
from integrations.taximaster.models import MOSCOW
from integrations.taximaster.requests import REQUESTS, ParamType, RequestSpec
from integrations.taximaster.wire import format_time, parse_time, sign
from sandbox.simulators.taximaster.orders import SimOrder
from sandbox.simulators.taximaster.public_shape import reshape
from sandbox.simulators.taximaster.world import SimError, World

__all__ = ["FaultKind", "TaxiMasterSimulator"]

# timeout: no answer for ``fault_delay`` s; bad_json / html: a garbled answer; drop: the
# connection closes. Before the request is handled, unless ``after=True`` (fail_next): then it
# IS handled (an order is created) and the answer is lost that way. An int: that HTTP status.
# drop_after is drop with after=True.
FaultKind = Literal["timeout", "bad_json", "html", "drop", "drop_after"]
Wire = Literal["document", "public"]

API = "common_api"
VERSION = "1.0"


@dataclass
class _Forced:
    code: int
    data: Any = None


@dataclass(frozen=True)
class _Fault:
    kind: FaultKind | int
    after: bool  # handle the request first, then fail (the answer is lost)


@dataclass
class SeenRequest:
    name: str
    method: str
    params: dict[str, str]
    signature_ok: bool
    headers: dict[str, str] = field(default_factory=dict)


class TaxiMasterSimulator:
    """An in-process TMWeb with a control API for tests and demos."""

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
        self.secret = secret
        self.speed = speed
        self.tz = tz
        self.users = dict(users) if users is not None else None
        self.api_enabled = True
        self.current_orders = current_orders
        self.wire = wire
        self.charset = charset
        self.fault_delay = 5.0
        self.requests: list[SeenRequest] = []
        self.base_url: str | None = None

        self._clock = clock
        self._started_wall = datetime.now(UTC)
        self._started_mono = time.monotonic()
        self._advanced = timedelta(0)
        self._faults: dict[str, deque[_Fault]] = {}
        self._forced: dict[str, deque[_Forced]] = {}
        # hold_next: requests that wait for release() before they are handled
        self._holds: dict[str, int] = {}
        self._released = asyncio.Event()
        self.held = asyncio.Event()  # set when a held request has arrived
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

        self.world = World(tz, fleet_size=fleet_size)
        self.world.duplicate_reveals_order_id = duplicate_reveals_order_id
        self.world.reject_duplicates = reject_duplicates
        assert set(self.world.handlers) == set(REQUESTS), "every known request is served"
        self.app = web.Application()
        self.app.router.add_route("*", "/{api}/{version}/{request}", self._handle)
        if seed_demo:
            self._seed_demo()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        """Serve on ``host:port`` (0 = any free port); ``ssl_context`` makes it HTTPS like a
        real TMWeb. Returns the base URL (the client adds ``/common_api/1.0``)."""
        self._stopping.clear()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        scheme = "https" if ssl_context else "http"
        self.base_url = f"{scheme}://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- simulated time -----------------------------------------------------------------------

    def now(self) -> datetime:
        if self._clock is not None:
            base = self._clock()
            if base.tzinfo is None:
                base = base.replace(tzinfo=UTC)
        else:
            elapsed = (time.monotonic() - self._started_mono) * self.speed
            base = self._started_wall + timedelta(seconds=elapsed)
        return base + self._advanced

    def advance(self, delta: timedelta | float) -> None:
        """Move simulated time forward (a timedelta or seconds); crews dispatch and drive."""
        self._advanced += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self.world.tick(self.now())

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
        self,
        request: str,
        kind: FaultKind | int = "timeout",
        *,
        times: int = 1,
        after: bool = False,
    ) -> None:
        """The next ``times`` calls of ``request`` fail below the API (see :data:`FaultKind`),
        or with an HTTP status ``kind`` (an int). ``after``: the request is handled first (an
        order IS created) and then the answer is lost that way."""
        if request not in REQUESTS:
            raise ValueError(f"unknown TMWeb request {request!r}")
        if kind == "drop_after":
            kind, after = "drop", True
        self._faults.setdefault(request, deque()).extend([_Fault(kind, after)] * times)

    def hold_next(self, request: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``request`` arrive (``held`` is set) and wait, unhandled,
        until :meth:`release`; then they are handled even if the caller has gone meanwhile
        (killed with the request in flight)."""
        self._holds[request] = self._holds.get(request, 0) + times
        self._released.clear()
        self.held.clear()

    def release(self) -> None:
        self._released.set()

    def force_error(self, request: str, code: int, *, data: Any = None, times: int = 1) -> None:
        """The next ``times`` valid calls of ``request`` answer with ``code``."""
        if lookup(request, code) is None:
            raise ValueError(f"{request} has no known code {code}")
        self._forced.setdefault(request, deque()).extend([_Forced(code, data)] * times)

    def calls_of(self, request: str) -> int:
        return sum(1 for seen in self.requests if seen.name == request)

    # --- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["request"]
        raw = request.rel_url.raw_query_string
        if request.method == "POST":
            raw = (await request.read()).decode("utf-8", errors="replace")
        params = dict(parse_qsl(raw, keep_blank_values=True))
        signature = request.headers.get("Signature", "").strip().lower()
        signature_ok = signature == sign(raw, self.secret)
        self.requests.append(
            SeenRequest(name, request.method, params, signature_ok, dict(request.headers))
        )

        faults = self._faults.get(name)
        fault = faults.popleft() if faults else None
        if fault is not None and not fault.after:
            return await self._fault(request, fault.kind)
        if self._holds.get(name):
            self._holds[name] -= 1
            # Handled in a task of its own: a caller that dies meanwhile does not stop it.
            answer = await asyncio.shield(
                asyncio.ensure_future(self._after_release(request, name, params, signature_ok))
            )
        else:
            answer = self._handled(request, name, params, signature_ok)
        if fault is not None:
            return await self._fault(request, fault.kind)
        return answer

    async def _after_release(
        self, request: web.Request, name: str, params: dict[str, str], signature_ok: bool
    ) -> web.Response:
        self.held.set()
        await self._released.wait()
        return self._handled(request, name, params, signature_ok)

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
            forced = self._forced.get(name)
            if not forced:
                return self._envelope(0)
            error = forced.popleft()
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
            forced = self._forced.get(name)
            if forced:
                error = forced.popleft()
                return self._envelope(error.code, error.data, name)
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

    async def _fault(self, request: web.Request, fault: FaultKind | int) -> web.StreamResponse:
        if fault == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.fault_delay)
            return web.Response(status=504, text="Gateway Timeout")
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing more to write: the peer is gone
        if fault == "bad_json":
            return web.Response(text='{"code":0,"descr":"OK","da', content_type="application/json")
        if fault == "html":
            return web.Response(
                text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        status = int(fault)
        return web.Response(
            status=status, text=f"<html><body>{status}</body></html>", content_type="text/html"
        )

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
