"""bot/ownership.py and storage/item_owners.py: who may see an item, from the owners' table and
the subscriptions, with Telegram's word on group membership (a stand-in Bot at the edge)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import GetChatMember
from aiogram.types import ChatMemberLeft, ChatMemberMember, User

from bot.ownership import Ownership, Reason, Viewer
from storage import Repos
from storage.db import Database
from storage.users import Role
from tests.unit.test_storage import make_old_file

GROUP_A, GROUP_B = -1001, -1002
CREATOR, MEMBER, OTHER, ADMIN = 11, 12, 13, 14


class Telegram:
    """The Bot's one call here: group members, and groups the bot was removed from."""

    def __init__(self) -> None:
        self.members = {(GROUP_A, MEMBER), (GROUP_A, CREATOR)}
        self.removed_from: set[int] = set()
        self.asked: list[tuple[int, int]] = []

    async def get_chat_member(self, chat_id: int, user_id: int) -> Any:
        self.asked.append((chat_id, user_id))
        if chat_id in self.removed_from:
            method = GetChatMember(chat_id=chat_id, user_id=user_id)
            raise TelegramForbiddenError(method, "Forbidden: bot was kicked from the group chat")
        user = User(id=user_id, is_bot=False, first_name="x")
        if (chat_id, user_id) in self.members:
            return ChatMemberMember(user=user)
        return ChatMemberLeft(user=user)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def viewer(user_id: int, chat_id: int | None = None, role: Role = Role.VIEWER) -> Viewer:
    chat = user_id if chat_id is None else chat_id
    return Viewer(user_id, role, f"user {user_id}", chat, 0, "private" if chat > 0 else "group")


@pytest.fixture
async def world(tmp_path):
    async with Database(tmp_path / "bot.sqlite3") as db:
        repos = Repos.on(db)
        telegram, clock = Telegram(), Clock()
        ownership = Ownership(telegram, repos, pipeline=None, clock=clock)  # type: ignore[arg-type]
        yield repos, ownership, telegram, clock


async def reason(ownership: Ownership, who: Viewer, subject: str) -> Reason:
    return (await ownership.sight(who, subject)).reason


async def test_an_order_is_seen_where_it_was_made_by_members_in_private_and_by_admins(world):
    repos, ownership, telegram, _ = world
    await repos.item_owners.record("order:5001", chat_id=GROUP_A, thread_id=3, user_id=CREATOR)
    assert await reason(ownership, viewer(OTHER, GROUP_A), "order:5001") is Reason.CHAT
    assert await reason(ownership, viewer(OTHER, GROUP_B), "order:5001") is Reason.NONE
    assert await reason(ownership, viewer(CREATOR), "order:5001") is Reason.CREATOR
    assert await reason(ownership, viewer(MEMBER), "order:5001") is Reason.MEMBER
    assert await reason(ownership, viewer(OTHER), "order:5001") is Reason.NONE
    admin = viewer(ADMIN, GROUP_B, Role.ADMIN)
    assert await reason(ownership, admin, "order:5001") is Reason.ADMIN
    # Nobody's order: an admin only (and not "known" to the bot).
    sight = await ownership.sight(admin, "order:7")
    assert sight.admin_only and not sight.known
    assert await reason(ownership, viewer(OTHER, GROUP_A), "order:7") is Reason.NONE
    # A group watching it (a subscription naming it) sees it too, and its members in private.
    await repos.subscriptions.add(GROUP_B, 0, "all", "order:7", by=ADMIN)
    assert await reason(ownership, viewer(OTHER, GROUP_B), "order:7") is Reason.CHAT
    telegram.members.add((GROUP_B, OTHER))
    assert await reason(ownership, viewer(OTHER), "order:7") is Reason.MEMBER


