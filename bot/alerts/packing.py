"""How one chat's due outbox rows become Telegram messages (pure: no network, no storage).

- Every status card goes alone (it is edited in place, or posted anew).
- Routine news of one subject (a wagon moved a station, a task field filled: ``routine`` kinds)
  is folded into ONE line: its latest state and "… и ещё N изменений". Every row is kept and
  marked sent with that message: nothing is lost, and the count says how much was folded.
- The rest waiting for one chat (forum topic) is grouped into one message ("N оповещений"),
  split under Telegram's 4096 characters.
- In a storm (more due than the chat's budget sends in time: the sender picks the density),
  messages get denser instead of later — the ladder of :class:`Density`: a block per alert,
  then one line per subject, then one summary line per kind with urgent (🔴) subjects keeping
  their own lines first. Cards go as lines too then, and every row still rides its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.alerts.kinds import KINDS
from bot.alerts.render import (
    MAX_TITLE,
    MESSAGE_LIMIT,
    RenderContext,
    alert_keyboard,
    kind_title,
    latest_places,
    pack_blocks,
    render_alert,
    render_group,
)
from bot.alerts.render_dense import (
    MAX_KIND_BUTTONS,
    ListButton,
    Summary,
    dense_header,
    dense_keyboard,
    subject_line,
    summary_line,
)
from bot.texts import Rich, clip, fill
from integrations.base import Alert, Location, Severity
from storage.outbox import OutboxRow

MAX_GROUP = 50  # alerts per grouped message (before the 4096 split)
MAX_GROUP_PINS = 3  # map pins owed for a grouped message: the latest per subject


class Density(IntEnum):
    """How much one line of a message stands for: the storm ladder, lowest first."""

    FULL = 0  # a block per alert, cards alone: what a chat gets when its budget keeps up
    SUBJECT = 1  # one line per subject (its latest alert, "и ещё N")
    KIND = 2  # urgent subjects a line each, as many as fit; the rest one summary line per kind


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
    dense: bool = False  # a storm message: its alerts are counted as summarized

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
    pairs: list[tuple[OutboxRow, Alert]],
    max_group: int = MAX_GROUP,
    density: Density = Density.FULL,
) -> list[list[Item]]:
    """Split one chat's rows into sends, in order of their first row: every card alone, the
    rest grouped per forum topic (up to ``max_group`` items per group). Denser: everything of
    a topic together, cards included (its lines are short, and a storm can't afford a message
    per card)."""
    units: list[list[Item]] = []
    open_groups: dict[int, list[Item]] = {}
    for item in fold_routine(pairs):
        thread_id = item.rows[0].thread_id
        if density == Density.FULL and is_card(item.kind):
            units.append([item])
            continue
        group = open_groups.get(thread_id)
        if group is None or (density == Density.FULL and len(group) >= max_group):
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


def compose(
    unit: list[Item],
    ctx: RenderContext,
    density: Density = Density.FULL,
    *,
    entering: bool = False,
) -> list[Outgoing]:
    """The messages for one unit: a single alert (or card) as is, several as a grouped message
    split into parts, each part carrying the buttons of its own first row; denser in a storm
    (``entering``: the chat's first storm message says why)."""
    if density > Density.FULL:
        return compose_dense(unit, ctx, density, entering=entering)
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


# --- a storm: denser lines --------------------------------------------------------------------
@dataclass
class Line:
    """One line of a storm message and the items it stands for."""

    text: Rich
    items: list[Item]
    kind: str | None = None  # a summary line's kind (it gets a «📋» button)


def item_severity(item: Item) -> Severity:
    return max(severity(row) for row in item.rows)


def per_subject(items: list[Item]) -> dict[str, list[Item]]:
    """Items per subject, in order of their first item."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.rows[-1].subject_key, []).append(item)
    return groups


def per_kind(items: list[Item]) -> dict[str, list[Item]]:
    """Items per kind (a folded item: its latest row's), in order of their first item."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    return groups


def _subject_lines(items: list[Item], ctx: RenderContext) -> list[Line]:
    lines = []
    for group in per_subject(items).values():
        count = sum(len(item.rows) for item in group)
        latest = group[-1]
        text = subject_line(latest.alert, item_severity(latest), ctx, count - 1)
        lines.append(Line(text, group))
    return lines


def _summary_lines(items: list[Item], ctx: RenderContext) -> list[Line]:
    lines = []
    for kind, group in per_kind(items).items():
        summary = Summary(
            kind,
            max(item_severity(item) for item in group),
            [item.alert for item in group],
            sum(len(item.rows) for item in group),
        )
        lines.append(Line(summary_line(summary, ctx), group, kind))
    return lines


def by_severity(lines: list[Line]) -> list[Line]:
    """Urgent first, routine last; otherwise in order of their first alert (a stable sort).
    A line's severity is its latest item's (what it shows)."""
    return sorted(lines, key=lambda line: -item_severity(line.items[-1]))


def _room(lines: list[Line]) -> int:
    return sum(line.text.length + 1 for line in lines)


def dense_lines(unit: list[Item], ctx: RenderContext, density: Density) -> list[Line]:
    """The lines of a topic's storm message(s), urgent first (i18n context already set).

    SUBJECT: a line per subject. KIND: every non-urgent kind one summary line; urgent subjects
    a line each while they fit in one message beside those, the urgent rest summarized per kind
    right after them.
    """
    urgent = [item for item in unit if item_severity(item) >= Severity.HIGH]
    others = [item for item in unit if item_severity(item) < Severity.HIGH]
    if density == Density.SUBJECT:
        return by_severity(_subject_lines(unit, ctx))
    summaries = by_severity(_summary_lines(others, ctx))
    header = dense_header(sum(len(i.rows) for i in unit), 999, 999, ctx, entering=True)
    room = MESSAGE_LIMIT - header.length - _room(summaries) - _room(_summary_lines(urgent, ctx))
    own: list[Line] = []
    for line in _subject_lines(urgent, ctx):
        if line.text.length + 1 > room:
            break
        own.append(line)
        room -= line.text.length + 1
    shown = {id(item) for line in own for item in line.items}
    rest = [item for item in urgent if id(item) not in shown]
    return own + _summary_lines(rest, ctx) + summaries


def _list_buttons(lines: list[Line], rows: list[OutboxRow], locale: str) -> list[ListButton]:
    """«📋» per summary line (every subject of its kind in the message), and one for the whole
    message (the only one when there are no summary lines, or too many for buttons)."""
    summaries = [line.kind for line in lines if line.kind is not None]
    everything = ListButton(rows[0].id, "", len({row.subject_key for row in rows}), kind=False)
    if len(summaries) > MAX_KIND_BUTTONS:
        return [everything]
    buttons = []
    for kind in dict.fromkeys(summaries):  # an urgent kind may have lines and a summary
        of_kind = [row for row in rows if row.kind == kind]
        subjects = len({row.subject_key for row in of_kind})
        buttons.append(ListButton(of_kind[0].id, kind_title(kind, locale), subjects, kind=True))
    return [*buttons, everything]


def compose_dense(
    unit: list[Item], ctx: RenderContext, density: Density, *, entering: bool = False
) -> list[Outgoing]:
    """A topic's storm message(s): a header, then the lines (split under 4096 if need be)."""
    thread_id = unit[0].rows[0].thread_id
    total = sum(len(item.rows) for item in unit)
    with ctx.i18n.context(), ctx.i18n.use_locale(ctx.locale):
        lines = dense_lines(unit, ctx, density)
        widest = dense_header(total, 999, 999, ctx, entering=entering)
        indexes = pack_blocks([line.text for line in lines], MESSAGE_LIMIT - widest.length, "\n")
        packs = [[lines[i] for i in pack] for pack in indexes]
        queue = []
        for number, pack in enumerate(packs, start=1):
            header = dense_header(total, number, len(packs), ctx, entering=entering and number == 1)
            rows = sorted(
                (row for line in pack for item in line.items for row in item.rows),
                key=lambda row: row.id,
            )
            buttons = _list_buttons(pack, rows, ctx.locale)
            queue.append(
                Outgoing(
                    rows=rows,
                    thread_id=thread_id,
                    text=Rich.join([header, *(line.text for line in pack)]),
                    keyboard=dense_keyboard(rows[0].id, buttons, ctx),
                    silent=all(severity(row) <= Severity.LOW for row in rows),
                    pins=[],  # a storm has no budget for map pins (the place is in the line)
                    dense=True,
                )
            )
        return queue
