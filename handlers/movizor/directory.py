"""The bot's drivers directory: titles learnt from Movizor, so answers and alerts name drivers."""

from __future__ import annotations

import logging

from bot.phones import mask_phone
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import MovizorError
from storage import Repos

log = logging.getLogger(__name__)


async def learn_title(phone: str, movizor: MovizorClient, repos: Repos) -> str | None:
    """The driver's title: from the directory, else from Movizor (then remembered)."""
    known = await repos.drivers.get(phone)
    if known is not None and known.title:
        return known.title
    info = await movizor.object_get(phone)
    if info.title:
        await repos.drivers.upsert(phone, info.title, known.tags if known else ())
    return info.title or None


async def try_learn_title(phone: str, movizor: MovizorClient, repos: Repos) -> str | None:
    """:func:`learn_title` for lists: one failing lookup must not fail the whole list."""
    try:
        return await learn_title(phone, movizor, repos)
    except MovizorError as exc:
        log.info("no title for %s: %s", mask_phone(phone), exc)
        return None