async def test_unowned_tasks_and_wagons_stay_open_owned_ones_do_not(world):
    repos, ownership, _, _ = world
    stranger = viewer(OTHER, GROUP_B)
    for subject in ("task:000023", "wagon:52345675", "container:TGHU1234567"):
        assert await reason(ownership, stranger, subject) is Reason.OPEN
    await repos.item_owners.record("task:TG-240513-K7Q2", chat_id=GROUP_A, thread_id=0, user_id=1)
    # Found as people type it: any case, a number with or without its leading zeros.
    assert await reason(ownership, stranger, "task:tg-240513-k7q2") is Reason.NONE
    await repos.item_owners.record("task:23", chat_id=GROUP_A, thread_id=0, user_id=1)
    assert await reason(ownership, stranger, "task:000023") is Reason.NONE
    # The latest add of a wagon number owns it.
    await repos.item_owners.record("wagon:52345675", chat_id=GROUP_A, thread_id=0, user_id=1)
    await repos.item_owners.record("wagon:52345675", chat_id=GROUP_B, thread_id=0, user_id=2)
    assert await reason(ownership, stranger, "wagon:52345675") is Reason.CHAT
    owners = await repos.item_owners.of_type("task")
    assert sorted(o.subject_key for o in owners) == ["task:23", "task:tg-240513-k7q2"]


async def test_membership_is_asked_once_a_while_and_a_lost_group_counts_as_not(world):
    repos, ownership, telegram, clock = world
    await repos.item_owners.record("order:1", chat_id=GROUP_A, thread_id=0, user_id=CREATOR)
    for _ in range(3):
        assert await reason(ownership, viewer(MEMBER), "order:1") is Reason.MEMBER
    assert telegram.asked == [(GROUP_A, MEMBER)]
    telegram.members.discard((GROUP_A, MEMBER))  # left the group: believed after a while
    clock.now += 61
    assert await reason(ownership, viewer(MEMBER), "order:1") is Reason.NONE
    telegram.members.add((GROUP_A, MEMBER))
    telegram.removed_from.add(GROUP_A)
    clock.now += 61
    assert await reason(ownership, viewer(MEMBER), "order:1") is Reason.NONE
    # Asked only in private: in a group, the group's others would see it too.
    asked = len(telegram.asked)
    assert await reason(ownership, viewer(MEMBER, GROUP_B), "order:1") is Reason.NONE
    assert len(telegram.asked) == asked


async def test_only_items_a_chat_may_see_are_subscribed_to(world):
    repos, ownership, _, _ = world
    await repos.item_owners.record("order:5", chat_id=GROUP_A, thread_id=0, user_id=CREATOR)
    stranger = viewer(OTHER, GROUP_B)
    assert not await ownership.may_watch(stranger, "order:5")
    assert not await ownership.may_watch(stranger, "order:6")  # nobody's: not either
    assert await ownership.may_watch(viewer(OTHER, GROUP_A), "order:5")
    assert await ownership.may_watch(stranger, "tag:Склад")
    assert await ownership.may_watch(stranger, "driver:79991234567")
    assert await ownership.may_watch(viewer(ADMIN, GROUP_B, Role.ADMIN), "order:6")


async def test_the_bots_orders_and_tasks_from_before_the_table_get_their_owners(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_old_file(path, 15)  # the last version without item_owners
    with sqlite3.connect(path) as old:
        for create_id, state, order_id in (("a", "created", 5001), ("b", "unknown", None)):
            old.execute(
                "INSERT INTO taximaster_creates (create_id, order_key, state, order_id, chat_id, "
                "thread_id, user_id, payload, sent_at, updated_at) VALUES (:id, :id, :state, "
                ":order_id, :chat, 4, 7, '{}', '2026-01-01T00:00:00+00:00', "
                "'2026-01-01T00:00:00+00:00')",
                {"id": create_id, "state": state, "order_id": order_id, "chat": GROUP_A},
            )
        old.execute(
            "INSERT INTO mobiforce_creates (marker, task_id, state, chat_id, thread_id, user_id, "
            "payload, created_at, updated_at) VALUES ('TG-240513-K7Q2', 9, 'created', :chat, 0, "
            "8, '{}', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            {"chat": GROUP_B},
        )
    async with Database(path) as db:
        owners = await Repos.on(db).item_owners.of(["order:5001", "task:TG-240513-K7Q2"])
    assert (owners["order:5001"].chat_id, owners["order:5001"].thread_id) == (GROUP_A, 4)
    assert owners["task:tg-240513-k7q2"].chat_id == GROUP_B
    assert len(owners) == 2
