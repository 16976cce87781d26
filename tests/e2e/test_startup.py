"""`logibot run` starting into trouble, as a real process: Telegram down at boot (waited out, with
/healthz saying so), a token Telegram refuses, a database folder it may not write, and the
container's health check following HTTP_PORT."""

import asyncio
import os
import shutil
import signal

import pytest

from sandbox.telegram_emulator import TelegramEmulator
from tests.e2e.bot_process import (
    bot_env,
    free_port,
    healthz,
    run_to_end,
    spawn,
    stop,
    until,
)

TOKEN = "987654:STARTUP-TEST-token"
ADMIN = 6001
ATTEMPT_LINE = "Telegram did not answer at start-up (attempt"


async def test_telegram_down_at_boot_is_waited_out_and_polling_begins_when_it_answers(tmp_path):
    emu = TelegramEmulator(token=TOKEN, limits=None)
    await emu.start()
    emu.add_user(ADMIN, "Админ")
    emu.go_down("unreachable")
    port = free_port()
    env = bot_env(tmp_path, TOKEN, emu.base_url, admin_ids=str(ADMIN), http_port=str(port))
    log = tmp_path / "bot.log"
    process = await spawn("run", env, tmp_path, log)
    try:

        async def retried(mode: str):
            answer = await healthz(port)
            if answer is None:
                return None
            status, body = answer
            startup = body["startup"]
            tried = startup["attempts"] >= 2 and mode in (startup["last_error"] or "")
            return (status, body) if tried else None

        # Still alive after failed attempts: it waits, it does not exit.
        status, body = await until(
            lambda: retried("Network"), "a second getMe attempt", process=process, log=log
        )
        assert (status, body["status"], body["startup"]["telegram"]) == (503, "starting", "waiting")
        code, said = await run_to_end("healthcheck", env, tmp_path)
        assert code == 1 and said.startswith("starting: waiting for Telegram"), said

        emu.go_down("bad_gateway")  # Telegram's front end back, its back end not yet
        await until(lambda: retried("Bad Gateway"), "a 502 seen", process=process, log=log)

        emu.come_back()
        await emu.wait_for_poller(timeout=90)
        answer = await healthz(port)
        assert answer is not None and answer[0] == 200, answer
        assert answer[1]["status"] == "ok" and answer[1]["startup"]["telegram"] == "ok"
        code, said = await run_to_end("healthcheck", env, tmp_path)
        assert (code, said.strip()) == (0, "ok")

        sent = emu.user_sends(ADMIN, "/help")
        reply = await emu.wait_for_message(ADMIN, after_message_id=sent["message_id"], timeout=10)
        assert "/help" in reply["text"]

        # Running, Telegram goes away: the next getUpdates fails and /healthz says so at once
        # (not only once the last answer is two minutes old); back, and it is ok again.
        emu.go_down("unreachable")

        async def health_is(status: str):
            answer = await healthz(port)
            return answer if answer and answer[1]["status"] == status else None

        status, body = await until(lambda: health_is("fail"), "fail", process=process, log=log)
        assert status == 503 and "Network" in body["telegram_polling"]["last_error"]
        code, said = await run_to_end("healthcheck", env, tmp_path)
        assert code == 1 and said.startswith("fail: Telegram polling: TelegramNetworkError"), said
        emu.come_back()
        await until(lambda: health_is("ok"), "ok again", process=process, log=log)
        assert await stop(process) == 0
    finally:
        await stop(process)
        await emu.stop()
    output = log.read_text()
    attempts = [line for line in output.splitlines() if ATTEMPT_LINE in line]
    assert len(attempts) >= 3, output[-3000:]  # one line per attempt, no traceback
    assert "Traceback" not in output and TOKEN.split(":")[1] not in output
    assert "Telegram answered after" in output


