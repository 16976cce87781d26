"""An Alta «Поиск вагонов» look-alike over real HTTP, for contract tests, e2e tests and the demo.

The HTTP layer lives here: the one URL (``/rail_tracking/api_v2.php``, GET or POST, parameters
merged like PHP's ``$_REQUEST``), the credential check (``login`` + ``sa`` + ``secret``), the
JSON array answers with the status first, fault injection. The service's rules (requests,
schedules, moving wagons, balance, the once-a-minute ``show``) live in
:mod:`sandbox.simulators.alta.world`; the rail lines in :mod:`sandbox.simulators.alta.lines`.

Time is simulated: ``now = clock() + advanced`` with a ``clock`` given, otherwise
``start + real elapsed × speed + advanced``. :meth:`AltaSimulator.advance` jumps ahead and
produces every report due meanwhile. Randomness comes from one seeded ``random.Random``.

Usage::

    sim = AltaSimulator(seed_demo=True, speed=60)
    base_url = await sim.start()      # "http://127.0.0.1:PORT/rail_tracking/api_v2.php"
    ...
    await sim.stop()

No access log is written: GET request lines carry ``secret=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, Literal

from aiohttp import web

from integrations.alta.client import make_secret
from integrations.alta.errors import AUTH, ERRORS, UNSUPPORTED_METHOD
from integrations.alta.functions import (
    ACTIONS,
    TEST_CONTAINER,
    TEST_LOGIN,
    TEST_PASSWORD,
    TEST_SA,
    TEST_WAGON,
)
from integrations.alta.models import TrackMode
from integrations.alta.numbers import NumberKind, check_number
from sandbox.simulators.alta.lines import LINES
from sandbox.simulators.alta.world import Reply, Route, SimError, SimRequest, World

__all__ = ["PATH", "AltaSimulator", "FaultKind"]

PATH = "/rail_tracking/api_v2.php"
FaultKind = Literal["timeout", "bad_json", "html", "error"]
# How an answer is lost AFTER the action happened: the connection closes without an answer,
# an HTTP 5xx comes instead, the answer is held back past the client's timeout, or an error
# whose words say nothing ("error") comes instead of the answer.
LostAnswer = Literal["drop", "500", "502", "timeout", "error"]


class AltaSimulator:
    """An in-process Alta service with a control API for tests and demos."""

    def __init__(
        self,
        login: str = TEST_LOGIN,
        sa: str = TEST_SA,
        password: str = TEST_PASSWORD,
        *,
        clock: Callable[[], datetime] | None = None,
        speed: float = 1.0,
        seed_demo: bool = False,
        seed: int = 0,
        first_report_delay: timedelta = timedelta(hours=2),
        balance: float = 10_000.0,
        test_numbers_only: bool = False,
        processing_delay: timedelta = timedelta(minutes=1),
    ) -> None:
        self.login = login
        self.sa = sa
        self.secret = make_secret(sa, password)
        self.speed = speed
        self.fault_delay = 5.0  # seconds a "timeout" fault holds the answer back
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (action, method, params)
        self.base_url: str | None = None

        self._clock = clock
        self._started_wall = datetime.now(UTC)
        self._started_mono = time.monotonic()
        self._advanced = timedelta(0)
        self._faults: dict[str, deque[int | FaultKind]] = {}
        self._forced: dict[str, deque[tuple[str, str, str | None]]] = {}
        self._lost: dict[str, deque[LostAnswer]] = {}
        self._omitted: dict[str, int] = {}  # hash -> track_list answers still to leave it out
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

        self.rng = random.Random(seed)
        self.world = World(
            self.rng,
            self.now(),
            sa=sa,
            first_report_delay=first_report_delay,
            balance=balance,
            test_numbers_only=test_numbers_only,
            processing_delay=processing_delay,
        )
        self._handlers: dict[str, Callable[[dict[str, str], datetime], Reply]] = {
            "test_secret": lambda p, t: ({"status": "ok"}, []),
            "add": self.world.add,
            "show": self.world.show,
            "cancel_track": self.world.cancel_track,
            "track_list": lambda p, t: self.world.track_list(),
            "carr_list": lambda p, t: self.world.carr_list(p),
            "balance": lambda p, t: self.world.balance_info(),
        }
        assert set(self._handlers) == set(ACTIONS), "every documented action is served"
        self.app = web.Application()
        self.app.router.add_route("*", PATH, self._handle)
        if seed_demo:
            self._seed_demo()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); return the API URL (``ALTA_BASE_URL``)."""
        self._stopping.clear()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}{PATH}"
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- simulated time -----------------------------------------------------------------------

    def now(self) -> datetime:
        if self._clock is not None:
            base = self._clock()
            base = base if base.tzinfo else base.replace(tzinfo=UTC)
        else:
            elapsed = (time.monotonic() - self._started_mono) * self.speed
            base = self._started_wall + timedelta(seconds=elapsed)
        return base + self._advanced

    def advance(self, delta: timedelta | float) -> None:
        """Move simulated time forward (a timedelta or seconds); due reports are produced."""
        self._advanced += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self.world.tick(self.now())

    # --- control API --------------------------------------------------------------------------

    def put_on_track(
        self,
        numbers: Sequence[str],
        *,
        line: str = "moscow_ekaterinburg",
        origin: str | None = None,
        destination: str | None = None,
        departed_ago: timedelta = timedelta(0),
        speed_kmh: float = 22.0,
        added_ago: timedelta = timedelta(0),
        mode: TrackMode = TrackMode.DAILY,
        stop_station: str = "yes",
        times: Iterable[str] = ("09:00", "13:00", "18:00"),
        days: Iterable[int] = range(7),
        region: str = "ru",
        comment: str = "",
        report_now: bool = False,
    ) -> str:
        """Put numbers (all wagons or all containers) on tracking, as if added by ``add``
        ``added_ago``; each travels ``line`` from ``origin`` to ``destination`` (ESR code or
        name; default the whole line), having left ``departed_ago``. Returns the hash.
        ``report_now`` produces a report at once (with data if ``added_ago`` is long enough)."""
        now = self.now()
        self.world.tick(now)
        kinds = {check_number(n) for n in numbers}
        if len(kinds) != 1 or not isinstance(kind := kinds.pop(), NumberKind):
            raise ValueError("give valid numbers of one kind (wagons or containers)")
        rail = LINES[line]
        start = rail.station(origin) if origin else 0
        end = rail.station(destination) if destination else len(rail.stations) - 1
        for number in numbers:
            self.world.routes[number] = Route(rail, start, end, now - departed_ago, speed_kmh)
        created = now - added_ago
        request = self.world.put(
            SimRequest(
                self.world.hash_for(list(numbers)),
                kind,
                list(numbers),
                created,
                region=region,
                mode=mode,
                stop_station=stop_station,
                times=sorted(dtime.fromisoformat(t) for t in times),
                days=frozenset(days),
                comment=comment,
                modify_at=created,
            )
        )
        if report_now:
            self.world.produce_report(request, now)
        return request.hash

    def plan_route(
        self,
        number: str,
        *,
        line: str = "moscow_ekaterinburg",
        origin: str | None = None,
        destination: str | None = None,
        departed_ago: timedelta = timedelta(0),
        speed_kmh: float = 22.0,
    ) -> None:
        """Decide where ``number`` travels before it is added through the API."""
        rail = LINES[line]
        start = rail.station(origin) if origin else 0
        end = rail.station(destination) if destination else len(rail.stations) - 1
        self.world.routes[number] = Route(rail, start, end, self.now() - departed_ago, speed_kmh)

    def report_now(self, request_hash: str | None = None) -> None:
        """Produce a report now (for one request or all on tracking), off schedule."""
        now = self.now()
        self.world.tick(now)
        for request in self.world.requests.values():
            if request.on_track and request_hash in (None, request.hash):
                self.world.produce_report(request, now)

    def hide(self, number: str) -> None:
        """Alta never finds ``number``: its rows stay ``no_data``."""
        self.world.hidden.add(number)

    def request(self, request_hash: str) -> SimRequest:
        return self.world.requests[request_hash]

    def hash_of(self, number: str) -> str:
        """The request tracking ``number`` now (else the last one that held it)."""
        requests = list(self.world.requests.values())
        for request in reversed(requests):
            if number in request.tracked:
                return request.hash
        for request in reversed(requests):
            if number in request.numbers:
                return request.hash
        raise KeyError(number)

    @property
    def balance(self) -> float:
        return self.world.balance

    def set_balance(self, balance: float) -> None:
        self.world.balance = balance

    def calls(self, action: str) -> int:
        return sum(1 for name, _, _ in self.requests if name == action)

    def fail_next(self, action: str, fault: int | FaultKind = 500, *, times: int = 1) -> None:
        """The next ``times`` calls of ``action`` fail without happening: an HTTP status, a
        ``"timeout"`` (no answer for ``fault_delay`` s), ``"bad_json"``, an ``"html"`` page or
        an ``"error"`` whose words explain nothing."""
        if action not in ACTIONS:
            raise ValueError(f"unknown Alta action {action!r}")
        self._faults.setdefault(action, deque()).extend([fault] * times)

    def lose_answer(self, action: str, how: LostAnswer = "drop", *, times: int = 1) -> None:
        """The next ``times`` calls of ``action`` HAPPEN (an add is saved and billed) and then
        their answer is lost: ``how`` says in what way."""
        if action not in ACTIONS:
            raise ValueError(f"unknown Alta action {action!r}")
        self._lost.setdefault(action, deque()).extend([how] * times)

    def omit_from_track_list(self, request_hash: str, *, times: int = 1) -> None:
        """The next ``times`` ``track_list`` answers leave this request out (it still exists)."""
        self._omitted[request_hash] = times

    def force_error(
        self,
        action: str,
        reason: str,
        *,
        times: int = 1,
        detail: str = "",
        descr: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``action`` answer with the error ``reason`` of ERRORS
        (its words, then ``detail`` after a colon); ``descr`` puts other words in Alta's mouth
        instead (an error the client does not know)."""
        if reason not in ERRORS:
            raise ValueError(f"unknown error reason {reason!r}")
        self._forced.setdefault(action, deque()).extend([(reason, detail, descr)] * times)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params = {k: v for k, v in request.query.items()}
        if request.method == "POST":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        action = params.pop("action", "")
        login, sa, secret = (params.pop(k, "") for k in ("login", "sa", "secret"))
        self.requests.append((action, request.method, params))

        faults = self._faults.get(action)
        if faults:
            return await self._fault(faults.popleft())
        now = self.now()
        self.world.tick(now)
        if (login, sa, secret) != (self.login, self.sa, self.secret):
            if action == "test_secret":
                return _json({"status": "error"})
            return _json([_error_head(AUTH)])
        handler = self._handlers.get(action)
        if handler is None:
            return _json([_error_head(UNSUPPORTED_METHOD)])
        if action == "test_secret":
            return _json({"status": "ok"})
        forced = self._forced.get(action)
        if forced:
            reason, detail, descr = forced.popleft()
            head = _error_head(reason, detail)
            return _json([head if descr is None else {**head, "descr": descr}])
        try:
            head, body = handler(params, now)
        except SimError as error:
            return _json([_error_head(error.reason, error.detail)])
        if action == "track_list":
            body = [row for row in body if not self._omit(row["hash"])]
        lost = self._lost.get(action)
        if lost:
            return await self._lose(request, lost.popleft())
        return _json([head, *body])

    def _omit(self, request_hash: str) -> bool:
        left = self._omitted.get(request_hash, 0)
        if left:
            self._omitted[request_hash] = left - 1
        return left > 0

    async def _lose(self, request: web.Request, how: LostAnswer) -> web.StreamResponse:
        if how == "drop":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp's way to end a handler without an answer
        if how == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.fault_delay)
            return web.Response(status=504, text="Gateway Timeout")
        if how == "error":
            return _json([{"status": "error", "descr": "Внутренняя ошибка сервиса"}])
        return web.Response(status=int(how), text=f"<html><body>{how}</body></html>")

    async def _fault(self, fault: int | FaultKind) -> web.StreamResponse:
        if fault == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.fault_delay)
            return web.Response(status=504, text="Gateway Timeout")
        if fault == "bad_json":
            return web.Response(text='[{"status":"ok","de', content_type="application/json")
        if fault == "html":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", status=200)
        if fault == "error":
            return _json([{"status": "error", "descr": "Внутренняя ошибка сервиса"}])
        return web.Response(status=int(fault), text=f"<html><body>{fault}</body></html>")

    # --- demo ---------------------------------------------------------------------------------

    def _seed_demo(self) -> None:
        """Requests with wagons already on the way along real lines; the documented test
        numbers too, so ``/wagon 54676515`` answers in the demo."""
        hour = timedelta(hours=1)
        self.put_on_track(
            [TEST_WAGON], line="novorossiysk_moscow", departed_ago=20 * hour,
            added_ago=30 * hour, comment="первое слежение", report_now=True,
        )  # fmt: skip
        self.put_on_track(
            [TEST_CONTAINER], line="spb_moscow", departed_ago=6 * hour, added_ago=8 * hour,
            stop_station="no", comment="первое слежение (конт)", report_now=True,
        )  # fmt: skip
        plans = [
            (["52345675", "52345683", "52345691"], "moscow_ekaterinburg", 30, "Трубы, Урал"),
            (["60123452", "60123460"], "novorossiysk_moscow", 10, "Зерно на экспорт"),
            (["24680134"], "spb_moscow", 4, "Запчасти"),
            (["TGHU1234567", "MSKU7654328"], "novorossiysk_moscow", 40, "Контейнеры из порта"),
        ]
        for numbers, line, hours_on_way, comment in plans:
            self.put_on_track(
                numbers,
                line=line,
                departed_ago=hours_on_way * hour,
                added_ago=(hours_on_way + 3) * hour,
                comment=comment,
                report_now=True,
            )


def _error_head(reason: str, detail: str = "") -> dict[str, Any]:
    spec = ERRORS[reason]
    descr = f"{spec.descr}: {detail}" if detail else spec.descr
    return {"status": "error", "descr": descr, "code": spec.code}


def _json(body: Mapping[str, Any] | list[Any]) -> web.Response:
    # PHP's json_encode escapes non-ASCII as \uXXXX.
    return web.Response(text=json.dumps(body), content_type="application/json")
