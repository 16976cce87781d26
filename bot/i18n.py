"""Texts in ru (default) and en, through aiogram's gettext-based i18n.

Texts live in ``bot/locales/<lang>/LC_MESSAGES/logibot.po`` keyed by a short id
(``help.title``); a service keeps its own texts beside its handlers, in
``handlers/<service>/locales/<lang>.po``, merged into the same catalogue (an id defined twice is
an error). The .po files are compiled in memory with Babel at start, so there is no build step
and no binary file in the repository.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.types import Chat, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
SERVICE_LOCALES = Path(__file__).parent.parent / "handlers"
DOMAIN = "logibot"
SUPPORTED = ("ru", "en")
# Telegram language codes that read Russian comfortably get Russian; the rest English.
RUSSIAN_READERS = frozenset({"ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az"})


class PoI18n(I18n):
    """aiogram's I18n, reading .po files directly instead of compiled .mo files."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for po_path in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po")):
            locale = po_path.parent.parent.name
            with po_path.open("rb") as fp:
                catalog = read_po(fp, locale=locale)
            for service_po in sorted(SERVICE_LOCALES.glob(f"*/locales/{locale}.po")):
                with service_po.open("rb") as fp:
                    for message in read_po(fp, locale=locale):
                        if not message.id:
                            continue
                        if message.id in catalog:
                            raise ValueError(f"{service_po}: {message.id!r} is defined twice")
                        catalog[message.id] = message
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            translations[locale] = gettext.GNUTranslations(buffer)
        return translations

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram keeps one context variable per class; gettext() reads I18n's, not ours.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def keys(self, locale: str) -> set[str]:
        catalog = self.locales[locale]
        return {k for k in catalog._catalog if isinstance(k, str) and k}  # type: ignore[attr-defined]


def build_i18n(default_locale: str) -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def locale_for(language_code: str | None, default: str) -> str:
    """Pick ru or en from a Telegram ``language_code`` (``en-US`` -> en), else the default."""
    if not language_code:
        return default
    base = language_code.split("-")[0].lower()
    if base == "en":
        return "en"
    if base in RUSSIAN_READERS:
        return "ru"
    return default


# The language a chat (topic) chose in its settings, or None for each person's own.
ChatLanguage = Callable[[int, int], Awaitable[str | None]]


class LocaleMiddleware(I18nMiddleware):
    """The chat's chosen language (its /settings), else the user's Telegram language, else
    ``BOT_LANGUAGE``."""

    def __init__(self, i18n: I18n, chat_language: ChatLanguage | None = None) -> None:
        super().__init__(i18n)
        self.chat_language = chat_language

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and self.chat_language is not None:
            chosen = await self.chat_language(chat.id, data.get("event_thread_id") or 0)
            if chosen in SUPPORTED:
                return chosen
        user: User | None = data.get("event_from_user")
        return locale_for(user.language_code if user else None, self.i18n.default_locale)
