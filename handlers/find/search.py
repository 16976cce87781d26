"""Finding what a /find text names, and showing it with its service's own card.

Each service is asked only in the way it can answer cheaply: a phone or a wagon number by its
shape alone, a task number in the bot's Mobiforce directory (no call), an order id with one
``get_order_state`` (Taxi-Master's own server, free) unless the bot already watches that order.
The cards are the services' own renderers (/locate, /wagon, /task, /order), not copies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from aiogram.types import Message

from handlers.alta.card import wagon_card
from handlers.alta.lookup import AltaLookup
from handlers.find.recognise import SERVICE_OF, Candidate, Kind, Shapes
from handlers.mobiforce.directory import MobiforceDirectory
from handlers.mobiforce.tasks import find_task, send_card
from handlers.movizor.locate import send_position
from handlers.taximaster.orders import send_order_card
from integrations.mobiforce.client import MobiforceClient
from integrations.movizor.client import MovizorClient
from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.errors import TaxiMasterError, TaxiMasterNotFound
from integrations.taximaster.watcher import SOURCE as TAXIMASTER_SOURCE
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
    unavailable: list[str] = field(default_factory=list)  # services that failed to answer


async def known_task_numbers(directory: MobiforceDirectory, text: str) -> list[str]:
    """Task numbers the bot's directory knows for ``text`` («23» is №000023)."""
    return sorted({entry.name for entry in await directory.numbered(text)})


async def order_exists(taximaster: TaxiMasterClient, repos: Repos, order_id: int) -> bool:
    """An order the bot watches, else one get_order_state. Raises other TaxiMasterErrors."""
    if (await repos.snapshots.get(TAXIMASTER_SOURCE, [str(order_id)])).get(str(order_id)):
        return True
    try:
        await taximaster.get_order_state(order_id)
    except TaxiMasterNotFound:
        return False
    return True


async def search(shapes: Shapes, finders: Finders, repos: Repos) -> Found:
    found = Found()
    if shapes.phone and finders.movizor is not None:
        found.candidates.append(Candidate(Kind.DRIVER, shapes.phone))
    if shapes.number and finders.alta_lookup is not None:
        found.candidates.append(Candidate(Kind.WAGON, shapes.number))
    if finders.mobiforce_directory is not None and finders.mobiforce is not None:
        for number in await known_task_numbers(finders.mobiforce_directory, shapes.text):
            found.candidates.append(Candidate(Kind.TASK, number))
    if shapes.order_id is not None and finders.taximaster is not None:
        try:
            if await order_exists(finders.taximaster, repos, shapes.order_id):
                found.candidates.append(Candidate(Kind.ORDER, str(shapes.order_id)))
        except TaxiMasterError as exc:
            log.warning("/find: Taxi-Master did not answer for %s: %s", shapes.order_id, exc)
            found.unavailable.append(SERVICE_OF[Kind.ORDER])
    return found


async def show_card(
    message: Message,
    candidate: Candidate,
    finders: Finders,
    repos: Repos,
    user_id: int,
    tz: ZoneInfo,
) -> None:
    """The candidate's card in ``message``'s chat, as its own command shows it. The service
    must be configured (the caller checked :meth:`Finders.has`)."""
    kind, value = candidate.kind, candidate.value
    if kind is Kind.DRIVER:
        assert finders.movizor is not None
        await send_position(message, value, finders.movizor, repos, tz)
    elif kind is Kind.WAGON:
        assert finders.alta_lookup is not None
        await message.answer(await wagon_card(value, finders.alta_lookup, tz))
    elif kind is Kind.TASK:
        assert finders.mobiforce is not None and finders.mobiforce_directory is not None
        task = await find_task(
            message, value, finders.mobiforce, finders.mobiforce_directory, repos
        )
        if task is not None:
            await send_card(message, task, repos, tz, finders.movizor)
    else:
        assert finders.taximaster is not None
        await send_order_card(message, int(value), finders.taximaster, repos, user_id, tz)
