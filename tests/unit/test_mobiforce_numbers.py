"""Numbers and dates as people and Mobiforce write them: task numbers typed with or without
their sign and leading zeros, the number field of a task, the bot's own task numbers, the
dates the document shows (and ДД.ММ.ГГГГ ЧЧ:ММ), refusals that say a task is gone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.pipeline import AlertPipeline, filter_key
from handlers.mobiforce.numbers import is_marker, new_marker, typed_number
from integrations.base import Alert, Subject
from integrations.mobiforce.errors import error_from_response, says_gone
from integrations.mobiforce.inputs import TaskInput, parse_number
from integrations.mobiforce.models import Task, parse_time
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database, utcnow


@pytest.mark.parametrize(
    ("typed", "number"),
    [("23", "23"), ("№000023", "000023"), ("# 23", "23"), ("№ TG-1", "TG-1"), (" 7 ", "7")],
)
def test_a_typed_number(typed, number):
    assert typed_number(typed) == number


@pytest.mark.parametrize("typed", ["", "№", "23 24", "x" * 41])
def test_not_a_number(typed):
    assert typed_number(typed) is None


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1200", 1200), ("1 200", 1200), ("99,5", 99.5), ("-3", -3), ("+7.25", 7.25), ("0", 0)],
)
def test_a_number_field_takes_numbers_as_people_type_them(typed, value):
    assert parse_number(typed) == value and type(parse_number(typed)) is type(value)


@pytest.mark.parametrize(
    "typed", ["inf", "-inf", "nan", "NaN", "1e308", "1e5", "10000000000000", "1,2,3", "", "пять"]
)
def test_a_number_field_refuses_what_is_not_a_sensible_number(typed):
    with pytest.raises(ValueError):
        parse_number(typed)


def test_no_infinity_is_ever_sent():
    with pytest.raises(ValueError):
        TaskInput(828, props={2302: float("inf")}).to_wire()


def test_the_bots_own_numbers():
    marker = new_marker(datetime(2024, 5, 13, 9, tzinfo=UTC))
    assert marker.startswith("TG-240513-") and is_marker(marker) and len(marker) == 14
    assert new_marker(datetime(2024, 5, 13, tzinfo=UTC)) != marker
    assert not is_marker("000023") and not is_marker("TG-1")


def test_subject_filters_compare_without_leading_zeros():
    assert filter_key("task:23") == filter_key("task:000023") == "task:23"
    assert filter_key("Task:A-17") == "task:a-17" and filter_key("task:000") == "task:0"
    assert filter_key("driver:79990000001") == "driver:79990000001"


async def test_a_subscription_to_task_23_hears_task_000023(tmp_path):
    async with Database(tmp_path / "a.sqlite3") as db:
        repos = Repos.on(db)
        await repos.chats.upsert(
            -100, type="group", title="g", status=ChatStatus.APPROVED, added_by=1
        )
        await repos.subscriptions.add(-100, 0, "all", "task:23", by=1)
        alert = Alert(
            kind="task.changed",
            source="mobiforce",
            subject=Subject("task", "000023", "№000023"),
            occurred_at=utcnow(),
            dedupe_key="mobiforce:task:5:1",
        )
        assert await AlertPipeline(repos, ZoneInfo("Europe/Moscow")).commit("m", [alert], None)
        assert [row.chat_id for row in await repos.outbox.due()] == [-100]


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2021-10-29T09:48:36Z", datetime(2021, 10, 29, 9, 48, 36, tzinfo=UTC)),
        ("2021-01-01T15:00:00", datetime(2021, 1, 1, 12, tzinfo=UTC)),  # Moscow time
        ("2022-11-26 00:45:06", datetime(2022, 11, 25, 21, 45, 6, tzinfo=UTC)),
        ("1636723472", datetime(2021, 11, 12, 13, 24, 32, tzinfo=UTC)),
        ("26.11.2022 00:45", datetime(2022, 11, 25, 21, 45, tzinfo=UTC)),
        ("26.11.2022 00:45:06", datetime(2022, 11, 25, 21, 45, 6, tzinfo=UTC)),
        ("6.1.2023", datetime(2023, 1, 5, 21, tzinfo=UTC)),
        ("", None),
        ("0000-00-00 00:00:00", None),
    ],
)
def test_dates_in_the_documents_forms_and_as_russian_services_write_them(text, moment):
    assert parse_time(text) == moment


def test_a_task_with_a_date_in_no_known_form_does_not_parse():
    with pytest.raises(ValueError):
        Task.model_validate({"id": 1, "plannedVisitTime": "завтра утром"})


def test_what_a_task_answer_can_tell():
    documented = Task.model_validate({"id": 1, "name": "1111", "draft": False})
    assert not documented.closing_known and not documented.carries("employee")
    richer = Task.model_validate({"id": 1, "status": None, "employee": {"id": 2977}})
    assert richer.closing_known and not richer.closed and richer.carries("employee")
    assert richer.employee is not None and richer.employee.id == 2977


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Задача 123 не найдена", True),
        ("Задача удалена", True),
        ("task not found", True),
        ("что то пошло не так", False),
        ("", False),
    ],
)
def test_a_refusal_is_gone_only_when_it_says_so(text, gone):
    error = error_from_response("get-task", 400, {"code": 2, "description": text})
    assert says_gone(error) is gone
