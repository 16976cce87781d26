"""The foundation end to end: bot + Telegram emulator over loopback, a real SQLite file."""

import pytest

from storage.chats import ChatStatus
from storage.users import Role
from tests.e2e.conftest import ADMIN, COLLEAGUE, GROUP, STRANGER, eventually


async def test_stranger_is_refused_and_admin_grants_with_one_tap(harness):
    reply = await harness.say(STRANGER, "/start")
    assert "только для сотрудников" in reply["text"]

    notice = await harness.emu.wait_for_message(ADMIN)
    assert "Запрос доступа" in notice["text"]
    assert "Пётр <Иванов>" in notice["text"] and "@petr_iv" in notice["text"]
    assert str(STRANGER) in notice["text"]

    harness.press(ADMIN, notice, "диспетчер")
    told = await harness.emu.wait_for_message(STRANGER, after_message_id=reply["message_id"])
    assert "диспетчер" in told["text"]
    await harness.emu.wait_for_event(lambda call: call.method == "editMessageText", start=0)
    edited = harness.emu.messages(ADMIN)[-1]
    assert "выдал(а) роль «диспетчер»" in edited["text"]
    assert not edited.get("reply_markup")

    user = await harness.app.repos.users.get(STRANGER)
    assert user.role is Role.DISPATCHER
    help_reply = await harness.say(STRANGER, "/help")
    assert "/help" in help_reply["text"] and "/users" not in help_reply["text"]


async def test_admins_hear_about_a_stranger_once(harness):
    await harness.say(STRANGER, "/start")
    await harness.say(STRANGER, "/help")
    await harness.say(STRANGER, "привет")
    await harness.emu.wait_for_message(ADMIN, lambda m: "Запрос доступа" in m["text"])
    await harness.say(ADMIN, "/start")  # a full round trip after the stranger's messages
    notices = [m for m in harness.emu.messages(ADMIN) if "Запрос доступа" in m["text"]]
    assert len(notices) == 1


async def test_grant_by_id_and_help_differs_by_role(harness):
    admin_help = await harness.say(ADMIN, "/help")
    for command in ("/users", "/grant", "/revoke", "/chats", "/audit"):
        assert command in admin_help["text"]

    done = await harness.say(ADMIN, f"/grant {STRANGER} viewer")
    assert "наблюдатель" in done["text"]
    viewer_help = await harness.say(STRANGER, "/help")
    assert "/users" not in viewer_help["text"] and "/help" in viewer_help["text"]

    refused = await harness.say(STRANGER, "/users")
    assert "«администратор»" in refused["text"]


async def test_grant_by_username_and_by_reply_to_a_forward(harness):
    await harness.say(STRANGER, "/start")  # the bot learns @petr_iv
    await harness.emu.wait_for_message(ADMIN, lambda m: "Запрос доступа" in m["text"])
    done = await harness.say(ADMIN, "/grant @petr_iv диспетчер")
    assert "теперь — диспетчер" in done["text"]

    forwarded = harness.emu.user_sends(ADMIN, "переслано", forward_from_user_id=COLLEAGUE)
    done = await harness.say(
        ADMIN,
        "/grant viewer",
        reply_to_message_id=forwarded["message_id"],
        expect=lambda m: "теперь" in m["text"],
    )
    assert str(COLLEAGUE) in done["text"]
    user = await harness.app.repos.users.get(COLLEAGUE)
    assert user.role is Role.VIEWER


async def test_bad_arguments_and_unknown_commands_get_hints(harness):
    usage = await harness.say(ADMIN, "/grant")
    assert "Использование" in usage["text"] and "/grant &lt;id" not in usage["text"]
    assert "/grant <id | @username>" in usage["text"]

    bad_role = await harness.say(ADMIN, "/grant 5 boss")
    assert "Нет роли «boss»" in bad_role["text"]

    unknown = await harness.say(ADMIN, "/hepl")
    assert "Не знаю команду /hepl" in unknown["text"] and "/help" in unknown["text"]

    plain = await harness.say(ADMIN, "где водитель?")
    assert "/help" in plain["text"]

    audit_bad = await harness.say(ADMIN, "/audit много")
    assert "/audit [" in audit_bad["text"]


