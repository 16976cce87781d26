"""Who may see a taxi order (bot/ownership.py), end to end: Taxi-Master's order ids are
sequential, so an id alone must show nothing — not a driver's name, phone or position — to
anyone but the chats the bot made it for or that watch it, their members in private, and an
admin; and it must never put an arbitrary order on the poll."""

from __future__ import annotations

import logging

import pytest

from handlers.find.callbacks import FindCb
from sandbox.harness import BotHarness
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage.users import Role
from tests.e2e.conftest import ADMIN, seat
from tests.e2e.test_taximaster_commands import cycle, watch_here
from tests.e2e.test_taximaster_taxi import button_labels, has_text, order_through_wizard, text

SECRET = "tm-secret-never-logged"
GROUP_A, GROUP_B = -100700710, -100700720
VIEWER = 5405  # a viewer in group B (and, in one test, in group A too)
OUTSIDER = 5406  # a viewer in no group at all
DISPATCHER = 5407  # a dispatcher in group B
NOT_OURS = "нет среди заказов бота"


@pytest.fixture
async def sim():
    simulator = TaxiMasterSimulator(SECRET)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim, caplog):
    caplog.set_level(logging.DEBUG)
    settings = {"taximaster_base_url": sim.base_url, "taximaster_secret": SECRET}
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)  # cycles by hand
        await seat(
            h,
            {GROUP_A: "Склад", GROUP_B: "Офис"},
            {
                VIEWER: ("Вера", Role.VIEWER, GROUP_B),
                OUTSIDER: ("Олег", Role.VIEWER, None),
                DISPATCHER: ("Дима", Role.DISPATCHER, GROUP_B),
            },
        )
        yield h
        assert not h.emu.rejected_calls()
    assert SECRET not in caplog.text


async def order_in(h: BotHarness, sim: TaxiMasterSimulator, chat: int) -> int:
    """An order made with /taxi in ``chat``; its id."""
    summary = await order_through_wizard(h, sim, chat)
    h.press(ADMIN, summary, "Заказать")
    await h.emu.wait_for_message(chat, has_text("Заказ №"), after_message_id=summary["message_id"])
    return sim.orders[-1].id


async def test_a_viewer_in_another_group_gets_nothing_of_the_groups_order(harness, sim):
    h = harness
    order_id = await order_in(h, sim, GROUP_A)
    sim.advance_until(order_id, "driver_assigned")
    calls = sim.calls_of("get_order_state")

    reply = await h.say(VIEWER, f"/order {order_id}", chat_id=GROUP_B)
    assert NOT_OURS in text(reply) and "Водитель" not in text(reply)
    # The same words for an id that exists nowhere: the answer tells nothing.
    unknown = await h.say(VIEWER, "/order 987654", chat_id=GROUP_B)
    assert text(unknown).replace("987654", "ID") == text(reply).replace(str(order_id), "ID")
    found = await h.say(VIEWER, f"/find {order_id}", chat_id=GROUP_B)
    assert NOT_OURS in text(found) and "Заказ №" not in text(found)
    listed = await h.say(VIEWER, "/orders", chat_id=GROUP_B)
    assert f"№{order_id}" not in text(listed)
    # Subscribing group B to the order would make it one that sees it: refused.
    refused = await h.say(ADMIN, f"/subscribe -- order:{order_id}", chat_id=GROUP_B)
    assert "Не подписал" not in text(refused)  # an admin may (an explicit choice) …
    await h.app.repos.subscriptions.remove(GROUP_B, 0, "all", f"order:{order_id}")
    refused = await h.say(DISPATCHER, f"/subscribe -- order:{order_id}", chat_id=GROUP_B)
    assert "Не подписал" in text(refused)  # … a dispatcher of group B may not
    assert not [
        s
        for s in await h.app.repos.subscriptions.for_chat(GROUP_B)
        if s.filter == f"order:{order_id}"
    ]
    assert sim.calls_of("get_order_state") == calls  # Taxi-Master was never asked

    # In group A, everyone sees the order the group made.
    card = await h.say(VIEWER, f"/order {order_id}", chat_id=GROUP_A, expect=has_text("Заказ №"))
    assert "Водитель:" in text(card)


