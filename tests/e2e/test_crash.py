"""Kill the bot with SIGKILL at random points while it delivers 1,000 alerts; restart it.

Every alert must arrive; an alert may arrive twice only through the one message that was in
flight at a kill (sent to Telegram, not yet marked sent), so duplicate messages <= kills.
"""

import asyncio
import os
import random
import re
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from sandbox.telegram_emulator import TelegramEmulator
from tests.e2e.crash_bot import ADMIN, TOKEN

TOTAL = 1000
KILLS = 4
CHAT = -100777
ROOT = Path(__file__).resolve().parents[2]
ALERT_RE = re.compile(r"alert-(\d{5})")


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


def delivered(emu: TelegramEmulator) -> list[list[int]]:
    """The alert numbers in each bot message of the chat, message by message."""
    return [
        [int(n) for n in ALERT_RE.findall(message.get("text", ""))]
        for message in emu.messages(CHAT)
    ]


async def start_bot(emu: TelegramEmulator, database_url: str, log) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.crash_bot",
        emu.base_url,
        database_url,
        str(CHAT),
        str(TOTAL),
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def wait_for_alerts(emu: TelegramEmulator, count: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len({n for msg in delivered(emu) for n in msg}) < count:
        if loop.time() > deadline:
            raise AssertionError(f"only {len({n for m in delivered(emu) for n in m})} arrived")
        await asyncio.sleep(0.01)


async def test_sigkill_during_delivery_loses_nothing(tmp_path, database_url):
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261123")))
    emu = TelegramEmulator(token=TOKEN, limits=None)
    await emu.start()
    emu.add_user(ADMIN, "Админ")
    emu.add_group(CHAT, "Авария", supergroup=True)
    emu.add_bot_to_group(ADMIN, CHAT)
    log_path = tmp_path / "bot.log"
    kills = 0
    with log_path.open("ab") as log:
        try:
            for _ in range(KILLS):
                bot = await start_bot(emu, database_url, log)
                seen = len({n for msg in delivered(emu) for n in msg})
                target = min(TOTAL - 1, seen + rng.randint(1, 250))
                await wait_for_alerts(emu, target, timeout=60)
                bot.send_signal(signal.SIGKILL)
                await bot.wait()
                kills += 1
            started = len(emu.calls)  # an index into all calls: only getMe calls after it count
            bot = await start_bot(emu, database_url, log)
            await wait_for_alerts(emu, TOTAL, timeout=90)
            # Everything may have arrived before this process even ran: SIGTERM it once it is up
            # (a signal before the interpreter runs our code cannot be handled by anyone).
            await emu.wait_for_event(lambda call: call.method == "getMe", timeout=60, start=started)
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 30) == 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
            await emu.stop()
    messages = [msg for msg in delivered(emu) if msg]
    counts = Counter(n for msg in messages for n in msg)
    twice = {n for n, c in counts.items() if c > 1}
    # A repeated message is one that carries an alert an earlier message already delivered.
    seen: set[int] = set()
    duplicate_messages = 0
    for msg in messages:
        duplicate_messages += bool(seen & set(msg))
        seen |= set(msg)
    print(
        f"\ncrash test: {kills} SIGKILLs, {len(counts)}/{TOTAL} alerts delivered, "
        f"{len(twice)} alerts twice, in {duplicate_messages} repeated messages"
    )
    assert set(counts) == set(range(TOTAL)), "alerts were lost"
    assert duplicate_messages <= kills
    # A killed process leaves its long poll open; the next process's poll ends it with 409.
    # That is the only refusal allowed here.
    rejected = [
        call
        for call in emu.rejected_calls()
        if not (call.method == "getUpdates" and call.error_code == 409)
    ]
    assert not rejected
