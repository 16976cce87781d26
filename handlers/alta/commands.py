"""/wagon <number | hash> (the card), /wagon cancel (asks, then cancel_track) and /wagons
(everything on tracking, 10 requests a page) — each for the numbers this viewer may see
(handlers/alta/owners.py): another chat's numbers are neither shown nor taken off tracking."""

from __future__ import annotations

import logging
import math
from typing import Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import ask_to_confirm, on_confirm
from bot.history.recorder import ActionRecorder
from bot.i18n import PoI18n
from bot.ownership import Ownership, Viewer
from bot.texts import answer_lines, answer_usage, error_html
from handlers.alta.adds import without_marker
from handlers.alta.callbacks import WagonsPageCb
from handlers.alta.card import request_cards, wagon_card
from handlers.alta.lookup import AltaLookup, number_subject
from handlers.alta.owners import (
    hidden_of,
    hidden_requests,
    not_yours_text,
    refuse,
    sights_of,
    tell_owners,
)
from handlers.alta.parsing import Target, parse_target
from handlers.alta.summary import numbers_text
from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaError
from integrations.alta.models import TrackMode, format_moscow
from storage import Repos
from storage.confirmations import Confirmation
from storage.users import User

log = logging.getLogger("handlers.alta")

PAGE_SIZE: Final = 10
CARDS_PER_REQUEST: Final = 10
LISTED_NUMBERS: Final = 20  # per request on a /wagons page: ten requests stay one message


async def target_of(message: Message, text: str, command: str, i18n: PoI18n) -> Target | None:
    """The number or hash typed, or None after saying what is wrong (no call made)."""
    if not text.strip():
        await answer_usage(message, "wagon")
        return None
    parsed = parse_target(text, i18n.current_locale)
    if isinstance(parsed, str):
        log.info("wagon %s refused: %s", command, parsed, extra={"chat_id": message.chat.id})
        await message.answer(_("alta.bad_target").format(problem=html.quote(parsed)))
        return None
    return parsed


async def wagon(
    message: Message,
    command: CommandObject,
    alta_lookup: AltaLookup,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
    i18n: PoI18n,
) -> None:
    target = await target_of(message, command.args or "", "card", i18n)
    if target is None:
        return
    if target.request_hash:
        numbers = await request_numbers(target.request_hash, alta_lookup)
        hidden = await hidden_of(viewer, ownership, numbers)
        if hidden and len(hidden) == len(numbers):
            await refuse(message, hidden, viewer)
            return
        cards = await request_cards(
            target.request_hash, alta_lookup, timezone, CARDS_PER_REQUEST, hidden=set(hidden)
        )
        await answer_lines(message, "\n\n".join(cards).split("\n"))
        return
    await show_wagon(message, target.number, viewer, ownership, alta_lookup, timezone)


async def show_wagon(
    message: Message,
    number: str,
    viewer: Viewer,
    ownership: Ownership,
    lookup: AltaLookup,
    tz: ZoneInfo,
) -> None:
    """A number's card for a viewer who may see it (/wagon, /find)."""
    hidden = await hidden_of(viewer, ownership, [number])
    if hidden:
        await refuse(message, hidden, viewer)
        return
    await message.answer(await wagon_card(number, lookup, tz))


async def request_numbers(request_hash: str, lookup: AltaLookup) -> list[str]:
    """The numbers of a request: as the bot last listed them, else carr_list."""
    known = lookup.numbers_of.get(request_hash)
    if known is not None:
        return known
    numbers = await lookup.client.carr_list(request_hash)  # also proves the request exists
    lookup.learn(request_hash, numbers)
    return numbers


# --- /wagon cancel ---------------------------------------------------------------------------


async def wagon_cancel(
    message: Message,
    command: CommandObject,
    alta: AltaClient,
    alta_lookup: AltaLookup,
    repos: Repos,
    user: User,
    viewer: Viewer,
    ownership: Ownership,
    i18n: PoI18n,
) -> None:
    text = (command.args or "").strip()[len("cancel") :]
    target = await target_of(message, text, "cancel", i18n)
    if target is None:
        return
    if target.number:
        hidden = await hidden_of(viewer, ownership, [target.number])
        if hidden:
            await refuse(message, hidden, viewer)
            return
        request_hash = await alta_lookup.find_hash(target.number)
        if request_hash is None:
            await message.answer(_("alta.card.unknown").format(number=html.quote(target.number)))
            return
        snapshot = await alta_lookup.snapshot(target.number) or {}
        if snapshot.get("ended") and snapshot.get("hash") == request_hash:
            await message.answer(_("alta.cancel.already").format(number=target.number))
            return
        question = _("alta.cancel.confirm_number").format(
            number=target.number, hash=html.quote(request_hash)
        )
        payload = {"hash": request_hash, "numbers": [target.number]}
    else:
        request_hash = target.request_hash
        numbers = await alta.carr_list(request_hash)  # also proves the request exists
        alta_lookup.learn(request_hash, numbers)
        hidden = await hidden_of(viewer, ownership, numbers)
        if hidden:  # the whole request goes: every number of it must be the viewer's to take
            await refuse(message, hidden, viewer)
            return
        question = _("alta.cancel.confirm_request").format(
            hash=html.quote(request_hash),
            count=len(numbers),
            numbers=html.quote(", ".join(numbers[:20]) + (" …" if len(numbers) > 20 else "")),
        )
        payload = {"hash": request_hash, "numbers": [], "request_numbers": numbers}
    await ask_to_confirm(
        message,
        repos,
        user_id=user.id,
        action="alta.cancel",
        payload=payload,
        question=question,
        yes_text=_("alta.cancel.btn_yes"),
        no_text=_("alta.add.btn_no"),
    )


