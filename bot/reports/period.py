"""The period of a /report: ``день`` (today so far), ``неделя`` (the last 7 days, the default),
``месяц`` (the last 30 days) or ``дд.мм-дд.мм`` (whole days, this year; a range across New Year
— ``28.12-03.01`` typed in January — starts in the year before), in the chat's zone.

A period in the future, reversed, or reaching further back than the history is kept is refused
with the rule it broke (a .po key and its values), never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WORDS = {
    "день": 1,
    "сегодня": 1,
    "day": 1,
    "today": 1,
    "неделя": 7,
    "неделю": 7,
    "week": 7,
    "месяц": 30,
    "month": 30,
}
DEFAULT_DAYS = 7
_RANGE = re.compile(r"(\d{1,2})\.(\d{1,2})\s*[-–—]\s*(\d{1,2})\.(\d{1,2})")


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    first_day: date  # as the chat reads it
    last_day: date


@dataclass(frozen=True)
class PeriodRefused:
    key: str  # the .po key of the rule it broke
    values: dict[str, str] = field(default_factory=dict)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def parse_period(
    text: str, now: datetime, tz: ZoneInfo, history_days: int
) -> Period | PeriodRefused:
    words = text.strip().lower()
    today = now.astimezone(tz).date()
    oldest = (now - timedelta(days=history_days)).astimezone(tz).date()
    if not words or words in WORDS:
        days = WORDS.get(words, DEFAULT_DAYS)
        first = today - timedelta(days=days - 1)
        if first < oldest:
            return PeriodRefused(
                "report.bad.too_long", {"days": str(history_days), "oldest": f"{oldest:%d.%m.%Y}"}
            )
        return Period(_midnight(first, tz), now, first, today)
    found = _RANGE.fullmatch(words)
    if not found:
        return PeriodRefused("report.bad.format")
    try:
        first = date(today.year, int(found[2]), int(found[1]))
        last = date(today.year, int(found[4]), int(found[3]))
    except ValueError:
        return PeriodRefused("report.bad.date", {"text": text.strip()})
    shown = {"first": f"{first:%d.%m}", "last": f"{last:%d.%m}"}
    if first > last:
        # Across New Year when that start, a year earlier, is still in the history; otherwise
        # the two dates were typed the wrong way round.
        try:
            first = first.replace(year=first.year - 1)
        except ValueError:  # 29.02 of a leap year
            return PeriodRefused("report.bad.reversed", shown)
        if first < oldest:
            return PeriodRefused("report.bad.reversed", shown)
    if first > today:
        return PeriodRefused("report.bad.future", {**shown, "today": f"{today:%d.%m}"})
    if first < oldest:
        return PeriodRefused(
            "report.bad.too_long", {"days": str(history_days), "oldest": f"{oldest:%d.%m.%Y}"}
        )
    end = min(_midnight(last + timedelta(days=1), tz), now)
    return Period(_midnight(first, tz), end, first, min(last, today))
