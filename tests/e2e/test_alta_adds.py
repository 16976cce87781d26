"""/wagon add end to end, where money is at stake: exactly one request whatever the network
does, numbers already on tracking, long lists (bot + Telegram emulator + Alta simulator)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from integrations.alta.numbers import wagon_check_digit
from sandbox.harness import BotHarness
from sandbox.simulators.alta.simulator import AltaSimulator
from tests.e2e.conftest import ADMIN
from tests.e2e.test_alta_wagons import alta_bot, edited, has_text, text

WAGON_A, WAGON_B = "52345675", "52345683"
CONTAINER = "TGHU1234567"
# Words that would claim a failure or a cancellation.
FALSE_CLAIMS = re.compile(r"не удалось|не поставил|отменен|ошибк|failed|cancel", re.IGNORECASE)


@pytest.fixture
async def sim():
    simulator = AltaSimulator()
    simulator.fault_delay = 0.3
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim):
    async with alta_bot(tmp_path, sim) as h:
        yield h


def adds(sim: AltaSimulator) -> list[dict[str, str]]:
    return [params for action, _, params in sim.requests if action == "add"]


def marker(params: dict[str, str]) -> str:
    found = re.search(r"lb:[0-9a-f]{10}", params.get("comment", ""))
    assert found, params
    return found.group()


async def confirm(h: BotHarness, numbers: str, button: str = "Поставить") -> str:
    """/wagon add, press the button, return the text that replaced the summary."""
    summary = await h.say(ADMIN, f"/wagon add {numbers}", expect=has_text("Альте"))
    start = len(h.emu.calls)
    h.press(ADMIN, summary, button)
    call = await h.emu.wait_for_event(
        lambda c: (
            c.method == "editMessageText"
            and "Поставить на слежение" not in c.params["text"]
            and "⏳" not in c.params["text"]  # «⏳ Выполняю…» comes first
        ),
        start=start,
        timeout=10,
    )
    return str(call.params["text"])


def bot_texts(h: BotHarness) -> list[str]:
    return [text(m) for m in h.emu.messages(ADMIN)]


@pytest.mark.parametrize("how", ["drop", "500", "timeout", "error"])
async def test_a_billed_add_whose_answer_is_lost_ends_with_one_request(harness, sim, how):
    """The independent stand-in's case: Alta saves and bills the request, then the answer is
    lost. The bot finds its marker in track_list: one request, told as placed, watched."""
    h = harness
    sim.lose_answer("add", how)
    done = await confirm(h, f"{WAGON_A} {WAGON_B}")
    assert len(sim.world.requests) == 1 and len(adds(sim)) == 1
    assert "На слежении в Альте: 2" in done and "потерялся" in done
    request_hash = sim.hash_of(WAGON_A)
    assert request_hash in done
    stored = await h.app.repos.snapshots.get("alta")
    assert stored[WAGON_A]["hash"] == request_hash == stored[WAGON_B]["hash"]
    filters = {s.filter for s in await h.app.repos.subscriptions.for_chat(ADMIN)}
    assert {f"wagon:{WAGON_A}", f"wagon:{WAGON_B}"} <= filters
    assert not any(FALSE_CLAIMS.search(t) for t in bot_texts(h)), bot_texts(h)
    # The marker went in add's comment, readable beside it; it came back as the request's name.
    [sent] = adds(sim)
    assert WAGON_A in sent["comment"] and marker(sent) in sim.request(request_hash).comment
    listed = await h.say(ADMIN, "/wagons")
    assert "lb:" not in text(listed) and WAGON_A in text(listed)
    assert len(sim.world.requests) == 1


async def test_an_unexplained_error_is_a_refusal_only_once_the_list_says_so(harness, sim):
    sim.fail_next("add", "error")  # nothing saved, an error with no reason in its words
    done = await confirm(harness, WAGON_A)
    assert "Альта не поставила на слежение" in done and "Внутренняя ошибка" in done
    assert sim.calls("track_list") == 2  # the summary's look, then the look after the error
    assert "отправить постановку снова" not in str(harness.emu.messages(ADMIN))


async def test_a_lost_answer_when_the_service_keeps_no_comment_is_found_by_its_numbers(
    harness, sim
):
    sim.world.comment_as = "nowhere"
    sim.lose_answer("add", "drop")
    done = await confirm(harness, f"{WAGON_A} {CONTAINER}")
    assert len(sim.world.requests) == 2 and len(adds(sim)) == 1  # wagons and containers
    assert "На слежении в Альте: 2" in done
    assert sim.hash_of(WAGON_A) in done and sim.hash_of(CONTAINER) in done


async def test_not_found_is_said_as_it_is_and_a_retry_checks_first_under_the_same_marker(
    harness, sim
):
    h = harness
    sim.fail_next("add", 502)  # this time nothing reached Alta
    lost = await confirm(h, WAGON_A)
    assert "не ответила" in lost and "пока нет" in lost and "Повторно ничего не отправлено" in lost
    assert not FALSE_CLAIMS.search(lost)
    assert sim.world.requests == {}
    question = await h.emu.wait_for_message(ADMIN, has_text("отправить постановку снова"))
    start = len(h.emu.calls)
    h.press(ADMIN, question, "Проверить и поставить")
    done = await edited(h, "На слежении", start, 10)
    first, second = adds(sim)
    assert marker(first) == marker(second) and len(sim.world.requests) == 1
    assert sim.hash_of(WAGON_A) in done


async def test_a_retry_finds_the_request_that_appeared_meanwhile_and_sends_nothing(harness, sim):
    h = harness
    sim.fail_next("add", "timeout")  # no answer, and the check finds nothing…
    await confirm(h, WAGON_A)
    question = await h.emu.wait_for_message(ADMIN, has_text("отправить постановку снова"))
    # …then the request shows up on Alta's list (saved late, under our marker).
    sent = adds(sim)[0]
    sim.put_on_track([WAGON_A], comment=sent["comment"])
    start = len(h.emu.calls)
    h.press(ADMIN, question, "Проверить и поставить")
    await edited(h, "На слежении", start, 10)
    assert len(adds(sim)) == 1 and len(sim.world.requests) == 1


async def test_declining_the_retry_is_not_called_a_cancellation_and_a_late_request_is_adopted(
    harness, sim
):
    h = harness
    sim.fail_next("add", 502)
    await confirm(h, WAGON_A)
    question = await h.emu.wait_for_message(ADMIN, has_text("отправить постановку снова"))
    start = len(h.emu.calls)
    h.press(ADMIN, question, "Не отправлять")
    declined = await edited(h, "снова не отправляю", start)
    assert "Отменено" not in declined
    # Alta lists it after all (saved late): the background finds it and the chat hears it.
    sim.put_on_track([WAGON_A], comment=adds(sim)[0]["comment"])
    resolver = h.app.services["alta"].resolver
    token = marker(adds(sim)[0])[3:]
    await h.app.repos.alta_adds.set_state(token, "declined")  # settled long ago
    await _age(h, token)
    assert await resolver.run_once() == 1
    found = await h.emu.wait_for_message(ADMIN, has_text("нашлась"))
    assert sim.hash_of(WAGON_A) in text(found) and len(adds(sim)) == 1
    assert (await h.app.repos.snapshots.get("alta"))[WAGON_A]["hash"] == sim.hash_of(WAGON_A)
    assert await resolver.run_once() == 0  # told once


async def _age(h: BotHarness, token: str) -> None:
    """Make an attempt look older than SETTLED_AFTER (no wall-clock wait in a test)."""
    await h.app.repos.db.execute(
        "UPDATE alta_adds SET updated_at = '2000-01-01T00:00:00+00:00' WHERE token = :token",
        {"token": token},
    )


async def test_a_restart_mid_add_is_resolved_not_repeated(harness, sim):
    """Attempts a crash left in 'sending': one Alta has (under its marker) is watched and told;
    one it has not is told as interrupted — and neither is sent again."""
    h = harness
    adds_repo = h.app.repos.alta_adds
    payload = {"send": [WAGON_A], "stop": "yes", "locale": "ru"}
    for token in ("0123456789", "abcdefabcd"):
        await adds_repo.sending(token, chat_id=ADMIN, thread_id=0, user_id=ADMIN, payload=payload)
        await _age(h, token)
    sim.put_on_track([WAGON_A], comment="lb:0123456789 · 52345675")
    resolver = h.app.services["alta"].resolver
    assert await resolver.run_once() == 2
    found = await h.emu.wait_for_message(ADMIN, has_text("нашлась"))
    interrupted = await h.emu.wait_for_message(ADMIN, has_text("прервалась"))
    assert sim.hash_of(WAGON_A) in text(found) and "повторно ничего не отправлено" in text(
        interrupted
    )
    assert adds(sim) == [] and (await adds_repo.get("0123456789")).state == "added"
    assert (await adds_repo.get("abcdefabcd")).state == "unknown"
    assert await resolver.run_once() == 0


async def test_numbers_already_on_tracking_are_watched_instead_of_paid_again(harness, sim):
    h = harness
    old = sim.put_on_track([WAGON_A], added_ago=timedelta(hours=5))  # by someone else
    summary = await h.say(ADMIN, f"/wagon add {WAGON_A} {WAGON_B}", expect=has_text("Альте"))
    assert "Уже на слежении (1)" in text(summary) and old in text(summary)
    assert any("следить за ними" in b["text"] for r in summary["reply_markup"]["inline_keyboard"]
               for b in r)  # fmt: skip
    start = len(h.emu.calls)
    h.press(ADMIN, summary, "Поставить")
    done = await edited(h, "На слежении", start)
    [sent] = adds(sim)
    assert sent["wagons"] == WAGON_B
    assert "этот чат следит за ними: 1" in done
    stored = await h.app.repos.snapshots.get("alta")
    assert stored[WAGON_A]["hash"] == old and stored[WAGON_B]["hash"] == sim.hash_of(WAGON_B)
    filters = {s.filter for s in await h.app.repos.subscriptions.for_chat(ADMIN)}
    assert {f"wagon:{WAGON_A}", f"wagon:{WAGON_B}"} <= filters

    # Now both are on tracking (one put there by this bot: "since" is known).
    again = await h.say(ADMIN, f"/wagon add {WAGON_A} {WAGON_B}", expect=has_text("Альте"))
    assert "Уже на слежении (2)" in text(again) and f"{WAGON_B} — с " in text(again)
    start = len(h.emu.calls)
    h.press(ADMIN, again, "👁 Следить")
    await edited(h, "следит за ними: 2", start)
    assert len(adds(sim)) == 1
    # Nothing was sent, so nothing is left to look for (no "interrupted" message later).
    assert await h.app.repos.alta_adds.unresolved(younger_than=timedelta(days=1)) == []


async def test_putting_a_tracked_number_on_again_takes_it_off_its_old_request_first(harness, sim):
    """A re-add never leaves the first request billed but unwatched."""
    h = harness
    old = sim.put_on_track([WAGON_A, WAGON_B], added_ago=timedelta(hours=5))
    summary = await h.say(ADMIN, f"/wagon add {WAGON_A}", expect=has_text("Альте"))
    start = len(h.emu.calls)
    h.press(ADMIN, summary, "следить за ними")
    await edited(h, "снимутся", start)
    h.press(ADMIN, h.emu.messages(ADMIN)[-1], "Поставить")  # the yes button now says so
    done = await edited(h, "На слежении в Альте: 1", start)
    assert sim.request(old).tracked == [WAGON_B]  # off the old request first
    new = sim.hash_of(WAGON_A)
    assert new != old and new in done
    assert (await h.app.repos.snapshots.get("alta"))[WAGON_A]["hash"] == new


async def test_400_numbers_answer_within_telegram_s_limits(harness, sim):
    h = harness
    numbers = [f"5{n:06d}" + str(wagon_check_digit(f"5{n:06d}")) for n in range(400)]
    summary = await h.say(ADMIN, "/wagon add " + " ".join(numbers), expect=has_text("Альте"))
    assert "Вагоны (400)" in text(summary) and "ещё 370" in text(summary)
    start = len(h.emu.calls)
    h.press(ADMIN, summary, "Поставить")
    done = await edited(h, "На слежении", start, 15)
    assert "На слежении в Альте: 400" in done and len(done) < 4096
    [sent] = adds(sim)
    assert sent["wagons"].count(",") == 399 and len(sent["comment"]) < 80
    stored = await h.app.repos.snapshots.get("alta")
    assert len(stored) == 400
    listed = await h.say(ADMIN, "/wagons")  # the harness fails on any refused Bot API call
    assert "ещё 380" in text(listed)


async def test_numbers_with_spaces_inside(harness, sim):
    h = harness
    summary = await h.say(ADMIN, "/wagon add 5234 5675, 523 456 83", expect=has_text("Альте"))
    assert f"Вагоны (2): {WAGON_A}, {WAGON_B}" in text(summary)
    sim.put_on_track(["54676515"], added_ago=timedelta(hours=30), report_now=True)
    card = await h.say(ADMIN, "/wagon 5467 6515")
    assert "Вагон 54676515" in text(card)
    found = await h.say(ADMIN, "/find 546 765 15")
    assert "Вагон 54676515" in text(found)
