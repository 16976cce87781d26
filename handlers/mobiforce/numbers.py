"""A task number as people type it, read once for every command that takes one (/task,
/comment, /close, /find, /tasks): «№000023», «# 23», «23», «tg-240513-k7q2». The directory then
finds the number with or without its leading zeros and in any letter case
(storage.mobiforce.MobiforceRepo.by_number)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Final

MAX_NUMBER: Final = 40
SIGNS: Final = "№#"
# The numbers the bot gives the tasks it creates: its marker, to find a task whose create
# answer was lost. Mobiforce numbers its own tasks with digits ("000023"): no clash.
MARKER_PREFIX: Final = "TG-"
_MARKER = re.compile(r"TG-\d{6}-[A-Z2-7]{4}")


def typed_number(text: str) -> str | None:
    """The number in ``text`` without its sign and spaces around, or None when ``text`` cannot
    be one (empty, several words, too long)."""
    number = text.strip().lstrip(SIGNS).strip()
    if not number or len(number) > MAX_NUMBER or any(ch.isspace() for ch in number):
        return None
    return number


def new_marker(now: datetime) -> str:
    """A fresh number for a task the bot creates: ``TG-240513-K7Q2`` (the date, then four
    random letters and digits)."""
    code = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(4))
    return f"{MARKER_PREFIX}{now:%y%m%d}-{code}"


def is_marker(number: str) -> bool:
    return bool(_MARKER.fullmatch(number))
