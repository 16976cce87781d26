"""Alta's answers as typed models, tolerant of string/number/null habits.

Every answer but ``test_secret`` is a JSON array: the first element is the status head
(``status``, ``descr``, optional ``hash``/``cont_hash``/``balans``…), the rest is the body.

``track_type`` means different things on the way in and on the way out (a documented trap):
``add`` takes 2 = daily, 3 = trip; ``track_list`` reports 1 = permanent (daily), 2 = trip.
:class:`TrackMode` is the one meaning the bot deals with; :data:`ADD_TRACK_TYPE` and
:data:`LISTED_TRACK_TYPE` are the two wire numberings.

``show``'s body is undocumented beyond ``station`` (ESR code, ``"no_data"`` before the first
report) and ``station_name``. :meth:`Dislocation.from_raw` reads the usual names of the other
facts (operation, dates, destination, distance left) under several spellings and keeps the
raw row, so an unexpected shape loses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _moscow() -> tzinfo:
    try:
        return ZoneInfo("Europe/Moscow")
    except ZoneInfoNotFoundError:  # no tz database: Moscow is UTC+3 all year since 2014
        return timezone(timedelta(hours=3), "MSK")


MOSCOW_TZ: Final[tzinfo] = _moscow()
NO_DATA: Final = "no_data"

_DATE_FORMATS: Final = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%y %H:%M",
)


def to_moscow(moment: datetime) -> datetime:
    """An aware datetime in Moscow time; a naive one is taken to be Moscow time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=MOSCOW_TZ)
    return moment.astimezone(MOSCOW_TZ)


def format_moscow(moment: datetime) -> str:
    """``dd.mm.yyyy hh:mm`` in Moscow time (the form of ``modify_date``)."""
    return to_moscow(moment).strftime("%d.%m.%Y %H:%M")


def parse_alta_date(value: Any) -> datetime | None:
    """``29.07.2021 21:52`` (Moscow), with or without seconds, ISO 8601, or a unix time."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return to_moscow(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, MOSCOW_TZ) if value > 0 else None
    text = str(value).strip()
    if not text or text.lower() in ("null", NO_DATA, "0"):
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), MOSCOW_TZ)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=MOSCOW_TZ)
        except ValueError:
            continue
    try:
        return to_moscow(datetime.fromisoformat(text))
    except ValueError:
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = re.search(r"-?\d+(?:[.,]\d+)?", str(value).replace("\u00a0", "").replace(" ", ""))
    return float(match.group().replace(",", ".")) if match else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _flag(value: Any) -> bool:
    return _text(value).lower() in ("1", "true", "yes", "да")


Text = Annotated[str, BeforeValidator(_text)]
OptFloat = Annotated[float | None, BeforeValidator(_float)]
OptInt = Annotated[int | None, BeforeValidator(_int)]
Flag = Annotated[bool, BeforeValidator(_flag)]
AltaDate = Annotated[datetime | None, BeforeValidator(parse_alta_date)]


# --- request settings ---------------------------------------------------------------------------


class Region(StrEnum):
    """``track_state``; each has its ``state`` code (20 Russia, 22 CIS/Baltics/Mongolia/China)."""

    RU = "ru"
    SNG = "sng"

    @property
    def state(self) -> str:
        return "20" if self is Region.RU else "22"


class TrackMode(StrEnum):
    DAILY = "daily"  # charged per wagon per day, at the first report of the day
    TRIP = "trip"  # charged once for the whole route, at add


ADD_TRACK_TYPE: Final[Mapping[TrackMode, int]] = {TrackMode.DAILY: 2, TrackMode.TRIP: 3}
LISTED_TRACK_TYPE: Final[Mapping[int, TrackMode]] = {1: TrackMode.DAILY, 2: TrackMode.TRIP}


# Every model here is built at the first answer, not at import (``defer_build``): a bot without
# Alta never builds them.
LAZY = ConfigDict(defer_build=True)


class Envelope(BaseModel):
    """An answer split into its status head and body."""

    model_config = LAZY

    head: dict[str, Any]
    body: list[Any]

    @property
    def descr(self) -> str:
        return _text(self.head.get("descr"))


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class AddResult(_Tolerant):
    """``hash`` for the wagons of an add, ``cont_hash`` for its containers (each if present)."""

    descr: Text = ""
    hash: Text = ""
    cont_hash: Text = ""

    @property
    def hashes(self) -> list[str]:
        return [h for h in (self.hash, self.cont_hash) if h]


class Ack(_Tolerant):
    descr: Text = ""


class TrackRequest(_Tolerant):
    """One row of ``track_list``."""

    hash: Text
    name: Text = ""
    comment: Text = ""
    vagon_count: OptInt = None
    email: Text = ""
    phone: Text = ""
    modify_date_raw: Text = Field("", alias="modify_date")
    on_track: Flag = True
    track_type: OptInt = None
    state: Text = ""
    track_state: Text = ""
    status: OptInt = None
    type: Text = ""

    @property
    def modify_date(self) -> datetime | None:
        return parse_alta_date(self.modify_date_raw)

    @property
    def mode(self) -> TrackMode | None:
        """The tracking mode from track_list's OWN numbering (1 permanent, 2 trip)."""
        return LISTED_TRACK_TYPE.get(self.track_type) if self.track_type is not None else None

    @property
    def processed(self) -> bool:
        return self.status in (3, 4)

    @property
    def report_ready(self) -> bool:
        """Whether the report there now is the latest: status 3/4 (done). 1 (queued) and 2
        (processing) mean a new one is on its way; an answer without a status is taken as
        it stands."""
        return self.status is None or self.processed


