"""Pydantic models of Movizor's answers, and the one input model (:class:`RoutePoint`).

Movizor's JSON is loose: a number may come as ``25`` or ``"25"``, an absent value as ``null``,
``""``, ``0`` or ``"0"``, an empty object as ``[]`` (PHP's empty array), metadata values
HTML-escaped (``&quot;``). The annotated types below absorb all of that once, so every model
can simply declare what a field *means*:

* coordinates, distances, prices → ``float``; counts and radii → ``int``;
* unix times → timezone-aware UTC ``datetime`` (``0``/``""`` → ``None``);
* local ``dd.mm.yyyy hh:mm`` strings → aware ``datetime`` in Moscow time (Movizor's zone);
* statuses and event types → ``StrEnum`` members when known, the raw string otherwise, so a
  new value from Movizor never breaks parsing.

Models keep fields they do not declare (``extra="allow"``, see ``model_extra``): Movizor adds
fields without notice (``on_parking``, ``timestamp_add``, ``timestamp_request``…), and keeping
them costs nothing while making them visible in logs and debugging.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _moscow() -> tzinfo:
    try:
        return ZoneInfo("Europe/Moscow")
    except ZoneInfoNotFoundError:  # no tz database: Moscow has been UTC+3 all year since 2014
        return timezone(timedelta(hours=3), "MSK")


MOSCOW_TZ: Final[tzinfo] = _moscow()

LOCAL_MINUTES_FORMAT: Final = "%d.%m.%Y %H:%M"
LOCAL_SECONDS_FORMAT: Final = "%d.%m.%Y %H:%M:%S"


def to_moscow(moment: datetime) -> datetime:
    """An aware datetime in Moscow time; a naive one is taken to be Moscow time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=MOSCOW_TZ)
    return moment.astimezone(MOSCOW_TZ)


def format_moscow(moment: datetime, *, seconds: bool = False) -> str:
    """``dd.mm.yyyy hh:mm[:ss]`` in Moscow time, the form Movizor's date parameters take."""
    return to_moscow(moment).strftime(LOCAL_SECONDS_FORMAT if seconds else LOCAL_MINUTES_FORMAT)


def parse_moscow(text: str) -> datetime:
    """Parse ``dd.mm.yyyy hh:mm`` (seconds optional) as Moscow time."""
    text = text.strip()
    fmt = LOCAL_SECONDS_FORMAT if text.count(":") == 2 else LOCAL_MINUTES_FORMAT
    return datetime.strptime(text, fmt).replace(tzinfo=MOSCOW_TZ)


# --- tolerant field types -----------------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("", "null"):
        return None
    return value


