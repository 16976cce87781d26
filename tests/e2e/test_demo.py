"""`make demo` tells one time: the simulated services and the bot read the same clock.

The demo runs here on a clock three hours ahead of the wall clock (as it would be after nine
minutes at 20×), fed by a queue and printing into a buffer.
"""

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.demo import DemoClock, run_demo

MOSCOW = ZoneInfo("Europe/Moscow")


async def wait_for(output: io.StringIO, pattern: str, *, after: int = 0, timeout: float = 20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = re.search(pattern, output.getvalue()[after:])
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in:\n{output.getvalue()[after:]}")


async def test_the_bot_and_the_simulated_services_tell_one_time():
    clock = DemoClock(20.0, start=datetime.now(UTC) + timedelta(hours=3))
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    output = io.StringIO()
    demo = asyncio.create_task(run_demo(clock=clock, input_stream=lines, output_stream=output))
    try:
        await wait_for(output, "Начните с /help")
        start = len(output.getvalue())
        await lines.put("/locate 8 916 123-45-01")
        # Movizor's last fix of this driver is minutes old on the simulated clock.
        card = await wait_for(output, r"🕐 (.+) \((\d\d\.\d\d\.\d{4} \d\d:\d\d)\)", after=start)
        assert card.group(1).endswith("мин назад"), card.group(0)
        fix_at = datetime.strptime(card.group(2), "%d.%m.%Y %H:%M").replace(tzinfo=MOSCOW)
        assert timedelta(0) < clock.now() - fix_at < timedelta(hours=1)

        # An alert (its 🕒 line) in the group: a watcher has polled and committed. Any message
        # there would not do: the bot may say something in the group before the first poll.
        await wait_for(output, r"\[группа «Диспетчерская»\] 🤖[^\[]*🕒 \d\d\.\d\d \d\d:\d\d")
        start = len(output.getvalue())
        await lines.put("/status")
        polled = await wait_for(output, r"последний успешный опрос — (\S+ \d\d:\d\d)", after=start)
        shown = datetime.strptime(polled.group(1), "%d.%m.%Y %H:%M").replace(tzinfo=MOSCOW)
        assert abs(clock.now() - shown) < timedelta(minutes=10)  # not the wall clock's hours
    finally:
        await lines.put("/quit")
        assert await asyncio.wait_for(demo, 30) == 0