class CarrList(_Tolerant):
    group_id: Text = ""
    carrs: list[str] = Field(default_factory=list)


class Balance(_Tolerant):
    descr: Text = ""
    balans: OptFloat = None
    bonus: OptFloat = None
    sa: Text = ""

    @property
    def rubles(self) -> float | None:
        return self.balans


# --- show ---------------------------------------------------------------------------------------

# Names a report field goes by, most likely first. Only station/station_name are confirmed.
_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "number": (
        "vagon",
        "wagon",
        "carr",
        "number",
        "num",
        "nomer",
        "vagon_number",
        "container",
        "cont",
        "carr_number",
    ),
    "station": ("station", "station_code", "st_code", "esr", "station_esr"),
    "station_name": ("station_name", "st_name", "station_title", "stationname"),
    "operation": ("operation", "operation_name", "oper", "oper_name", "operation_descr"),
    "operation_at": (
        "operation_date",
        "oper_date",
        "date_oper",
        "operation_time",
        "date",
        "datetime",
    ),
    "destination": (
        "dest_station",
        "station_dest",
        "destination",
        "dest_station_code",
        "st_dest",
        "destination_code",
    ),
    "destination_name": (
        "dest_station_name",
        "station_dest_name",
        "destination_name",
        "dest_name",
        "st_dest_name",
    ),
    "distance_left_km": (
        "distance_left",
        "rest_distance",
        "distance_rest",
        "rest_km",
        "distance",
        "dist_left",
        "km_left",
    ),
    "report_at": ("report_date", "date_report", "update_date", "created", "modify_date"),
    "on_track": ("on_track",),
}


def _pick(raw: Mapping[str, Any], field: str) -> Any:
    lowered = {str(k).lower(): v for k, v in raw.items()}
    for name in _ALIASES[field]:
        if name in lowered and lowered[name] not in (None, ""):
            return lowered[name]
    return None


def esr5(code: str) -> str:
    """A station code compared by its 5-digit ESR (a 6th digit is a check digit)."""
    digits = code.strip()
    return digits[:5] if len(digits) == 6 and digits.isdigit() else digits


class Dislocation(BaseModel):
    """The last known place of one wagon or container (one row of ``show``)."""

    model_config = LAZY

    number: str = ""
    station: str = ""  # ESR code; "" when there is no data yet
    station_name: str = ""
    operation: str = ""
    operation_at: datetime | None = None
    destination: str = ""
    destination_name: str = ""
    distance_left_km: float | None = None
    report_at: datetime | None = None
    on_track: bool | None = None
    no_data: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Dislocation:
        station = _text(_pick(raw, "station"))
        no_data = station.lower() == NO_DATA or not station
        on_track = _pick(raw, "on_track")
        return cls(
            number=_text(_pick(raw, "number")).upper(),
            station="" if no_data else station,
            station_name="" if no_data else _text(_pick(raw, "station_name")),
            operation=_text(_pick(raw, "operation")),
            operation_at=parse_alta_date(_pick(raw, "operation_at")),
            destination=_text(_pick(raw, "destination")),
            destination_name=_text(_pick(raw, "destination_name")),
            distance_left_km=_float(_pick(raw, "distance_left_km")),
            report_at=parse_alta_date(_pick(raw, "report_at")),
            on_track=None if on_track is None else _flag(on_track),
            no_data=no_data,
            raw=dict(raw),
        )

    @property
    def arrived_at_destination(self) -> bool:
        return bool(self.station and self.destination) and esr5(self.station) == esr5(
            self.destination
        )


class ShowResult(BaseModel):
    """The latest report of one request. ``no_data``: no report yet (not an error)."""

    model_config = LAZY

    hash: str
    descr: str = ""
    reports: list[Dislocation] = Field(default_factory=list)
    raw: list[Any] = Field(default_factory=list)

    @property
    def no_data(self) -> bool:
        return all(report.no_data for report in self.reports)

    def by_number(self) -> dict[str, Dislocation]:
        return {report.number: report for report in self.reports if report.number}


def show_rows(body: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The report rows of a ``show`` body, whatever its nesting: a list of rows, rows under
    ``data``/``report``/``carrs``, or one object keyed by number."""
    rows: list[Mapping[str, Any]] = []
    for item in body:
        if isinstance(item, list):
            rows += show_rows(item)
        elif isinstance(item, Mapping):
            nested = next(
                (item[k] for k in ("data", "report", "reports", "rows", "items") if k in item),
                None,
            )
            if isinstance(nested, list | dict):
                rows += show_rows(nested if isinstance(nested, list) else [nested])
            elif _pick(item, "station") is not None or _pick(item, "number") is not None:
                rows.append(item)
            elif item and all(isinstance(v, Mapping) for v in item.values()):
                rows += [{"vagon": key, **value} for key, value in item.items()]
        elif isinstance(item, str) and item.strip().lower() == NO_DATA:
            rows.append({"station": NO_DATA})
    return rows
