"""`logibot check`: is each configured part reachable, and does it accept our credentials?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiohttp import ClientError

from bot.config import Settings
from integrations.errors import IntegrationError
from integrations.movizor.client import MovizorClient
from storage.db import Database


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    skipped: bool = False


Check = Callable[[Settings], Awaitable[CheckResult]]


async def check_movizor(settings: Settings) -> CheckResult:
    """`balance` is the cheapest call that proves both the address and the key."""
    assert settings.movizor_project and settings.movizor_key
    client = MovizorClient(
        settings.movizor_base_url,
        settings.movizor_project,
        settings.movizor_key.get_secret_value(),
        retries=0,
    )
    try:
        balance = await client.balance()
    except IntegrationError as exc:
        return CheckResult("movizor", False, f"{type(exc).__name__}: {exc.user_message}")
    finally:
        await client.aclose()
    return CheckResult("movizor", True, f"balance {balance.balance:.2f} ₽")


# One check per integration with a client (integration name -> check).
INTEGRATION_CHECKS: dict[str, Check] = {"movizor": check_movizor}


async def check_database(settings: Settings) -> CheckResult:
    db = Database(settings.database_path)
    try:
        await db.open()
        version = await db.schema_version()
    except Exception as exc:
        return CheckResult("database", False, f"{settings.database_path}: {exc}")
    finally:
        await db.close()
    return CheckResult("database", True, f"{settings.database_path}, schema version {version}")


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
    for name, enabled in settings.enabled_integrations().items():
        check = INTEGRATION_CHECKS.get(name)
        if not enabled:
            results.append(CheckResult(name, False, "not configured (off)", skipped=True))
        elif check is None:
            results.append(
                CheckResult(name, False, "configured, but not supported yet", skipped=True)
            )
        else:
            results.append(await check(settings))
    return results
