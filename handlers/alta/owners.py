"""Wagons and containers and the chats that own them (bot/ownership.py): numbers put on tracking
with /wagon add belong to that chat. Only a viewer who may see a number gets its card (/wagon,
/find), watches it or puts it on tracking anew from /wagon add, or takes it off tracking; when
someone takes a chat's numbers off tracking (or puts them on anew) from another chat, that chat
is told. A number the bot did not put on tracking belongs to nobody: anyone with the role sees
it (the Alta account is the company's own)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Final

from aiogram import html
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.ownership import Ownership, Sight, Viewer
from handlers.alta.lookup import number_subject
from handlers.alta.summary import numbers_text
from integrations.alta.numbers import NumberKind

log = logging.getLogger("handlers.alta")

SOURCE: Final = "alta"
ACTED: Final = "wagon.acted"  # bot/alerts/kinds.py
ALERT_LIMIT: Final = 200  # what a callback's alert shows
TOLD_NUMBERS: Final = 20


async def sights_of(
    viewer: Viewer, ownership: Ownership, numbers: Iterable[str]
) -> dict[str, Sight]:
    """Each number's sight, by number."""
    subjects = {number_subject(number): number for number in numbers}
    found = await ownership.sights(viewer, subjects)
    return {subjects[subject]: sight for subject, sight in found.items()}


async def hidden_of(viewer: Viewer, ownership: Ownership, numbers: Iterable[str]) -> list[str]:
    """Those of ``numbers`` that other chats own and this viewer may not see."""
    sights = await sights_of(viewer, ownership, numbers)
    return [number for number, sight in sights.items() if not sight.allowed]


def number_of(subject_key: str) -> str:
    """The number an owner's key names: keys are compared in lower case and without leading
    zeros (storage.subscriptions.filter_key); a wagon number has 8 digits."""
    number = subject_key.partition(":")[2].upper()
    return number.zfill(8) if number.isdigit() else number


async def hidden_requests(viewer: Viewer, ownership: Ownership) -> tuple[set[str], set[str]]:
    """(numbers, request hashes) of other chats this viewer may not see: the owned numbers it
    may not see, and the requests they are on (from the watcher's snapshots: no call)."""
    repos = ownership.repos
    owned = [
        number_of(owner.subject_key)
        for kind in NumberKind
        for owner in await repos.item_owners.of_type(kind.value)
    ]
    hidden = set(await hidden_of(viewer, ownership, owned))
    snapshots = await repos.snapshots.get(SOURCE, hidden) if hidden else {}
    hashes = {str(s.get("hash")) for s in snapshots.values() if s.get("hash")}
    return hidden, hashes


def not_yours_text(numbers: Collection[str]) -> str:
    return _("alta.not_yours").format(numbers=html.quote(numbers_text(list(numbers), 10)))


async def refuse(where: Message | CallbackQuery, numbers: Collection[str], viewer: Viewer) -> None:
    log.info(
        "numbers %s not shown to user %s in chat %s",
        list(numbers)[:5],
        viewer.user_id,
        viewer.chat_id,
        extra={"chat_id": viewer.chat_id},
    )
    text = not_yours_text(numbers)
    if isinstance(where, CallbackQuery):
        await where.answer(text[:ALERT_LIMIT], show_alert=True)
    else:
        await where.answer(text)


async def tell_owners(
    ownership: Ownership, viewer: Viewer, sights: dict[str, Sight], action: str
) -> None:
    """Each owning chat (other than the viewer's) hears once what ``viewer`` did to its
    numbers among ``sights``."""
    by_owner: dict[tuple[int, int], list[str]] = {}
    for number, sight in sights.items():
        if sight.owner is not None:
            by_owner.setdefault((sight.owner.chat_id, sight.owner.thread_id), []).append(number)
    for numbers in by_owner.values():
        more = f" +{len(numbers) - 1}" if len(numbers) > 1 else ""
        await ownership.tell_owner(
            viewer,
            sights[numbers[0]],
            kind=ACTED,
            source=SOURCE,
            title=numbers[0] + more,
            action=action,
            numbers=numbers_text(numbers, TOLD_NUMBERS),
        )
