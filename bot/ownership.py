"""Who may see a taxi order, a task or a wagon, and who is told when someone acts on it from
another chat: one rule for every service.

An item is named by its alert subject (``order:123``, ``task:TG-240513-K7Q2``,
``wagon:54676515``). Its **owner** is the chat (and forum topic) where the bot created it —
``/taxi``, ``/task new``, ``/wagon add``, and what those flows adopted after a lost answer —
with the person who did (storage/item_owners.py). Its **watchers** are the chats whose
subscriptions name it (``/subscribe … -- order:123``, the chat that asked ``/order 123``, an
admin's «👁 Следить здесь»).

Who may see an item (:meth:`Ownership.sight`):

- anyone in the owning chat or a chat watching it, asking there;
- in a private chat: the person who created it, and a member of the owning or a watching group
  (Telegram's ``getChatMember``, remembered for :data:`MEMBER_TTL` seconds);
- an item nobody owns: a Mobiforce task or an Alta wagon stays visible to everyone with the
  role (those accounts are the company's own, as before); a taxi order nobody owns or watches
  is shown to nobody but an admin — Taxi-Master's ids are sequential, so any id would show a
  driver's name, phone and position, and would put a stranger's order on the poll;
- an admin, always (the reason says when an admin sees only because they are one: the card is
  then shown once and a chat watches it only by the admin's explicit choice).

Acting (closing, commenting, taking off tracking) needs the same sight plus the action's role
(bot/policy.py); when it happens elsewhere than in the owning chat, the owning chat is told in
one alert — who, what, from where — through the outbox like every alert
(:meth:`Ownership.tell_owner`).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat
from aiogram.utils.i18n import gettext as _

from bot.alerts.fields import as_text, register_field
from bot.alerts.pipeline import AlertPipeline
from integrations.base import Alert, FieldValue, Subject
from storage import Repos
from storage.db import utcnow
from storage.item_owners import Owner
from storage.subscriptions import filter_key
from storage.users import Role, User

log = logging.getLogger(__name__)

# The subject types that are items: what a chat may own, watch and be refused.
ITEM_TYPES: Final = frozenset({"order", "task", "wagon", "container"})
# How long a "is this person a member of that group?" answer is trusted.
MEMBER_TTL: Final = 60.0
# Subject types whose unowned items anyone with the role may see: the Mobiforce and Alta
# accounts are the company's own. A taxi order is not among them (see the module's text).
OPEN_WHEN_UNOWNED: Final = frozenset({"task", "wagon", "container"})
_MEMBER_STATUSES: Final = frozenset(
    {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


class Reason(StrEnum):
    CHAT = "chat"  # the chat asked in owns or watches the item
    CREATOR = "creator"  # in private: the person who created it
    MEMBER = "member"  # in private: a member of the owning or a watching group
    OPEN = "open"  # nobody owns it, and its service's items are the company's own
    ADMIN = "admin"  # only because the person is an admin
    NONE = "none"  # may not see it


@dataclass(frozen=True)
class Viewer:
    """Who asks, and where: the person (their role) and the chat (topic) they asked in."""

    user_id: int
    role: Role | None
    name: str  # for the owning chat's notice
    chat_id: int
    thread_id: int = 0
    chat_type: str = "private"
    chat_title: str = ""

    @property
    def private(self) -> bool:
        return self.chat_type == "private"

    @classmethod
    def of(cls, user: User, chat: Chat | None, thread_id: int | None = None) -> Viewer:
        name = user.full_name + (f" (@{user.username})" if user.username else "")
        if chat is None:  # no chat to speak of: as if asked in their private chat
            return cls(user.id, user.role, name, user.id)
        return cls(user.id, user.role, name, chat.id, thread_id or 0, chat.type, chat.title or "")


@dataclass(frozen=True)
class Sight:
    """What one viewer may do with one item, and why."""

    subject: str
    reason: Reason
    owner: Owner | None = None
    watched: bool = False  # some chat watches it

    @property
    def allowed(self) -> bool:
        return self.reason is not Reason.NONE

    @property
    def known(self) -> bool:
        """The bot knows the item: some chat owns or watches it."""
        return self.owner is not None or self.watched

    @property
    def admin_only(self) -> bool:
        """Seen only because the viewer is an admin: shown, but not watched unasked."""
        return self.reason is Reason.ADMIN


def subject_type(subject: str) -> str:
    return subject.partition(":")[0].casefold()


class Ownership:
    def __init__(
        self,
        bot: Bot,
        repos: Repos,
        pipeline: AlertPipeline,
        *,
        member_ttl: float = MEMBER_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.repos = repos
        self.pipeline = pipeline
        self.member_ttl = member_ttl
        self.clock = clock
        self._members: dict[tuple[int, int], tuple[float, bool]] = {}

    # --- who may see ------------------------------------------------------------------------
    async def sight(self, viewer: Viewer, subject: str) -> Sight:
        return (await self.sights(viewer, [subject]))[subject]

    async def sights(self, viewer: Viewer, subjects: Iterable[str]) -> dict[str, Sight]:
        """Each of ``subjects`` as ``viewer`` may see it (two reads however many there are)."""
        keys = {subject: filter_key(subject) for subject in subjects}
        owners = await self.repos.item_owners.of(keys.values())
        watchers = await self.repos.subscriptions.watchers(keys.values())
        found = {}
        for subject, key in keys.items():
            owner, watching = owners.get(key), watchers.get(key, set())
            chats = ([owner.chat_id] if owner else []) + sorted(watching)
            reason = await self._reason(
                viewer,
                chats,
                creator=owner.user_id if owner else None,
                open_=owner is None and subject_type(subject) in OPEN_WHEN_UNOWNED,
            )
            found[subject] = Sight(subject, reason, owner, bool(watching))
        return found

    async def visible(self, viewer: Viewer, subjects: Iterable[str]) -> set[str]:
        """Those of ``subjects`` the viewer may see."""
        return {s for s, sight in (await self.sights(viewer, subjects)).items() if sight.allowed}

    async def may_watch(self, viewer: Viewer, subject_filter: str) -> bool:
        """Whether the viewer may subscribe their chat to ``subject_filter`` (a subscription
        naming an item makes the chat one that sees it): any filter that is not an item, and
        an item they may see (an admin may name any: an explicit choice, like the order card's
        «👁 Следить здесь»)."""
        if not subject_filter or subject_type(subject_filter) not in ITEM_TYPES:
            return True
        return (await self.sight(viewer, subject_filter)).allowed

    async def sees_chat(self, viewer: Viewer, chat_id: int, user_id: int) -> bool:
        """Whether ``viewer`` may see what ``user_id`` is making in ``chat_id`` before it is an
        item (a taxi order whose create is still unknown): the owner's rule."""
        reason = await self._reason(viewer, [chat_id], creator=user_id, open_=False)
        return reason is not Reason.NONE

    async def _reason(
        self, viewer: Viewer, chats: list[int], *, creator: int | None, open_: bool
    ) -> Reason:
        if viewer.chat_id in chats:
            return Reason.CHAT
        if viewer.private and creator == viewer.user_id:
            return Reason.CREATOR
        if viewer.private:
            for chat_id in dict.fromkeys(chats):
                if chat_id < 0 and await self.is_member(chat_id, viewer.user_id):
                    return Reason.MEMBER
        if open_:
            return Reason.OPEN
        if viewer.role is Role.ADMIN:
            return Reason.ADMIN
        return Reason.NONE

    async def is_member(self, chat_id: int, user_id: int) -> bool:
        """Whether the person is in the group now, as Telegram says (remembered a while; a
        group the bot cannot ask — it was removed — counts as not)."""
        now = self.clock()
        cached = self._members.get((chat_id, user_id))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await self.bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as exc:
            log.info("membership of %s in %s unknown: %s", user_id, chat_id, exc)
            result = False
        else:
            result = member.status in _MEMBER_STATUSES or bool(getattr(member, "is_member", False))
        self._members[(chat_id, user_id)] = (now + self.member_ttl, result)
        return result

    # --- telling the owner ------------------------------------------------------------------
    async def tell_owner(
        self,
        viewer: Viewer,
        sight: Sight,
        *,
        kind: str,
        source: str,
        title: str,
        action: str,
        **details: FieldValue,
    ) -> bool:
        """The owning chat hears that ``viewer`` did ``action`` to the item from another chat
        (nothing when there is no owner, or it happened in the owning chat itself)."""
        owner = sight.owner
        if owner is None or owner.chat_id == viewer.chat_id:
            return False
        type_, _sep, item_id = sight.subject.partition(":")
        alert = Alert(
            kind=kind,
            source=source,
            subject=Subject(type_, item_id, title),
            occurred_at=utcnow(),
            dedupe_key=f"acted:{filter_key(sight.subject)}:{action}:{secrets.token_hex(4)}",
            fields={
                "action": action,
                **details,
                "actor": viewer.name,
                "acted_in": viewer.chat_title if not viewer.private else "",
            },
        )
        log.info(
            "%s: %s by %s in chat %s, told to its chat %s",
            sight.subject,
            action,
            viewer.user_id,
            viewer.chat_id,
            owner.chat_id,
        )
        return await self.pipeline.tell(owner.chat_id, owner.thread_id, alert)


# --- the notice's fields, in words (bot/alerts/fields.py) ----------------------------------
def action_words(value: FieldValue, tz: ZoneInfo) -> str:
    key = f"ownership.action.{value}"
    text = _(key)
    return as_text(value, tz) if text == key else text


def place_words(value: FieldValue, tz: ZoneInfo) -> str:
    """A group's title in quotes; an empty one is the person's private chat with the bot."""
    return _("ownership.in_group").format(title=value) if value else _("ownership.in_private")


register_field("action", action_words)
register_field("comment")
register_field("actor")
register_field("acted_in", place_words)


def viewer_of(data: dict[str, Any], user: User) -> Viewer:
    """The viewer of an update, from what aiogram's context middleware put in ``data``."""
    return Viewer.of(user, data.get("event_chat"), data.get("event_thread_id"))
