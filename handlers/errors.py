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
from bot.phones import mask_phones
from bot.texts import error_html, visible_text
from integrations.errors import IntegrationError

log = logging.getLogger("bot.errors")


def context_of(update: Update) -> dict[str, Any]:
    """Where a failure happened, for the log line: ids, the command and the button, not what
    was typed after the command (phones, names, addresses; the whole text goes to DEBUG)."""
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = update_user(update)
    data = update.callback_query.data if update.callback_query else None
    return {
        "update_id": update.update_id,
        "user_id": user.id if user else None,
        "chat_id": message.chat.id if message else None,
        "text": command_of(update.message.text or "") if update.message else None,
        "callback_data": mask_phones(data) if data else None,
    }


def command_of(text: str) -> str:
    """``/locate`` of «/locate +7 912 345-67-89»; a typed answer is only counted."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first[:64] if first.startswith("/") else f"<{len(text)} chars>"


def update_user(update: Update) -> Any:
    return (update.message and update.message.from_user) or (
        update.callback_query and update.callback_query.from_user
    )


def record_failure(exc: BaseException, update: Update, metrics: Metrics) -> None:
    """Log a handler's failure with its context (an upstream error is a warning, a bug an error
    with its traceback, counted in the metrics)."""
    context = context_of(update)
    if update.message is not None and update.message.text:
        log.debug("update %s text: %s", update.update_id, update.message.text[:200])
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
