"""The one error boundary: whatever a handler raises, the user gets a polite answer, the log
gets the context, and nothing leaks (no traceback, no raw upstream answer, no secret)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n, locale_for
from bot.metrics import Metrics
from integrations.errors import IntegrationError

log = logging.getLogger("bot.errors")


async def error_boundary(event: ErrorEvent, metrics: Metrics, i18n: PoI18n) -> bool:
    update = event.update
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = (update.message and update.message.from_user) or (
        update.callback_query and update.callback_query.from_user
    )
    context = {
        "update_id": update.update_id,
        "user_id": user.id if user else None,
        "chat_id": message.chat.id if message else None,
        "text": (update.message.text or "")[:100] if update.message else None,
        "callback_data": update.callback_query.data if update.callback_query else None,
    }
    exc = event.exception
    locale = locale_for(user.language_code if user else None, i18n.default_locale)
    if isinstance(exc, IntegrationError):
        log.warning("upstream error %s: %s", type(exc).__name__, exc, extra=context)
        text = exc.message_for(locale)
    else:
        metrics.handler_errors.inc()
        log.error("handler failed: %r", exc, exc_info=exc, extra=context)
        with i18n.context(), i18n.use_locale(locale):
            text = _("error.internal")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.message is not None:
            await update.message.answer(text)
    except TelegramAPIError as reply_error:
        log.warning("could not tell the user about the error: %s", reply_error, extra=context)
    return True


def make_router() -> Router:
    router = Router(name="errors")
    router.errors.register(error_boundary)
    return router