async def test_english_user_gets_english(harness):
    refused = await harness.say(COLLEAGUE, "/start")
    assert "for the company's staff only" in refused["text"]
    await harness.say(ADMIN, f"/grant {COLLEAGUE} viewer")
    told = await harness.emu.wait_for_message(COLLEAGUE, after_message_id=refused["message_id"])
    assert "You now have access" in told["text"]
    reply = await harness.say(COLLEAGUE, "/help")
    assert "logibot commands" in reply["text"]
    unknown = await harness.say(COLLEAGUE, "/whatever")
    assert "I don't know" in unknown["text"]


async def test_revoke_asks_and_a_double_tap_acts_once(harness):
    await harness.say(STRANGER, "/start")
    await harness.say(ADMIN, f"/grant {STRANGER} viewer", expect=lambda m: "теперь" in m["text"])
    question = await harness.say(ADMIN, f"/revoke {STRANGER}")
    assert "Отозвать доступ" in question["text"]
    harness.press(ADMIN, question, "Да")
    harness.press(ADMIN, question, "Да")  # a double tap: Telegram delivers both
    await harness.emu.wait_for_event(lambda call: call.method == "answerCallbackQuery", timeout=5)
    told = await harness.emu.wait_for_message(STRANGER, lambda m: "отозван" in m["text"])
    assert told
    await harness.emu.wait_for_event(
        lambda call: (
            call.method == "answerCallbackQuery"
            and "уже выполнено" in str(call.params.get("text", ""))
        ),
        timeout=5,
        start=0,
    )
    entries = await harness.app.repos.audit.latest(50)
    assert [e.action for e in entries].count("user.revoke") == 1
    assert (await harness.app.repos.users.get(STRANGER)).role is None


async def test_admin_cannot_be_revoked_from_admin_ids(harness):
    await harness.say(ADMIN, "/grant 777 admin")
    reply = await harness.say(ADMIN, f"/revoke {ADMIN}")
    assert "самого себя" in reply["text"]


async def test_group_added_by_a_stranger_is_left(harness):
    harness.emu.add_group(GROUP, "Чужая группа")
    harness.emu.add_bot_to_group(STRANGER, GROUP)
    await harness.emu.wait_for_event(lambda call: call.method == "leaveChat", timeout=5, start=0)
    said = harness.emu.messages(GROUP)
    assert any("Выхожу" in m["text"] for m in said)
    notice = await harness.emu.wait_for_message(ADMIN, lambda m: "вышел из группы" in m["text"])
    assert "Чужая группа" in notice["text"]
    chat = await harness.app.repos.chats.get(GROUP)
    assert chat.status is ChatStatus.DISABLED


async def test_group_added_by_admin_is_approved_and_followed(harness):
    harness.emu.add_group(GROUP, "Диспетчерская & Co")
    harness.emu.add_bot_to_group(ADMIN, GROUP)
    welcome = await harness.emu.wait_for_message(GROUP)
    assert "подключил" in welcome["text"]
    reply = await harness.say(ADMIN, "/help", chat_id=GROUP)
    assert "Команды" in reply["text"]

    chats = await harness.say(ADMIN, "/chats")
    assert "Диспетчерская &amp; Co" not in chats["text"]  # escaped for Telegram, shown plain
    assert "Диспетчерская & Co" in chats["text"] and "одобрена" in chats["text"]
    harness.press(ADMIN, chats, "Отключить")
    await harness.emu.wait_for_event(lambda call: call.method == "editMessageText", start=0)
    assert (await harness.app.repos.chats.get(GROUP)).status is ChatStatus.DISABLED
    silent = len(harness.emu.messages(GROUP))
    harness.emu.user_sends(ADMIN, "/help", chat_id=GROUP)
    await harness.emu.wait_for_poller()
    await harness.say(ADMIN, "/start")  # a round trip later, the group still heard nothing
    assert len(harness.emu.messages(GROUP)) == silent


