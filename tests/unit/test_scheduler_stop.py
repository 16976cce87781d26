"""Stopping the scheduler does not cut a chore off half-way (APScheduler's shutdown cancels the
coroutine jobs in flight, which left a half-done escalation round and an error in the log): the
stop waits for the chore, and cancels only one that runs past CHORE_STOP_SECONDS."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.alerts import scheduler as scheduler_module
from bot.alerts.scheduler import AlertScheduler
from storage import Repos
from storage.db import Database


@pytest.fixture
async def repos(tmp_path):
    async with Database(tmp_path / "logibot.sqlite3") as db:
        yield Repos.on(db)


async def run_chore_then_stop(repos: Repos, seconds: float) -> tuple[list[str], AlertScheduler]:
    scheduler = AlertScheduler(repos)
    began = asyncio.Event()
    steps: list[str] = []

    async def chore() -> None:
        steps.append("began")
        began.set()
        await asyncio.sleep(seconds)
        steps.append("ended")

    scheduler.chores.append(("slow", chore, 3600))
    await scheduler.start()
    assert scheduler._scheduler is not None
    scheduler._scheduler.get_job("chore:slow").modify(next_run_time=None)  # type: ignore[union-attr]
    scheduler._scheduler.add_job(scheduler._finishing(chore), id="now")
    await asyncio.wait_for(began.wait(), 10)
    await scheduler.stop()
    return steps, scheduler


async def test_a_stop_waits_for_the_chore_in_flight(repos, caplog):
    caplog.set_level(logging.INFO)
    steps, scheduler = await run_chore_then_stop(repos, 0.2)
    assert steps == ["began", "ended"]
    assert not scheduler._chores_in_flight
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_chore_that_runs_too_long_is_cancelled(repos, caplog, monkeypatch):
    monkeypatch.setattr(scheduler_module, "CHORE_STOP_SECONDS", 0.2)
    steps, _scheduler = await run_chore_then_stop(repos, 30)
    assert steps == ["began"]
    assert "a chore runs past 0.2 s: cancelled" in caplog.text
