"""Phones are normalised once, at the edge, to MSISDN ``7XXXXXXXXXX`` (region RU)."""

from __future__ import annotations

import phonenumbers

MSISDN_LENGTH = 11


class BadPhone(ValueError):
    """The text is not a phone number we can track (Russian mobile or landline)."""


def normalize_phone(text: str) -> str:
    """`+7 (999) 123-45-67`, `8-999-123-45-67`, `9991234567` -> `79991234567`.

    Raises :class:`BadPhone` for anything that is not a valid Russian number; no upstream
    call is ever made with such input.
    """
    raw = text.strip()
    if not raw or len(raw) > 32:
        raise BadPhone(text)
    try:
        parsed = phonenumbers.parse(raw, "RU")
    except phonenumbers.NumberParseException as exc:
        raise BadPhone(text) from exc
    if parsed.country_code != 7 or not phonenumbers.is_valid_number(parsed):
        raise BadPhone(text)
    msisdn = f"7{parsed.national_number}"
    if len(msisdn) != MSISDN_LENGTH:
        raise BadPhone(text)
    return msisdn


def looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 10 and all(ch.isdigit() or ch in "+-() " for ch in text.strip())


def format_phone(msisdn: str) -> str:
    """`79991234567` -> `+7 999 123-45-67` for people to read."""
    if len(msisdn) != MSISDN_LENGTH:
        return msisdn
    return f"+7 {msisdn[1:4]} {msisdn[4:7]}-{msisdn[7:9]}-{msisdn[9:]}"