async def test_group_migration_and_kick_keep_the_chats_table_true(harness):
    harness.emu.add_group(GROUP, "Склад")
    harness.emu.add_bot_to_group(ADMIN, GROUP)
    await harness.emu.wait_for_message(GROUP)
    new_id = harness.emu.migrate_group(GROUP)
    moved = await eventually(lambda: harness.app.repos.chats.get(new_id))
    assert moved.status is ChatStatus.APPROVED
    reply = await harness.say(ADMIN, "/help", chat_id=new_id)
    assert "Команды" in reply["text"]

    harness.emu.remove_bot_from_group(ADMIN, new_id)
    notice = await harness.emu.wait_for_message(ADMIN, lambda m: "удалили из группы" in m["text"])
    assert "Склад" in notice["text"]
    assert (await harness.app.repos.chats.get(new_id)).status is ChatStatus.DISABLED


async def test_menus_are_set_per_role_and_language(harness):
    await harness.say(STRANGER, "/start")
    await harness.say(ADMIN, f"/grant {STRANGER} viewer", expect=lambda m: "теперь" in m["text"])
    await harness.emu.wait_for_event(
        lambda call: (
            call.method == "setMyCommands"
            and str(STRANGER) in str(call.params)
            and call.params.get("language_code") == "en"
        ),
        start=0,
    )
    commands = harness.emu.commands
    admin_menu = [
        c["command"]
        for (scope, lang), cmds in commands.items()
        if str(ADMIN) in scope and lang == ""
        for c in cmds
    ]
    assert "grant" in admin_menu
    viewer_menus = {
        lang: cmds for (scope, lang), cmds in commands.items() if str(STRANGER) in scope
    }
    assert set(viewer_menus) == {"", "en"}
    assert "grant" not in [c["command"] for c in viewer_menus[""]]
    assert any(c["description"] == "list of commands" for c in viewer_menus["en"])


async def test_audit_lists_state_changes_in_words(harness):
    await harness.say(STRANGER, "/start")
    await harness.say(ADMIN, f"/grant {STRANGER} viewer")
    harness.emu.add_group(GROUP, "Склад <1>")
    harness.emu.add_bot_to_group(ADMIN, GROUP)
    await harness.emu.wait_for_message(GROUP)
    await harness.say(ADMIN, "/mute 2h", chat_id=GROUP)
    said = (await harness.say(ADMIN, "/audit"))["text"]
    admin, stranger = "Админ 1001 (@admin1001)", "Пётр <Иванов> (@petr_iv)"
    assert f"{admin}: выдана роль «наблюдатель»: {stranger}" in said
    assert f"{stranger}: запрос доступа к боту" in said
    assert f"{admin}: бот добавлен в группу «Склад <1>»" in said
    assert "оповещения выключены до" in said and ", группа «Склад <1>»" in said
    assert "user.grant" not in said and "role=" not in said


async def test_a_confirmation_is_checked_again_when_pressed(harness):
    """Yes acts only for someone who still holds the role, and only within 10 minutes."""
    await harness.say(STRANGER, "/start")
    await harness.say(COLLEAGUE, "/start")
    await harness.say(ADMIN, f"/grant {STRANGER} viewer", expect=lambda m: "теперь" in m["text"])
    await harness.say(ADMIN, f"/grant {COLLEAGUE} admin", expect=lambda m: "теперь" in m["text"])
    question = await harness.say(
        COLLEAGUE, f"/revoke {STRANGER}", expect=lambda m: "reply_markup" in m
    )
    # Before Mary presses Yes, the bootstrap admin makes her a viewer.
    await harness.say(ADMIN, f"/grant {COLLEAGUE} viewer", expect=lambda m: "теперь" in m["text"])
    harness.press(COLLEAGUE, question, "Yes")
    refused = await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and c.params["chat_id"] == COLLEAGUE, start=0
    )
    assert "no longer" in refused.params["text"]
    assert (await harness.app.repos.users.get(STRANGER)).role is Role.VIEWER

    stale = await harness.say(ADMIN, f"/revoke {STRANGER}")
    await harness.app.repos.db.execute(
        "UPDATE confirmations SET created_at = '2020-01-01T00:00:00+00:00' WHERE used_at IS NULL"
    )
    harness.press(ADMIN, stale, "Да")
    expired = await harness.emu.wait_for_event(
        lambda c: c.method == "editMessageText" and c.params["chat_id"] == ADMIN, start=0
    )
    assert "устарело" in expired.params["text"]
    assert (await harness.app.repos.users.get(STRANGER)).role is Role.VIEWER


