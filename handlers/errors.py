"""The one error boundary: whatever a handler raises, the user gets a polite answer, the log
gets the context, and nothing leaks (no traceback, no raw upstream answer, no secret).

A vendor's own words may be part of the answer (Alta's or Mobiforce's description of an error):
:func:`failure_html` escapes them here, once, for every HTML reply.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router, html
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import ErrorEvent, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n, locale_for
from bot.metrics import Metrics
from bot.texts import error_html, visible_text
from integrations.errors import IntegrationError

log = logging.getLogger("bot.errors")


def context_of(update: Update) -> dict[str, Any]:
    """Where a failure happened, for the log line."""
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = update_user(update)
    return {
        "update_id": update.update_id,
        "user_id": user.id if user else None,
        "chat_id": message.chat.id if message else None,
        "text": (update.message.text or "")[:100] if update.message else None,
        "callback_data": update.callback_query.data if update.callback_query else None,
    }


def update_user(update: Update) -> Any:
    return (update.message and update.message.from_user) or (
        update.callback_query and update.callback_query.from_user
    )


def record_failure(exc: BaseException, update: Update, metrics: Metrics) -> None:
    """Log a handler's failure with its context (an upstream error is a warning, a bug an error
    with its traceback, counted in the metrics)."""
    context = context_of(update)
    if isinstance(exc, IntegrationError):
        log.warning("upstream error %s: %s", type(exc).__name__, exc, extra=context)
    else:
        metrics.handler_errors.inc()
        log.error("handler failed: %r", exc, exc_info=exc, extra=context)


def failure_html(exc: BaseException, locale: str, i18n: PoI18n) -> str:
    """What the user is told, as Telegram HTML: an upstream error's sentence (vendor words
    escaped), else the polite "something went wrong"."""
    if isinstance(exc, IntegrationError):
        return error_html(exc, locale)
    with i18n.context(), i18n.use_locale(locale):
        return html.quote(_("error.internal"))


async def error_boundary(event: ErrorEvent, metrics: Metrics, i18n: PoI18n) -> bool:
    update, exc = event.update, event.exception
    record_failure(exc, update, metrics)
    user = update_user(update)
    locale = locale_for(user.language_code if user else None, i18n.default_locale)
    text = failure_html(exc, locale, i18n)
    context = context_of(update)
    try:
        await tell(update, text)
    except TelegramAPIError as reply_error:
        log.warning("could not tell the user about the error: %s", reply_error, extra=context)
    return True


async def tell(update: Update, text: str) -> None:
    """The error as a popup on the pressed button (plain text), or a reply. A press already
    answered, or older than Telegram keeps it (about 15 s), cannot take a popup: the chat gets
    a message instead."""
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(visible_text(text)[:200], show_alert=True)
            return
        except TelegramBadRequest:
            if not isinstance(query.message, Message):
                raise
            await query.message.answer(text)
            return
    if update.message is not None:
        await update.message.answer(text)


def make_router() -> Router:
    router = Router(name="errors")
    router.errors.register(error_boundary)
    return router
