"""/orders: the taxi orders the bot knows — live ones, today's finished ones, and creates whose
outcome is still unknown — with number, route, crew and state, a page at a time.

"Knows" means created by the bot or watched by a chat (the watcher's snapshots, kept until the
dispatch service's day is over once an order ends), not every order of the TMWeb server — and
of those, only the ones this viewer may see (bot/ownership.py: made or watched by this chat,
in private also by the groups the person is in). No call to Taxi-Master: the list is what the
watcher last read. A button under each order opens its card (/order).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.ownership import Ownership, Viewer
from bot.phones import format_phone
from bot.texts import format_time
from handlers.taximaster.callbacks import OrderCb, OrdersPageCb
from handlers.taximaster.pending import order_line
from handlers.taximaster.render import (
    STATE_ICONS,
    paged_keyboard,
    q,
    state_words,
)
from integrations.taximaster.crews import CrewIdentity
from integrations.taximaster.models import FINAL_STATES, OrderStateKind
from integrations.taximaster.watcher import SOURCE
from storage import Repos
from storage.db import utcnow
from storage.taximaster import UNSETTLED, CreateRecord

PAGE: Final = 8
UNKNOWN_FOR: Final = timedelta(days=1)
# Live orders by what a dispatcher looks at first: at the door, waiting for a crew, on the way.
_URGENCY: Final[dict[str, int]] = {
    OrderStateKind.CAR_AT_PLACE: 0,
    OrderStateKind.NEW_ORDER: 1,
    OrderStateKind.DRIVER_ASSIGNED: 2,
    OrderStateKind.CLIENT_INSIDE: 3,
}


@dataclass(frozen=True)
class Entry:
    section: str  # "live" | "finished" | "unknown"
    lines: list[str]
    order_id: int | None = None


async def orders(
    message: Message, repos: Repos, viewer: Viewer, ownership: Ownership, timezone: ZoneInfo
) -> None:
    text, keyboard = await orders_page(repos, viewer, ownership, timezone, 0)
    await message.answer(text, reply_markup=keyboard)


async def orders_page_pressed(
    callback: CallbackQuery,
    callback_data: OrdersPageCb,
    repos: Repos,
    viewer: Viewer,
    ownership: Ownership,
    timezone: ZoneInfo,
) -> None:
    text, keyboard = await orders_page(repos, viewer, ownership, timezone, callback_data.page)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


async def seen_by(
    viewer: Viewer,
    ownership: Ownership,
    snapshots: Mapping[str, Mapping[str, Any]],
    unknown: Sequence[CreateRecord],
) -> tuple[dict[str, Mapping[str, Any]], list[CreateRecord]]:
    """The orders and the unknown creates among these that ``viewer`` may see."""
    subjects = {order_id: f"order:{order_id}" for order_id in snapshots}
    visible = await ownership.visible(viewer, subjects.values())
    shown = {k: v for k, v in snapshots.items() if subjects[k] in visible}
    creates = [r for r in unknown if await ownership.sees_chat(viewer, r.chat_id, r.user_id)]
    return shown, creates


async def orders_page(
    repos: Repos, viewer: Viewer, ownership: Ownership, tz: ZoneInfo, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    snapshots = await repos.snapshots.get(SOURCE)
    unknown = await repos.taximaster.in_states(UNSETTLED, since=utcnow() - UNKNOWN_FOR)
    entries = known_orders(*await seen_by(viewer, ownership, snapshots, unknown), tz)
    if not entries:
        return _("taximaster.orders.none"), None
    pages = max(1, -(-len(entries) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE : (page + 1) * PAGE]
    counts = {s: sum(1 for e in entries if e.section == s) for s in ("live", "finished", "unknown")}
    lines = [_("taximaster.orders.title").format(count=counts["live"])]
    if pages > 1:
        lines[0] += " " + _("taximaster.crews.page").format(page=page + 1, pages=pages)
    section = ""
    for entry in shown:
        if entry.section != section:
            section = entry.section
            lines += ["", _(f"taximaster.orders.{section}").format(count=counts[section])]
        lines += entry.lines
    return "\n".join(lines), _keyboard(shown, page, pages)


def known_orders(
    snapshots: Mapping[str, Mapping[str, Any]], unknown: Sequence[CreateRecord], tz: ZoneInfo
) -> list[Entry]:
    """Live orders (most urgent first), then today's finished (latest first), then the creates
    nobody knows the fate of."""
    live = [s for s in snapshots.values() if s.get("state_kind") not in FINAL_STATES]
    done = [s for s in snapshots.values() if s.get("state_kind") in FINAL_STATES]
    live.sort(key=lambda s: (_URGENCY.get(str(s.get("state_kind")), 4), -_id(s)))
    done.sort(key=lambda s: (str(s.get("final_at") or ""), _id(s)), reverse=True)
    entries = [Entry("live", _order_lines(s, tz), _id(s)) for s in live]
    entries += [Entry("finished", _order_lines(s, tz), _id(s)) for s in done]
    entries += [
        Entry(
            "unknown", [_("taximaster.orders.unknown_line").format(order=order_line(r.payload, tz))]
        )
        for r in unknown
    ]
    return entries


def _id(snapshot: Mapping[str, Any]) -> int:
    try:
        return int(snapshot.get("order_id") or 0)
    except (TypeError, ValueError):
        return 0


def _order_lines(snapshot: Mapping[str, Any], tz: ZoneInfo) -> list[str]:
    kind = str(snapshot.get("state_kind") or "")
    head = _("taximaster.orders.head").format(
        icon=STATE_ICONS.get(kind, "ℹ️"), id=_id(snapshot), state=state_words(kind)
    )
    lines = [head]
    details = []
    if snapshot.get("source"):  # unknown for an order looked up on the document's server
        route = q(snapshot["source"])
        if snapshot.get("dest"):
            route += " → " + q(snapshot["dest"])
        details.append(route)
    if snapshot.get("source_time"):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(str(snapshot["source_time"]))
            details.append("🕐 " + format_time(moment, tz))
    if snapshot.get("phone"):
        details.append("📞 " + q(format_phone(str(snapshot["phone"]))))
    if details:
        lines.append("   " + " · ".join(details))
    crew = CrewIdentity.from_dict(snapshot.get("crew") or {})
    if crew is not None:
        lines.append("   " + _("taximaster.card.crew").format(crew=q(crew.label)))
    return lines


def _keyboard(shown: Sequence[Entry], page: int, pages: int) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(
            text=f"🚕 {e.order_id}",
            callback_data=OrderCb(action="open", order_id=e.order_id).pack(),
        )
        for e in shown
        if e.order_id
    ]
    return paged_keyboard(
        buttons,
        back=OrdersPageCb(page=page - 1) if page > 0 else None,
        forward=OrdersPageCb(page=page + 1) if page < pages - 1 else None,
    )
