"""How one chat's due outbox rows become Telegram messages (pure: no network, no storage).

- Every status card goes alone (it is edited in place, or posted anew).
- Routine news of one subject (a wagon moved a station, a task field filled: ``routine`` kinds)
  is folded into ONE line: its latest state and "… и ещё N изменений". Every row is kept and
  marked sent with that message: nothing is lost, and the count says how much was folded.
- The rest waiting for one chat (forum topic) is grouped into one message ("N оповещений"),
  split under Telegram's 4096 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.alerts.kinds import KINDS
from bot.alerts.render import (
    MAX_TITLE,
    RenderContext,
    alert_keyboard,
    kind_title,
    latest_places,
    render_alert,
    render_group,
)
from bot.texts import Rich, clip, fill
from integrations.base import Alert, Location, Severity
from storage.outbox import OutboxRow

MAX_GROUP = 50  # alerts per grouped message (before the 4096 split)
MAX_GROUP_PINS = 3  # map pins owed for a grouped message: the latest per subject


@dataclass
class Recipient:
    """The chat a job is sending to; a group's id changes when it becomes a supergroup."""

    id: int
    ids: list[int] = field(default_factory=list)  # every id it had during the job

    def __post_init__(self) -> None:
        self.ids.append(self.id)


@dataclass
class Item:
    """One alert as shown, standing for ``rows`` (several when routine news was folded)."""

    rows: list[OutboxRow]
    alert: Alert  # the latest: what the line shows

    @property
    def folded(self) -> int:
        return len(self.rows) - 1

    @property
    def kind(self) -> str:
        return self.rows[-1].kind


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send for some outbox rows."""

    rows: list[OutboxRow]
    thread_id: int
    text: Rich
    keyboard: InlineKeyboardMarkup | None
    silent: bool
    pins: list[tuple[str, Location]]  # (subject key, place): owed once the message is sent
    card: str | None = None  # subject key: a status card
    buzz: bool = False  # the card is posted anew (a new message that rings), not edited
    # For a card edited in place: the short line that points to it when it is far up the chat.
    pointer: Rich | None = field(default=None, compare=False)

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


def severity(row: OutboxRow) -> Severity:
    try:
        return Severity(row.severity)
    except ValueError:
        return Severity.NORMAL


def is_card(kind: str) -> bool:
    spec = KINDS.get(kind)
    return spec is not None and spec.card


def is_routine(kind: str) -> bool:
    spec = KINDS.get(kind)
    return spec is not None and spec.routine


def fold_routine(pairs: list[tuple[OutboxRow, Alert]]) -> list[Item]:
    """One item per alert, except routine news: one item per (topic, subject), showing the
    latest, in the place of its first row."""
    items: list[Item] = []
    routine: dict[tuple[int, str, bool], Item] = {}
    for row, alert in pairs:
        if not is_routine(row.kind):
            items.append(Item([row], alert))
            continue
        key = (row.thread_id, row.subject_key, is_card(row.kind))
        item = routine.get(key)
        if item is None:
            item = routine[key] = Item([row], alert)
            items.append(item)
        else:
            item.rows.append(row)
            item.alert = alert
    return items


def plan_units(
    pairs: list[tuple[OutboxRow, Alert]], max_group: int = MAX_GROUP
) -> list[list[Item]]:
    """Split one chat's rows into sends, in order of their first row: every card alone, the
    rest grouped per forum topic (up to ``max_group`` items per group)."""
    units: list[list[Item]] = []
    open_groups: dict[int, list[Item]] = {}
    for item in fold_routine(pairs):
        thread_id = item.rows[0].thread_id
        if is_card(item.kind):
            units.append([item])
            continue
        group = open_groups.get(thread_id)
        if group is None or len(group) >= max_group:
            group = open_groups[thread_id] = []
            units.append(group)
        group.append(item)
    return units


def pointer_line(alert: Alert, ctx: RenderContext) -> Rich:
    """``↑ Вагон 54676515: Вагон в пути — карточка обновлена выше``."""
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        subject = clip(alert.subject.title or alert.subject.id, MAX_TITLE)
        return fill(
            _("alert.card_updated"), subject=subject, kind=kind_title(alert.kind, ctx.locale)
        )


def compose(unit: list[Item], ctx: RenderContext) -> list[Outgoing]:
    """The messages for one unit: a single alert (or card) as is, several as a grouped message
    split into parts, each part carrying the buttons of its own first row."""
    thread_id = unit[0].rows[0].thread_id
    if len(unit) == 1:
        item = unit[0]
        rows = sorted(item.rows, key=lambda row: row.id)
        level = max(severity(row) for row in rows)
        spec = KINDS.get(item.kind)
        card = item.rows[-1].subject_key if spec is not None and spec.card else None
        buzz = card is not None and spec is not None and spec.buzz
        return [
            Outgoing(
                rows=rows,
                thread_id=thread_id,
                text=render_alert(item.alert, level, ctx, folded=item.folded),
                keyboard=alert_keyboard(rows[0].id, ctx),
                silent=level <= Severity.LOW,
                pins=latest_places([item.alert], 1),
                card=card,
                buzz=buzz,
                pointer=pointer_line(item.alert, ctx) if card and not buzz else None,
            )
        ]
    shown = [(item.alert, max(severity(row) for row in item.rows)) for item in unit]
    parts = render_group(shown, ctx, folded=[item.folded for item in unit])
    queue = []
    for part in parts:
        part_rows = sorted((row for i in part.indexes for row in unit[i].rows), key=lambda r: r.id)
        queue.append(
            Outgoing(
                rows=part_rows,
                thread_id=thread_id,
                text=part.text,
                keyboard=alert_keyboard(part_rows[0].id, ctx),
                silent=all(severity(row) <= Severity.LOW for row in part_rows),
                pins=latest_places([unit[i].alert for i in part.indexes], MAX_GROUP_PINS),
            )
        )
    return queue
