"""History (the digests' and /report's) and the digests' sent-marks, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.pipeline import AlertPipeline
from bot.history.recorder import ActionRecorder
from integrations.base import Alert, Subject
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database, set_clock
from storage.digest_marks import CLAIM_LEASE
from storage.history import HistoryEvent
from storage.retention import Retention, prune

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)

GROUP = -1001
OTHER = -1002
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
async def repos(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        for chat in (GROUP, OTHER):
            await repos.chats.upsert(
                chat, type="group", title="g", status=ChatStatus.APPROVED, added_by=1
            )
        yield repos


@pytest.fixture
def clock():
    now = [T0]
    set_clock(lambda: now[0])
    yield now
    set_clock(None)


def event(chat: int, minutes_after: int, key: str, **options) -> HistoryEvent:
    return HistoryEvent(
        chat,
        0,
        T0 + timedelta(minutes=minutes_after),
        "drivers",
        "driver.late",
        "driver:1",
        key,
        **options,
    )


async def test_a_chats_range_is_read_alone_oldest_first_and_an_event_is_kept_once(repos):
    await repos.history.record([event(GROUP, 30, "b"), event(GROUP, 10, "a")])
    await repos.history.record([event(OTHER, 20, "c"), event(GROUP, 10, "a")])  # "a" again
    await repos.history.record([event(GROUP, 24 * 60, "late-next-day")])
    read = await repos.history.between(GROUP, 0, T0, T0 + timedelta(days=1))
    assert [e.dedupe_key for e in read] == ["a", "b"]
    assert read[0].at == T0 + timedelta(minutes=10)


async def test_numbers_money_and_fields_come_back_as_written(repos):
    await repos.history.record(
        [event(GROUP, 1, "m", minutes=17, amount=Decimal("950.50"), fields={"place": "Тверь"})]
    )
    (got,) = await repos.history.between(GROUP, 0, T0, T0 + timedelta(hours=1))
    assert got.minutes == 17 and got.amount == Decimal("950.50")
    assert got.fields == {"place": "Тверь"}


async def test_the_pipeline_records_each_chat_that_heard_an_alert_with_time_to_close(repos, clock):
    await repos.subscriptions.add(GROUP, 0, "area:tasks", by=1)
    await repos.subscriptions.add(OTHER, 0, "area:drivers", by=1)
    pipeline = AlertPipeline(repos, ZoneInfo("Europe/Moscow"))
    task = Subject("task", "T-7", "№T-7")
    created = Alert("task.created", "mobiforce", task, T0, "mf:1")
    await pipeline.commit("mobiforce", [created], None)
    clock[0] = T0 + timedelta(hours=2)
    closed = Alert(
        "task.closed",
        "mobiforce",
        task,
        clock[0],
        "mf:2",
        fields={"closed_at": (T0 + timedelta(minutes=95)).isoformat()},
    )
    system = Alert("system.test", "test", Subject("test", "1"), clock[0], "sys:1")
    await pipeline.commit("mobiforce", [closed, system], None)
    read = await repos.history.between(GROUP, 0, T0, T0 + timedelta(days=1))
    assert [(e.kind, e.area, e.minutes) for e in read] == [
        ("task.created", "tasks", None),
        ("task.closed", "tasks", 95),
    ]
    assert await repos.history.between(OTHER, 0, T0, T0 + timedelta(days=1)) == []


async def test_the_recorder_keeps_one_row_per_action_and_its_numbers(repos, clock):
    recorder = ActionRecorder(repos)
    order = {"source": "Ленина 1", "dest": "Вокзал", "cost": "450.00"}
    await recorder.taxi_ordered(GROUP, 0, 555, order)
    await recorder.taxi_ordered(GROUP, 0, 555, order)  # found again after a lost answer
    await recorder.task_created(GROUP, 0, "T-1", 11)
    clock[0] = T0 + timedelta(minutes=42)
    await recorder.task_closed(GROUP, 0, "T-1", 11)
    await recorder.wagons_tracked(GROUP, 0, ["wagon:54676515"], "h1", on=True)
    await recorder.escalation_acked(
        GROUP, 0, "driver:1", raised_at=T0, acked_at=T0 + timedelta(minutes=7), by=5
    )
    read = await repos.history.between(GROUP, 0, T0, T0 + timedelta(days=1))
    assert [(e.kind, e.minutes, e.amount) for e in read] == [
        ("action.taxi_ordered", None, Decimal("450")),
        ("action.task_created", None, None),
        ("escalation.acked", 7, None),
        ("action.task_closed", 42, None),
        ("action.wagon_on", None, None),
    ]
    assert read[0].subject_title == "Ленина 1 → Вокзал"


async def test_a_digest_is_claimed_once_and_a_dead_claim_is_taken_over_after_its_lease(repos):
    day = "2026-12-01"
    assert await repos.digest_marks.claim(GROUP, 0, day, T0)
    assert not await repos.digest_marks.claim(GROUP, 0, day, T0 + timedelta(minutes=1))
    assert await repos.digest_marks.claim(GROUP, 0, day, T0 + CLAIM_LEASE + timedelta(seconds=1))
    await repos.digest_marks.sent(GROUP, 0, day, T0, message_id=5, late=True)
    assert not await repos.digest_marks.claim(GROUP, 0, day, T0 + timedelta(days=1))
    assert await repos.digest_marks.state(GROUP, 0, day) == ("sent", True)
    await repos.digest_marks.skip(OTHER, 0, day, T0)
    assert not await repos.digest_marks.claim(OTHER, 0, day, T0)
    marked = await repos.digest_marks.marked([day, "2026-12-02"], T0)
    assert marked == {(GROUP, 0, day), (OTHER, 0, day)}
    # A claim whose sender died is owed again once its lease is over.
    await repos.digest_marks.claim(GROUP, 0, "2026-12-02", T0)
    assert (GROUP, 0, "2026-12-02") in await repos.digest_marks.marked(["2026-12-02"], T0)
    later = T0 + CLAIM_LEASE + timedelta(seconds=1)
    assert await repos.digest_marks.marked(["2026-12-02"], later) == set()


async def test_history_and_marks_keep_history_days(repos):
    await repos.history.record([event(GROUP, 0, "old"), event(GROUP, 60 * 24 * 20, "new")])
    await repos.digest_marks.skip(GROUP, 0, "2026-12-01", T0)
    removed = await prune(repos.db, T0 + timedelta(days=15), Retention(history_days=10))
    assert removed == {"history": 1, "digest_marks": 1}
    left = await repos.history.between(GROUP, 0, T0, T0 + timedelta(days=30))
    assert [e.dedupe_key for e in left] == ["new"]


async def test_a_range_streams_in_batches_each_event_once_even_at_equal_times(repos):
    same = [event(GROUP, 5, f"same-{n}") for n in range(5)]
    await repos.history.record([event(GROUP, 1, "first"), *same, event(GROUP, 9, "last")])
    batches = [
        [e.dedupe_key for e in batch]
        async for batch in repos.history.stream_between(
            GROUP, 0, T0, T0 + timedelta(hours=1), batch=2
        )
    ]
    assert [len(b) for b in batches] == [2, 2, 2, 1]
    assert [key for b in batches for key in b] == [
        "first",
        *(f"same-{n}" for n in range(5)),
        "last",
    ]
