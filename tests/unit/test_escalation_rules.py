"""Who is on call when (in the chat's zone), and how a chain is written."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.escalation import chain as chains
from bot.escalation.oncall import next_handover, on_call_at, parse_days, parse_hours
from storage.oncall import Shift

YEKATERINBURG = ZoneInfo("Asia/Yekaterinburg")  # UTC+5


def shift(user: int, days: str, hours: str, *, position: int = 0) -> Shift:
    parsed_days, (start, end) = parse_days(days), parse_hours(hours)
    assert parsed_days is not None
    return Shift(user, user, "shift", parsed_days, start, end, position)


def rotation(users: list[int], day: int, at: str) -> list[Shift]:
    return [Shift(100 + i, u, "rotation", (day,), at, at, i) for i, u in enumerate(users)]


def local(text: str, tz: ZoneInfo = YEKATERINBURG) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def test_days_and_hours_as_people_write_them():
    assert parse_days("пн-пт") == (0, 1, 2, 3, 4)
    assert parse_days("сб,вс") == (5, 6)
    assert parse_days("пт-пн") == (0, 4, 5, 6)  # wrapping over the weekend
    assert parse_days("ежедневно") == tuple(range(7))
    assert parse_days("mon-wed") == (0, 1, 2)
    assert parse_days("понедельник") is None
    assert parse_hours("9:00-18:00") == ("09:00", "18:00")
    assert parse_hours("22:00-24:00") == ("22:00", "24:00")
    assert parse_hours("25:00-26:00") is None and parse_hours("9-18") is None


def test_a_shift_is_read_in_the_chats_zone():
    rota = [shift(1, "пн-пт", "09:00-18:00")]
    # 2026-12-07 is a Monday. 09:00 in Yekaterinburg is 04:00 UTC.
    assert on_call_at(rota, datetime(2026, 12, 7, 3, 59, tzinfo=UTC), YEKATERINBURG) is None
    assert on_call_at(rota, datetime(2026, 12, 7, 4, 0, tzinfo=UTC), YEKATERINBURG) == 1
    assert on_call_at(rota, local("2026-12-07T17:59"), YEKATERINBURG) == 1
    assert on_call_at(rota, local("2026-12-07T18:00"), YEKATERINBURG) is None
    assert on_call_at(rota, local("2026-12-12T12:00"), YEKATERINBURG) is None  # Saturday


def test_an_overnight_shift_belongs_to_the_day_it_starts():
    rota = [shift(2, "пт", "22:00-06:00")]
    assert on_call_at(rota, local("2026-12-11T23:00"), YEKATERINBURG) == 2  # Friday night
    assert on_call_at(rota, local("2026-12-12T05:59"), YEKATERINBURG) == 2  # Saturday morning
    assert on_call_at(rota, local("2026-12-12T06:00"), YEKATERINBURG) is None
    assert on_call_at(rota, local("2026-12-10T23:00"), YEKATERINBURG) is None  # Thursday


def test_a_weekly_rotation_hands_over_at_the_boundary_in_the_chats_zone():
    rota = rotation([11, 12, 13], day=0, at="09:00")  # Mondays 09:00
    before = on_call_at(rota, local("2026-12-07T08:59"), YEKATERINBURG)
    after = on_call_at(rota, local("2026-12-07T09:00"), YEKATERINBURG)
    assert before is not None and after is not None and before != after
    assert on_call_at(rota, local("2026-12-14T08:59"), YEKATERINBURG) == after  # a week
    assert on_call_at(rota, local("2026-12-14T09:00"), YEKATERINBURG) not in (before, after)
    assert on_call_at(rota, local("2026-12-21T09:00"), YEKATERINBURG) == before  # round again
    # The same instant read in Moscow's zone is 07:00 there: still the week before.
    moscow = ZoneInfo("Europe/Moscow")
    same_instant = local("2026-12-07T09:00")
    assert on_call_at(rota, same_instant, moscow) == before
    handover = next_handover(rota, local("2026-12-07T08:00"), YEKATERINBURG)
    assert handover is not None
    assert handover.at == local("2026-12-07T09:00") and handover.user_id == after


def test_a_shift_wins_over_the_rotation_and_the_next_handover_says_who():
    rota = [shift(1, "пн-пт", "09:00-18:00"), *rotation([11, 12], day=0, at="00:00")]
    assert on_call_at(rota, local("2026-12-08T10:00"), YEKATERINBURG) == 1
    night = on_call_at(rota, local("2026-12-08T20:00"), YEKATERINBURG)
    assert night in (11, 12)
    handover = next_handover(rota, local("2026-12-08T10:00"), YEKATERINBURG)
    assert handover is not None
    assert handover.at == local("2026-12-08T18:00") and handover.user_id == night


async def no_one(_name: str) -> int | None:
    return None


async def people(name: str) -> int | None:
    return {"olga": 81, "boris": 82}.get(name)


async def test_a_chain_as_written():
    steps = await chains.parse_chain(
        ["10", "чат", "15м", "дежурный", "диспетчеры", "@olga", "@boris", "0", "админы"], people
    )
    assert steps == (
        chains.Step(10, chains.CHAT),
        chains.Step(15, chains.ONCALL),
        chains.Step(None, chains.DISPATCHERS),
        chains.Step(None, chains.PEOPLE, (81, 82)),
        chains.Step(0, chains.ADMINS),
    )
    assert chains.from_json(chains.to_json(steps)) == steps
    filled = chains.with_waits(steps, 7)
    assert [s.wait for s in filled] == [10, 15, 7, 7, 0]
    assert chains.total_steps(filled, 2) == 10 and chains.step_at(filled, 6).to == chains.ONCALL


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("10 чат 10", "esc.error.wait_at_end"),
        ("10 10 чат", "esc.error.two_waits"),
        ("10 куда-то", "esc.error.unknown_word"),
        ("10 @nobody", "esc.error.unknown_person"),
        ("0 чат 0 админы", "esc.error.no_wait"),
        ("5000 чат", "esc.error.wait_too_long"),
        ("", "esc.error.empty"),
    ],
)
async def test_a_chain_that_does_not_work_is_refused_with_its_rule(text, rule):
    with pytest.raises(chains.ChainError) as refused:
        await chains.parse_chain(text.split(), no_one)
    assert refused.value.key == rule


def test_a_stored_chain_that_cannot_be_read_is_the_default():
    assert chains.from_json(None) == chains.DEFAULT_CHAIN
    assert chains.from_json("not json") == chains.DEFAULT_CHAIN
    assert chains.from_json('[{"wait": 1, "to": "nowhere"}]') == chains.DEFAULT_CHAIN
