"""`logibot run` as a child process of the bench, the way production starts it (the CLI, settings
from the environment only), polling the Telegram emulator that runs in the bench's own loop."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import Process
from pathlib import Path

from bot.config import Settings
from sandbox.harness import TOKEN
from sandbox.telegram_emulator import TelegramEmulator

START_TIMEOUT = 60.0


def bot_environment(api_url: str, workdir: Path, admin: int) -> dict[str, str]:
    """The parent's environment minus any logibot setting, plus ours.

    Stray settings (an integration's credentials exported in the shell) would otherwise turn on
    pollers and change what is measured. The child also runs in ``workdir``, away from any
    ``.env`` in the repository.
    """
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        ADMIN_IDS=str(admin),
        DATABASE_PATH=str(workdir / "logibot.sqlite3"),
        HTTP_PORT="0",
        LOG_LEVEL="WARNING",
    )
    return env


async def spawn_bot(emu: TelegramEmulator, workdir: Path, admin: int, log_path: Path) -> Process:
    assert emu.base_url is not None
    with log_path.open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=workdir,
            env=bot_environment(emu.base_url, workdir, admin),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )


def read_log(path: Path) -> str:
    """The child's output (a small file; reading it blocks the loop only briefly)."""
    return path.read_text(errors="replace")


async def until_polling(emu: TelegramEmulator, proc: Process, log_path: Path) -> None:
    """Wait for the first long poll; if the bot dies first, fail with what it printed."""
    polling = asyncio.create_task(emu.wait_for_poller(timeout=START_TIMEOUT))
    exited = asyncio.create_task(proc.wait())
    done, _pending = await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
    if polling in done:
        exited.cancel()
        polling.result()  # raises TimeoutError if it never polled
        return
    polling.cancel()
    output = read_log(log_path)
    raise RuntimeError(f"`logibot run` exited with {proc.returncode} before polling:\n{output}")


async def stop_bot(proc: Process, timeout: float = 30.0) -> int:
    """SIGTERM and the exit code (negative: killed, it did not stop in time)."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode
