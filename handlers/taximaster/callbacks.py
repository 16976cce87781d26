"""Taxi-Master's buttons: callback data kept short (Telegram allows 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class TaxiCb(CallbackData, prefix="txw"):
    """/taxi wizard buttons. ``pick`` a found street or point and ``house`` a found house
    (``search`` ties the button to one search), ``nodest`` (no destination), ``now`` / ``in30``
    (the time), ``group`` (``index`` is the crew group id, 0 for any)."""

    action: str
    index: int = 0
    search: int = 0


class OrderCb(CallbackData, prefix="txo"):
    """An order's buttons: ``refresh`` (the card's «🔄 Обновить»), ``open`` (an order under
    /orders), ``watch`` (an admin's «👁 Следить здесь»)."""

    action: str
    order_id: int


class CrewMapCb(CallbackData, prefix="txc"):
    """/crews: a crew's position as a map point."""

    crew_id: int


class CrewsPageCb(CallbackData, prefix="txl"):
    """/crews: another page of the list."""

    page: int


class PendingCb(CallbackData, prefix="txp"):
    """The buttons under "is the order created?": ``check`` (look it up), ``self`` (the
    person checks), ``repeat`` (order again, after a warning). ``create`` names the row."""

    action: str
    create: str


class OrdersPageCb(CallbackData, prefix="txs"):
    """/orders: another page of the list."""

    page: int
