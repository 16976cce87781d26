"""Digests and reports end to end: a group with privacy mode on (the emulator's default), a day
of alerts through the real pipeline (the test source's watcher under APScheduler), the digest at
the chat's hour — once a day across restarts, late when the bot was down — its area lists, and
/report opened with openpyxl."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import Alert, Subject
from sandbox.harness import BotHarness
from sandbox.testsource.watcher import TestSource
from storage.db import set_clock, utcnow
from storage.users import Role
from tests.e2e.conftest import ADMIN, eventually, seat

pytestmark = pytest.mark.both_databases

GROUP = -100_777
DISPATCHER = 5005
VIEWER = 6006
# The bot's clock: the test moves it (a day passes in a line), everything else runs for real.
START = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 08:00 in Moscow


@pytest.fixture
def clock():
    offset = [START - datetime.now(UTC)]
    set_clock(lambda: datetime.now(UTC) + offset[0])

    def move_to(moment: datetime) -> None:
        offset[0] = moment - datetime.now(UTC)

    yield move_to
    set_clock(None)


@pytest.fixture
async def group_harness(tmp_path, database_url, clock):
    source = TestSource()
    async with BotHarness(
        tmp_path, admin_ids=[ADMIN], database_url=database_url, watchers=lambda: [(source, 1)]
    ) as h:
        await seat(
            h,
            {GROUP: "Диспетчерская"},
            {
                DISPATCHER: ("Ирина", Role.DISPATCHER, GROUP),
                VIEWER: ("Олег", Role.VIEWER, GROUP),
            },
        )
        yield source, h
        # A restart's old long poll is cut off by the new one, as Telegram does: not a fault.
        rejected = [c for c in h.emu.rejected_calls() if c.method != "getUpdates"]
        assert not rejected


def alert(kind: str, subject: Subject, n: int, **fields) -> Alert:
    return Alert(kind, "testsource", subject, utcnow(), f"t:{n}", fields=fields)


def a_day_of_events() -> list[Alert]:
    petrov = Subject("driver", "79161234501", "Петров И.И.")
    volkov = Subject("driver", "79161234502", "Волков С.А.")
    return [
        alert("driver.late", petrov, 1),
        alert("driver.late", volkov, 2),
        alert("driver.left_route", volkov, 3),
        alert("driver.arrived", petrov, 4),
        alert("task.created", Subject("task", "T-1", "№T-1"), 5),
        alert("taxi.finished", Subject("order", "77", "Ленина 1"), 6),
        alert("wagon.arrived", Subject("wagon", "54676515", "54676515"), 7),
        alert("system.test", Subject("test", "1"), 8),  # internals: not the chat's history
    ]


async def recorded(h: BotHarness, count: int) -> bool:
    events = await h.app.repos.history.between(GROUP, 0, START, START + timedelta(days=2))
    return len(events) >= count


def digests(h: BotHarness) -> list[dict]:
    return [m for m in h.emu.messages(GROUP) if m.get("text", "").startswith("📊 Сводка за")]


async def test_the_digest_at_the_chats_hour_once_a_day_and_late_after_a_restart(
    group_harness, clock
):
    source, h = group_harness
    await h.say(DISPATCHER, "/subscribe all", chat_id=GROUP)
    refused = await h.say(VIEWER, "/digest 09:00", chat_id=GROUP)
    assert "dispatcher" in refused["text"] or "диспетчер" in refused["text"]
    answer = await h.say(DISPATCHER, "/digest 09:00", chat_id=GROUP)
    assert "09:00 (Europe/Moscow)" in answer["text"] and "первая — сегодня" in answer["text"]
    source.emit(*a_day_of_events())
    await eventually(lambda: recorded(h, 7), timeout=10)

    assert await h.app.digests.run_once() == 0  # 08:00: not yet
    clock(START + timedelta(hours=1, minutes=1))  # 09:01 in Moscow
    assert await h.app.digests.run_once() == 1
    (digest,) = digests(h)
    text = digest["text"]
    assert "опаздывали 2, уходили с маршрута 1, прибыли 1" in text
    assert "Петров И.И." in text and "Волков С.А." in text
    assert "создано 1" in text and "выполнено 1" in text and "прибыло 1" in text
    assert "С опозданием" not in text
    assert await h.app.digests.run_once() == 0  # once a day

    # The list behind «🚚 Водители»: the area's events of the digest's 24 hours.
    h.press(DISPATCHER, digest, "Водители")
    listed = await h.emu.wait_for_message(
        GROUP,
        lambda m: "за сутки сводки" in m.get("text", ""),
        after_message_id=digest["message_id"],
    )
    assert "Водители за сутки сводки: 4" in listed["text"]
    assert "Водитель ушёл с маршрута · Волков С.А." in listed["text"]

    # Down over the next day's hour: the digest goes when the bot starts again, marked late.
    await h.stop_bot()
    clock(START + timedelta(days=1, hours=3))  # 02.12 11:00 in Moscow
    await h.start_bot()
    late = await h.emu.wait_for_message(
        GROUP, lambda m: "С опозданием" in m.get("text", ""), timeout=10
    )
    assert "бот не работал в 02.12 09:00" in late["text"]
    # Not twice: another round, another restart.
    assert await h.app.digests.run_once() == 0
    await h.stop_bot()
    await h.start_bot()
    assert await h.app.digests.run_once() == 0
    assert len(digests(h)) == 2


async def test_report_week_is_an_xlsx_whose_rows_are_the_days_events_and_a_chart(
    group_harness, clock
):
    from openpyxl import load_workbook

    source, h = group_harness
    answer = await h.say(VIEWER, "/report неделя", chat_id=GROUP)
    assert "нет подписок" in answer["text"]
    await h.say(DISPATCHER, "/subscribe drivers", chat_id=GROUP)
    source.emit(*a_day_of_events())
    await eventually(lambda: recorded(h, 4), timeout=10)
    clock(START + timedelta(hours=5))

    await h.say(VIEWER, "/report неделя", chat_id=GROUP)
    document = await h.emu.wait_for_message(GROUP, lambda m: "document" in m, timeout=15)
    photo = await h.emu.wait_for_message(GROUP, lambda m: "photo" in m, timeout=15)
    assert document["document"]["file_name"].endswith(".xlsx")
    book = load_workbook(io.BytesIO(h.emu.file(document["document"]["file_id"])))
    assert book.sheetnames == ["Сводка", "Водители", "Эскалации"]
    rows = [row for row in book["Водители"].values if row and isinstance(row[0], datetime)]
    assert [(row[1], row[2]) for row in rows] == [
        ("Водитель опаздывает", "Петров И.И."),
        ("Водитель опаздывает", "Волков С.А."),
        ("Водитель ушёл с маршрута", "Волков С.А."),
        ("Водитель прибыл", "Петров И.И."),
    ]
    assert h.emu.file(photo["photo"][-1]["file_id"])[:8] == b"\x89PNG\r\n\x1a\n"
    done = await h.emu.wait_for_message(GROUP, lambda m: "Отчёт готов" in m.get("text", ""))
    assert "событий 4" in done["text"]

    reversed_period = await h.say(VIEWER, "/report 15.11-01.11", chat_id=GROUP)
    assert "Период перевёрнут" in reversed_period["text"]
    future = await h.say(VIEWER, "/report 20.12-25.12", chat_id=GROUP)
    assert "ещё не наступил" in future["text"]
    too_long = await h.say(VIEWER, "/report 01.01-05.01", chat_id=GROUP)
    assert "История хранится 90 дн." in too_long["text"]
