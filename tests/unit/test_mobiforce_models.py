"""Mobiforce models and request builders against the document's own samples (as published,
trailing commas included) and the loose habits of its JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from integrations.mobiforce.inputs import Address, ContractorInput, PersonInput, TaskInput
from integrations.mobiforce.models import (
    Contractor,
    Created,
    Employee,
    Task,
    TaskUpdateEvent,
    Template,
    Update,
    parse_time,
)
from integrations.mobiforce.wire import parse_json

DATA = Path(__file__).parent.parent / "data" / "mobiforce"


def sample(name: str) -> object:
    return parse_json((DATA / name).read_bytes())


def test_document_samples_with_trailing_commas_parse() -> None:
    with pytest.raises(ValueError):
        json.loads((DATA / "get_contractor.json").read_text())
    contractor = Contractor.model_validate(sample("get_contractor.json"))
    assert contractor.id == 1903968 and contractor.parent is None and contractor.lat is None
    assert contractor.phones == ["+7 555 55 55 55"]
    assert contractor.phone[0].contractor_person is None
    assert contractor.created_at == datetime(2021, 11, 12, 13, 24, 32, tzinfo=UTC)


def test_task_sample() -> None:
    task = Task.model_validate(sample("get_task.json"))
    assert (task.id, task.number, task.draft) == (522075, "1111", True)
    assert task.planned_start == datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert task.template is not None and task.template.id == 828
    photo = task.checklist[0]
    assert photo.is_photo and not photo.is_filled and photo.field_id == 2303
    assert task.props[0].value == 100 and task.props[0].is_filled
    # get-task documents no executor, client or status: all absent, the task is not closed.
    assert task.employee is None and task.contractor is None and not task.closed


def test_task_tolerates_undocumented_fields() -> None:
    task = Task.model_validate(
        {
            "id": 5,
            "name": "",
            "employee": {"id": "0"},
            "contractor": "NULL",
            "status": "Выполнена",
            "closedAt": "2024-05-13 12:00:00",
            "somethingNew": [1, 2],
        }
    )
    assert task.number == "5" and task.employee is None and task.contractor is None
    assert task.status is not None and task.status.name == "Выполнена"
    assert task.closed and task.closed_at == datetime(2024, 5, 13, 9, tzinfo=UTC)
    assert task.model_extra == {"somethingNew": [1, 2]}


@pytest.mark.parametrize("name", ["get_updates_task.json", "get_updates_generic.json"])
def test_feed_accepts_task_id_and_object_id(name: str) -> None:
    rows = TypeAdapter(list[Update]).validate_python(sample(name))
    assert [(row.usn, row.object_id) for row in rows] == [(363, 655621), (448, 655634)]
    assert rows[0].time == datetime(2022, 11, 25, 21, 45, 6, tzinfo=UTC)  # Moscow time


def test_other_samples() -> None:
    employees = TypeAdapter(list[Employee]).validate_python(sample("get_employee_list.json"))
    assert [(e.id, e.mobile_role) for e in employees] == [(2977, False), (3091, True)]
    template = Template.model_validate(sample("get_template.json"))
    assert template.duration is not None and template.duration.total_seconds() == 7200
    assert template.checklist[0].field.id == 1701
    events = TypeAdapter(list[TaskUpdateEvent]).validate_python(sample("get_taskupdates.json"))
    assert (events[0].id, events[0].task_id) == (1867878, 8298402)


@pytest.mark.parametrize("answer", [{"id": 111}, {"id": "111"}, 111, "111", [{"id": 111}]])
def test_created_id_in_every_shape(answer: object) -> None:
    assert Created.model_validate(answer).id == 111


def test_parse_time_forms() -> None:
    assert parse_time("2021-01-01T12:00:00Z") == datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert parse_time("2021-01-01T15:00:00") == datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert parse_time("1636723472") == datetime(2021, 11, 12, 13, 24, 32, tzinfo=UTC)
    assert parse_time("") is None and parse_time("0") is None and parse_time(None) is None


def test_task_body_is_what_the_document_shows() -> None:
    body = TaskInput(
        template_id=828,
        contractor_id=12211,
        employee_id=8,
        draft=False,
        number="1111",
        address=Address("Ленинский проспект 21", porch="1", lat=55.7, lon=37.6),
        planned_start=datetime(2021, 1, 1, 12, tzinfo=UTC),
        props={2302: 100},
    ).to_wire()
    assert body == {
        "number": "1111",
        "template": {"id": 828},
        "employee": {"id": 8},
        "contractor": {"id": 12211},
        "draft": False,
        "address": "Ленинский проспект 21",
        "addressPorch": "1",
        "lat": "55.700000",
        "lon": "37.600000",
        "plannedVisitTime": "2021-01-01T15:00:00",  # Moscow time, as in the sample
        "props": [{"field": {"id": 2302}, "value": 100}],
    }


def test_contractor_body_fixes_the_sample_json() -> None:
    body = ContractorInput(
        "ООО ‘Ромашка’",
        external_id="11123344",
        phones=["832874834"],
        persons=[PersonInput("Александр", ["1234567"])],
    ).to_wire()
    assert body == {
        "externalId": "11123344",
        "name": "ООО ‘Ромашка’",
        "person": [{"name": "Александр", "phone": [{"name": "1234567"}]}],
        "phone": [{"name": "832874834"}],
    }
