"""Movizor commands: where a driver is, who is tracked, routes, client links, events, money.

Viewers read (/locate, /drivers, /events, /operator, /balance, /shares, /follow); dispatchers
change (/track, /route, /untrack, /reactivate, /share, /unshare). Each handler parses, calls
the Movizor client and renders with :mod:`handlers.movizor.render`; Movizor's typed errors carry
their own Russian/English sentences, so most of them simply propagate to the error boundary
(the refusals a dispatcher should read in context are caught and shown where they happen).

Phones are normalised at the edge (:mod:`bot.phones`): a malformed number is answered here and
never reaches Movizor. Titles learnt from Movizor go into the bot's drivers directory, so later
answers and alerts name the driver without another request.

/track and /route are an aiogram FSM wizard (title → route points picked from
``distance_search`` → planned arrivals → auto-off date → tags → one-shot confirmation).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot, F, Router, html
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import ask, on_confirm
from bot.i18n import PoI18n
from bot.phones import BadPhone, format_phone, normalize_phone
from bot.texts import answer_lines, answer_usage, format_time
from handlers.movizor.live_locations import LiveLocations, accuracy_of
from handlers.movizor.render import (
    driver_title,
    render_balance,
    render_card,
    render_card_note,
    render_driver_row,
    render_drivers_header,
    render_event,
    render_operator,
    render_share,
    render_track_summary,
    status_text,
)
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import (
    MovizorError,
    MovizorGeocodeFailed,
    MovizorInvalidArgument,
    MovizorObjectNotFound,
    MovizorRequestPending,
    MovizorTariffUnsupported,
)
from integrations.movizor.models import ObjectListItem, ObjectStatus, Position, RoutePoint
from storage import Repos
from storage.confirmations import Confirmation
from storage.db import utcnow
from storage.drivers import Driver
from storage.users import Role, User

log = logging.getLogger(__name__)

VIEWER: Final = {"role": Role.VIEWER.value, "movizor": True}
DISPATCHER: Final = {"role": Role.DISPATCHER.value, "movizor": True}

PAGE_SIZE: Final = 10
EVENTS_SHOWN: Final = 20
EVENTS_SCANNED: Final = 500  # for /events <phone>: Movizor cannot filter by phone itself
MAX_PICKS: Final = 10
MAX_TITLE: Final = 100
# A tag travels in the /drivers page buttons, whose callback data is at most 64 bytes.
MAX_TAG: Final = 20
MAX_TAG_BYTES: Final = 40
MAX_TAGS: Final = 10
MAX_POINTS: Final = 10
MAX_FOUND: Final = 6
MANUAL_TARIFF: Final = "0"  # "Вручную": pay per request; what /operator prices
SHARE_LINK_BASE: Final = "https://movizor.ru/share/"  # the document's link shape
# "🔄 Обновить": poll pos_get this often, for this long (Movizor answers within ~a minute).
REFRESH_POLL_SECONDS = 2.0
REFRESH_TIMEOUT_SECONDS = 120.0

PHONE_CHARS: Final = frozenset("0123456789+-() ")
WHEN_RE: Final = re.compile(
    r"^\s*(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?\s+(\d{1,2})[:.](\d{2})\s*$"
)
SHARE_KEY_RE: Final = re.compile(r"^[\w-]{4,64}$")


class LocateCb(CallbackData, prefix="mzl"):
    """The driver card's buttons: ``show`` a picked driver, ``refresh`` the position."""

    action: str
    phone: str


class DriversPageCb(CallbackData, prefix="mzp"):
    page: int
    tag: str = ""


class TrackCb(CallbackData, prefix="mzt"):
    """Wizard buttons: ``pick`` a found place (``search`` ties it to one search), ``done``
    with the points, ``nodate`` / ``notags`` to skip those optional steps (one action per
    step, so a stale button cannot skip a later step)."""

    action: str
    index: int = 0
    search: int = 0


class TrackFlow(StatesGroup):
    title = State()
    place = State()
    arrival = State()
    dateoff = State()
    tags = State()


