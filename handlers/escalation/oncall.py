"""/oncall: who is on call in this chat (topic) now and next, in the chat's zone, and the rota.

    /oncall                              who now, who next, the rota
    /oncall add @user пн-пт 09:00-18:00  a shift (an overnight 22:00-06:00 belongs to its start day)
    /oncall rotate @a @b @c [пн 09:00]   a weekly rotation, handed over on that day and time
    /oncall rotate off                   no rotation
    /oncall remove @user                 off the rota

Only people with the dispatcher role (or admins) who are in the group may be on call.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.escalation.oncall import (
    DAY_WORDS,
    day_index,
    next_handover,
    on_call_at,
    parse_days,
    parse_hours,
)
from bot.escalation.service import Escalation
from bot.texts import answer_lines, answer_usage, format_time
from handlers.subscriptions import chat_target, refused
from storage import Repos
from storage.db import utcnow
from storage.oncall import Shift
from storage.users import Role, User


async def oncall(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    escalation: Escalation,
    timezone: ZoneInfo,
) -> None:
    if message.chat.id > 0:
        await message.answer(_("esc.groups_only"))
        return
    words = (command.args or "").split()
    if not words:
        await show(message, repos, escalation, timezone)
        return
    if await refused(message, user.role or Role.VIEWER, "oncall"):
        return
    action, rest = words[0].lower(), words[1:]
    if action in {"add", "добавить"} and len(rest) == 3:
        await add(message, repos, user, escalation, rest)
    elif action in {"remove", "убрать", "удалить"} and len(rest) == 1:
        await remove(message, repos, user, rest[0])
    elif action in {"rotate", "ротация"} and rest:
        await rotate(message, repos, user, escalation, rest)
    else:
        await answer_usage(message, "oncall")


async def show(message: Message, repos: Repos, escalation: Escalation, timezone: ZoneInfo) -> None:
    chat_id, thread_id = chat_target(message)
    tz = await repos.subscriptions.zone(chat_id, thread_id, timezone)
    shifts = await repos.oncall.of_chat(chat_id, thread_id)
    now = utcnow()
    lines = [_("oncall.title").format(zone=html.quote(tz.key))]
    person = await escalation.engine.on_call(chat_id, thread_id, now)
    if person is not None:
        lines.append(_("oncall.now").format(name=html.quote(person.full_name)))
    elif on_call_at(shifts, now, tz) is not None:
        lines.append(_("oncall.now_cannot"))
    else:
        lines.append(_("oncall.nobody"))
    handover = next_handover(shifts, now, tz)
    if handover is not None:
        name = await person_name(repos, handover.user_id) if handover.user_id else _("oncall.none")
        lines.append(
            _("oncall.next").format(name=html.quote(name), at=format_time(handover.at, tz))
        )
    if shifts:
        lines += ["", _("oncall.rota")]
        for shift in shifts:
            lines.append(await shift_line(repos, shift))
    else:
        lines += ["", _("oncall.empty")]
    await answer_lines(message, lines)


async def person_name(repos: Repos, user_id: int) -> str:
    found = await repos.users.get(user_id)
    return found.full_name if found else str(user_id)


def days_text(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return _("oncall.every_day")
    english = get_i18n().current_locale == "en"
    names = [DAY_WORDS[day][1] if english else DAY_WORDS[day][0] for day in days]
    return ",".join(names)


async def shift_line(repos: Repos, shift: Shift) -> str:
    name = html.quote(await person_name(repos, shift.user_id))
    if shift.mode == "rotation":
        return _("oncall.rotation_line").format(
            position=shift.position + 1, name=name, day=days_text(shift.days), at=shift.start
        )
    return _("oncall.shift_line").format(
        name=name, days=days_text(shift.days), start=shift.start, end=shift.end
    )


async def may_be_on_call(
    message: Message, repos: Repos, escalation: Escalation, username: str
) -> User | None:
    """The person named, if they may be on call in this chat (else the reason is answered)."""
    person = await repos.users.find_by_username(username)
    if person is None:
        await message.answer(_("oncall.unknown").format(name=html.quote(username)))
        return None
    if person.role is None or not person.role.allows(Role.DISPATCHER):
        await message.answer(_("oncall.not_dispatcher").format(name=html.quote(person.full_name)))
        return None
    if not await escalation.engine.ownership.is_member(message.chat.id, person.id):
        await message.answer(_("oncall.not_member").format(name=html.quote(person.full_name)))
        return None
    return person


async def add(
    message: Message, repos: Repos, user: User, escalation: Escalation, words: list[str]
) -> None:
    days, hours = parse_days(words[1]), parse_hours(words[2])
    if days is None or hours is None:
        await answer_usage(message, "oncall")
        return
    person = await may_be_on_call(message, repos, escalation, words[0])
    if person is None:
        return
    chat_id, thread_id = chat_target(message)
    await repos.oncall.add_shift(
        chat_id, thread_id, person.id, days, *hours, by=user.id, now=utcnow()
    )
    await repos.audit.record(
        user.id, "oncall.add", chat_id, person=person.full_name, days=words[1], hours=words[2]
    )
    await message.answer(
        _("oncall.added").format(
            name=html.quote(person.full_name), days=days_text(days), start=hours[0], end=hours[1]
        )
    )


async def remove(message: Message, repos: Repos, user: User, username: str) -> None:
    person = await repos.users.find_by_username(username)
    chat_id, thread_id = chat_target(message)
    if person is None or not await repos.oncall.remove_user(chat_id, thread_id, person.id):
        await message.answer(_("oncall.not_on_rota").format(name=html.quote(username)))
        return
    await repos.audit.record(user.id, "oncall.remove", chat_id, person=person.full_name)
    await message.answer(_("oncall.removed").format(name=html.quote(person.full_name)))


async def rotate(
    message: Message, repos: Repos, user: User, escalation: Escalation, words: list[str]
) -> None:
    chat_id, thread_id = chat_target(message)
    if words[0].lower() in {"off", "выкл", "нет"}:
        await repos.oncall.set_rotation(
            chat_id, thread_id, [], 0, "09:00", by=user.id, now=utcnow()
        )
        await message.answer(_("oncall.rotation_off"))
        return
    names = [word for word in words if word.startswith("@")]
    rest = [word for word in words if not word.startswith("@")]
    day, at = 0, "09:00"
    if rest:
        day_found = day_index(rest[0])
        hours = parse_hours(f"{rest[1]}-{rest[1]}") if len(rest) == 2 else None
        if len(rest) != 2 or day_found is None or hours is None:
            await answer_usage(message, "oncall")
            return
        day, at = day_found, hours[0]
    if len(names) < 2:
        await answer_usage(message, "oncall")
        return
    people = []
    for name in names:
        person = await may_be_on_call(message, repos, escalation, name)
        if person is None:
            return
        people.append(person)
    await repos.oncall.set_rotation(
        chat_id, thread_id, [p.id for p in people], day, at, by=user.id, now=utcnow()
    )
    await repos.audit.record(
        user.id, "oncall.rotate", chat_id, people=[p.full_name for p in people]
    )
    await message.answer(
        _("oncall.rotation_set").format(
            names=html.quote(", ".join(p.full_name for p in people)),
            day=days_text((day,)),
            at=at,
        )
    )
