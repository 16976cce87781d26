"""/escalation: this chat's (topic's) chain, shown and changed.

/escalation                                         the chain, its rounds and kinds
/escalation 10 чат 10 дежурный 10 диспетчеры 10 админы
/escalation по умолчанию                            back to the default
"""

from __future__ import annotations

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.alerts.render import kind_title
from bot.escalation import chain as chains
from bot.escalation.service import Escalation
from bot.texts import answer_lines
from handlers.subscriptions import chat_target, refused
from storage import Repos
from storage.db import utcnow
from storage.users import Role, User

RESET_WORDS = {"default", "reset", "сброс", "по", "умолчанию"}


async def open_section(callback: CallbackQuery, repos: Repos, escalation: Escalation) -> None:
    """The escalation row of the chat's /settings screen: the chain and the on-call, shown."""
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    await callback.answer()
    chat_id, thread_id = chat_target(message)
    await show(message, repos, escalation, chat_id, thread_id, changed=False)


async def escalation_command(
    message: Message, command: CommandObject, repos: Repos, user: User, escalation: Escalation
) -> None:
    if message.chat.id > 0:
        await message.answer(_("esc.groups_only"))
        return
    chat_id, thread_id = chat_target(message)
    words = (command.args or "").split()
    if words:
        if await refused(message, user.role or Role.VIEWER, "escalation"):
            return
        if {word.lower() for word in words} <= RESET_WORDS:
            await repos.escalations.set_chain(chat_id, thread_id, None, by=user.id, now=utcnow())
            await repos.audit.record(user.id, "escalation.chain", chat_id, steps="default")
        else:
            try:
                steps = await chains.parse_chain(words, lambda name: find_person(repos, name))
            except chains.ChainError as exc:
                error = _(exc.key).format(**{k: html.quote(v) for k, v in exc.params.items()})
                await message.answer(f"{error}\n\n{_('usage.escalation')}")
                return
            stored = chains.to_json(steps)
            await repos.escalations.set_chain(chat_id, thread_id, stored, by=user.id, now=utcnow())
            await repos.audit.record(user.id, "escalation.chain", chat_id, steps=stored)
    await show(message, repos, escalation, chat_id, thread_id, changed=bool(words))


async def find_person(repos: Repos, username: str) -> int | None:
    person = await repos.users.find_by_username(username)
    return person.id if person is not None and person.role is not None else None


async def show(
    message: Message,
    repos: Repos,
    escalation: Escalation,
    chat_id: int,
    thread_id: int,
    *,
    changed: bool,
) -> None:
    prefs = escalation.engine.prefs
    # A step that names no wait waits the chat's escalation.wait: show that number, not "None".
    steps = chains.with_waits(
        chains.from_json(await repos.escalations.chain(chat_id, thread_id)),
        await prefs.wait(chat_id, thread_id),
    )
    locale = get_i18n().current_locale
    lines = [_("esc.saved") if changed else _("esc.title")]
    for number, step in enumerate(steps, start=1):
        lines.append(
            _("esc.step").format(number=number, wait=step.wait, to=await target_words(repos, step))
        )
    kinds = await prefs.kinds(chat_id, thread_id)
    lines += [
        _("esc.rounds").format(rounds=await prefs.rounds(chat_id, thread_id)),
        _("esc.kinds").format(kinds=html.quote(", ".join(kind_title(k, locale) for k in kinds))),
        "",
        _("esc.how"),
    ]
    await answer_lines(message, lines)


async def target_words(repos: Repos, step: chains.Step) -> str:
    if step.to != chains.PEOPLE:
        return _(f"esc.to.{step.to}")
    names = []
    for user_id in step.people:
        person = await repos.users.get(user_id)
        names.append(person.full_name if person else str(user_id))
    return _("esc.to.people").format(names=html.quote(", ".join(names)))
