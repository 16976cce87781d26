"""Whose digest is due: the hour read in each chat's own zone (a topic's, its chat's, the
bot's), the day's mark, and an hour set after it passed today."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digests.job import DigestJob
from bot.digests.settings import DIGEST_HOUR
from bot.i18n import build_i18n
from bot.settings.registry import ChatKey
from bot.settings.values import SettingsValues
from storage import Repos
from storage.db import Database

pytestmark = pytest.mark.both_databases

MOSCOW_CHAT = -1
VLADIVOSTOK_CHAT = -2
TOPIC_CHAT = -3
MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
async def job(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        values = SettingsValues(repos)
        for chat in (MOSCOW_CHAT, VLADIVOSTOK_CHAT, TOPIC_CHAT):
            await values.set(DIGEST_HOUR, time(9, 0), by=1, chat=ChatKey(chat))
        # A forum topic with its own hour, in its own zone (Yekaterinburg, UTC+5).
        await values.set(DIGEST_HOUR, time(8, 30), by=1, chat=ChatKey(TOPIC_CHAT, 7))
        await repos.subscriptions.set_timezone(VLADIVOSTOK_CHAT, 0, "Asia/Vladivostok")
        await repos.subscriptions.set_timezone(TOPIC_CHAT, 7, "Asia/Yekaterinburg")
        yield DigestJob(None, repos, values, build_i18n("ru"), MSK)  # type: ignore[arg-type]


def due_chats(found) -> set[tuple[int, int, str]]:
    return {(d.chat_id, d.thread_id, d.day) for d in found}


async def test_the_hour_is_read_in_each_chats_zone(job):
    # 23:00 UTC on 1 Dec: 09:00 on 2 Dec in Vladivostok, 02:00 in Moscow, 04:00 in Yekaterinburg.
    now = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert due_chats(await job.due(now)) == {(VLADIVOSTOK_CHAT, 0, "2026-12-02")}
    # 03:30 UTC: 08:30 in Yekaterinburg (the topic's own hour and zone); Moscow still 06:30.
    now = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert due_chats(await job.due(now)) == {
        (VLADIVOSTOK_CHAT, 0, "2026-12-02"),
        (TOPIC_CHAT, 7, "2026-12-02"),
    }
    # 06:00 UTC: 09:00 in Moscow, for the chat itself and the topic chat's whole chat.
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert {(c, t) for c, t, _ in due_chats(await job.due(now))} == {
        (MOSCOW_CHAT, 0),
        (VLADIVOSTOK_CHAT, 0),
        (TOPIC_CHAT, 0),
        (TOPIC_CHAT, 7),
    }


async def test_a_marked_day_is_not_due_again_and_the_next_day_is(job):
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    marks = job.repos.digest_marks
    assert await marks.claim(MOSCOW_CHAT, 0, "2026-12-02", now)
    await marks.sent(MOSCOW_CHAT, 0, "2026-12-02", now, message_id=1, late=False)
    await marks.skip(VLADIVOSTOK_CHAT, 0, "2026-12-02", now)  # set after the hour had passed
    later = now + timedelta(hours=5)
    assert MOSCOW_CHAT not in {d.chat_id for d in await job.due(later)}
    assert VLADIVOSTOK_CHAT not in {d.chat_id for d in await job.due(later)}
    tomorrow = now + timedelta(days=1)
    assert {MOSCOW_CHAT, VLADIVOSTOK_CHAT} <= {d.chat_id for d in await job.due(tomorrow)}


async def test_a_chat_that_turned_its_digest_off_is_never_due(job):
    await job.values.set(DIGEST_HOUR, None, by=1, chat=ChatKey(MOSCOW_CHAT))
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert MOSCOW_CHAT not in {d.chat_id for d in await job.due(now)}


async def test_an_hour_set_after_it_passed_today_starts_tomorrow(job):
    from storage.db import set_clock

    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 11:00 in Moscow
    set_clock(lambda: now)
    try:
        await job.hour_changed(time(9, 0), ChatKey(MOSCOW_CHAT))  # passed: today not owed
        await job.hour_changed(time(12, 0), ChatKey(VLADIVOSTOK_CHAT))  # 18:00 there: passed
        await job.hour_changed(time(23, 0), ChatKey(TOPIC_CHAT))  # still ahead in Moscow
    finally:
        set_clock(None)
    due = {d.chat_id for d in await job.due(now)}
    assert MOSCOW_CHAT not in due and VLADIVOSTOK_CHAT not in due
    assert TOPIC_CHAT in due  # its old 09:00 is still owed today (the hook marks nothing)
    assert await job.repos.digest_marks.state(MOSCOW_CHAT, 0, "2026-12-02") == ("skipped", False)
