"""`logibot run` as a real process: long polling against the emulator, a health endpoint,
secrets kept out of the logs, and a clean exit on SIGTERM."""

import asyncio
import os
import signal
import sys
import urllib.request

from sandbox.telegram_emulator import TelegramEmulator
from tests.e2e.bot_process import free_port, get_json

TOKEN = "987654:PROCESS-TEST-secret-token"
MOVIZOR_KEY = "movizor-secret-key-123"
ADMIN = 5001
STRANGER = 5002


async def test_run_serves_health_keeps_secrets_and_stops_cleanly_on_sigterm(tmp_path):
    emu = TelegramEmulator(token=TOKEN, limits=None)
    await emu.start()
    emu.add_user(ADMIN, "Админ")
    emu.add_user(STRANGER, "Гость", username="guest")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.base_url,
        "ADMIN_IDS": str(ADMIN),
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
        "MOVIZOR_PROJECT": "acme",
        "MOVIZOR_KEY": MOVIZOR_KEY,
        "MOVIZOR_BASE_URL": "http://127.0.0.1:9",  # nothing listens: calls fail, loudly logged
    }
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            await emu.wait_for_poller(timeout=30)
            reply_to_stranger = emu.user_sends(STRANGER, "/start")
            refused = await emu.wait_for_message(
                STRANGER, after_message_id=reply_to_stranger["message_id"], timeout=10
            )
            assert "только для сотрудников" in refused["text"]
            notice = await emu.wait_for_message(ADMIN, timeout=10)
            assert "Гость" in notice["text"]

            status, health = await asyncio.to_thread(get_json, f"http://127.0.0.1:{port}/healthz")
            assert status == 200, health
            assert health["database"] == "ok" and health["telegram_polling"]["alive"]
            assert health["integrations"]["movizor"]["enabled"] is True
            metrics = await asyncio.to_thread(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
            )
            assert b"logibot_updates_handled_total" in metrics

            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await emu.stop()
    logs = log_path.read_text()
    assert code == 0, logs[-3000:]
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs
    assert MOVIZOR_KEY not in logs
    assert "Traceback" not in logs
    assert not emu.rejected_calls()


async def test_sigterm_during_start_up_still_exits_0(tmp_path):
    emu = TelegramEmulator(token=TOKEN, limits=None)
    await emu.start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.base_url,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "HTTP_PORT": "0",
        # A process that outlives the timeout is asked for its threads' stacks (SIGABRT).
        "PYTHONFAULTHANDLER": "1",
    }
    try:
        # While importing aiogram (~4 s), while starting, around the first poll. Not sooner:
        # before the interpreter runs our first line no process can handle a signal.
        for delay in (1.0, 2.5, 4.5):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            await asyncio.sleep(delay)
            process.send_signal(signal.SIGTERM)
            output = await _output_or_stacks(process, timeout=30)
            assert process.returncode == 0, output.decode()[-3000:]
            assert b"Traceback" not in output
    finally:
        await emu.stop()


async def _output_or_stacks(process: asyncio.subprocess.Process, *, timeout: float) -> bytes:
    """The process's output once it exits; if it has not exited within ``timeout``, its
    threads' stacks (faulthandler on SIGABRT) in the failure, which says where it hangs."""
    reading = asyncio.create_task(process.communicate())
    done, _ = await asyncio.wait([reading], timeout=timeout)
    if not done:
        process.send_signal(signal.SIGABRT)
        output, _ = await reading
        raise AssertionError("still running after SIGTERM:\n" + output.decode()[-6000:])
    output, _ = reading.result()
    return output
