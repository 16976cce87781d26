"""Movizor events become alerts in the right chats, end to end: simulator -> watcher under the
real APScheduler job -> outbox -> sender -> Telegram emulator with its flood limits on."""

import logging
import re

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.movizor.simulator import MovizorSimulator
from sandbox.telegram_emulator import RateLimits
from tests.e2e.conftest import eventually

ADMIN = 71
SUBSCRIBED, SILENT = -100500, -100600
PHONE = "79161230001"
TITLE = 'Петров <И.И.> & "Ко"'
KEY = "movizor-key-never-logged"
POLL = 5


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


@pytest.fixture
async def world(tmp_path, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    sim = MovizorSimulator("acme", KEY)
    await sim.start()
    sim.add_driver(PHONE, TITLE, [])
    settings = {
        "movizor_project": "acme",
        "movizor_key": KEY,
        "movizor_base_url": sim.base_url,
        "movizor_poll_seconds": POLL,
    }
    harness = BotHarness(
        tmp_path,
        database_url=database_url,
        admin_ids=[ADMIN],
        limits=RateLimits(),
        settings=settings,
    )
    async with harness as h:
        for chat, title in ((SUBSCRIBED, "Диспетчерская"), (SILENT, "Бухгалтерия")):
            h.emu.add_group(chat, title, supergroup=True)
            h.emu.add_bot_to_group(ADMIN, chat)
            await h.emu.wait_for_message(chat)  # the welcome
        await h.app.repos.drivers.upsert(PHONE, TITLE)
        await h.app.repos.subscriptions.add(SUBSCRIBED, 0, "area:drivers", by=ADMIN)
        # The watcher's first cycle only takes the newest event id: history is not replayed.
        await eventually(lambda: h.app.repos.alert_state.cursor("movizor"), timeout=3 * POLL)
        yield sim, h
        assert not h.emu.rejected_calls()
    await sim.stop()
    assert KEY not in caplog.text


def alert_texts(h, chat):
    return [m["text"] for m in h.emu.messages(chat) if "Принял" in str(m.get("reply_markup"))]


async def test_late_left_route_and_arriving_reach_the_subscribed_group_only(world):
    sim, h = world
    history = len(alert_texts(h, SUBSCRIBED))
    assert history == 0  # the driver's "add" and "confirm" events were history
    sim.emit(PHONE, "pos_late")
    sim.emit(PHONE, "leftroute")
    sim.emit(PHONE, "pos_finished")
    # Within two poll intervals (plus the sender's pacing).
    await eventually(lambda: _has_all(h), timeout=2 * POLL + 5)
    text = "\n".join(alert_texts(h, SUBSCRIBED))
    assert TITLE in text  # the driver named, the title intact
    assert "опаздывает" in text and "ушёл с маршрута" in text and "подъезжает" in text
    assert alert_texts(h, SILENT) == []


async def _has_all(h):
    text = "\n".join(alert_texts(h, SUBSCRIBED))
    return all(word in text for word in ("опаздывает", "ушёл с маршрута", "подъезжает"))


async def test_a_burst_of_40_arrives_complete_and_grouped(world):
    sim, h = world
    # News that needs a person (routine parkings would fold into one line per window).
    ids = [sim.emit(PHONE, "leftroute" if n % 2 else "returnroute") for n in range(40)]
    await eventually(lambda: _all_delivered(h), timeout=2 * POLL + 10)
    messages = alert_texts(h, SUBSCRIBED)
    assert len(messages) < 40
    header_counts = [int(n) for text in messages for n in re.findall(r"(\d+) оповещ", text)]
    assert sum(header_counts) + sum(1 for t in messages if "оповещ" not in t) >= len(ids)
    assert h.emu.rate_limited_count == 0  # paced under the group limit, not pushed back


async def _all_delivered(h):
    rows = await h.app.repos.db.fetchall("SELECT state FROM outbox")
    return len(rows) >= 40 and all(row.state == "sent" for row in rows)


async def test_a_rejected_key_locks_calls_until_resume(tmp_path, database_url):
    """Movizor refuses the key: calls stop (no lock-out by retries), /status says so, and once the
    key is fixed in the cabinet /resume movizor lifts the lock without a restart."""
    sim = MovizorSimulator("acme", "the-right-key")
    await sim.start()
    settings = {
        "movizor_project": "acme",
        "movizor_key": KEY,  # not the simulator's
        "movizor_base_url": sim.base_url,
        "movizor_poll_seconds": POLL,
    }
    try:
        async with BotHarness(
            tmp_path, database_url=database_url, admin_ids=[ADMIN], settings=settings
        ) as h:
            runner = h.app.scheduler.runners["movizor"]
            await h.app.scheduler.set_paused("movizor", True, by=ADMIN)  # drive by hand
            await runner._cycle_once()
            client = h.app.services["movizor"].client
            assert client.auth_locked
            calls = len(sim.requests)
            await runner._cycle_once()
            assert len(sim.requests) == calls  # locked: no request at all
            status = await h.say(ADMIN, "/status")
            assert "ключ отклонён" in status["text"] and "/resume movizor" in status["text"]

            sim.key = KEY  # the admin fixed it in Movizor's cabinet
            unlocked = await h.say(ADMIN, "/resume movizor")
            assert "снова разрешены" in unlocked["text"]
            assert not client.auth_locked
            await runner._cycle_once()
            assert len(sim.requests) > calls
            assert h.app.health.integrations["movizor"].consecutive_failures == 0
    finally:
        await sim.stop()


async def test_events_movizor_would_not_give_are_told_to_the_admins_and_in_status(world):
    """2,500 events pile up after the cursor and Movizor answers with the newest 1,000: the
    1,000 reach the group, and the admin hears in private which event ids may be lost; /status
    keeps saying it."""
    sim, h = world
    cursor = int(await h.app.repos.alert_state.cursor("movizor"))
    for _ in range(2500):
        sim.emit(PHONE, "onparking")
    oldest_given = sim.events[-1000]["id"]

    async def admin_told():
        return [m for m in h.emu.messages(ADMIN) if "могли быть пропущены" in m["text"]]

    [told] = await eventually(admin_told, timeout=3 * POLL + 10)
    assert str(cursor) in told["text"] and str(oldest_given) in told["text"]
    assert await h.app.repos.alert_state.cursor("movizor") == str(sim.events[-1]["id"])
    status = await h.say(ADMIN, "/status", expect=lambda m: "Состояние" in m["text"])
    assert "могли быть пропущены" in status["text"] and str(oldest_given) in status["text"]


async def test_drivers_added_in_movizors_cabinet_are_named_in_alerts(tmp_path, database_url):
    """40 drivers put on tracking in Movizor's own cabinet (never /track): after the directory
    sync at start, every alert names its driver by title, and the sync cost one object_list and
    one object_get a phone."""
    sim = MovizorSimulator("acme", KEY)
    await sim.start()
    drivers = {f"7916555{n:04d}": f"Водитель-{n:02d} (кабинет)" for n in range(40)}
    for phone, title in drivers.items():
        sim.add_driver(phone, title, [])
    settings = {
        "movizor_project": "acme",
        "movizor_key": KEY,
        "movizor_base_url": sim.base_url,
        "movizor_poll_seconds": POLL,
    }
    try:
        async with BotHarness(
            tmp_path, database_url=database_url, admin_ids=[ADMIN], settings=settings
        ) as h:
            h.emu.add_group(SUBSCRIBED, "Диспетчерская", supergroup=True)
            h.emu.add_bot_to_group(ADMIN, SUBSCRIBED)
            await h.emu.wait_for_message(SUBSCRIBED)
            await h.app.repos.subscriptions.add(SUBSCRIBED, 0, "area:drivers", by=ADMIN)
            sync = h.app.services["movizor"].directory_sync

            async def synced():
                return sync.syncs >= 1

            await eventually(synced, timeout=10)
            assert sync.calls_last_sync == 1 + len(drivers)
            await eventually(lambda: h.app.repos.alert_state.cursor("movizor"), timeout=3 * POLL)
            for phone in drivers:
                sim.emit(phone, "leftroute")

            async def all_named():
                text = "\n".join(alert_texts(h, SUBSCRIBED))
                return all(title in text for title in drivers.values())

            await eventually(all_named, timeout=3 * POLL + 20)
    finally:
        await sim.stop()
