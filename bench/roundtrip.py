"""One measured exchange: a person sends a text, the bot's reply lands in the emulator.

Both bots in the latency section are timed by this same function against the same emulator
class, so whatever the emulator itself costs (HTTP, HTML parsing, deep copies) is on both sides
of the ratio and only the bot's own work differs.
"""

from __future__ import annotations

import time

from sandbox.telegram_emulator import TelegramEmulator

REPLY_TIMEOUT = 10.0


async def round_trip(emu: TelegramEmulator, user_id: int, text: str) -> tuple[float, str]:
    """Seconds from ``user_sends`` until the bot's reply is stored; and the reply's HTML.

    Waits for a message after the user's own one (ids are per chat and shared by both sides),
    which avoids ``emu.last_message``: that deep-copies the whole chat history on every call
    and would make later samples slower than earlier ones.
    """
    started = time.perf_counter()
    sent = emu.user_sends(user_id, text)
    reply = await emu.wait_for_message(
        user_id, timeout=REPLY_TIMEOUT, after_message_id=int(sent["message_id"])
    )
    elapsed = time.perf_counter() - started
    return elapsed, str(reply.get("raw_text", reply.get("text", "")))


async def round_trips(emu: TelegramEmulator, user_id: int, text: str, count: int) -> list[float]:
    """``count`` sequential round trips; each waits for the previous reply first."""
    samples: list[float] = []
    for _ in range(count):
        elapsed, _reply = await round_trip(emu, user_id, text)
        samples.append(elapsed)
    return samples
