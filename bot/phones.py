"""Phones are normalised once, at the edge, to MSISDN ``7XXXXXXXXXX`` (region RU).

``phonenumbers`` (about a megabyte of code) is imported at the first phone someone types, not
when the bot starts: most runs read no phone for hours.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import phonenumbers

MSISDN_LENGTH = 11
# Digits and the punctuation people type. Letters are refused before phonenumbers sees them:
# it would read them as a vanity number (8-999-ABC-DE-FG -> 79992223334), the wrong driver.
_PHONE_CHARS = re.compile(r"[+\d()\-.\s]+")


class BadPhone(ValueError):
    """The text is not a phone number we can track (Russian mobile or landline)."""


def _parse_russian(text: str) -> phonenumbers.PhoneNumber | None:
    """The number in ``text`` if it is in the Russian (+7) plan with 10 national digits."""
    import phonenumbers

    raw = text.strip()
    if not raw or len(raw) > 32 or not _PHONE_CHARS.fullmatch(raw):
        return None
    try:
        number = phonenumbers.parse(raw, "RU")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 7 or len(str(number.national_number)) != MSISDN_LENGTH - 1:
        return None
    return number


def normalize_phone(text: str) -> str:
    """`+7 (999) 123-45-67`, `8-999-123-45-67`, `9991234567` -> `79991234567`.

    Raises :class:`BadPhone` for anything that is not a valid Russian number; no upstream
    call is ever made with such input.
    """
    import phonenumbers

    number = _parse_russian(text)
    if number is None or not phonenumbers.is_valid_number(number):
        raise BadPhone(text)
    return f"7{number.national_number}"


def possible_phone(text: str) -> str | None:
    """Like :func:`normalize_phone`, but only asks that the number be *possible* (right length
    and plan), not allocated: enough for a subscription filter, which calls nobody."""
    import phonenumbers

    number = _parse_russian(text)
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return f"7{number.national_number}"


def format_phone(msisdn: str) -> str:
    """`79991234567` -> `+7 999 123-45-67` for people to read."""
    if len(msisdn) != MSISDN_LENGTH:
        return msisdn
    return f"+7 {msisdn[1:4]} {msisdn[4:7]}-{msisdn[7:9]}-{msisdn[9:]}"
