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
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.phones import format_phone
from bot.texts import clip, format_time
from handlers.taximaster.callbacks import CrewMapCb, OrderCb
from integrations.taximaster.models import (
    CarInfo,
    CrewCoords,
    CrewStateKind,
    DriverInfo,
    NamedItem,
    OrderCost,
    OrderState,
    PricedItem,
    RouteAnalysis,
)

MAX_TEXT = 120  # an upstream string on one line of a card
MAX_CREW_BUTTONS = 24

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


def money(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def km(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value else "0"


def map_link(lat: float, lon: float) -> str:
    return f"https://yandex.ru/maps/?pt={lon:.6f},{lat:.6f}&z=16"


@dataclass
class OrderView:
    """Everything the order card shows."""

    state: OrderState
    car: CarInfo | None = None
    driver: DriverInfo | None = None
    crew_code: str = ""
    coords: CrewCoords | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # source, dest, source_time


def car_text(mark: str, model: str, color: str, plate: str) -> str:
    parts = [" ".join(p for p in (mark, model) if p), color, plate]
    return ", ".join(q(p) for p in parts if p)


def render_order_card(view: OrderView, tz: ZoneInfo) -> str:
    state = view.state
    lines = [
        _("taximaster.card.title").format(id=state.order_id),
        _("taximaster.card.state").format(
            icon=STATE_ICONS.get(state.state_kind, "ℹ️"), state=state_words(state.state_kind)
        ),
    ]
    extras = view.extras
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
    if view.car is not None:
        car = view.car
        text = car_text(car.mark, car.model or car.name, car.color, car.gos_number)
        if text:
            lines.append(_("taximaster.card.car").format(car=text))
    if view.driver is not None and (view.driver.name or view.driver.mobile_phone):
        phone = format_phone(view.driver.mobile_phone)
        who = ", ".join(q(p) for p in (view.driver.name, phone) if p)
        lines.append(_("taximaster.card.driver").format(driver=who))
    if view.crew_code:
        lines.append(_("taximaster.card.crew").format(code=q(view.crew_code)))
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


def refresh_keyboard(order_id: int) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=_("taximaster.btn.refresh"), callback_data=OrderCb(action="refresh", order_id=order_id)
    )
    return keyboard.as_markup()


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
            lines.append(_("taximaster.cost.line").format(comment=q(line.comment), sum=q(line.sum)))
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


def render_crews(crews: Sequence[CrewCoords]) -> list[str]:
    if not crews:
        return [_("taximaster.crews.none")]
    free = [c for c in crews if c.state_kind == CrewStateKind.WAITING]
    busy = [c for c in crews if c.state_kind == CrewStateKind.ON_ORDER]
    other = [c for c in crews if c not in free and c not in busy]
    lines = [_("taximaster.crews.title").format(count=len(crews))]
    for title_key, group in (
        ("taximaster.crews.free", free),
        ("taximaster.crews.busy", busy),
        ("taximaster.crews.other", other),
    ):
        if not group:
            continue
        lines += ["", _(title_key).format(count=len(group))]
        for crew in group:
            code = q(crew.crew_code or crew.crew_id)
            if group is other:
                lines.append(
                    _("taximaster.crews.line_state").format(
                        code=code, state=crew_state_words(crew.state_kind)
                    )
                )
            else:
                lines.append(_("taximaster.crews.line").format(code=code))
    return lines


def crews_keyboard(crews: Sequence[CrewCoords]) -> InlineKeyboardMarkup | None:
    with_fix = [c for c in crews if c.has_fix][:MAX_CREW_BUTTONS]
    if not with_fix:
        return None
    keyboard = InlineKeyboardBuilder()
    for crew in with_fix:
        keyboard.button(
            text=f"📍 {clip(crew.crew_code or str(crew.crew_id), 20)}",
            callback_data=CrewMapCb(crew_id=crew.crew_id),
        )
    keyboard.adjust(4)
    return keyboard.as_markup()


def render_tariffs(
    tariffs: Sequence[NamedItem],
    services: Sequence[PricedItem],
    discounts: Sequence[PricedItem],
    default_id: int | None,
) -> list[str]:
    lines = [_("taximaster.tariffs.title")]
    if not tariffs:
        lines.append(_("taximaster.tariffs.empty"))
    for tariff in tariffs:
        key = "taximaster.tariffs.default" if tariff.id == default_id else "taximaster.tariffs.line"
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
        parts.append(_("taximaster.tariffs.percent").format(percent=money(item.percent)))
    return " + ".join(parts) or "—"
