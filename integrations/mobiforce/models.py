"""Pydantic models of Mobiforce's answers.

Mobiforce's JSON is loose, and the document more so: ids come as ``828`` or ``"828"``, unknown
ids as ``"0"`` or ``"NULL"``, times as ISO 8601 with ``Z`` (tasks), bare ISO (what we send,
Moscow time), ``"2022-11-26 00:45:06"`` (the change feed) or unix seconds as text
(``"createdAt": "1636723472"``); the feed names a task ``taskId`` in one example and
``objectId`` in the other. The annotated types below absorb all of that once.

``get-task`` documents no executor, client, address or status, but a real account "may return
more fields than documented": :class:`Task` reads them when present (by the names create-task
takes) and keeps every other field (``extra="allow"``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _moscow() -> tzinfo:
    try:
        return ZoneInfo("Europe/Moscow")
    except ZoneInfoNotFoundError:  # no tz database: Moscow has been UTC+3 all year since 2014
        return timezone(timedelta(hours=3), "MSK")


# The document's create-task sample sends 15:00 and its get-task sample answers 12:00Z: times
# without a zone are Moscow time.
MOSCOW_TZ: Final[tzinfo] = _moscow()
PHOTO_FIELD_TYPE: Final = "6"  # the checklist sample "Фото накладной" has type 6, value 0


def to_wire_time(moment: datetime) -> str:
    """``2021-01-01T15:00:00`` in Moscow time, the form create-task takes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MOSCOW_TZ)
    return moment.astimezone(MOSCOW_TZ).strftime("%Y-%m-%dT%H:%M:%S")


# --- tolerant field types -----------------------------------------------------------------------

_NULLS = ("", "null", "none")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _NULLS:
        return None
    return value


def _to_int(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.0+)?", text):
            return int(float(text))
        return value  # let pydantic report it
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_id(value: Any) -> Any:
    """An id, or None for the PHP habits of "no id": ``0``, ``"0"``, ``"NULL"``, ``{}``."""
    if isinstance(value, dict):
        value = value.get("id")
    value = _to_int(value)
    return None if value in (0, None) else value


