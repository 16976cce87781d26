"""Routing and the outbox transaction, on a real SQLite file and a real PostgreSQL database."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.pipeline import AlertPipeline, quiet_until
from integrations.base import Alert, Location, Severity, Subject
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database, utcnow
from storage.subscriptions import ChatPrefs
from storage.users import Role

MSK = ZoneInfo("Europe/Moscow")
GROUP, OTHER_GROUP, USER = -100, -200, 7


def alert(kind="driver.late", phone="79990000001", n=1, tags=()):
    return Alert(
        kind=kind,
        source="test",
        subject=Subject("driver", phone, f"Водитель {phone}", tuple(tags)),
        occurred_at=utcnow(),
        dedupe_key=f"{kind}:{phone}:{n}",
        fields={"Опоздание": "15 мин"},
        location=Location(55.75, 37.61, "Москва"),
    )


pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)


@pytest.fixture
async def repos(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        for chat in (GROUP, OTHER_GROUP):
            await repos.chats.upsert(
                chat, type="group", title=str(chat), status=ChatStatus.APPROVED, added_by=1
            )
        await repos.users.set_role(USER, Role.VIEWER, by=None)
        yield repos


async def due_chats(repos):
    return sorted({row.chat_id for row in await repos.outbox.due()})


async def test_only_subscribed_chats_get_a_row_and_the_cursor_moves_with_them(repos):
    await repos.subscriptions.add(GROUP, 0, "area:drivers", by=1)
    pipeline = AlertPipeline(repos, MSK)
    assert await pipeline.commit("test", [alert()], "42") == 1
    assert await due_chats(repos) == [GROUP]
    assert await repos.alert_state.cursor("test") == "42"
    # The same event again (a re-poll after a crash) is not a second row.
    assert await pipeline.commit("test", [alert()], "42") == 0


async def test_subject_and_tag_filters(repos):
    await repos.subscriptions.add(GROUP, 0, "all", "driver:79990000002", by=1)
    await repos.subscriptions.add(OTHER_GROUP, 0, "kind:driver.late", "tag:склад", by=1)
    pipeline = AlertPipeline(repos, MSK)
    await pipeline.commit("test", [alert(phone="79990000001", tags=("Склад",))], None)
    assert await due_chats(repos) == [OTHER_GROUP]
    await pipeline.commit("test", [alert(kind="driver.parked", phone="79990000002")], None)
    assert await due_chats(repos) == sorted([GROUP, OTHER_GROUP])


async def test_disabled_chats_and_private_chats_without_role_hear_nothing(repos):
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    await repos.subscriptions.add(USER, 0, "all", by=USER)
    await repos.subscriptions.add(999, 0, "all", by=999)  # no role
    await repos.chats.set_status(GROUP, ChatStatus.DISABLED)
    await AlertPipeline(repos, MSK).commit("test", [alert()], None)
    assert await due_chats(repos) == [USER]


async def test_mute_drops_and_silences_hold_per_subject(repos):
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    await repos.subscriptions.add(OTHER_GROUP, 0, "all", by=1)
    await repos.subscriptions.set_mute(GROUP, 0, utcnow() + timedelta(hours=1))
    await repos.alert_state.silence(
        OTHER_GROUP, 0, "driver:79990000001", until=utcnow() + timedelta(hours=1), by=1
    )
    pipeline = AlertPipeline(repos, MSK)
    await pipeline.commit("test", [alert()], None)
    assert await due_chats(repos) == []
    await pipeline.commit("test", [alert(phone="79990000002")], None)
    assert await due_chats(repos) == [OTHER_GROUP]


async def test_acknowledged_repeats_stop_until_the_subject_changes(repos):
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    pipeline = AlertPipeline(repos, MSK)
    await repos.alert_state.silence(
        GROUP, 0, "driver:79990000001", kind="driver.late", until=None, by=1
    )
    await pipeline.commit("test", [alert(n=2)], None)
    assert await repos.outbox.depth() == 0
    await pipeline.commit("test", [alert(kind="driver.arrived", n=3)], None)
    await pipeline.commit("test", [alert(n=4)], None)
    assert await repos.outbox.depth() == 2  # arrived, then late again after the change


async def test_left_route_inhibits_late_until_back_on_route(repos):
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    pipeline = AlertPipeline(repos, MSK)
    await pipeline.commit("test", [alert("driver.left_route", n=1), alert(n=2)], None)
    await pipeline.commit("test", [alert(n=3)], None)
    kinds = [row.kind for row in await repos.outbox.due()]
    assert kinds == ["driver.left_route"]
    await pipeline.commit("test", [alert("driver.returned_route", n=4), alert(n=5)], None)
    kinds = [row.kind for row in await repos.outbox.due()]
    assert kinds == ["driver.left_route", "driver.returned_route", "driver.late"]


async def test_unreachable_alerts_are_held_while_the_integration_is_down(repos):
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    pipeline = AlertPipeline(repos, MSK)
    pipeline.down.add("test")
    await pipeline.commit("test", [alert("driver.unreachable")], None)
    assert await repos.outbox.depth() == 0
    pipeline.down.clear()
    await pipeline.commit("test", [alert("driver.unreachable", n=2)], None)
    assert await repos.outbox.depth() == 1


async def test_quiet_hours_delay_low_and_normal_but_not_high(repos):
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    now_local = utcnow().astimezone(MSK)
    start = (now_local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now_local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    await repos.subscriptions.set_quiet(GROUP, 0, start, end)
    pipeline = AlertPipeline(repos, MSK)
    await pipeline.commit("test", [alert("driver.parked", n=1), alert("driver.late", n=2)], None)
    due = await repos.outbox.due()
    assert [row.kind for row in due] == ["driver.late"]
    assert await repos.outbox.depth() == 2


def test_quiet_window_over_midnight():
    prefs = ChatPrefs(1, 0, quiet_from=time(22, 0), quiet_to=time(7, 0))
    late = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    ends = quiet_until(prefs, late, MSK)
    assert ends is not None and ends.astimezone(MSK).hour == 7 and ends.day == 24
    noon = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert quiet_until(prefs, noon, MSK) is None


@given(st.times(), st.times(), st.datetimes(timezones=st.just(UTC), min_value=datetime(2020, 1, 1)))
def test_quiet_until_is_always_in_the_future_and_within_a_day(start, end, now):
    prefs = ChatPrefs(
        1, 0, quiet_from=start.replace(microsecond=0), quiet_to=end.replace(microsecond=0)
    )
    ends = quiet_until(prefs, now, MSK)
    if ends is not None:
        assert now < ends <= now + timedelta(days=1)


def test_alert_json_round_trip():
    original = alert(tags=("Склад", "Север"))
    original = Alert(**{**original.__dict__, "severity": Severity.LOW})
    assert Alert.from_json(original.to_json()) == original


async def test_a_topic_reads_its_quiet_hours_in_its_chats_zone(repos):
    """Alert times and quiet hours follow one rule: topic zone, else chat zone, else the bot's."""
    vladivostok = ZoneInfo("Asia/Vladivostok")  # 7 hours ahead of Moscow: windows never overlap
    await repos.subscriptions.add(GROUP, 5, "all", by=1)
    await repos.subscriptions.set_timezone(GROUP, 0, "Asia/Vladivostok")
    local = utcnow().astimezone(vladivostok)
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    await repos.subscriptions.set_quiet(GROUP, 5, start, end)
    await AlertPipeline(repos, MSK).commit("test", [alert("driver.parked")], None)
    assert await repos.outbox.due() == []  # held for Vladivostok's morning, not Moscow's
    assert await repos.outbox.depth() == 1
    assert await repos.subscriptions.zone(GROUP, 5, MSK) == vladivostok
    assert await repos.subscriptions.zone(GROUP, 6, MSK) == vladivostok
    assert await repos.subscriptions.zone(OTHER_GROUP, 0, MSK) == MSK


