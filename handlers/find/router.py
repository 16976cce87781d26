"""/find <anything>: a phone (Movizor driver), a wagon or container (Alta), a task number
(Mobiforce), an order id (Taxi-Master) -> that card; several readings -> buttons to choose;
none -> what was tried and what may be typed. A service that is not configured is skipped."""

from __future__ import annotations

import logging
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.access import answer_integration_off
from bot.i18n import PoI18n
from bot.ownership import Ownership, Viewer
from bot.phones import format_phone
from bot.policy import rule
from bot.texts import answer_usage, clip
from handlers.alta.lookup import AltaLookup
from handlers.find.callbacks import FindCb
from handlers.find.recognise import SERVICE_OF, Candidate, Kind, Shapes, read_shapes, still_valid
from handlers.find.search import Finders, Found, Seer, known_task_numbers, search, show_card
from handlers.mobiforce.directory import MobiforceDirectory
from integrations.alta.errors import number_problem_message
from integrations.mobiforce.client import MobiforceClient
from integrations.movizor.client import MovizorClient
from integrations.taximaster.client import TaxiMasterClient
from storage import Repos
from storage.users import User

log = logging.getLogger(__name__)

MAX_QUERY: Final = 64  # longer than any phone, number or id: not worth a lookup
QUOTED: Final = 40
CALLBACK_LIMIT: Final = 64


def finders_of(
    movizor: MovizorClient | None,
    alta_lookup: AltaLookup | None,
    mobiforce: MobiforceClient | None,
    mobiforce_directory: MobiforceDirectory | None,
    taximaster: TaxiMasterClient | None,
) -> Finders:
    return Finders(movizor, alta_lookup, mobiforce, mobiforce_directory, taximaster)


async def find(
    message: Message,
    command: CommandObject,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    i18n: PoI18n,
    movizor: MovizorClient | None = None,
    alta_lookup: AltaLookup | None = None,
    mobiforce: MobiforceClient | None = None,
    mobiforce_directory: MobiforceDirectory | None = None,
    taximaster: TaxiMasterClient | None = None,
) -> None:
    text = (command.args or "").strip()
    if not text:
        await answer_usage(message, "find")
        return
    finders = finders_of(movizor, alta_lookup, mobiforce, mobiforce_directory, taximaster)
    if not finders.configured():
        await message.answer(_("find.nothing_configured"))
        return
    seer = Seer(viewer, ownership)
    shapes = read_shapes(text) if len(text) <= MAX_QUERY else Shapes(text=text)
    found = await search(shapes, finders, seer) if len(text) <= MAX_QUERY else Found()
    log.info(
        "/find %r: %s",
        text[:QUOTED],
        [f"{c.kind.name}:{c.value}" for c in found.candidates] or "nothing",
        extra={"chat_id": message.chat.id},
    )
    if len(found.candidates) == 1:
        await show_card(message, found.candidates[0], finders, repos, seer, timezone)
    elif found.candidates:
        await answer_choice(message, text, found.candidates, repos)
    else:
        await message.answer(nothing_found(shapes, finders, found, i18n.current_locale))


# --- several readings: buttons ------------------------------------------------------------------
async def label_of(candidate: Candidate, repos: Repos) -> str:
    kind, value = candidate.kind, candidate.value
    if kind is Kind.DRIVER:
        driver = await repos.drivers.get(value)
        who = f"{driver.title} · {format_phone(value)}" if driver else format_phone(value)
        return _("find.btn.driver").format(driver=who)
    if kind is Kind.WAGON:
        key = "find.btn.container" if value[:1].isalpha() else "find.btn.wagon"
        return _(key).format(number=value)
    if kind is Kind.TASK:
        return _("find.btn.task").format(number=value)
    return _("find.btn.order").format(order_id=value)