@pytest.mark.parametrize("command", ["/users", "/audit", "/status", "/chats"])
async def test_admin_screens_answer_only_in_private(harness, command):
    harness.emu.add_group(GROUP, "Диспетчерская")
    harness.emu.add_bot_to_group(ADMIN, GROUP)
    await harness.emu.wait_for_message(GROUP)  # the welcome
    reply = await harness.say(ADMIN, command, chat_id=GROUP)
    assert "в личном чате" in reply["text"]
    assert str(ADMIN) not in reply["text"] and "Админ" not in reply["text"]
    assert "в личном чате" not in (await harness.say(ADMIN, command))["text"]


async def test_grant_has_the_guards_of_revoke(harness):
    await harness.say(COLLEAGUE, "/start")
    await harness.emu.wait_for_message(ADMIN, lambda m: "Запрос доступа" in m["text"])
    bootstrap = await harness.say(ADMIN, f"/grant {ADMIN} viewer")
    assert "ADMIN_IDS" in bootstrap["text"]
    group = await harness.say(ADMIN, "/grant -1001234567 viewer")
    assert "не человека" in group["text"]
    assert await harness.app.repos.users.get(-1001234567) is None
    await harness.say(ADMIN, f"/grant {COLLEAGUE} admin", expect=lambda m: "теперь" in m["text"])
    # Mary becomes the only admin left in the database (as after an ADMIN_IDS change)...
    await harness.app.repos.users.set_role(ADMIN, Role.VIEWER, by=None)
    last = await harness.say(
        COLLEAGUE, f"/grant {COLLEAGUE} viewer", expect=lambda m: "last" in m["text"]
    )
    assert "last administrator" in last["text"]
    assert (await harness.app.repos.users.get(COLLEAGUE)).role is Role.ADMIN
    assert (await harness.app.repos.users.get(ADMIN)).role is Role.VIEWER


MIGRATION_ORDERS = [
    "member,to,from",
    "member,from,to",
    "to,member,from",
    "from,member,to",
    "to,from,member",
    "from,to,member",
]


@pytest.mark.parametrize("order", MIGRATION_ORDERS)
async def test_an_upgraded_group_stays_approved_whatever_the_order_of_updates(harness, order):
    """Telegram announces an upgrade with a join for the new id (from whoever upgraded it, here
    not an admin) and two service messages, in no fixed order: that is a migration, not a
    stranger adding the bot."""
    repos = harness.app.repos
    harness.emu.add_group(GROUP, "Склад")
    harness.emu.add_bot_to_group(ADMIN, GROUP)
    await harness.emu.wait_for_message(GROUP)  # the welcome: approved
    await repos.subscriptions.add(GROUP, 0, "area:drivers", by=ADMIN)
    await harness.say(ADMIN, "/quiet 22:00-07:00", chat_id=GROUP)
    harness.emu.user_sends(COLLEAGUE, "/start")  # Mary: a member who is no admin
    harness.emu.set_member_status(GROUP, COLLEAGUE, "creator")

    new_id = harness.emu.migrate_group(GROUP, by_user_id=COLLEAGUE, order=order)
    moved = await eventually(lambda: repos.chats.get(new_id), timeout=10)
    assert moved.status is ChatStatus.APPROVED
    await harness.emu.wait_for_poller()
    reply = await harness.say(ADMIN, "/subscriptions", chat_id=new_id, timeout=10)
    assert "Водители" in reply["text"] and "22:00" in reply["text"]
    assert await repos.chats.get(GROUP) is None
    assert harness.emu.calls_of("leaveChat") == []
    assert (await repos.chats.get(new_id)).status is ChatStatus.APPROVED
