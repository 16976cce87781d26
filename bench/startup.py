"""Section: start to first long poll of ``logibot run``, and how much of it is aiogram's import.

The time a restart (a deploy, a crash, a reboot) costs before the bot hears anyone: from spawning
the process to its first getUpdates waiting in the emulator. Each figure is the median of
several starts, alternating with the floor (a Python that only imports aiogram, whose ~600
pydantic models are built at import), so the machine's load lands on both. The CPU time the
child used until then is given too: on a shared machine the wall time grows with the others'
load, the CPU time hardly does. A second series starts with hundreds of users holding a role:
their command menus are published beside polling, not before it, so the start must not grow
with them.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from asyncio.subprocess import PIPE
from pathlib import Path

from bench.bot_process import spawn_bot, stop_bot, until_polling
from bench.report import Row, at_most
from sandbox.harness import TOKEN
from sandbox.telegram_emulator import TelegramEmulator
from storage import Repos
from storage.db import Database
from storage.users import Role

TITLE = "`logibot run`: start to first long poll"

ADMIN = 1001
STARTS = 5
USERS_WITH_A_ROLE = 500
# Issue 21 asked for "≤ 3 s" when the floor (aiogram's import) took about 2 s on this machine;
# like every speed target here it is kept as a ratio to that floor, measured in the same run,
# so that a slower or busier machine moves both sides (the seconds are printed beside it).
START_TO_FLOOR_TARGET = 1.5
MANY_USERS_RATIO_TARGET = 1.2


async def seed_users(path: Path, emu: TelegramEmulator, count: int) -> None:
    """``count`` viewers who have written to the bot (each gets a personal menu at start)."""
    async with Database(path) as db:
        repos = Repos.on(db)
        for user_id in range(10_000, 10_000 + count):
            emu.add_user(user_id, f"Сотрудник {user_id}")
            await repos.users.touch(
                user_id, username=None, first_name="Сотрудник", last_name=None, language_code="ru"
            )
            await repos.users.set_role(user_id, Role.VIEWER, by=ADMIN)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_once(users: int) -> tuple[float, float]:
    """(wall, CPU) seconds from spawn to the first long poll, on a fresh database with
    ``users`` seeded."""
    with tempfile.TemporaryDirectory(prefix="logibot-bench-") as tmp:
        workdir = Path(tmp)
        async with TelegramEmulator(token=TOKEN, bot_username="logibot", limits=None) as emu:
            emu.add_user(ADMIN, f"Админ {ADMIN}", username=f"admin{ADMIN}")
            await seed_users(workdir / "logibot.sqlite3", emu, users)
            log_path = workdir / "logibot.log"
            began = time.perf_counter()
            proc = await spawn_bot(emu, workdir, ADMIN, log_path)
            try:
                await until_polling(emu, proc, log_path)
                return time.perf_counter() - began, cpu_seconds(proc.pid)
            finally:
                await stop_bot(proc)


async def import_aiogram() -> tuple[float, float]:
    """(wall, CPU) seconds until a new Python has imported aiogram (its exit not counted, as
    the bot's is not): any aiogram bot's floor."""
    began = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import aiogram, os; t = os.times(); print(t.user + t.system, flush=True)",
        stdout=PIPE,
    )
    assert proc.stdout is not None
    line = await proc.stdout.readline()
    seconds = time.perf_counter() - began
    await proc.wait()
    return seconds, float(line)


async def run() -> list[Row]:
    starts: list[tuple[float, float]] = []
    floors: list[tuple[float, float]] = []
    crowded: list[tuple[float, float]] = []
    for _ in range(STARTS):
        floors.append(await import_aiogram())
        starts.append(await start_once(users=0))
        crowded.append(await start_once(users=USERS_WITH_A_ROLE))
    start, start_cpu = medians(starts)
    floor, floor_cpu = medians(floors)
    many, many_cpu = medians(crowded)
    return [
        Row(f"start to first long poll (median of {STARTS})", start, "s"),
        Row("  fastest of those starts", min(wall for wall, _cpu in starts), "s"),
        Row("  CPU time of those starts (median)", start_cpu, "s"),
        Row("floor: a Python that imports aiogram (median)", floor, "s"),
        Row("  its CPU time (median)", floor_cpu, "s"),
        Row(
            "start to first long poll / that floor",
            start / floor,
            "x",
            at_most(START_TO_FLOOR_TARGET),
        ),
        Row(
            "  logibot's own share of the CPU time (start minus floor)", start_cpu - floor_cpu, "s"
        ),
        Row(
            f"start with {USERS_WITH_A_ROLE} users holding a role / without",
            many / start,
            "x",
            at_most(MANY_USERS_RATIO_TARGET),
        ),
        Row("  the same, CPU time", many_cpu / start_cpu, "x"),
    ]


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return (
        statistics.median(wall for wall, _cpu in samples),
        statistics.median(cpu for _wall, cpu in samples),
    )
