"""A wagon's (or container's) dislocation card: station (name and code), operation and when,
destination, distance left, and how old the report is.

:func:`wagon_card` renders it from a number alone (finding its request and latest report), so
other commands may answer with the same card.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.texts import format_ago
from handlers.alta.lookup import AltaLookup
from integrations.alta.models import Dislocation, ShowResult, esr5, parse_alta_date
from integrations.alta.numbers import NumberKind, number_kind
from integrations.alta.pairing import pair_rows
from storage.db import utcnow

log = logging.getLogger("handlers.alta")


@dataclass(frozen=True)
class Place:
    """The facts a card shows, from a live report or from the stored snapshot."""

    station: str = ""
    station_name: str = ""
    operation: str = ""
    operation_at: datetime | None = None
    destination: str = ""
    destination_name: str = ""
    distance_left_km: float | None = None
    report_at: datetime | None = None

    @property
    def no_data(self) -> bool:
        return not self.station

    @classmethod
    def of(cls, row: Dislocation) -> Place:
        return cls(
            row.station,
            row.station_name,
            row.operation,
            row.operation_at,
            row.destination,
            row.destination_name,
            row.distance_left_km,
            row.report_at,
        )

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> Place:
        distance = snapshot.get("distance_left_km")
        return cls(
            str(snapshot.get("station") or ""),
            str(snapshot.get("station_name") or ""),
            str(snapshot.get("operation") or ""),
            parse_alta_date(snapshot.get("operation_at")),
            str(snapshot.get("destination") or ""),
            str(snapshot.get("destination_name") or ""),
            float(distance) if isinstance(distance, int | float) else None,
            parse_alta_date(snapshot.get("report_at")),
        )


def station_text(name: str, code: str) -> str:
    if name and code:
        return f"{html.quote(name)} ({html.quote(code)})"
    return html.quote(name or code)


def short_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def render_wagon_card(
    number: str,
    place: Place | None,
    tz: ZoneInfo,
    *,
    request_hash: str = "",
    title: str = "",
    stored: bool = False,
    ended: bool = False,
    now: datetime | None = None,
) -> str:
    """The card; ``place`` None or without a station: no report yet. ``stored``: the place is
    the bot's last saved report (Alta may not be asked again within the minute)."""
    now = now or utcnow()
    head_key = (
        "alta.card.container"
        if number_kind(number) is NumberKind.CONTAINER
        else ("alta.card.wagon")
    )
    lines = [_(head_key).format(number=html.quote(number))]
    if title and number not in title:
        lines[0] += f" · {html.quote(title)}"
    elif title and title != number:
        lines[0] = lines[0].replace(html.quote(number), html.quote(title), 1)
    if place is None or place.no_data:
        lines.append(_("alta.card.no_data"))
    else:
        lines.append(
            _("alta.card.station").format(station=station_text(place.station_name, place.station))
        )
        if place.operation or place.operation_at:
            when = short_time(place.operation_at, tz) if place.operation_at else ""
            operation = html.quote(place.operation) if place.operation else "—"
            lines.append(
                _("alta.card.operation").format(operation=operation, when=when).rstrip(" ·")
            )
        # No line repeats the one above it: a wagon standing at its destination says so once
        # instead of naming the station twice (and "0 km left"); a report whose time is the
        # operation's says only how old it is.
        at_destination = bool(place.destination) and esr5(place.destination) == esr5(place.station)
        if at_destination:
            lines.append(_("alta.card.at_destination"))
        elif place.destination or place.destination_name:
            lines.append(
                _("alta.card.destination").format(
                    station=station_text(place.destination_name, place.destination)
                )
            )
        if place.distance_left_km is not None and not at_destination:
            lines.append(
                _("alta.card.distance").format(
                    km=f"{place.distance_left_km:,.0f}".replace(",", " ")
                )
            )
        report_at = place.report_at or place.operation_at
        if report_at is not None and report_at == place.operation_at:
            lines.append(_("alta.card.report_age").format(ago=format_ago(report_at, now)))
        elif report_at is not None:
            lines.append(
                _("alta.card.report").format(
                    ago=format_ago(report_at, now), time=short_time(report_at, tz)
                )
            )
    if ended:
        lines.append(_("alta.card.ended"))
    if stored:
        lines.append(_("alta.card.stored"))
    if request_hash:
        lines.append(_("alta.card.hash").format(hash=html.quote(request_hash)))
    return "\n".join(lines)


def row_for(number: str, result: ShowResult | None, request_size: int | None) -> Dislocation | None:
    """The row of ``number`` in a report (integrations.alta.pairing: a one-number request
    pairs with its one row); rows naming no number are logged, not shown as someone's."""
    if result is None:
        return None
    pairing = pair_rows(result.reports, [number], request_size=request_size)
    if pairing.unpaired:
        log.warning(
            "alta: %s row(s) of request %s name no number (card of %s)",
            len(pairing.unpaired),
            result.hash,
            number,
        )
    return pairing.rows.get(number)


async def wagon_card(number: str, lookup: AltaLookup, tz: ZoneInfo) -> str:
    """The card of ``number`` (valid, normalised): its request found, its latest report read
    (or the last one stored when Alta may not be asked yet). Raises the client's AltaError."""
    request_hash = await lookup.find_hash(number)
    if request_hash is None:
        return _("alta.card.unknown").format(number=html.quote(number))
    snapshot = await lookup.snapshot(number) or {}
    title = str(snapshot.get("title") or "")
    ended = bool(snapshot.get("ended")) and snapshot.get("hash") == request_hash
    size = len(lookup.numbers_of.get(request_hash) or []) or None
    row = None if ended else row_for(number, await lookup.report(request_hash), size)
    if row is not None:
        return render_wagon_card(number, Place.of(row), tz, request_hash=request_hash, title=title)
    stored_place = Place.from_snapshot(snapshot) if snapshot else None
    return render_wagon_card(
        number,
        stored_place,
        tz,
        request_hash=request_hash,
        title=title,
        stored=bool(stored_place and not stored_place.no_data) and not ended,
        ended=ended,
    )


async def request_cards(
    request_hash: str,
    lookup: AltaLookup,
    tz: ZoneInfo,
    limit: int,
    *,
    hidden: Collection[str] = (),
) -> list[str]:
    """Cards of every number of one request (``/wagon <hash>``), at most ``limit``; none of
    the ``hidden`` numbers (another chat's: handlers/alta/owners.py)."""
    result = await lookup.report(request_hash)
    if result is not None and not result.reports:
        result = None
    cards: list[str] = []
    if result is not None:
        rows = [r for r in result.reports if r.number and r.number not in hidden]
        if not hidden:  # rows without a number are shown when no number is held back
            rows = rows or result.reports
        for row in rows[:limit]:
            cards.append(
                render_wagon_card(row.number or "?", Place.of(row), tz, request_hash=request_hash)
            )
        if len(rows) > limit:
            cards.append(_("alta.card.more").format(count=len(rows) - limit))
        return cards
    numbers = await lookup.client.carr_list(request_hash)
    lookup.learn(request_hash, numbers)
    numbers = [n for n in numbers if n not in hidden]
    stored = await lookup.repos.snapshots.get("alta", numbers)
    for number in numbers[:limit]:
        snapshot = stored.get(number)
        place = Place.from_snapshot(snapshot) if snapshot else None
        cards.append(
            render_wagon_card(
                number,
                place,
                tz,
                request_hash=request_hash,
                stored=bool(place and not place.no_data),
            )
        )
    if len(numbers) > limit:
        cards.append(_("alta.card.more").format(count=len(numbers) - limit))
    return cards
