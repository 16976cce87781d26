"""Mobiforce cards and lists as Telegram HTML (every upstream string escaped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.phones import format_phone
from bot.texts import TELEGRAM_TEXT_LIMIT, clip, telegram_length
from integrations.mobiforce.facts import TaskFacts
from integrations.mobiforce.models import Contractor, Task, TaskItem, photo_count
from storage.mobiforce import Entry

MAX_VALUE = 200
MAX_NAME = 100


def when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m %H:%M") if moment else "—"


def span(start: datetime | None, end: datetime | None, tz: ZoneInfo) -> str:
    if start is None:
        return _("tasks.card.no_time")
    text = when(start, tz)
    if end is not None:
        same_day = start.astimezone(tz).date() == end.astimezone(tz).date()
        text += " – " + (end.astimezone(tz).strftime("%H:%M") if same_day else when(end, tz))
    return text


def item_value(item: TaskItem) -> str:
    """A field's value in words: photos as a count, booleans as yes/no, empty as a dash."""
    if item.is_photo:
        count = photo_count(item.value)
        return _("tasks.card.photos").format(count=count) if count else "—"
    value: Any = item.value
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("field.yes") if value else _("field.no")
    if isinstance(value, list):
        value = ", ".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    elif isinstance(value, dict):
        value = value.get("name") or value.get("value") or ""
    return html.quote(clip(str(value), MAX_VALUE))


def state_text(task: Task) -> str:
    if task.closed:
        result = task.result_status.name if task.result_status else ""
        return _("tasks.state.closed") + (f" · {html.quote(result)}" if result else "")
    if task.draft:
        return _("tasks.state.draft")
    status = task.status.name if task.status else ""
    return _("tasks.state.sent") + (f" · {html.quote(status)}" if status else "")


def render_task(task: Task, facts: TaskFacts, tz: ZoneInfo, executor_phone: str = "") -> str:
    """The task card; one message whatever the task holds: field lines that do not fit are
    left out, and a last line says how many."""
    head = [
        _("tasks.card.title").format(
            number=html.quote(task.number),
            template=html.quote(clip(task.template.name, MAX_NAME) if task.template else "—"),
        ),
        _("tasks.card.client").format(client=html.quote(clip(facts.client, MAX_NAME) or "—")),
        _("tasks.card.address").format(address=html.quote(clip(facts.address, MAX_VALUE) or "—")),
    ]
    if facts.executor:
        executor = html.quote(clip(facts.executor, MAX_NAME))
    elif facts.executor_id is None and facts.executor_known:
        executor = _("tasks.card.no_executor")
    else:  # not said (the document's get-task never says), or an id without a name
        executor = "—"
    if executor_phone:
        executor += f" · {format_phone(executor_phone)}"
    head.append(_("tasks.card.executor").format(executor=executor))
    head.append(_("tasks.card.planned").format(when=span(task.planned_start, task.planned_end, tz)))
    head.append(_("tasks.card.state").format(state=state_text(task)))
    if task.closed and task.results_description:
        head.append(
            _("tasks.card.result").format(
                result=html.quote(clip(task.results_description, MAX_VALUE))
            )
        )
    items: list[str] = []
    if task.props:
        items.append(_("tasks.card.props"))
        items += [f"• {html.quote(clip(i.name, MAX_NAME))}: {item_value(i)}" for i in task.props]
    if task.checklist:
        filled = sum(1 for item in task.checklist if item.is_filled)
        items.append(_("tasks.card.checklist").format(filled=filled, total=len(task.checklist)))
        items += [
            f"{'✅' if i.is_filled else '▫️'} {html.quote(clip(i.name, MAX_NAME))}: {item_value(i)}"
            for i in task.checklist
        ]
    tail = [_("tasks.card.id").format(id=task.id)]
    return "\n".join(fit(head, items, tail))


def fit(head: list[str], items: list[str], tail: list[str]) -> list[str]:
    """``head + items + tail`` within one message: the last items give way to a line that
    says how many were left out."""
    sizes = [telegram_length(line) + 1 for line in head + items + tail]  # +1: the newline
    if sum(sizes) - 1 <= TELEGRAM_TEXT_LIMIT:
        return head + items + tail
    more = _("tasks.card.more").format(count=len(items))  # the longest it can be
    room = TELEGRAM_TEXT_LIMIT - sum(sizes[: len(head)]) - sum(sizes[len(head) + len(items) :])
    room -= telegram_length(more) + 1
    kept = 0
    for size in sizes[len(head) : len(head) + len(items)]:
        if size > room:
            break
        room -= size
        kept += 1
    more = _("tasks.card.more").format(count=len(items) - kept)
    return [*head, *items[:kept], more, *tail]


STATE_ICONS = {"draft": "📝", "sent": "📤", "closed": "✅"}


def task_line(entry: Entry) -> str:
    data = entry.data
    icon = STATE_ICONS.get(str(data.get("state")), "•")
    parts = [f"{icon} №{html.quote(clip(entry.name, MAX_NAME))}"]
    for key in ("client", "template", "executor"):
        if data.get(key):
            parts.append(html.quote(clip(str(data[key]), MAX_NAME)))
    return " · ".join(parts)


def task_button(entry: Entry) -> str:
    client = str(entry.data.get("client") or "")
    return clip(f"№{entry.name}" + (f" · {client}" if client else ""), 64)


def render_contractor(contractor: Contractor) -> str:
    lines = [_("tasks.client.title").format(name=html.quote(contractor.name))]
    if contractor.address:
        lines.append(_("tasks.card.address").format(address=html.quote(contractor.address)))
    for phone in contractor.phones:
        lines.append(_("tasks.client.phone").format(phone=html.quote(format_phone(phone))))
    if contractor.external_id:
        lines.append(_("tasks.client.external").format(value=html.quote(contractor.external_id)))
    lines.append(_("tasks.card.id").format(id=contractor.id))
    return "\n".join(lines)
