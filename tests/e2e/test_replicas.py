"""More than one bot process: one leader runs the background work, a standby takes over when
the leader loses its lock; a second process on one SQLite file refuses to start; webhook mode
serves updates on the HTTP port and checks Telegram's secret header.

(The SIGKILL failover of two real processes behind a load balancer: test_failover.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import LeadershipLost, LogiBot
from bot.config import ConfigError
from bot.leader import Role
from bot.settings.general import ALERT_ROUTINE_MINUTES
from sandbox.harness import WEBHOOK_PATH, WEBHOOK_SECRET, BotHarness, free_port
from storage.db import Database
from storage.users import Role as UserRole
from tests.e2e.conftest import ADMIN


def help_reply(message: dict) -> bool:
    return "/help" in message.get("text", "") or "Команды" in message.get("text", "")


async def healthz(app: LogiBot) -> dict:
    url = f"http://127.0.0.1:{app.health_server.port}/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return dict(await response.json())


def metric(app: LogiBot, name: str) -> float:
    body = app.metrics.render().decode()
    line = next(line for line in body.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


@contextlib.asynccontextmanager
async def second_process(h: BotHarness):
    """Another LogiBot on the same database and Telegram (a second replica), running."""
    other = LogiBot(h.settings().model_copy(update={"http_port": free_port()}))
    await other.start()
    running = asyncio.create_task(other.run())
    try:
        yield other, running
    finally:
        await other.request_stop()
        with contextlib.suppress(LeadershipLost):
            await running


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def test_a_standby_waits_and_takes_over_when_the_leader_loses_its_lock(
    tmp_path, database_url
):
    async with BotHarness(tmp_path, admin_ids=[ADMIN], database_url=database_url) as h:
        leader = h.app
        assert leader is not None and leader.leading.is_set()
        async with second_process(h) as (standby, standby_run):
            await asyncio.sleep(standby.leadership.poll_seconds * 2)  # it tried, and tries on
            assert not standby.leading.is_set()
            assert standby.leadership.role == Role.STANDBY
            assert not standby.sender.running and standby._polling is None
            assert (await healthz(standby))["role"] == "standby"
            assert (await healthz(standby))["status"] == "ok"
            assert metric(standby, "logibot_leader") == 0
            assert metric(leader, "logibot_leader") == 1
            assert (await h.say(ADMIN, "/help"))["text"]  # the leader polls and answers

            # The lock's session ends under the leader (a lost connection, an admin's kill).
            async with Database(database_url) as db:
                await db.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                    )
                )
            with pytest.raises(LeadershipLost):
                await asyncio.wait_for(h._running, 30)  # type: ignore[arg-type]
            assert not leader.sender.running
            assert leader.scheduler._scheduler is None and leader.services == {}

            await asyncio.wait_for(standby.leading.wait(), 30)
            assert standby.sender.running and standby._polling is not None
            reply = await h.say(ADMIN, "/start")  # the new leader polls now
            assert reply["text"]
            assert (await healthz(standby))["role"] == "leader"
            h.app = None  # the harness must not stop the lost leader again
        assert not standby_run.done() or standby_run.exception() is None


async def test_a_setting_changed_on_another_replica_applies_in_the_leader_at_once(
    tmp_path, database_url
):
    """Not at the next half-minute look: the database's notice of the change reaches the
    leader, which calls the setting's hooks (storage/changes.py). And a person's role changed
    there is the one this replica checks on their next message."""
    async with BotHarness(tmp_path, admin_ids=[ADMIN], database_url=database_url) as h:
        leader = h.app
        assert leader is not None and leader.leading.is_set()
        async with second_process(h) as (replica, _running):
            await replica.settings_values.set(ALERT_ROUTINE_MINUTES, 25, by=ADMIN)
            async with asyncio.timeout(5):  # the chore would take up to 30 s
                while leader.sender.routine_window != timedelta(minutes=25):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)

            assert "/grant" in (await h.say(ADMIN, "/help"))["text"]  # an admin, remembered
            await replica.repos.users.set_role(ADMIN, UserRole.VIEWER, by=None)
            async with asyncio.timeout(5):
                while "/grant" in (await h.say(ADMIN, "/help"))["text"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)


async def test_a_second_process_on_one_sqlite_file_refuses_to_start(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN]) as h:
        other = LogiBot(h.settings())
        with pytest.raises(ConfigError, match="another logibot is running on this database"):
            await other.start()
        await other.close()
        assert (await h.say(ADMIN, "/help"))["text"]  # the first one goes on


async def test_webhook_mode_serves_updates_and_wants_the_secret(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN], webhook=True) as h:
        assert h.app is not None
        reply = await h.say(ADMIN, "/help")
        assert reply["text"]
        set_calls = h.emu.calls_of("setWebhook")
        assert [c.params["secret_token"] for c in set_calls] == [WEBHOOK_SECRET]
        assert not h.emu.calls_of("getUpdates")
        health = await healthz(h.app)
        assert (health["status"], health["updates"], health["role"]) == ("ok", "webhook", "leader")

        url = f"http://127.0.0.1:{h.app.health_server.port}{WEBHOOK_PATH}"
        update = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as response:
                assert response.status == 401
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-it"}
            async with http.post(url, json=update, headers=wrong) as response:
                assert response.status == 401


async def test_polling_again_after_webhook_mode_removes_the_webhook(tmp_path):
    async with BotHarness(tmp_path, admin_ids=[ADMIN], webhook=True) as h:
        await h.say(ADMIN, "/help")
        await h.stop_bot()
        h.webhook = False
        await h.start_bot()
        assert len(h.emu.calls_of("deleteWebhook")) == 1
        assert (await h.say(ADMIN, "/help"))["text"]
        assert h.emu.calls_of("getUpdates")
