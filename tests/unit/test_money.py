"""bot.money: one way to write roubles on every screen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.money import as_amount, money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "ru", "en"),
    [
        (9505, "9 505,00 ₽", "9,505.00 ₽"),
        (537.44, "537,44 ₽", "537.44 ₽"),
        ("99.00", "99,00 ₽", "99.00 ₽"),
        ("1 234,5", "1 234,50 ₽", "1,234.50 ₽"),
        (Decimal("-50"), "-50,00 ₽", "-50.00 ₽"),
        (0, "0,00 ₽", "0.00 ₽"),
    ],
)
def test_money_in_both_languages(value: object, ru: str, en: str) -> None:
    assert money(value, "ru").replace(NBSP, " ") == ru  # type: ignore[arg-type]
    assert money(value, "en").replace(NBSP, " ") == en  # type: ignore[arg-type]


def test_a_sum_never_breaks_across_lines() -> None:
    assert " " not in money(9505, "ru") and NBSP in money(9505, "ru")


def test_no_value_and_text_that_is_not_money() -> None:
    assert money(None, "ru") == "—"
    assert money("по счётчику", "ru") == "по счётчику"
    assert as_amount("nan") is None and as_amount(True) is None


def test_outside_a_handler_the_default_is_russian() -> None:
    assert money(1500).replace(NBSP, " ") == "1 500,00 ₽"
