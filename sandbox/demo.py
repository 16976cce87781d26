"""`make demo`: the bot, the Telegram emulator and the simulators, wired over loopback, with a
console where you type as an admin. No token, no network."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from bot.logging_setup import setup_logging
from integrations.movizor.simulator import MovizorSimulator
from sandbox.console import run_console
from sandbox.harness import BotHarness

DEMO_ADMIN_ID = 100001
DEMO_GROUP_ID = -100200300
DEMO_COLLEAGUE_ID = 100002
DEMO_POLL_SECONDS = 5
MOVIZOR_PROJECT, MOVIZOR_KEY = "demo", "demo-key"


async def run_demo(*, speed: float = 20.0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="logibot-demo-"))
    log_path = workdir / "logibot.log"
    # The console is the screen: logs go to a file, not between the chat lines.
    with log_path.open("a", encoding="utf-8") as log_file:
        setup_logging("INFO", "text", [MOVIZOR_KEY], stream=log_file)
        movizor = MovizorSimulator(MOVIZOR_PROJECT, MOVIZOR_KEY, speed=speed, seed_demo=True)
        await movizor.start()
        harness = BotHarness(
            workdir,
            admin_ids=[DEMO_ADMIN_ID],
            limits=None,
            settings={
                "movizor_project": MOVIZOR_PROJECT,
                "movizor_key": MOVIZOR_KEY,
                "movizor_base_url": movizor.base_url,
                "movizor_poll_seconds": DEMO_POLL_SECONDS,
            },
        )
        try:
            async with harness:
                emu = harness.emu
                emu.add_user(DEMO_COLLEAGUE_ID, "Ольга", last_name="Смирнова", username="olga_disp")
                emu.add_group(DEMO_GROUP_ID, "Диспетчерская", supergroup=True)
                emu.add_bot_to_group(DEMO_ADMIN_ID, DEMO_GROUP_ID)
                assert harness.app is not None
                # The group hears about drivers from the start; try /subscriptions there.
                await harness.app.repos.subscriptions.add(
                    DEMO_GROUP_ID, 0, "area:drivers", by=DEMO_ADMIN_ID
                )
                print(f"(журнал бота: {log_path})", file=sys.stdout)
                await run_console(emu, user_id=DEMO_ADMIN_ID, group_chat_id=DEMO_GROUP_ID)
        finally:
            await movizor.stop()
    logging.shutdown()
    return 0