async def answer_choice(
    message: Message, text: str, candidates: list[Candidate], repos: Repos
) -> None:
    keyboard = InlineKeyboardBuilder()
    for candidate in candidates:
        data = FindCb(k=candidate.kind.value, v=candidate.value)
        if len(data.pack().encode()) > CALLBACK_LIMIT:  # a task number too long for a button
            log.info("/find: no button for %s (too long)", candidate)
            continue
        keyboard.button(text=(await label_of(candidate, repos))[:64], callback_data=data)
    keyboard.adjust(1)
    await message.answer(
        _("find.pick").format(query=html.quote(clip(text, QUOTED))),
        reply_markup=keyboard.as_markup(),
    )


async def choice_pressed(
    callback: CallbackQuery,
    callback_data: FindCb,
    repos: Repos,
    user: User,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    movizor: MovizorClient | None = None,
    alta_lookup: AltaLookup | None = None,
    mobiforce: MobiforceClient | None = None,
    mobiforce_directory: MobiforceDirectory | None = None,
    taximaster: TaxiMasterClient | None = None,
) -> None:
    """The chosen card, for whoever pressed (in a group too) and may see it now. The button's
    data is checked again like typed text: it comes from the client, the service may be off
    by now, and who may see the item is the card's own check (bot/ownership.py)."""
    finders = finders_of(movizor, alta_lookup, mobiforce, mobiforce_directory, taximaster)
    try:
        kind = Kind(callback_data.k)
    except ValueError:
        kind = None
    value = still_valid(kind, callback_data.v) if kind is not None else None
    if kind is not None and value is not None and not finders.has(kind):
        await answer_integration_off(callback, SERVICE_OF[kind])
        return
    if kind is Kind.TASK and value is not None:
        assert mobiforce_directory is not None
        value = next(iter(await known_task_numbers(mobiforce_directory, value)), None)
    if kind is None or value is None or not isinstance(callback.message, Message):
        log.warning("a /find button carried %r", callback_data.pack(), extra={"user_id": user.id})
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    await callback.answer()
    seer = Seer(viewer, ownership)
    await show_card(callback.message, Candidate(kind, value), finders, repos, seer, timezone)


# --- nothing found ------------------------------------------------------------------------------
def tried_line(kind: Kind, shapes: Shapes, found: Found) -> str:
    if kind is Kind.DRIVER:
        return _("find.tried.driver")
    if kind is Kind.WAGON:
        return _("find.tried.wagon_bad" if shapes.problem else "find.tried.wagon")
    if kind is Kind.TASK:
        return _("find.tried.task")
    if shapes.order_id is None:
        return _("find.tried.order_shape")
    return _("find.tried.order").format(order_id=shapes.order_id)


def nothing_found(shapes: Shapes, finders: Finders, found: Found, locale: str) -> str:
    """What was tried, in which services, and the forms each accepts (no call was made for a
    number with a wrong check digit: it is explained as /wagon add explains it)."""
    configured = finders.configured()
    lines: list[str] = []
    if shapes.problem is not None and Kind.WAGON in configured:
        lines.append(
            _("find.bad_number").format(
                problem=html.quote(number_problem_message(shapes.problem, locale))
            )
        )
    lines.append(_("find.not_found").format(query=html.quote(clip(shapes.text, QUOTED))))
    lines.extend(f"• {tried_line(kind, shapes, found)}" for kind in configured)
    lines.extend(
        _(f"find.hidden.{'task' if c.kind is Kind.TASK else 'wagon'}").format(
            number=html.quote(c.value)
        )
        for c in found.hidden
    )
    skipped = [kind for kind in Kind if kind not in configured]
    if skipped:
        names = ", ".join(dict.fromkeys(_(f"find.service.{SERVICE_OF[k]}") for k in skipped))
        lines.append(_("find.skipped").format(services=names))
    forms = "; ".join(_(f"find.form.{SERVICE_OF[kind]}") for kind in configured)
    lines.append(_("find.forms").format(forms=forms))
    return "\n".join(lines)


def make_router() -> Router:
    router = Router(name="find")
    router.message.register(find, Command("find"), flags=rule("find"))
    router.callback_query.register(choice_pressed, FindCb.filter(), flags=rule("button.find"))
    return router
