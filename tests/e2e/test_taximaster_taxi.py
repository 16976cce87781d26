"""Taxi-Master end to end: bot + Telegram emulator + the TMWeb simulator over loopback.

The watcher is paused and its cycles driven by hand (``runner._cycle_once``) after moving the
simulator's time, so nothing here waits on a clock.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from tests.e2e.conftest import ADMIN, eventually

SECRET = "tm-secret-never-logged"
VIEWER = 5105
GROUP = -100700800
PHONE_TYPED = "8 (912) 345-67-89"
PHONE_SENT = "89123456789"


def text(message: dict) -> str:
    return message.get("text", "")


def has_text(fragment: str):
    return lambda message: fragment in text(message)


def has_button(fragment: str):
    return lambda message: any(fragment in label for label in button_labels(message))


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


@pytest.fixture
async def sim():
    simulator = TaxiMasterSimulator(SECRET)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim, caplog):
    caplog.set_level(logging.DEBUG)
    settings = {
        "taximaster_base_url": sim.base_url,
        "taximaster_secret": SECRET,
        "taximaster_poll_seconds": 5,
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)  # cycles by hand
        yield h
        # A restart may end the old long poll with 409, as on Telegram: not a bot error.
        rejected = [
            c
            for c in h.emu.rejected_calls()
            if not (c.method == "getUpdates" and c.error_code == 409)
        ]
        assert not rejected, f"the Bot API rejected requests: {rejected}"
    assert SECRET not in caplog.text


async def cycle(h) -> None:
    """One watcher cycle now, every order due (the simulator's time runs ahead of the wall
    clock the watcher's schedule keeps)."""
    h.app.services["taximaster"].watcher.schedule.all_due()
    await h.app.scheduler.runners["taximaster"]._cycle_once()


async def order_through_wizard(h, sim, chat: int, group: str | None = None) -> dict:
    """/taxi from the phone to the summary, in ``chat`` (``group``: the crew group's button,
    else the first); returns the summary message."""
    ask_phone = await h.say(ADMIN, "/taxi", chat_id=chat)
    assert "Телефон пассажира" in text(ask_phone)
    before = len(sim.requests)
    bad = await h.say(ADMIN, "12-34", chat_id=chat)
    assert "Не понял номер «12-34»" in text(bad)
    assert len(sim.requests) == before  # bad input costs no call
    ask_source = await h.say(ADMIN, PHONE_TYPED, chat_id=chat)
    assert "Откуда" in text(ask_source)
    # "Малышева 51": one street matches, house 51 exists: picked at once.
    ask_dest = await h.say(ADMIN, "Малышева 51", chat_id=chat, expect=has_text("Куда"))
    assert ask_dest
    found = await h.say(ADMIN, "кольцово", chat_id=chat, expect=has_button("Аэропорт Кольцово"))
    h.press(ADMIN, found, "Аэропорт Кольцово")
    when = await h.emu.wait_for_message(
        chat, has_button("Сейчас"), after_message_id=found["message_id"]
    )
    h.press(ADMIN, when, "Сейчас")
    groups = await h.emu.wait_for_message(
        chat, has_button("Любая"), after_message_id=when["message_id"]
    )
    h.press(ADMIN, groups, group or button_labels(groups)[0])
    return await h.emu.wait_for_message(
        chat, has_button("Заказать"), after_message_id=groups["message_id"]
    )


async def test_taxi_wizard_orders_once_and_the_chat_follows_it_to_the_door(harness, sim):
    h = harness
    summary = await order_through_wizard(h, sim, ADMIN)
    body = text(summary)
    assert "улица Малышева, 51" in body and "Аэропорт Кольцово" in body
    assert "Цена:" in body and "км за городом" in body  # analyze_route + calc_order_cost
    assert sim.calls_of("analyze_route") == 1 and sim.calls_of("calc_order_cost") == 1
    assert "Отмена" in " ".join(button_labels(summary))

    # A double tap: the second press finds the confirmation used.
    h.press(ADMIN, summary, "Заказать")
    h.press(ADMIN, summary, "Заказать")
    card = await h.emu.wait_for_message(ADMIN, has_text("Заказ №"))
    await h.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and "принят" in c.params.get("text", ""),
        start=0,
    )
    await h.emu.wait_for_event(
        lambda c: c.method == "answerCallbackQuery" and "уже" in str(c.params.get("text")),
        start=0,
    )
    assert sim.calls_of("create_order") == 1 and len(sim.orders) == 1
    order = sim.orders[0]
    assert order.phone == PHONE_SENT and order.source == "улица Малышева, 51"
    assert "ищем машину" in text(card)

    # The watcher: assigned -> the card posted anew, naming car and driver (it rings); the old
    # card is not edited to say the same again.
    sim.advance_until(order.id, "driver_assigned")
    await cycle(h)
    assigned = await h.emu.wait_for_message(
        ADMIN, has_text("Назначена машина"), after_message_id=card["message_id"]
    )
    # The order's number, its passenger and its crew's one identity, in the alert.
    body = text(assigned)
    assert f"№{order.id}" in body and "Пассажир: +7 912 345-67-89" in body
    crew = re.search(r"Экипаж: (\d{3}) · ([^·]+) · (.+)", body)
    assert crew is not None, body
    old = next(m for m in h.emu.messages(ADMIN) if m["message_id"] == card["message_id"])
    assert "Назначена машина" not in text(old)

    sim.advance_until(order.id, "car_at_place")
    await cycle(h)
    at_door = await h.emu.wait_for_message(
        ADMIN, has_text("Такси на месте"), after_message_id=assigned["message_id"]
    )
    sim.advance_until(order.id, "finished", step=timedelta(minutes=1))
    await cycle(h)

    async def finished_on_card():  # a quiet change edits the newest card
        msg = next(m for m in h.emu.messages(ADMIN) if m["message_id"] == at_door["message_id"])
        return "Поездка завершена" in text(msg)

    await eventually(finished_on_card)
    final = await h.app.repos.snapshots.get("taximaster")
    assert final[str(order.id)]["state_kind"] == "finished"  # listed today, polled no more
    polls = sim.calls_of("get_order_state")
    await cycle(h)
    assert sim.calls_of("get_order_state") == polls  # none for a finished order


