"""Texts of the Taxi-Master commands: the order card, prices, crews, tariffs, the summary.

Pure functions from Taxi-Master's models to Telegram HTML, so the handlers stay "parse, call,
render". Every value that comes from a person or from TMWeb (addresses, names, plates, tariff
names) is escaped here with ``html.quote``; the sentences come from the .po files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.money import money
from bot.phones import format_phone
from bot.texts import clip, format_time
from handlers.taximaster.callbacks import CrewMapCb, CrewsPageCb
from integrations.taximaster.crews import CrewIdentity
from integrations.taximaster.models import (
    CrewCoords,
    CrewStateKind,
    OrderCost,
    OrderState,
    PricedItem,
    RouteAnalysis,
    Tariff,
)

MAX_TEXT = 120  # an upstream string on one line of a card

STATE_ICONS = {
    "new_order": "🔎",
    "driver_assigned": "🚖",
    "car_at_place": "📍",
    "client_inside": "🛣",
    "finished": "🏁",
    "aborted": "❌",
}


def q(text: object) -> str:
    """An upstream or typed value, on one line, escaped."""
    return html.quote(clip(str(text), MAX_TEXT))


def state_words(state_kind: str) -> str:
    """A TMWeb order state in words; one the dispatch service added is shown as sent."""
    key = f"taximaster.state.{state_kind}"
    text = _(key)
    return q(state_kind or "?") if text == key else text


def km(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value else "0"


def map_link(lat: float, lon: float) -> str:
    return f"https://yandex.ru/maps/?pt={lon:.6f},{lat:.6f}&z=16"


@dataclass
class OrderView:
    """Everything the order card shows."""

    state: OrderState
    crew: CrewIdentity | None = None
    coords: CrewCoords | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # phone, source, dest, source_time


def crew_lines(crew: CrewIdentity) -> list[str]:
    """The crew's one identity (call sign · car · driver) and the driver's phone."""
    lines = [_("taximaster.card.crew").format(crew=q(crew.label))]
    if crew.driver_phone:
        lines.append(
            _("taximaster.card.driver_phone").format(phone=q(format_phone(crew.driver_phone)))
        )
    return lines


def render_order_card(view: OrderView, tz: ZoneInfo) -> str:
    """The order's card: its number and the passenger's phone in every state."""
    state = view.state
    lines = [
        _("taximaster.card.title").format(id=state.order_id),
        _("taximaster.card.state").format(
            icon=STATE_ICONS.get(state.state_kind, "ℹ️"), state=state_words(state.state_kind)
        ),
    ]
    extras = view.extras
    if extras.get("phone"):
        lines.append(_("taximaster.card.phone").format(phone=q(format_phone(str(extras["phone"])))))
    if extras.get("source"):
        lines.append(_("taximaster.card.source").format(source=q(extras["source"])))
    if extras.get("dest"):
        lines.append(_("taximaster.card.dest").format(dest=q(extras["dest"])))
    if extras.get("source_time"):
        try:
            moment = datetime.fromisoformat(str(extras["source_time"]))
            lines.append(_("taximaster.card.time").format(time=format_time(moment, tz)))
        except ValueError:
            pass
    if view.crew is not None:
        lines += crew_lines(view.crew)
    coords = view.coords
    if coords is not None and coords.has_fix and coords.lat is not None and coords.lon is not None:
        when = format_time(coords.coords_time, tz) if coords.coords_time else "—"
        lines.append(
            _("taximaster.card.position").format(
                link=html.quote(map_link(coords.lat, coords.lon)),
                lat=f"{coords.lat:.5f}",
                lon=f"{coords.lon:.5f}",
                time=when,
            )
        )
    elif state.crew_id and not state.is_final:
        lines.append(_("taximaster.card.no_position"))
    if state.is_final:
        lines.append(_("taximaster.card.watch_ended"))
    return "\n".join(lines)


def render_cost(
    cost: OrderCost, tariff: str, route: RouteAnalysis | None, *, with_dest: bool
) -> list[str]:
    """The price with its breakdown (TMWeb's ``info`` lines) and the kilometres."""
    lines = [_("taximaster.cost.total").format(sum=money(cost.sum), tariff=q(tariff))]
    if route is not None:
        if route.country_dist:
            lines.append(
                _("taximaster.cost.route_country").format(
                    city=km(route.city_dist), country=km(route.country_dist)
                )
            )
        else:
            lines.append(_("taximaster.cost.route_city").format(city=km(route.city_dist)))
    elif not with_dest:
        lines.append(_("taximaster.cost.no_dest"))
    for line in cost.info:
        if line.comment or line.sum:
            lines.append(
                _("taximaster.cost.line").format(comment=q(line.comment), sum=q(money(line.sum)))
            )
    return lines


def render_summary(data: dict[str, Any], price: Sequence[str], tz: ZoneInfo) -> str:
    lines = [
        _("taximaster.taxi.summary"),
        _("taximaster.taxi.summary_phone").format(phone=q(data["phone_shown"])),
        _("taximaster.card.source").format(source=q(data["source"])),
        _("taximaster.card.dest").format(dest=q(data["dest"]))
        if data.get("dest")
        else _("taximaster.taxi.summary_no_dest"),
        _("taximaster.taxi.summary_time").format(
            time=_("taximaster.taxi.now")
            if data.get("now")
            else format_time(datetime.fromisoformat(data["source_time"]), tz)
        ),
        _("taximaster.taxi.summary_group").format(group=q(data["group_name"]))
        if data.get("group_name")
        else _("taximaster.taxi.summary_any_group"),
        "",
        *price,
    ]
    return "\n".join(lines)


def crew_state_words(state_kind: str) -> str:
    key = f"taximaster.crew_state.{state_kind}"
    text = _(key)
    return q(state_kind or "?") if text == key else text


CREWS_PAGE = 10
_STATE_ORDER = {CrewStateKind.WAITING: 0, CrewStateKind.ON_ORDER: 1}
_GROUP_TITLES = ("taximaster.crews.free", "taximaster.crews.busy", "taximaster.crews.other")


def _group(crew: CrewCoords) -> int:
    return _STATE_ORDER.get(crew.state_kind, 2)  # type: ignore[call-overload]


def by_state(crews: Sequence[CrewCoords]) -> list[CrewCoords]:
    """Free first, then on an order, then the rest; by call sign within each."""
    return sorted(crews, key=lambda c: (_group(c), c.crew_code or "", c.crew_id))


def render_crews(
    everyone: Sequence[CrewCoords],
    shown: Sequence[CrewCoords],
    identities: Sequence[CrewIdentity],
    *,
    page: int,
    pages: int,
) -> list[str]:
    """A page of /crews: each crew by its one identity, under its state group's heading."""
    if not everyone:
        return [_("taximaster.crews.none")]
    counts = [sum(1 for c in everyone if _group(c) == g) for g in range(3)]
    lines = [_("taximaster.crews.title").format(count=len(everyone))]
    if pages > 1:
        lines[0] += " " + _("taximaster.crews.page").format(page=page + 1, pages=pages)
    group = -1
    for crew, identity in zip(shown, identities, strict=True):
        if _group(crew) != group:
            group = _group(crew)
            lines += ["", _(_GROUP_TITLES[group]).format(count=counts[group])]
        if group == 2:
            lines.append(
                _("taximaster.crews.line_state").format(
                    crew=q(identity.label), state=crew_state_words(crew.state_kind)
                )
            )
        else:
            lines.append(_("taximaster.crews.line").format(crew=q(identity.label)))
    lines += ["", _("taximaster.crews.map_hint")]
    return lines


def crews_keyboard(
    shown: Sequence[CrewCoords],
    identities: Sequence[CrewIdentity],
    *,
    page: int,
    pages: int,
) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(
            text=f"📍 {clip(identity.code or str(crew.crew_id), 20)}",
            callback_data=CrewMapCb(crew_id=crew.crew_id).pack(),
        )
        for crew, identity in zip(shown, identities, strict=True)
        if crew.has_fix
    ]
    return paged_keyboard(
        buttons,
        back=CrewsPageCb(page=page - 1) if page > 0 else None,
        forward=CrewsPageCb(page=page + 1) if page < pages - 1 else None,
    )


