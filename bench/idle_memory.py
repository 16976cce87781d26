"""Section: resident memory of an idle ``logibot run``, and a clean exit on SIGTERM.

Measured on a real subprocess started the way production starts it (the CLI, settings from the
environment only), because an in-process bot would share the bench's own imports and heap.
The Telegram emulator runs here in the bench process, so its memory is not counted. A second
child that only imports aiogram gives the floor any aiogram bot starts from, so a reader can
tell logibot's own share from the framework's.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.bot_process import read_log, spawn_bot, stop_bot, until_polling
from bench.report import Row, at_most, exactly
from sandbox.harness import TOKEN
from sandbox.telegram_emulator import TelegramEmulator

TITLE = "idle `logibot run`: memory and shutdown"

ADMIN = 1001
IDLE_SECONDS = 3.0
STOP_TIMEOUT = 30.0
# logibot's own share, above what any aiogram bot starts from (the floor, measured in the same
# run): an absolute figure would move with the Python build and aiogram's version (issue 16).
ABOVE_FLOOR_TARGET_MB = 15.0
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


@dataclass(frozen=True)
class IdleRun:
    rss: int  # bytes
    peak_rss: int  # bytes
    exit_code: int  # negative: killed by that signal (it did not stop on SIGTERM in time)
    output: str  # the child's stdout + stderr


async def measure(emu: TelegramEmulator, workdir: Path) -> IdleRun:
    """Start the bot, wait until it long-polls, let it idle, read its memory, SIGTERM it."""
    log_path = workdir / "logibot.log"
    proc = await spawn_bot(emu, workdir, ADMIN, log_path)
    try:
        await until_polling(emu, proc, log_path)
        await asyncio.sleep(IDLE_SECONDS)
        rss = proc_status_bytes(proc.pid, "VmRSS")
        peak = proc_status_bytes(proc.pid, "VmHWM")
    finally:
        exit_code = await stop_bot(proc, STOP_TIMEOUT)
    return IdleRun(rss, peak, exit_code, read_log(log_path))


async def measure_in_new_emulator(workdir: Path) -> tuple[IdleRun, int]:
    """One idle run against an emulator of its own, and the calls that emulator rejected."""
    async with TelegramEmulator(token=TOKEN, bot_username="logibot", limits=None) as emu:
        emu.add_user(ADMIN, f"Админ {ADMIN}", username=f"admin{ADMIN}")
        return await measure(emu, workdir), len(emu.rejected_calls())


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
        # The first start creates the database (Alembic runs, and stays imported); every
        # later start finds it up to date — the bot's usual state, so the one the target is
        # for. A new emulator for each, so "it polls" means this process polls.
        first, first_rejected = await measure_in_new_emulator(Path(tmp))
        result, rejected = await measure_in_new_emulator(Path(tmp))
        rejected += first_rejected
    floor = await import_floor()
    for run_ in (first, result):
        if run_.exit_code != 0 and run_.output.strip():
            print(f"`logibot run` output:\n{run_.output.rstrip()}", file=sys.stderr)
    return [
        Row(
            f"idle `logibot run` (first start: creates the database): VmRSS after "
            f"{IDLE_SECONDS:g} s idle",
            first.rss / MB,
            "MB",
            decimals=1,
        ),
        Row(
            f"idle `logibot run` (restart: database up to date): VmRSS after {IDLE_SECONDS:g} s",
            result.rss / MB,
            "MB",
            decimals=1,
        ),
        Row(
            "idle `logibot run`: VmHWM (peak RSS, restart)", result.peak_rss / MB, "MB", decimals=1
        ),
        Row("floor: VmRSS of `import aiogram` alone", floor / MB, "MB", decimals=1),
        Row(
            "idle `logibot run` (restart) minus that floor",
            (result.rss - floor) / MB,
            "MB",
            at_most(ABOVE_FLOOR_TARGET_MB),
            1,
        ),
        Row(
            "idle `logibot run`: exit code on SIGTERM (both starts)",
            first.exit_code or result.exit_code,  # the first that is not 0, else 0
            "",
            exactly(0),
            0,
        ),
        Row("emulator rejected calls (logibot run)", rejected, "calls", exactly(0), 0),
    ]