async def test_sigterm_while_waiting_for_telegram_exits_0_and_health_fails_after_the_grace(
    tmp_path,
):
    port = free_port()  # nothing listens there: Telegram's address refuses connections
    env = bot_env(
        tmp_path,
        TOKEN,
        f"http://127.0.0.1:{free_port()}",
        http_port=str(port),
        startup_grace_seconds="0",
    )
    log = tmp_path / "bot.log"
    process = await spawn("run", env, tmp_path, log)
    try:

        async def failing():
            answer = await healthz(port)
            return answer if answer and answer[1]["startup"]["attempts"] >= 1 else None

        status, body = await until(failing, "a failed getMe", process=process, log=log)
        assert (status, body["status"], body["startup"]["telegram"]) == (503, "fail", "waiting")
        code, said = await run_to_end("healthcheck", env, tmp_path)
        assert code == 1 and said.startswith("fail: waiting for Telegram"), said
        assert await stop(process) == 0
    finally:
        await stop(process)
    output = log.read_text()
    assert "logibot stopped" in output and "Traceback" not in output, output[-3000:]


async def test_a_token_telegram_refuses_stops_with_a_configuration_error(tmp_path):
    emu = TelegramEmulator(token=TOKEN, limits=None)
    await emu.start()
    try:
        env = bot_env(tmp_path, "111:WRONG-token", emu.base_url)
        code, output = await run_to_end("run", env, tmp_path)
    finally:
        await emu.stop()
    assert code == 2, output
    assert "BOT_TOKEN: Telegram refused it (Unauthorized)" in output
    assert "Traceback" not in output and "WRONG-token" not in output
    assert [call.method for call in emu.calls] == ["getMe"]  # not retried


def unprivileged() -> tuple[str, ...]:
    """A prefix that runs the bot without the power to write other people's files.

    As root, the bot keeps uid 0 (its Python may live in root's home) but loses the
    capabilities that let root ignore permissions, so a folder of another uid is as closed
    to it as a root-owned bind mount is to the container's uid.
    """
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux) to drop privileges")
    dropped = "-dac_override,-dac_read_search,-fowner"
    return (setpriv, f"--inh-caps={dropped}", f"--bounding-set={dropped}")


async def test_a_database_folder_it_may_not_write_is_named_with_the_uid_and_the_fix(tmp_path):
    data = tmp_path / "data"  # as a host folder bind-mounted on /data
    data.mkdir()
    if os.geteuid() == 0:
        os.chown(data, 65534, 65534)  # someone else's, 0755
    else:
        data.chmod(0o555)
    env = bot_env(tmp_path, TOKEN, "http://127.0.0.1:9")
    env["DATABASE_PATH"] = str(data / "logibot.sqlite3")
    try:
        code, output = await run_to_end("run", env, tmp_path, prefix=unprivileged())
    finally:
        data.chmod(0o755)
    assert code == 2, output
    uid = os.geteuid()
    assert f"logibot runs as uid {uid} and cannot write in the folder {data}" in output, output
    assert f"chown -R {uid}:{os.getegid()}" in output
    assert "unable to open database file" not in output and "Traceback" not in output
    assert ATTEMPT_LINE not in output  # stopped before any network


async def test_the_health_check_follows_http_port(tmp_path):
    code, said = await run_to_end("healthcheck", bot_env(tmp_path, TOKEN, None), tmp_path)
    assert (code, said.strip()) == (0, "health endpoint off (HTTP_PORT=0): nothing to check")

    port = free_port()  # on, and nothing answers there
    env = bot_env(tmp_path, TOKEN, None, http_port=str(port))
    code, said = await run_to_end("healthcheck", env, tmp_path)
    assert code == 1 and said.startswith(f"no answer from http://127.0.0.1:{port}/healthz"), said


async def test_sigterm_while_importing_ends_the_process_at_once_before_anything_opens(tmp_path):
    # One second in, `logibot run` is importing aiogram (seconds of pydantic models): the
    # SIGTERM must end it there, not once the import is over and the database is open (a
    # container's `docker stop` kills after 10 s, and imports are slow on a loaded host).
    env = bot_env(tmp_path, TOKEN, "http://127.0.0.1:9")
    log = tmp_path / "bot.log"
    process = await spawn("run", env, tmp_path, log)
    await asyncio.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    assert await stop(process) == 0
    output = log.read_text()
    assert not (tmp_path / "bot.sqlite3").exists(), output
    assert "Traceback" not in output and "applying migration" not in output, output
