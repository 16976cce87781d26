"""`logibot` as a real process, for the tests that need one: its environment, a free port for
its health endpoint, reading /healthz, and waiting for what it logs or says."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(workdir: Path, token: str, api_url: str | None, **settings: str) -> dict[str, str]:
    """Only what the test sets: no setting of the shell, no `.env` (the bot runs in workdir)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "BOT_TOKEN": token,
        "DATABASE_PATH": str(workdir / "bot.sqlite3"),
        "HTTP_PORT": "0",
    }
    if api_url is not None:
        env["TELEGRAM_API_URL"] = api_url
    env.update({name.upper(): value for name, value in settings.items()})
    return env


def bot_command(command: str, prefix: tuple[str, ...]) -> list[str]:
    return [*prefix, sys.executable, "-m", "bot", command]


async def spawn(
    command: str, env: dict[str, str], workdir: Path, log: Path, *, prefix: tuple[str, ...] = ()
) -> asyncio.subprocess.Process:
    """``python -m bot <command>`` with stdout and stderr into ``log``."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *bot_command(command, prefix),
            env=env,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )


async def run_to_end(
    command: str, env: dict[str, str], workdir: Path, *, prefix: tuple[str, ...] = ()
) -> tuple[int, str]:
    """Run ``python -m bot <command>`` until it exits: (exit code, its output)."""
    process = await asyncio.create_subprocess_exec(
        *bot_command(command, prefix),
        env=env,
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:  # timed out: no process outlives its test
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, output.decode()


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def healthz(port: int) -> tuple[int, dict[str, Any]] | None:
    """/healthz as (HTTP status, body); None while nothing listens on the port yet."""
    try:
        return await asyncio.to_thread(get_json, f"http://127.0.0.1:{port}/healthz")
    except urllib.error.URLError:
        return None


async def until(
    probe: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    process: asyncio.subprocess.Process | None = None,
    log: Path | None = None,
    timeout: float = 60.0,
) -> T:
    """Await ``probe()`` until it gives something truthy; fail (with the bot's log) after
    ``timeout``, or at once when ``process`` exits meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if process is not None and process.returncode is not None:
            raise AssertionError(
                f"the bot exited ({process.returncode}) before {what}:\n{tail(log)}"
            )
        if loop.time() > deadline:
            raise AssertionError(f"no {what} within {timeout} s:\n{tail(log)}")
        await asyncio.sleep(0.1)


def tail(log: Path | None) -> str:
    """The end of the bot's output (a small file: reading it blocks the loop only briefly)."""
    return log.read_text(errors="replace")[-3000:] if log else ""


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then the exit code (killed after a minute: that fails the test's check)."""
    if process.returncode is None:
        process.terminate()
    try:
        return await asyncio.wait_for(process.wait(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
