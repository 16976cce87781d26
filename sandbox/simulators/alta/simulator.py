"""An Alta «Поиск вагонов» look-alike over real HTTP, for contract tests, e2e tests and the demo.

The HTTP layer lives here: the one URL (``/rail_tracking/api_v2.php``, GET or POST, parameters
merged like PHP's ``$_REQUEST``), the credential check (``login`` + ``sa`` + ``secret``), the
JSON array answers with the status first, Alta's own faults. The service's rules (requests,
schedules, moving wagons, balance, the once-a-minute ``show``) live in
:mod:`sandbox.simulators.alta.world`; the rail lines in :mod:`sandbox.simulators.alta.lines`;
the server, the simulated clock, the request log and the faults below the API in
:mod:`sandbox.simulators.base`.

:meth:`AltaSimulator.advance` jumps ahead in simulated time and produces every report due
meanwhile. Randomness comes from one seeded ``random.Random``.

Usage::

    sim = AltaSimulator(seed_demo=True, speed=60)
    base_url = await sim.start()      # "http://127.0.0.1:PORT/rail_tracking/api_v2.php"
    ...
    await sim.stop()

No access log is written: GET request lines carry ``secret=``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any, Literal, NamedTuple

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
from sandbox.simulators.base import NextCalls, VendorSimulator, php_request_pairs

__all__ = ["PATH", "AltaSimulator"]

PATH = "/rail_tracking/api_v2.php"
# How an answer is lost AFTER the action happened: the connection closes without an answer,
# an HTTP 5xx comes instead, the answer is held back past the client's timeout, or an error
# whose words say nothing ("error") comes instead of the answer.
LostAnswer = Literal["drop", "500", "502", "timeout", "error"]


class Call(NamedTuple):
    """One request as the simulator saw it: the action, the HTTP method, the other parameters
    (no credentials)."""

    name: str
    method: str
    params: dict[str, str]


class AltaSimulator(VendorSimulator[Call]):
    """An in-process Alta service with a control API for tests and demos.

    Besides the faults of :meth:`fail_next`, Alta's own: ``"error"``, an error answer whose
    words explain nothing."""

    CALLS = ACTIONS
    CALL_KIND = "Alta action"
    CUT_SHORT = '[{"status":"ok","de'

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
        super().__init__(clock=clock, speed=speed)
        self.login = login
        self.sa = sa
        self.secret = make_secret(sa, password)
        self._forced: NextCalls[tuple[str, str, str | None]] = NextCalls()
        self._omitted: dict[str, int] = {}  # hash -> track_list answers still to leave it out

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
        self.app.router.add_route("*", PATH, self._handle)
        if seed_demo:
            self._seed_demo()

    def _api_url(self, origin: str) -> str:
        return f"{origin}{PATH}"  # ALTA_BASE_URL

    def _tick(self, now: datetime) -> None:
        """Produce every report due up to ``now``."""
        self.world.tick(now)

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

    calls = VendorSimulator.calls_of

    def lose_answer(self, action: str, how: LostAnswer = "drop", *, times: int = 1) -> None:
        """The next ``times`` calls of ``action`` HAPPEN (an add is saved and billed) and then
        their answer is lost: ``how`` says in what way."""
        self.fail_next(action, how, times=times, after=True)

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
        self._forced.add(action, (reason, detail, descr), times)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params = dict(await php_request_pairs(request))
        action = params.pop("action", "")
        credentials = tuple(params.pop(k, "") for k in ("login", "sa", "secret"))
        return await self._serve(
            request,
            Call(action, request.method, params),
            lambda: self._answer(action, credentials, params),
        )

    def _answer(
        self, action: str, credentials: tuple[str, ...], params: dict[str, str]
    ) -> web.Response:
        now = self.now()
        self.world.tick(now)
        if credentials != (self.login, self.sa, self.secret):
            if action == "test_secret":
                return _json({"status": "error"})
            return _json([_error_head(AUTH)])
        handler = self._handlers.get(action)
        if handler is None:
            return _json([_error_head(UNSUPPORTED_METHOD)])
        if action == "test_secret":
            return _json({"status": "ok"})
        forced = self._forced.pop(action)
        if forced is not None:
            reason, detail, descr = forced
            head = _error_head(reason, detail)
            return _json([head if descr is None else {**head, "descr": descr}])
        try:
            head, body = handler(params, now)
        except SimError as error:
            return _json([_error_head(error.reason, error.detail)])
        if action == "track_list":
            body = [row for row in body if not self._omit(row["hash"])]
        return _json([head, *body])

    def _omit(self, request_hash: str) -> bool:
        left = self._omitted.get(request_hash, 0)
        if left:
            self._omitted[request_hash] = left - 1
        return left > 0

    async def _fail(self, request: web.Request, kind: int | str) -> web.StreamResponse:
        if kind == "error":
            return _json([{"status": "error", "descr": "Внутренняя ошибка сервиса"}])
        return await super()._fail(request, kind)

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
