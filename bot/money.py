"""Money as people read it, in the chat's language: «9 505,00 ₽» (ru), «9,505.00 ₽» (en).

One helper for every screen that shows roubles (taxi prices and their breakdown, tariffs'
services, /balance), so a sum never appears as ``9505.0`` on one screen and ``9 505`` on
another. Babel knows each language's separators; the rouble sign always follows the sum
(Babel's English form would be ``RUB9,505.00``, which a dispatcher does not read as money).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from aiogram.utils.i18n import I18n
from babel.numbers import format_currency, format_decimal

DEFAULT_LOCALE = "ru"
NO_VALUE = "—"
_NBSP = "\u00a0"


def current_locale() -> str:
    """The locale of the update being handled (aiogram's i18n context), else Russian."""
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else DEFAULT_LOCALE


def as_amount(value: float | int | Decimal | str | None) -> Decimal | None:
    """A sum from a number or a vendor's text (``"99.00"``, ``"1 234,5"``); None if it is not
    one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace(_NBSP, "").replace(" ", "").replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    amount = Decimal(str(value))
    return amount if amount.is_finite() else None


def money(value: float | int | Decimal | str | None, locale: str | None = None) -> str:
    """``9505`` -> «9 505,00 ₽» (ru) / «9,505.00 ₽» (en); None -> «—». A text that is not a
    number is returned as it is (the caller escapes it)."""
    amount = as_amount(value)
    if amount is None:
        return NO_VALUE if value is None or isinstance(value, bool) else str(value)
    lang = (locale or current_locale()).split("_")[0]
    if lang == "ru":
        return format_currency(amount, "RUB", locale="ru")
    return format_decimal(amount, format="#,##0.00", locale=lang) + _NBSP + "₽"
