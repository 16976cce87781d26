"""The rules of the simulated Alta service: requests, schedules, moving wagons, balance.

HTTP lives in :mod:`sandbox.simulators.alta.simulator`; here every action is a method taking the
parsed parameters and the simulated ``now`` and returning ``(head, body)`` or raising
:class:`SimError` with a reason of :data:`integrations.alta.errors.ERRORS`.

* A request (one ``hash``) holds wagons OR containers: ``add`` with both makes two requests.
* Reports are produced at the request's scheduled Moscow times on its days
  (``times[:times_per_day]``), never with data in the first ``first_report_delay`` after
  ``add`` (rows say ``station: "no_data"`` then). At its time a request is queued
  (``status`` 1, ``modify_date`` set to that time), then processed (2), and its report is
  ready ``processing_delay`` later (4; the document: "about a minute") — ``modify_date`` does
  not move again, so a reader that took the change at status 1/2 for the new report misses it.
  Until then ``show`` answers the previous report.
* ``track_list`` answers in the document's shape: the ``comment`` given to ``add`` comes back
  as the request's ``name`` and ``comment`` is null, as in the document's own example
  (``comment_as`` may say "comment" or "nowhere" instead).
* A wagon moves along a real line (:mod:`lines`) at a steady speed; its report names the
  last station passed with the operation there, the destination and the distance left.
* ``stop_station`` yes (or an ESR code): the report that shows the arrival is the wagon's
  last; it is then removed, and a request with nothing left goes off tracking.
* Daily tracking charges per wagon at the first report with data of a Moscow day; a trip is
  charged at ``add``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from integrations.alta.functions import (
    TEST_CONTAINER,
    TEST_CONTAINER_HASH,
    TEST_WAGON,
    TEST_WAGON_HASH,
)
from integrations.alta.models import (
    ADD_TRACK_TYPE,
    MOSCOW_TZ,
    NO_DATA,
    TrackMode,
    format_moscow,
    to_moscow,
)
from integrations.alta.numbers import NumberKind, check_number
from sandbox.simulators.alta.lines import (
    ARRIVAL,
    ARRIVAL_DESTINATION,
    DEPARTURE,
    LINES,
    PASSING,
    Line,
)

Head = dict[str, Any]
Reply = tuple[Head, list[Any]]

PRICE_PER_DAY = {"ru": 45.0, "sng": 120.0}
PRICE_PER_TRIP = {"ru": 450.0, "sng": 1500.0}
TEST_HASHES = frozenset({TEST_WAGON_HASH, TEST_CONTAINER_HASH})


class SimError(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Route:
    """Where a wagon goes: from station index ``origin`` to ``destination`` on ``line``."""

    line: Line
    origin: int
    destination: int
    depart_at: datetime
    speed_kmh: float = 22.0  # ~530 km a day, a brisk freight wagon

    def stations(self) -> list[int]:
        step = 1 if self.destination >= self.origin else -1
        return list(range(self.origin, self.destination + step, step))

    def km_from_origin(self, index: int) -> float:
        return abs(self.line.stations[index].km - self.line.stations[self.origin].km)

    @property
    def total_km(self) -> float:
        return self.km_from_origin(self.destination)

    def report(self, number: str, at: datetime) -> dict[str, Any]:
        """The dislocation row of ``number`` as of ``at``."""
        travelled = max(0.0, (at - self.depart_at).total_seconds() / 3600 * self.speed_kmh)
        path = self.stations()
        last = path[0]
        for index in path:
            if self.km_from_origin(index) <= travelled:
                last = index
        station = self.line.stations[last]
        if last == self.destination:
            operation = ARRIVAL_DESTINATION
        elif last == self.origin:
            operation = DEPARTURE
        else:
            operation = ARRIVAL if path.index(last) % 3 == 0 else PASSING
        passed_at = self.depart_at + timedelta(hours=self.km_from_origin(last) / self.speed_kmh)
        destination = self.line.stations[self.destination]
        return {
            "vagon": number,
            "station": station.esr,
            "station_name": station.name,
            "operation": operation,
            "operation_date": format_moscow(passed_at),
            "dest_station": destination.esr,
            "dest_station_name": destination.name,
            "distance_left": str(round(self.total_km - self.km_from_origin(last))),
            "report_date": format_moscow(at),
        }


@dataclass
class SimRequest:
    hash: str
    kind: NumberKind
    numbers: list[str]
    created_at: datetime
    region: str = "ru"
    mode: TrackMode = TrackMode.DAILY
    stop_station: str = "yes"
    times: list[time] = field(default_factory=lambda: [time(9, 0)])
    days: frozenset[int] = frozenset(range(7))
    comment: str = ""
    emails: str = ""
    name: str = ""
    on_track: bool = True
    modify_at: datetime | None = None
    status: int = 1
    removed: set[str] = field(default_factory=set)
    queued_at: datetime | None = None  # the scheduled report being prepared (status 1/2)
    report: list[dict[str, Any]] | None = None
    charged_days: set[str] = field(default_factory=set)
    last_shown: datetime | None = None

    @property
    def tracked(self) -> list[str]:
        return [n for n in self.numbers if n not in self.removed]


class World:
    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        *,
        sa: str,
        first_report_delay: timedelta,
        balance: float,
        test_numbers_only: bool,
        processing_delay: timedelta = timedelta(minutes=1),
    ) -> None:
        self.rng = rng
        self.sa = sa
        self.first_report_delay = first_report_delay
        self.balance = balance
        self.bonus = 0
        self.test_numbers_only = test_numbers_only
        self.requests: dict[str, SimRequest] = {}
        self.routes: dict[str, Route] = {}
        self.hidden: set[str] = set()  # numbers Alta never finds (no_data forever)
        self.show_interval = timedelta(minutes=1)
        self.processing_delay = processing_delay
        # Where add's comment comes back in track_list: "name" (the document), "comment", or
        # "nowhere" (a service that keeps no comment).
        self.comment_as = "name"
        # The key that names a report row's number ("vagon"); None: rows without a number.
        self.show_number_key: str | None = "vagon"
        self._last_tick = now
        self._counter = 0

    # --- time -----------------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Produce every scheduled report due in (last tick, now]."""
        if now <= self._last_tick:
            return
        start, self._last_tick = self._last_tick, now
        for request in list(self.requests.values()):
            for moment in _scheduled(request, start, now):
                self._finish(request, moment)  # an earlier one still being prepared
                if not request.on_track:
                    break
                request.queued_at, request.modify_at, request.status = moment, moment, 1
            self._finish(request, now)

    def _finish(self, request: SimRequest, now: datetime) -> None:
        """The queued report is ready once ``processing_delay`` has passed (status 4); halfway
        it is being processed (status 2)."""
        queued = request.queued_at
        if queued is None or not request.on_track:
            return
        if now >= queued + self.processing_delay:
            self.produce_report(request, queued + self.processing_delay, modified_at=queued)
        elif now >= queued + self.processing_delay / 2:
            request.status = 2

    def produce_report(
        self, request: SimRequest, at: datetime, *, modified_at: datetime | None = None
    ) -> None:
        rows = []
        with_data = 0
        for number in request.tracked:
            row = self._row(request, number, at)
            rows.append(row)
            if row["station"] == NO_DATA:
                continue
            with_data += 1
            if self._stops_here(request, row):
                request.removed.add(number)
        day = to_moscow(at).date().isoformat()
        if request.mode is TrackMode.DAILY and with_data and day not in request.charged_days:
            request.charged_days.add(day)
            self.balance -= PRICE_PER_DAY[request.region] * with_data
        request.report = rows
        request.modify_at = modified_at or at
        request.queued_at = None
        request.status = 4
        if not request.tracked:
            request.on_track = False

    def _row(self, request: SimRequest, number: str, at: datetime) -> dict[str, Any]:
        route = self.routes.get(number)
        if (
            at < request.created_at + self.first_report_delay
            or number in self.hidden
            or route is None
        ):
            row: dict[str, Any] = {"vagon": number, "station": NO_DATA, "station_name": ""}
        else:
            row = route.report(number, at)
        if self.show_number_key != "vagon":
            named = row.pop("vagon")
            if self.show_number_key is not None:
                row = {self.show_number_key: named, **row}
        return row

    @staticmethod
    def _stops_here(request: SimRequest, row: Mapping[str, Any]) -> bool:
        if request.stop_station == "yes":
            return row["operation"] == ARRIVAL_DESTINATION
        return request.stop_station not in ("", "no") and row["station"] == request.stop_station

    # --- building ---------------------------------------------------------------------------------

    def new_hash(self, numbers: list[str]) -> str:
        self._counter += 1
        return hashlib.md5(f"{self.sa}:{self._counter}:{','.join(numbers)}".encode()).hexdigest()

    def random_route(self, now: datetime) -> Route:
        line = self.rng.choice(list(LINES.values()))
        last = len(line.stations) - 1
        if self.rng.random() < 0.5:
            origin, destination = self.rng.randint(0, last // 3), last
        else:
            origin, destination = self.rng.randint(last - last // 3, last), 0
        return Route(line, origin, destination, now, speed_kmh=self.rng.uniform(16, 28))

    def put(self, request: SimRequest) -> SimRequest:
        self.requests[request.hash] = request
        return request

    # --- actions ----------------------------------------------------------------------------------

    def add(self, params: Mapping[str, str], now: datetime) -> Reply:
        for name in ("wagons", "state", "track_state", "track_type", "stop_station", "days"):
            if not params.get(name, "").strip():
                raise SimError("missing_argument", name)
        if not params.get("times", "").strip() and not params.get("times_per_day", "").strip():
            raise SimError("missing_argument", "times")
        numbers = [n.strip().upper() for n in params["wagons"].split(",") if n.strip()]
        kinds = {n: check_number(n) for n in numbers}
        if not numbers or any(not isinstance(k, NumberKind) for k in kinds.values()):
            raise SimError("invalid_numbers")
        if self.test_numbers_only and set(numbers) - {TEST_WAGON, TEST_CONTAINER}:
            raise SimError("test_numbers_only")
        region, mode, stop, times, days = self._settings(params)
        wagons = [n for n in numbers if kinds[n] is NumberKind.WAGON]
        containers = [n for n in numbers if kinds[n] is NumberKind.CONTAINER]
        if mode is TrackMode.TRIP:
            cost = PRICE_PER_TRIP[region] * len(numbers)
            if cost > self.balance:
                raise SimError("no_money")
            self.balance -= cost
        head: Head = {"status": "ok", "descr": "Запрос успешно сохранен"}
        for key, group, kind in (
            ("hash", wagons, NumberKind.WAGON),
            ("cont_hash", containers, NumberKind.CONTAINER),
        ):
            if not group:
                continue
            request_hash = self.hash_for(group)
            for number in group:
                self.routes.setdefault(number, self.random_route(now))
            self.put(
                SimRequest(
                    request_hash,
                    kind,
                    group,
                    now,
                    region=region,
                    mode=mode,
                    stop_station=stop,
                    times=times,
                    days=days,
                    comment=params.get("comment", ""),
                    emails=params.get("emails", ""),
                    modify_at=now,
                )
            )
            head[key] = request_hash
        return head, []

    def hash_for(self, group: list[str]) -> str:
        if group == [TEST_WAGON]:
            return TEST_WAGON_HASH
        if group == [TEST_CONTAINER]:
            return TEST_CONTAINER_HASH
        return self.new_hash(group)

    def _settings(
        self, params: Mapping[str, str]
    ) -> tuple[str, TrackMode, str, list[time], frozenset[int]]:
        region = params["track_state"].strip().lower()
        state = params["state"].strip()
        if (region, state) not in (("ru", "20"), ("sng", "22")):
            raise SimError("invalid_argument", "state/track_state")
        modes = {str(code): mode for mode, code in ADD_TRACK_TYPE.items()}
        mode = modes.get(params["track_type"].strip())
        if mode is None:
            raise SimError("invalid_argument", "track_type")
        stop = params["stop_station"].strip().lower()
        if stop not in ("yes", "no") and not (stop.isdigit() and len(stop) == 5):
            raise SimError("invalid_argument", "stop_station")
        try:
            times = [
                time.fromisoformat(t.strip().zfill(5))
                for t in params.get("times", "").split(",")
                if t.strip()
            ] or [time(9, 0), time(13, 0), time(18, 0)]
            per_day = int(params.get("times_per_day") or len(times))
            days = frozenset(int(d) for d in params["days"].split(",") if d.strip())
        except ValueError:
            raise SimError("invalid_argument", "times/days") from None
        if not 1 <= per_day <= 3 or len(times) > 3 or not days or not days <= set(range(7)):
            raise SimError("invalid_argument", "times/days")
        return region, mode, stop, sorted(times)[:per_day], days

    def show(self, params: Mapping[str, str], now: datetime) -> Reply:
        request = self._request(params)
        if request.last_shown is not None and now - request.last_shown < self.show_interval:
            raise SimError("too_frequent")
        request.last_shown = now
        rows = request.report
        if rows is None:
            rows = [self._row(request, n, request.created_at) for n in request.tracked]
        head: Head = {"status": "ok", "descr": "Отчет о дислокации", "hash": request.hash}
        return head, list(rows)

    def cancel_track(self, params: Mapping[str, str], now: datetime) -> Reply:
        request = self._request(params)
        numbers = [n.strip().upper() for n in params.get("wagons", "").split(",") if n.strip()]
        if set(numbers) - set(request.tracked):
            raise SimError("invalid_numbers")
        # The document: for the test data cancel answers "success" but nothing changes.
        if request.hash not in TEST_HASHES:
            request.removed.update(numbers or request.tracked)
            request.modify_at = now
            request.on_track = bool(request.tracked)
        return {"status": "ok", "descr": "Слежение успешно снято"}, []

    def track_list(self) -> Reply:
        rows = [
            {
                "name": self._name(r),
                "comment": (r.comment or None) if self.comment_as == "comment" else None,
                "vagon_count": str(len(r.tracked)),
                "email": r.emails,
                "phone": "",
                "hash": r.hash,
                "modify_date": format_moscow(r.modify_at or r.created_at),
                "on_track": "1" if r.on_track else "0",
                # track_list numbers the types its own way: 1 permanent (daily), 2 trip.
                "track_type": "1" if r.mode is TrackMode.DAILY else "2",
                "state": "20" if r.region == "ru" else "22",
                "track_state": r.region,
                "status": r.status,
                "type": "group",
            }
            for r in self.requests.values()
        ]
        return {"status": "ok"}, rows

    def _name(self, request: SimRequest) -> str:
        if request.name:
            return request.name
        if request.comment and self.comment_as == "name":
            return request.comment
        return f"Слежение {list(self.requests).index(request.hash) + 1}"

    def carr_list(self, params: Mapping[str, str]) -> Reply:
        request = self._request(params)
        group_id = int(request.hash[:6], 16)
        return {"status": "ok"}, [{"group_id": group_id, "carrs": request.tracked}]

    def balance_info(self) -> Reply:
        head = {
            "status": "ok",
            "descr": f"Ваш баланс: {self.balance:.2f} руб. / Бонусы {self.bonus}",
            "balans": f"{self.balance:.2f}",
            "bonus": self.bonus,
            "sa": self.sa,
        }
        return head, []

    def _request(self, params: Mapping[str, str]) -> SimRequest:
        request_hash = params.get("hash", "").strip()
        if not request_hash:
            raise SimError("missing_argument", "hash")
        request = self.requests.get(request_hash)
        if request is None:
            raise SimError("request_not_found")
        return request


def _scheduled(request: SimRequest, start: datetime, end: datetime) -> Iterator[datetime]:
    """The request's report moments in (start, end], in order (Moscow times and weekdays)."""
    day = to_moscow(start).date()
    last_day = to_moscow(end).date()
    while day <= last_day:
        alta_weekday = (day.weekday() + 1) % 7  # Alta: 0 = Sunday … 6 = Saturday
        if alta_weekday in request.days:
            for moment in request.times:
                at = datetime.combine(day, moment, tzinfo=MOSCOW_TZ)
                if start < at <= end:
                    yield at
        day += timedelta(days=1)
