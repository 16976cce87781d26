"""Reading what a dispatcher typed: phones, dates, tags; Movizor error texts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.phones import BadPhone, normalize_phone
from bot.texts import answer_usage, error_html
from integrations.movizor.errors import MovizorError
from storage.db import utcnow

MAX_TITLE: Final = 100

# A tag travels in the /drivers page buttons, whose callback data is at most 64 bytes.
MAX_TAG: Final = 20
MAX_TAG_BYTES: Final = 40
MAX_TAGS: Final = 10
PHONE_CHARS: Final = frozenset("0123456789+-() ")
WHEN_RE: Final = re.compile(
    r"^\s*(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?\s+(\d{1,2})[:.](\d{2})\s*$"
)


def is_phoneish(text: str) -> bool:
    """Only phone characters and at least one digit: meant as a phone, right or wrong."""
    return any(ch.isdigit() for ch in text) and all(ch in PHONE_CHARS for ch in text)


def leading_phone(tokens: Sequence[str]) -> tuple[str, int] | None:
    """The longest run of leading tokens that is a valid phone: (msisdn, tokens used).

    A phone may be typed with spaces (``+7 (999) 123-45-67``), so the split between the
    phone and what follows is found by trying the longest phone-looking prefix first.
    """
    for end in range(len(tokens), 0, -1):
        head = " ".join(tokens[:end])
        if not is_phoneish(head):
            continue
        try:
            return normalize_phone(head), end
        except BadPhone:
            continue
    return None


def typed_phone(tokens: Sequence[str]) -> str:
    """The phone-looking start of the arguments, to quote back in "bad phone"."""
    used: list[str] = []
    for token in tokens:
        if not is_phoneish(token):
            break
        used.append(token)
    return " ".join(used) or (tokens[0] if tokens else "")


async def phone_and_rest(message: Message, args: str | None, usage: str) -> tuple[str, str] | None:
    """``<phone> [rest]`` from the arguments, or ``None`` after answering usage / bad phone."""
    tokens = (args or "").split()
    if not tokens:
        await answer_usage(message, usage)
        return None
    found = leading_phone(tokens)
    if found is None:
        await answer_bad_phone(message, typed_phone(tokens))
        return None
    phone, used = found
    return phone, " ".join(tokens[used:])


async def only_phone(message: Message, args: str | None, usage: str) -> str | None:
    """Exactly one phone as the arguments."""
    parsed = await phone_and_rest(message, args, usage)
    if parsed is None:
        return None
    phone, rest = parsed
    if rest:
        await answer_usage(message, usage)
        return None
    return phone


async def answer_bad_phone(message: Message, typed: str) -> None:
    await message.answer(_("drivers.bad_phone").format(phone=html.quote(typed)))


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """``дд.мм чч:мм`` (year optional) in ``tz``. Without a year, a date more than half a
    year back means next year (typing 05.01 in December); a recent past date stays in the
    past so the caller can refuse it rather than silently jump a year."""
    match = WHEN_RE.match(text)
    if match is None:
        return None
    day, month, year_text, hour, minute = match.groups()
    local_now = now.astimezone(tz)
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _moment(year, int(month), int(day), int(hour), int(minute), tz)
    # This year's date, or next year's when this year's is over half a year back (29.02 exists
    # in one of them or neither: a date that does not exist is not an error, just no answer).
    for year in (local_now.year, local_now.year + 1):
        moment = _moment(year, int(month), int(day), int(hour), int(minute), tz)
        if moment is not None and moment >= local_now - timedelta(days=183):
            return moment
    return None


def _moment(
    year: int, month: int, day: int, hour: int, minute: int, tz: ZoneInfo
) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        return None


def when_example(tz: ZoneInfo, days: int = 1) -> str:
    later = utcnow().astimezone(tz) + timedelta(days=days)
    return later.replace(minute=0).strftime("%d.%m %H:%M")


def tag_fits(tag: str) -> bool:
    """Short enough for a button's callback data, and no ``:`` (its separator)."""
    return len(tag) <= MAX_TAG and len(tag.encode()) <= MAX_TAG_BYTES and ":" not in tag


def parse_tags(text: str) -> list[str] | None:
    """Comma-separated tags, or ``None`` when there are too many or one does not fit."""
    tags = list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))
    if len(tags) > MAX_TAGS or not all(tag_fits(tag) for tag in tags):
        return None
    return tags


def topic_of(message: Message) -> int:
    """The forum topic a message belongs to (0 outside forum topics)."""
    return (message.message_thread_id if message.is_topic_message else None) or 0


def error_text(exc: MovizorError, i18n: PoI18n) -> str:
    return error_html(exc, i18n.current_locale)
