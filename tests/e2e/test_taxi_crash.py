"""SIGKILL the bot while ``create_order`` is in flight; restart it.

The simulator holds the create, the bot process is killed, and only then does the simulator
create the order (the dispatch service got the request; nobody is left to hear the answer).
The restarted bot must tell the chat the order may exist — and adopt it where TMWeb can list
current orders — and never send it again: exactly one order, and no message claiming a failure
or a cancellation.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator
from sandbox.telegram_emulator import TelegramEmulator
from tests.e2e.conftest import eventually
from tests.e2e.crash_taxi_bot import ADMIN, TOKEN
from tests.e2e.test_taximaster_taxi import has_text, order_through_wizard, text
from tests.e2e.test_taximaster_unknown import UNTRUE

SECRET = "tm-crash-secret"
ROOT = Path(__file__).resolve().parents[2]


async def start_bot(emu: TelegramEmulator, workdir: Path, sim: TaxiMasterSimulator, log):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.crash_taxi_bot",
        emu.base_url,
        str(workdir),
        str(sim.base_url),
        SECRET,
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    await emu.wait_for_poller(timeout=60)
    return process


@pytest.mark.parametrize("current_orders", [False, True], ids=["document", "newer-tmweb"])
async def test_sigkill_with_create_order_in_flight_makes_one_order(tmp_path, current_orders):
    sim = TaxiMasterSimulator(SECRET, current_orders=current_orders, reject_duplicates=False)
    await sim.start()
    # A harness used only as a person at the keyboard: the bot runs in a process of its own.
    person = BotHarness(tmp_path, admin_ids=[ADMIN])
    person.emu = emu = TelegramEmulator(token=TOKEN, bot_username="logibot", limits=None)
    await emu.start()
    emu.add_user(ADMIN, "Диспетчер")
    bot = None
    with (tmp_path / "bot.log").open("ab") as log:
        try:
            bot = await start_bot(emu, tmp_path, sim, log)
            summary = await order_through_wizard(person, sim, ADMIN)
            sim.hold_next("create_order")
            person.press(ADMIN, summary, "Заказать")
            await asyncio.wait_for(sim.held.wait(), 30)
            bot.send_signal(signal.SIGKILL)  # the request is out, the answer will find no one
            await bot.wait()
            sim.release()  # ... and the dispatch service creates the order

            async def created() -> bool:
                return bool(sim.orders)

            await eventually(created)
            [order] = sim.orders

            before = emu.last_message(ADMIN)
            bot = await start_bot(emu, tmp_path, sim, log)
            if current_orders:
                told = await emu.wait_for_message(
                    ADMIN,
                    has_text("После перезапуска"),
                    after_message_id=before["message_id"] if before else 0,
                    timeout=30,
                )
                assert f"№{order.id}" in text(told) and "Повторно он не отправлялся" in text(told)
                card = await emu.wait_for_message(ADMIN, has_text(f"Заказ №{order.id}"), timeout=30)
                assert card
            else:
                told = await emu.wait_for_message(
                    ADMIN,
                    has_text("перезапустился, пока отправлял заказ"),
                    after_message_id=before["message_id"] if before else 0,
                    timeout=30,
                )
                assert "мог быть создан" in text(told) and "повторно не отправит" in text(told)
                assert "+7 912 345-67-89" in text(told)
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 30) == 0
        finally:
            if bot is not None and bot.returncode is None:
                bot.kill()
                await bot.wait()
            await emu.stop()
            await sim.stop()
    assert len(sim.orders) == 1 and sim.calls_of("create_order") == 1
    for message in emu.messages(ADMIN):
        assert not any(word in text(message) for word in UNTRUE), text(message)
    edits = [c.params.get("text", "") for c in emu.calls if c.method == "editMessageText"]
    for edited in edits:
        assert not any(word in edited for word in UNTRUE), edited
