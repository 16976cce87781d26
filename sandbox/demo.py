"""`make demo`: the bot, the Telegram emulator and every service's simulator, wired over
loopback, with a console where you type as an admin. No token, no network.

Each registered service (bot/services.py) runs against its simulator (``DEMOS`` in
sandbox/simulators/); the demo group hears every service's alert area from the start.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import handlers  # noqa: F401  (registers the services)
from bot.logging_setup import setup_logging
from bot.services import REGISTRY
from sandbox.console import run_console
from sandbox.harness import BotHarness
from sandbox.simulators import DEMOS

DEMO_ADMIN_ID = 100001
DEMO_GROUP_ID = -100200300
DEMO_COLLEAGUE_ID = 100002


async def run_demo(*, speed: float = 20.0) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="logibot-demo-"))
    log_path = workdir / "logibot.log"
    # The console is the screen: logs go to a file, not between the chat lines.
    with log_path.open("a", encoding="utf-8") as log_file:
        async with AsyncExitStack() as stack:
            settings: dict[str, Any] = {}
            secrets: list[str] = []
            areas: list[str] = []
            seeds = []
            for spec in REGISTRY.values():
                start_simulator = DEMOS.get(spec.name)
                if start_simulator is None:
                    continue
                backend = await start_simulator(speed)
                stack.push_async_callback(backend.stop)
                settings.update(backend.settings)
                secrets += backend.secrets
                areas.append(spec.area)
                if backend.seed is not None:
                    seeds.append(backend.seed)
            setup_logging("INFO", "text", secrets, stream=log_file)
            harness = BotHarness(workdir, admin_ids=[DEMO_ADMIN_ID], limits=None, settings=settings)
            async with harness:
                emu = harness.emu
                emu.add_user(DEMO_COLLEAGUE_ID, "Ольга", last_name="Смирнова", username="olga_disp")
                emu.add_group(DEMO_GROUP_ID, "Диспетчерская", supergroup=True)
                emu.add_bot_to_group(DEMO_ADMIN_ID, DEMO_GROUP_ID)
                assert harness.app is not None
                # The group hears every service from the start; try /subscriptions there.
                for area in areas:
                    await harness.app.repos.subscriptions.add(
                        DEMO_GROUP_ID, 0, f"area:{area}", by=DEMO_ADMIN_ID
                    )
                for seed in seeds:
                    await seed(harness.app.repos)
                print(f"(журнал бота: {log_path})", file=sys.stdout)
                await run_console(emu, user_id=DEMO_ADMIN_ID, group_chat_id=DEMO_GROUP_ID)
    logging.shutdown()
    return 0
