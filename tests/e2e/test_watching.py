"""Watchers under APScheduler: real jobs, health, and one down/recovered alert pair."""

import sqlite3

import pytest

from integrations.base import Alert, Subject
from sandbox.harness import BotHarness
from sandbox.testsource.watcher import TestSource
from storage.db import utcnow
from tests.e2e.conftest import eventually

ADMIN = 11


def make_alert(n: int) -> Alert:
    return Alert(
        kind="system.test",
        source="testsource",
        subject=Subject("test", str(n), f"Проверка {n}"),
        occurred_at=utcnow(),
        dedupe_key=f"test:{n}",
    )


@pytest.fixture
async def source_and_harness(tmp_path):
    source = TestSource()
    async with BotHarness(tmp_path, admin_ids=[ADMIN], watchers=lambda: [(source, 1)]) as harness:
        yield source, harness


async def test_a_job_that_fires_after_the_scheduler_stopped_polls_nothing(source_and_harness):
    """Shutdown waits for the cycles in flight; a job APScheduler started just before it
    stopped must not begin a cycle after that wait (the closing loop would cut it off)."""
    source, harness = source_and_harness
    runner = harness.app.scheduler.runners["testsource"]
    await harness.app.scheduler.stop()
    polls = []
    real_poll = source.poll

    async def counted(cursor):
        polls.append(cursor)
        return await real_poll(cursor)

    source.poll = counted
    await runner.run_once()
    assert polls == []


async def test_the_scheduler_polls_and_commits_alerts_with_the_cursor(source_and_harness):
    source, harness = source_and_harness
    repos = harness.app.repos
    await repos.subscriptions.add(ADMIN, 0, "area:system", by=ADMIN)
    source.emit(*(make_alert(n) for n in range(5)))
    # The real APScheduler job (every second) picks them up; no manual trigger.
    assert await eventually(lambda: _cursor_is(repos, "5"), timeout=10)
    health = harness.app.health.integrations["testsource"]
    assert health.last_success is not None and health.consecutive_failures == 0


async def _cursor_is(repos, value):
    return await repos.alert_state.cursor("testsource") == value


async def test_an_outage_alerts_admins_once_and_recovery_once(source_and_harness):
    source, harness = source_and_harness
    app = harness.app
    await app.scheduler.set_paused("testsource", True, by=ADMIN)  # drive cycles by hand
    source.failing = True
    runner = app.scheduler.runners["testsource"]
    for _ in range(10):
        await runner._cycle_once()  # a cycle as the job runs it, minus the pause check
    kinds = [row.kind for row in await _all_rows(app.repos)]
    assert kinds.count("system.integration_down") == 1
    assert app.health.integrations["testsource"].consecutive_failures == 10
    assert "testsource" in app.pipeline.down

    source.failing = False
    await runner._cycle_once()
    await runner._cycle_once()
    rows = await _all_rows(app.repos)
    assert [r.kind for r in rows].count("system.integration_recovered") == 1
    assert "testsource" not in app.pipeline.down


async def _all_rows(repos):
    return await repos.db.fetchall("SELECT kind FROM outbox")


async def test_pause_resume_and_status_commands(source_and_harness):
    _, harness = source_and_harness
    reply = await harness.say(ADMIN, "/pause testsource")
    assert "приостановлен" in reply["text"]
    assert harness.app.health.integrations["testsource"].paused
    status = await harness.say(ADMIN, "/status")
    assert "testsource" in status["text"] and "на паузе" in status["text"]
    # Services by the names people know; one that is off has no "last poll" to speak of.
    assert "Movizor: ⚪ не настроена\n" in status["text"] + "\n"
    reply = await harness.say(ADMIN, "/resume testsource")
    assert "возобновлён" in reply["text"]
    reply = await harness.say(ADMIN, "/pause nothing")
    assert "Нет интеграции" in reply["text"]
    # The pause survives a restart (it is a setting, not a job-store entry).
    await harness.say(ADMIN, "/pause testsource")
    await harness.stop_bot()
    await harness.start_bot()
    assert harness.app.health.integrations["testsource"].paused


async def test_an_admin_granted_in_the_chat_hears_integration_news_too(source_and_harness):
    """Admin notices go to every admin in the database, not only to ADMIN_IDS."""
    source, harness = source_and_harness
    app, granted = harness.app, 12
    harness.emu.add_user(granted, "Ирина")
    await harness.say(granted, "/start")
    await harness.say(ADMIN, f"/grant {granted} admin", expect=lambda m: "теперь" in m["text"])
    await app.scheduler.set_paused("testsource", True, by=ADMIN)
    source.failing = True
    runner = app.scheduler.runners["testsource"]
    for _ in range(3):
        await runner._cycle_once()
    rows = await app.repos.db.fetchall(
        "SELECT chat_id FROM outbox WHERE kind = 'system.integration_down'"
    )
    assert sorted(r.chat_id for r in rows) == [ADMIN, granted]


async def test_a_cycle_that_cannot_be_committed_is_a_failure_and_keeps_the_cursor(
    source_and_harness, monkeypatch
):
    source, harness = source_and_harness
    app = harness.app
    await app.scheduler.set_paused("testsource", True, by=ADMIN)
    runner = app.scheduler.runners["testsource"]
    source.emit(make_alert(1))
    await runner._cycle_once()
    assert await app.repos.alert_state.cursor("testsource") == "1"
    real_commit = app.pipeline.commit

    async def disk_full(source, *args, **kwargs):
        if source == "testsource":  # the cycle's own write fails; the admins' alert gets through
            raise sqlite3.OperationalError("database or disk is full")
        return await real_commit(source, *args, **kwargs)

    monkeypatch.setattr(app.pipeline, "commit", disk_full)
    source.emit(make_alert(2))
    for _ in range(3):
        await runner._cycle_once()
    health = app.health.integrations["testsource"]
    assert health.consecutive_failures == 3 and "disk is full" in (health.last_error or "")
    assert await app.repos.alert_state.cursor("testsource") == "1"
    monkeypatch.setattr(app.pipeline, "commit", real_commit)
    await runner._cycle_once()
    assert await app.repos.alert_state.cursor("testsource") == "2"
    kinds = [row.kind for row in await _all_rows(app.repos)]
    assert kinds.count("system.integration_down") == 1  # the down/recovered pair, as for polls
    assert kinds.count("system.integration_recovered") == 1
