"""The simulator's account: directories (clients, persons, phones, fields, templates,
equipment, employees) and the change feed. Tasks and mobile employees: :mod:`tasks`.

Every handler takes ``(query, body, now)`` and returns the JSON to answer, or raises
:class:`SimError`. Every change of an object bumps the usn of its type (``touch``), which is
what ``get-updates`` serves: each changed object once, with its latest usn, ascending.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final

from integrations.mobiforce.commands import FEED_PAGE_SIZE, PAGE_SIZE
from integrations.mobiforce.models import MOSCOW_TZ
from sandbox.simulators.mobiforce.state import (
    FIELD_TYPES,
    Json,
    SimAddress,
    SimContractor,
    SimEmployee,
    SimField,
    SimPerson,
    SimPhone,
    SimTemplate,
    SimTemplateItem,
    bad_request,
    not_found,
    unix_text,
)

FEED_TYPES: Final = ("task", "contractor", "template", "employee")
AUTHOR: Final = {"id": "2977", "name": "API"}


def id_param(query: dict[str, str], name: str = "id") -> int:
    raw = query.get(name, "")
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"Не задан параметр {name}") from None


def page_of(query: dict[str, str], rows: list[Any]) -> list[Any]:
    try:
        page = int(query.get("page") or 0)
    except ValueError:
        raise bad_request("Неверный номер страницы") from None
    return rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] if page >= 0 else []


def body_dict(body: Any) -> Json:
    if not isinstance(body, dict):
        raise bad_request("Ожидается JSON-объект")
    return body


def ref_id(value: Any) -> int:
    """``{"id": 12}``, ``{"id": "12"}``, ``12`` or ``"12"`` -> 12; anything else -> 0."""
    if isinstance(value, dict):
        value = value.get("id")
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def phone_numbers(value: Any) -> list[str]:
    rows = value if isinstance(value, list) else []
    return [str(row.get("name")) for row in rows if isinstance(row, dict) and row.get("name")]


class World:
    """All state of one simulated Mobiforce account."""

    def __init__(self, now: datetime) -> None:
        self._ids = itertools.count(1000)
        self.usn: dict[str, int] = defaultdict(int)
        self.changes: dict[str, dict[int, tuple[int, datetime]]] = defaultdict(dict)
        self.fields: dict[int, SimField] = {}
        self.templates: dict[int, SimTemplate] = {}
        self.employees: dict[int, SimEmployee] = {}
        self.contractors: dict[int, SimContractor] = {}
        self.persons: dict[int, SimPerson] = {}
        self.phones: dict[int, SimPhone] = {}
        self.started = now
        # How many pieces of equipment a client owns (the equipment desk plugs itself in).
        self.equipment_count: Callable[[int], int] = lambda contractor_id: 0

    def new_id(self) -> int:
        return next(self._ids)

    # --- the change feed ------------------------------------------------------------------------

    def touch(self, object_type: str, object_id: int, now: datetime) -> int:
        self.usn[object_type] += 1
        self.changes[object_type][object_id] = (self.usn[object_type], now)
        return self.usn[object_type]

    def get_updates(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        object_type = query.get("type", "")
        if object_type not in FEED_TYPES:
            raise bad_request(f"Неизвестный тип объекта {object_type!r}")
        after = id_param(query, "usn") if query.get("usn") else 0
        id_key = "taskId" if object_type == "task" else "objectId"
        rows = sorted(
            (usn, object_id, at)
            for object_id, (usn, at) in self.changes[object_type].items()
            if usn > after
        )[:FEED_PAGE_SIZE]
        return [
            {
                "usn": str(usn),
                id_key: str(object_id),
                "time": at.astimezone(MOSCOW_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            }
            for usn, object_id, at in rows
        ]

    # --- employees ------------------------------------------------------------------------------

    def add_employee(self, name: str, phone: str = "", *, mobile: bool = True) -> SimEmployee:
        employee = SimEmployee(
            self.new_id(), name, phone, operator_role=not mobile, mobile_role=mobile
        )
        self.employees[employee.id] = employee
        return employee

    def get_employee_list(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        rows = [self.employees[i].to_json() for i in sorted(self.employees)]
        return page_of(query, rows)

    # --- contractors ----------------------------------------------------------------------------

    def contractor(self, contractor_id: int) -> SimContractor:
        contractor = self.contractors.get(contractor_id)
        if contractor is None or contractor.deleted:
            raise not_found("Клиент", contractor_id)
        return contractor

    def add_contractor(
        self, name: str, now: datetime, address: SimAddress | None = None, **extra: Any
    ) -> SimContractor:
        contractor = SimContractor(
            self.new_id(), name, now, address=address or SimAddress(), **extra
        )
        self.contractors[contractor.id] = contractor
        self.touch("contractor", contractor.id, now)
        return contractor

    def create_contractor(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        if not str(data.get("name") or "").strip():
            raise bad_request("Не задано имя клиента")
        contractor = self.add_contractor(
            str(data["name"]),
            now,
            SimAddress.from_json(data),
            external_id=str(data.get("externalId") or ""),
        )
        self._add_people(contractor, data, now)
        return {"id": contractor.id}

    def _add_people(self, contractor: SimContractor, data: Json, now: datetime) -> None:
        for number in phone_numbers(data.get("phone")):
            self._add_phone(number, "contractor", contractor.id, now)
        for person in data.get("person") or []:
            if isinstance(person, dict) and person.get("name"):
                self._add_person(contractor.id, str(person["name"]), person.get("phone"), now)

    def _add_person(self, contractor_id: int, name: str, phones: Any, now: datetime) -> SimPerson:
        person = SimPerson(self.new_id(), contractor_id, name)
        self.persons[person.id] = person
        for number in phone_numbers(phones):
            self._add_phone(number, "person", person.id, now)
        return person

    def _add_phone(self, number: str, parent_type: str, parent_id: int, now: datetime) -> SimPhone:
        phone = SimPhone(self.new_id(), number, parent_type, parent_id, now)
        self.phones[phone.id] = phone
        return phone

    def update_contractor(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        contractor = self.contractor(id_param(query))
        data = body_dict(body)
        if "name" in data:
            if not str(data["name"] or "").strip():
                raise bad_request("Не задано имя клиента")
            contractor.name = str(data["name"])
        if "externalId" in data:
            contractor.external_id = str(data["externalId"] or "")
        if "address" in data:
            contractor.address = SimAddress.from_json(data)
        self._add_people(contractor, data, now)
        self.touch("contractor", contractor.id, now)
        return {"id": contractor.id}

    def contractor_json(self, contractor: SimContractor) -> Json:
        phones = [
            {
                "id": str(p.id),
                "name": p.number,
                "contractorPerson": "NULL",
                "createdAt": unix_text(p.created_at),
                "deleted": p.deleted,
            }
            for p in self.phones.values()
            if p.parent_type == "contractor" and p.parent_id == contractor.id
        ]
        subdivisions = sum(
            1 for c in self.contractors.values() if c.parent_id == contractor.id and not c.deleted
        )
        return {
            "id": str(contractor.id),
            "externalId": contractor.external_id,
            "name": contractor.name,
            **contractor.address.to_json(),
            "createdAt": unix_text(contractor.created_at),
            "equipmentCounter": str(self.equipment_count(contractor.id)),
            "subdivisionCounter": str(subdivisions),
            "favourites": False,
            "author": AUTHOR,
            "parent": str(contractor.parent_id),
            "employee": "0",
            "phone": phones,
        }

    def get_contractor(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        return self.contractor_json(self.contractor(id_param(query)))

    def get_contractor_by_external_id(
        self, query: dict[str, str], body: Any, now: datetime
    ) -> Json:
        wanted = query.get("external-id", "")
        for contractor in self.contractors.values():
            if wanted and contractor.external_id == wanted and not contractor.deleted:
                return self.contractor_json(contractor)
        raise not_found("Клиент с внешним идентификатором", wanted)

    def get_contractor_list(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        rows = []
        for contractor in sorted(self.live(self.contractors.values()), key=lambda c: c.id):
            parent = self.contractors.get(contractor.parent_id)
            rows.append(
                {
                    "id": str(contractor.id),
                    "name": contractor.name,
                    "parentName": parent.name if parent else None,
                    "parentId": str(parent.id) if parent else None,
                }
            )
        return page_of(query, rows)

    @staticmethod
    def live(items: Iterable[Any]) -> list[Any]:
        return [item for item in items if not item.deleted]

    # --- contact persons and phones -------------------------------------------------------------

    def person(self, person_id: int) -> SimPerson:
        person = self.persons.get(person_id)
        if person is None or person.deleted:
            raise not_found("Контактное лицо", person_id)
        return person

    def create_contractor_person(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        contractor = self.contractor(ref_id(data.get("contractor")))
        if not data.get("name"):
            raise bad_request("Не задано имя контактного лица")
        person = self._add_person(contractor.id, str(data["name"]), data.get("phone"), now)
        self.touch("contractor", contractor.id, now)
        return {"id": person.id}

    def update_contractor_person(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        person = self.person(id_param(query))
        data = body_dict(body)
        if data.get("contractor") is not None:
            person.contractor_id = self.contractor(ref_id(data["contractor"])).id
        if data.get("name"):
            person.name = str(data["name"])
        for number in phone_numbers(data.get("phone")):
            self._add_phone(number, "person", person.id, now)
        self.touch("contractor", person.contractor_id, now)
        return {"id": person.id}

    def get_contractor_person(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        person = self.person(id_param(query))
        contractor = self.contractors[person.contractor_id]
        phones = [
            {"id": str(p.id), "name": p.number, "deleted": p.deleted}
            for p in self.phones.values()
            if p.parent_type == "person" and p.parent_id == person.id
        ]
        return {
            "id": str(person.id),
            "name": person.name,
            "contractor": {"id": str(contractor.id), "name": contractor.name},
            "jobposition": "",
            "deleted": person.deleted,
            "phone": phones,
        }

    def delete_contractor_person(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        person = self.person(id_param(query))
        person.deleted = True
        self.touch("contractor", person.contractor_id, now)
        return {"id": person.id}

    def phone(self, phone_id: int) -> SimPhone:
        phone = self.phones.get(phone_id)
        if phone is None:
            raise not_found("Телефон", phone_id)
        return phone

    def _phone_parent(self, data: Json) -> tuple[str, int]:
        raw = data.get("parent")
        parent: Json = raw if isinstance(raw, dict) else {}
        parent_type = str(parent.get("type") or "contractor")
        parent_id = ref_id(parent)
        if parent_type == "contractor":
            self.contractor(parent_id)
        elif parent_type == "person":
            self.person(parent_id)
        else:
            raise bad_request("type может принимать значения contractor или person")
        return parent_type, parent_id

    def create_contractor_phone(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        parent_type, parent_id = self._phone_parent(data)
        if not data.get("name"):
            raise bad_request("Не задан номер телефона")
        phone = self._add_phone(str(data["name"]), parent_type, parent_id, now)
        return {"id": phone.id}

    def update_contractor_phone(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        phone = self.phone(id_param(query))
        data = body_dict(body)
        if data.get("parent"):
            phone.parent_type, phone.parent_id = self._phone_parent(data)
        if data.get("name"):
            phone.number = str(data["name"])
        return {"id": phone.id}

    def get_contractor_phone(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        return self.phone(id_param(query)).to_json()

    def delete_contractor_phone(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        phone = self.phone(id_param(query))
        phone.deleted = True
        return {"id": phone.id}

    # --- subdivisions (a contractor under a contractor) -----------------------------------------

    def add_subdivision(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        parent = self.contractor(ref_id(data.get("contractor_id")))
        if not data.get("name"):
            raise bad_request("Не задано имя подразделения")
        subdivision = self.add_contractor(
            str(data["name"]),
            now,
            SimAddress.from_json(data, snake=True),
            external_id=str(data.get("external_id") or ""),
            parent_id=parent.id,
            template_id=ref_id(data.get("template_id")),
        )
        self._add_contacts(subdivision, data.get("contact"), now)
        return {"id": subdivision.id}

    def update_subdivision(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        subdivision = self.contractor(id_param(query))
        if not subdivision.parent_id:
            raise not_found("Подразделение", subdivision.id)
        data = body_dict(body)
        if data.get("name"):
            subdivision.name = str(data["name"])
        if "address" in data:
            subdivision.address = SimAddress.from_json(data, snake=True)
        if "template_id" in data:
            subdivision.template_id = ref_id(data["template_id"])
        self._add_contacts(subdivision, data.get("contact"), now)
        self.touch("contractor", subdivision.id, now)
        return {"id": subdivision.id}

    def _add_contacts(self, subdivision: SimContractor, contacts: Any, now: datetime) -> None:
        for contact in contacts or []:
            if isinstance(contact, dict) and contact.get("name"):
                person = self._add_person(
                    subdivision.id, str(contact["name"]), contact.get("tel"), now
                )
                person.external_id = str(contact.get("external_id") or "")

    # --- template fields ------------------------------------------------------------------------

    def field(self, field_id: int) -> SimField:
        found = self.fields.get(field_id)
        if found is None or found.deleted:
            raise not_found("Поле шаблона", field_id)
        return found

    def add_field(self, name: str, type_id: str, values: Iterable[str] = ()) -> SimField:
        created = SimField(self.new_id(), name, type_id)
        created.values = [{"id": self.new_id(), "name": v, "deleted": False} for v in values]
        self.fields[created.id] = created
        return created

    def create_template_field(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        type_id = str(ref_id(data.get("type")) or "")
        if not data.get("name") or type_id not in FIELD_TYPES:
            raise bad_request("Не заданы имя или тип поля")
        values = [str(v.get("name")) for v in data.get("valueList") or [] if isinstance(v, dict)]
        return {"id": self.add_field(str(data["name"]), type_id, values).id}

    def update_template_field(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        target = self.field(id_param(query))
        data = body_dict(body)
        if data.get("name"):
            target.name = str(data["name"])
        if data.get("type"):
            type_id = str(ref_id(data["type"]))
            if type_id not in FIELD_TYPES:
                raise bad_request("Неизвестный тип поля")
            target.type_id = type_id
        for item in data.get("valueList") or []:
            if not isinstance(item, dict):
                continue
            existing = next((v for v in target.values if v["id"] == ref_id(item)), None)
            if existing is None:
                target.values.append(
                    {"id": self.new_id(), "name": str(item.get("name") or ""), "deleted": False}
                )
            else:
                existing["name"] = str(item.get("name") or existing["name"])
                existing["deleted"] = bool(item.get("deleted"))
        return {"id": target.id}

    def get_template_field(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        return self.field(id_param(query)).to_json()

    def get_template_field_list(
        self, query: dict[str, str], body: Any, now: datetime
    ) -> list[Json]:
        rows = [{"id": str(f.id), "name": f.name} for f in self.live(self.fields.values())]
        return page_of(query, rows)

    def delete_template_field(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        target = self.field(id_param(query))
        target.deleted = True
        return {"id": target.id}

    # --- templates ------------------------------------------------------------------------------

    def template(self, template_id: int) -> SimTemplate:
        found = self.templates.get(template_id)
        if found is None or found.deleted:
            raise not_found("Шаблон", template_id)
        return found

    def add_template(
        self,
        name: str,
        now: datetime,
        *,
        visit_duration: int = 3600,
        props: Iterable[tuple[SimField, bool]] = (),
        checklist: Iterable[tuple[SimField, bool]] = (),
    ) -> SimTemplate:
        """``props``/``checklist`` are (field, required)."""
        template = SimTemplate(self.new_id(), name, now, visit_duration=visit_duration)
        template.props = [SimTemplateItem(self.new_id(), f.id, req, True) for f, req in props]
        template.checklist = [SimTemplateItem(self.new_id(), f.id, req) for f, req in checklist]
        self.templates[template.id] = template
        self.touch("template", template.id, now)
        return template

    def _template_items(self, raw: Any, *, checklist: bool) -> list[SimTemplateItem]:
        # The document's create-template sample shows ``checklist`` as ONE object: accept both.
        rows = [raw] if isinstance(raw, dict) else raw or []
        items = []
        for row in rows:
            if not isinstance(row, dict):
                raise bad_request("Неверное описание поля шаблона")
            self.field(ref_id(row.get("field")))
            items.append(
                SimTemplateItem(
                    self.new_id(),
                    ref_id(row.get("field")),
                    required=bool(row.get("required")),
                    visible_to_mobile=None if checklist else bool(row.get("visibleToMobile")),
                )
            )
        return items

    def _apply_template(self, template: SimTemplate, data: Json) -> None:
        if data.get("name"):
            template.name = str(data["name"])
        if data.get("color"):
            template.color = str(data["color"])
        if data.get("visit"):
            template.visit_id = ref_id(data["visit"])
        if data.get("visitDuration") is not None:
            template.visit_duration = int(data["visitDuration"])
        if "props" in data:
            template.props = self._template_items(data["props"], checklist=False)
        if "checklist" in data:
            template.checklist = self._template_items(data["checklist"], checklist=True)

    def create_template(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        if not data.get("name"):
            raise bad_request("Не задано имя шаблона")
        template = SimTemplate(self.new_id(), str(data["name"]), now)
        self._apply_template(template, data)
        self.templates[template.id] = template
        self.touch("template", template.id, now)
        return {"id": template.id}

    def update_template(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        template = self.template(id_param(query))
        self._apply_template(template, body_dict(body))
        self.touch("template", template.id, now)
        return {"id": template.id}

    def template_item_json(self, item: SimTemplateItem) -> Json:
        template_field = self.fields[item.field_id]
        return {
            "id": str(item.id),
            "name": template_field.name,
            "visibleToMobile": item.visible_to_mobile,
            "required": item.required,
            "field": {"id": str(template_field.id), "type": {"id": template_field.type_id}},
        }

    def get_template(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        template = self.template(id_param(query))
        return {
            "id": str(template.id),
            "color": template.color,
            "createdAt": unix_text(template.created_at),
            "name": template.name,
            "visit": {"id": str(template.visit_id), "name": "Сегодня"},
            "visitDuration": str(template.visit_duration),
            "props": [self.template_item_json(item) for item in template.props],
            "checklist": [self.template_item_json(item) for item in template.checklist],
        }

    def get_template_list(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        rows = [{"id": str(t.id), "name": t.name} for t in self.live(self.templates.values())]
        return page_of(query, rows)

    def delete_template(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        template = self.template(id_param(query))
        template.deleted = True
        self.touch("template", template.id, now)
        return {"id": template.id}
