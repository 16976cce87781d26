"""Reading what a dispatcher typed for Taxi-Master: times, order ids, "from — to", houses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiogram.types import Message

from bot.i18n import PoI18n
from bot.texts import error_html
from integrations.taximaster.errors import TaxiMasterError

MAX_AHEAD: Final = timedelta(days=7)  # a prior order further ahead is a typo
MAX_QUERY: Final = 100
MAX_ORDER_ID: Final = 2**31 - 1

_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")
_DATE_CLOCK = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?\s+(\d{1,2})[:.](\d{2})\s*$")
_IN_MINUTES = re.compile(r"^\s*(?:через\s+|in\s+|\+)?(\d{1,4})\s*(?:мин\w*|m|min\w*)\s*$", re.I)
# "Малышева 51", "улица Малышева, 51а", "Ленина д. 5/1": a street part and a house number.
_STREET_HOUSE = re.compile(r"^(.*?\S)[\s,]+(?:д\.?\s*|дом\s+)?(\d+[\w/-]{0,6})$", re.I)
# "12 345": digit groups with single spaces between (regular, no-break, thin, narrow no-break)
_DIGIT_GROUPS = re.compile(r"\d+(?:[ \u00a0\u2009\u202f]\d+)*")
# "<from> — <to>" in /taxi_cost: an arrow or a long dash anywhere; a hyphen with a space on
# at least one side (a hyphen inside a name is part of it: "Мамина-Сибиряка").
_ROUTE_SPLIT = re.compile(r"\s*(?:→|->|=>|[‒–—―−])\s*|\s+[-‐‑]\s*|\s*[-‐‑]\s+")


class TimeProblem(ValueError):
    """A typed time that cannot be used; ``key`` names the text that explains why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_pickup_time(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """``18:30`` (today, or tomorrow if that has passed), ``25.12 18:30`` or ``через 40 мин``
    in ``tz``; a moment in the future within :data:`MAX_AHEAD`. Raises :class:`TimeProblem`."""
    local_now = now.astimezone(tz)
    moment: datetime | None = None
    if match := _IN_MINUTES.match(text):
        moment = now + timedelta(minutes=int(match.group(1)))
    elif match := _CLOCK.match(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise TimeProblem("taximaster.taxi.bad_time")
        moment = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment < local_now - timedelta(minutes=1):
            moment += timedelta(days=1)
    elif match := _DATE_CLOCK.match(text):
        day, month, year_text, hour_text, minute_text = match.groups()
        year = int(year_text) if year_text else local_now.year
        year += 2000 if year < 100 else 0
        try:
            moment = datetime(
                year, int(month), int(day), int(hour_text), int(minute_text), tzinfo=tz
            )
        except ValueError:
            raise TimeProblem("taximaster.taxi.bad_time") from None
    if moment is None:
        raise TimeProblem("taximaster.taxi.bad_time")
    if moment < now - timedelta(minutes=1):
        raise TimeProblem("taximaster.taxi.time_past")
    if moment > now + MAX_AHEAD:
        raise TimeProblem("taximaster.taxi.time_far")
    return moment


def split_street_house(query: str) -> tuple[str, str]:
    """``Малышева 51`` -> (``Малышева``, ``51``); without a number the house is empty."""
    match = _STREET_HOUSE.match(query)
    if match is None or not any(ch.isalpha() for ch in match.group(1)):
        return query, ""
    return match.group(1).strip(" ,"), match.group(2)


def split_route(text: str) -> tuple[str, str] | None:
    """``<from> — <to>`` -> both sides, or None when it is not two non-empty places."""
    parts = [part.strip(" ,") for part in _ROUTE_SPLIT.split(text.strip(), maxsplit=1)]
    if len(parts) != 2 or not all(parts) or any(len(p) > MAX_QUERY for p in parts):
        return None
    return parts[0], parts[1]


def parse_order_id(text: str | None) -> int | None:
    """``12345``, ``№12345``, ``# 12345`` and, as numbers are often written and copied,
    ``12 345`` (spaces between digit groups, no-break and thin ones too)."""
    raw = (text or "").strip().lstrip("№#").strip()
    if not _DIGIT_GROUPS.fullmatch(raw):
        return None
    number = int("".join(ch for ch in raw if ch.isdigit()))
    return number if 0 < number <= MAX_ORDER_ID else None


def tm_phone(msisdn: str) -> str:
    """``79991234567`` -> ``89991234567``: the form TMWeb's document uses (≤ 16 chars)."""
    return "8" + msisdn[1:]


def topic_of(message: Message) -> int:
    """The forum topic a message belongs to (0 outside forum topics)."""
    return (message.message_thread_id if message.is_topic_message else None) or 0


def error_text(exc: TaxiMasterError, i18n: PoI18n) -> str:
    return error_html(exc, i18n.current_locale)
