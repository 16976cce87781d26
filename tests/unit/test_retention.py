"""The daily prune: what ended, expired or aged goes; everything else stays."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.pipeline import AlertPipeline
from bot.alerts.scheduler import AlertScheduler
from integrations.base import Alert, Subject
from storage import Repos
from storage.chats import ChatStatus
from storage.cycle import CycleWrite, commit_cycle
from storage.db import Database, to_db_time, utcnow
from storage.escalations import NewEscalation
from storage.retention import Retention, prune

GROUP = -100
MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
async def repos(tmp_path):
    async with Database(tmp_path / "r.sqlite3") as db:
        repos = Repos.on(db)
        await repos.chats.upsert(
            GROUP, type="group", title="g", status=ChatStatus.APPROVED, added_by=1
        )
        yield repos


async def count(repos: Repos, table: str, where: str = "1 = 1") -> int:
    row = await repos.db.fetchone(f"SELECT count(*) AS n FROM {table} WHERE {where}")
    assert row is not None
    return int(row.n)


def order(kind: str, order_id: str, n: int) -> Alert:
    return Alert(kind, "taximaster", Subject("order", order_id, order_id), utcnow(), f"{kind}:{n}")


async def test_an_ended_subjects_watch_goes_after_the_grace_and_the_rest_stays(repos):
    pipeline = AlertPipeline(repos, MSK)
    for order_id in ("1", "2"):
        await repos.subscriptions.add(GROUP, 0, "all", f"order:{order_id}", by=1)
        await repos.alert_state.set_card(GROUP, 0, f"order:{order_id}", 10)
        await repos.snapshots.put("taximaster", order_id, {"state": "x"})
    await repos.subscriptions.add(GROUP, 0, "area:taxi", by=1)
    await pipeline.commit("taximaster", [order("taxi.finished", "1", 1)], None)
    await pipeline.commit("taximaster", [order("taxi.assigned", "2", 2)], None)
    for order_id in ("1", "2"):
        await repos.alert_state.silence(
            GROUP, 0, f"order:{order_id}", kind="taxi.x", until=None, by=1
        )

    # Within the grace period nothing goes: a late correction still finds its card.
    assert await prune(repos.db, utcnow(), Retention()) == {}
    removed = await prune(repos.db, utcnow() + timedelta(days=3), Retention())
    assert removed["subscriptions"] == 1 and removed["snapshots"] == 1
    assert removed["ended_subjects"] == 1
    assert {s.filter for s in await repos.subscriptions.for_chat(GROUP)} == {"", "order:2"}
    assert await repos.alert_state.card(GROUP, 0, "order:1") is None
    assert await repos.alert_state.card(GROUP, 0, "order:2") == 10
    assert set(await repos.snapshots.get("taximaster")) == {"2"}
    assert set(await repos.alert_state.silences()) == {(GROUP, 0, "order:2", "taxi.x")}


async def test_expired_silences_old_acks_old_cards_and_old_audit_go(repos):
    now = utcnow()
    await repos.alert_state.silence(GROUP, 0, "driver:1", until=now - timedelta(minutes=1), by=1)
    await repos.alert_state.silence(GROUP, 0, "driver:2", until=now + timedelta(hours=1), by=1)
    await repos.alert_state.silence(GROUP, 0, "driver:3", kind="driver.late", until=None, by=1)
    await repos.alert_state.set_card(GROUP, 0, "wagon:1", 5)
    await repos.audit.record(1, "old.action", "x")
    await repos.audit.record(1, "new.action", "x")
    old = to_db_time(now - timedelta(days=400))
    await repos.db.execute("UPDATE audit_log SET at = :at WHERE action = 'old.action'", {"at": old})

    scheduler = AlertScheduler(repos, Retention(audit_days=365))
    removed = await scheduler.housekeeping()
    assert removed == {"silences": 1, "audit": 1}
    assert [e.action for e in await repos.audit.latest(5)] == ["new.action"]

    later = now + timedelta(days=31)
    removed = await prune(repos.db, later, Retention(audit_days=365))
    assert removed == {"silences": 1, "acks": 1, "status_cards": 1}
    assert await count(repos, "subject_silences") == 0


async def test_ended_escalations_and_their_copies_go_after_their_days_open_ones_never(repos):
    now = utcnow()
    write = CycleWrite(
        source="t",
        escalations=[
            NewEscalation(GROUP, 0, "driver:1", "driver.left_route", "a", "{}"),
            NewEscalation(GROUP, 0, "driver:2", "driver.left_route", "b", "{}"),
        ],
    )
    await commit_cycle(repos.db, write, now)
    taken, running = await repos.escalations.open_chains()
    await repos.escalations.add_copy(taken.id, 0, GROUP, message_id=7, text="", error=None, now=now)
    await repos.escalations.close(taken.id, state="acked", by=1, reason="ack", now=now)
    assert await prune(repos.db, now + timedelta(days=89), Retention()) == {}
    removed = await prune(repos.db, now + timedelta(days=91), Retention())
    assert removed == {"escalation_copies": 1, "escalations": 1}
    assert [c.id for c in await repos.escalations.open_chains()] == [running.id]
