"""/find's choice buttons: callback data kept short (Telegram allows 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class FindCb(CallbackData, prefix="fnd"):
    """One reading of an ambiguous /find: ``k`` the kind (see handlers.find.recognise.Kind),
    ``v`` the normalised value. Both come back from the client, so a press checks them again."""

    k: str
    v: str
