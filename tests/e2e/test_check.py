"""`logibot check`: configuration with secrets masked, and each part's reachability."""

import os
import subprocess
import sys

from sandbox.simulators.movizor.simulator import MovizorSimulator
from sandbox.telegram_emulator import TelegramEmulator

TOKEN = "222222:CHECK-secret-token"


async def run_check(tmp_path, **env_extra):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_PATH": str(tmp_path / "c.sqlite3"),
        **env_extra,
    }
    import asyncio

    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


async def test_check_passes_against_working_services_and_masks_secrets(tmp_path):
    async with TelegramEmulator(token=TOKEN, limits=None) as emu:
        sim = MovizorSimulator("acme", "movizor-secret-9")
        await sim.start()
        try:
            result = await run_check(
                tmp_path,
                BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=emu.base_url,
                MOVIZOR_PROJECT="acme",
                MOVIZOR_KEY="movizor-secret-9",
                MOVIZOR_BASE_URL=sim.base_url,
            )
        finally:
            await sim.stop()
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "[ok  ] telegram" in out and "[ok  ] movizor" in out and "[off ] alta" in out
    assert TOKEN not in out and "movizor-secret-9" not in out
    assert "BOT_TOKEN=***" in out


async def test_check_fails_on_a_wrong_key(tmp_path):
    async with TelegramEmulator(token=TOKEN, limits=None) as emu:
        sim = MovizorSimulator("acme", "right-key")
        await sim.start()
        try:
            result = await run_check(
                tmp_path,
                BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=emu.base_url,
                MOVIZOR_PROJECT="acme",
                MOVIZOR_KEY="wrong-key",
                MOVIZOR_BASE_URL=sim.base_url,
            )
        finally:
            await sim.stop()
    assert result.returncode == 1
    assert "[FAIL] movizor" in result.stdout and "wrong-key" not in result.stdout


async def test_check_shows_each_settings_value_and_its_source(tmp_path):
    """The environment's value, the default, a value set from the chat (in the database the
    bot uses), and an environment value the setting's rule refuses (exit 1)."""
    import handlers.alta.settings  # noqa: F401  (declares Alta's)
    from bot.settings.registry import find_setting
    from bot.settings.values import SettingsValues
    from storage import Repos
    from storage.db import Database

    async with Database(tmp_path / "c.sqlite3") as db:
        times = find_setting("alta.times")
        await SettingsValues(Repos.on(db)).set(times, times.kind.parse("08:00"), by=7)
    result = await run_check(
        tmp_path, ALTA_POLL_SECONDS="120", TELEGRAM_API_URL="http://127.0.0.1:9"
    )
    out = result.stdout + result.stderr
    assert "ALTA_POLL_SECONDS=120 s  (environment)" in out
    assert "ALTA_REGION=Russia  (default)" in out
    assert "ALTA_TIMES=08:00  (set from the chat by 7, " in out
    assert "PROBLEM" not in out

    result = await run_check(tmp_path, MOVIZOR_POLL_SECONDS="100000")
    out = result.stdout + result.stderr
    assert "PROBLEM MOVIZOR_POLL_SECONDS: from 5 to 86" in out
    assert result.returncode == 1