class RequireMovizor(BaseMiddleware):
    """Handlers flagged ``movizor`` answer "not configured" while the integration is off.

    Runs after the access middleware (routers' inner middlewares come after the
    dispatcher's), so a stranger still gets the access answer first.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("movizor") is not None or not get_flag(data, "movizor"):
            return await handler(event, data)
        text = _("error.integration_off").format(name="Movizor")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None


# --- parsing --------------------------------------------------------------------------------------


def is_phoneish(text: str) -> bool:
    """Only phone characters and at least one digit: meant as a phone, right or wrong."""
    return any(ch.isdigit() for ch in text) and all(ch in PHONE_CHARS for ch in text)


def leading_phone(tokens: Sequence[str]) -> tuple[str, int] | None:
    """The longest run of leading tokens that is a valid phone: (msisdn, tokens used).

    A phone may be typed with spaces (``+7 (999) 123-45-67``), so the split between the
    phone and what follows is found by trying the longest phone-looking prefix first.
    """
    for end in range(len(tokens), 0, -1):
        head = " ".join(tokens[:end])
        if not is_phoneish(head):
            continue
        try:
            return normalize_phone(head), end
        except BadPhone:
            continue
    return None


def typed_phone(tokens: Sequence[str]) -> str:
    """The phone-looking start of the arguments, to quote back in "bad phone"."""
    used: list[str] = []
    for token in tokens:
        if not is_phoneish(token):
            break
        used.append(token)
    return " ".join(used) or (tokens[0] if tokens else "")


async def phone_and_rest(message: Message, args: str | None, usage: str) -> tuple[str, str] | None:
    """``<phone> [rest]`` from the arguments, or ``None`` after answering usage / bad phone."""
    tokens = (args or "").split()
    if not tokens:
        await answer_usage(message, usage)
        return None
    found = leading_phone(tokens)
    if found is None:
        await answer_bad_phone(message, typed_phone(tokens))
        return None
    phone, used = found
    return phone, " ".join(tokens[used:])


async def only_phone(message: Message, args: str | None, usage: str) -> str | None:
    """Exactly one phone as the arguments."""
    parsed = await phone_and_rest(message, args, usage)
    if parsed is None:
        return None
    phone, rest = parsed
    if rest:
        await answer_usage(message, usage)
        return None
    return phone


async def answer_bad_phone(message: Message, typed: str) -> None:
    await message.answer(_("drivers.bad_phone").format(phone=html.quote(typed)))


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """``дд.мм чч:мм`` (year optional) in ``tz``. Without a year, a date more than half a
    year back means next year (typing 05.01 in December); a recent past date stays in the
    past so the caller can refuse it rather than silently jump a year."""
    match = WHEN_RE.match(text)
    if match is None:
        return None
    day, month, year_text, hour, minute = match.groups()
    local_now = now.astimezone(tz)
    year = int(year_text) if year_text else local_now.year
    if year < 100:
        year += 2000
    try:
        moment = datetime(year, int(month), int(day), int(hour), int(minute), tzinfo=tz)
    except ValueError:
        return None
    if not year_text and moment < local_now - timedelta(days=183):
        moment = moment.replace(year=year + 1)
    return moment


def when_example(tz: ZoneInfo, days: int = 1) -> str:
    later = utcnow().astimezone(tz) + timedelta(days=days)
    return later.replace(minute=0).strftime("%d.%m %H:%M")


def tag_fits(tag: str) -> bool:
    """Short enough for a button's callback data, and no ``:`` (its separator)."""
    return len(tag) <= MAX_TAG and len(tag.encode()) <= MAX_TAG_BYTES and ":" not in tag


def parse_tags(text: str) -> list[str] | None:
    """Comma-separated tags, or ``None`` when there are too many or one does not fit."""
    tags = list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))
    if len(tags) > MAX_TAGS or not all(tag_fits(tag) for tag in tags):
        return None
    return tags


def topic_of(message: Message) -> int:
    """The forum topic a message belongs to (0 outside forum topics)."""
    return (message.message_thread_id if message.is_topic_message else None) or 0


def error_text(exc: MovizorError, i18n: PoI18n) -> str:
    return html.quote(exc.message_for(i18n.current_locale))


# --- the drivers directory ------------------------------------------------------------------------


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
        log.info("no title for %s: %s", phone, exc)
        return None


# --- /locate --------------------------------------------------------------------------------------


def refresh_keyboard(phone: str) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=_("drivers.btn.refresh"), callback_data=LocateCb(action="refresh", phone=phone)
    )
    return keyboard.as_markup()


async def send_position(
    message: Message, phone: str, movizor: MovizorClient, repos: Repos, tz: ZoneInfo
) -> None:
    """The last known position as a map point, then the card with "🔄 Обновить"."""
    position = await movizor.pos_last(phone)
    title = await learn_title(phone, movizor, repos)
    if position.lat is not None and position.lon is not None:
        await message.answer_location(
            position.lat, position.lon, horizontal_accuracy=accuracy_of(position)
        )
    await message.answer(
        render_card(title, phone, position, tz), reply_markup=refresh_keyboard(phone)
    )


