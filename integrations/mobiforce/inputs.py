"""What the client sends: small dataclasses that build the document's JSON bodies exactly.

The document's samples are not always valid JSON (trailing commas, ``"phone":["name":…}]``,
a template ``checklist`` shown as one object where ``get-template`` answers a list); these
builders send what the samples evidently mean: valid JSON, ids as numbers, coordinates and
address parts as strings, times as ``YYYY-MM-DDTHH:MM:SS`` in Moscow time. Optional fields
left as ``None`` are not sent at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

from integrations.mobiforce.models import to_wire_time

Json = dict[str, Any]

# A number field's value: below this in size, at most this many decimal places.
MAX_NUMBER: Final = Decimal(10) ** 12
MAX_DECIMALS: Final = 6
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def parse_number(text: str) -> int | float:
    """A number field's value as people type it («1 200», «99,5», «-3») -> the number to send.
    ``ValueError`` for anything else: words, «inf», «nan», «1e308», a size of 10¹² or more,
    more than six decimal places."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        raise ValueError(f"not a number: {text[:40]!r}")
    value = Decimal(cleaned)
    exponent = value.as_tuple().exponent
    if abs(value) >= MAX_NUMBER or (isinstance(exponent, int) and -exponent > MAX_DECIMALS):
        raise ValueError(f"not a sensible number: {text[:40]!r}")
    return int(value) if value == value.to_integral_value() else float(value)


def _finite(value: Any) -> Any:
    """JSON has no Infinity or NaN: such a value is refused before anything is sent."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a field value must be a finite number, not {value}")
    return value


def _ref(value: int | None) -> Json | None:
    return None if value is None else {"id": int(value)}


def _coord(value: float | None) -> str | None:
    return None if value is None else f"{value:.6f}"


def _compact(body: Mapping[str, Any]) -> Json:
    return {key: value for key, value in body.items() if value is not None}


@dataclass
class Address:
    """An address as tasks and contractors take it (lat/lon optional: Mobiforce geocodes)."""

    text: str
    porch: str | None = None
    floor: str | None = None
    room: str | None = None
    info: str | None = None
    lat: float | None = None
    lon: float | None = None

    def to_wire(self, *, snake: bool = False) -> Json:
        names = (
            ("address_porch", "address_floor", "address_room", "address_info")
            if snake
            else ("addressPorch", "addressFloor", "addressRoom", "addressInfo")
        )
        return _compact(
            {
                "address": self.text,
                names[0]: self.porch,
                names[1]: self.floor,
                names[2]: self.room,
                names[3]: self.info,
                "lat": _coord(self.lat),
                "lon": _coord(self.lon),
            }
        )


@dataclass
class TaskInput:
    """create-task / update-task. ``draft=False`` with an ``employee_id`` sends the task to
    that mobile employee at once. ``props`` maps a template field id to its value."""

    template_id: int
    contractor_id: int | None = None
    employee_id: int | None = None
    draft: bool = True
    number: str | None = None
    address: Address | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    verification_required: bool | None = None
    props: Mapping[int, Any] = field(default_factory=dict)

    def to_wire(self) -> Json:
        body: Json = {
            "number": self.number,
            "template": _ref(self.template_id),
            "employee": _ref(self.employee_id),
            "contractor": _ref(self.contractor_id),
            "draft": self.draft,
        }
        if self.address is not None:
            body.update(self.address.to_wire())
        body["verificationRequired"] = self.verification_required
        body["plannedVisitTime"] = to_wire_time(self.planned_start) if self.planned_start else None
        body["plannedEndVisitTime"] = to_wire_time(self.planned_end) if self.planned_end else None
        if self.props:
            body["props"] = [
                {"field": {"id": int(field_id)}, "value": _finite(value)}
                for field_id, value in self.props.items()
            ]
        return _compact(body)


@dataclass
class TaskFieldAddition:
    """One row of add-template-fields-to-task: ``to`` "checklist" goes into the employee's
    report, "props" into the task's data."""

    field_id: int
    to: Literal["props", "checklist"] = "props"
    parent_id: int | None = None
    position: int | None = None
    value: Any = None

    def to_wire(self) -> Json:
        return _compact(
            {
                "to": self.to,
                "field": {"id": int(self.field_id)},
                "parent": _ref(self.parent_id),
                "position": self.position,
                "value": self.value,
            }
        )


@dataclass
class PersonInput:
    """A contact person: create-contractor-person / update-contractor-person, or inside a
    contractor."""

    name: str
    phones: Sequence[str] = ()
    contractor_id: int | None = None

    def to_wire(self) -> Json:
        return _compact(
            {
                "contractor": _ref(self.contractor_id),
                "name": self.name,
                "phone": [{"name": phone} for phone in self.phones] or None,
            }
        )


