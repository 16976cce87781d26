"""MobiforceClient against MobiforceSimulator over real loopback HTTP.

The simulator runs on a frozen clock; tests move time with ``sim.advance``. Happy paths are a
table keyed by command and documented errors a table keyed like the client's own error tables,
both parametrized over those tables: a command or error added there without a test here fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.errors import IntegrationDisabled, RateLimited, UpstreamUnavailable
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.commands import COMMANDS, READ_COMMANDS, WRITE_COMMANDS
from integrations.mobiforce.errors import (
    COMMAND_ERRORS,
    ERRORS,
    MobiforceAuthError,
    MobiforceDisabled,
    MobiforceError,
    MobiforceLimitExceeded,
    MobiforceRejected,
    MobiforceTaskNotEditable,
    MobiforceTaskNotSaved,
    MobiforceTooFrequent,
    MobiforceUnavailable,
)
from integrations.mobiforce.inputs import (
    Address,
    ContractorInput,
    EquipmentInput,
    EquipmentModelInput,
    ListValue,
    PersonInput,
    PhoneInput,
    SubdivisionContact,
    SubdivisionInput,
    TaskFieldAddition,
    TaskInput,
    TemplateFieldInput,
    TemplateInput,
)
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from sandbox.simulators.mobiforce.state import SimContractor, SimEmployee, SimField, SimTemplate

DATA = Path(__file__).parent.parent / "data" / "mobiforce"

KEY = "mf-s3cret-KEY-0042"
T0 = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)  # Monday, 12:00 in Moscow


@dataclass
class Account:
    """What every test finds on the simulated account."""

    amount: SimField
    photo: SimField
    kind: SimField
    template: SimTemplate
    executor: SimEmployee
    other_executor: SimEmployee
    client: SimContractor


@pytest.fixture
async def sim() -> AsyncIterator[MobiforceSimulator]:
    simulator = MobiforceSimulator(KEY, clock=lambda: T0)
    simulator.fault_delay = 1.0
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def account(sim: MobiforceSimulator) -> Account:
    amount = sim.add_field("Сумма к оплате", "2")
    photo = sim.add_field("Фото накладной", "6")
    kind = sim.add_field("Тип выезда", "5", ["Плановый", "Срочный"])
    template = sim.add_template(
        "Доставка",
        visit_minutes=120,
        props=[(kind, True)],
        checklist=[(photo, True), (amount, False)],
    )
    return Account(
        amount,
        photo,
        kind,
        template,
        sim.add_employee("Петров Иван", "79161234501"),
        sim.add_employee("Орлов Дмитрий", "79263330303"),
        sim.add_contractor("ООО «Ромашка»", "г Москва, Ленинский пр-кт, д 21", phone="74951234501"),
    )


def make_client(sim: MobiforceSimulator, key: str = KEY, **options: Any) -> MobiforceClient:
    assert sim.base_url is not None
    settings: dict[str, Any] = {"timeout": 2.0, "retries": 2, "backoff": 0.001}
    settings.update(options)
    return MobiforceClient(sim.base_url, key, **settings)


@pytest.fixture
async def client(sim: MobiforceSimulator) -> AsyncIterator[MobiforceClient]:
    async with make_client(sim) as mobiforce:
        yield mobiforce


def task_input(account: Account, **changes: Any) -> TaskInput:
    settings: dict[str, Any] = {
        "template_id": account.template.id,
        "contractor_id": account.client.id,
        "employee_id": account.executor.id,
        "draft": True,
        "planned_start": T0 + timedelta(hours=2),
        "props": {account.kind.id: "Срочный"},
    }
    settings.update(changes)
    return TaskInput(**settings)


def last_request(sim: MobiforceSimulator) -> tuple[str, dict[str, str], Any]:
    return sim.requests[-1]


Scenario = Callable[[MobiforceSimulator, MobiforceClient, Account], Awaitable[None]]


# --- happy paths: one per command -----------------------------------------------------------------


async def happy_create_task(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    task_id = await client.create_task(task_input(a, number="A-17"))
    command, _, body = last_request(sim)
    assert command == "create-task" and body["plannedVisitTime"] == "2024-05-13T14:00:00"
    task = await client.get_task(task_id)
    assert task.number == "A-17" and task.draft
    # The end comes from the template's visit duration; the address from the client.
    assert task.planned_end == T0 + timedelta(hours=4)
    assert sim.task(task_id).address.text == "г Москва, Ленинский пр-кт, д 21"


async def happy_update_task(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    task_id = await client.create_task(task_input(a))
    assert await client.update_task(task_id, task_input(a, draft=False)) == task_id
    task = await client.get_task(task_id)
    assert not task.draft and sim.task(task_id).employee_id == a.executor.id


async def happy_get_task(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    task_id = await client.create_task(task_input(a, draft=False))
    task = await client.get_task(task_id)
    assert task.id == task_id and task.template is not None and task.template.name == "Доставка"
    # As the document shows it: no executor, client, address, status or closing.
    assert not any(task.carries(name) for name in ("employee", "contractor", "address"))
    assert not task.closing_known and task.contractor is None
    assert [item.name for item in task.checklist] == ["Фото накладной", "Сумма к оплате"]
    assert task.props[0].value == "Срочный" and task.props[0].required
    assert task.checklist[0].is_photo and not task.closed


async def happy_get_task_list(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    ids = [await client.create_task(task_input(a)) for _ in range(12)]
    first, second = await client.get_task_list(), await client.get_task_list(page=1)
    assert [row.id for row in first + second] == ids and len(first) == 10
    assert first[0].name == "000001"
    assert [row.id async for row in client.iter_tasks()] == ids
    assert len([row async for row in client.iter_tasks(max_pages=1)]) == 10


async def happy_add_template_fields_to_task(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    task_id = await client.create_task(task_input(a))
    extra = sim.add_field("Номер пломбы", "1")
    await client.add_template_fields_to_task(
        task_id,
        [TaskFieldAddition(extra.id, "checklist"), TaskFieldAddition(a.amount.id, value=900)],
    )
    _, query, body = last_request(sim)
    assert query == {"id": str(task_id)} and body[1] == {
        "to": "props",
        "field": {"id": a.amount.id},
        "value": 900,
    }
    task = await client.get_task(task_id)
    assert task.checklist[-1].name == "Номер пломбы" and task.props[-1].value == 900


async def happy_remove_template_fields_from_task(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    task_id = await client.create_task(task_input(a))
    await client.remove_template_fields_from_task(task_id, [a.amount.id])
    assert last_request(sim)[2] == [{"field": {"id": a.amount.id}}]
    task = await client.get_task(task_id)
    assert [item.name for item in task.checklist] == ["Фото накладной"]


async def happy_create_comment(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    task_id = await client.create_task(task_input(a))
    comment_id = await client.create_comment(task_id, "Клиент просит позвонить за час")
    assert comment_id > 0
    assert last_request(sim)[2] == {
        "message": "Клиент просит позвонить за час",
        "task": {"id": task_id},
    }
    assert sim.task(task_id).comments[0][1] == "Клиент просит позвонить за час"


async def happy_close_task(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    task_id = await client.create_task(task_input(a, draft=False))
    assert await client.close_task(task_id, 74, "Задача отменена клиентом") == task_id
    assert last_request(sim)[2] == {
        "result_status": "74",
        "results_description": "Задача отменена клиентом",
    }
    closed = sim.task(task_id)
    assert closed.closed and closed.closed_at == T0
    assert closed.results_description == "Задача отменена клиентом"
    assert not (await client.get_task(task_id)).closing_known  # the document's get-task


async def happy_get_taskupdates(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    ids = [await client.create_task(task_input(a)) for _ in range(3)]
    events = await client.get_taskupdates()
    assert [event.task_id for event in events] == ids
    sim.advance(timedelta(minutes=5))
    await client.create_comment(ids[1], "ещё")
    newer = await client.get_taskupdates(events[-1].id)
    assert [event.task_id for event in newer] == [ids[1]]


async def happy_get_updates(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    first = await client.create_task(task_input(a))
    second = await client.create_task(task_input(a))
    rows = await client.get_updates(0)
    assert [row.object_id for row in rows] == [first, second]
    await client.create_comment(first, "поменялось")
    newer = await client.get_updates(rows[-1].usn)
    assert [row.object_id for row in newer] == [first] and newer[0].usn > rows[-1].usn
    assert await client.get_updates(newer[-1].usn) == []
    clients = await client.get_updates(0, type="contractor")
    assert [row.object_id for row in clients] == [a.client.id]


async def happy_create_contractor(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    contractor_id = await client.create_contractor(
        ContractorInput(
            "ООО «Вектор»",
            external_id="1C-0042",
            address=Address("г Москва, Варшавское ш, д 125", floor="2"),
            phones=["74957654321"],
            persons=[PersonInput("Сергей Иванович", ["79161110000"])],
        )
    )
    found = await client.get_contractor(contractor_id)
    assert found.name == "ООО «Вектор»" and found.phones == ["74957654321"]
    assert found.address_floor == "2" and found.external_id == "1C-0042"


async def happy_update_contractor(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    await client.update_contractor(a.client.id, ContractorInput("ООО «Ромашка-2»"))
    assert last_request(sim)[1] == {"id": str(a.client.id)}
    assert (await client.get_contractor(a.client.id)).name == "ООО «Ромашка-2»"


async def happy_get_contractor(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    found = await client.get_contractor(a.client.id)
    assert found.id == a.client.id and found.phones == ["74951234501"]
    assert found.created_at == T0 and found.parent is None


async def happy_get_contractor_by_external_id(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    made = sim.add_contractor("ООО «Из 1С»", external_id="91bf7d25-abd9-11e1")
    found = await client.get_contractor_by_external_id("91bf7d25-abd9-11e1")
    assert found.id == made.id and last_request(sim)[1] == {"external-id": "91bf7d25-abd9-11e1"}


async def happy_get_contractor_list(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    for n in range(10):
        sim.add_contractor(f"Клиент {n}")
    page = await client.get_contractor_list()
    assert len(page) == 10 and page[0].name == "ООО «Ромашка»"
    names = [row.name async for row in client.iter_contractors()]
    assert len(names) == 11 and names[-1] == "Клиент 9"


async def happy_create_contractor_person(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    person_id = await client.create_contractor_person(
        PersonInput("Алексей И", ["8-800-888-88-88"], contractor_id=a.client.id)
    )
    person = await client.get_contractor_person(person_id)
    assert person.contractor is not None and person.contractor.id == a.client.id
    assert [p.name for p in person.phone] == ["8-800-888-88-88"]


async def happy_update_contractor_person(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    person_id = await client.create_contractor_person(
        PersonInput("Алексей", contractor_id=a.client.id)
    )
    await client.update_contractor_person(
        person_id, PersonInput("Алексей И", contractor_id=a.client.id)
    )
    assert (await client.get_contractor_person(person_id)).name == "Алексей И"


async def happy_get_contractor_person(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    person_id = await client.create_contractor_person(
        PersonInput("Анна", contractor_id=a.client.id)
    )
    person = await client.get_contractor_person(person_id)
    assert (person.id, person.name, person.deleted) == (person_id, "Анна", False)


async def happy_delete_contractor_person(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    person_id = await client.create_contractor_person(
        PersonInput("Анна", contractor_id=a.client.id)
    )
    assert await client.delete_contractor_person(person_id) == person_id
    with pytest.raises(MobiforceRejected):
        await client.get_contractor_person(person_id)


async def happy_create_contractor_phone(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    phone_id = await client.create_contractor_phone(PhoneInput(a.client.id, "8-800-888-88-88"))
    assert last_request(sim)[2] == {
        "parent": {"id": a.client.id, "type": "contractor"},
        "name": "8-800-888-88-88",
    }
    assert "8-800-888-88-88" in (await client.get_contractor(a.client.id)).phones
    assert phone_id > 0


async def happy_update_contractor_phone(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    phone_id = await client.create_contractor_phone(PhoneInput(a.client.id, "111"))
    await client.update_contractor_phone(phone_id, PhoneInput(a.client.id, "222"))
    assert (await client.get_contractor_phone(phone_id)).name == "222"


async def happy_get_contractor_phone(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    phone_id = await client.create_contractor_phone(PhoneInput(a.client.id, "33"))
    phone = await client.get_contractor_phone(phone_id)
    assert phone.parent is not None and (phone.parent.id, phone.parent.type) == (
        a.client.id,
        "contractor",
    )


async def happy_delete_contractor_phone(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    phone_id = await client.create_contractor_phone(PhoneInput(a.client.id, "33"))
    await client.delete_contractor_phone(phone_id)
    assert (await client.get_contractor_phone(phone_id)).deleted


async def happy_add_subdivision(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    sub_id = await client.add_subdivision(
        SubdivisionInput(
            "Перекресток",
            contractor_id=a.client.id,
            external_id="2",
            address=Address("Ленинский проспект 38", porch="1", info="Вход со двора"),
            template_id=a.template.id,
            contacts=[SubdivisionContact("Александр", "3334", ["89036277781"])],
        )
    )
    body = last_request(sim)[2]
    assert body["contractor_id"] == str(a.client.id) and body["address_info"] == "Вход со двора"
    rows = [row async for row in client.iter_contractors()]
    assert any(row.id == sub_id and row.parent_id == a.client.id for row in rows)


async def happy_update_subdivision(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    sub_id = await client.add_subdivision(
        SubdivisionInput("Перекресток", contractor_id=a.client.id)
    )
    await client.update_subdivision(sub_id, SubdivisionInput("Перекресток-2"))
    assert "contractor_id" not in last_request(sim)[2]
    assert (await client.get_contractor(sub_id)).name == "Перекресток-2"


async def happy_create_template_field(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    field_id = await client.create_template_field(
        TemplateFieldInput("Реквизит перечисление", "5", [ListValue("да"), ListValue("нет")])
    )
    found = await client.get_template_field(field_id)
    assert found.type.id == "5" and [v.name for v in found.value_list] == ["да", "нет"]


async def happy_update_template_field(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    values = a.kind.values
    await client.update_template_field(
        a.kind.id,
        TemplateFieldInput(
            "Тип выезда",
            "5",
            [
                ListValue("Плановый", values[0]["id"]),
                ListValue("Срочный", values[1]["id"], deleted=True),
                ListValue("Гарантия"),
            ],
        ),
    )
    found = await client.get_template_field(a.kind.id)
    assert [(v.name, v.deleted) for v in found.value_list] == [
        ("Плановый", False),
        ("Срочный", True),
        ("Гарантия", False),
    ]


async def happy_get_template_field(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    found = await client.get_template_field(a.photo.id)
    assert (found.id, found.name, found.type.id) == (a.photo.id, "Фото накладной", "6")


async def happy_get_template_field_list(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    assert [row.name for row in await client.get_template_field_list()] == [
        "Сумма к оплате",
        "Фото накладной",
        "Тип выезда",
    ]
    assert len([row async for row in client.iter_template_fields()]) == 3


async def happy_delete_template_field(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    await client.delete_template_field(a.amount.id)
    assert a.amount.id not in [row.id for row in await client.get_template_field_list()]


async def happy_create_template(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    template_id = await client.create_template(
        TemplateInput(
            "Монтаж",
            visit_id=2,
            visit_duration=timedelta(hours=3),
            props=[(a.kind.id, True)],
            checklist=[(a.photo.id, True)],
        )
    )
    template = await client.get_template(template_id)
    assert template.duration == timedelta(hours=3) and template.checklist[0].required
    assert template.props[0].field.id == a.kind.id


async def happy_update_template(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    await client.update_template(
        a.template.id, TemplateInput("Доставка груза", visit_duration=timedelta(hours=1))
    )
    template = await client.get_template(a.template.id)
    assert template.name == "Доставка груза" and template.visit_duration == 3600


async def happy_get_template(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    template = await client.get_template(a.template.id)
    assert template.duration == timedelta(hours=2)
    assert [item.name for item in template.required_props] == ["Тип выезда"]
    assert [item.field.id for item in template.checklist] == [a.photo.id, a.amount.id]


async def happy_get_template_list(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    assert [(row.id, row.name) for row in await client.get_template_list()] == [
        (a.template.id, "Доставка")
    ]
    assert [row.id async for row in client.iter_templates()] == [a.template.id]


async def happy_delete_template(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    await client.delete_template(a.template.id)
    assert await client.get_template_list() == []


async def happy_create_equipment_model(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    model_id = await client.create_equipment_model(
        EquipmentModelInput("150 SX", type_id=6636, manufacture_id=436)
    )
    _, _, body = last_request(sim)
    assert body == {"name": "150 SX", "type": {"id": "6636"}, "manufacture": {"id": "436"}}
    assert [row.id for row in await client.get_equipment_model_list()] == [model_id]


async def happy_update_equipment_model(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    model_id = await client.create_equipment_model(EquipmentModelInput("150 SX"))
    await client.update_equipment_model(model_id, EquipmentModelInput("150 DS"))
    assert [row.name for row in await client.get_equipment_model_list()] == ["150 DS"]


async def happy_get_equipment_model_list(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    for n in range(11):
        await client.create_equipment_model(EquipmentModelInput(f"M{n}"))
    assert len(await client.get_equipment_model_list(page=1)) == 1
    assert len([row async for row in client.iter_equipment_models()]) == 11


async def happy_delete_equipment_model(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    model_id = await client.create_equipment_model(EquipmentModelInput("150 SX"))
    await client.delete_equipment_model(model_id)
    assert await client.get_equipment_model_list() == []


async def happy_create_equipment(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    model_id = await client.create_equipment_model(EquipmentModelInput("BI WMHL 71283"))
    equipment_id = await client.create_equipment(
        EquipmentInput(
            "DF4534346JG453", model_id=model_id, contractor_id=a.client.id, props=[(61, [True])]
        )
    )
    piece = await client.get_equipment(equipment_id)
    assert piece.name == "DF4534346JG453" and piece.contractor is not None
    assert piece.equipment_model is not None and piece.equipment_model.name == "BI WMHL 71283"


async def happy_update_equipment(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    equipment_id = await client.create_equipment(EquipmentInput("Q1234"))
    await client.update_equipment(equipment_id, EquipmentInput("Q9999", contractor_id=a.client.id))
    piece = await client.get_equipment(equipment_id)
    assert (
        piece.name == "Q9999"
        and piece.contractor is not None
        and piece.contractor.id == a.client.id
    )


async def happy_get_equipment(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> None:
    equipment_id = await client.create_equipment(EquipmentInput("Q1234"))
    piece = await client.get_equipment(equipment_id)
    assert (piece.id, piece.created_at, piece.contractor) == (equipment_id, T0, None)


async def happy_get_equipment_list(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    ids = [await client.create_equipment(EquipmentInput(f"SN{n}")) for n in range(3)]
    assert [row.id for row in await client.get_equipment_list()] == ids
    assert [row.name async for row in client.iter_equipment()] == ["SN0", "SN1", "SN2"]


async def happy_delete_equipment(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    equipment_id = await client.create_equipment(EquipmentInput("Q1234"))
    await client.delete_equipment(equipment_id)
    with pytest.raises(MobiforceRejected):
        await client.get_equipment(equipment_id)


async def happy_get_employee_list(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> None:
    sim.add_employee("Александр Смирнов", mobile=False)
    rows = await client.get_employee_list()
    assert [(e.name, e.mobile_role, e.operator_role) for e in rows] == [
        ("Петров Иван", True, False),
        ("Орлов Дмитрий", True, False),
        ("Александр Смирнов", False, True),
    ]
    assert rows[0].phone == "79161234501"
    assert [e.id async for e in client.iter_employees()] == [e.id for e in rows]


HAPPY: dict[str, Scenario] = {
    name.removeprefix("happy_").replace("_", "-"): scenario
    for name, scenario in dict(globals()).items()
    if name.startswith("happy_")
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_happy_path(
    command: str, sim: MobiforceSimulator, client: MobiforceClient, account: Account
) -> None:
    await HAPPY[command](sim, client, account)
    assert sim.calls_of(command) >= 1


def test_every_command_has_a_client_method_and_a_happy_path() -> None:
    assert set(HAPPY) == set(COMMANDS)
    for command in COMMANDS:
        assert callable(getattr(MobiforceClient, command.replace("-", "_")))


async def test_paths_and_methods_follow_the_document(
    sim: MobiforceSimulator, client: MobiforceClient, account: Account
) -> None:
    task_id = await client.create_task(task_input(account, draft=False))
    await client.close_task(task_id, 74, "ok")
    await client.get_taskupdates()
    await client.get_task(task_id)
    with pytest.raises(MobiforceRejected):  # a client, not a subdivision: the path still counts
        await client.update_subdivision(account.client.id, SubdivisionInput("x"))
    assert sim.paths == [
        ("POST", "/api/v5/create-task"),
        ("POST", "/api/v4/close-task"),
        ("GET", "/api/get-taskupdates"),
        ("GET", "/api/v5/get-task"),
        ("POST", "/api/v4/update-subdivision"),
    ]
    assert all(COMMANDS[c].method == "GET" for c in READ_COMMANDS)
    assert all(COMMANDS[c].method == "POST" for c in WRITE_COMMANDS)


# --- documented errors: {code, description} with HTTP 400 or 401 ---------------------------------


async def error_400(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> MobiforceError:
    with pytest.raises(MobiforceRejected) as caught:
        await client.get_task(999999)
    assert caught.value.code == 2 and "999999" in caught.value.vendor_text
    assert "Мобифорс отклонил запрос" in caught.value.user_message
    assert "«Задача 999999 не найден»" in caught.value.user_message
    return caught.value


async def error_401(sim: MobiforceSimulator, client: MobiforceClient, a: Account) -> MobiforceError:
    async with make_client(sim, key="wrong-key") as wrong:
        with pytest.raises(MobiforceAuthError) as caught:
            await wrong.get_employee_list()
        assert isinstance(caught.value, IntegrationDisabled) and wrong.auth_locked
    return caught.value


async def error_update_task_400(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> MobiforceError:
    task_id = await client.create_task(task_input(a, draft=False))
    with pytest.raises(MobiforceTaskNotEditable) as caught:
        await client.update_task(task_id, task_input(a, number="X"))
    assert "черновик" in caught.value.user_message
    assert sim.task(task_id).number != "X"
    return caught.value


async def error_create_task_400(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> MobiforceError:
    with pytest.raises(MobiforceTaskNotSaved) as caught:
        await client.create_task(task_input(a, contractor_id=424242))
    with pytest.raises(MobiforceTaskNotSaved):
        await client.create_task(task_input(a, template_id=424242))
    assert await client.get_task_list() == []
    return caught.value


async def error_get_taskupdates_400(
    sim: MobiforceSimulator, client: MobiforceClient, a: Account
) -> MobiforceError:
    await client.get_taskupdates()
    sim.advance(timedelta(minutes=4, seconds=59))
    with pytest.raises(MobiforceTooFrequent) as caught:
        await client.get_taskupdates()
    assert isinstance(caught.value, RateLimited) and sim.calls_of("get-taskupdates") == 2
    sim.advance(timedelta(seconds=1))
    assert await client.get_taskupdates() == []
    return caught.value


ERROR_SCENARIOS: dict[str, Callable[..., Awaitable[MobiforceError]]] = {
    **{str(status): globals()[f"error_{status}"] for status in ERRORS},
    **{
        f"{command}:{status}": globals()[f"error_{command.replace('-', '_')}_{status}"]
        for command, status in COMMAND_ERRORS
    },
}


@pytest.mark.parametrize("name", sorted(ERROR_SCENARIOS))
async def test_documented_error(
    name: str, sim: MobiforceSimulator, client: MobiforceClient, account: Account
) -> None:
    error = await ERROR_SCENARIOS[name](sim, client, account)
    command, _, status = name.rpartition(":")
    spec = COMMAND_ERRORS[(command, int(status))] if command else ERRORS[int(status)]
    assert type(error) is spec.exc and error.http_status == int(status)
    assert error.user_message.startswith(spec.ru) and error.user_message_en.startswith(spec.en)
    assert KEY not in str(error) and KEY not in error.user_message


async def test_401_locks_the_client_until_reset(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    sim.force_error("get-employee-list", 401, code=10, description="Неверный ключ API")
    with pytest.raises(MobiforceAuthError):
        await client.get_employee_list()
    before = len(sim.requests)
    for _ in range(3):
        with pytest.raises(MobiforceDisabled) as caught:
            await client.get_template_list()
        assert isinstance(caught.value, IntegrationDisabled)
    assert len(sim.requests) == before  # no request while locked
    client.reset_auth_lock()
    assert await client.get_template_list() == []


async def test_key_is_sent_in_the_header_quoted_or_not(sim: MobiforceSimulator) -> None:
    async with make_client(sim, key=f'"{KEY}"') as quoted:  # public 1C examples quote it
        assert await quoted.get_employee_list() == []


async def test_error_with_http_200_is_still_an_error(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    sim.force_error("get-template-list", 200, code=5, description="что то пошло не так")
    with pytest.raises(MobiforceRejected) as caught:
        await client.get_template_list()
    assert caught.value.vendor_text == "что то пошло не так"


# --- transport policies ---------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [500, 503, "bad_json", "html"])
async def test_reads_are_retried(
    fault: Any, sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    sim.fail_next("get-employee-list", fault)
    assert await client.get_employee_list() == []
    assert sim.calls_of("get-employee-list") == 2 and client.stats.retries["get-employee-list"] == 1


async def test_reads_give_up_after_retries(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    sim.fail_next("get-task-list", 502, times=3)
    with pytest.raises(MobiforceUnavailable) as caught:
        await client.get_task_list()
    assert isinstance(caught.value, UpstreamUnavailable) and sim.calls_of("get-task-list") == 3
    assert "недоступен" in caught.value.user_message


async def test_read_timeout_is_retried(sim: MobiforceSimulator) -> None:
    sim.fail_next("get-template-list", "timeout")
    async with make_client(sim, timeout=0.3) as quick:
        assert await quick.get_template_list() == []
    assert sim.calls_of("get-template-list") == 2


@pytest.mark.parametrize("command", ["create-task", "create-comment", "close-task"])
async def test_writes_are_never_retried(
    command: str, sim: MobiforceSimulator, client: MobiforceClient, account: Account
) -> None:
    task_id = await client.create_task(task_input(account))
    calls = {
        "create-task": lambda: client.create_task(task_input(account)),
        "create-comment": lambda: client.create_comment(task_id, "x"),
        "close-task": lambda: client.close_task(task_id, 74, "x"),
    }
    before = sim.calls_of(command)
    sim.fail_next(command, 503)
    with pytest.raises(MobiforceUnavailable):
        await calls[command]()
    assert sim.calls_of(command) == before + 1


async def test_write_timeout_is_not_retried(sim: MobiforceSimulator, account: Account) -> None:
    sim.fail_next("create-task", "timeout")
    async with make_client(sim, timeout=0.3) as quick:
        with pytest.raises(MobiforceUnavailable):
            await quick.create_task(task_input(account))
    assert sim.calls_of("create-task") == 1


async def test_vendor_errors_are_not_retried(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    with pytest.raises(MobiforceRejected):
        await client.get_contractor(1)
    assert sim.calls_of("get-contractor") == 1 and client.stats.errors["get-contractor"] == 1


async def test_sloppy_json_of_the_document_is_tolerated(
    sim: MobiforceSimulator, client: MobiforceClient, account: Account
) -> None:
    sim.fail_next("get-contractor", "trailing_commas")
    found = await client.get_contractor(account.client.id)
    assert found.name == "ООО «Ромашка»" and sim.calls_of("get-contractor") == 1


async def test_client_side_budget_raises_instead_of_waiting(sim: MobiforceSimulator) -> None:
    async with make_client(sim, per_minute=2, max_rate_wait=0.05) as slow:
        await slow.get_template_list()
        await slow.get_template_list()
        with pytest.raises(MobiforceLimitExceeded) as caught:
            await slow.get_template_list()
    assert isinstance(caught.value, RateLimited) and sim.calls_of("get-template-list") == 2


async def test_iterator_stops_at_max_pages_and_on_a_repeated_page(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    for n in range(35):
        sim.add_employee(f"Сотрудник {n}")
    assert len([e async for e in client.iter_employees(max_pages=2)]) == 20
    assert sim.calls_of("get-employee-list") == 2
    assert len([e async for e in client.iter_employees()]) == 35


async def test_key_never_in_logs_or_errors(
    sim: MobiforceSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with make_client(sim, timeout=0.3, retries=1) as c:
        sim.fail_next("get-task-list", "timeout")
        sim.fail_next("get-template-list", 500, times=2)
        errors: list[BaseException] = []
        for call in (c.get_task_list, c.get_template_list):
            try:
                await call()
            except MobiforceError as exc:
                errors.append(exc)
        assert "MobiforceClient" in repr(c) and KEY not in repr(c)
    async with make_client(sim, key=KEY + "-wrong") as wrong:
        with pytest.raises(MobiforceAuthError) as caught:
            await wrong.get_task_list()
        errors.append(caught.value)
    await sim.stop()
    async with make_client(sim, timeout=0.3, retries=0) as gone:
        with pytest.raises(MobiforceUnavailable) as down:
            await gone.get_task_list()
        errors.append(down.value)
    for error in errors:
        text = f"{error} {error!r} {error.user_message} {error.__context__!r} {error.__cause__!r}"
        assert KEY not in text
    assert len(errors) == 3
    assert KEY not in caplog.text


# --- get-task: the document's shape by default, a richer one as an option ------------------------


async def test_get_task_answers_exactly_the_documents_fields(
    sim: MobiforceSimulator, client: MobiforceClient, account: Account
) -> None:
    sample = json.loads((DATA / "get_task.json").read_text(encoding="utf-8"))
    task_id = await client.create_task(task_input(account, draft=False))
    await client.get_task(task_id)
    response = await _raw_get_task(sim, task_id)
    assert set(response) == set(sample)
    assert set(response["checklist"][0]) == set(sample["checklist"][0])


async def test_the_rich_shape_adds_executor_and_client_as_bare_ids_and_the_closing(
    account: Account,
) -> None:
    rich = MobiforceSimulator(KEY, clock=lambda: T0, task_shape="rich")
    await rich.start()
    try:
        template = rich.add_template("Доставка", visit_minutes=60)
        executor = rich.add_employee("Петров Иван")
        client_row = rich.add_contractor("ООО «Ромашка»", "г Москва")
        async with make_client(rich) as client:
            task_id = await client.create_task(
                TaskInput(template.id, client_row.id, executor.id, draft=False)
            )
            await client.close_task(task_id, 74, "Готово")
            task = await client.get_task(task_id)
        assert task.employee is not None and (task.employee.id, task.employee.name) == (
            executor.id,
            "",
        )
        assert task.contractor is not None and task.contractor.id == client_row.id
        assert task.closing_known and task.closed and task.results_description == "Готово"
    finally:
        await rich.stop()


async def _raw_get_task(sim: MobiforceSimulator, task_id: int) -> dict[str, Any]:
    assert sim.base_url is not None
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{sim.base_url}/v5/get-task",
            params={"id": task_id},
            headers={"Authorization": f"key={KEY}"},
        )
    return answer.json()  # type: ignore[no-any-return]
