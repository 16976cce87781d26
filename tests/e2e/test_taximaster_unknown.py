"""A taxi order whose answer is lost: never re-sent by itself, never called failed or cancelled.

Run against stand-ins the project's default simulator is not: a server that creates the order
and loses the answer, with or without ``get_current_orders``, and one that does NOT refuse a
repeat (the document promises no duplicate check). Each ends with exactly one order unless the
person explicitly, after a warning, orders again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from storage.taximaster import CreateState
from tests.e2e.conftest import ADMIN
from tests.e2e.test_taximaster_taxi import (
    button_labels,
    has_button,
    has_text,
    order_through_wizard,
    text,
)

SECRET = "tm-secret-never-logged"
# Words that would claim a failure or a cancellation: none may be said of an order that may
# exist.
UNTRUE = ("❌", "Отменено", "не принят", "отменён", "Заказ не отправлен")


@pytest.fixture
async def started():
    sims: list[TaxiMasterSimulator] = []

    async def start(**options: Any) -> TaxiMasterSimulator:
        sim = TaxiMasterSimulator(SECRET, **options)
        sim.fault_delay = 1.0
        await sim.start()
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        await sim.stop()


async def bot_for(tmp_path, sim: TaxiMasterSimulator) -> BotHarness:
    settings = {
        "taximaster_base_url": sim.base_url,
        "taximaster_secret": SECRET,
        "taximaster_poll_seconds": 5,
    }
    return BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings)


def said(h: BotHarness) -> list[str]:
    """Every text the bot put in the chat: messages as they are now, and every edit made."""
    texts = [text(m) for m in h.emu.messages(ADMIN)]
    texts += [c.params.get("text", "") for c in h.emu.calls if c.method == "editMessageText"]
    texts += [
        str(c.params.get("text", "")) for c in h.emu.calls if c.method == "answerCallbackQuery"
    ]
    return texts


def assert_nothing_untrue(h: BotHarness) -> None:
    for shown in said(h):
        assert not any(word in shown for word in UNTRUE), shown


async def settle(h: BotHarness) -> None:
    await h.app.scheduler.set_paused("taximaster", True, by=ADMIN)


@pytest.mark.parametrize("fault", ["drop", 500, "timeout"])
async def test_a_lost_answer_on_the_documents_server_is_told_as_unknown(
    tmp_path, started, caplog, fault
):
    """The stand-in creates the order, loses the answer and would NOT refuse a repeat."""
    caplog.set_level(logging.INFO)
    sim = await started(reject_duplicates=False)
    async with await bot_for(tmp_path, sim) as h:
        await settle(h)
        summary = await order_through_wizard(h, sim, ADMIN)
        sim.fail_next("create_order", fault, after=True)  # created, then the answer is lost
        h.press(ADMIN, summary, "Заказать")
        prompt = await h.emu.wait_for_message(
            ADMIN, has_button("Проверю сам"), after_message_id=summary["message_id"], timeout=15
        )
        body = text(prompt)
        assert "Неизвестно, создан ли заказ" in body and "повторно не отправит" in body
        assert "+7 912 345-67-89" in body and "улица Малышева, 51" in body
        assert "не умеет искать заказы" in body  # the document's server has no listing
        labels = button_labels(prompt)
        assert not any("Проверить" in label for label in labels)
        assert any("Заказать ещё раз" in label for label in labels)
        assert len(sim.orders) == 1 and sim.calls_of("create_order") == 1
        assert sim.calls_of("get_current_orders") == 1  # asked once, "unknown request"

        h.press(ADMIN, prompt, "Проверю сам")
        await h.emu.wait_for_event(
            lambda c: c.method == "editMessageText" and "проверите сами" in c.params["text"],
            start=0,
        )
        [record] = await h.app.repos.taximaster.in_states(
            list(CreateState), since=sim.orders[0].created_at.replace(year=2000)
        )
        assert record.state is CreateState.DISMISSED
        assert len(sim.orders) == 1 and sim.calls_of("create_order") == 1
        assert_nothing_untrue(h)


@pytest.mark.parametrize("wire", ["document", "public"])
async def test_a_lost_answer_is_found_and_adopted_where_the_server_lists_orders(
    tmp_path, started, wire
):
    charset = "windows-1251" if wire == "public" else "utf-8"  # a real server's wire, whole
    sim = await started(current_orders=True, reject_duplicates=False, wire=wire, charset=charset)
    async with await bot_for(tmp_path, sim) as h:
        await settle(h)
        summary = await order_through_wizard(h, sim, ADMIN)
        sim.fail_next("create_order", "drop", after=True)
        h.press(ADMIN, summary, "Заказать")
        card = await h.emu.wait_for_message(
            ADMIN, has_text("Заказ №"), after_message_id=summary["message_id"], timeout=15
        )
        [order] = sim.orders
        assert f"№{order.id}" in text(card)
        await h.emu.wait_for_event(
            lambda c: (
                c.method == "editMessageText"
                and f"нашёлся в Такси-Мастере: №{order.id}" in c.params["text"]
            ),
            start=0,
        )
        assert sim.calls_of("create_order") == 1 and len(sim.orders) == 1
        assert list(await h.app.repos.snapshots.get("taximaster")) == [str(order.id)]
        assert_nothing_untrue(h)


async def test_order_again_is_only_the_persons_warned_choice(tmp_path, started):
    """A server that does not refuse repeats: «Не заказывать» says nothing was cancelled, and
    a second order exists only after the person confirmed the warning."""
    sim = await started(reject_duplicates=False)
    async with await bot_for(tmp_path, sim) as h:
        await settle(h)
        summary = await order_through_wizard(h, sim, ADMIN)
        sim.fail_next("create_order", "drop", after=True)
        h.press(ADMIN, summary, "Заказать")
        prompt = await h.emu.wait_for_message(
            ADMIN, has_button("Заказать ещё раз"), after_message_id=summary["message_id"]
        )
        h.press(ADMIN, prompt, "Заказать ещё раз")
        warning = await h.emu.wait_for_message(
            ADMIN, has_button("Не заказывать"), after_message_id=prompt["message_id"]
        )
        assert "приедут две машины" in text(warning)
        h.press(ADMIN, warning, "Не заказывать")
        await h.emu.wait_for_event(
            lambda c: (
                c.method == "editMessageText"
                and "Повторный заказ не отправлен" in (c.params["text"])
            ),
            start=0,
        )
        assert len(sim.orders) == 1
        assert_nothing_untrue(h)

        h.press(ADMIN, prompt, "Заказать ещё раз")
        warning = await h.emu.wait_for_message(
            ADMIN, has_button("Да, заказать ещё раз"), after_message_id=warning["message_id"]
        )
        h.press(ADMIN, warning, "Да, заказать ещё раз")
        await h.emu.wait_for_message(
            ADMIN, has_text("Заказ №"), after_message_id=warning["message_id"]
        )
        assert len(sim.orders) == 2 and sim.calls_of("create_order") == 2
        # The first prompt is settled now: its buttons do nothing more.
        h.press(ADMIN, prompt, "Заказать ещё раз")
        await h.emu.wait_for_event(
            lambda c: (
                c.method == "answerCallbackQuery" and "уже решён" in str(c.params.get("text"))
            ),
            start=0,
        )
        assert len(sim.orders) == 2


async def test_check_finds_nothing_then_the_order_that_came_late(tmp_path, started):
    sim = await started(current_orders=True)
    async with await bot_for(tmp_path, sim) as h:
        await settle(h)
        summary = await order_through_wizard(h, sim, ADMIN)
        sim.fail_next("create_order", "drop")  # lost on the way: nothing created (yet)
        h.press(ADMIN, summary, "Заказать")
        prompt = await h.emu.wait_for_message(
            ADMIN, has_button("Проверить"), after_message_id=summary["message_id"]
        )
        assert "такого нет" in text(prompt) and sim.orders == []
        # The dispatch service did take it after all (a slow server), by its parameters:
        request = next(r for r in sim.requests if r.name == "create_order")
        sim.world.create_order(request.params, sim.now())
        h.press(ADMIN, prompt, "Проверить")
        await h.emu.wait_for_message(
            ADMIN, has_text("Заказ №"), after_message_id=prompt["message_id"]
        )
        assert len(sim.orders) == 1 and sim.calls_of("create_order") == 1
        assert list(await h.app.repos.snapshots.get("taximaster")) == [str(sim.orders[0].id)]


async def test_no_connection_is_not_sent_and_may_be_sent_again(tmp_path, started):
    sim = await started()
    port = int(str(sim.base_url).rsplit(":", 1)[1])
    async with await bot_for(tmp_path, sim) as h:
        await settle(h)
        summary = await order_through_wizard(h, sim, ADMIN)
        await sim.stop()  # nothing listens: the request cannot leave
        h.press(ADMIN, summary, "Заказать")
        again = await h.emu.wait_for_message(
            ADMIN, has_button("Отправить ещё раз"), after_message_id=summary["message_id"]
        )
        await h.emu.wait_for_event(
            lambda c: (
                c.method == "editMessageText" and "не отправлен — и не создан" in (c.params["text"])
            ),
            start=0,
        )
        await sim.start(port=port)
        h.press(ADMIN, again, "Отправить ещё раз")
        await h.emu.wait_for_message(
            ADMIN, has_text("Заказ №"), after_message_id=again["message_id"]
        )
        assert len(sim.orders) == 1


async def test_code_100_watches_the_existing_order(tmp_path, started):
    """TMWeb says such an order exists already (a dispatcher took the same call a minute
    ago): no new one is made, and the one TMWeb has is found and watched."""
    sim = await started(current_orders=True)
    async with await bot_for(tmp_path, sim) as h:
        await settle(h)
        summary = await order_through_wizard(h, sim, ADMIN)
        row = await h.app.repos.db.fetchone(
            "SELECT payload FROM confirmations WHERE action = 'taximaster.order'"
        )
        assert row is not None
        payload = json.loads(row.payload)
        existing = sim.place_order(
            payload["source"],
            payload["dest"],
            phone=payload["phone"],
            source_time=datetime.fromisoformat(payload["source_time"]),
        )
        h.press(ADMIN, summary, "Заказать")
        card = await h.emu.wait_for_message(
            ADMIN, has_text("Заказ №"), after_message_id=summary["message_id"]
        )
        assert f"№{existing}" in text(card) and len(sim.orders) == 1
        await h.emu.wait_for_event(
            lambda c: (
                c.method == "editMessageText" and "такой заказ уже есть" in (c.params["text"])
            ),
            start=0,
        )
        assert_nothing_untrue(h)
