"""The Mobiforce watcher against the simulator over loopback HTTP.

A small stand-in for the bot keeps the snapshots and commits them with the cursor, as the
bot's pipeline does, and knows what the bot would know of a task (the names of its synced
directories, what it set when it created a task), so each test runs real cycles: feed ->
get-task -> diff -> alerts. Every test runs twice: against get-task as the document shows it
(no executor, client, status or closing) and against an account that adds those (executor and
client as bare ids).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.base import Snapshot, WatchResult
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceUnavailable
from integrations.mobiforce.facts import TaskFacts, merge
from integrations.mobiforce.inputs import TaskInput
from integrations.mobiforce.models import Task
from integrations.mobiforce.watcher import KINDS, MobiforceWatcher, snapshot_of
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator, TaskShape

KEY = "mf-watch-key"
T0 = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)


class Bot:
    """What the bot does around a watcher: keep snapshots and the cursor, commit both; name
    executors and clients from its directories and remember what it set on a task."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.cursor: str | None = None
        self.employees: dict[int, str] = {}
        self.clients: dict[int, str] = {}
        self.remembered: dict[int, TaskFacts] = {}

    async def sync(self, client: MobiforceClient) -> None:
        self.employees = {e.id: e.name async for e in client.iter_employees()}
        self.clients = {c.id: c.name async for c in client.iter_contractors()}

    async def create(self, client: MobiforceClient, task: TaskInput) -> int:
        """/task new: create, and remember who the task is for and who does it."""
        task_id = await client.create_task(task)
        self.remembered[task_id] = TaskFacts(
            client_id=task.contractor_id,
            client=self.clients.get(task.contractor_id or 0, ""),
            executor_id=task.employee_id,
            executor=self.employees.get(task.employee_id or 0, ""),
        )
        return task_id

    async def remember(self, client: MobiforceClient, task_id: int) -> None:
        """The snapshot a chat's own read of the task leaves (/task, /task new)."""
        task = await client.get_task(task_id)
        self.snapshots[str(task_id)] = snapshot_of(task, (await self.facts([task]))[task_id])

    async def facts(self, tasks: Sequence[Task]) -> dict[int, TaskFacts]:
        return {
            t.id: merge(t, self.remembered.get(t.id), self.employees, self.clients) for t in tasks
        }

    async def read(self, ids: Collection[str] | None = None) -> dict[str, Snapshot]:
        if ids is None:
            return dict(self.snapshots)
        return {i: self.snapshots[i] for i in ids if i in self.snapshots}

    async def cycle(self, watcher: MobiforceWatcher) -> WatchResult:
        result = await watcher.poll(self.cursor)
        for subject_id, snapshot in result.snapshots.items():
            if snapshot is None:
                self.snapshots.pop(subject_id, None)
            else:
                self.snapshots[subject_id] = snapshot
        if result.cursor is not None:
            self.cursor = result.cursor
        return result


@pytest.fixture(params=["document", "rich"])
def shape(request: pytest.FixtureRequest) -> TaskShape:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def sim(shape: TaskShape) -> AsyncIterator[MobiforceSimulator]:
    simulator = MobiforceSimulator(KEY, clock=lambda: T0, task_shape=shape)
    await simulator.start()
    photo = simulator.add_field("Фото накладной", "6")
    amount = simulator.add_field("Сумма к оплате", "2")
    contact = simulator.add_field("Контактное лицо", "1")
    simulator.add_template(
        "Доставка",
        visit_minutes=120,
        props=[(contact, False)],
        checklist=[(photo, True), (amount, False)],
    )
    simulator.add_employee("Петров Иван", "79161234501")
    simulator.add_employee("Орлов Дмитрий", "79263330303")
    simulator.add_contractor("ООО «Ромашка»", "г Москва, Ленинский пр-кт, д 21")
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: MobiforceSimulator) -> AsyncIterator[MobiforceClient]:
    assert sim.base_url is not None
    async with MobiforceClient(sim.base_url, KEY, retries=0, timeout=2.0) as mobiforce:
        yield mobiforce


@pytest.fixture
async def bot(client: MobiforceClient) -> Bot:
    stand_in = Bot()
    await stand_in.sync(client)
    return stand_in


