"""Phones are normalised once, at the edge, to MSISDN ``7XXXXXXXXXX`` (region RU).

``phonenumbers`` (about a megabyte of code) is imported by each function here, so it loads at
the first phone the bot reads or shows, not when the bot starts.
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


def _parse(text: str) -> phonenumbers.PhoneNumber | None:
    """The number in ``text`` (read as Russian unless it says +<country>), or None."""
    import phonenumbers

    raw = text.strip()
    if not raw or len(raw) > 32 or not _PHONE_CHARS.fullmatch(raw):
        return None
    try:
        return phonenumbers.parse(raw, "RU")
    except phonenumbers.NumberParseException:
        return None


def _parse_russian(text: str) -> phonenumbers.PhoneNumber | None:
    """The number in ``text`` if it is in the Russian (+7) plan with 10 national digits."""
    number = _parse(text)
    if number is None or number.country_code != 7:
        return None
    if len(str(number.national_number)) != MSISDN_LENGTH - 1:
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


def format_phone(phone: str) -> str:
    """Any phone the bot holds or a vendor sent (``79991234567``, ``8 (912) 345-67-89``) the one
    way every screen shows it: ``+7 912 345-67-89`` (phonenumbers' international format).
    Text that is no phone number is shown as it came."""
    import phonenumbers

    number = _parse(phone)
    if number is None or not phonenumbers.is_possible_number(number):
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_COUNTRY_AND_CODE = re.compile(r"^\+\d+ \d+ ")


def mask_phone(phone: str) -> str:
    """A phone for an INFO log line: enough to tell two apart, not enough to call
    (``+7 912 ***-**-89``). Logs at DEBUG may carry the whole number."""
    shown = format_phone(phone)
    head = _COUNTRY_AND_CODE.match(shown)
    keep = head.end() if head else 0
    tail = shown[keep:]
    digits = sum(ch.isdigit() for ch in tail)
    masked, seen = [], 0
    for ch in tail:
        if ch.isdigit():
            seen += 1
            masked.append(ch if seen > digits - 2 else "*")
        else:
            masked.append(ch)
    return shown[:keep] + "".join(masked)


def mask_phones(text: str) -> str:
    """Every phone number inside free text (a command someone typed) masked by
    :func:`mask_phone`, for a log line."""
    import phonenumbers

    found = phonenumbers.PhoneNumberMatcher(text, "RU", leniency=phonenumbers.Leniency.POSSIBLE)
    pieces, last = [], 0
    for match in found:
        pieces += [text[last : match.start], mask_phone(match.raw_string)]
        last = match.end
    return "".join(pieces) + text[last:]
