"""/track and /route: an aiogram FSM wizard (title → route points picked from
``distance_search`` → planned arrivals → auto-off date → tags → one-shot confirmation)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.confirm import ask_to_confirm, on_confirm
from bot.i18n import PoI18n
from bot.phones import format_phone
from bot.prompts import ask
from bot.texts import format_time
from handlers.movizor.callbacks import TrackCb
from handlers.movizor.parsing import (
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    error_text,
    only_phone,
    parse_tags,
    parse_when,
    phone_and_rest,
    topic_of,
    when_example,
)
from handlers.movizor.render import (
    driver_title,
    render_track_summary,
    status_text,
)
from integrations.movizor.client import MovizorClient
from integrations.movizor.errors import (
    MovizorError,
    MovizorGeocodeFailed,
    MovizorObjectNotFound,
)
from integrations.movizor.models import ObjectStatus, RoutePoint
from storage import Repos
from storage.confirmations import Confirmation
from storage.db import utcnow
from storage.users import User

MAX_POINTS: Final = 10
MAX_FOUND: Final = 6


class TrackFlow(StatesGroup):
    title = State()
    place = State()
    arrival = State()
    dateoff = State()
    tags = State()


async def track(
    message: Message, command: CommandObject, state: FSMContext, movizor: MovizorClient
) -> None:
    parsed = await phone_and_rest(message, command.args, "track")
    if parsed is None:
        return
    phone, title = parsed
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
    too_long = len(title) > MAX_TITLE
    kept = "" if too_long else title
    await state.clear()
    await state.set_data(
        {"mode": "track", "phone": phone, "title": kept, "points": [], "search": 0}
    )
    if title and not too_long:
        await ask_place(message, state)
        return
    # A title too long is asked for again, as one missing is: the next message is the answer.
    await state.set_state(TrackFlow.title)
    if too_long:
        await ask(message, _("drivers.track.bad_title").format(max=MAX_TITLE))
    else:
        await ask(message, _("drivers.track.ask_title").format(phone=format_phone(phone)))


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
        await ask(message, _("drivers.track.bad_title").format(max=MAX_TITLE))
        return
    await state.update_data(title=title)
    await ask_place(message, state)


def done_button(keyboard: InlineKeyboardBuilder) -> None:
    keyboard.button(text=_("drivers.track.btn_done"), callback_data=TrackCb(action="done"))


async def ask_place(message: Message, state: FSMContext, who: TgUser | None = None) -> None:
    """Ask for route point N; from the second one on, "Готово" ends the route."""
    points = (await state.get_data())["points"]
    await state.set_state(TrackFlow.place)
    keyboard = InlineKeyboardBuilder()
    if points:
        done_button(keyboard)
        text = _("drivers.track.ask_next_point").format(n=len(points) + 1)
    else:
        text = _("drivers.track.ask_point")
    await ask(message, text, keyboard.as_markup() if points else None, who=who)


async def place_typed(message: Message, state: FSMContext, movizor: MovizorClient) -> None:
    """A typed place: search it and offer what Movizor found as buttons."""
    query = (message.text or "").strip()[:200]
    data = await state.get_data()
    if len(data["points"]) >= MAX_POINTS:
        keyboard = InlineKeyboardBuilder()
        done_button(keyboard)
        await ask(
            message, _("drivers.track.too_many_points").format(max=MAX_POINTS), keyboard.as_markup()
        )
        return
    try:
        found = (await movizor.distance_search(query))[:MAX_FOUND]
    except MovizorGeocodeFailed:
        found = []
    if not found:
        await ask(message, _("drivers.track.not_found").format(query=html.quote(query)))
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
    await ask(
        message, _("drivers.track.found").format(query=html.quote(query)), keyboard.as_markup()
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
        await ask_place(callback.message, state, who=callback.from_user)


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
        await ask_arrival(callback.message, data["points"][0], timezone, who=callback.from_user)


async def ask_arrival(
    message: Message, point: dict[str, Any], tz: ZoneInfo, who: TgUser | None = None
) -> None:
    text = _("drivers.track.ask_arrival").format(
        place=html.quote(point["text"]), zone=html.quote(str(tz)), example=when_example(tz)
    )
    await ask(message, text, who=who)


async def arrival_typed(
    message: Message, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    """The planned arrival at the current point: a future time, not before the previous one."""
    data = await state.get_data()
    points, index = data["points"], data["arrival"]
    now = utcnow()
    moment = parse_when(message.text or "", timezone, now)
    if moment is None:
        await ask(
            message,
            _("drivers.track.bad_time").format(
                text=html.quote(message.text or ""), example=when_example(timezone)
            ),
        )
        return
    if moment <= now:
        await ask(message, _("drivers.track.time_past"))
        return
    previous = points[index - 1].get("at") if index else None
    if previous and moment < datetime.fromisoformat(previous):
        await ask(
            message,
            _("drivers.track.time_order").format(
                previous=format_time(datetime.fromisoformat(previous), timezone)
            ),
        )
        return
    points[index] = {**points[index], "at": moment.isoformat()}
    await state.update_data(points=points, arrival=index + 1)
    if index + 1 < len(points):
        await ask_arrival(message, points[index + 1], timezone)
    elif data["mode"] == "track":
        await state.set_state(TrackFlow.dateoff)
        await ask(
            message,
            _("drivers.track.ask_dateoff").format(example=when_example(timezone, days=3)),
            skip_keyboard("nodate"),
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
        await ask(
            message,
            _("drivers.track.bad_time").format(
                text=html.quote(message.text or ""), example=when_example(timezone, days=3)
            ),
            skip_keyboard("nodate"),
        )
        return
    earliest = now + timedelta(days=1, minutes=5)
    if moment < earliest:
        await ask(
            message,
            _("drivers.track.dateoff_soon").format(earliest=format_time(earliest, timezone)),
            skip_keyboard("nodate"),
        )
        return
    await state.update_data(dateoff=moment.isoformat())
    await ask_tags(message, state)


async def ask_tags(message: Message, state: FSMContext, who: TgUser | None = None) -> None:
    await state.set_state(TrackFlow.tags)
    await ask(message, _("drivers.track.ask_tags"), skip_keyboard("notags"), who=who)


async def tags_typed(
    message: Message, state: FSMContext, repos: Repos, user: User, timezone: ZoneInfo
) -> None:
    tags = parse_tags(message.text or "")
    if tags is None:
        await ask(
            message,
            _("drivers.track.bad_tags").format(max=MAX_TAG, count=MAX_TAGS),
            skip_keyboard("notags"),
        )
        return
    await state.update_data(tags=tags)
    await show_summary(message, state, repos, user, timezone)


async def dateoff_skipped(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await ask_tags(callback.message, state, who=callback.from_user)


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
    await ask_to_confirm(
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


@on_confirm("movizor.track", rule="track")
async def track_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    movizor: MovizorClient,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    """object_add, then remember the driver, subscribe this chat to it, and audit."""
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
        return error_text(exc, i18n)
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


@on_confirm("movizor.route", rule="route")
async def route_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    movizor: MovizorClient,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    payload = confirmation.payload
    phone, title = str(payload["phone"]), str(payload["title"])
    points = route_of(payload)
    try:
        await movizor.object_edit(phone, destination=points)
    except MovizorError as exc:
        return error_text(exc, i18n)
    await repos.audit.record(confirmation.user_id, "movizor.route", phone, points=len(points))
    return _("drivers.route.done").format(title=driver_title(title, phone), count=len(points))
