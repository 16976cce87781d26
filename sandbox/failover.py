"""Replicas on one PostgreSQL behind a load balancer, in webhook mode: the failover test's and
bench's stand.

    stand = FailoverStand(workdir, database_url, takeover_seconds=3)
    await stand.start()                      # emulator (a local Bot API), balancer
    a = await stand.launch("a")              # python -m sandbox.replica, as `logibot run`
    await stand.until_role(a, "leader")
    ...
    killed_at = stand.kill(a)                # SIGKILL
    await stand.stop()

Telegram (the emulator) posts each update to the balancer, which hands it to a replica that
is alive; the replicas' /healthz say which one leads.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.config import Settings
from sandbox.harness import TOKEN, WEBHOOK_PATH, WEBHOOK_SECRET, free_port
from sandbox.load_balancer import LoadBalancer
from sandbox.telegram_emulator import TelegramEmulator, WebhookRetry

ADMIN = 1
GROUPS = (-1001001, -1001002, -1001003)
ROOT = Path(__file__).resolve().parents[1]
ALERT_RE = re.compile(r"alert-(\d{5})")


@dataclass
class Replica:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"


class FailoverStand:
    def __init__(
        self,
        workdir: Path,
        database_url: str,
        *,
        takeover_seconds: float,
        alerts: int = 1000,
        page_size: int = 50,
    ) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.takeover_seconds = takeover_seconds
        self.alerts = alerts
        self.page_size = page_size
        self.emu = TelegramEmulator(
            token=TOKEN,
            limits=None,
            local_mode=True,
            webhook_retry=WebhookRetry(first_seconds=0.2, max_seconds=1.0, timeout_seconds=60),
        )
        self.ports = [free_port(), free_port()]
        self.balancer = LoadBalancer([f"http://127.0.0.1:{port}" for port in self.ports])
        self.replicas: list[Replica] = []

    async def start(self) -> None:
        await self.emu.start()
        self.emu.add_user(ADMIN, "Админ")
        for group in GROUPS:
            self.emu.add_group(group, f"Группа {group}", supergroup=True)
            self.emu.add_bot_to_group(ADMIN, group)
        await self.balancer.start()

    async def stop(self) -> None:
        for replica in self.replicas:
            if replica.process.returncode is None:
                replica.process.kill()
                await replica.process.wait()
        await self.balancer.stop()
        await self.emu.stop()

    def environment(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
        env.update(
            PYTHONPATH=str(ROOT),
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=str(self.emu.base_url),
            ADMIN_IDS=str(ADMIN),
            DATABASE_URL=self.database_url,
            HTTP_PORT=str(port),
            WEBHOOK_URL=self.balancer.base_url + WEBHOOK_PATH,
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            LEADER_TAKEOVER_SECONDS=str(self.takeover_seconds),
            LOG_LEVEL="INFO",
        )
        return env

    async def launch(self, name: str, slot: int) -> Replica:
        """Start replica ``name`` on the balancer's backend ``slot`` (its HTTP port)."""
        port = self.ports[slot]
        log = self.workdir / f"replica-{name}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sandbox.replica",
                str(self.alerts),
                str(self.page_size),
                *(str(g) for g in GROUPS),
                cwd=self.workdir,
                env=self.environment(port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        replica = Replica(name, port, process, log)
        self.replicas.append(replica)
        return replica

    async def role(self, replica: Replica) -> str | None:
        """What the replica's /healthz says it is (None: not answering yet)."""
        try:
            async with aiohttp.ClientSession() as http, http.get(replica.health_url) as response:
                body = await response.json()
        except (aiohttp.ClientError, ValueError):
            return None
        return str(body.get("role")) if body.get("status") == "ok" else None

    async def until_role(self, replica: Replica, role: str, timeout: float = 90.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.role(replica) != role:
            if replica.process.returncode is not None:
                raise AssertionError(
                    f"replica {replica.name} exited ({replica.process.returncode}):\n"
                    + replica.log.read_text(errors="replace")[-3000:]
                )
            if loop.time() > deadline:
                raise AssertionError(f"replica {replica.name} is not {role} after {timeout}s")
            await asyncio.sleep(0.1)

    async def kill(self, replica: Replica) -> float:
        """SIGKILL; returns the moment (monotonic clock, the emulator's) it was sent."""
        killed_at = time.monotonic()
        replica.process.send_signal(signal.SIGKILL)
        await replica.process.wait()
        return killed_at

    # --- what the groups received ---------------------------------------------------------------
    def delivered(self, group: int) -> list[list[int]]:
        """The alert numbers in each bot message of a group, message by message."""
        return [
            [int(n) for n in ALERT_RE.findall(message.get("text", ""))]
            for message in self.emu.messages(group)
        ]

    def distinct(self, group: int) -> int:
        return len({n for message in self.delivered(group) for n in message})

    async def until_delivered(self, count: int, timeout: float = 120.0) -> None:
        """Until every group has ``count`` distinct alerts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while min(self.distinct(g) for g in GROUPS) < count:
            if loop.time() > deadline:
                got = {g: self.distinct(g) for g in GROUPS}
                raise AssertionError(f"after {timeout}s the groups have {got} of {count} alerts")
            await asyncio.sleep(0.02)

    def first_alert_after(self, moment: float) -> float | None:
        """When the first alert message after ``moment`` went out (the emulator's clock)."""
        for call in self.emu.calls:
            sent = call.at > moment and call.ok and call.method == "sendMessage"
            if sent and ALERT_RE.search(str(call.params.get("text", ""))):
                return call.at
        return None

    def duplicate_messages(self, group: int) -> int:
        """Messages that carry an alert an earlier message of the group already delivered."""
        seen: set[int] = set()
        repeated = 0
        for message in self.delivered(group):
            repeated += bool(seen & set(message))
            seen |= set(message)
        return repeated