@on_confirm("alta.cancel", rule="wagon cancel")
async def cancel_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    alta: AltaClient,
    alta_lookup: AltaLookup,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    i18n: PoI18n,
) -> str:
    """cancel_track; the watcher then sees the change and tells the watching chats. Checked
    again when pressed; the chats that own the numbers hear it when it came from elsewhere."""
    request_hash = str(confirmation.payload["hash"])
    raw = confirmation.payload.get("numbers")
    numbers = [str(n) for n in raw] if isinstance(raw, list) else []
    raw = confirmation.payload.get("request_numbers")
    affected = numbers or ([str(n) for n in raw] if isinstance(raw, list) else [])
    sights = await sights_of(viewer, ownership, affected)
    hidden = [number for number, sight in sights.items() if not sight.allowed]
    if hidden:
        return not_yours_text(hidden)
    try:
        await alta.cancel_track(request_hash, numbers or None)
    except AltaError as exc:
        log.warning("wagon cancel failed: %s", exc, extra={"chat_id": confirmation.chat_id})
        return error_html(exc, i18n.current_locale)
    alta_lookup.numbers_of.pop(request_hash, None)
    for number in numbers:
        alta_lookup.hash_of.pop(number, None)
    await repos.audit.record(
        confirmation.user_id, "alta.cancel", request_hash, numbers=",".join(numbers) or "all"
    )
    await ActionRecorder(repos).wagons_tracked(
        viewer.chat_id,
        viewer.thread_id,
        [number_subject(n) for n in affected],
        request_hash,
        on=False,
    )
    await tell_owners(ownership, viewer, sights, "cancelled")
    if numbers:
        return _("alta.cancel.done_number").format(number=numbers[0], hash=html.quote(request_hash))
    return _("alta.cancel.done_request").format(hash=html.quote(request_hash))


# --- /wagons ---------------------------------------------------------------------------------


def page_keyboard(page: int, pages: int) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    keyboard = InlineKeyboardBuilder()
    if page > 0:
        keyboard.button(text=_("alta.btn.prev"), callback_data=WagonsPageCb(page=page - 1))
    if page < pages - 1:
        keyboard.button(text=_("alta.btn.next"), callback_data=WagonsPageCb(page=page + 1))
    return keyboard.as_markup()


async def wagons_page(
    alta: AltaClient,
    lookup: AltaLookup,
    page: int,
    hidden: tuple[set[str], set[str]] = (set(), set()),
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the requests on tracking (track_list), each with its numbers (carr_list for
    the requests of this page whose numbers the bot does not know yet); not the ``hidden``
    numbers and requests (other chats', see :func:`hidden_requests`)."""
    hidden_numbers, hidden_hashes = hidden
    requests = [r for r in await alta.track_list() if r.on_track and r.hash not in hidden_hashes]
    if not requests:
        return _("alta.list.empty"), None
    requests.sort(key=lambda r: r.hash)  # stable between two presses of ▶
    pages = math.ceil(len(requests) / PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = requests[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    total = sum(r.vagon_count or 0 for r in requests)
    lines = [
        _("alta.list.title").format(
            requests=len(requests), numbers=total, page=page + 1, pages=pages
        )
    ]
    for index, request in enumerate(shown, start=page * PAGE_SIZE + 1):
        numbers = [n for n in await lookup.numbers(request) if n not in hidden_numbers]
        mode = request.mode
        modified = request.modify_date
        lines.append(
            _("alta.list.row").format(
                n=index,
                name=html.quote(without_marker(request.comment or request.name) or "—"),
                mode=_("alta.mode.trip") if mode is TrackMode.TRIP else _("alta.mode.daily"),
                count=len(numbers),
                modified=format_moscow(modified) if modified else "—",
            )
        )
        lines.append(
            _("alta.list.numbers").format(
                numbers=html.quote(numbers_text(numbers, LISTED_NUMBERS) or "—"),
                hash=html.quote(request.hash),
            )
        )
    return "\n".join(lines), page_keyboard(page, pages)


async def list_wagons(
    message: Message,
    alta: AltaClient,
    alta_lookup: AltaLookup,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    hidden = await hidden_requests(viewer, ownership)
    text, keyboard = await wagons_page(alta, alta_lookup, 0, hidden)
    await message.answer(text, reply_markup=keyboard)


async def wagons_page_pressed(
    callback: CallbackQuery,
    callback_data: WagonsPageCb,
    alta: AltaClient,
    alta_lookup: AltaLookup,
    viewer: Viewer,
    ownership: Ownership,
) -> None:
    hidden = await hidden_requests(viewer, ownership)
    text, keyboard = await wagons_page(alta, alta_lookup, callback_data.page, hidden)
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "not modified" not in str(exc):
                raise
    await callback.answer()
