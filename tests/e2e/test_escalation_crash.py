"""A driver leaves the route at night; the group's on-call person is one dispatcher; nobody
takes the alert. The bot runs as a process of its own against the Movizor simulator and the
Telegram emulator (independent stand-ins), on a clock 60 times faster than the wall's, and is
killed with SIGKILL in the middle of the chain. Restarted, it loses no step and doubles none:
the repeat in the group came once, the on-call person gets one private message within the
chain's time, and their «Принял» stops the chain and edits the group's messages."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

from sandbox.simulators.movizor.simulator import MovizorSimulator
from sandbox.telegram_emulator import TelegramEmulator
from tests.e2e.conftest import eventually
from tests.e2e.crash_escalation_bot import (
    DRIVER,
    GROUP,
    KEY,
    ONCALL,
    PHONE,
    PROJECT,
    TOKEN,
)

ROOT = Path(__file__).resolve().parents[2]


async def start_bot(emu: TelegramEmulator, workdir: Path, sim: MovizorSimulator, t0: float, log):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.crash_escalation_bot",
        emu.base_url,
        str(workdir),
        str(sim.base_url),
        str(t0),
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    await emu.wait_for_poller(timeout=60)
    return process


def escalations(emu: TelegramEmulator, chat_id: int) -> list[dict]:
    return [m for m in emu.messages(chat_id) if "Никто не принял" in m.get("text", "")]


async def test_sigkill_mid_chain_loses_no_step_and_the_on_call_ack_stops_it(tmp_path):
    sim = MovizorSimulator(PROJECT, KEY)
    await sim.start()
    sim.add_driver(PHONE, DRIVER, [])
    emu = TelegramEmulator(token=TOKEN, bot_username="logibot", limits=None)
    await emu.start()
    emu.add_group(GROUP, "Диспетчерская", supergroup=True, bot_already_member=True)
    emu.add_user(ONCALL, "Ольга", username="olga")
    emu.set_member_status(GROUP, ONCALL, "member")
    t0 = time.time()
    bot = None
    with (tmp_path / "bot.log").open("ab") as log:
        try:
            bot = await start_bot(emu, tmp_path, sim, t0, log)

            async def watching() -> bool:  # its first cycle took the newest event id
                return sim.calls_of("events") > 0

            await eventually(watching, timeout=30)
            sim.emit(PHONE, "leftroute")
            alert = await emu.wait_for_message(
                GROUP, lambda m: "ушёл с маршрута" in m.get("text", ""), timeout=30
            )
            # Ten simulated minutes later: the repeat in the group, as a reply, naming Ольга.
            repeat = await emu.wait_for_message(
                GROUP, lambda m: "Никто не принял" in m.get("text", ""), timeout=60
            )
            assert repeat["reply_to_message"]["message_id"] == alert["message_id"]
            assert "Ольга" in repeat["text"]
            await eventually(lambda: _step_recorded(tmp_path), timeout=30)
            bot.send_signal(signal.SIGKILL)  # mid-chain: the next step is due in ten minutes
            await bot.wait()

            bot = await start_bot(emu, tmp_path, sim, t0, log)
            private = await emu.wait_for_message(
                ONCALL, lambda m: "Никто не принял" in m.get("text", ""), timeout=60
            )
            assert DRIVER in private["text"] and "Диспетчерская" in private["text"]
            # On the bot's clock: not before its two steps of ten minutes (later by as long as
            # the bot was down: a restart takes a few seconds, each a simulated minute).
            found = re.search(r"за (\d+) мин", private["text"])
            assert found is not None and int(found.group(1)) >= 20
            emu.user_presses(ONCALL, private["message_id"], _ack_data(private), chat_id=ONCALL)

            async def taken() -> bool:
                texts = [m.get("text", "") for m in emu.messages(GROUP)]
                return sum("Принял(а) Ольга" in t for t in texts) == 2  # the alert, the repeat

            await eventually(taken, timeout=30)
            assert len(escalations(emu, GROUP)) == 1 and len(escalations(emu, ONCALL)) == 1
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 30) == 0
        finally:
            if bot is not None and bot.returncode is None:
                bot.kill()
                await bot.wait()
            await emu.stop()
            await sim.stop()
    rejected = [c for c in emu.rejected_calls() if c.method != "getUpdates"]
    assert rejected == []


async def _step_recorded(workdir: Path) -> bool:
    """The chain's first step is done in the database (the bot's own file, read-only)."""
    path = workdir / "escalation-crash.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT step FROM escalations WHERE id = 1").fetchone()
    return row is not None and row[0] >= 1


def _ack_data(message: dict) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if "Принял" in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(message)
