"""Texts of the Movizor commands: the driver card, the list page, events, links, money.

Pure functions from Movizor's models (and the bot's directory titles) to Telegram HTML, so the
handlers stay "parse, call, render". Every value that comes from a person or from Movizor
(titles, places, tags, client names, links) is escaped here with ``html.quote``; the sentences
themselves come from the .po files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.money import money
from bot.phones import format_phone
from bot.texts import format_ago, format_duration, format_time
from handlers.movizor.alert_fields import event_in_words
from integrations.movizor.models import (
    Balance,
    Event,
    Forecast,
    ObjectStatus,
    Operator,
    Position,
    ShareLink,
    TariffCalculation,
)
from storage.db import utcnow

STATUS_TEXTS: Final[dict[str, Any]] = {
    ObjectStatus.NEW: __("drivers.status.new"),
    ObjectStatus.WAIT: __("drivers.status.wait"),
    ObjectStatus.OK: __("drivers.status.ok"),
    ObjectStatus.ERROR: __("drivers.status.error"),
    ObjectStatus.REJECTED: __("drivers.status.rejected"),
    ObjectStatus.OFF: __("drivers.status.off"),
    ObjectStatus.OFF_NEW: __("drivers.status.off_new"),
    ObjectStatus.ERROR_EXISTS: __("drivers.status.error_exists"),
    ObjectStatus.NO_CONFIRMED: __("drivers.status.no_confirmed"),
    ObjectStatus.WRONG: __("drivers.status.wrong"),
    ObjectStatus.LIMITED: __("drivers.status.limited"),
}
TARIFF_PERIODS: Final[dict[str, Any]] = {
    "daily": __("drivers.operator.per_daily"),
    "package": __("drivers.operator.per_package"),
    "month": __("drivers.operator.per_month"),
}
# Movizor's operator ids, as people know the brands.
OPERATOR_NAMES: Final = {"mts": "МТС", "megafon": "МегаФон", "beeline": "Билайн", "tele2": "Tele2"}


def driver_title(title: str | None, phone: str) -> str:
    """The name to show (escaped): the directory title, or the phone when there is none."""
    return html.quote(title or format_phone(phone))


def status_text(status: str) -> str:
    """A Movizor status in words; an unknown new status is shown as Movizor sent it."""
    text = STATUS_TEXTS.get(status)
    return str(text) if text is not None else html.quote(str(status))


def format_money(value: float | None) -> str:
    return money(value)


def format_km(km: float) -> str:
    return f"{km:.0f}" if km >= 10 else f"{km:.1f}"


def forecast_line(position: Position) -> str | None:
    status = position.distance_forecast_status
    if status == Forecast.OK:
        return _("drivers.card.on_time")
    if status == Forecast.LATE:
        return _("drivers.card.late")
    if status == Forecast.FINISHED:
        return _("drivers.card.finished")
    return None


def card_header(title: str | None, phone: str) -> list[str]:
    return [
        _("drivers.card.title").format(title=driver_title(title, phone)),
        _("drivers.card.phone").format(phone=format_phone(phone)),
    ]


def position_lines(position: Position, tz: ZoneInfo, now: datetime | None = None) -> list[str]:
    """Place, accuracy, age, distance left and forecast of one position. No coordinates: the
    card always comes with the map point, and a line would only repeat it."""
    if not position.has_fix:
        return [_("drivers.card.no_fix")]
    now = now or utcnow()
    lines = [
        _("drivers.card.place").format(place=html.quote(position.place))
        if position.place
        else _("drivers.card.no_place"),
    ]
    if position.radius:
        lines.append(_("drivers.card.accuracy").format(radius=position.radius))
    if position.timestamp is not None:
        lines.append(
            _("drivers.card.when").format(
                ago=format_ago(position.timestamp, now), time=format_time(position.timestamp, tz)
            )
        )
    if position.distance is not None and position.distance_forecast_status is not None:
        lines.append(_("drivers.card.distance").format(km=format_km(position.distance)))
    if position.eta is not None and position.distance_forecast_status != Forecast.FINISHED:
        lines.append(_("drivers.card.eta").format(duration=format_duration(position.eta)))
    if (forecast := forecast_line(position)) is not None:
        lines.append(forecast)
    return lines


def render_card(title: str | None, phone: str, position: Position, tz: ZoneInfo) -> str:
    return "\n".join([*card_header(title, phone), *position_lines(position, tz)])


def render_card_note(title: str | None, phone: str, note: str) -> str:
    """The card while refreshing, or after a refresh that brought no position."""
    return "\n".join([*card_header(title, phone), "", note])


def render_driver_row(
    number: int, title: str | None, phone: str, status: str, position: Position | None
) -> str:
    if position is not None and position.has_fix:
        place = html.quote(position.place) if position.place else _("drivers.list.no_place")
        if position.timestamp is not None:
            place = _("drivers.list.place_when").format(
                place=place, ago=format_ago(position.timestamp, utcnow())
            )
    else:
        place = _("drivers.list.no_position")
    shown = status_text(status)
    if position is not None and position.distance_forecast_status == Forecast.LATE:
        shown = _("drivers.list.late").format(status=shown)
    return _("drivers.list.line").format(
        n=number,
        title=driver_title(title, phone),
        phone=format_phone(phone),
        status=shown,
        place=place,
    )


def render_drivers_header(count: int, page: int, pages: int, tag: str) -> str:
    if tag:
        return _("drivers.list.title_tag").format(
            tag=html.quote(tag), count=count, page=page + 1, pages=pages
        )
    return _("drivers.list.title").format(count=count, page=page + 1, pages=pages)


def render_event(event: Event, title: str | None, tz: ZoneInfo) -> str:
    """One event line, in the chat's zone and language (the same words as the alerts)."""
    when = format_time(event.timestamp, tz) if event.timestamp else "—"
    return _("drivers.events.line").format(
        time=when,
        title=driver_title(title, event.phone) if event.phone else "—",
        what=html.quote(event_in_words(str(event.type), tz)),
    )


