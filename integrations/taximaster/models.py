"""Pydantic models of TMWeb answers, tolerant of the usual habits.

Numbers may come as strings (``"12"``, ``"1,5"``), strings as numbers (a crew ``code`` of
``123``), booleans as ``"true"``/``1``, missing values as ``""`` or ``null``; unknown fields
are ignored. The document's wrong types are not trusted: ``source_lon`` is a float,
``production_year`` a year, a driver ``name`` a string.

What real servers send beyond the document (seen in a public client that talks to them) is
read where it helps and never required: ``is_active`` on tariffs, ``0`` for "no crew / driver
/ car yet", a driver's ``phones`` list beside the old ``mobile_phone``, an order's phone and
addresses in ``get_order_state``, and the newer ``get_current_orders`` (:class:`CurrentOrder`).

Times (ГГГГММДДччммсс) are read in the dispatch service's zone, passed as
``context={"tz": ZoneInfo}`` to ``model_validate``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from integrations.taximaster.wire import parse_time

MOSCOW = ZoneInfo("Europe/Moscow")


def _blank_to_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _number(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return value.strip().replace(",", ".")
    return value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _flag(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "да")
    return value


def _year(value: Any) -> Any:
    """``production_year`` is "true или false" in the document but a year in its example."""
    value = _blank_to_none(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return int(value) if value.strip().isdigit() else None
    return value


Int = Annotated[int, BeforeValidator(_number)]
OptInt = Annotated[int | None, BeforeValidator(_number)]
Float = Annotated[float, BeforeValidator(_number)]
OptFloat = Annotated[float | None, BeforeValidator(_number)]
Text = Annotated[str, BeforeValidator(_text)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]


class _Model(BaseModel):
    # Built at the first answer, not at import: a bot without Taxi-Master never builds them.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Envelope(_Model):
    """``{"code": N, "descr": "...", "data": {...}}``: every TMWeb answer."""

    code: Int
    descr: Text = ""
    data: Any = None


def _zero_is_none(value: int | None) -> int | None:
    """TMWeb answers 0 for an id that is not there yet (no crew, driver or car assigned)."""
    return value or None


OptId = Annotated[int | None, BeforeValidator(_number), AfterValidator(_zero_is_none)]


class NamedItem(_Model):
    """A crew group, an UDS service or a tariff."""

    id: Int
    name: Text = ""


class Tariff(NamedItem):
    """A tariff. Servers newer than the document say ``is_active``; a switched-off tariff is
    never priced with. Without the flag (the document's shape) every tariff counts as active."""

    is_active: Flag = None

    @property
    def active(self) -> bool:
        return self.is_active is not False


class PricedItem(_Model):
    """A service or a discount: an absolute sum in roubles and/or a percent of the order."""

    id: Int
    name: Text = ""
    sum: OptFloat = None
    percent: OptFloat = None


class CreatedOrder(_Model):
    order_id: Int


class CostLine(_Model):
    comment: Text = ""
    sum: Text = ""  # "Строка" in the document


class OrderCost(_Model):
    sum: Float
    info: list[CostLine] = Field(default_factory=list)

    @field_validator("info", mode="before")
    @classmethod
    def _listish(cls, value: Any) -> Any:
        return _as_list(value)


class CrewInfo(_Model):
    crew_id: Int
    code: Text = ""  # the crew's call sign (позывной экипажа)
    name: Text = ""
    driver_id: OptId = None
    car_id: OptId = None
    crew_group_id: OptId = None


class PhoneEntry(_Model):
    phone: Text = ""
    is_default: Flag = None


class DriverInfo(_Model):
    driver_id: Int
    name: Text = ""
    birthday: date | None = None
    car_id: OptInt = None
    license: Text = ""
    home_phone: Text = ""
    mobile_phone: Text = ""
    is_locked: Flag = None
    is_dismissed: Flag = None
    driver_photo: str | None = None  # Base64, only with need_photo=true
    # Newer servers: every phone of the driver (``mobile_phone`` is "устаревшее поле" there)
    phones: list[PhoneEntry] = Field(default_factory=list)

    @field_validator("phones", mode="before")
    @classmethod
    def _phone_list(cls, value: Any) -> Any:
        return _as_list(value)

    @property
    def phone(self) -> str:
        """The phone to call the driver on: ``mobile_phone``, else the default one listed."""
        if self.mobile_phone.strip():
            return self.mobile_phone.strip()
        listed = sorted(self.phones, key=lambda p: not p.is_default)
        return next((p.phone.strip() for p in listed if p.phone.strip()), "")

    @field_validator("birthday", mode="before")
    @classmethod
    def _ddmmyyyy(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if isinstance(value, str):
            try:
                return datetime.strptime(value.strip(), "%d.%m.%Y").date()
            except ValueError:
                return None
        return value


class CarInfo(_Model):
    car_id: Int
    name: Text = ""
    code: Text = ""
    gos_number: Text = ""  # the plate
    color: Text = ""
    mark: Text = ""
    model: Text = ""  # in the example, not in the table
    short_name: Text = ""
    production_year: Annotated[int | None, BeforeValidator(_year)] = None
    car_photo: str | None = None  # Base64, only with need_photo=true


class CrewStateKind(StrEnum):
    NOT_AVAILABLE = "not_available"
    WAITING = "waiting"
    ON_ORDER = "on_order"
    ON_BREAK = "on_break"


class CrewCoords(_Model):
    crew_id: Int
    crew_code: Text = ""
    coords_time: datetime | None = None
    # The document swaps the descriptions; the values are latitude and longitude.
    lat: OptFloat = None
    lon: OptFloat = None
    state_kind: Text = ""  # a CrewStateKind value; kept as text so a new kind does not break

    @field_validator("coords_time", mode="before")
    @classmethod
    def _tm_time(cls, value: Any, info: ValidationInfo) -> Any:
        return _tm_time(value, info)

    @property
    def has_fix(self) -> bool:
        return self.lat is not None and self.lon is not None and (self.lat, self.lon) != (0, 0)


class AddressKind(StrEnum):
    STREET = "street"
    HOUSE = "house"
    POINT = "point"


class Address(_Model):
    street: Text = ""
    house: Text = ""
    kind: Text = ""  # an AddressKind value
    comment: Text = ""

    @property
    def text(self) -> str:
        """ "Street, house" as TMWeb takes it in ``source``/``dest``."""
        return f"{self.street}, {self.house}" if self.house else self.street


class RouteAnalysis(_Model):
    source_lat: OptFloat = None
    source_lon: OptFloat = None  # "Целое" in the document: a float really
    source_zone_id: OptInt = None
    dest_lat: OptFloat = None
    dest_lon: OptFloat = None
    dest_zone_id: OptInt = None
    city_dist: Float = 0.0
    country_dist: Float = 0.0
    source_country_dist: Float = 0.0

    @field_validator("city_dist", "country_dist", "source_country_dist", mode="before")
    @classmethod
    def _zero_if_blank(cls, value: Any) -> Any:
        return 0.0 if _blank_to_none(value) is None else value


class OrderStateKind(StrEnum):
    NEW_ORDER = "new_order"
    DRIVER_ASSIGNED = "driver_assigned"
    CAR_AT_PLACE = "car_at_place"
    CLIENT_INSIDE = "client_inside"
    FINISHED = "finished"
    ABORTED = "aborted"


FINAL_STATES = frozenset({OrderStateKind.FINISHED, OrderStateKind.ABORTED})


class OrderState(_Model):
    order_id: Int
    state_id: OptInt = None
    state_kind: Text = ""  # an OrderStateKind value; a dispatch service may have others
    crew_id: OptId = None  # 0 (or null) before a crew is assigned
    driver_id: OptId = None
    car_id: OptId = None
    # Not in the document; newer servers add them (empty when they do not)
    phone: Text = ""
    source: Text = ""
    destination: Text = ""
    source_time: datetime | None = None

    @field_validator("source_time", mode="before")
    @classmethod
    def _tm_time(cls, value: Any, info: ValidationInfo) -> Any:
        return _tm_time(value, info)

    @property
    def is_final(self) -> bool:
        return self.state_kind in FINAL_STATES


class CurrentOrder(_Model):
    """One order of ``get_current_orders`` (newer TMWeb; not in the document): its state as
    ``get_order_state`` gives it, plus what identifies it — phone, addresses, times."""

    id: Int
    state_id: OptInt = None
    state_kind: Text = ""
    crew_id: OptId = None
    driver_id: OptId = None
    car_id: OptId = None
    phone: Text = ""
    source: Text = ""
    destination: Text = ""
    source_time: datetime | None = None  # the pickup time
    start_time: datetime | None = None  # when the order was created
    creation_way: Text = ""  # "common_api" for orders made through this API

    @field_validator("source_time", "start_time", mode="before")
    @classmethod
    def _tm_time(cls, value: Any, info: ValidationInfo) -> Any:
        return _tm_time(value, info)

    @property
    def state(self) -> OrderState:
        """As ``get_order_state`` would answer for this order."""
        return OrderState.model_validate({**self.model_dump(exclude={"id"}), "order_id": self.id})


def _tm_time(value: Any, info: ValidationInfo) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        tz = (info.context or {}).get("tz", MOSCOW)
        return parse_time(value, tz)
    return value


def _as_list(value: Any) -> Any:
    if value in (None, "", {}):
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value
