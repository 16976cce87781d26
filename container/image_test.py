"""`make image-test`: build the image, then run it the way a company would, and check each step.

    python -m container.image_test [--docker docker] [--base-image python:3.11-slim]

Needs a Docker engine with BuildKit, so it is not part of `make test`. The Telegram emulator
runs here on 127.0.0.1 and the containers share the host's network (``--network host``) to
reach it. Checked: the image holds only what runs (no source tree, no wheel, no pip) and its
size; the bot runs as uid 10001 under tini as PID 1; Telegram down at boot is waited out in
one container (no restart, health "starting"), which turns healthy when Telegram answers and
answers a user; /data is writable; unhealthy when Telegram goes away, healthy when it is back;
``docker stop`` exits 0; HTTP_PORT=0 is healthy; a root-owned bind mount on /data fails with
the folder, the uid and the fix, and works once given to uid 10001.

Prints one line per check and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.telegram_emulator import TelegramEmulator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "424242:IMAGE-TEST-token"
ADMIN = 7001
APP_UID = "10001"
ATTEMPT_LINE = "Telegram did not answer at start-up (attempt"
# Health probes every 2 s in the test (the image says 30 s); two failures in a row: unhealthy.
HEALTH_FLAGS = ("--health-interval=2s", "--health-retries=2", "--health-timeout=5s")


@dataclass
class Check:
    what: str
    ok: bool
    detail: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ImageTest:
    def __init__(self, docker: str, image: str, base_image: str) -> None:
        self.docker, self.image, self.base_image = docker, image, base_image
        self.checks: list[Check] = []
        self.figures: list[str] = []
        self.containers: list[str] = []
        self.volumes: list[str] = []
        self.emu = TelegramEmulator(token=TOKEN, limits=None)

    # --- plumbing ------------------------------------------------------------------------
    async def run(self, *args: str, timeout: float = 120) -> tuple[int, str]:
        """A docker command: (exit code, stdout + stderr)."""
        process = await asyncio.create_subprocess_exec(
            self.docker,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "DOCKER_BUILDKIT": "1"},  # older clients build without it
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return process.returncode, output.decode(errors="replace").strip()

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(what, ok, detail))
        shown = f" ({detail})" if detail and ok else (f"\n       {detail}" if detail else "")
        print(f"{'ok  ' if ok else 'FAIL'} {what}{shown}", flush=True)
        return ok

    async def inspect(self, name: str, template: str) -> str:
        _code, out = await self.run("inspect", "--format", template, name)
        return out

    async def until(
        self, probe: Callable[[], Awaitable[Any]], timeout: float, interval: float = 0.5
    ) -> Any:
        """``probe()``'s first truthy answer, or its last answer after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = await probe()
            if found or time.monotonic() > deadline:
                return found
            await asyncio.sleep(interval)

    async def health(self, name: str) -> str:
        return await self.inspect(name, "{{if .State.Health}}{{.State.Health.Status}}{{end}}")

    async def health_is(self, name: str, wanted: str, timeout: float) -> bool:
        async def probe() -> bool:
            return await self.health(name) == wanted

        return bool(await self.until(probe, timeout))

    async def last_health_output(self, name: str) -> str:
        log = json.loads(await self.inspect(name, "{{json .State.Health.Log}}") or "[]")
        return str(log[-1]["Output"]).strip() if log else ""

    async def start(self, *args: str, env: dict[str, str]) -> str:
        name = f"logibot-image-test-{os.getpid()}-{len(self.containers)}"
        flags = [f"--env={key}={value}" for key, value in env.items()]
        code, out = await self.run(
            "run", "--detach", f"--name={name}", "--network=host", *flags, *args, self.image
        )
        if code != 0:
            raise RuntimeError(f"docker run failed: {out}")
        self.containers.append(name)
        return name

    def bot_env(self, http_port: int) -> dict[str, str]:
        assert self.emu.base_url is not None
        return {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.emu.base_url,
            "ADMIN_IDS": str(ADMIN),
            "HTTP_PORT": str(http_port),
        }

    async def cleanup(self) -> None:
        for name in self.containers:
            await self.run("rm", "--force", "--volumes", name)
        for volume in self.volumes:
            await self.run("volume", "rm", "--force", volume)
        await self.emu.stop()

    # --- the steps -----------------------------------------------------------------------
    async def build(self) -> bool:
        began = time.monotonic()
        code, out = await self.run(
            "build",
            "--network=host",
            f"--build-arg=BASE_IMAGE={self.base_image}",
            f"--tag={self.image}",
            str(ROOT),
            timeout=1800,
        )
        seconds = time.monotonic() - began
        if not self.check(f"build on {self.base_image}", code == 0, f"{seconds:.0f} s"):
            print(out[-4000:])
            return False
        _code, size_text = await self.run("image", "inspect", "--format", "{{.Size}}", self.image)
        size = int(size_text)
        self.figures.append(f"image size: {size / 1e6:.0f} MB ({self.image})")
        return True

    async def contents(self) -> None:
        # What the build could leave behind (the base image's own files are the base's).
        script = (
            "for left in /app /src /wheels /opt/logibot/bin/pip; do"
            "  test -e $left && echo $left; done;"
            " find /opt /home /data /mnt /tmp -name '*.whl' -o -name '*.egg-info'"
            " -o -name build -o -name pyproject.toml;"
            " find /opt/logibot -path '*/aiogram/types/__pycache__/*.pyc' | grep -q ."
            "  || echo 'no bytecode: every start would compile aiogram';"
            " python3 -c 'import bot; print(\"package:\", bot.__file__)'"
        )
        _code, out = await self.run("run", "--rm", "--entrypoint=sh", self.image, "-c", script)
        lines = out.splitlines()
        self.check(
            "only what runs: no source tree, build/, egg-info, wheel or pip; bytecode compiled",
            len(lines) == 1 and lines[0].startswith("package: /opt/logibot/lib/"),
            out,
        )
        _code, out = await self.run("run", "--rm", "--entrypoint=id", self.image, "-u")
        self.check("runs as uid 10001, not root", out == APP_UID, out)

    async def outage_at_boot(self) -> str | None:
        """Telegram unreachable at boot: one container, no restarts, "starting"; then healthy."""
        self.emu.go_down("unreachable")
        volume = f"logibot-image-test-{os.getpid()}"
        await self.run("volume", "create", volume)
        self.volumes.append(volume)
        name = await self.start(
            "--restart=unless-stopped",
            *HEALTH_FLAGS,
            f"--volume={volume}:/data",
            env=self.bot_env(free_port()),
        )

        async def attempts() -> int:
            _code, logs = await self.run("logs", name)
            return logs.count(ATTEMPT_LINE)

        tried = await self.until(lambda: self._at_least(attempts, 3), timeout=90)
        restarts = await self.inspect(name, "{{.RestartCount}}")
        running = await self.inspect(name, "{{.State.Running}}")
        self.check(
            "Telegram down at boot: retried, not restarted",
            bool(tried) and restarts == "0" and running == "true",
            f"{await attempts()} attempts logged, restarts {restarts}, running {running}",
        )
        said = await self.last_health_output(name)
        self.check(
            "health meanwhile: starting",
            await self.health(name) == "starting" and said.startswith("starting: waiting"),
            said,
        )
        self.emu.come_back()
        began = time.monotonic()
        await self.emu.wait_for_poller(timeout=120)
        self.figures.append(
            f"Telegram back -> first long poll: {time.monotonic() - began:.1f} s (back-off)"
        )
        self.check("healthy once Telegram answers", await self.health_is(name, "healthy", 60))
        return name

    async def _at_least(self, count: Callable[[], Awaitable[int]], wanted: int) -> bool:
        return await count() >= wanted

    async def in_the_running_container(self, name: str) -> None:
        _code, top = await self.run("top", name, "-eo", "pid,uid,args")
        lines = top.splitlines()[1:]
        bot = [line for line in lines if "logibot run" in line and "tini" not in line]
        self.check(
            "the bot runs as uid 10001",
            bool(bot) and all(line.split()[1] == APP_UID for line in bot),
            " | ".join(lines),
        )
        _code, pid1 = await self.run("exec", name, "cat", "/proc/1/cmdline")
        self.check("PID 1 is tini", pid1.replace("\0", " ").startswith("tini"), pid1)
        code, out = await self.run(
            "exec", name, "sh", "-c", "touch /data/probe && rm /data/probe && ls -ln /data"
        )
        owned = [line for line in out.splitlines() if "logibot.sqlite3" in line]
        self.check(
            "/data writable, the database in it owned by 10001",
            code == 0 and bool(owned) and owned[0].split()[2] == APP_UID,
            out,
        )
        sent = self.emu.user_sends(ADMIN, "/help")
        reply = await self.emu.wait_for_message(
            ADMIN, after_message_id=sent["message_id"], timeout=30
        )
        self.check("answers /help", "/help" in reply.get("text", ""))

    async def telegram_goes_away(self, name: str) -> None:
        self.emu.go_down("unreachable")
        gone = await self.health_is(name, "unhealthy", 60)
        self.check("unhealthy when Telegram goes away", gone, await self.last_health_output(name))
        self.emu.come_back()
        self.check("healthy again when it is back", await self.health_is(name, "healthy", 60))

    async def stop(self, name: str, what: str) -> None:
        began = time.monotonic()
        await self.run("stop", name)
        seconds = time.monotonic() - began
        code = await self.inspect(name, "{{.State.ExitCode}}")
        self.check(f"{what}: docker stop -> exit 0", code == "0", f"exit {code} in {seconds:.1f} s")

    async def http_port_off(self) -> None:
        began, start = time.monotonic(), len(self.emu.calls)
        name = await self.start(*HEALTH_FLAGS, env=self.bot_env(0))
        await self.emu.wait_for_event(
            lambda call: call.method == "getUpdates", timeout=60, start=start
        )
        self.figures.append(
            f"docker run -> first long poll: {time.monotonic() - began:.1f} s (Telegram up)"
        )
        healthy = await self.health_is(name, "healthy", 30)
        self.check("HTTP_PORT=0: healthy", healthy, await self.last_health_output(name))
        await self.stop(name, "HTTP_PORT=0")

    async def bind_mount(self) -> None:
        with tempfile.TemporaryDirectory(prefix="logibot-bind-") as tmp:
            host = Path(tmp) / "data"
            host.mkdir(mode=0o755)  # like `mkdir` as root (or any user but 10001) makes it
            code, out = await self.run(
                "run",
                "--rm",
                "--network=host",
                f"--volume={host}:/data",
                *[f"--env={k}={v}" for k, v in self.bot_env(0).items()],
                self.image,
                timeout=120,
            )
            self.check(
                "bind mount not writable: exit 2, the folder, the uid and the fix",
                code == 2
                and "cannot write in the folder /data" in out
                and f"uid {APP_UID}" in out
                and "chown" in out,
                next((line for line in out.splitlines() if "DATABASE_PATH" in line), out),
            )
            # The README's fix, done the way any docker user can: chown through the image.
            await self.run(
                "run",
                "--rm",
                "--user=0",
                f"--volume={host}:/data",
                "--entrypoint=chown",
                self.image,
                f"{APP_UID}:{APP_UID}",
                "/data",
            )
            start = len(self.emu.calls)
            name = await self.start(f"--volume={host}:/data", env=self.bot_env(0))
            await self.emu.wait_for_event(
                lambda call: call.method == "getUpdates", timeout=60, start=start
            )
            self.check(
                "bind mount given to uid 10001: polling, database on the host",
                (host / "logibot.sqlite3").exists(),
            )
            await self.stop(name, "bind mount")
            # Files the container made belong to 10001: remove them through the image too.
            await self.run(
                "run",
                "--rm",
                f"--volume={host}:/data",
                "--entrypoint=sh",
                self.image,
                "-c",
                "rm -rf /data/* /data/.[!.]*",
            )

    async def main(self) -> int:
        if not await self.build():
            return 1
        await self.emu.start()
        self.emu.add_user(ADMIN, "Админ")
        try:
            await self.contents()
            name = await self.outage_at_boot()
            if name is not None:
                await self.in_the_running_container(name)
                await self.telegram_goes_away(name)
                await self.stop(name, "after an outage at boot")
                restarts = await self.inspect(name, "{{.RestartCount}}")
                self.check("never restarted", restarts == "0", f"restarts {restarts}")
            await self.http_port_off()
            await self.bind_mount()
        finally:
            await self.cleanup()
        failed = [c for c in self.checks if not c.ok]
        print()
        for figure in self.figures:
            print(figure)
        print(f"{len(self.checks) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="image-test", description=__doc__.split("\n")[0])
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "docker"))
    parser.add_argument("--base-image", default="python:3.11-slim")
    parser.add_argument("--image", default="logibot:image-test")
    args = parser.parse_args()
    return asyncio.run(ImageTest(args.docker, args.image, args.base_image).main())


if __name__ == "__main__":
    sys.exit(main())
