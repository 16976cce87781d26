"""Mobiforce cards and lists as Telegram HTML (every upstream string escaped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.phones import format_phone
from integrations.mobiforce.models import Contractor, Task, TaskItem, photo_count
from storage.mobiforce import Entry

MAX_VALUE = 200


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
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return _("field.yes") if value else _("field.no")
    if isinstance(value, list):
        value = ", ".join(str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    elif isinstance(value, dict):
        value = value.get("name") or value.get("value") or ""
    return html.quote(str(value)[:MAX_VALUE])


def state_text(task: Task) -> str:
    if task.closed:
        result = task.result_status.name if task.result_status else ""
        return _("tasks.state.closed") + (f" · {html.quote(result)}" if result else "")
    if task.draft:
        return _("tasks.state.draft")
    status = task.status.name if task.status else ""
    return _("tasks.state.sent") + (f" · {html.quote(status)}" if status else "")


def render_task(task: Task, tz: ZoneInfo, executor_phone: str = "") -> str:
    lines = [
        _("tasks.card.title").format(
            number=html.quote(task.number),
            template=html.quote(task.template.name if task.template else "—"),
        ),
        _("tasks.card.client").format(
            client=html.quote(task.contractor.name if task.contractor else "—")
        ),
        _("tasks.card.address").format(address=html.quote(task.address or "—")),
    ]
    executor = html.quote(task.employee.name) if task.employee else _("tasks.card.no_executor")
    if executor_phone:
        executor += f" · {format_phone(executor_phone)}"
    lines.append(_("tasks.card.executor").format(executor=executor))
    lines.append(
        _("tasks.card.planned").format(when=span(task.planned_start, task.planned_end, tz))
    )
    lines.append(_("tasks.card.state").format(state=state_text(task)))
    if task.closed and task.results_description:
        lines.append(
            _("tasks.card.result").format(result=html.quote(task.results_description[:MAX_VALUE]))
        )
    if task.props:
        lines.append(_("tasks.card.props"))
        lines += [f"• {html.quote(i.name)}: {item_value(i)}" for i in task.props]
    if task.checklist:
        filled = sum(1 for item in task.checklist if item.is_filled)
        lines.append(_("tasks.card.checklist").format(filled=filled, total=len(task.checklist)))
        lines += [
            f"{'✅' if i.is_filled else '▫️'} {html.quote(i.name)}: {item_value(i)}"
            for i in task.checklist
        ]
    lines.append(_("tasks.card.id").format(id=task.id))
    return "\n".join(lines)


STATE_ICONS = {"draft": "📝", "sent": "📤", "closed": "✅"}


def task_line(entry: Entry) -> str:
    data = entry.data
    parts = [f"{STATE_ICONS.get(str(data.get('state')), '•')} №{html.quote(entry.name)}"]
    for key in ("client", "template", "executor"):
        if data.get(key):
            parts.append(html.quote(str(data[key])))
    return " · ".join(parts)


def task_button(entry: Entry) -> str:
    client = str(entry.data.get("client") or "")
    return (f"№{entry.name}" + (f" · {client}" if client else ""))[:64]


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
