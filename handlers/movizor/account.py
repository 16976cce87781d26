"""/events, /operator: what the Movizor account says; /balance: every service's balance."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import PoI18n
from bot.services import REGISTRY
from bot.texts import answer_lines, error_html
from handlers.movizor.parsing import only_phone
from handlers.movizor.render import (
    render_balance,
    render_event,
    render_operator,
)
from integrations.errors import IntegrationError
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import (
    MovizorInvalidArgument,
    MovizorTariffUnsupported,
)
from integrations.movizor.models import Event
from storage import Repos

log = logging.getLogger("handlers.balance")

EVENTS_SHOWN: Final = 20
EVENTS_SCANNED: Final = 500  # for /events <phone>: Movizor cannot filter by phone itself
MANUAL_TARIFF: Final = "0"  # "Вручную": pay per request; what /operator prices


async def events(
    message: Message,
    command: CommandObject,
    movizor: MovizorClient,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    phone = None
    if (command.args or "").strip():
        phone = await only_phone(message, command.args, "events")
        if phone is None:
            return
    found = await movizor.events(limit=EVENTS_SCANNED if phone else EVENTS_SHOWN)
    if phone is not None:
        found = [event for event in found if event.phone == phone]
    found = sorted(found[-EVENTS_SHOWN:], key=newest_first, reverse=True)
    if not found:
        await message.answer(_("drivers.events.empty"))
        return
    directory = await repos.drivers.many({event.phone for event in found if event.phone})
    lines = [_("drivers.events.title").format(count=len(found))]
    for event in found:
        known = directory.get(event.phone)
        lines.append(render_event(event, known.title if known else None, timezone))
    await answer_lines(message, lines)


def newest_first(event: Event) -> tuple[datetime, int]:
    """The sort key of /events: by when it happened, newest first (ids break ties: Movizor
    numbers events as it records them, which is not always the order they happened in)."""
    return (event.timestamp or datetime.min.replace(tzinfo=UTC), event.id)


async def operator(message: Message, command: CommandObject, movizor: MovizorClient) -> None:
    phone = await only_phone(message, command.args, "operator")
    if phone is None:
        return
    info = await movizor.get_operator(phone)
    try:
        price = await movizor.tariff_calculator(info.operator, MANUAL_TARIFF)
    except (MovizorTariffUnsupported, MovizorInvalidArgument):
        price = None
    await message.answer(render_operator(phone, info, _("drivers.operator.manual"), price))


async def movizor_balance(data: dict[str, Any]) -> list[str]:
    """Movizor's part of /balance (ServiceSpec.balance)."""
    movizor: MovizorClient = data["movizor"]
    return render_balance(await movizor.balance())


async def balance(message: Message, i18n: PoI18n, **data: Any) -> None:
    """Every configured service's balance, one block each (Movizor's, Alta's…); a service that
    fails says why in its place and the others are still shown."""
    blocks: list[list[str]] = []
    for spec in REGISTRY.values():
        if spec.balance is None or any(data.get(n) is None for n in spec.dependency_names):
            continue
        try:
            blocks.append(await spec.balance(data))
        except IntegrationError as exc:
            log.warning("balance of %s failed: %s", spec.name, exc)
            blocks.append(
                [
                    _("balance.failed").format(
                        name=html.quote(spec.title),
                        reason=error_html(exc, i18n.current_locale),
                    )
                ]
            )
    lines: list[str] = []
    for block in blocks:
        lines += [*([""] if lines else []), *block]
    await answer_lines(message, lines)