@pytest.fixture
def watcher(client: MobiforceClient, bot: Bot) -> MobiforceWatcher:
    return MobiforceWatcher(client, bot.read, max_tasks_per_cycle=50, facts=bot.facts)


def ids(sim: MobiforceSimulator) -> dict[str, int]:
    world = sim.world
    return {
        "template": next(iter(world.templates)),
        "petrov": next(e.id for e in world.employees.values() if e.name == "Петров Иван"),
        "orlov": next(e.id for e in world.employees.values() if e.name == "Орлов Дмитрий"),
        "client": next(iter(world.contractors)),
        "photo": next(f.id for f in world.fields.values() if f.type_id == "6"),
        "amount": next(f.id for f in world.fields.values() if f.type_id == "2"),
        "contact": next(f.id for f in world.fields.values() if f.type_id == "1"),
    }


def new_task(sim: MobiforceSimulator, *, draft: bool = False, **extra: Any) -> int:
    known = ids(sim)
    body: dict[str, Any] = {
        "template": {"id": known["template"]},
        "contractor": {"id": known["client"]},
        "employee": {"id": known["petrov"]},
        "draft": draft,
        "plannedVisitTime": "2024-05-13T15:00:00",
    }
    body.update(extra)
    return sim.add_task(body).id


async def started(bot: Bot, watcher: MobiforceWatcher) -> None:
    first = await bot.cycle(watcher)
    assert first.alerts == []


def test_kinds_are_the_documented_set() -> None:
    assert set(KINDS) == {
        "task.created",
        "task.sent",
        "task.assigned",
        "task.rescheduled",
        "task.checklist",
        "task.closed",
        "task.changed",
    }