async def locate(
    message: Message,
    command: CommandObject,
    movizor: MovizorClient,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    query = (command.args or "").strip()
    if not query:
        await answer_usage(message, "locate")
        return
    if is_phoneish(query):
        phone = await only_phone(message, query, "locate")
        if phone is not None:
            await send_position(message, phone, movizor, repos, timezone)
        return
    drivers = await repos.drivers.find(query)
    if not drivers:
        await message.answer(_("drivers.locate.not_found").format(query=html.quote(query)))
    elif len(drivers) == 1:
        await send_position(message, drivers[0].phone, movizor, repos, timezone)
    else:
        await answer_picks(message, query, drivers)


async def answer_picks(message: Message, query: str, drivers: list[Driver]) -> None:
    """Several directory matches: one button per driver."""
    keyboard = InlineKeyboardBuilder()
    for driver in drivers[:MAX_PICKS]:
        label = f"{driver.title} · {format_phone(driver.phone)}"[:64]
        keyboard.button(text=label, callback_data=LocateCb(action="show", phone=driver.phone))
    keyboard.adjust(1)
    lines = [_("drivers.locate.pick").format(query=html.quote(query))]
    if len(drivers) > MAX_PICKS:
        lines.append(_("drivers.locate.pick_more").format(shown=MAX_PICKS, count=len(drivers)))
    await message.answer("\n".join(lines), reply_markup=keyboard.as_markup())


async def driver_picked(
    callback: CallbackQuery,
    callback_data: LocateCb,
    movizor: MovizorClient,
    repos: Repos,
    timezone: ZoneInfo,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await send_position(callback.message, callback_data.phone, movizor, repos, timezone)


async def refresh_pressed(
    callback: CallbackQuery,
    callback_data: LocateCb,
    movizor: MovizorClient,
    repos: Repos,
    live_locations: LiveLocations,
    timezone: ZoneInfo,
    i18n: PoI18n,
    bot: Bot,
) -> None:
    """ "🔄 Обновить": the whole refresh runs as a background task, one per card. Spawning is
    synchronous, so a double tap finds the first task already running."""
    card = callback.message
    if not isinstance(card, Message):
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    task_name = f"refresh:{card.chat.id}:{card.message_id}"
    if live_locations.busy(task_name):
        await callback.answer(_("drivers.card.already_requesting"))
        return
    refresh = refresh_card(
        callback, card, callback_data.phone, movizor, repos, bot, timezone, i18n.current_locale
    )
    live_locations.spawn(refresh, name=task_name)


async def refresh_card(
    callback: CallbackQuery,
    card: Message,
    phone: str,
    movizor: MovizorClient,
    repos: Repos,
    bot: Bot,
    tz: ZoneInfo,
    locale: str,
) -> None:
    """Ask the operator for a fresh position, show progress on the card, then poll."""
    try:
        ticket = await movizor.pos_request(phone)
    except MovizorError as exc:
        # Not confirmed, the 5-minute rule, no money…: say why, keep the card as it is.
        await callback.answer(exc.message_for(locale)[:200], show_alert=True)
        return
    known = await repos.drivers.get(phone)
    title = known.title if known else None
    await card.edit_text(render_card_note(title, phone, _("drivers.card.requesting")))
    await callback.answer()
    await poll_refresh(bot, movizor, card, phone, title, ticket.request_id, tz, locale)


async def poll_refresh(
    bot: Bot,
    movizor: MovizorClient,
    card: Message,
    phone: str,
    title: str | None,
    request_id: str,
    tz: ZoneInfo,
    locale: str,
) -> None:
    """Poll ``pos_get`` until the position comes (or fails, or takes too long); then send
    the new point and put it on the card."""
    chat_id, message_id = card.chat.id, card.message_id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REFRESH_TIMEOUT_SECONDS
    position: Position | None = None
    note = _("drivers.card.still_queued")
    while loop.time() < deadline:
        await asyncio.sleep(REFRESH_POLL_SECONDS)
        try:
            position = await movizor.pos_get(request_id)
            break
        except MovizorRequestPending:
            continue
        except MovizorError as exc:
            note = _("drivers.card.refresh_failed").format(
                error=html.quote(exc.message_for(locale))
            )
            break
    try:
        if position is None:
            text = render_card_note(title, phone, note)
        else:
            if position.lat is not None and position.lon is not None:
                await bot.send_location(
                    chat_id,
                    position.lat,
                    position.lon,
                    message_thread_id=topic_of(card) or None,
                    horizontal_accuracy=accuracy_of(position),
                )
            text = render_card(title, phone, position, tz)
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=refresh_keyboard(phone)
        )
    except TelegramAPIError as exc:  # the card was deleted, the bot left the chat…
        log.info("refresh of %s: could not show the result: %s", phone, exc)


# --- /drivers -------------------------------------------------------------------------------------


def has_tag(driver: Driver | None, tag: str) -> bool:
    return driver is not None and tag.casefold() in (t.casefold() for t in driver.tags)


def page_keyboard(page: int, pages: int, tag: str) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    keyboard = InlineKeyboardBuilder()
    if page > 0:
        keyboard.button(
            text=_("drivers.btn.prev"), callback_data=DriversPageCb(page=page - 1, tag=tag)
        )
    if page < pages - 1:
        keyboard.button(
            text=_("drivers.btn.next"), callback_data=DriversPageCb(page=page + 1, tag=tag)
        )
    return keyboard.as_markup()


async def drivers_page(
    movizor: MovizorClient, repos: Repos, tag: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the account's phones: status and place, titles from the directory (the
    unknown ones on this page are looked up once and remembered)."""
    objects = await movizor.object_list()
    positions = {p.phone: p for p in await movizor.pos_objects()}
    directory = await repos.drivers.many({o.phone for o in objects})
    rows = [o for o in objects if not tag or has_tag(directory.get(o.phone), tag)]
    if not rows:
        if tag:
            return _("drivers.list.empty_tag").format(tag=html.quote(tag)), None
        return _("drivers.list.empty"), None
    # By phone, not by name: titles are learnt while paging, and sorting by them would move
    # drivers between pages (shown twice, or never) between two presses of ▶.
    rows.sort(key=lambda o: o.phone)
    pages = math.ceil(len(rows) / PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    titles = await page_titles(shown, directory, movizor, repos)
    lines = [render_drivers_header(len(rows), page, pages, tag)]
    for number, item in enumerate(shown, start=page * PAGE_SIZE + 1):
        lines.append(
            render_driver_row(
                number, titles.get(item.phone), item.phone, item.status, positions.get(item.phone)
            )
        )
    return "\n".join(lines), page_keyboard(page, pages, tag)


async def page_titles(
    shown: list[ObjectListItem], directory: dict[str, Driver], movizor: MovizorClient, repos: Repos
) -> dict[str, str | None]:
    titles: dict[str, str | None] = {
        o.phone: directory[o.phone].title for o in shown if o.phone in directory
    }
    unknown = [o.phone for o in shown if not titles.get(o.phone)]
    learnt = await asyncio.gather(*(try_learn_title(p, movizor, repos) for p in unknown))
    titles.update(zip(unknown, learnt, strict=True))
    return titles


async def list_drivers(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos
) -> None:
    tag = (command.args or "").strip()
    if not tag_fits(tag):
        await answer_usage(message, "drivers")
        return
    text, keyboard = await drivers_page(movizor, repos, tag, 0)
    await message.answer(text, reply_markup=keyboard)


async def drivers_page_pressed(
    callback: CallbackQuery, callback_data: DriversPageCb, movizor: MovizorClient, repos: Repos
) -> None:
    text, keyboard = await drivers_page(movizor, repos, callback_data.tag, callback_data.page)
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "not modified" not in str(exc):  # the same page pressed twice is fine
                raise
    await callback.answer()


# --- /track and /route: the wizard ----------------------------------------------------------------


async def track(
    message: Message, command: CommandObject, state: FSMContext, movizor: MovizorClient
) -> None:
    parsed = await phone_and_rest(message, command.args, "track")
    if parsed is None:
        return
    phone, title = parsed
    if len(title) > MAX_TITLE:
        await message.answer(_("drivers.track.bad_title").format(max=MAX_TITLE))
        return
    try:
        info = await movizor.object_get(phone)
    except MovizorObjectNotFound:
        info = None
    if info is not None and info.status != ObjectStatus.OFF:
        # Adding it again would be refused (error 7) after the whole wizard: say it now.
        await message.answer(
            _("drivers.track.already").format(
                title=driver_title(info.title, phone), status=status_text(info.status), msisdn=phone
            )
        )
        return
    await state.clear()
    await state.set_data(
        {"mode": "track", "phone": phone, "title": title, "points": [], "search": 0}
    )
    if title:
        await ask_place(message, state)
    else:
        await state.set_state(TrackFlow.title)
        await message.answer(_("drivers.track.ask_title").format(phone=format_phone(phone)))


async def route(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    movizor: MovizorClient,
    repos: Repos,
) -> None:
    phone = await only_phone(message, command.args, "route")
    if phone is None:
        return
    info = await movizor.object_get(phone)  # is the phone on the account at all?
    known = await repos.drivers.get(phone)
    title = (known.title if known else "") or info.title
    await state.clear()
    await state.set_data(
        {"mode": "route", "phone": phone, "title": title or "", "points": [], "search": 0}
    )
    await message.answer(
        _("drivers.route.start").format(title=driver_title(title, phone), phone=format_phone(phone))
    )
    await ask_place(message, state)


async def title_typed(message: Message, state: FSMContext) -> None:
    title = (message.text or "").strip()
    if not title or len(title) > MAX_TITLE:
        await message.answer(_("drivers.track.bad_title").format(max=MAX_TITLE))
        return
    await state.update_data(title=title)
    await ask_place(message, state)


def done_button(keyboard: InlineKeyboardBuilder) -> None:
    keyboard.button(text=_("drivers.track.btn_done"), callback_data=TrackCb(action="done"))


async def ask_place(message: Message, state: FSMContext) -> None:
    """Ask for route point N; from the second one on, "Готово" ends the route."""
    points = (await state.get_data())["points"]
    await state.set_state(TrackFlow.place)
    keyboard = InlineKeyboardBuilder()
    if points:
        done_button(keyboard)
        text = _("drivers.track.ask_next_point").format(n=len(points) + 1)
    else:
        text = _("drivers.track.ask_point")
    await message.answer(text, reply_markup=keyboard.as_markup() if points else None)


async def place_typed(message: Message, state: FSMContext, movizor: MovizorClient) -> None:
    """A typed place: search it and offer what Movizor found as buttons."""
    query = (message.text or "").strip()[:200]
    data = await state.get_data()
    if len(data["points"]) >= MAX_POINTS:
        keyboard = InlineKeyboardBuilder()
        done_button(keyboard)
        await message.answer(
            _("drivers.track.too_many_points").format(max=MAX_POINTS),
            reply_markup=keyboard.as_markup(),
        )
        return
    try:
        found = (await movizor.distance_search(query))[:MAX_FOUND]
    except MovizorGeocodeFailed:
        found = []
    if not found:
        await message.answer(_("drivers.track.not_found").format(query=html.quote(query)))
        return
    search = data["search"] + 1
    places: list[dict[str, Any]] = [
        {"text": f.title or query, "lat": f.lat, "lon": f.lon} for f in found
    ]
    await state.update_data(found=places, search=search)
    keyboard = InlineKeyboardBuilder()
    for index, place in enumerate(places):
        keyboard.button(
            text=place["text"][:64],
            callback_data=TrackCb(action="pick", index=index, search=search),
        )
    keyboard.adjust(1)
    await message.answer(
        _("drivers.track.found").format(query=html.quote(query)), reply_markup=keyboard.as_markup()
    )


async def place_picked(callback: CallbackQuery, callback_data: TrackCb, state: FSMContext) -> None:
    data = await state.get_data()
    found = data.get("found") or []
    if callback_data.search != data.get("search") or not 0 <= callback_data.index < len(found):
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    place = found[callback_data.index]
    points = [*data["points"], place]
    await state.update_data(points=points, found=[])
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("drivers.track.picked").format(n=len(points), place=html.quote(place["text"]))
        )
        await ask_place(callback.message, state)


async def points_done(callback: CallbackQuery, state: FSMContext, timezone: ZoneInfo) -> None:
    data = await state.get_data()
    if not data["points"]:
        await callback.answer(_("drivers.track.need_point"), show_alert=True)
        return
    await callback.answer()
    await state.update_data(found=[], arrival=0)
    await state.set_state(TrackFlow.arrival)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_arrival(callback.message, data["points"][0], timezone)


async def ask_arrival(message: Message, point: dict[str, Any], tz: ZoneInfo) -> None:
    await message.answer(
        _("drivers.track.ask_arrival").format(
            place=html.quote(point["text"]), zone=html.quote(str(tz)), example=when_example(tz)
        )
    )


async def arrival_typed(
    message: Message, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    """The planned arrival at the current point: a future time, not before the previous one."""
    data = await state.get_data()
    points, index = data["points"], data["arrival"]
    now = utcnow()
    moment = parse_when(message.text or "", timezone, now)
    if moment is None:
        await message.answer(
            _("drivers.track.bad_time").format(
                text=html.quote(message.text or ""), example=when_example(timezone)
            )
        )
        return
    if moment <= now:
        await message.answer(_("drivers.track.time_past"))
        return
    previous = points[index - 1].get("at") if index else None
    if previous and moment < datetime.fromisoformat(previous):
        await message.answer(
            _("drivers.track.time_order").format(
                previous=format_time(datetime.fromisoformat(previous), timezone)
            )
        )
        return
    points[index] = {**points[index], "at": moment.isoformat()}
    await state.update_data(points=points, arrival=index + 1)
    if index + 1 < len(points):
        await ask_arrival(message, points[index + 1], timezone)
    elif data["mode"] == "track":
        await state.set_state(TrackFlow.dateoff)
        await message.answer(
            _("drivers.track.ask_dateoff").format(example=when_example(timezone, days=3)),
            reply_markup=skip_keyboard("nodate"),
        )
    else:
        await show_summary(message, state, repos, user, timezone)


def skip_keyboard(action: str) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=_("drivers.track.btn_skip"), callback_data=TrackCb(action=action))
    return keyboard.as_markup()


async def dateoff_typed(message: Message, state: FSMContext, timezone: ZoneInfo) -> None:
    """The auto-off date: Movizor refuses one less than a day ahead, so check it here."""
    now = utcnow()
    moment = parse_when(message.text or "", timezone, now)
    if moment is None:
        await message.answer(
            _("drivers.track.bad_time").format(
                text=html.quote(message.text or ""), example=when_example(timezone, days=3)
            ),
            reply_markup=skip_keyboard("nodate"),
        )
        return
    earliest = now + timedelta(days=1, minutes=5)
    if moment < earliest:
        await message.answer(
            _("drivers.track.dateoff_soon").format(earliest=format_time(earliest, timezone)),
            reply_markup=skip_keyboard("nodate"),
        )
        return
    await state.update_data(dateoff=moment.isoformat())
    await ask_tags(message, state)


async def ask_tags(message: Message, state: FSMContext) -> None:
    await state.set_state(TrackFlow.tags)
    await message.answer(_("drivers.track.ask_tags"), reply_markup=skip_keyboard("notags"))


async def tags_typed(
    message: Message, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    tags = parse_tags(message.text or "")
    if tags is None:
        await message.answer(
            _("drivers.track.bad_tags").format(max=MAX_TAG, count=MAX_TAGS),
            reply_markup=skip_keyboard("notags"),
        )
        return
    await state.update_data(tags=tags)
    await show_summary(message, state, repos, user, timezone)


async def dateoff_skipped(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_tags(callback.message, state)


async def tags_skipped(
    callback: CallbackQuery, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await show_summary(callback.message, state, repos, user, timezone)


async def show_summary(
    message: Message, state: FSMContext, repos: Repos, user: User, tz: ZoneInfo
) -> None:
    """Leave the wizard and hand over to a one-shot confirmation of everything typed."""
    data = await state.get_data()
    await state.clear()
    payload = {
        "phone": data["phone"],
        "title": data.get("title") or "",
        "points": data["points"],
        "dateoff": data.get("dateoff"),
        "tags": data.get("tags") or [],
        "thread": topic_of(message),
    }
    await ask(
        message,
        repos,
        user_id=user.id,
        action="movizor.track" if data["mode"] == "track" else "movizor.route",
        payload=payload,
        question=render_track_summary(data, tz),
    )


async def stale_wizard_button(callback: CallbackQuery) -> None:
    """A wizard button from a step already passed (or a wizard already left)."""
    await callback.answer(_("error.button_expired"), show_alert=True)


async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("drivers.wizard.nothing"))
        return
    await state.clear()
    await message.answer(_("drivers.wizard.cancelled"))


def str_list(value: object) -> list[str]:
    """A list of strings from a JSON payload value (anything else: empty)."""
    return [str(item) for item in value] if isinstance(value, list) else []


def route_of(payload: dict[str, Any]) -> list[RoutePoint]:
    return [
        RoutePoint(
            text=point["text"],
            lat=point["lat"],
            lon=point["lon"],
            planned_at=datetime.fromisoformat(point["at"]) if point.get("at") else None,
        )
        for point in payload["points"]
    ]


@on_confirm("movizor.track")
async def track_confirmed(
    callback: CallbackQuery, confirmation: Confirmation, data: dict[str, Any]
) -> str:
    """object_add, then remember the driver, subscribe this chat to it, and audit."""
    movizor: MovizorClient | None = data.get("movizor")
    repos: Repos = data["repos"]
    if movizor is None:
        return _("error.integration_off").format(name="Movizor")
    payload = confirmation.payload
    phone, title = str(payload["phone"]), str(payload["title"])
    tags = str_list(payload.get("tags"))
    dateoff = payload.get("dateoff")
    points = route_of(payload)
    try:
        await movizor.object_add(
            phone,
            title=title or None,
            tags=tags or None,
            dateoff=datetime.fromisoformat(str(dateoff)) if dateoff else None,
            destination=points,
        )
    except MovizorError as exc:
        return error_text(exc, data["i18n"])
    await repos.drivers.upsert(phone, title or format_phone(phone), tuple(tags))
    thread = int(str(payload.get("thread") or 0))
    await repos.subscriptions.add(
        confirmation.chat_id, thread, "all", f"driver:{phone}", by=confirmation.user_id
    )
    await repos.audit.record(
        confirmation.user_id, "movizor.track", phone, title=title, points=len(points)
    )
    return _("drivers.track.done").format(
        title=driver_title(title, phone), phone=format_phone(phone)
    )


@on_confirm("movizor.route")
async def route_confirmed(
    callback: CallbackQuery, confirmation: Confirmation, data: dict[str, Any]
) -> str:
    movizor: MovizorClient | None = data.get("movizor")
    repos: Repos = data["repos"]
    if movizor is None:
        return _("error.integration_off").format(name="Movizor")
    payload = confirmation.payload
    phone, title = str(payload["phone"]), str(payload["title"])
    points = route_of(payload)
    try:
        await movizor.object_edit(phone, destination=points)
    except MovizorError as exc:
        return error_text(exc, data["i18n"])
    await repos.audit.record(confirmation.user_id, "movizor.route", phone, points=len(points))
    return _("drivers.route.done").format(title=driver_title(title, phone), count=len(points))


# --- /untrack, /reactivate ------------------------------------------------------------------------


async def untrack(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos, user: User
) -> None:
    phone = await only_phone(message, command.args, "untrack")
    if phone is None:
        return
    title = await learn_title(phone, movizor, repos)
    await ask(
        message,
        repos,
        user_id=user.id,
        action="movizor.untrack",
        payload={"phone": phone, "title": title or ""},
        question=_("drivers.untrack.confirm").format(
            title=driver_title(title, phone), phone=format_phone(phone)
        ),
    )


@on_confirm("movizor.untrack")
async def untrack_confirmed(
    callback: CallbackQuery, confirmation: Confirmation, data: dict[str, Any]
) -> str:
    """The first object_delete switches tracking off, a second one deletes the phone."""
    movizor: MovizorClient | None = data.get("movizor")
    repos: Repos = data["repos"]
    if movizor is None:
        return _("error.integration_off").format(name="Movizor")
    phone, title = str(confirmation.payload["phone"]), str(confirmation.payload["title"])
    try:
        result = await movizor.object_delete(phone)
    except MovizorError as exc:  # the 24 h / 1 h rules, "still switching off"
        return error_text(exc, data["i18n"])
    action = "movizor.disable" if result.disabled else "movizor.delete"
    await repos.audit.record(confirmation.user_id, action, phone, title=title)
    values = {"title": driver_title(title, phone), "phone": format_phone(phone), "msisdn": phone}
    if result.disabled:
        return _("drivers.untrack.disabled").format(**values)
    return _("drivers.untrack.deleted").format(**values)


async def reactivate(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos, user: User
) -> None:
    phone = await only_phone(message, command.args, "reactivate")
    if phone is None:
        return
    await movizor.object_reactivate(phone)
    await repos.audit.record(user.id, "movizor.reactivate", phone)
    title = await try_learn_title(phone, movizor, repos)
    await message.answer(
        _("drivers.reactivate.done").format(
            title=driver_title(title, phone), phone=format_phone(phone)
        )
    )


# --- client links ---------------------------------------------------------------------------------


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


# --- /events, /operator, /balance -----------------------------------------------------------------


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
    found = found[-EVENTS_SHOWN:]  # oldest first: the newest is at the bottom, as in a chat
    if not found:
        await message.answer(_("drivers.events.empty"))
        return
    directory = await repos.drivers.many({event.phone for event in found if event.phone})
    lines = [_("drivers.events.title").format(count=len(found))]
    for event in found:
        known = directory.get(event.phone)
        lines.append(render_event(event, known.title if known else None, timezone))
    await answer_lines(message, lines)


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


async def balance(message: Message, movizor: MovizorClient) -> None:
    await answer_lines(message, render_balance(await movizor.balance()))


# --- /follow, /unfollow ---------------------------------------------------------------------------


async def follow(
    message: Message,
    command: CommandObject,
    movizor: MovizorClient,
    repos: Repos,
    live_locations: LiveLocations,
    i18n: PoI18n,
) -> None:
    phone = await only_phone(message, command.args, "follow")
    if phone is None:
        return
    chat_id, thread = message.chat.id, topic_of(message)
    title = await learn_title(phone, movizor, repos)
    name = driver_title(title, phone)
    if live_locations.get(chat_id, thread, phone) is not None:
        await message.answer(_("drivers.follow.already").format(title=name, msisdn=phone))
        return
    position = await movizor.pos_last(phone)
    if not position.has_fix:
        await message.answer(_("drivers.follow.no_fix").format(title=name, msisdn=phone))
        return
    await live_locations.follow(
        chat_id,
        thread,
        phone,
        title=title or format_phone(phone),
        locale=i18n.current_locale,
        position=position,
    )
    await message.answer(
        _("drivers.follow.started").format(
            title=name,
            minutes=max(live_locations.poll_seconds // 60, 1),
            hours=live_locations.live_period // 3600,
            msisdn=phone,
        )
    )


async def unfollow(message: Message, command: CommandObject, live_locations: LiveLocations) -> None:
    phone = await only_phone(message, command.args, "unfollow")
    if phone is None:
        return
    stopped = await live_locations.unfollow(message.chat.id, topic_of(message), phone)
    if stopped is None:
        await message.answer(_("drivers.unfollow.none").format(phone=format_phone(phone)))
        return
    await message.answer(_("drivers.unfollow.done").format(title=html.quote(stopped.title)))


# --- the router -----------------------------------------------------------------------------------


def make_router() -> Router:
    router = Router(name="drivers")
    router.message.middleware(RequireMovizor())
    router.callback_query.middleware(RequireMovizor())
    typed = F.text & ~F.text.startswith("/")

    router.message.register(cancel, Command("cancel"), flags={"role": Role.VIEWER.value})
    router.message.register(locate, Command("locate"), flags=VIEWER)
    router.callback_query.register(driver_picked, LocateCb.filter(F.action == "show"), flags=VIEWER)
    router.callback_query.register(
        refresh_pressed, LocateCb.filter(F.action == "refresh"), flags=VIEWER
    )
    router.message.register(list_drivers, Command("drivers"), flags=VIEWER)
    router.callback_query.register(drivers_page_pressed, DriversPageCb.filter(), flags=VIEWER)

    router.message.register(track, Command("track"), flags=DISPATCHER)
    router.message.register(route, Command("route"), flags=DISPATCHER)
    router.message.register(title_typed, TrackFlow.title, typed, flags=DISPATCHER)
    router.message.register(place_typed, TrackFlow.place, typed, flags=DISPATCHER)
    router.message.register(arrival_typed, TrackFlow.arrival, typed, flags=DISPATCHER)
    router.message.register(dateoff_typed, TrackFlow.dateoff, typed, flags=DISPATCHER)
    router.message.register(tags_typed, TrackFlow.tags, typed, flags=DISPATCHER)
    router.callback_query.register(
        place_picked, TrackFlow.place, TrackCb.filter(F.action == "pick"), flags=DISPATCHER
    )
    router.callback_query.register(
        points_done, TrackFlow.place, TrackCb.filter(F.action == "done"), flags=DISPATCHER
    )
    router.callback_query.register(
        dateoff_skipped, TrackFlow.dateoff, TrackCb.filter(F.action == "nodate"), flags=DISPATCHER
    )
    router.callback_query.register(
        tags_skipped, TrackFlow.tags, TrackCb.filter(F.action == "notags"), flags=DISPATCHER
    )
    router.callback_query.register(stale_wizard_button, TrackCb.filter(), flags=DISPATCHER)

    router.message.register(untrack, Command("untrack"), flags=DISPATCHER)
    router.message.register(reactivate, Command("reactivate"), flags=DISPATCHER)
    router.message.register(share, Command("share"), flags=DISPATCHER)
    router.message.register(shares, Command("shares"), flags=VIEWER)
    router.message.register(unshare, Command("unshare"), flags=DISPATCHER)
    router.message.register(events, Command("events"), flags=VIEWER)
    router.message.register(operator, Command("operator"), flags=VIEWER)
    router.message.register(balance, Command("balance"), flags=VIEWER)
    router.message.register(follow, Command("follow"), flags=VIEWER)
    router.message.register(unfollow, Command("unfollow"), flags=VIEWER)
    return router