ADMIN = 8


def system_alert(kind="system.integration_down", n=1):
    return Alert(
        kind=kind,
        source="system",
        subject=Subject("integration", "movizor", "movizor"),
        occurred_at=utcnow(),
        dedupe_key=f"{kind}:{n}",
        fields={"error": "MovizorUnavailable: events: host api.internal said no"},
    )


async def test_system_alerts_reach_admins_in_private_only(repos):
    await repos.users.set_role(ADMIN, Role.ADMIN, by=None)
    for chat in (GROUP, USER, ADMIN):
        await repos.subscriptions.add(chat, 0, "all", by=1)
    await repos.subscriptions.add(OTHER_GROUP, 0, "area:system", by=1)
    await repos.subscriptions.add(GROUP, 3, "area:system", by=1)  # a forum topic
    pipeline = AlertPipeline(repos, MSK)
    await pipeline.commit("system", [system_alert()], None, extra_chats=[ADMIN])
    await pipeline.commit("movizor", [system_alert("system.events_skipped")], None, admins=[ADMIN])
    rows = await repos.outbox.due()
    assert {(row.chat_id, row.thread_id) for row in rows} == {(ADMIN, 0)} and len(rows) == 2
    # And a row queued for a group before this rule is dropped when it could go.
    snapshot = await pipeline.chat_snapshot(GROUP)
    assert snapshot is not None
    reason = await pipeline.still_wanted(GROUP, 0, system_alert(), snapshot)
    assert reason == "dropped: system alerts are for admins"
    admin_view = await pipeline.chat_snapshot(ADMIN)
    assert admin_view is not None
    assert await pipeline.still_wanted(ADMIN, 0, system_alert(), admin_view) is None