async def test_taxi_wizard_in_a_group_under_privacy_mode(harness, sim):
    h, colleague = harness, 6106
    h.emu.add_user(colleague, "Ольга")
    h.emu.add_group(GROUP, "Диспетчерская", supergroup=True)
    h.emu.add_bot_to_group(ADMIN, GROUP)
    await h.emu.wait_for_message(GROUP, has_text("подключил"))
    h.emu.user_sends(colleague, "кто заказывал такси?", chat_id=GROUP)  # hidden by privacy
    summary = await order_through_wizard(h, sim, GROUP)
    assert [m["text"] for m in h.emu.hidden_from_bot] == ["кто заказывал такси?"]
    h.press(ADMIN, summary, "Заказать")
    await h.emu.wait_for_message(GROUP, has_text("Заказ №"), after_message_id=summary["message_id"])
    assert len(sim.orders) == 1
    wanted = f"order:{sim.orders[0].id}"

    async def group_follows_the_order():
        subs = await h.app.repos.subscriptions.for_chat(GROUP)
        return any(s.filter == wanted for s in subs)

    await eventually(group_follows_the_order)


async def test_a_crew_groups_own_tariff_prices_its_orders(harness, sim):
    summary = await order_through_wizard(harness, sim, ADMIN, group="Комфорт")
    assert "Группа: Комфорт" in text(summary) and "тариф «Комфорт»" in text(summary)
    [priced] = [r for r in sim.requests if r.name == "calc_order_cost"]
    assert priced.params["tariff_id"] == "2"
