"""/find end to end: bot + Telegram emulator + the four simulators (Movizor, Alta, Mobiforce,
Taxi-Master) over loopback. Watchers are paused, so every upstream call is the command's own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.alta.functions import TEST_LOGIN, TEST_PASSWORD, TEST_SA
from sandbox.harness import BotHarness
from sandbox.simulators.alta.simulator import AltaSimulator
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from sandbox.simulators.movizor.simulator import MovizorSimulator
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage.db import utcnow
from storage.users import Role
from tests.e2e.conftest import ADMIN
from tests.e2e.test_taximaster_commands import open_and_watch

MOBIFORCE_KEY = "find-mobiforce-key"
TM_SECRET = "find-tm-secret"
PHONE, TITLE = "79991234567", "Петров Иван"
WAGON, WAGON_TOO = "52345675", "52345683"  # both pass the check digit
CONTAINER = "TGHU1234567"
GROUP = -100700950
VIEWER = 5305


def text(message: dict) -> str:
    return message.get("text", "")


def has_text(fragment: str):
    return lambda message: fragment in text(message)


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


@pytest.fixture
async def sims():
    movizor = MovizorSimulator(project="test", key="test-key")
    alta = AltaSimulator()
    mobiforce = MobiforceSimulator(MOBIFORCE_KEY, auto_employees=False)
    taximaster = TaxiMasterSimulator(TM_SECRET)
    for sim in (movizor, alta, mobiforce, taximaster):
        await sim.start()
    now = utcnow()
    movizor.add_driver(
        PHONE,
        TITLE,
        [("Москва", 55.755826, 37.6173, now), ("Тверь", 56.859611, 35.911896, now)],
        tariff="15",
    )
    mobiforce.add_template("Доставка груза", visit_minutes=60)
    yield movizor, alta, mobiforce, taximaster
    for sim in (movizor, alta, mobiforce, taximaster):
        await sim.stop()


def settings_for(movizor, alta, mobiforce, taximaster) -> dict[str, object]:
    return {
        "movizor_project": "test",
        "movizor_key": "test-key",
        "movizor_base_url": movizor.base_url,
        "alta_login": TEST_LOGIN,
        "alta_sa": TEST_SA,
        "alta_password": TEST_PASSWORD,
        "alta_base_url": alta.base_url,
        "mobiforce_base_url": mobiforce.base_url,
        "mobiforce_api_key": MOBIFORCE_KEY,
        "taximaster_base_url": taximaster.base_url,
        "taximaster_secret": TM_SECRET,
    }


@pytest.fixture
async def harness(tmp_path, sims):
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings_for(*sims)) as h:
        for name in ("movizor", "alta", "mobiforce", "taximaster"):
            await h.app.scheduler.set_paused(name, True, by=ADMIN)
        await h.app.services["mobiforce"].directory.synced.wait()
        sims[1].requests.clear()  # whatever Alta's first poll asked before the pause
        yield h
        assert not h.emu.rejected_calls()


async def add_task(h: BotHarness, mobiforce: MobiforceSimulator, number: str):
    template = next(iter(mobiforce.world.templates.values()))
    task = mobiforce.add_task({"template": {"id": template.id}, "draft": True, "number": number})
    await h.app.services["mobiforce"].directory.sync()  # the number is now known
    return task


def alta_calls(alta: AltaSimulator) -> list[str]:
    return [action for action, _, _ in alta.requests]


async def test_each_kind_of_input_finds_its_card(harness, sims):
    h = harness
    _, alta, mobiforce, taximaster = sims

    driver = await h.say(ADMIN, "/find +7 (999) 123-45-67", expect=has_text(TITLE))
    assert "Обновить" in " ".join(button_labels(driver))
    assert any(m.get("location") for m in h.emu.messages(ADMIN))  # the map point, as /locate

    alta.put_on_track([WAGON], added_ago=timedelta(hours=30), report_now=True)
    wagon = await h.say(ADMIN, f"/find {WAGON}")
    assert f"Вагон {WAGON}" in text(wagon) and "Станция" in text(wagon)

    alta.put_on_track([CONTAINER], added_ago=timedelta(hours=30), report_now=True)
    container = await h.say(ADMIN, "/find tghu 123456-7")
    assert f"Контейнер {CONTAINER}" in text(container)

    task = await add_task(h, mobiforce, "ЗК-17")
    card = await h.say(ADMIN, "/find ЗК-17")
    assert "№ЗК-17" in text(card) and "Доставка груза" in text(card)
    assert "🔄 Обновить" in button_labels(card)

    order_id = taximaster.place_order("Железнодорожный вокзал", "улица Малышева, 51")
    await open_and_watch(h, order_id)  # an order the bot knows: watched here
    order = await h.say(ADMIN, f"/find {order_id}", expect=has_text("Заказ №"))
    assert f"№{order_id}" in text(order) and "🔄 Обновить" in button_labels(order)
    assert task.number == "ЗК-17"
    # An order number written in digit groups, as people type and copy it: "5 001".
    grouped = f"{order_id // 1000} {order_id % 1000:03d}"
    order = await h.say(ADMIN, f"/find {grouped}", expect=has_text("Заказ №"))
    assert f"№{order_id}" in text(order)


async def test_ambiguous_input_offers_buttons_and_a_press_in_a_group_shows_the_choice(
    harness, sims
):
    h = harness
    _, alta, mobiforce, taximaster = sims
    h.emu.add_user(VIEWER, "Вера")
    await h.app.repos.users.set_role(VIEWER, Role.VIEWER, by=ADMIN)
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))

    order_id = taximaster.place_order("ТЦ Гринвич", "Ельцин Центр")
    await open_and_watch(h, order_id, GROUP)  # the group watches the order
    await add_task(h, mobiforce, str(order_id))  # a task numbered like the order
    pick = await h.say(ADMIN, f"/find {order_id}", chat_id=GROUP, expect=has_text("Что показать"))
    assert button_labels(pick) == [f"🛠 Задача №{order_id}", f"🚕 Заказ такси №{order_id}"]
    h.press(VIEWER, pick, "Задача")  # anyone with access may press: the card is for the chat
    task_card = await h.emu.wait_for_message(
        GROUP, has_text("Доставка груза"), after_message_id=pick["message_id"]
    )
    assert f"№{order_id}" in text(task_card)
    h.press(VIEWER, pick, "Заказ")
    order_card = await h.emu.wait_for_message(
        GROUP, has_text("Заказ №"), after_message_id=pick["message_id"]
    )
    assert f"№{order_id}" in text(order_card)

    # An 8-digit wagon on tracking that is also a known task number.
    alta.put_on_track([WAGON_TOO], added_ago=timedelta(hours=30), report_now=True)
    await add_task(h, mobiforce, WAGON_TOO)
    pick = await h.say(ADMIN, f"/find {WAGON_TOO}", expect=has_text("Что показать"))
    assert button_labels(pick) == [f"🚃 Вагон {WAGON_TOO}", f"🛠 Задача №{WAGON_TOO}"]
    assert "show" not in alta_calls(alta)  # choosing costs nothing
    h.press(ADMIN, pick, "Вагон")
    wagon = await h.emu.wait_for_message(ADMIN, has_text(f"Вагон {WAGON_TOO}"))
    assert "Станция" in text(wagon)


async def test_a_choice_is_checked_again_when_pressed(harness, sims):
    h = harness
    _, _, mobiforce, taximaster = sims
    order_id = taximaster.place_order("ТЦ Гринвич")
    await open_and_watch(h, order_id)
    await add_task(h, mobiforce, str(order_id))
    pick = await h.say(ADMIN, f"/find {order_id}", expect=has_text("Что показать"))
    await h.app.repos.mobiforce.replace("task", [])  # the task number is gone meanwhile
    calls = mobiforce.calls_of("get-task")
    start = len(h.emu.calls)
    h.press(ADMIN, pick, "Задача")
    await h.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and c.params.get("show_alert"), start=start
    )
    assert mobiforce.calls_of("get-task") == calls


async def test_nothing_found_says_what_was_tried_and_the_accepted_forms(harness, sims):
    reply = await harness.say(ADMIN, "/find Ромашка")
    body = text(reply)
    assert "ничего не нашлось" in body
    for tried in ("водители Movizor", "вагоны и контейнеры Альты", "задачи Mobiforce"):
        assert tried in body
    assert "Можно искать" in body and "54676515" in body and "+7 999" in body
    missing = await harness.say(ADMIN, "/find 987654")
    assert "заказа №987654 нет" in text(missing)


async def test_a_wrong_check_digit_is_explained_and_alta_is_not_called(tmp_path):
    alta = AltaSimulator()
    await alta.start()
    settings = {
        "alta_login": TEST_LOGIN,
        "alta_sa": TEST_SA,
        "alta_password": TEST_PASSWORD,
        "alta_base_url": alta.base_url,
    }
    try:
        async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
            await h.app.scheduler.set_paused("alta", True, by=ADMIN)
            alta.requests.clear()
            reply = await h.say(ADMIN, "/find 54676516")
            assert "54676516: контрольная цифра должна быть 5" in text(reply)
            assert "В Альту ничего не отправлено" in text(reply)
            assert "Не подключены, пропущены: Movizor, Mobiforce, Taxi-Master" in text(reply)
            container = await h.say(ADMIN, "/find AMFU8899068")
            assert "контрольная цифра должна быть 7" in text(container)
            assert alta.requests == []
    finally:
        await alta.stop()


async def test_nothing_configured_gets_a_clear_answer(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        reply = await h.say(ADMIN, "/find 52345675")
        assert "не подключён ни один сервис" in text(reply)
        usage = await h.say(ADMIN, "/find")
        assert "/find <телефон" in text(usage)
