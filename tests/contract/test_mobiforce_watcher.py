"""The Mobiforce watcher against the simulator over loopback HTTP.

A small stand-in for the bot keeps the snapshots and commits them with the cursor, as the
bot's pipeline does, so each test runs real cycles: feed -> get-task -> diff -> alerts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.base import Snapshot, WatchResult
from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceUnavailable
from integrations.mobiforce.inputs import TaskInput
from integrations.mobiforce.watcher import KINDS, MobiforceWatcher, snapshot_of
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator

KEY = "mf-watch-key"
T0 = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)


class Bot:
    """What the bot does around a watcher: keep snapshots and the cursor, commit both."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.cursor: str | None = None

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


@pytest.fixture
async def sim() -> AsyncIterator[MobiforceSimulator]:
    simulator = MobiforceSimulator(KEY, clock=lambda: T0)
    await simulator.start()
    photo = simulator.add_field("Фото накладной", "6")
    amount = simulator.add_field("Сумма к оплате", "2")
    simulator.add_template(
        "Доставка", visit_minutes=120, checklist=[(photo, True), (amount, False)]
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
def bot() -> Bot:
    return Bot()


@pytest.fixture
def watcher(client: MobiforceClient, bot: Bot) -> MobiforceWatcher:
    return MobiforceWatcher(client, bot.read, max_tasks_per_cycle=50)


def ids(sim: MobiforceSimulator) -> dict[str, int]:
    world = sim.world
    return {
        "template": next(iter(world.templates)),
        "petrov": next(e.id for e in world.employees.values() if e.name == "Петров Иван"),
        "orlov": next(e.id for e in world.employees.values() if e.name == "Орлов Дмитрий"),
        "client": next(iter(world.contractors)),
        "photo": next(f.id for f in world.fields.values() if f.type_id == "6"),
        "amount": next(f.id for f in world.fields.values() if f.type_id == "2"),
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


async def test_created_task_alert_names_number_and_client(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    await started(bot, watcher)
    known = ids(sim)
    task_id = await client.create_task(
        TaskInput(known["template"], known["client"], known["petrov"], draft=True, number="A-17")
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
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = new_task(sim, draft=True)
    await started(bot, watcher)
    bot.snapshots[str(task_id)] = snapshot_of(await client.get_task(task_id))
    known = ids(sim)
    await client.update_task(
        task_id, TaskInput(known["template"], employee_id=known["orlov"], draft=False)
    )
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.sent" and alert.fields["executor"] == "Орлов Дмитрий"
    assert alert.fields["changes"] == "sent,assigned"  # one alert, both changes named
    assert alert.fields["previous_executor"] == "Петров Иван"


async def watched_task(sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher) -> int:
    await started(bot, watcher)
    task_id = new_task(sim)
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.created"
    return task_id


async def test_assigned(sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.operator_edits(task_id, employee_id=ids(sim)["orlov"])
    [alert] = (await bot.cycle(watcher)).alerts
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
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
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
    assert alert.fields["changes"] == "checklist,status" and alert.fields["status"] == "В работе"
    sim.fill_field(task_id, known["photo"], 5)
    [more] = (await bot.cycle(watcher)).alerts
    assert more.fields["photos_added"] == 2 and more.fields["checklist"] == "Фото накладной: 5 📷"


async def test_closed(
    sim: MobiforceSimulator, client: MobiforceClient, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    await client.close_task(task_id, 74, "Задача отменена клиентом")
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.closed" and alert.fields["result"] == "Задача отменена клиентом"
    assert alert.fields["closed_at"] == T0.isoformat()


async def test_finished_by_the_employee_is_closed(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.employee_takes(task_id)
    sim.fill_field(task_id)
    sim.finish(task_id)
    [alert] = (await bot.cycle(watcher)).alerts
    assert alert.kind == "task.closed" and alert.fields["result_status"] == "Выполнено"
    assert "checklist" in alert.fields["changes"]  # type: ignore[operator]


async def test_changed_for_what_has_no_kind(
    sim: MobiforceSimulator, bot: Bot, watcher: MobiforceWatcher
) -> None:
    task_id = await watched_task(sim, bot, watcher)
    sim.operator_edits(task_id, address="г Москва, Варшавское ш, д 125")
    [alert] = (await bot.cycle(watcher)).alerts
    assert (
        alert.kind == "task.changed" and alert.fields["address"] == "г Москва, Варшавское ш, д 125"
    )


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
    bot.snapshots[str(task_id)] = snapshot_of(await client.get_task(task_id))
    assert (await bot.cycle(watcher)).alerts == []
    # …but what the executor does next is, diffed against that snapshot.
    sim.employee_takes(task_id)
    [alert] = (await bot.cycle(watcher)).alerts
    assert (
        alert.kind == "task.changed" and alert.fields["previous_status"] == "Отправлена исполнителю"
    )


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


async def test_demo_tasks_move_within_simulated_minutes() -> None:
    sim = MobiforceSimulator("demo", clock=lambda: T0, seed_demo=True)
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
            assert {"task.checklist", "task.closed", "task.created"} <= kinds
    finally:
        await sim.stop()