def render_share(share: ShareLink) -> str:
    limit = str(share.req_limit) if share.req_limit else _("drivers.shares.unlimited")
    return _("drivers.shares.line").format(
        client=html.quote(share.client) if share.client else _("drivers.shares.no_client"),
        link=html.quote(share.link),
        count=share.cnt if share.cnt is not None else "?",
        used=share.req_cnt or 0,
        limit=limit,
        key=html.quote(share.key),
    )


def operator_name(operator_id: str) -> str:
    return html.quote(OPERATOR_NAMES.get(operator_id, operator_id))


def render_balance(balance: Balance) -> list[str]:
    lines = [_("drivers.balance.title").format(balance=format_money(balance.balance))]
    if balance.credit:
        lines.append(_("drivers.balance.credit").format(credit=format_money(balance.credit)))
    if balance.tariffs:
        lines += ["", _("drivers.balance.tariffs")]
    for operator_id, tariffs in balance.tariffs.items():
        lines.append(_("drivers.balance.operator").format(operator=operator_name(operator_id)))
        for tariff_id, tariff in tariffs.items():
            lines.append(
                _("drivers.balance.tariff").format(
                    title=html.quote(tariff.title or tariff_id),
                    id=html.quote(tariff_id),
                    abon=format_money(tariff.abon),
                    request=format_money(tariff.request),
                )
            )
    return lines


def render_operator(
    phone: str, operator: Operator, tariff_title: str, price: TariffCalculation | None
) -> str:
    lines = [
        _("drivers.operator.info").format(
            phone=format_phone(phone),
            operator=html.quote(operator.title or operator_name(operator.operator)),
            region=html.quote(operator.region) if operator.region else "—",
        )
    ]
    if price is None:
        lines.append(_("drivers.operator.no_tariff").format(tariff=html.quote(tariff_title)))
    else:
        period = TARIFF_PERIODS.get(price.type)
        lines.append(
            _("drivers.operator.tariff").format(
                tariff=html.quote(tariff_title),
                price=format_money(price.price),
                per=str(period) if period is not None else html.quote(price.type),
            )
        )
        if price.description_text:
            lines.append(html.quote(price.description_text))
    return "\n".join(lines)


def render_route_points(points: Sequence[dict[str, Any]], tz: ZoneInfo) -> list[str]:
    """Wizard points (``text`` and ISO ``at``) as numbered lines."""
    lines = []
    for number, point in enumerate(points, start=1):
        at = point.get("at")
        when = format_time(datetime.fromisoformat(at), tz) if at else "—"
        lines.append(
            _("drivers.track.summary_point").format(
                n=number, place=html.quote(point["text"]), time=when
            )
        )
    return lines


def render_track_summary(data: dict[str, Any], tz: ZoneInfo) -> str:
    """What the confirm button will send: driver, route, auto-off and tags."""
    phone = data["phone"]
    lines = [
        _("drivers.track.summary_title"),
        _("drivers.track.summary_driver").format(
            title=driver_title(data.get("title"), phone), phone=format_phone(phone)
        ),
        _("drivers.track.summary_route"),
        *render_route_points(data["points"], tz),
    ]
    if data.get("mode") == "track":
        dateoff = data.get("dateoff")
        lines.append(
            _("drivers.track.summary_dateoff").format(
                time=format_time(datetime.fromisoformat(dateoff), tz) if dateoff else "—"
            )
        )
        tags = data.get("tags") or []
        lines.append(
            _("drivers.track.summary_tags").format(
                tags=html.quote(", ".join(tags)) if tags else "—"
            )
        )
        lines += ["", _("drivers.track.summary_confirm")]
    else:
        lines += ["", _("drivers.route.summary_confirm")]
    return "\n".join(lines)
