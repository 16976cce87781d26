"""`logibot check`: is each configured part reachable, and does it accept our credentials?"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiohttp import ClientError

import handlers  # noqa: F401  (registers the services)
from bot.config import Settings
from bot.services import REGISTRY
from integrations.errors import IntegrationError
from storage.db import Database
from storage.migrate import current_revision


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    skipped: bool = False


async def check_database(settings: Settings) -> CheckResult:
    db = Database(settings.database)
    try:
        await db.open()
        revision = await current_revision(db)
    except Exception as exc:
        return CheckResult("database", False, f"{db.shown_url}: {type(exc).__name__}: {exc}")
    finally:
        await db.close()
    return CheckResult("database", True, f"{db.shown_url}, schema revision {revision}")


async def check_telegram(settings: Settings) -> CheckResult:
    if settings.bot_token is None:
        return CheckResult("telegram", False, "BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(settings.bot_token.get_secret_value(), session=session)
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        return CheckResult("telegram", False, "the token was rejected (Unauthorized)")
    except (TelegramAPIError, ClientError, TimeoutError) as exc:
        return CheckResult("telegram", False, f"{settings.telegram_api_url}: {type(exc).__name__}")
    finally:
        await session.close()
    return CheckResult("telegram", True, f"@{me.username} via {settings.telegram_api_url}")


async def run_checks(settings: Settings) -> list[CheckResult]:
    results = [await check_database(settings), await check_telegram(settings)]
    for name, spec in REGISTRY.items():
        if not spec.configured(settings):
            results.append(CheckResult(name, False, "not configured (off)", skipped=True))
            continue
        try:
            results.append(CheckResult(name, True, await spec.check(settings)))
        except IntegrationError as exc:
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc.user_message}"))
    # Integrations with settings whose service is not built yet.
    for name, enabled in settings.enabled_integrations().items():
        if name not in REGISTRY:
            detail = "configured, but not supported yet" if enabled else "not configured (off)"
            results.append(CheckResult(name, False, detail, skipped=True))
    return results
