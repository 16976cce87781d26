"""How updates come in: long polling (the leader only) or a webhook (every replica).

Telegram gives one long-polling consumer per token (a second ``getUpdates`` gets 409
Conflict), so in polling mode only the leader polls. With ``WEBHOOK_URL`` Telegram POSTs each
update to that address instead; behind a load balancer every replica serves them, on
``HTTP_PORT`` beside /healthz, at the URL's path, refusing a request without
``WEBHOOK_SECRET`` in ``X-Telegram-Bot-Api-Secret-Token`` (aiogram's own handler checks it).

An update is answered once its handler has finished (not at once, in the background): Telegram
sends a chat's next update only after that answer, so one chat's updates are never handled by
two replicas at the same time, and an update whose replica died before answering is sent again
(to another replica). Every replica calls ``setWebhook`` at start (the same URL: idempotent); a
leader in polling mode calls ``deleteWebhook`` when one is still set (switching back).
"""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)


def serve_webhook(app: web.Application, dp: Dispatcher, bot: Bot, settings: Settings) -> None:
    """Route the webhook's POSTs on ``app`` (the /healthz server) to the dispatcher."""
    assert settings.webhook_secret is not None
    handler = SimpleRequestHandler(
        dp,
        bot,
        handle_in_background=False,
        secret_token=settings.webhook_secret.get_secret_value(),
    )
    # Not handler.register(): that would also close the bot's session when the server stops,
    # and the app closes it itself, after the handlers in flight are done.
    app.router.add_post(settings.webhook_path, handler.handle)


async def set_webhook(bot: Bot, settings: Settings, allowed_updates: list[str]) -> None:
    """Tell Telegram where to POST (every replica at start; the same URL each time)."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    try:
        await bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=allowed_updates,
        )
    except TelegramBadRequest as exc:
        raise ConfigError([f"WEBHOOK_URL: Telegram refused it ({exc.message})"]) from exc
    log.info("webhook mode: Telegram posts updates to %s", settings.webhook_url)


async def leave_webhook_mode(bot: Bot) -> None:
    """Polling needs no webhook set (getUpdates answers 409 while one is): remove one left
    from webhook mode, keeping the updates Telegram still holds."""
    info = await bot.get_webhook_info()
    if info.url:
        log.info("polling mode: removing the webhook %s left from webhook mode", info.url)
        await bot.delete_webhook(drop_pending_updates=False)
