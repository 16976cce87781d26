"""Alta's buttons: callback data kept short (Telegram allows 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AltaAddCb(CallbackData, prefix="alw"):
    """A setting of a /wagon add summary changed before «✅ Поставить»: ``what`` is one of
    region, mode, times, days, stop; ``token`` is the summary's confirmation."""

    token: str
    what: str


class WagonsPageCb(CallbackData, prefix="alp"):
    page: int
