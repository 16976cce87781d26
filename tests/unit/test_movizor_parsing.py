"""Dates typed in a wizard: `дд.мм чч:мм`, the year optional."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.movizor.parsing import parse_when

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("now", "typed", "expected"),
    [
        # 29.02 without a year: the next 29 February that is not over half a year back.
        (datetime(2027, 12, 1, tzinfo=UTC), "29.02 10:00", datetime(2028, 2, 29, 10, 0)),
        (
            datetime(2028, 12, 1, tzinfo=UTC),
            "29.02 10:00",
            None,
        ),  # 2028's is long past, 2029 has none
        (datetime(2026, 11, 30, tzinfo=UTC), "29.02 10:00", None),
        (
            datetime(2028, 3, 1, tzinfo=UTC),
            "29.02 10:00",
            datetime(2028, 2, 29, 10, 0),
        ),  # just past
        (datetime(2026, 12, 20, tzinfo=UTC), "05.01 08:30", datetime(2027, 1, 5, 8, 30)),
        (datetime(2026, 11, 30, tzinfo=UTC), "31.04 10:00", None),
        (datetime(2026, 11, 30, tzinfo=UTC), "29.02.2028 10:00", datetime(2028, 2, 29, 10, 0)),
        (datetime(2026, 11, 30, tzinfo=UTC), "29.02.27 10:00", None),
    ],
)
def test_dates_without_a_year(now, typed, expected):
    moment = parse_when(typed, MOSCOW, now)
    assert moment == (expected.replace(tzinfo=MOSCOW) if expected else None)


@given(
    day=st.integers(0, 40),
    month=st.integers(0, 14),
    hour=st.integers(0, 30),
    now=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_no_typed_date_ever_raises(day, month, hour, now):
    parse_when(f"{day:02d}.{month:02d} {hour:02d}:00", MOSCOW, now)
