"""Finding what a /find text names, and showing it with its service's own card.

Each service is asked only in the way it can answer cheaply: a phone or a wagon number by its
shape alone, a task number in the bot's Mobiforce directory (no call), an order id among the
orders the bot knows (made or watched by a chat: no call — Taxi-Master is never asked about an
id the bot does not know). Only what the viewer may see is offered (bot/ownership.py); another
chat's task or wagon is named as such, another chat's order not at all.
The cards are the services' own (/locate, /wagon, /task, /order), checked again when shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from aiogram.types import Message

from bot.ownership import Ownership, Viewer
from handlers.alta.commands import show_wagon
from handlers.alta.lookup import AltaLookup, number_subject
from handlers.find.recognise import Candidate, Kind, Shapes
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.owners import task_subject
from handlers.mobiforce.tasks import find_task, send_card
from handlers.movizor.locate import send_position
from handlers.taximaster.orders import show_order, subject_key
from integrations.mobiforce.client import MobiforceClient
from integrations.movizor.client import MovizorClient
from integrations.taximaster.client import TaxiMasterClient
from storage import Repos

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finders:
    """The services' handles /find uses; None while a service is not configured."""

    movizor: MovizorClient | None = None
    alta_lookup: AltaLookup | None = None
    mobiforce: MobiforceClient | None = None
    mobiforce_directory: MobiforceDirectory | None = None
    taximaster: TaxiMasterClient | None = None

    def has(self, kind: Kind) -> bool:
        return {
            Kind.DRIVER: self.movizor is not None,
            Kind.WAGON: self.alta_lookup is not None,
            Kind.TASK: self.mobiforce is not None and self.mobiforce_directory is not None,
            Kind.ORDER: self.taximaster is not None,
        }[kind]

    def configured(self) -> list[Kind]:
        return [kind for kind in Kind if self.has(kind)]


@dataclass
class Found:
    candidates: list[Candidate] = field(default_factory=list)
    hidden: list[Candidate] = field(default_factory=list)  # other chats' tasks and wagons


@dataclass(frozen=True)
class Seer:
    """Who looks, and the rule that says what they may see."""

    viewer: Viewer
    ownership: Ownership

    async def allowed(
        self, subjects: dict[str, Candidate]
    ) -> tuple[list[Candidate], list[Candidate]]:
        """(the candidates the viewer may see, the others), in the given order."""
        sights = await self.ownership.sights(self.viewer, subjects)
        seen = [c for s, c in subjects.items() if sights[s].allowed]
        return seen, [c for s, c in subjects.items() if not sights[s].allowed]


async def known_task_numbers(directory: MobiforceDirectory, text: str) -> list[str]:
    """Task numbers the bot's directory knows for ``text`` («23» is №000023)."""
    return sorted({entry.name for entry in await directory.numbered(text)})


async def search(shapes: Shapes, finders: Finders, seer: Seer) -> Found:
    found = Found()
    if shapes.phone and finders.movizor is not None:
        found.candidates.append(Candidate(Kind.DRIVER, shapes.phone))
    items: dict[str, Candidate] = {}
    if shapes.number and finders.alta_lookup is not None:
        items[number_subject(shapes.number)] = Candidate(Kind.WAGON, shapes.number)
    if finders.mobiforce_directory is not None and finders.mobiforce is not None:
        for number in await known_task_numbers(finders.mobiforce_directory, shapes.text):
            items[task_subject(number)] = Candidate(Kind.TASK, number)
    seen, found.hidden = await seer.allowed(items)
    found.candidates += seen
    if shapes.order_id is not None and finders.taximaster is not None:
        sight = await seer.ownership.sight(seer.viewer, subject_key(shapes.order_id))
        if sight.known and sight.allowed:  # an order the bot knows, and the viewer may see
            found.candidates.append(Candidate(Kind.ORDER, str(shapes.order_id)))
    return found


async def show_card(
    message: Message,
    candidate: Candidate,
    finders: Finders,
    repos: Repos,
    seer: Seer,
    tz: ZoneInfo,
) -> None:
    """The candidate's card in ``message``'s chat, as its own command shows it (and checks
    it). The service must be configured (the caller checked :meth:`Finders.has`)."""
    kind, value = candidate.kind, candidate.value
    viewer, ownership = seer.viewer, seer.ownership
    if kind is Kind.DRIVER:
        assert finders.movizor is not None
        await send_position(message, value, finders.movizor, repos, tz)
    elif kind is Kind.WAGON:
        assert finders.alta_lookup is not None
        await show_wagon(message, value, viewer, ownership, finders.alta_lookup, tz)
    elif kind is Kind.TASK:
        assert finders.mobiforce is not None and finders.mobiforce_directory is not None
        task = await find_task(
            message,
            value,
            finders.mobiforce,
            finders.mobiforce_directory,
            repos,
            viewer,
            ownership,
        )
        if task is not None:
            await send_card(message, task, repos, tz, finders.movizor)
    else:
        assert finders.taximaster is not None
        await show_order(message, int(value), viewer, ownership, finders.taximaster, repos, tz)
