"""Section: resident memory of an idle ``logibot run``, and a clean exit on SIGTERM.

Measured on a real subprocess started the way production starts it (the CLI, settings from the
environment only), because an in-process bot would share the bench's own imports and heap.
The Telegram emulator runs here in the bench process, so its memory is not counted. A second
child that only imports aiogram gives the floor any aiogram bot starts from, so a reader can
tell logibot's own share from the framework's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from asyncio.subprocess import Process
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row, at_most, exactly
from bot.config import Settings
from sandbox.harness import TOKEN
from sandbox.telegram_emulator import TelegramEmulator

TITLE = "idle `logibot run`: memory and shutdown"

ADMIN = 1001
IDLE_SECONDS = 3.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
RSS_TARGET_MB = 120.0
MB = 1024 * 1024


def proc_status_bytes(pid: int, field: str) -> int:
    """A ``VmRSS``-style field of /proc/<pid>/status in bytes (psutil is not a dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            amount, unit = value.split()
            if unit != "kB":
                raise ValueError(f"unexpected unit {unit!r} for {field}")
            return int(amount) * 1024
    raise KeyError(f"{field} not in /proc/{pid}/status")


def read_log(path: Path) -> str:
    """The child's output (a small file; reading it blocks the loop only briefly)."""
    return path.read_text(errors="replace")


def bot_environment(api_url: str, workdir: Path) -> dict[str, str]:
    """The parent's environment minus any logibot setting, plus ours.

    Stray settings (an integration's credentials exported in the shell) would otherwise turn on
    pollers and change what is measured. The child also runs in ``workdir``, away from any
    ``.env`` in the repository.
    """
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        ADMIN_IDS=str(ADMIN),
        DATABASE_PATH=str(workdir / "logibot.sqlite3"),
        HTTP_PORT="0",
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass(frozen=True)
class IdleRun:
    rss: int  # bytes
    peak_rss: int  # bytes
    startup_seconds: float  # spawn -> blocked in its first long poll
    exit_code: int  # negative: killed by that signal (it did not stop on SIGTERM in time)
    output: str  # the child's stdout + stderr


async def measure(emu: TelegramEmulator, workdir: Path) -> IdleRun:
    """Start the bot, wait until it long-polls, let it idle, read its memory, SIGTERM it."""
    assert emu.base_url is not None
    log_path = workdir / "logibot.log"
    spawned = time.perf_counter()
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=workdir,
            env=bot_environment(emu.base_url, workdir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    try:
        await _until_polling(emu, proc, log_path)
        startup = time.perf_counter() - spawned
        await asyncio.sleep(IDLE_SECONDS)
        rss = proc_status_bytes(proc.pid, "VmRSS")
        peak = proc_status_bytes(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    output = read_log(log_path)
    return IdleRun(rss, peak, startup, proc.returncode, output)


async def _until_polling(emu: TelegramEmulator, proc: Process, log_path: Path) -> None:
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


async def import_floor() -> int:
    """VmRSS of a Python that only imports aiogram: what any aiogram bot starts from."""
    code = (
        "import aiogram\n"
        "for line in open('/proc/self/status'):\n"
        "    if line.startswith('VmRSS:'): print(int(line.split()[1]) * 1024)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await proc.communicate()
    return int(stdout)


async def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="logibot-bench-") as tmp:
        async with TelegramEmulator(token=TOKEN, bot_username="logibot", limits=None) as emu:
            emu.add_user(ADMIN, f"Админ {ADMIN}", username=f"admin{ADMIN}")
            result = await measure(emu, Path(tmp))
            rejected = len(emu.rejected_calls())
    floor = await import_floor()
    if result.exit_code != 0 and result.output.strip():
        print(f"`logibot run` output:\n{result.output.rstrip()}", file=sys.stderr)
    return [
        Row("idle `logibot run`: start to first long poll", result.startup_seconds, "s"),
        Row(
            f"idle `logibot run`: VmRSS after {IDLE_SECONDS:g} s idle",
            result.rss / MB,
            "MB",
            at_most(RSS_TARGET_MB),
            1,
        ),
        Row("idle `logibot run`: VmHWM (peak RSS)", result.peak_rss / MB, "MB", decimals=1),
        Row("floor: VmRSS of `import aiogram` alone", floor / MB, "MB", decimals=1),
        Row("idle `logibot run` minus that floor", (result.rss - floor) / MB, "MB", decimals=1),
        Row("idle `logibot run`: exit code on SIGTERM", result.exit_code, "", exactly(0), 0),
        Row("emulator rejected calls (logibot run)", rejected, "calls", exactly(0), 0),
    ]