async def test_first_start_does_not_replay_history(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    for _ in range(5):
        sim.employee_takes(new_task(sim))
    first = await bot.cycle(watcher)
    assert first.alerts == [] and first.cursor == str(sim.usn) and sim.usn == 10
    again = await bot.cycle(watcher)
    assert again.alerts == [] and again.cursor == first.cursor
    assert watcher.calls_last_cycle == 1  # one feed page, no get-task


async def test_first_start_on_a_long_history_catches_up_silently(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot
) -> None:
    for _ in range(3200):
        new_task(sim, draft=True)
    watcher = MobiforceWatcher(client, bot.read, max_catch_up_pages=1)
    first = await bot.cycle(watcher)
    assert first.alerts == [] and first.cursor == "catch-up:3000"
    second = await bot.cycle(watcher)
    assert second.alerts == [] and second.cursor == "3200"


async def test_created_task_alert_names_number_client_and_executor(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    """Whether get-task names them, gives bare ids, or (as documented) says nothing of them:
    the client and the executor the bot set are named."""
    await started(bot, watcher)
    known = ids(sim)
    task_id = await bot.create(
        client,
        TaskInput(known["template"], known["client"], known["petrov"], draft=True, number="A-17"),
    )
    result = await bot.cycle(watcher)
    [alert] = result.alerts
    assert alert.kind == "task.created" and alert.source == "mobiforce"
    assert alert.subject.type == "task" and alert.subject.id == "A-17"
    assert alert.subject.key == "task:A-17" and alert.subject.title == "№A-17 · ООО «Ромашка»"
    assert alert.subject.tags == ("Доставка",)
    assert alert.fields["task_number"] == "A-17" and alert.fields["client"] == "ООО «Ромашка»"
    assert alert.fields["executor"] == "Петров Иван" and alert.fields["draft"] is True
    assert alert.fields["task_id"] == task_id
    assert alert.dedupe_key == f"mobiforce:task:{task_id}:{sim.usn}"
    assert set(result.snapshots) == {str(task_id)} and result.cursor == str(sim.usn)


async def test_sent(
    sim: MobiforceSimulator,
    client: MobiforceClient,
    bot: Bot,
    watcher: MobiforceWatcher,
    shape: TaskShape,
) -> None:
    known = ids(sim)
    task_id = await bot.create(
        client, TaskInput(known["template"], known["client"], known["petrov"], draft=True)
    )
    await started(bot, watcher)
    await bot.remember(client, task_id)
    await client.update_task(
        task_id, TaskInput(known["template"], employee_id=known["orlov"], draft=False)
    )
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.sent" and alert.fields["client"] == "ООО «Ромашка»"
    if shape == "rich":  # the answer says who does it now
        assert alert.fields["executor"] == "Орлов Дмитрий"
        assert alert.fields["changes"] == "sent,assigned"  # one alert, both changes named
        assert alert.fields["previous_executor"] == "Петров Иван"
    else:  # the document's get-task does not: the executor the bot set is named
        assert alert.fields["executor"] == "Петров Иван" and "changes" not in alert.fields


async def watched_task(sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher) -> int:
    await started(bot, watcher)
    task_id = new_task(sim)
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.created"
    return task_id


async def test_assigned(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher, shape: TaskShape
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.operator_edits(task_id, employee_id=ids(sim)["orlov"])
    alerts = (await bot.cycle(watcher)).alerts
    if shape == "document":  # nothing get-task shows has changed: no guess
        assert alerts == []
        return
    [alert] = alerts
    assert alert.kind == "task.assigned" and "changes" not in alert.fields
    assert (alert.fields["executor"], alert.fields["previous_executor"]) == (
        "Орлов Дмитрий",
        "Петров Иван",
    )


async def test_rescheduled(sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.operator_edits(task_id, planned_start=T0 + timedelta(days=1))
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.rescheduled"
    assert alert.fields["planned_start"] == "2024-05-14T09:00:00+00:00"
    assert alert.fields["previous_planned_start"] == "2024-05-13T12:00:00+00:00"


async def test_checklist_names_fields_and_counts_photos(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher, shape: TaskShape
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    known = ids(sim)
    sim.employee_takes(task_id)
    sim.fill_field(task_id, known["photo"], 3)
    sim.fill_field(task_id, known["amount"], 1200)
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.checklist"
    assert alert.fields["checklist"] == "Фото накладной: 3 📷; Сумма к оплате: 1200"
    assert alert.fields["photos_added"] == 3
    assert (alert.fields["checklist_filled"], alert.fields["checklist_total"]) == (2, 2)
    if shape == "rich":
        assert alert.fields["changes"] == "checklist,status"
        assert alert.fields["status"] == "В работе"
    else:
        assert "changes" not in alert.fields and "status" not in alert.fields
    sim.fill_field(task_id, known["photo"], 5)
    [more] = (await bot.cycle(watcher)).alerts
    assert more.fields["photos_added"] == 2 and more.fields["checklist"] == "Фото накладной: 5 📷"


async def test_closed(
    sim: MobiforceSimulator,
    client: MobiforceClient,
    bot: Bot,
    watcher: MobiforceWatcher,
    shape: TaskShape,
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    await client.close_task(task_id, 74, "Задача отменена клиентом")
    alerts = (await bot.cycle(watcher)).alerts
    if shape == "document":  # get-task shows no closing: nothing is claimed
        assert alerts == []
        return
    [alert] = alerts
    assert alert.kind == "task.closed" and alert.fields["result"] == "Задача отменена клиентом"
    assert alert.fields["closed_at"] == T0.isoformat()


async def test_finished_by_the_employee(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher, shape: TaskShape
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.employee_takes(task_id)
    sim.fill_field(task_id, ids(sim)["photo"], 4)
    sim.finish(task_id)
    [alert] = (await bot.cycle(watcher)).alerts
    if shape == "document":  # the report is what the document shows
        assert (
            alert.kind == "task.checklist" and alert.fields["checklist"] == "Фото накладной: 4 📷"
        )
        return
    assert alert.kind == "task.closed" and alert.fields["result_status"] == "Выполнено"
    assert "checklist" in alert.fields["changes"]  # type: ignore[operator]


async def test_changed_for_what_has_no_kind(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher, shape: TaskShape
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.operator_edits(task_id, address="г Москва, Варшавское ш, д 125")
    alerts = (await bot.cycle(watcher)).alerts
    if shape == "document":  # the document's get-task has no address
        assert alerts == []
        return
    [alert] = alerts
    assert (
        alert.kind == "task.changed" and alert.fields["address"] == "г Москва, Варшавское ш, д 125"
    )


async def test_a_task_field_changed_names_it(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    known = ids(sim)
    task_id = await bot.create(
        client,
        TaskInput(known["template"], known["client"], draft=True, props={known["contact"]: "Анна"}),
    )
    await started(bot, watcher)
    await bot.remember(client, task_id)
    await client.update_task(
        task_id, TaskInput(known["template"], props={known["contact"]: "Олег"})
    )
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.changed" and alert.fields["props"] == "Контактное лицо: Олег"
    assert alert.fields["client"] == "ООО «Ромашка»"


async def test_a_feed_row_with_nothing_new_is_silent(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    await client.create_comment(task_id, "позвонить за час")  # get-task shows no comments
    result = await bot.cycle(watcher)
    assert result.alerts == [] and result.cursor == str(sim.usn)


async def test_snapshot_stored_by_the_bot_is_the_baseline(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    await started(bot, watcher)
    known = ids(sim)
    # The chat creates a task and stores its snapshot: its own creation is not announced…
    task_id = await client.create_task(
        TaskInput(known["template"], known["client"], known["petrov"], draft=False)
    )
    await bot.remember(client, task_id)
    assert (await bot.cycle(watcher)).alerts == []
    # …but what the executor does next is, diffed against that snapshot.
    sim.employee_takes(task_id)
    sim.fill_field(task_id, ids(sim)["photo"], 2)
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.checklist" and alert.fields["photos_added"] == 2


async def test_an_old_task_seen_first_is_not_called_new(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = new_task(sim)
    await started(bot, watcher)
    sim.advance(timedelta(hours=3))
    sim.operator_edits(task_id, planned_start=T0 + timedelta(hours=5))
    [alert] = (await bot.cycle(watcher)).alerts
    assert (
        alert.kind == "task.changed"
        and alert.fields["planned_start"] == "2024-05-13T14:00:00+00:00"
    )


async def test_cap_per_cycle_loses_nothing(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot
) -> None:
    watcher = MobiforceWatcher(client, bot.read, max_tasks_per_cycle=3)
    await started(bot, watcher)
    created = [new_task(sim) for _ in range(7)]
    seen: list[int] = []
    cursors: list[int] = []
    for _ in range(3):
        result = await bot.cycle(watcher)
        assert watcher.calls_last_cycle <= 1 + 3
        seen += [int(a.fields["task_id"]) for a in result.alerts]  # type: ignore[arg-type]
        cursors.append(int(bot.cursor or 0))
    assert seen == created and cursors == [3, 6, 7]
    assert (await bot.cycle(watcher)).alerts == []


async def test_calls_per_cycle_bounded_by_the_cap_not_the_updates(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot
) -> None:
    watcher = MobiforceWatcher(client, bot.read, max_tasks_per_cycle=50)
    await started(bot, watcher)
    tasks = [new_task(sim, draft=True) for _ in range(1000)]
    for task_id in tasks:
        sim.operator_edits(task_id, address="г Москва, ул Покровка, д 17")
    result = await bot.cycle(watcher)
    assert len(result.alerts) == 50 and watcher.calls_last_cycle == 1 + 50
    assert sim.calls_of("get-task") == 50


async def test_a_failed_cycle_keeps_the_cursor(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot
) -> None:
    watcher = MobiforceWatcher(client, bot.read, concurrency=1)
    await started(bot, watcher)
    before = bot.cursor
    created = [new_task(sim) for _ in range(2)]
    sim.fail_next("get-task", 503)
    with pytest.raises(MobiforceUnavailable):
        await bot.cycle(watcher)
    assert bot.cursor == before
    result = await bot.cycle(watcher)
    assert [a.fields["task_id"] for a in result.alerts] == created


async def test_demo_tasks_move_within_simulated_minutes(shape: TaskShape) -> None:
    sim = MobiforceSimulator("demo", clock=lambda: T0, seed_demo=True, task_shape=shape)
    await sim.start()
    assert sim.base_url is not None
    bot = Bot()
    try:
        async with MobiforceClient(sim.base_url, "demo", retries=0) as client:
            watcher = MobiforceWatcher(client, bot.read)
            await started(bot, watcher)
            kinds: set[str] = set()
            for _ in range(10):
                sim.advance(timedelta(minutes=2))
                kinds |= {alert.kind for alert in (await bot.cycle(watcher)).alerts}
            assert {"task.checklist", "task.created"} <= kinds
            assert ("task.closed" in kinds) == (shape == "rich")
    finally:
        await sim.stop()


async def test_a_task_that_is_gone_loses_its_snapshot_and_the_feed_moves_on(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.operator_edits(task_id, planned_start=T0 + timedelta(days=2))
    sim.force_error("get-task", 400, code=2, description=f"Задача {task_id} не найдена")
    result = await bot.cycle(watcher)
    assert result.alerts == [] and result.cursor == str(sim.usn)
    assert result.snapshots == {str(task_id): None} and watcher.skipped_total == 0


async def test_a_refusal_that_does_not_say_gone_is_skipped_counted_and_kept(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    before = bot.snapshots[str(task_id)]
    sim.operator_edits(task_id, planned_start=T0 + timedelta(days=2))
    sim.force_error("get-task", 400, description="что то пошло не так")
    [notice] = (await bot.cycle(watcher)).alerts
    assert notice.kind == "system.events_skipped" and notice.subject.key == "integration:mobiforce"
    assert notice.fields == {"skipped_task_ids": str(task_id), "skipped_total": 1}
    assert bot.cursor == str(sim.usn) and bot.snapshots[str(task_id)] == before  # not "gone"
    sim.operator_edits(task_id, planned_start=T0 + timedelta(days=3))
    [alert] = (await bot.cycle(watcher)).alerts  # read again later: diffed against the old one
    assert alert.kind == "task.rescheduled"


async def test_a_task_that_does_not_parse_never_jams_the_feed(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    await started(bot, watcher)
    broken, fine = new_task(sim), new_task(sim)
    sim.answer_task_with(broken, createdAt="вчера вечером")  # a date in no known form
    result = await bot.cycle(watcher)
    assert sorted(alert.kind for alert in result.alerts) == [
        "system.events_skipped",
        "task.created",
    ]
    notice = next(a for a in result.alerts if a.kind == "system.events_skipped")
    assert notice.fields["skipped_task_ids"] == str(broken)
    assert next(a for a in result.alerts if a.kind == "task.created").fields["task_id"] == fine
    assert result.cursor == str(sim.usn) and watcher.skipped_total == 1
    assert (await bot.cycle(watcher)).alerts == []  # skipped past, not read again and again


async def test_dates_as_russian_services_write_them_parse(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.answer_task_with(task_id, plannedVisitTime="14.05.2024 15:30")
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.rescheduled"
    assert alert.fields["planned_start"] == "2024-05-14T12:30:00+00:00"  # Moscow time


async def test_a_task_not_started_by_its_planned_start_and_a_grace_is_told_overdue_once(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot
) -> None:
    watcher = MobiforceWatcher(
        client, bot.read, facts=bot.facts, overdue_after=timedelta(minutes=30), clock=sim.now
    )
    await started(bot, watcher)
    late = new_task(sim, plannedVisitTime="2024-05-13T10:00:00Z")
    busy = new_task(sim, plannedVisitTime="2024-05-13T10:00:00Z")
    sim.employee_takes(late)
    sim.employee_takes(busy)
    assert "task.overdue" not in [a.kind for a in (await bot.cycle(watcher)).alerts]
    sim.advance(timedelta(minutes=65))  # 10:05: the executor starts on one of them
    sim.fill_field(busy)
    await bot.cycle(watcher)
    sim.advance(timedelta(minutes=24))  # 10:29
    assert (await bot.cycle(watcher)).alerts == []
    sim.advance(timedelta(minutes=2))  # 10:31: half an hour past the planned start
    [alert] = (await bot.cycle(watcher)).alerts
    number = sim.task(late).number
    assert (alert.kind == "task.overdue" and alert.subject.key == f"task:{number.lower()}") or (
        alert.subject.id == number
    )
    assert alert.fields["planned_start"] == "2024-05-13T10:00:00+00:00"
    sim.advance(timedelta(hours=2))
    assert (await bot.cycle(watcher)).alerts == []  # told once
    sim.fill_field(late)  # it started after all: a change (which ends its escalation)
    assert [a.kind for a in (await bot.cycle(watcher)).alerts] in (
        ["task.checklist"],
        ["task.changed"],
    )
