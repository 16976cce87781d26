"""Movizor's buttons: callback data kept short (Telegram allows 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LocateCb(CallbackData, prefix="mzl"):
    """The driver card's buttons: ``show`` a picked driver, ``refresh`` the position."""

    action: str
    phone: str


class DriversPageCb(CallbackData, prefix="mzp"):
    page: int
    tag: str = ""


class TrackCb(CallbackData, prefix="mzt"):
    """Wizard buttons: ``pick`` a found place (``search`` ties it to one search), ``done``
    with the points, ``nodate`` / ``notags`` to skip those optional steps (one action per
    step, so a stale button cannot skip a later step)."""

    action: str
    index: int = 0
    search: int = 0