@dataclass
class ContractorInput:
    """create-contractor / update-contractor: a client. Create it before a task that names it."""

    name: str
    external_id: str | None = None
    address: Address | None = None
    phones: Sequence[str] = ()
    persons: Sequence[PersonInput] = ()

    def to_wire(self) -> Json:
        body: Json = {"externalId": self.external_id, "name": self.name}
        if self.address is not None:
            body.update(self.address.to_wire())
        if self.persons:
            body["person"] = [
                _compact({"name": p.name, "phone": [{"name": n} for n in p.phones] or None})
                for p in self.persons
            ]
        if self.phones:
            body["phone"] = [{"name": phone} for phone in self.phones]
        return _compact(body)


@dataclass
class PhoneInput:
    """create-contractor-phone / update-contractor-phone: ``parent_type`` "contractor" puts the
    phone on the client's card, "person" on a contact person."""

    parent_id: int
    number: str
    parent_type: Literal["contractor", "person"] = "contractor"

    def to_wire(self) -> Json:
        return {
            "parent": {"id": int(self.parent_id), "type": self.parent_type},
            "name": self.number,
        }


@dataclass
class SubdivisionContact:
    name: str
    external_id: str | None = None
    phones: Sequence[str] = ()

    def to_wire(self) -> Json:
        return _compact(
            {
                "external_id": self.external_id,
                "name": self.name,
                "tel": [{"name": phone} for phone in self.phones] or None,
            }
        )


@dataclass
class SubdivisionInput:
    """add-subdivision / update-subdivision (snake_case on the wire, as documented)."""

    name: str
    contractor_id: int | None = None  # required by add-subdivision, not sent by update
    external_id: str | None = None
    address: Address | None = None
    template_id: int | None = None
    contacts: Sequence[SubdivisionContact] = ()

    def to_wire(self) -> Json:
        body: Json = {
            "contractor_id": None if self.contractor_id is None else str(self.contractor_id),
            "external_id": self.external_id,
            "name": self.name,
        }
        if self.address is not None:
            body.update(self.address.to_wire(snake=True))
        body["template_id"] = self.template_id
        if self.contacts:
            body["contact"] = [contact.to_wire() for contact in self.contacts]
        return _compact(body)


@dataclass
class ListValue:
    """A value of a list field (type 5). For update: ``id`` of an existing value, ``deleted``."""

    name: str
    id: int | None = None
    deleted: bool | None = None

    def to_wire(self) -> Json:
        return _compact(
            {
                "id": None if self.id is None else str(self.id),
                "deleted": self.deleted,
                "name": self.name,
            }
        )


@dataclass
class TemplateFieldInput:
    """create-template-field / update-template-field. ``type_id`` as Mobiforce numbers types
    ("5" is a list with ``values``)."""

    name: str
    type_id: str
    values: Sequence[ListValue] = ()

    def to_wire(self) -> Json:
        body: Json = {"name": self.name, "type": {"id": str(self.type_id)}}
        if self.values:
            body["valueList"] = [value.to_wire() for value in self.values]
        return body


@dataclass
class TemplateInput:
    """create-template / update-template. ``props`` are (field id, visible to the mobile
    employee); ``checklist`` are (field id, required in the mobile app)."""

    name: str
    color: str = "#ffffff"
    visit_id: int | None = None
    visit_duration: timedelta | None = None
    props: Sequence[tuple[int, bool]] = ()
    checklist: Sequence[tuple[int, bool]] = ()

    def to_wire(self) -> Json:
        return _compact(
            {
                "color": self.color,
                "name": self.name,
                "visit": _ref(self.visit_id),
                "visitDuration": (
                    int(self.visit_duration.total_seconds()) if self.visit_duration else None
                ),
                "props": [
                    {"visibleToMobile": visible, "field": {"id": str(field_id)}}
                    for field_id, visible in self.props
                ],
                "checklist": [
                    {"required": required, "field": {"id": str(field_id)}}
                    for field_id, required in self.checklist
                ],
            }
        )


@dataclass
class EquipmentModelInput:
    name: str
    type_id: int | None = None
    manufacture_id: int | None = None

    def to_wire(self) -> Json:
        return _compact(
            {
                "name": self.name,
                "type": None if self.type_id is None else {"id": str(self.type_id)},
                "manufacture": (
                    None if self.manufacture_id is None else {"id": str(self.manufacture_id)}
                ),
            }
        )


@dataclass
class EquipmentInput:
    """create-equipment / update-equipment. ``props`` are (field id, list of values)."""

    serial_number: str
    model_id: int | None = None
    contractor_id: int | None = None
    props: Sequence[tuple[int, Sequence[Any]]] = ()

    def to_wire(self) -> Json:
        return _compact(
            {
                "serialNumber": self.serial_number,
                "props": [
                    {"value": list(values), "field": {"id": int(field_id)}}
                    for field_id, values in self.props
                ]
                or None,
                "model": _ref(self.model_id),
                "contractor": _ref(self.contractor_id),
            }
        )
