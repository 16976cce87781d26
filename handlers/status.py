"""/status, /pause, /resume: how the integrations and the alert queue are doing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.alerts.fields import word_field
from bot.alerts.render import kind_title
from bot.alerts.scheduler import AlertScheduler
from bot.health import HealthState, IntegrationHealth
from bot.policy import rule
from bot.services import ServiceRuntime, title_of
from bot.settings.values import SettingsValues
from bot.texts import answer_lines, answer_usage, format_time
from handlers.chat_names import chat_title
from handlers.escalation.status_lines import escalation_lines
from handlers.settings.summary import changed_lines, poll_line
from storage import Repos
from storage.db import utcnow
from storage.users import User


async def status(
    message: Message,
    repos: Repos,
    health: HealthState,
    timezone: ZoneInfo,
    services: dict[str, ServiceRuntime],
    settings_values: SettingsValues,
) -> None:
    lines = [_("status.title")]
    for name, item in health.integrations.items():
        title = html.quote(title_of(name))
        if not item.enabled:
            lines.append(_("status.integration_off").format(name=title))
            continue
        runtime = services.get(name)
        if runtime is not None and runtime.locked():
            state = _("status.locked").format(name=name)
        elif item.paused:
            state = _("status.paused")
        elif item.consecutive_failures:
            state = _("status.failing").format(count=item.consecutive_failures)
        else:
            state = _("status.on")
        if item.last_success:
            last = format_time(item.last_success, timezone)
            lines.append(_("status.integration").format(name=title, state=state, last=last))
        else:
            lines.append(_("status.integration_never").format(name=title, state=state))
        poll = await poll_line(name, settings_values, repos, timezone)
        if poll is not None:
            lines.append(poll)
        if item.last_error:
            lines.append(_("status.last_error").format(error=html.quote(item.last_error[:200])))
        if item.notice_kind and item.notice_at:
            lines.append(
                _("status.notice").format(
                    when=format_time(item.notice_at, timezone),
                    what=html.quote(notice_in_words(name, item, timezone)),
                )
            )
    today = utcnow().astimezone(timezone).replace(hour=0, minute=0, second=0, microsecond=0)
    counts = await repos.outbox.counts_since(today)
    lines += [
        "",
        _("status.outbox").format(
            depth=await repos.outbox.depth(),
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            dropped=counts.get("dropped", 0),
        ),
    ]
    for chat_id, count, reason in await repos.outbox.failed_by_chat(today):
        title = await chat_title(repos, chat_id)
        lines.append(
            _("status.failed_chat").format(
                title=html.quote(title), count=count, reason=html.quote(reason[:200])
            )
        )
    lines += await storm_lines(repos, timezone)
    lines += await escalation_lines(repos, timezone)
    changed = await changed_lines(settings_values, repos, timezone)
    lines += ["", *changed] if changed else []
    await answer_lines(message, lines)


async def storm_lines(repos: Repos, timezone: ZoneInfo) -> list[str]:
    """The chats in an alert storm (their alerts go out summarized): since when, how many."""
    storms: dict[int, tuple[datetime, int]] = {}
    for row in await repos.alert_storms.all():
        since, count = storms.get(row.chat_id, (row.since, 0))
        storms[row.chat_id] = (min(since, row.since), count + row.summarized)
    if not storms:
        return []
    lines = [_("status.storms")]
    for chat_id, (since, count) in storms.items():
        title = await chat_title(repos, chat_id)
        lines.append(
            _("status.storm_chat").format(
                title=html.quote(title), since=format_time(since, timezone), count=count
            )
        )
    return lines


def notice_in_words(source: str, item: IntegrationHealth, timezone: ZoneInfo) -> str:
    """``События могли быть пропущены (после id: 1, до id: 9)`` in the chat's language."""
    locale = get_i18n().current_locale
    facts = [word_field(source, key, value, timezone) for key, value in item.notice_fields.items()]
    details = ", ".join(f"{label}: {value}" for label, value in facts)
    title = kind_title(item.notice_kind or "", locale)
    return f"{title} ({details})" if details else title


async def pause(
    message: Message, command: CommandObject, scheduler: AlertScheduler, repos: Repos, user: User
) -> None:
    await _set_paused(message, command, scheduler, repos, user, paused=True)


async def resume(
    message: Message,
    command: CommandObject,
    scheduler: AlertScheduler,
    repos: Repos,
    user: User,
    services: dict[str, ServiceRuntime],
) -> None:
    """Resume polling; also lifts the lock a client set after the vendor refused our
    credentials (fixed in the vendor's cabinet meanwhile), without a restart."""
    name = (command.args or "").strip().lower()
    runtime = services.get(name)
    if runtime is not None and runtime.unlock():
        await repos.audit.record(user.id, "integration.unlock", name)
        await message.answer(_("status.unlocked").format(name=html.quote(title_of(name))))
    await _set_paused(message, command, scheduler, repos, user, paused=False)


async def _set_paused(
    message: Message,
    command: CommandObject,
    scheduler: AlertScheduler,
    repos: Repos,
    user: User,
    *,
    paused: bool,
) -> None:
    name = (command.args or "").strip().lower()
    name_for_usage = "pause" if paused else "resume"
    if not name:
        await answer_usage(message, name_for_usage)
        return
    if name not in scheduler.runners:
        known = ", ".join(sorted(scheduler.runners)) or "—"
        await message.answer(
            _("status.unknown_integration").format(name=html.quote(name), known=html.quote(known))
        )
        return
    await scheduler.set_paused(name, paused, by=user.id)
    await repos.audit.record(user.id, "integration.pause" if paused else "integration.resume", name)
    key = "status.paused_done" if paused else "status.resumed_done"
    await message.answer(_(key).format(name=html.quote(name)))


def make_router() -> Router:
    router = Router(name="status")
    router.message.register(status, Command("status"), flags=rule("status"))
    router.message.register(pause, Command("pause"), flags=rule("pause"))
    router.message.register(resume, Command("resume"), flags=rule("resume"))
    return router
