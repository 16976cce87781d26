"""Client links: /share, /shares, /unshare."""

from __future__ import annotations

import re
from typing import Final

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.texts import answer_lines, answer_usage
from handlers.movizor.parsing import (
    MAX_TITLE,
    answer_bad_phone,
    is_phoneish,
    leading_phone,
    typed_phone,
)
from handlers.movizor.render import render_share
from integrations.movizor.client import MovizorClient
from storage import Repos
from storage.users import User

SHARE_LINK_BASE: Final = "https://movizor.ru/share/"  # the document's link shape
SHARE_KEY_RE: Final = re.compile(r"^[\w-]{4,64}$")


def phones_and_client(tokens: list[str]) -> tuple[list[str], str, str | None]:
    """``<phone…> [client]``: (phones, client, bad phone text or None)."""
    phones: list[str] = []
    while tokens and (found := leading_phone(tokens)) is not None:
        phones.append(found[0])
        tokens = tokens[found[1] :]
    if tokens and is_phoneish(tokens[0]):
        return phones, "", typed_phone(tokens)
    return list(dict.fromkeys(phones)), " ".join(tokens), None


async def share(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos, user: User
) -> None:
    phones, client, bad = phones_and_client((command.args or "").split())
    if bad is not None:
        await answer_bad_phone(message, bad)
        return
    if not phones or len(client) > MAX_TITLE:
        await answer_usage(message, "share")
        return
    created = await movizor.share_add(phones, client=client or None)
    links = {link.key: link.link for link in await movizor.share_list()}
    link = links.get(created.key) or f"{SHARE_LINK_BASE}{created.key}"
    await repos.audit.record(user.id, "movizor.share", created.key, phones=phones, client=client)
    text = _("drivers.share.done_client") if client else _("drivers.share.done")
    await message.answer(
        text.format(
            client=html.quote(client),
            link=html.quote(link),
            count=created.objects_count if created.objects_count is not None else len(phones),
            key=html.quote(created.key),
        )
    )


async def shares(message: Message, movizor: MovizorClient) -> None:
    links = await movizor.share_list()
    if not links:
        await message.answer(_("drivers.shares.empty"))
        return
    lines = [_("drivers.shares.title").format(count=len(links))]
    lines += [render_share(link) for link in links]
    await answer_lines(message, lines)


async def unshare(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos, user: User
) -> None:
    key = (command.args or "").strip()
    if not SHARE_KEY_RE.match(key):
        await answer_usage(message, "unshare")
        return
    await movizor.share_delete(key)
    await repos.audit.record(user.id, "movizor.unshare", key)
    await message.answer(_("drivers.unshare.done").format(key=html.quote(key)))