def _to_int(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value  # let pydantic report it
        return int(number) if number.is_integer() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_str(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _to_opt_str(value: Any) -> Any:
    value = _to_str(value)
    return value if value != "" else None


def _place(value: Any) -> Any:
    """Movizor's ``place`` without the parts it repeats: "Москва, Москва, Россия" (a city that is
    also its region) -> "Москва, Россия"."""
    value = _to_opt_str(value)
    if not isinstance(value, str):
        return value
    parts: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if part and part.casefold() not in {p.casefold() for p in parts}:
            parts.append(part)
    return ", ".join(parts) or None


def _to_bool(value: Any) -> Any:
    value = _blank_to_none(value)
    return False if value is None else value


def _unix_time(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None or isinstance(value, datetime):
        return value
    seconds = float(value)  # "1404452131", 1404452131 and 1.4e9 alike
    return None if seconds <= 0 else datetime.fromtimestamp(seconds, UTC)


def _local_time(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return parse_moscow(value)
    return value


def _metadata(value: Any) -> Any:
    """PHP sends an empty object as ``[]``; values come HTML-escaped and not always as text."""
    if value in (None, "", []):
        return {}
    if isinstance(value, list):
        value = {str(index): item for index, item in enumerate(value)}
    if isinstance(value, dict):
        return {
            html.unescape(str(key)): html.unescape("" if item is None else str(item))
            for key, item in value.items()
        }
    return value


def _php_list(value: Any) -> Any:
    """A list that PHP may send as ``null``, ``""`` or an object keyed "0", "1", …"""
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value


OptFloat = Annotated[float | None, BeforeValidator(_blank_to_none)]
Int = Annotated[int, BeforeValidator(_to_int)]
OptInt = Annotated[int | None, BeforeValidator(_to_int)]
Text = Annotated[str, BeforeValidator(_to_str)]
OptText = Annotated[str | None, BeforeValidator(_to_opt_str)]
Place = Annotated[str | None, BeforeValidator(_place)]
PlaceText = Annotated[str, BeforeValidator(lambda value: _place(value) or "")]
Flag = Annotated[bool, BeforeValidator(_to_bool)]
OptFlag = Annotated[bool | None, BeforeValidator(_blank_to_none)]
UnixTime = Annotated[datetime | None, BeforeValidator(_unix_time)]
MoscowTime = Annotated[datetime | None, BeforeValidator(_local_time)]
Metadata = Annotated[dict[str, str], BeforeValidator(_metadata)]


class ObjectStatus(StrEnum):
    """Status of a tracked phone (``object_get``/``object_list``)."""

    NEW = "new"  # Новый
    WAIT = "wait"  # Ожидание подтверждения
    OK = "ok"  # Подтвержден и доступен для мониторинга
    ERROR = "error"  # Оператор не поддерживается
    REJECTED = "rejected"  # Абонент отказался от мониторинга
    OFF = "off"  # Отключен от мониторинга
    OFF_NEW = "off_new"  # В процессе отключения от мониторинга
    ERROR_EXISTS = "error_exists"  # Номер отслеживается другой компанией у оператора
    # Not in the document, seen in public clients' recorded answers:
    NO_CONFIRMED = "no_confirmed"  # Абонент не подтвердил подключение
    WRONG = "wrong"  # Оператор не поддерживается
    LIMITED = "limited"  # У абонента ограничение на подключение к услуге


class Forecast(StrEnum):
    """Arrival forecast; ``new``/``finished`` only appear per route point."""

    OK = "ok"  # успевает
    LATE = "late"  # опаздывает
    NEW = "new"  # прогноза ещё нет
    FINISHED = "finished"  # точка пройдена


class EventType(StrEnum):
    """The event types of ``events``, exactly as the document names them."""

    ADD = "add"
    AUTO_OFF = "auto_off"
    OFF = "off"
    CONFIRM = "confirm"
    REJECT = "reject"
    REQUEST = "request"
    REQUEST_ERROR = "request_error"
    REQUEST_OFFLINE = "request_offline"
    REQUEST_ROAMING = "request_roaming"
    REACTIVATE = "reactivate"
    TARIFF_AUTO = "tariff_auto"
    POS_OK = "pos_ok"
    POS_LATE = "pos_late"
    POS_FINISHED = "pos_finished"
    AUTOINFORM = "autoinform"
    NO_CONFIRM = "no_confirm"
    LIMIT = "limit"
    ONROUTE = "onroute"
    RETURNROUTE = "returnroute"
    LEFTROUTE = "leftroute"
    NOTROUTE = "notroute"
    ONPARKING = "onparking"
    OFFPARKING = "offparking"
    MSTART = "mstart"
    MSTOP = "mstop"


# Known values become enum members, anything new stays a plain string.
StatusField = Annotated[ObjectStatus | str, Field(union_mode="left_to_right")]
ForecastField = Annotated[
    Forecast | str | None, Field(union_mode="left_to_right"), BeforeValidator(_blank_to_none)
]
EventTypeField = Annotated[EventType | str, Field(union_mode="left_to_right")]


class MovizorModel(BaseModel):
    """Base of all answer models: keep unknown fields, accept field names or aliases; built at
    the first answer, not at import (a bot without Movizor never builds them)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Envelope(MovizorModel):
    """The frame of every answer: ``result`` is ``success`` or ``error``; ``data`` varies."""

    result: Text
    code: Text = ""
    message: Text = ""
    data: Any = None
    error_code: OptText = None
    error_text: OptText = None
    error_text_ru: OptText = None


class Ack(MovizorModel):
    """A write that returns no data: ``code`` is ``OK``, ``DISABLED`` or ``DELETED``."""

    code: Text = ""
    message: Text = ""


class DeleteResult(Ack):
    """``object_delete``: the first call switches a tracked phone off, the second deletes it."""

    @property
    def disabled(self) -> bool:
        return self.code.upper() == "DISABLED"

    @property
    def deleted(self) -> bool:
        return self.code.upper() == "DELETED"


class Tariff(MovizorModel):
    """One tariff of one operator, from ``balance``: daily fee, price of one request, title."""

    abon: OptFloat = None
    request: OptFloat = None
    title: Text = ""


class Balance(MovizorModel):
    """``balance``: money left, credit, and tariffs as operator → tariff id → :class:`Tariff`."""

    balance: float
    credit: OptFloat = None
    type: OptText = None
    tariffs: dict[str, dict[str, Tariff]] = Field(default_factory=dict, alias="tariff")

    @field_validator("tariffs", mode="before")
    @classmethod
    def _tariff_tables(cls, value: Any) -> Any:
        # PHP arrays: per operator either {"0": {...}, "15": {...}} or a plain list [{...}].
        if value in (None, "", []):
            return {}
        if isinstance(value, dict):
            return {
                operator: (
                    {str(index): item for index, item in enumerate(table)}
                    if isinstance(table, list)
                    else table
                )
                for operator, table in value.items()
            }
        return value


class RoutePointInfo(MovizorModel):
    """A route point as ``object_get`` returns it (undocumented, seen in real answers)."""

    text: Text = ""
    lat: OptFloat = None
    lon: OptFloat = None
    planned_at: MoscowTime = Field(default=None, alias="time")
    status: ForecastField = None


class ObjectInfo(MovizorModel):
    """``object_get``: everything about one tracked phone."""

    phone: Text
    status: StatusField
    confirmed: Flag = False
    title: Text = ""
    tariff: OptText = None
    tariff_new: OptText = None
    last_timestamp: UnixTime = None
    at_request: Flag = False
    current_lat: OptFloat = None
    current_lon: OptFloat = None
    place: Place = None
    distance: OptFloat = None
    distance_forecast_time: OptFloat = None
    distance_forecast_status: ForecastField = None
    offline_time: UnixTime = None
    pos_error: Flag = False
    timestamp_off: UnixTime = None
    metadata: Metadata = Field(default_factory=dict)
    # Undocumented, seen in real answers:
    on_parking: OptFlag = None
    destination: Annotated[list[RoutePointInfo], BeforeValidator(_php_list)] = Field(
        default_factory=list
    )
    timestamp_add: UnixTime = None

    @property
    def is_tracking(self) -> bool:
        return self.status == ObjectStatus.OK

    @property
    def is_late(self) -> bool:
        return self.distance_forecast_status == Forecast.LATE


class ObjectListItem(MovizorModel):
    """One row of ``object_list``."""

    phone: Text
    status: StatusField


class Position(MovizorModel):
    """A located position (``pos_last``, ``pos_get``, rows of ``pos_list``).

    ``distance`` is km left to the route's end point, ``distance_forecast_time`` hours left,
    ``distance_forecast_status`` ``ok``/``late``; all three are ``None`` without a route.
    """

    lat: OptFloat = None
    lon: OptFloat = None
    timestamp: UnixTime = None
    radius: OptInt = None
    distance: OptFloat = None
    distance_forecast_time: OptFloat = None
    distance_forecast_status: ForecastField = None
    place: Place = None

    @property
    def has_fix(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def eta(self) -> timedelta | None:
        hours = self.distance_forecast_time
        return None if hours is None else timedelta(hours=hours)

    @property
    def is_late(self) -> bool:
        return self.distance_forecast_status == Forecast.LATE


class ObjectPosition(Position):
    """A row of ``pos_objects``: the position of one phone of the account."""

    phone: Text


class PosRequestTicket(MovizorModel):
    """``pos_request``: poll ``pos_get(request_id)`` for the result.

    ``already_processing`` is true when Movizor answered ``WAIT``: an earlier request for the
    phone is still running and ``request_id`` is that request's id.
    """

    request_id: Text
    already_processing: bool = False


class DistanceSearchResult(MovizorModel):
    """A row of ``distance_search``: a place found for the query."""

    lat: float
    lon: float
    title: PlaceText = ""


class Operator(MovizorModel):
    """``get_operator``: operator id (``mts``, ``megafon``…), its name and the home region."""

    operator: Text
    title: Text = ""
    region: OptText = None


_TAG_RE = re.compile(r"<[^>]*>")


class TariffCalculation(MovizorModel):
    """``tariff_calculator``: ``type`` is ``daily``, ``package`` or ``month``."""

    type: Text
    price: float
    description: Text = ""

    @property
    def description_text(self) -> str:
        """The description without the HTML Movizor puts in it."""
        return html.unescape(_TAG_RE.sub("", self.description))


class Event(MovizorModel):
    """A row of ``events``.

    The document lists id, timestamp, phone and type; ``text``, ``title``, ``lat`` and ``lon``
    are optional extras, filled when an answer carries them.
    """

    id: Int
    timestamp: UnixTime = None
    phone: Text = ""
    type: EventTypeField
    text: OptText = None
    title: OptText = None
    lat: OptFloat = None
    lon: OptFloat = None

    @property
    def known(self) -> bool:
        return isinstance(self.type, EventType)


class ShareLink(MovizorModel):
    """A row of ``share_list``: a map link given to a client."""

    id: Text
    timestamp: UnixTime = None
    key: Text
    link: Text = ""
    cnt: OptInt = None
    req_limit: OptInt = None
    req_cnt: OptInt = None
    timestamp_off: UnixTime = None
    client: Text = ""
    comments: Text = ""
    email: Text = ""


class ShareCreated(MovizorModel):
    """``share_add``: the new link's key and how many objects it shows."""

    key: Text
    objects_count: OptInt = None


class RoutePoint(BaseModel):
    """A route point to send with ``object_add``/``object_edit`` (``destination[i]``).

    ``planned_at`` is the planned arrival; naive datetimes are taken as Moscow time.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    text: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    planned_at: datetime | None = None

    def to_form(self) -> dict[str, str]:
        """The ``destination[i]`` fields: ``text``, ``coord`` = "lat,lon", ``time``."""
        fields = {"text": self.text, "coord": f"{self.lat:.6f},{self.lon:.6f}"}
        if self.planned_at is not None:
            fields["time"] = format_moscow(self.planned_at)
        return fields
