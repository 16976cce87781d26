"""SettingsValues on both databases: where a value comes from (set > environment > default;
a topic's own > its chat's > default), set / reset validated and audited, change hooks."""

from datetime import time

import pytest

from bot.config import load_settings
from bot.i18n import build_i18n
from bot.settings.kinds import (
    Choice,
    Duration,
    Flag,
    Number,
    OptionalKind,
    SettingError,
    TextList,
    TimeOfDay,
    TimesOfDay,
    TimeWindow,
    Zone,
)
from bot.settings.registry import ChatKey, Scope, Setting
from bot.settings.values import SettingsValues, read_environment
from bot.settings.wiring import install_translator
from storage import Repos
from storage.chats import ChatStatus
from storage.db import Database

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL (tests/conftest.py)

POLL = Setting(
    "test.poll_seconds",
    Number(min=60, max=3600, unit="seconds", rule_key="setting.rule.min"),
    60,
    Scope.GLOBAL,
    "alta",
    "polling",
    live=True,
    env="ALTA_POLL_SECONDS",
)
TIMES = Setting("test.times", TimesOfDay(), (time(9),), Scope.GLOBAL, "alta", "defaults", live=True)
ZONE = Setting("test.zone", OptionalKind(Zone()), None, Scope.CHAT, None, "chat", live=True)
QUIET = Setting("test.quiet", OptionalKind(TimeWindow()), None, Scope.CHAT, None, "chat", live=True)
TOKEN = Setting(
    "test.token", Number(), None, Scope.GLOBAL, None, "x", live=False, env="BOT_TOKEN", secret=True
)
GROUP = ChatKey(-1001, 0)
TOPIC = ChatKey(-1001, 7)


@pytest.fixture
async def repos(database_url):
    async with Database(database_url) as db:
        yield Repos.on(db)


async def test_global_set_beats_environment_beats_default(repos):
    environment, problems = read_environment([POLL], load_settings(alta_poll_seconds=120))
    assert problems == [] and environment == {POLL.name: 120}
    values = SettingsValues(repos, environment)
    assert await values.get(POLL) == 120
    assert (await values.source(POLL)).kind == "env"
    assert await SettingsValues(repos).get(POLL) == 60  # nothing in the environment

    await values.set(POLL, 300, by=7)
    assert await values.get(POLL) == 300
    source = await values.source(POLL, GROUP)  # a GLOBAL value whatever chat asks
    assert source.kind == "set" and source.by == 7 and source.at is not None

    await values.reset(POLL, by=8)
    assert (await values.effective(POLL)) == (120, (await values.source(POLL)))
    entries = [(e.actor_id, e.action, e.target, e.details) for e in await repos.audit.latest()]
    assert entries == [
        (8, "setting.reset", POLL.name, {"old": 300, "new": 120}),
        (7, "setting.set", POLL.name, {"old": 120, "new": 300}),
    ]


async def test_a_refused_value_names_the_rule_and_changes_nothing(repos):
    values = SettingsValues(repos)
    with pytest.raises(SettingError) as caught:
        await values.set(POLL, 30, by=7)
    assert caught.value.rule_key == "setting.rule.min" and caught.value.params["min"] == "60"
    with pytest.raises(SettingError):
        await values.set(TIMES, (time(1), time(2), time(3), time(4)), by=7)
    assert await values.get(POLL) == 60 and await values.get(TIMES) == (time(9),)
    assert await repos.audit.latest() == []


async def test_the_environment_is_checked_against_the_rules():
    install_translator(build_i18n("ru"))
    _values, problems = read_environment([POLL], load_settings(alta_poll_seconds=60))
    assert problems == []
    wrong = load_settings(alta_poll_seconds=60).model_copy(update={"alta_poll_seconds": 4000})
    _values, problems = read_environment([POLL], wrong)
    assert problems == ["ALTA_POLL_SECONDS: от 60 до 3\u00a0600"]


async def test_a_topic_has_its_own_value_else_its_chats(repos):
    values = SettingsValues(repos)
    assert await values.get(ZONE, TOPIC) is None
    await values.set(ZONE, "Asia/Omsk", by=7, chat=GROUP)
    assert await values.get(ZONE, TOPIC) == "Asia/Omsk"
    assert (await values.source(ZONE, TOPIC)).inherited
    await values.set(ZONE, "UTC", by=7, chat=TOPIC)
    assert await values.get(ZONE, TOPIC) == "UTC" and await values.get(ZONE, GROUP) == "Asia/Omsk"
    assert not (await values.source(ZONE, TOPIC)).inherited
    await values.reset(ZONE, by=7, chat=TOPIC)
    assert await values.get(ZONE, TOPIC) == "Asia/Omsk"
    assert await values.get(ZONE, ChatKey(-2002)) is None  # another chat's is its own
    with pytest.raises(ValueError):
        await values.get(ZONE)  # a CHAT setting needs its chat