def _to_str(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _to_bool(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    if isinstance(value, int | float):
        return bool(value)
    return False if value is None else value


def _to_float(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    return value


_RUSSIAN_TIME = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_time(value: Any) -> datetime | None:
    """Every time form Mobiforce uses -> an aware datetime (``None`` for blanks and zeros).
    A text in no known form raises ``ValueError``."""
    value = _blank_to_none(value)
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=MOSCOW_TZ)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
        return None if seconds <= 0 else datetime.fromtimestamp(seconds, UTC)
    if text.startswith(("0000-00-00", "00.00.0000")):
        return None
    russian = _RUSSIAN_TIME.fullmatch(text)
    if russian:  # ДД.ММ.ГГГГ ЧЧ:ММ[:СС], Moscow time
        day, month, year, hour, minute, second = (int(part or 0) for part in russian.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=MOSCOW_TZ)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    return moment if moment.tzinfo else moment.replace(tzinfo=MOSCOW_TZ)


def _list(value: Any) -> Any:
    """A list PHP may send as ``null``, ``""``, one object, or an object keyed "0", "1", …"""
    if value in (None, "", {}):
        return []
    if isinstance(value, dict):
        keys = list(value)
        if keys and all(str(key).isdigit() for key in keys):
            return list(value.values())
        return [value]
    return value


Int = Annotated[int, BeforeValidator(_to_int)]
OptInt = Annotated[int | None, BeforeValidator(_to_int)]
Id = Annotated[int | None, BeforeValidator(_to_id)]
Text = Annotated[str, BeforeValidator(_to_str)]
Flag = Annotated[bool, BeforeValidator(_to_bool)]
OptFlag = Annotated[bool | None, BeforeValidator(_blank_to_none)]
OptFloat = Annotated[float | None, BeforeValidator(_to_float)]
Time = Annotated[datetime | None, BeforeValidator(parse_time)]


class _Model(BaseModel):
    # Built at the first answer, not at import: a bot without Mobiforce never builds them.
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


def _ref_or_none(value: Any) -> Any:
    """``{"id": "0"}``, ``"0"``, ``"NULL"`` and ``[]`` mean "none"; a bare id becomes a ref."""
    value = _blank_to_none(value)
    if value in (None, [], {}):
        return None
    if isinstance(value, str | int):
        return None if _to_id(value) is None else {"id": value}
    if isinstance(value, dict) and _to_id(value.get("id")) is None and not value.get("name"):
        return None
    return value


class Ref(_Model):
    """``{"id": …, "name": …}``: a template, an executor, a client, a status…"""

    id: Id = None
    name: Text = ""


OptRef = Annotated[Ref | None, BeforeValidator(_ref_or_none)]


def _bare_id(value: Any) -> Any:
    if isinstance(value, int | str):
        return {"id": value}
    if isinstance(value, list) and len(value) == 1:
        return _bare_id(value[0])
    return value


class Created(_Model):
    """The answer of a write: ``{"id": 111}``; a bare id is accepted too."""

    id: Int

    @model_validator(mode="before")
    @classmethod
    def _bare_id(cls, value: Any) -> Any:
        return _bare_id(value)


class ListItem(_Model):
    """One row of a ``get-…-list`` page: tasks (name = number), templates, fields, equipment."""

    id: Int
    name: Text = ""


class ContractorListItem(ListItem):
    parent_name: Text = Field("", alias="parentName")
    parent_id: Id = Field(None, alias="parentId")


class Employee(ListItem):
    operator_role: Flag = Field(False, alias="operatorRole")
    mobile_role: Flag = Field(False, alias="mobileRole")
    # Not documented; present when the account returns it (the simulator does).
    phone: Text = ""


class FieldType(_Model):
    id: Text = ""
    name: Text = ""


class FieldRef(_Model):
    id: Id = None
    type: FieldType | None = None


class TaskItem(_Model):
    """One additional field of a task (``props``) or of its report (``checklist``)."""

    id: Int
    name: Text = ""
    parent: Id = None
    value: Any = None
    visible_to_mobile: OptFlag = Field(None, alias="visibleToMobile")
    required: Flag = False
    field: FieldRef = Field(default_factory=FieldRef)

    @property
    def field_id(self) -> int | None:
        return self.field.id

    @property
    def is_photo(self) -> bool:
        return self.field.type is not None and self.field.type.id == PHOTO_FIELD_TYPE

    @property
    def is_filled(self) -> bool:
        if self.is_photo:
            return photo_count(self.value) > 0
        return self.value not in (None, "", [], {}, False)


def photo_count(value: Any) -> int:
    """A photo field's value: a count (``0``), a list of photos, or one photo."""
    if isinstance(value, list):
        return len(value)
    number = _to_int(value)
    if isinstance(number, int) and not isinstance(number, bool):
        return max(number, 0)
    return 0 if value in (None, "", {}) else 1


class Task(_Model):
    """``get-task``. ``name`` is the task's human-facing number ("1111")."""

    id: Int
    name: Text = ""
    created_at: Time = Field(None, alias="createdAt")
    planned_start: Time = Field(None, alias="plannedVisitTime")
    planned_end: Time = Field(None, alias="plannedEndVisitTime")
    draft: Flag = False
    template: OptRef = None
    props: Annotated[list[TaskItem], BeforeValidator(_list)] = Field(default_factory=list)
    checklist: Annotated[list[TaskItem], BeforeValidator(_list)] = Field(default_factory=list)
    # Undocumented in get-task, read when present (create-task's names):
    employee: OptRef = None
    contractor: OptRef = None
    address: Text = ""
    status: OptRef = None
    closed_at: Time = Field(None, validation_alias=AliasChoices("closedAt", "closed_at"))
    result_status: OptRef = Field(
        None, validation_alias=AliasChoices("resultStatus", "result_status")
    )
    results_description: Text = Field(
        "", validation_alias=AliasChoices("resultsDescription", "results_description")
    )
    closed_flag: OptFlag = Field(None, validation_alias=AliasChoices("closed", "isClosed"))

    @model_validator(mode="before")
    @classmethod
    def _status_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            value = {**value, "status": {"name": value["status"]}}
        return value

    @property
    def number(self) -> str:
        return self.name or str(self.id)

    def carries(self, name: str) -> bool:
        """Whether the answer had the field ``name`` at all (``null`` included): a field a real
        account may add, which the document's get-task does not show."""
        return name in self.model_fields_set

    @property
    def closing_known(self) -> bool:
        """Whether this answer can tell an open task from a closed one (get-task documents no
        status; an account that sends one, or the closing time, can)."""
        return any(
            self.carries(name) for name in ("status", "closed_at", "result_status", "closed_flag")
        )

    @property
    def closed(self) -> bool:
        """Closed if any field a real account may send says so (get-task documents none)."""
        if self.closed_flag is not None:
            return self.closed_flag
        return self.closed_at is not None or self.result_status is not None


class TaskUpdateEvent(_Model):
    """A row of the legacy ``get-taskupdates``: sequence ``id`` and the task's ``task_id``."""

    id: Int
    task_id: Int = Field(validation_alias=AliasChoices("task_id", "taskId"))


class Update(_Model):
    """A row of ``get-updates``: the object (``taskId`` or ``objectId``), its usn, its time."""

    usn: Int
    object_id: Int = Field(validation_alias=AliasChoices("taskId", "objectId", "id", "object_id"))
    time: Time = None


class PhoneParent(_Model):
    id: Id = None
    type: Text = ""


class Phone(_Model):
    id: Int
    name: Text = ""
    deleted: Flag = False
    contractor_person: Id = Field(None, alias="contractorPerson")
    created_at: Time = Field(None, alias="createdAt")
    parent: PhoneParent | None = None


class _Address(_Model):
    address: Text = ""
    address_porch: Text = Field("", alias="addressPorch")
    address_floor: Text = Field("", alias="addressFloor")
    address_room: Text = Field("", alias="addressRoom")
    address_info: Text = Field("", alias="addressInfo")
    lat: OptFloat = None
    lon: OptFloat = None


class Contractor(_Address):
    """``get-contractor`` / ``get-contractor-by-external-id``: a client (or an object)."""

    id: Int
    name: Text = ""
    external_id: Text = Field("", alias="externalId")
    created_at: Time = Field(None, alias="createdAt")
    favourites: Flag = False
    author: OptRef = None
    parent: Id = None
    employee: Id = None
    equipment_counter: OptInt = Field(None, alias="equipmentCounter")
    subdivision_counter: OptInt = Field(None, alias="subdivisionCounter")
    phone: Annotated[list[Phone], BeforeValidator(_list)] = Field(default_factory=list)

    @property
    def phones(self) -> list[str]:
        return [p.name for p in self.phone if not p.deleted and p.name]


class ContractorPerson(_Model):
    id: Int
    name: Text = ""
    contractor: OptRef = None
    job_position: Text = Field("", alias="jobposition")
    deleted: Flag = False
    phone: Annotated[list[Phone], BeforeValidator(_list)] = Field(default_factory=list)


class ValueListItem(_Model):
    id: Id = None
    name: Text = ""
    deleted: Flag = False


class TemplateField(_Model):
    """``get-template-field``: a field that templates and tasks use."""

    id: Int
    name: Text = ""
    type: FieldType = Field(default_factory=FieldType)
    value_list: Annotated[list[ValueListItem], BeforeValidator(_list)] = Field(
        default_factory=list, alias="valueList"
    )


class TemplateItem(_Model):
    id: OptInt = None
    name: Text = ""
    visible_to_mobile: OptFlag = Field(None, alias="visibleToMobile")
    required: Flag = False
    field: FieldRef = Field(default_factory=FieldRef)


class Template(_Model):
    """``get-template``: a task template with its fields and the visit duration."""

    id: Int
    name: Text = ""
    color: Text = ""
    created_at: Time = Field(None, alias="createdAt")
    visit: OptRef = None
    visit_duration: OptInt = Field(None, alias="visitDuration")  # seconds
    props: Annotated[list[TemplateItem], BeforeValidator(_list)] = Field(default_factory=list)
    checklist: Annotated[list[TemplateItem], BeforeValidator(_list)] = Field(default_factory=list)

    @property
    def duration(self) -> timedelta | None:
        return timedelta(seconds=self.visit_duration) if self.visit_duration else None

    @property
    def required_props(self) -> list[TemplateItem]:
        """The fields a dispatcher must fill when creating a task from this template."""
        return [item for item in self.props if item.required]


class EquipmentModelInfo(_Model):
    id: Id = None
    name: Text = ""
    manufacture: dict[str, Any] | None = None
    type: dict[str, Any] | None = None


class Equipment(_Model):
    """``get-equipment``."""

    id: Int
    name: Text = ""
    created_at: Time = Field(None, alias="createdAt")
    author: OptRef = None
    employee: Id = None
    external_id: Text = Field("", alias="externalId")
    inventory_number: Text = Field("", alias="inventoryNumber")
    description: Text = ""
    contractor: OptRef = None
    equipment_model: EquipmentModelInfo | None = Field(None, alias="equipmentModel")
    equipment_field_values: Annotated[list[Any], BeforeValidator(_list)] = Field(
        default_factory=list, alias="equipmentFieldValues"
    )
