"""Mobiforce changes become alerts in the watching chats, end to end: simulator -> the real
watcher under APScheduler -> outbox -> sender -> Telegram emulator."""

import logging

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from tests.e2e.conftest import eventually

ADMIN = 81
WATCHING, AREA, SILENT = -100510, -100520, -100530
KEY = "mobiforce-alert-key"
POLL = 5


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


@pytest.fixture(params=["document", "rich"])
async def world(request, tmp_path, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    sim = MobiforceSimulator(KEY, auto_employees=False, task_shape=request.param)
    await sim.start()
    photo = sim.add_field("Фото накладной", "6")
    template = sim.add_template("Монтаж", visit_minutes=60, checklist=[(photo, True)])
    petrov = sim.add_employee("Петров Иван", "79161234501")
    client = sim.add_contractor("ООО «Ромашка»", "г Москва")
    task = sim.add_task(
        {
            "template": {"id": template.id},
            "contractor": {"id": client.id},
            "employee": {"id": petrov.id},
            "draft": False,
            "plannedVisitTime": "2030-01-10T15:00:00",
        }
    )
    other = sim.add_task({"template": {"id": template.id}, "contractor": {"id": client.id}})
    settings = {
        "mobiforce_base_url": sim.base_url,
        "mobiforce_api_key": KEY,
        "mobiforce_poll_seconds": POLL,
    }
    async with BotHarness(
        tmp_path, database_url=database_url, admin_ids=[ADMIN], settings=settings
    ) as h:
        for chat, title in ((WATCHING, "Монтажники"), (AREA, "Все задачи"), (SILENT, "Склад")):
            h.emu.add_group(chat, title, supergroup=True)
            h.emu.add_bot_to_group(ADMIN, chat)
            await h.emu.wait_for_message(chat)  # the welcome
        await h.app.services["mobiforce"].directory.synced.wait()
        # The group asks about the task (the bot keeps its first snapshot) and watches it.
        await h.say(ADMIN, f"/task {task.number}", chat_id=WATCHING)
        await h.app.repos.subscriptions.add(WATCHING, 0, "all", f"task:{task.number}", by=ADMIN)
        await h.app.repos.subscriptions.add(AREA, 0, "area:tasks", by=ADMIN)
        # The first cycle only takes the newest usn: history is not replayed.
        await eventually(lambda: h.app.repos.alert_state.cursor("mobiforce"), timeout=3 * POLL)
        yield sim, h, task, other
        assert not h.emu.rejected_calls()
    await sim.stop()
    assert KEY not in caplog.text


def alert_texts(h, chat):
    return [m["text"] for m in h.emu.messages(chat) if "Принял" in str(m.get("reply_markup"))]


async def test_a_change_reaches_the_watching_group_as_one_alert_naming_what_changed(world):
    sim, h, task, other = world
    assert alert_texts(h, WATCHING) == [] and alert_texts(h, AREA) == []
    sim.employee_takes(task.id)
    sim.fill_field(task.id, value=3)  # three photos of the waybill, in one cycle
    sim.operator_edits(other.id, address="г Тверь")  # another task: not the group's

    async def arrived():
        return alert_texts(h, WATCHING)

    texts = await eventually(arrived, timeout=3 * POLL)
    await eventually(lambda: _sent_all(h), timeout=3 * POLL)
    texts = alert_texts(h, WATCHING)
    assert len(texts) == 1  # one alert per task per cycle
    alert = texts[0]
    assert "Заполнен чек-лист" in alert and f"№{task.number}" in alert
    assert "Фото накладной: 3 📷" in alert
    if sim.desk.shape == "rich":  # the client and executor come as bare ids: named by the bot
        assert "Ромашка" in alert and "Петров Иван" in alert
    assert "id задачи" not in alert  # the internal id is for the bot, not for people
    area = "\n".join(alert_texts(h, AREA))
    assert f"№{task.number}" in area and f"№{other.number}" in area
    assert alert_texts(h, SILENT) == []
    known = await h.app.repos.mobiforce.by_name("task", task.number)
    assert known  # the feed keeps the directory
    if sim.desk.shape == "rich":
        assert known[0].data["client"] == "ООО «Ромашка»"


async def _sent_all(h):
    rows = await h.app.repos.db.fetchall("SELECT state FROM outbox")
    return rows and all(row.state == "sent" for row in rows)


async def test_a_rejected_key_is_reported_once_and_stops_calls_until_resume(tmp_path, database_url):
    sim = MobiforceSimulator("the-right-key", auto_employees=False)
    await sim.start()
    settings = {
        "mobiforce_base_url": sim.base_url,
        "mobiforce_api_key": KEY,  # not the simulator's
        "mobiforce_poll_seconds": POLL,
    }
    try:
        async with BotHarness(
            tmp_path, database_url=database_url, admin_ids=[ADMIN], settings=settings
        ) as h:
            runner = h.app.scheduler.runners["mobiforce"]
            await h.app.scheduler.set_paused("mobiforce", True, by=ADMIN)  # drive by hand
            client = h.app.services["mobiforce"].client
            await eventually(lambda: _true(client.auth_locked))  # the directory sync hit 401
            calls = len(sim.requests)
            for _ in range(4):
                await runner._cycle_once()
            assert len(sim.requests) == calls  # locked: no request at all
            await eventually(lambda: _down_alerts(h), timeout=10)
            assert len(await _down_alerts(h)) == 1  # reported once
            status = await h.say(ADMIN, "/status", expect=lambda m: "Состояние" in m["text"])
            assert "Mobiforce" in status["text"] and "/resume mobiforce" in status["text"]
            sim.key = KEY  # the admin fixed it in the cabinet
            unlocked = await h.say(
                ADMIN, "/resume mobiforce", expect=lambda m: "разрешены" in m["text"]
            )
            assert "снова разрешены" in unlocked["text"]
            await runner._cycle_once()
            assert len(sim.requests) > calls
            assert h.app.health.integrations["mobiforce"].consecutive_failures == 0
    finally:
        await sim.stop()


async def _true(value):
    return value


async def _down_alerts(h):
    rows = await h.app.repos.db.fetchall(
        "SELECT id FROM outbox WHERE kind = 'system.integration_down'"
    )
    return rows
