"""Digests and reports against an independent stand-in: the Movizor simulator (its event feed,
over HTTP, polled by the real watcher) plays a day of three drivers; the digest at the chat's
hour names the right counts, and /report неделя's rows are the events the simulator produced."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.movizor.simulator import MovizorSimulator
from storage.db import set_clock, utcnow
from storage.users import Role
from tests.e2e.conftest import ADMIN, eventually, seat

GROUP = -100_888
DISPATCHER = 5005
KEY = "movizor-key"
POLL = 5
DRIVERS = {
    "79161230001": "Петров И.И.",
    "79161230002": "Волков С.А.",
    "79161230003": "Сидоров П.П.",
}


@pytest.fixture
async def world(tmp_path):
    sim = MovizorSimulator("acme", KEY)
    await sim.start()
    for phone, title in DRIVERS.items():
        sim.add_driver(phone, title, [])
    settings = {
        "movizor_project": "acme",
        "movizor_key": KEY,
        "movizor_base_url": sim.base_url,
        "movizor_poll_seconds": POLL,
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        await seat(h, {GROUP: "Диспетчерская"}, {DISPATCHER: ("Ирина", Role.DISPATCHER, GROUP)})
        for phone, title in DRIVERS.items():
            await h.app.repos.drivers.upsert(phone, title)
        await eventually(lambda: h.app.repos.alert_state.cursor("movizor"), timeout=3 * POLL)
        yield sim, h
    await sim.stop()
    set_clock(None)


async def test_a_simulated_day_in_the_digest_and_the_weeks_report(world):
    from openpyxl import load_workbook

    sim, h = world
    await h.say(DISPATCHER, "/subscribe drivers", chat_id=GROUP)
    # The digest a few minutes from now (Moscow), so today's is still owed.
    moscow = ZoneInfo("Europe/Moscow")
    hour = (utcnow() + timedelta(minutes=3)).astimezone(moscow)
    if hour.date() != utcnow().astimezone(moscow).date():
        pytest.skip("too close to midnight in Moscow for a digest later today")
    answer = await h.say(DISPATCHER, f"/digest {hour:%H:%M}", chat_id=GROUP)
    assert "первая — сегодня" in answer["text"]

    petrov, volkov, sidorov = DRIVERS
    produced = [
        (petrov, "pos_late"),
        (volkov, "pos_late"),
        (volkov, "leftroute"),
        (petrov, "pos_finished"),
        (sidorov, "pos_finished"),
    ]
    for phone, event_type in produced:
        sim.emit(phone, event_type)
    events = h.app.repos.history

    async def all_recorded() -> bool:
        day = await events.between(GROUP, 0, utcnow() - timedelta(days=1), utcnow())
        return len(day) >= len(produced)

    await eventually(all_recorded, timeout=3 * POLL + 5)

    # The chat's hour comes (the bot's clock moves on; the simulator's day stays as it was).
    offset = hour.replace(second=30) - datetime.now(UTC)
    set_clock(lambda: datetime.now(UTC) + offset)
    assert await h.app.digests.run_once() == 1
    # (The alerts themselves reach the group too, before or after it.)
    (digest,) = [m for m in h.emu.messages(GROUP) if m.get("text", "").startswith("📊")]
    assert "опаздывали 2, уходили с маршрута 1, прибыли 2" in digest["text"]
    assert "1. Волков С.А." in digest["text"] and "2. Петров И.И." in digest["text"]

    await h.say(DISPATCHER, "/report неделя", chat_id=GROUP)
    document = await h.emu.wait_for_message(GROUP, lambda m: "document" in m, timeout=15)
    book = load_workbook(io.BytesIO(h.emu.file(document["document"]["file_id"])))
    rows = [row for row in book["Водители"].values if row and isinstance(row[0], datetime)]
    names = {"pos_late": "Водитель опаздывает", "leftroute": "Водитель ушёл с маршрута"}
    names["pos_finished"] = "Водитель подъезжает"
    assert [(row[1], row[3]) for row in rows] == [
        (names[event_type], phone) for phone, event_type in produced
    ]
    rejected = [c for c in h.emu.rejected_calls() if c.method != "getUpdates"]
    assert not rejected