async def test_a_muted_chat_still_hears_the_subjects_it_asked_about(repos):
    """A mute silences the area feed, not the order/task/wagon/driver the chat put on watch."""
    await repos.subscriptions.add(GROUP, 0, "all", by=1)
    await repos.subscriptions.add(GROUP, 0, "all", "driver:79990000002", by=1)  # its own
    await repos.subscriptions.set_mute(GROUP, 0, utcnow() + timedelta(hours=1))
    pipeline = AlertPipeline(repos, MSK)
    await pipeline.commit("test", [alert(phone="79990000001"), alert(phone="79990000002")], None)
    rows = await repos.outbox.due()
    assert [row.subject_key for row in rows] == ["driver:79990000002"]
    snapshot = await pipeline.chat_snapshot(GROUP)
    assert snapshot is not None
    own, feed = alert(phone="79990000002", n=9), alert(phone="79990000001", n=9)
    assert await pipeline.still_wanted(GROUP, 0, own, snapshot) is None
    assert await pipeline.still_wanted(GROUP, 0, feed, snapshot) == "dropped: muted"


async def test_the_commit_reads_only_the_subscriptions_of_its_subjects(repos):
    """Subscriptions naming other subjects are not read (indexed lookups), yet a typed filter
    in another case and a tag filter still match."""
    for n in range(300):
        await repos.subscriptions.add(GROUP, 0, "all", f"order:{n}", by=1)
    await repos.subscriptions.add(OTHER_GROUP, 0, "all", "task:ab-7", by=1)
    await repos.subscriptions.add(USER, 0, "all", "tag:СКЛАД", by=USER)
    pipeline = AlertPipeline(repos, MSK)
    task = Alert(
        kind="task.changed",
        source="test",
        subject=Subject("task", "AB-7", "Задача AB-7", ("склад",)),
        occurred_at=utcnow(),
        dedupe_key="t:1",
    )
    snapshot = await pipeline.snapshot([task])
    assert {sub.filter for sub in snapshot.subscriptions} == {"task:ab-7", "tag:СКЛАД"}
    await pipeline.commit("test", [task], None)
    assert await due_chats(repos) == sorted([OTHER_GROUP, USER])


async def test_an_ending_kind_records_the_subject_and_news_revives_it(repos):
    pipeline = AlertPipeline(repos, MSK)
    order = Subject("order", "55", "Заказ 55")

    def taxi(kind, n):
        return Alert(kind, "taximaster", order, utcnow(), f"{kind}:{n}")

    async def ended():
        rows = await repos.db.fetchall("SELECT subject_key, source, subject_id FROM ended_subjects")
        return [tuple(row) for row in rows]

    await pipeline.commit("taximaster", [taxi("taxi.assigned", 1), taxi("taxi.finished", 2)], None)
    assert await ended() == [("order:55", "taximaster", "55")]
    await pipeline.commit("taximaster", [taxi("taxi.state_changed", 3)], None)
    assert await ended() == []


async def test_subscriptions_from_before_the_filter_key_are_keyed_at_start(repos):
    """A row written before migration 13 has no filter_key: it is read with the unfiltered ones
    (still routed right, only read by every commit) until key_filters, run at start, keys it."""
    await repos.db.execute(
        "INSERT INTO subscriptions (chat_id, thread_id, selector, filter, created_at) "
        "VALUES (:chat, 0, 'all', 'driver:79990000001', :at)",
        {"chat": GROUP, "at": "2026-01-01T00:00:00+00:00"},
    )
    pipeline = AlertPipeline(repos, MSK)
    other = alert(phone="79990000002")
    assert len((await pipeline.snapshot([other])).subscriptions) == 1
    assert await repos.subscriptions.key_filters() == 1
    assert (await pipeline.snapshot([other])).subscriptions == []
    await pipeline.commit("test", [other, alert()], None)
    assert [row.subject_key for row in await repos.outbox.due()] == ["driver:79990000001"]
