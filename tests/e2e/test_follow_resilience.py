"""/follow under trouble: Telegram's flood waits, a network that drops requests, a live location
deleted from the chat, and a bot restart. Bot + Telegram emulator + Movizor simulator."""

import time

import pytest

from handlers.movizor.live_locations import LiveLocations
from sandbox.harness import BotHarness
from sandbox.telegram_emulator import ApiCall
from tests.e2e.conftest import ADMIN, eventually
from tests.e2e.test_drivers import PHONE, TITLE, has_text, text
from tests.e2e.test_drivers import sim as sim  # the Movizor simulator fixture, shared

COLLEAGUE = 7007
MOVE = "editMessageLiveLocation"


@pytest.fixture
async def harness(tmp_path, sim):
    settings = {
        "movizor_project": "test",
        "movizor_key": "test-key",
        "movizor_base_url": sim.base_url,
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        await h.app.scheduler.set_paused("movizor", True, by=ADMIN)
        yield h  # each test checks the calls Telegram refused: some are the point of it


def live(h: BotHarness) -> LiveLocations:
    assert h.app is not None
    return h.app.services["movizor"].live_locations


def moves_in(h: BotHarness, chat_id: int, start: int) -> list[ApiCall]:
    return [c for c in h.emu.calls[start:] if c.method == MOVE and c.params["chat_id"] == chat_id]


def refused(h: BotHarness) -> list[ApiCall]:
    """Calls Telegram refused, but the old instance's long poll a restart cuts short (409)."""
    return [c for c in h.emu.rejected_calls() if c.method != "getUpdates"]


def later(h: BotHarness, seconds: float) -> None:
    """Move the service's clock forward (its waits are measured on it), not the test's."""
    shift = seconds
    live(h).clock = lambda: time.monotonic() + shift


async def follow(h: BotHarness, chat_id: int) -> int:
    start = len(h.emu.calls)
    await h.say(chat_id, f"/follow {PHONE}", expect=has_text("/unfollow"))
    posted = await h.emu.wait_for_event(lambda c: c.method == "sendLocation", start=start)
    return int(posted.result["message_id"])


async def test_a_flood_wait_in_one_chat_keeps_its_follow_and_moves_it_later(harness, sim):
    harness.emu.add_user(COLLEAGUE, "Коля")
    await harness.say(ADMIN, f"/grant {COLLEAGUE} dispatcher", expect=has_text("теперь"))
    await follow(harness, ADMIN)
    await follow(harness, COLLEAGUE)
    harness.emu.flood_wait(ADMIN, 300)  # longer than any reply would wait for
    sim.advance(16 * 60)
    start = len(harness.emu.calls)

    await live(harness).cycle()
    [refused] = moves_in(harness, ADMIN, start)
    assert refused.error_code == 429
    assert [c.ok for c in moves_in(harness, COLLEAGUE, start)] == [True]  # the other chat moved
    assert len(live(harness).followed()) == 2

    sim.advance(16 * 60)
    start = len(harness.emu.calls)
    await live(harness).cycle()  # still inside the wait: the chat is left alone
    assert moves_in(harness, ADMIN, start) == []
    assert [c.ok for c in moves_in(harness, COLLEAGUE, start)] == [True]

    harness.emu.flood_wait(ADMIN, 0)
    later(harness, 301)
    start = len(harness.emu.calls)
    await live(harness).cycle()
    [moved] = moves_in(harness, ADMIN, start)
    assert moved.ok
    fix = sim.object(PHONE).last_fix
    assert moved.params["latitude"] == pytest.approx(fix.lat, abs=1e-5)


async def test_a_dropped_connection_keeps_the_follow_and_it_moves_after_a_back_off(harness, sim):
    message_id = await follow(harness, ADMIN)
    harness.emu.drop_connections(MOVE)
    sim.advance(16 * 60)
    start = len(harness.emu.calls)

    await live(harness).cycle()
    [dropped] = moves_in(harness, ADMIN, start)
    assert dropped.description == "connection dropped"
    assert len(live(harness).followed()) == 1

    later(harness, 3600)
    sim.advance(16 * 60)
    start = len(harness.emu.calls)
    await live(harness).cycle()
    [moved] = moves_in(harness, ADMIN, start)
    assert moved.ok and moved.params["message_id"] == message_id


async def test_a_deleted_live_location_ends_the_follow_and_says_so(harness, sim):
    message_id = await follow(harness, ADMIN)
    harness.emu.user_deletes_message(ADMIN, message_id)
    sim.advance(16 * 60)

    await live(harness).cycle()
    said = await harness.emu.wait_for_message(ADMIN, has_text("удалена"))
    assert TITLE.split()[0] in text(said) and f"/follow {PHONE}" in text(said)
    assert live(harness).followed() == []
    await harness.stop_bot()
    await harness.start_bot()
    assert live(harness).followed() == []  # not resumed either
    await harness.say(ADMIN, f"/follow {PHONE}", expect=has_text("/unfollow"))
    assert [c.description for c in refused(harness)] == ["Bad Request: message to edit not found"]


async def test_a_follow_survives_a_restart_and_keeps_moving_the_same_message(harness, sim):
    message_id = await follow(harness, ADMIN)
    await harness.stop_bot()
    await harness.start_bot()
    [resumed] = live(harness).followed()
    assert (resumed.chat_id, resumed.phone, resumed.message_id) == (ADMIN, PHONE, message_id)
    assert resumed.title == TITLE

    sim.advance(16 * 60)
    start = len(harness.emu.calls)
    await live(harness).cycle()
    [moved] = moves_in(harness, ADMIN, start)
    assert moved.ok and moved.params["message_id"] == message_id
    again = await harness.say(ADMIN, f"/follow {PHONE}")
    assert "уже на карте" in text(again)
    assert refused(harness) == []


GROUP = -4004


@pytest.mark.parametrize("restart", [False, True])
async def test_a_follow_in_a_group_that_becomes_a_supergroup_goes_on_there(harness, sim, restart):
    harness.emu.add_group(GROUP, "Диспетчерская")
    harness.emu.add_bot_to_group(ADMIN, GROUP)
    await harness.emu.wait_for_message(GROUP)  # the welcome: approved
    start = len(harness.emu.calls)
    await harness.say(ADMIN, f"/follow {PHONE}", chat_id=GROUP, expect=has_text("/unfollow"))
    await harness.emu.wait_for_event(lambda c: c.method == "sendLocation", start=start)

    new_id = harness.emu.migrate_group(GROUP)
    repo = harness.app.repos.live_follows
    moved = await eventually(lambda: _follows_in(repo, new_id))
    assert moved[0].message_id == 0  # its live location stayed behind in the old group
    if restart:
        await harness.stop_bot()
        await harness.start_bot()
    sim.advance(16 * 60)
    start = len(harness.emu.calls)
    await live(harness).cycle()

    posted = [c for c in harness.emu.calls[start:] if c.method == "sendLocation"]
    assert [(c.ok, c.params["chat_id"]) for c in posted] == [(True, new_id)]
    said = await harness.emu.wait_for_message(new_id, has_text("супергрупп"))
    assert TITLE in text(said) and f"/unfollow {PHONE}" in text(said)
    [followed] = live(harness).followed()
    assert (followed.chat_id, followed.message_id) == (new_id, posted[0].result["message_id"])
    [saved] = await harness.app.repos.live_follows.all()
    assert (saved.chat_id, saved.message_id) == (new_id, followed.message_id)

    sim.advance(16 * 60)
    start = len(harness.emu.calls)
    await live(harness).cycle()
    [moved_on] = moves_in(harness, new_id, start)
    assert moved_on.ok and moved_on.params["message_id"] == followed.message_id
    done = await harness.say(ADMIN, f"/unfollow {PHONE}", chat_id=new_id)
    assert "остановлена" in text(done)
    # Only the move in the old group that taught the bot about the upgrade was refused.
    assert all(c.params["chat_id"] == GROUP for c in refused(harness))


async def _follows_in(repo, chat_id: int) -> list:
    return [f for f in await repo.all() if f.chat_id == chat_id]
