"""`make demo`: the bot, the Telegram emulator and every service's simulator, wired over
loopback, with a console where you type as an admin. No token, no network.

Each registered service (bot/services.py) runs against its simulator (``DEMOS`` in
sandbox/simulators/); the demo group hears every service's alert area from the start.

One clock: the simulated services run ``speed`` times faster than real time so that something
happens within a minute, and the bot reads the same clock (``storage.db.set_clock``), as does the
emulator's message dates. An alert's time, the «✅ Принял(а) … в 15:40» under it, a driver's
«5 мин назад» and a taxi «через 30 мин» therefore agree; all of them run ahead of the wall clock.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import handlers  # noqa: F401  (registers the services)
from bot.logging_setup import setup_logging
from bot.services import REGISTRY
from sandbox.console import run_console
from sandbox.harness import BotHarness
from sandbox.simulators import DEMOS
from storage.db import set_clock

DEMO_ADMIN_ID = 100001
DEMO_GROUP_ID = -100200300
DEMO_COLLEAGUE_ID = 100002


class DemoClock:
    """Simulated time: it starts at ``start`` (default: now) and runs ``speed`` times faster."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._started) * self.speed
        return self._start + timedelta(seconds=elapsed)

    def unix(self) -> float:
        return self.now().timestamp()


async def run_demo(
    *,
    speed: float = 20.0,
    clock: DemoClock | None = None,
    input_stream: TextIO | asyncio.Queue[str | None] | None = None,
    output_stream: TextIO | None = None,
) -> int:
    """The demo until /quit. ``clock`` (default: now, at ``speed``), ``input_stream`` and
    ``output_stream`` are for tests (see sandbox/console.py)."""
    clock = clock or DemoClock(speed)
    workdir = Path(tempfile.mkdtemp(prefix="logibot-demo-"))
    log_path = workdir / "logibot.log"
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)
    set_clock(clock.now)
    try:
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
                    backend = await start_simulator(clock.now)
                    stack.push_async_callback(backend.stop)
                    settings.update(backend.settings)
                    secrets += backend.secrets
                    areas.append(spec.area)
                    if backend.seed is not None:
                        seeds.append(backend.seed)
                setup_logging("INFO", "text", secrets, stream=log_file)
                harness = BotHarness(
                    workdir,
                    admin_ids=[DEMO_ADMIN_ID],
                    limits=None,
                    settings=settings,
                    wall_clock=clock.unix,
                )
                async with harness:
                    emu = harness.emu
                    emu.add_user(
                        DEMO_COLLEAGUE_ID, "Ольга", last_name="Смирнова", username="olga_disp"
                    )
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
                    print(f"(журнал бота: {log_path})", file=output_stream or sys.stdout)
                    await run_console(
                        emu,
                        user_id=DEMO_ADMIN_ID,
                        group_chat_id=DEMO_GROUP_ID,
                        input_stream=input_stream,
                        output_stream=output_stream,
                    )
    finally:
        set_clock(None)
        # The log file is closed: whatever logs after the demo goes where it went before.
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved_logging[0]:
            root.addHandler(handler)
        root.setLevel(saved_logging[1])
    return 0