async def test_a_member_of_the_group_sees_its_order_in_private_an_outsider_does_not(harness, sim):
    h = harness
    order_id = await order_in(h, sim, GROUP_A)
    h.emu.set_member_status(GROUP_A, VIEWER, "member")

    card = await h.say(VIEWER, f"/order {order_id}", expect=has_text("Заказ №"))
    assert f"№{order_id}" in text(card)
    asked = len(h.emu.calls_of("getChatMember"))
    assert asked >= 1  # Telegram was asked whether Вера is in group A
    listed = await h.say(VIEWER, "/orders", expect=has_text("Заказы такси"))
    assert f"№{order_id}" in text(listed)
    found = await h.say(VIEWER, f"/find {order_id}", expect=has_text("Заказ №"))
    assert f"№{order_id}" in text(found)

    calls = sim.calls_of("get_order_state")
    reply = await h.say(OUTSIDER, f"/order {order_id}")
    assert NOT_OURS in text(reply)
    assert "нет" in text(await h.say(OUTSIDER, "/orders"))
    assert sim.calls_of("get_order_state") == calls


async def test_an_admin_opens_an_unknown_order_once_and_the_poll_is_untouched(harness, sim):
    h = harness
    order_id = sim.place_order("ТЦ Гринвич", "Ельцин Центр")  # not made through the bot
    sim.advance_until(order_id, "driver_assigned")

    calls = sim.calls_of("get_order_state")
    reply = await h.say(VIEWER, f"/order {order_id}")
    assert NOT_OURS in text(reply)
    assert sim.calls_of("get_order_state") == calls

    card = await h.say(ADMIN, f"/order {order_id}", chat_id=GROUP_B, expect=has_text("Заказ №"))
    assert "👁 Следить здесь" in button_labels(card)
    assert str(order_id) not in await h.app.repos.snapshots.get("taximaster")
    assert not await h.app.repos.subscriptions.for_chat(GROUP_B)
    calls = sim.calls_of("get_order_state")
    await cycle(h)
    assert sim.calls_of("get_order_state") == calls  # not on the poll

    # A viewer of group B presses «🔄 Обновить» under the admin's look: refused, no call.
    start = len(h.emu.calls)
    h.press(VIEWER, card, "Обновить")
    answer = await h.emu.wait_for_event(lambda c: c.method == "answerCallbackQuery", start=start)
    assert NOT_OURS in answer.params.get("text", "")
    assert sim.calls_of("get_order_state") == calls

    # The admin's explicit choice: group B watches it from now on (and it is audited).
    await watch_here(h, card)
    assert str(order_id) in await h.app.repos.snapshots.get("taximaster")
    entries = await h.app.repos.audit.latest(5)
    assert any(e.action == "taximaster.order.watch" and e.target == str(GROUP_B) for e in entries)
    seen = await h.say(VIEWER, f"/order {order_id}", chat_id=GROUP_B, expect=has_text("Заказ №"))
    assert f"№{order_id}" in text(seen)


async def test_find_asks_taximaster_about_no_id_the_bot_does_not_know(harness, sim):
    h = harness
    order_id = sim.place_order("ТЦ Гринвич")
    calls = sim.calls_of("get_order_state")
    for user_id in (ADMIN, VIEWER):
        reply = await h.say(user_id, f"/find {order_id}")
        assert NOT_OURS in text(reply)
    assert sim.calls_of("get_order_state") == calls
    # A choice button comes from the client: forged for that order, it is checked again.
    start = len(h.emu.calls)
    forged = FindCb(k="o", v=str(order_id)).pack()
    h.emu.client_sends_callback(VIEWER, reply["message_id"], forged)
    await h.emu.wait_for_message(VIEWER, has_text(NOT_OURS), after_message_id=reply["message_id"])
    assert sim.calls_of("get_order_state") == calls
    assert not [c for c in h.emu.calls[start:] if c.method == "sendLocation"]