def paged_keyboard(
    buttons: Sequence[InlineKeyboardButton],
    *,
    back: CallbackData | None,
    forward: CallbackData | None,
) -> InlineKeyboardMarkup | None:
    """A page's buttons four a row, then ◀️ ▶️ to the pages around it (None: no buttons)."""
    keyboard = InlineKeyboardBuilder()
    for start in range(0, len(buttons), 4):
        keyboard.row(*buttons[start : start + 4])
    arrows = [
        InlineKeyboardButton(text=text, callback_data=data.pack())
        for text, data in (("◀️", back), ("▶️", forward))
        if data is not None
    ]
    if arrows:
        keyboard.row(*arrows)
    return keyboard.as_markup() if buttons or arrows else None


def point_caption(crew: CrewIdentity, coords: CrewCoords, tz: ZoneInfo) -> str:
    """The line under a crew's map point: whose point it is, and how old."""
    when = format_time(coords.coords_time, tz) if coords.coords_time else "—"
    return _("taximaster.crews.point").format(crew=q(crew.label), time=when)


def render_tariffs(
    tariffs: Sequence[Tariff],
    services: Sequence[PricedItem],
    discounts: Sequence[PricedItem],
    default_id: int | None,
) -> list[str]:
    lines = [_("taximaster.tariffs.title")]
    if not tariffs:
        lines.append(_("taximaster.tariffs.empty"))
    for tariff in tariffs:
        if not tariff.active:
            key = "taximaster.tariffs.inactive"
        elif tariff.id == default_id:
            key = "taximaster.tariffs.default"
        else:
            key = "taximaster.tariffs.line"
        lines.append(_(key).format(name=q(tariff.name), id=tariff.id))
    for title_key, items in (
        ("taximaster.tariffs.services", services),
        ("taximaster.tariffs.discounts", discounts),
    ):
        lines += ["", _(title_key)]
        if not items:
            lines.append(_("taximaster.tariffs.empty"))
        for item in items:
            lines.append(
                _("taximaster.tariffs.priced").format(name=q(item.name), value=priced(item))
            )
    return lines


def priced(item: PricedItem) -> str:
    parts = []
    if item.sum:
        parts.append(_("taximaster.tariffs.sum").format(sum=money(item.sum)))
    if item.percent:
        parts.append(_("taximaster.tariffs.percent").format(percent=percent(item.percent)))
    return " + ".join(parts) or "—"


def percent(value: float) -> str:
    return f"{value:g}"
