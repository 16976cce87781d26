"""The simulator's records and how each renders as the document's JSON.

Plain dataclasses, one per Mobiforce object. Rendering follows the document's samples: ids as
strings, task times as ISO 8601 UTC with ``Z``, contractor times as unix seconds in a string.
``get-task`` renders the document's sample fields; its "rich" shape adds what a real account
may add (executor, client, address, status, closing): by the names create-task takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

Json = dict[str, Any]

# The document lost its table of field types; these are the simulator's own (photo = "6" as
# in the checklist sample, list = "5" as in the template-field sample).
FIELD_TYPES: Final = {
    "1": "string",
    "2": "number",
    "3": "date",
    "4": "checkbox",
    "5": "list",
    "6": "photo",
}

# Task states of the simulator -> the status it renders (get-task documents no status).
STATUS_NAMES: Final = {
    "draft": ("1", "Черновик"),
    "sent": ("2", "Отправлена исполнителю"),
    "accepted": ("3", "В работе"),
    "done": ("4", "Выполнена"),
    "closed": ("5", "Закрыта"),
}
DONE_RESULT_STATUS: Final = ("74", "Выполнено")


class SimError(Exception):
    """A documented error answer: ``{"code": code, "description": …}`` with HTTP ``status``."""

    def __init__(self, status: int, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> Json:
        return {"code": self.code, "description": self.description}


# The simulator's codes (the document enumerates none; the client keys on the HTTP status).
def bad_request(description: str) -> SimError:
    return SimError(400, 1, description)


def not_found(what: str, object_id: Any) -> SimError:
    return SimError(400, 2, f"{what} {object_id} не найден")


NOT_DRAFT = SimError(400, 3, "Изменить возможно только задачу в статусе «черновик»")
UNKNOWN_CONTRACTOR_CODE: Final = 4
UNKNOWN_TEMPLATE_CODE: Final = 5
UNKNOWN_EMPLOYEE_CODE: Final = 6
TOO_FREQUENT = SimError(400, 7, "Максимальный период запросов 1 раз в пять минут")
BAD_KEY = SimError(401, 10, "Неверный ключ API")


def iso_z(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_text(moment: datetime) -> str:
    return str(int(moment.timestamp()))


@dataclass
class SimField:
    id: int
    name: str
    type_id: str
    values: list[Json] = field(default_factory=list)  # {"id", "name", "deleted"}
    deleted: bool = False

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "type": {"id": self.type_id, "name": FIELD_TYPES.get(self.type_id, "")},
            "valueList": [
                {"id": str(v["id"]), "deleted": v["deleted"], "name": v["name"]}
                for v in self.values
            ],
        }


@dataclass
class SimTemplateItem:
    id: int
    field_id: int
    required: bool = False
    visible_to_mobile: bool | None = None


@dataclass
class SimTemplate:
    id: int
    name: str
    created_at: datetime
    color: str = "#ffffff"
    visit_id: int = 2
    visit_duration: int = 3600  # seconds
    props: list[SimTemplateItem] = field(default_factory=list)
    checklist: list[SimTemplateItem] = field(default_factory=list)
    deleted: bool = False


@dataclass
class SimEmployee:
    id: int
    name: str
    phone: str = ""
    operator_role: bool = False
    mobile_role: bool = True

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "operatorRole": self.operator_role,
            "mobileRole": self.mobile_role,
            "phone": self.phone,
        }


@dataclass
class SimAddress:
    text: str = ""
    porch: str = ""
    floor: str = ""
    room: str = ""
    info: str = ""
    lat: str = ""
    lon: str = ""

    @classmethod
    def from_json(cls, body: Json, *, snake: bool = False) -> SimAddress:
        prefix = "address_" if snake else "address"

        def part(name: str) -> str:
            key = prefix + (name if snake else name.capitalize())
            return str(body.get(key) or "")

        return cls(
            text=str(body.get("address") or ""),
            porch=part("porch"),
            floor=part("floor"),
            room=part("room"),
            info=part("info"),
            lat=str(body.get("lat") or ""),
            lon=str(body.get("lon") or ""),
        )

    def to_json(self) -> Json:
        return {
            "address": self.text,
            "addressFloor": self.floor,
            "addressRoom": self.room,
            "addressPorch": self.porch,
            "addressInfo": self.info,
            "lat": self.lat,
            "lon": self.lon,
        }


@dataclass
class SimPhone:
    id: int
    number: str
    parent_type: str  # "contractor" | "person"
    parent_id: int
    created_at: datetime
    deleted: bool = False

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.number,
            "deleted": self.deleted,
            "parent": {"id": str(self.parent_id), "type": self.parent_type},
        }


@dataclass
class SimPerson:
    id: int
    contractor_id: int
    name: str
    external_id: str = ""
    deleted: bool = False


@dataclass
class SimContractor:
    id: int
    name: str
    created_at: datetime
    external_id: str = ""
    address: SimAddress = field(default_factory=SimAddress)
    parent_id: int = 0
    template_id: int = 0
    deleted: bool = False


@dataclass
class SimTaskItem:
    id: int
    field_id: int
    name: str
    type_id: str
    value: Any = None
    required: bool = False
    visible_to_mobile: bool | None = None
    parent: int = 0

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "parent": self.parent,
            "value": self.value,
            "visibleToMobile": self.visible_to_mobile,
            "required": self.required,
            "field": {"id": str(self.field_id), "type": {"id": self.type_id}},
        }

    @property
    def filled(self) -> bool:
        if self.type_id == "6":
            return isinstance(self.value, int) and self.value > 0
        return self.value not in (None, "", False)


@dataclass
class SimTask:
    id: int
    number: str
    template_id: int
    created_at: datetime
    contractor_id: int = 0
    employee_id: int = 0
    draft: bool = True
    state: str = "draft"  # a key of STATUS_NAMES
    address: SimAddress = field(default_factory=SimAddress)
    verification_required: bool = False
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    props: list[SimTaskItem] = field(default_factory=list)
    checklist: list[SimTaskItem] = field(default_factory=list)
    closed_at: datetime | None = None
    result_status: tuple[str, str] | None = None
    results_description: str = ""
    comments: list[tuple[int, str, datetime]] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.state in ("done", "closed")
