"""/wagon add <numbers…>: check every number (nothing is sent when one is wrong), show a summary
whose settings change with buttons (region, mode, report times, days, stop rule; defaults from
ALTA_*), and put them on tracking once «✅ Поставить» is pressed (one-shot). The chat then
watches every number: the bot stores its first snapshot and subscribes the chat to it.

Without numbers the bot asks for them (ForceReply in groups, so it works under privacy mode).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.confirm import ask_to_confirm, confirm_keyboard, on_confirm
from bot.i18n import PoI18n
from bot.prompts import ask
from bot.texts import error_html
from handlers.alta.callbacks import AltaAddCb
from handlers.alta.lookup import SOURCE, AltaLookup
from integrations.alta.client import AltaClient
from integrations.alta.errors import AltaError, number_problem_message
from integrations.alta.models import Region, TrackMode
from integrations.alta.numbers import ParsedNumbers, split_numbers
from integrations.alta.watcher import initial_snapshot
from storage import Repos
from storage.confirmations import Confirmation
from storage.db import utcnow
from storage.users import User

log = logging.getLogger("handlers.alta")

MAX_NUMBERS: Final = 200
SETTINGS: Final = ("region", "mode", "times", "days", "stop")
TIME_PRESETS: Final = (
    ("09:00",),
    ("09:00", "18:00"),
    ("09:00", "13:00", "18:00"),
    ("06:00", "14:00", "22:00"),
)
DAY_PRESETS: Final = ((0, 1, 2, 3, 4, 5, 6), (1, 2, 3, 4, 5))


class AltaFlow(StatesGroup):
    numbers = State()


def topic_of(message: Message) -> int:
    return (message.message_thread_id if message.is_topic_message else None) or 0


async def wagon_add(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repos: Repos,
    user: User,
    settings: Settings,
    i18n: PoI18n,
) -> None:
    text = (command.args or "").strip()[len("add") :].strip()
    if not text:
        await state.clear()
        await state.set_state(AltaFlow.numbers)
        await ask(message, _("alta.add.ask_numbers"))
        return
    await summarize(message, text, state, repos, user, settings, i18n)


async def numbers_typed(
    message: Message,
    state: FSMContext,
    repos: Repos,
    user: User,
    settings: Settings,
    i18n: PoI18n,
) -> None:
    await summarize(message, message.text or "", state, repos, user, settings, i18n)


def problems_text(parsed: ParsedNumbers, locale: str) -> str | None:
    if parsed.problems:
        lines = [number_problem_message(p, locale) for p in parsed.problems]
        return _("alta.add.bad_numbers").format(problems=html.quote("\n".join(lines)))
    if not parsed.valid:
        return _("alta.add.no_numbers")
    if len(parsed.valid) > MAX_NUMBERS:
        return _("alta.add.too_many").format(max=MAX_NUMBERS)
    return None


async def summarize(
    message: Message,
    text: str,
    state: FSMContext,
    repos: Repos,
    user: User,
    settings: Settings,
    i18n: PoI18n,
) -> None:
    """Check the numbers (all of them, before anything is sent), then show the summary."""
    parsed = split_numbers(text[:4000])
    problem = problems_text(parsed, i18n.current_locale)
    if problem is not None:
        log.info(
            "wagon add refused: %s",
            [(p.number, p.reason.value) for p in parsed.problems] or "no numbers",
            extra={"chat_id": message.chat.id, "user_id": user.id},
        )
        # It says «пришлите ещё раз»: the next message (a reply, in a group) is taken as numbers.
        await state.set_state(AltaFlow.numbers)
        await ask(message, problem)
        return
    await state.clear()
    payload: dict[str, Any] = {
        "wagons": parsed.wagons,
        "containers": parsed.containers,
        "region": settings.alta_region,
        "mode": settings.alta_track_type,
        "times": list(settings.alta_report_times),
        "days": list(settings.alta_weekdays),
        "stop": settings.alta_stop,
        "thread": topic_of(message),
        "defaults": {
            "times": list(settings.alta_report_times),
            "days": list(settings.alta_weekdays),
            "stop": settings.alta_stop,
        },
    }
    await ask_to_confirm(
        message,
        repos,
        user_id=user.id,
        action="alta.add",
        payload=payload,
        question=render_summary(payload),
        yes_text=_("alta.add.btn_yes"),
        no_text=_("alta.add.btn_no"),
        extra_rows=lambda token: settings_rows(token, payload),
    )


# --- the summary and its settings ------------------------------------------------------------


def times_text(times: list[str]) -> str:
    return ", ".join(times)


def days_text(days: list[int]) -> str:
    if sorted(days) == list(range(7)):
        return _("alta.days.all")
    if sorted(days) == [1, 2, 3, 4, 5]:
        return _("alta.days.workdays")
    names = _("alta.days.names").split(",")
    return ", ".join(names[d] for d in sorted(days))


def stop_text(stop: str) -> str:
    if stop == "yes":
        return _("alta.stop.yes")
    if stop == "no":
        return _("alta.stop.no")
    return _("alta.stop.esr").format(code=html.quote(stop))


def region_text(region: str) -> str:
    return _("alta.region.sng") if region == Region.SNG else _("alta.region.ru")


def mode_text(mode: str) -> str:
    return _("alta.mode.trip") if mode == TrackMode.TRIP else _("alta.mode.daily")


def render_summary(payload: dict[str, Any]) -> str:
    wagons, containers = payload["wagons"], payload["containers"]
    lines = [_("alta.add.summary_title")]
    if wagons:
        lines.append(
            _("alta.add.summary_wagons").format(count=len(wagons), numbers=", ".join(wagons))
        )
    if containers:
        lines.append(
            _("alta.add.summary_containers").format(
                count=len(containers), numbers=", ".join(containers)
            )
        )
    lines += [
        _("alta.add.summary_region").format(region=region_text(payload["region"])),
        _("alta.add.summary_mode").format(mode=mode_text(payload["mode"])),
        _("alta.add.summary_times").format(times=times_text(payload["times"])),
        _("alta.add.summary_days").format(days=days_text(payload["days"])),
        _("alta.add.summary_stop").format(stop=stop_text(payload["stop"])),
        "",
        _("alta.add.summary_hint"),
    ]
    return "\n".join(lines)


def settings_rows(token: str, payload: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    def button(what: str, text: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=AltaAddCb(token=token, what=what).pack()
        )

    return [
        [
            button("region", _("alta.add.btn_region").format(value=region_text(payload["region"]))),
            button("mode", _("alta.add.btn_mode").format(value=mode_text(payload["mode"]))),
        ],
        [
            button("times", _("alta.add.btn_times").format(value=times_text(payload["times"]))),
            button("days", _("alta.add.btn_days").format(value=days_text(payload["days"]))),
        ],
        [button("stop", _("alta.add.btn_stop").format(value=stop_text(payload["stop"])))],
    ]


def next_of(options: list[Any], current: Any) -> Any:
    """The option after ``current`` (the first when ``current`` is not among them)."""
    unique: list[Any] = []
    for option in options:
        if option not in unique:
            unique.append(option)
    if current not in unique:
        return unique[0]
    return unique[(unique.index(current) + 1) % len(unique)]


def changed(payload: dict[str, Any], what: str) -> dict[str, Any]:
    """The payload with one setting moved to its next choice."""
    defaults = payload.get("defaults") or {}
    new = dict(payload)
    if what == "region":
        new["region"] = Region.SNG.value if payload["region"] == Region.RU else Region.RU.value
    elif what == "mode":
        new["mode"] = (
            TrackMode.TRIP.value if payload["mode"] == TrackMode.DAILY else TrackMode.DAILY.value
        )
    elif what == "times":
        options = [defaults.get("times") or []] + [list(p) for p in TIME_PRESETS]
        new["times"] = next_of([o for o in options if o], payload["times"])
    elif what == "days":
        options = [defaults.get("days") or []] + [list(p) for p in DAY_PRESETS]
        new["days"] = next_of([o for o in options if o], payload["days"])
    elif what == "stop":
        new["stop"] = next_of([defaults.get("stop") or "yes", "yes", "no"], payload["stop"])
    return new


async def setting_pressed(
    callback: CallbackQuery, callback_data: AltaAddCb, repos: Repos, user: User
) -> None:
    pending = await repos.confirmations.pending(callback_data.token, user_id=user.id)
    if pending is None or pending.action != "alta.add" or callback_data.what not in SETTINGS:
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    payload = changed(dict(pending.payload), callback_data.what)
    if not await repos.confirmations.update_payload(
        callback_data.token, user_id=user.id, payload=payload
    ):
        await callback.answer(_("confirm.used"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            render_summary(payload),
            reply_markup=confirm_keyboard(
                callback_data.token,
                yes_text=_("alta.add.btn_yes"),
                no_text=_("alta.add.btn_no"),
                rows=settings_rows(callback_data.token, payload),
            ),
        )


# --- putting them on tracking ----------------------------------------------------------------


def str_list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


@on_confirm("alta.add", rule="wagon add")
async def add_confirmed(
    callback: CallbackQuery,
    confirmation: Confirmation,
    alta: AltaClient,
    alta_lookup: AltaLookup,
    repos: Repos,
    i18n: PoI18n,
) -> str:
    """One add (Alta answers a hash for the wagons and one for the containers); then each
    number gets its first snapshot (the watcher follows it) and this chat follows it."""
    payload = confirmation.payload
    wagons, containers = str_list(payload.get("wagons")), str_list(payload.get("containers"))
    stop = str(payload.get("stop") or "yes")
    days = [int(str(d)) for d in payload.get("days") or []]  # type: ignore[attr-defined]
    try:
        result = await alta.add(
            wagons + containers,
            region=str(payload.get("region") or "ru"),
            mode=str(payload.get("mode") or "daily"),
            times=str_list(payload.get("times")),
            days=days,
            stop_station=stop,
        )
    except AltaError as exc:
        log.warning("wagon add failed: %s", exc, extra={"chat_id": confirmation.chat_id})
        return error_html(exc, i18n.current_locale)
    now = utcnow()
    thread = int(str(payload.get("thread") or 0))
    placed: list[str] = []
    for numbers, request_hash in ((wagons, result.hash), (containers, result.cont_hash)):
        if not numbers or not request_hash:
            continue
        alta_lookup.learn(request_hash, numbers)
        for number in numbers:
            snapshot = initial_snapshot(number, request_hash, now, stop_station=stop)
            await repos.snapshots.put(SOURCE, number, snapshot)
            await repos.subscriptions.add(
                confirmation.chat_id,
                thread,
                "all",
                f"{snapshot['type']}:{number}",
                by=confirmation.user_id,
            )
            placed.append(number)
    await repos.audit.record(
        confirmation.user_id,
        "alta.add",
        ",".join(h for h in result.hashes),
        numbers=len(placed),
        region=str(payload.get("region")),
        mode=str(payload.get("mode")),
    )
    lines = [_("alta.add.done").format(count=len(placed), numbers=", ".join(placed))]
    for request_hash in result.hashes:
        lines.append(_("alta.card.hash").format(hash=html.quote(request_hash)))
    lines.append(_("alta.add.done_hint"))
    return "\n".join(lines)
