"""Wagons put on tracking with /wagon add belong to that chat (bot/ownership.py): another group
neither sees them nor takes them off tracking nor puts them on anew; a member of the group may,
in private, and the group hears what was done from there."""

from __future__ import annotations

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.alta.simulator import AltaSimulator
from storage.users import Role
from tests.e2e.conftest import ADMIN, seat
from tests.e2e.test_alta_wagons import alta_bot, api_calls, edited, has_text, text

GROUP_A, GROUP_B = -100700910, -100700920
MEMBER = 7107  # a dispatcher in group A
STRANGER = 7108  # a dispatcher in group B
WAGON, OTHER = "52345675", "52345683"
NOT_YOURS = "на слежении у другого чата"


@pytest.fixture
async def sim():
    simulator = AltaSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim):
    async with alta_bot(tmp_path, sim) as h:
        await seat(
            h,
            {GROUP_A: "Склад", GROUP_B: "Офис"},
            {
                MEMBER: ("Ольга", Role.DISPATCHER, GROUP_A),
                STRANGER: ("Борис", Role.DISPATCHER, GROUP_B),
            },
        )
        yield h


async def put_on_tracking_in_a(h: BotHarness) -> None:
    summary = await h.say(ADMIN, f"/wagon add {WAGON}", chat_id=GROUP_A, expect=has_text("Альте"))
    start = len(h.emu.calls)
    h.press(ADMIN, summary, "Поставить")
    await edited(h, "На слежении в Альте", start)


async def test_another_group_neither_sees_nor_takes_off_the_groups_wagon(harness, sim):
    h = harness
    await put_on_tracking_in_a(h)
    request_hash = sim.hash_of(WAGON)
    calls = len(sim.requests)

    reply = await h.say(STRANGER, f"/wagon {WAGON}", chat_id=GROUP_B)
    assert NOT_YOURS in text(reply) and "Станция" not in text(reply)
    reply = await h.say(STRANGER, f"/wagon {request_hash}", chat_id=GROUP_B)
    assert NOT_YOURS in text(reply)
    reply = await h.say(STRANGER, f"/find {WAGON}", chat_id=GROUP_B)
    assert NOT_YOURS in text(reply) and "Станция" not in text(reply)
    await h.say(STRANGER, f"/wagon cancel {WAGON}", chat_id=GROUP_B, expect=has_text(NOT_YOURS))
    await h.say(
        STRANGER, f"/wagon cancel {request_hash}", chat_id=GROUP_B, expect=has_text(NOT_YOURS)
    )
    assert "show" not in api_calls(sim)[calls:] and "cancel_track" not in api_calls(sim)
    listed = await h.say(STRANGER, "/wagons", chat_id=GROUP_B)
    assert WAGON not in text(listed) and request_hash not in text(listed)

    # /wagon add of it in group B: not watched from there, not put on tracking anew.
    reply = await h.say(STRANGER, f"/wagon add {WAGON}", chat_id=GROUP_B)
    assert NOT_YOURS in text(reply)
    summary = await h.say(
        STRANGER, f"/wagon add {WAGON} {OTHER}", chat_id=GROUP_B, expect=has_text("Альте")
    )
    assert NOT_YOURS in text(summary).lower()
    start = len(h.emu.calls)
    h.press(STRANGER, summary, "Поставить")
    done = await edited(h, "На слежении в Альте", start)
    assert OTHER in done and "Номера другого чата не тронуты" in done
    [added] = [p for action, _, p in sim.requests if action == "add"][1:]
    assert WAGON not in added["wagons"] and "cancel_track" not in api_calls(sim)
    filters = {s.filter for s in await h.app.repos.subscriptions.for_chat(GROUP_B)}
    assert f"wagon:{WAGON}" not in filters and f"wagon:{OTHER}" in filters
    assert sim.hash_of(WAGON) == request_hash  # still group A's request

    card = await h.say(MEMBER, f"/wagon {WAGON}", chat_id=GROUP_A, expect=has_text(WAGON))
    assert NOT_YOURS not in text(card)


async def test_taking_a_groups_wagon_off_tracking_from_private_tells_the_group(harness, sim):
    h = harness
    await put_on_tracking_in_a(h)
    question = await h.say(MEMBER, f"/wagon cancel {WAGON}", expect=has_text("Снять"))
    start = len(h.emu.calls)
    h.press(MEMBER, question, "Снять")
    await edited(h, "снят со слежения", start)
    assert api_calls(sim).count("cancel_track") == 1
    told = await h.emu.wait_for_message(GROUP_A, has_text("Действие из другого чата"))
    body = text(told)
    assert WAGON in body and "сняты со слежения" in body
    assert "Ольга" in body and "из личного чата" in body
