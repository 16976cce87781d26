"""Who is on call in a chat at a moment, read in the chat's time zone.

A chat's rota has shifts («пн-пт 09:00-18:00», an overnight «22:00-06:00» belongs to the day it
starts) and may have a weekly rotation of several people handed over on one weekday at one
time. A shift that covers the moment wins (the first added, when two do); else the rotation's
person of that week; else nobody (the chain then goes to the chat's dispatchers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.oncall import Shift

DAY_WORDS = (
    ("пн", "mon"),
    ("вт", "tue"),
    ("ср", "wed"),
    ("чт", "thu"),
    ("пт", "fri"),
    ("сб", "sat"),
    ("вс", "sun"),
)
EVERY_DAY = {"ежедневно", "каждый", "daily", "всегда", "always"}
# Weeks of a rotation are counted from this Monday (any fixed Monday would do).
ROTATION_EPOCH = datetime(2024, 1, 1)
WEEK = timedelta(days=7)
_HOURS = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


def day_index(word: str) -> int | None:
    word = word.strip().lower()
    for index, names in enumerate(DAY_WORDS):
        if word in names:
            return index
    return None


def parse_days(text: str) -> tuple[int, ...] | None:
    """``пн-пт``, ``сб,вс``, ``пт-пн`` (wrapping), ``ежедневно`` -> weekdays (0 = Monday)."""
    text = text.strip().lower()
    if text in EVERY_DAY:
        return tuple(range(7))
    days: list[int] = []
    for part in text.split(","):
        ends = part.split("-")
        if len(ends) == 1:
            day = day_index(ends[0])
            if day is None:
                return None
            days.append(day)
        elif len(ends) == 2:
            first, last = day_index(ends[0]), day_index(ends[1])
            if first is None or last is None:
                return None
            days += [(first + step) % 7 for step in range((last - first) % 7 + 1)]
        else:
            return None
    return tuple(sorted(set(days)))


def parse_hours(text: str) -> tuple[str, str] | None:
    """``09:00-18:00`` -> ("09:00", "18:00"); ``24:00`` ends a day; equal ends: the whole day."""
    match = _HOURS.fullmatch(text.strip())
    if not match:
        return None
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        return None
    return f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _covers(shift: Shift, local: datetime) -> bool:
    start, end = _minutes(shift.start), _minutes(shift.end)
    now = local.hour * 60 + local.minute
    day = local.weekday()
    if start < end:
        return day in shift.days and start <= now < end
    # Overnight (or the whole day when start == end): the part after midnight belongs to the
    # day the shift started.
    return (day in shift.days and now >= start) or ((day - 1) % 7 in shift.days and now < end)


def _rotation_person(rotation: Sequence[Shift], local: datetime) -> int | None:
    if not rotation:
        return None
    first = rotation[0]
    handover = time.fromisoformat(first.start)
    anchor = ROTATION_EPOCH + timedelta(
        days=first.days[0] if first.days else 0, hours=handover.hour, minutes=handover.minute
    )
    week = (local.replace(tzinfo=None) - anchor) // WEEK
    return rotation[week % len(rotation)].user_id


def on_call_at(shifts: Sequence[Shift], moment: datetime, tz: ZoneInfo) -> int | None:
    """The user on call at ``moment`` (aware), or None."""
    local = moment.astimezone(tz)
    for shift in shifts:
        if shift.mode == "shift" and _covers(shift, local):
            return shift.user_id
    return _rotation_person([s for s in shifts if s.mode == "rotation"], local)


@dataclass(frozen=True)
class Handover:
    at: datetime  # aware, in the chat's zone
    user_id: int | None


def next_handover(shifts: Sequence[Shift], moment: datetime, tz: ZoneInfo) -> Handover | None:
    """When the person on call changes next (within a fortnight), and to whom."""
    local = moment.astimezone(tz).replace(second=0, microsecond=0)
    now = on_call_at(shifts, moment, tz)
    edges: set[datetime] = set()
    for offset in range(15):
        day = (local + timedelta(days=offset)).replace(hour=0, minute=0)
        for shift in shifts:
            for hhmm in {shift.start, shift.end}:
                minutes = _minutes(hhmm)
                edges.add(day + timedelta(minutes=minutes))
    for edge in sorted(e for e in edges if e > local):
        # The local wall time as an aware moment in the zone (a DST gap resolves forwards).
        at = edge.replace(tzinfo=None).replace(tzinfo=tz)
        who = on_call_at(shifts, at, tz)
        if who != now:
            return Handover(at, who)
    return None
