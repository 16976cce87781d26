"""Admin commands: users and roles, the bot's groups, the audit log."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Router, html
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, MessageOriginUser
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.access import role_name, user_label
from bot.callbacks import AccessRequestCb, ChatStatusCb
from bot.confirm import ask_to_confirm, on_confirm
from bot.i18n import PoI18n, locale_for
from bot.menus import publish_user_menu
from bot.policy import rule
from bot.texts import answer_lines, answer_usage, format_time
from handlers.audit_words import Names, describe
from storage import Repos
from storage.chats import ChatStatus
from storage.confirmations import Confirmation
from storage.users import Role, User

log = logging.getLogger(__name__)

ROLE_WORDS = {
    "admin": Role.ADMIN,
    "администратор": Role.ADMIN,
    "админ": Role.ADMIN,
    "dispatcher": Role.DISPATCHER,
    "диспетчер": Role.DISPATCHER,
    "viewer": Role.VIEWER,
    "наблюдатель": Role.VIEWER,
}
STATUS_ICONS = {ChatStatus.APPROVED: "✅", ChatStatus.PENDING: "⏳", ChatStatus.DISABLED: "⛔"}


# --- /users -------------------------------------------------------------------------------
async def list_users(message: Message, repos: Repos) -> None:
    users = await repos.users.with_role()
    if not users:
        await message.answer(_("users.empty"))
        return
    lines = [_("users.title").format(count=len(users))]
    for user in users:
        username = f"@{user.username}" if user.username else ""
        lines.append(
            _("users.line").format(
                name=html.quote(user.full_name),
                username=html.quote(username),
                id=user.id,
                role=role_name(user.role),
            )
        )
    await answer_lines(message, lines)


# --- /grant ---------------------------------------------------------------------------------
async def resolve_target(message: Message, who: str | None, repos: Repos) -> User | int | None:
    """A user from `123`, `@name`, or the author of the forwarded message being replied to.

    Returns the known User, a bare id for a numeric id never seen, or None when not found.
    """
    if who is None:
        replied = message.reply_to_message
        origin = replied.forward_origin if replied else None
        if isinstance(origin, MessageOriginUser):
            return await repos.users.get(origin.sender_user.id) or origin.sender_user.id
        return None
    if who.isdigit():  # a user id; group ids are negative and never people
        return await repos.users.get(int(who)) or int(who)
    if who.startswith("@") and len(who) > 1:
        return await repos.users.find_by_username(who)
    return None


async def grant(
    message: Message,
    command: CommandObject,
    repos: Repos,
    user: User,
    bot: Bot,
    i18n: PoI18n,
    admin_ids: list[int],
) -> None:
    args = (command.args or "").split()
    replying_to_forward = message.reply_to_message is not None and len(args) == 1
    if not (len(args) == 2 or replying_to_forward):
        await answer_usage(message, "grant")
        return
    who, role_word = (None, args[0]) if replying_to_forward else (args[0], args[1])
    role = ROLE_WORDS.get(role_word.lower())
    if role is None:
        await message.answer(_("grant.bad_role").format(role=html.quote(role_word)))
        return
    if who is not None and who.startswith("-") and who[1:].isdigit():
        await message.answer(_("grant.not_a_user").format(who=html.quote(who)))
        return
    target = await resolve_target(message, who, repos)
    if target is None:
        if who is None:
            await message.answer(_("grant.forward_hidden"))
        else:
            await message.answer(_("grant.unknown_user").format(who=html.quote(who)))
        return
    refusal = await demotion_refusal(
        repos, admin=user, target=target, role=role, admin_ids=admin_ids
    )
    if refusal is not None:
        await message.answer(refusal)
        return
    await apply_role(message, bot, i18n, repos, admin=user, target=target, role=role)


async def demotion_refusal(
    repos: Repos, *, admin: User, target: User | int, role: Role, admin_ids: list[int]
) -> str | None:
    """/revoke's guards for /grant: an ADMIN_IDS admin stays admin, and the caller may not
    give up the last admin role there is."""
    if role is Role.ADMIN:
        return None
    target_id = target if isinstance(target, int) else target.id
    name = html.quote(target.full_name) if isinstance(target, User) else str(target_id)
    if target_id in admin_ids:
        return _("revoke.bootstrap").format(name=name)
    if target_id == admin.id and len(await repos.users.admins()) <= 1:
        return _("grant.last_admin")
    return None


async def apply_role(
    message: Message,
    bot: Bot,
    i18n: PoI18n,
    repos: Repos,
    *,
    admin: User,
    target: User | int,
    role: Role,
) -> str:
    """Grant ``role``; answer the admin, tell the user, refresh their menu. Returns the answer."""
    target_id = target if isinstance(target, int) else target.id
    name = html.quote(target.full_name) if isinstance(target, User) else str(target_id)
    if isinstance(target, User) and target.role is role:
        text = _("grant.same").format(name=name, role=role_name(role))
        await message.answer(text)
        return text
    await repos.users.set_role(target_id, role, by=admin.id)
    await repos.audit.record(admin.id, "user.grant", target_id, role=role.value)
    text = _("grant.done").format(name=name, id=target_id, role=role_name(role))
    await message.answer(text)
    granted = await repos.users.get(target_id)
    assert granted is not None
    await tell_user(bot, i18n, granted, "access.you_are_granted", role=lambda: role_name(role))
    await publish_user_menu(bot, i18n, granted)
    return text


async def tell_user(bot: Bot, i18n: PoI18n, user: User, key: str, **values: Any) -> None:
    """Write to a user in their own language; a user who never opened the bot is skipped."""
    if not user.seen:
        return
    with i18n.use_locale(locale_for(user.language_code, i18n.default_locale)):
        resolved = {k: v() if callable(v) else v for k, v in values.items()}
        text = _(key).format(**resolved)
    try:
        await bot.send_message(user.id, text)
    except TelegramAPIError as exc:
        log.info("could not write to user %s: %s", user.id, exc)


# --- the stranger's access request buttons ------------------------------------------------
async def access_request_answered(
    callback: CallbackQuery,
    callback_data: AccessRequestCb,
    repos: Repos,
    user: User,
    bot: Bot,
    i18n: PoI18n,
) -> None:
    stranger = await repos.users.get(callback_data.user_id)
    if stranger is None:
        await callback.answer(_("error.button_expired"), show_alert=True)
        return
    admin_label = user_label(user)
    if callback_data.role == "-":
        await repos.audit.record(user.id, "access.ignored", stranger.id)
        text = _("access.ignored_notice").format(
            admin=admin_label, name=html.quote(stranger.full_name), id=stranger.id
        )
    else:
        role = Role(callback_data.role)
        if stranger.role is None or stranger.role.rank < role.rank:
            # Only ever raise a role from this button: a late tap must not demote anyone.
            await repos.users.set_role(stranger.id, role, by=user.id)
            await repos.audit.record(user.id, "user.grant", stranger.id, role=role.value)
            granted = await repos.users.get(stranger.id)
            assert granted is not None
            await tell_user(
                bot, i18n, granted, "access.you_are_granted", role=lambda: role_name(role)
            )
            await publish_user_menu(bot, i18n, granted)
        current = (await repos.users.get(stranger.id) or stranger).role
        text = _("access.granted_notice").format(
            admin=admin_label,
            role=role_name(current),
            name=html.quote(stranger.full_name),
            id=stranger.id,
        )
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=None)
    await callback.answer()


# --- /revoke ------------------------------------------------------------------------------
async def revoke(
    message: Message, command: CommandObject, repos: Repos, user: User, admin_ids: list[int]
) -> None:
    args = (command.args or "").split()
    if len(args) != 1 and not (not args and message.reply_to_message):
        await answer_usage(message, "revoke")
        return
    target = await resolve_target(message, args[0] if args else None, repos)
    if not isinstance(target, User):
        who = args[0] if args else "?"
        await message.answer(_("grant.unknown_user").format(who=html.quote(who)))
        return
    name = html.quote(target.full_name)
    if target.role is None:
        await message.answer(_("revoke.none").format(name=name))
    elif target.id == user.id:
        await message.answer(_("revoke.self"))
    elif target.id in admin_ids:
        await message.answer(_("revoke.bootstrap").format(name=name))
    else:
        await ask_to_confirm(
            message,
            repos,
            user_id=user.id,
            action="revoke",
            payload={"user_id": target.id},
            question=_("revoke.confirm").format(
                name=name, id=target.id, role=role_name(target.role)
            ),
        )


@on_confirm("revoke", rule="revoke")
async def revoke_confirmed(
    callback: CallbackQuery, confirmation: Confirmation, repos: Repos, bot: Bot, i18n: PoI18n
) -> str:
    target_id = int(str(confirmation.payload["user_id"]))
    target = await repos.users.get(target_id)
    if target is None or target.role is None:
        return _("revoke.none").format(name=target_id)
    await repos.users.set_role(target_id, None, by=confirmation.user_id)
    await repos.audit.record(confirmation.user_id, "user.revoke", target_id, was=target.role.value)
    revoked = await repos.users.get(target_id)
    assert revoked is not None
    await tell_user(bot, i18n, revoked, "access.you_are_revoked")
    await publish_user_menu(bot, i18n, revoked)
    return _("revoke.done").format(name=html.quote(target.full_name))


# --- /chats -------------------------------------------------------------------------------
async def list_chats(message: Message, repos: Repos) -> None:
    chats = await repos.chats.all()
    if not chats:
        await message.answer(_("chats.empty"))
        return
    lines = [_("chats.title")]
    keyboard = InlineKeyboardBuilder()
    for chat in chats:
        title = html.quote(chat.title or str(chat.id))
        lines.append(
            _("chats.line").format(
                icon=STATUS_ICONS[chat.status],
                title=title,
                id=chat.id,
                status=_(f"status.{chat.status.value}"),
            )
        )
        short = (chat.title or str(chat.id))[:40]
        if chat.status is ChatStatus.APPROVED:
            keyboard.button(
                text=_("btn.disable").format(title=short),
                callback_data=ChatStatusCb(chat_id=chat.id, status=ChatStatus.DISABLED.value),
            )
        else:
            keyboard.button(
                text=_("btn.approve").format(title=short),
                callback_data=ChatStatusCb(chat_id=chat.id, status=ChatStatus.APPROVED.value),
            )
    keyboard.adjust(1)
    await message.answer("\n".join(lines), reply_markup=keyboard.as_markup())


async def chat_status_pressed(
    callback: CallbackQuery, callback_data: ChatStatusCb, repos: Repos, user: User
) -> None:
    chat = await repos.chats.get(callback_data.chat_id)
    if chat is None:
        await callback.answer(_("chats.unknown"), show_alert=True)
        return
    status = ChatStatus(callback_data.status)
    if chat.status is not status:
        await repos.chats.set_status(chat.id, status)
        await repos.audit.record(user.id, f"chat.{status.value}", chat.id, title=chat.title)
    key = "chats.approved" if status is ChatStatus.APPROVED else "chats.disabled"
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _(key).format(title=html.quote(chat.title)), reply_markup=None
        )
    await callback.answer()


# --- /audit -------------------------------------------------------------------------------
async def audit(message: Message, command: CommandObject, repos: Repos, timezone: ZoneInfo) -> None:
    arg = (command.args or "").strip()
    if arg and not (arg.isdigit() and 1 <= int(arg) <= 50):
        await answer_usage(message, "audit")
        return
    entries = await repos.audit.latest(int(arg) if arg else 20)
    if not entries:
        await message.answer(_("audit.empty"))
        return
    names = Names(repos)
    lines = [_("audit.title").format(count=len(entries))]
    for entry in entries:
        lines.append(
            _("audit.line").format(
                at=format_time(entry.at, timezone),
                actor=await names.actor(entry),
                what=await describe(entry, names, timezone),
            )
        )
    await answer_lines(message, lines)


def make_router() -> Router:
    router = Router(name="admin")
    router.message.register(list_users, Command("users"), flags=rule("users"))
    router.message.register(grant, Command("grant"), flags=rule("grant"))
    router.callback_query.register(
        access_request_answered, AccessRequestCb.filter(), flags=rule("button.access_request")
    )
    router.message.register(revoke, Command("revoke"), flags=rule("revoke"))
    router.message.register(list_chats, Command("chats"), flags=rule("chats"))
    router.callback_query.register(
        chat_status_pressed, ChatStatusCb.filter(), flags=rule("button.chat_status")
    )
    router.message.register(audit, Command("audit"), flags=rule("audit"))
    return router