async def test_tuples_survive_the_database(repos):
    values = SettingsValues(repos)
    await values.set(QUIET, (time(22), time(7)), by=7, chat=GROUP)
    await values.set(TIMES, (time(18), time(8)), by=7)
    fresh = SettingsValues(Repos.on(repos.db))
    assert await fresh.get(QUIET, GROUP) == (time(22), time(7))
    assert await fresh.get(TIMES) == (time(8), time(18))


async def test_change_hooks_get_the_new_value_and_a_failing_hook_loses_nothing(repos):
    values = SettingsValues(repos)
    seen = []

    async def hook(value, chat):
        seen.append((value, chat))

    async def broken(value, chat):
        raise RuntimeError("boom")

    values.on_change(POLL, broken)
    values.on_change(POLL, hook)
    values.on_change(ZONE, hook)
    await values.set(POLL, 90, by=7)
    await values.reset(POLL, by=7)
    await values.set(ZONE, "UTC", by=7, chat=TOPIC)
    assert seen == [(90, None), (60, None), ("UTC", TOPIC)]


async def test_secrets_are_never_set(repos):
    values = SettingsValues(repos)
    with pytest.raises(SettingError) as caught:
        await values.set(TOKEN, 1, by=7)
    assert caught.value.rule_key == "setting.rule.secret"
    with pytest.raises(SettingError):
        await values.reset(TOKEN, by=7)
    assert await repos.audit.latest() == []


async def test_a_stored_value_the_rules_now_refuse_is_ignored(repos):
    async with repos.db.transaction() as tx:
        await repos.setting_values.put(tx, POLL.name, 5, by=7)
    values = SettingsValues(repos)
    assert await values.get(POLL) == 60
    assert (await values.source(POLL)).kind == "default"


async def test_a_value_set_elsewhere_is_read(repos):
    """Two SettingsValues on one database (two processes on PostgreSQL; the cache on SQLite
    is dropped by any commit): each reads what the other set."""
    first, second = SettingsValues(repos), SettingsValues(Repos.on(repos.db))
    assert await second.get(POLL) == 60
    await first.set(POLL, 600, by=7)
    assert await second.get(POLL) == 600


async def test_the_values_move_with_a_group_that_becomes_a_supergroup(repos):
    values = SettingsValues(repos)
    await values.set(ZONE, "Asia/Omsk", by=7, chat=ChatKey(-5))
    await values.set(ZONE, "UTC", by=7, chat=ChatKey(-1005))
    await repos.chats.upsert(
        -5, type="group", title="Склад", status=ChatStatus.APPROVED, added_by=1
    )
    assert await repos.chats.move(-5, -1005)
    assert await values.get(ZONE, ChatKey(-1005)) == "Asia/Omsk"
    assert await values.get(ZONE, ChatKey(-5)) is None


KINDS = [
    (Choice(("daily", "trip")), "daily", "trip", "weekly"),
    (Number(min=1, max=10), 5, "7", "11"),
    (TimeOfDay(), time(9), "8:30", "24:00"),
    (TimesOfDay(), (time(9),), "08:00, 18:00", "08:00 25:00"),
    (TextList(item_pattern=r"\d{5}"), ("12345",), "11111, 22222", "abc"),
    (Zone(), "Europe/Moscow", "asia/omsk", "Mars/Olympus"),
    (Duration(min_minutes=5, max_minutes=600), 30, "2h", "1d"),
    (Flag(), True, "выкл", "может быть"),
    (OptionalKind(TimeWindow()), None, "22-7", "22-22"),
]


@pytest.mark.parametrize(("kind", "default", "typed", "wrong"), KINDS)
async def test_each_kind_is_set_validated_reset_and_audited(repos, kind, default, typed, wrong):
    setting = Setting("test.kind", kind, default, Scope.GLOBAL, None, "x", live=True)
    values = SettingsValues(repos)
    with pytest.raises(SettingError):
        values.parse(setting, wrong)
    value = values.parse(setting, typed)
    await values.set(setting, value, by=7)
    assert await SettingsValues(Repos.on(repos.db)).get(setting) == value  # through the database
    await values.reset(setting, by=7)
    assert await values.get(setting) == default
    entries = [(e.action, e.details["new"]) for e in await repos.audit.latest()]
    assert entries == [
        ("setting.reset", kind.dump(default) if default is not None else None),
        ("setting.set", kind.dump(value)),
    ]


async def test_a_change_made_by_another_process_reaches_this_ones_hooks(repos):
    """Two processes on one database (PostgreSQL): the other one's change is applied here at
    the next refresh (the app runs one every half minute there), and only a change is."""
    here, there = SettingsValues(repos), SettingsValues(Repos.on(repos.db))
    seen = []

    async def hook(value, chat):
        seen.append(value)

    here.on_change(POLL, hook)
    await here.apply_all()
    assert seen == [60]
    assert await here.refresh() == []
    await there.set(POLL, 600, by=7)
    assert await here.refresh() == [POLL.name] and seen == [60, 600]
    assert await here.refresh() == []
