"""The Telegram emulator answers like Telegram: a real aiogram Bot talks to it over loopback HTTP.

Each test checks one behaviour the bot relies on (an error text aiogram maps to an exception,
an update shape, a limit), so a regression in the emulator shows up as a named failure here
rather than as a confusing end-to-end failure elsewhere.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from sandbox.console import render_location, run_console
from sandbox.telegram_emulator import (
    BotEvent,
    HtmlParseError,
    ManualClock,
    Outage,
    RateLimits,
    TelegramEmulator,
    parse_html,
)

TOKEN = "123456:TEST-TOKEN"
USER = 1001
GROUP = -4001


class _FastCloseSession(AiohttpSession):
    """AiohttpSession.close() sleeps 250 ms to let TLS connections wind down.

    Loopback HTTP has no TLS, and with a bot per test that sleep alone would blow the time
    budget of this file.
    """

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(text=text, callback_data=data) for text, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[row])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(
        token=TOKEN, bot_username="logibot", limits=RateLimits(), clock=clock
    )
    await emulator.start()
    emulator.add_user(USER, "Ирина", username="irina_disp")
    yield emulator
    await emulator.stop()


@pytest.fixture
def group(emu: TelegramEmulator) -> int:
    emu.add_group(GROUP, "Диспетчерская")
    emu.add_bot_to_group(USER, GROUP)
    return GROUP


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    assert emu.base_url is not None
    session = _FastCloseSession(api=TelegramAPIServer.from_base(emu.base_url))
    telegram_bot = Bot(
        TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    yield telegram_bot
    await session.close()


# --- basics ---------------------------------------------------------------------------------


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "logibot")


async def test_send_message_stores_plain_text_entities_and_raw_html(
    emu: TelegramEmulator, bot: Bot
) -> None:
    sent = await bot.send_message(USER, "<b>Рейс</b> 😀 <i>в пути</i>")

    assert sent.text == "Рейс 😀 в пути"
    assert sent.from_user is not None and sent.from_user.username == "logibot"
    # Offsets are UTF-16: the emoji counts as two units.
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 4),
        ("italic", 8, 6),
    ]
    stored = emu.last_message(USER)
    assert stored is not None
    assert stored["text"] == "Рейс 😀 в пути"
    assert stored["raw_text"] == "<b>Рейс</b> 😀 <i>в пути</i>"
    assert emu.calls_of("sendMessage")[0].params["chat_id"] == USER


async def test_unknown_chat_wrong_token_unknown_method(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "кому?")

    stranger = Bot("999:WRONG", session=_FastCloseSession(api=bot.session.api))
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    await stranger.session.close()

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emu.base_url}/bot{TOKEN}/noSuchMethod") as response,
    ):
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_json_bodies_and_get_queries_are_accepted(emu: TelegramEmulator) -> None:
    markup = {"inline_keyboard": [[{"text": "Принял", "callback_data": "ack"}]]}
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
        async with http.post(
            url, json={"chat_id": USER, "text": "hi", "reply_markup": markup}
        ) as r:
            body = await r.json()
        async with http.get(f"{emu.base_url}/bot{TOKEN}/getMe") as r:
            me = await r.json()

    assert body["ok"] and body["result"]["reply_markup"] == markup
    assert me["result"]["username"] == "logibot"


# --- text and HTML ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<b>не закрыт",
        "<b><i>крест</b></i>",
        "<blink>нет такого тега</blink>",
        "a < b",
        "AT&T",
        "&nbsp;",
        "конец</b>",
        '<span class="x">?</span>',
    ],
)
async def test_malformed_html_is_rejected(emu: TelegramEmulator, bot: Bot, html: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, html)
    assert emu.rejected_calls()[-1].description.startswith(  # type: ignore[union-attr]
        "Bad Request: can't parse entities: "
    )
    assert emu.messages(USER) == []


async def test_escaped_html_is_accepted(bot: Bot) -> None:
    sent = await bot.send_message(USER, "&lt;b&gt; &amp; &quot;груз&quot; &#60;&#x3E;")
    assert sent.text == '<b> & "груз" <>'


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("Привет <x>", 'Unsupported start tag "x" at byte offset 13'),
        ("<b><i>x</b>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x & y", 'Unescaped "&", use "&amp;" at byte offset 2'),
        ("&lt", 'Character entity "&lt" must end with ";" at byte offset 0'),
    ],
)
def test_parse_html_errors_name_the_byte_offset(html: str, expected: str) -> None:
    with pytest.raises(HtmlParseError) as error:
        parse_html(html)
    assert str(error.value) == expected


def test_parse_html_supported_tags() -> None:
    html = (
        '<pre><code class="language-python">x = 1</code></pre>'
        '<blockquote expandable>цитата</blockquote><span class="tg-spoiler">тайна</span>'
        '<a href="https://example.com/?a=1&amp;b=2">ссылка</a>'
    )
    text, entities = parse_html(html)
    assert text == "x = 1цитататайнассылка"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 5, "length": 6},
        {"type": "spoiler", "offset": 11, "length": 5},
        {"type": "text_link", "offset": 16, "length": 6, "url": "https://example.com/?a=1&b=2"},
    ]


async def test_text_length_is_checked_after_parsing_in_utf16(bot: Bot) -> None:
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>")
    await bot.send_message(USER, "😀" * 2048)
    for too_long in ("a" * 4097, "😀" * 2048 + "a"):
        with pytest.raises(TelegramBadRequest, match="message is too long"):
            await bot.send_message(USER, too_long)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "  <b> </b>\n")


# --- keyboards and callbacks ------------------------------------------------------------------


@pytest.mark.parametrize("data", ["x" * 65, "д" * 33])
async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, data: str) -> None:
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "кнопки", reply_markup=keyboard(("Да", data)))


async def test_callback_data_of_64_bytes_is_fine(bot: Bot) -> None:
    sent = await bot.send_message(USER, "кнопки", reply_markup=keyboard(("Да", "д" * 32)))
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "д" * 32


async def test_user_presses_produces_callback_query_update(
    emu: TelegramEmulator, bot: Bot, clock: ManualClock
) -> None:
    sent = await bot.send_message(USER, "Рейс 7", reply_markup=keyboard(("Принял", "ack:7")))
    with pytest.raises(ValueError, match="no button"):
        emu.user_presses(USER, sent.message_id, "nope")

    query_id = emu.user_presses(USER, sent.message_id, "ack:7")
    updates = await bot.get_updates(timeout=0)

    query = updates[-1].callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (query_id, "ack:7", USER)
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="Принято")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    assert emu.callback_answers == [{"callback_query_id": query_id, "text": "Принято"}]

    late = emu.user_presses(USER, sent.message_id, "ack:7")
    clock.advance(emu.callback_query_ttl + 1)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(late)


async def test_a_press_is_answerable_for_about_15_seconds_as_in_telegram(
    emu: TelegramEmulator, bot: Bot, clock: ManualClock
) -> None:
    sent = await bot.send_message(USER, "Рейс 7", reply_markup=keyboard(("Принял", "ack:7")))
    prompt = emu.user_presses(USER, sent.message_id, "ack:7")
    clock.advance(14)
    assert await bot.answer_callback_query(prompt, text="⏳ …")

    slow = emu.user_presses(USER, sent.message_id, "ack:7")
    clock.advance(16)
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(slow)


async def test_edit_with_identical_content_is_not_modified(emu: TelegramEmulator, bot: Bot) -> None:
    markup = keyboard(("Обновить", "refresh"))
    sent = await bot.send_message(USER, "<b>Статус</b>", reply_markup=markup)

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="<b>Статус</b>", chat_id=USER, message_id=sent.message_id, reply_markup=markup
        )
    await bot.edit_message_text(text="Статус: в пути", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="?", chat_id=USER, message_id=999)

    [stored] = emu.messages(USER)
    assert stored["text"] == "Статус: в пути"
    assert "reply_markup" not in stored  # an edit without reply_markup drops the keyboard
    assert "edit_date" in stored


# --- limits and chat states -------------------------------------------------------------------


async def test_group_rate_limit_answers_429_with_retry_after(
    emu: TelegramEmulator, bot: Bot, clock: ManualClock, group: int
) -> None:
    for number in range(20):
        await bot.send_message(group, f"сообщение {number}")

    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(group, "21-е за минуту")

    assert error.value.retry_after == 3  # one slot per 3 s at 20 per minute
    assert emu.rate_limited_count == 1
    clock.advance(3)
    await bot.send_message(group, "после паузы")


async def test_private_chat_allows_a_burst_of_three_then_one_per_second(
    bot: Bot, clock: ManualClock
) -> None:
    for _ in range(3):
        await bot.send_message(USER, "быстро")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(USER, "слишком быстро")
    assert error.value.retry_after == 1
    clock.advance(1)
    await bot.send_message(USER, "теперь можно")


async def test_blocked_user_answers_403_and_queues_my_chat_member(
    emu: TelegramEmulator, bot: Bot
) -> None:
    emu.block_bot(USER)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "вы тут?")
    [update] = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_kicked_from_group_answers_403(emu: TelegramEmulator, bot: Bot, group: int) -> None:
    emu.remove_bot_from_group(USER, group)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the group chat"):
        await bot.send_message(group, "я ещё здесь")


async def test_get_chat_member_tells_membership_and_needs_the_bot_in_the_group(
    emu: TelegramEmulator, bot: Bot, group: int
) -> None:
    """What the bot asks to decide who may see a group's items from a private chat."""
    other = 1002
    emu.add_user(other, "Пётр")
    assert (await bot.get_chat_member(group, USER)).status == "creator"
    assert (await bot.get_chat_member(group, other)).status == "left"
    emu.set_member_status(group, other, "member")
    assert (await bot.get_chat_member(group, other)).status == "member"
    emu.remove_bot_from_group(USER, group)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the group chat"):
        await bot.get_chat_member(group, other)


async def test_migrated_group_points_to_the_supergroup(
    emu: TelegramEmulator, bot: Bot, group: int
) -> None:
    new_id = emu.migrate_group(group)

    with pytest.raises(TelegramMigrateToChat) as error:
        await bot.send_message(group, "в старую группу")

    assert error.value.migrate_to_chat_id == new_id
    sent = await bot.send_message(new_id, "в супергруппу")
    assert sent.chat.type == "supergroup"


# --- updates ----------------------------------------------------------------------------------


async def test_long_poll_wakes_as_soon_as_a_user_writes(emu: TelegramEmulator, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await emu.wait_for_poller()

    started = loop.time()
    emu.user_sends(USER, "/status@logibot 7")
    updates = await asyncio.wait_for(poll, 2)

    assert loop.time() - started < 1
    [update] = updates
    assert update.message is not None and update.message.text == "/status@logibot 7"
    assert [(e.type, e.offset, e.length) for e in update.message.entities or []] == [
        ("bot_command", 0, 15)
    ]
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []


async def test_allowed_updates_filters_and_persists(emu: TelegramEmulator, bot: Bot) -> None:
    emu.block_bot(USER)
    emu.unblock_bot(USER)
    emu.user_sends(USER, "привет")

    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])

    assert [u.message.text for u in updates if u.message] == ["привет"]
    assert len(updates) == 1


# --- locations, commands, listeners ---------------------------------------------------------


async def test_live_location_can_be_moved_then_stopped(emu: TelegramEmulator, bot: Bot) -> None:
    events: list[BotEvent] = []
    emu.add_listener(events.append)

    sent = await bot.send_location(USER, latitude=55.7558, longitude=37.6173, live_period=900)
    await bot.edit_message_live_location(
        latitude=55.76, longitude=37.62, chat_id=USER, message_id=sent.message_id
    )
    await bot.stop_message_live_location(chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_live_location(
            latitude=55.0, longitude=37.0, chat_id=USER, message_id=sent.message_id
        )

    assert [e.kind for e in events] == ["location", "live_location", "live_location_stopped"]
    assert emu.messages(USER)[0]["location"]["latitude"] == 55.76


async def test_live_location_answers_like_telegram_when_it_cannot_move(
    emu: TelegramEmulator, bot: Bot, clock: ManualClock
) -> None:
    deleted = await bot.send_location(USER, latitude=55.7, longitude=37.6, live_period=900)
    expired = await bot.send_location(USER, latitude=55.7, longitude=37.6, live_period=900)
    emu.user_deletes_message(USER, deleted.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_live_location(
            latitude=55.8, longitude=37.6, chat_id=USER, message_id=deleted.message_id
        )
    with pytest.raises(TelegramBadRequest, match="MESSAGE_ID_INVALID"):
        await bot.edit_message_live_location(
            latitude=55.8, longitude=37.6, chat_id=USER, message_id=0
        )
    clock.advance(901)  # the live period is over
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_live_location(
            latitude=55.8, longitude=37.6, chat_id=USER, message_id=expired.message_id
        )


async def test_a_flood_wait_refuses_edits_in_that_chat_only_until_it_ends(
    emu: TelegramEmulator, bot: Bot, group: int, clock: ManualClock
) -> None:
    mine = await bot.send_location(USER, latitude=55.7, longitude=37.6, live_period=900)
    theirs = await bot.send_location(group, latitude=55.7, longitude=37.6, live_period=900)
    emu.flood_wait(USER, 300)
    clock.advance(100)
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.edit_message_live_location(
            latitude=55.8, longitude=37.6, chat_id=USER, message_id=mine.message_id
        )
    assert refused.value.retry_after == 200
    await bot.edit_message_live_location(
        latitude=55.8, longitude=37.6, chat_id=group, message_id=theirs.message_id
    )
    clock.advance(200)
    await bot.edit_message_live_location(
        latitude=55.8, longitude=37.6, chat_id=USER, message_id=mine.message_id
    )


async def test_a_dropped_connection_is_a_network_error_once(
    emu: TelegramEmulator, bot: Bot
) -> None:
    emu.drop_connections("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "раз")
    await bot.send_message(USER, "два")
    assert [(c.ok, c.description) for c in emu.calls_of("sendMessage")] == [
        (False, "connection dropped"),
        (True, None),
    ]


async def test_commands_are_stored_per_scope_and_language(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="help", description="Справка")])
    await bot.set_my_commands(
        [BotCommand(command="status", description="Статус")],
        scope=BotCommandScopeAllGroupChats(),
        language_code="ru",
    )

    assert emu.commands[('{"type":"default"}', "")] == [
        {"command": "help", "description": "Справка"}
    ]
    group_commands = await bot.get_my_commands(
        scope=BotCommandScopeAllGroupChats(), language_code="ru"
    )
    assert [c.command for c in group_commands] == ["status"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


# --- the console ----------------------------------------------------------------------------


def _demo_dispatcher() -> Dispatcher:
    """A two-handler bot: any text gets a keyboard, any button press gets a toast."""
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)  # not the service message Telegram sends when the bot joins
    async def answer(message: Message) -> None:
        markup = keyboard(("Обновить", "refresh"), ("Принял", "ack"))
        await message.answer("Доступные команды: <b>/help</b>", reply_markup=markup)

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer(f"нажато: {query.data}")

    return dispatcher


async def test_console_prints_bot_replies_and_presses_buttons(
    emu: TelegramEmulator, bot: Bot, group: int
) -> None:
    dispatcher = _demo_dispatcher()
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=5
        )
    )
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    out = io.StringIO()
    console = asyncio.create_task(
        run_console(emu, user_id=USER, group_chat_id=group, input_stream=lines, output_stream=out)
    )

    await lines.put("/help")
    await emu.wait_for_message(USER)
    await lines.put("1")
    answered = await emu.wait_for_event(lambda c: c.method == "answerCallbackQuery", start=0)
    await lines.put("!calls")
    await lines.put("/quit")
    await asyncio.wait_for(console, 2)
    await dispatcher.stop_polling()
    await polling

    transcript = out.getvalue()
    assert answered.params["text"] == "нажато: refresh"
    assert "[личный чат] 🤖 logibot:\n  Доступные команды: /help" in transcript
    assert "  [1] Обновить   [2] Принял" in transcript
    assert "→ нажата кнопка [1] «Обновить»" in transcript
    assert "(уведомление): нажато: refresh" in transcript
    assert "answerCallbackQuery → ok" in transcript
    assert [c.params["text"] for c in emu.calls_of("sendMessage")] == [
        "Доступные команды: <b>/help</b>"
    ]


async def test_console_meta_commands_never_reach_the_bot(emu: TelegramEmulator, group: int) -> None:
    out = io.StringIO()
    script = io.StringIO("!help\n!group\nпривет группе\n!private\n5\n")

    await run_console(
        emu, user_id=USER, group_chat_id=group, input_stream=script, output_stream=out
    )

    transcript = out.getvalue()
    assert "Начните с /help" in transcript
    assert "→ теперь вы пишете в [группа «Диспетчерская»]" in transcript
    texts = [u["message"].get("text") for u in emu.pending_updates if "message" in u]
    assert texts[-1] == "5"  # no keyboard yet, so "5" is plain text
    # Privacy mode: plain text in a group never reaches the bot.
    assert "привет группе" not in texts
    assert [m.get("text") for m in emu.hidden_from_bot] == ["привет группе"]
    assert not any(text and text.startswith("!") for text in texts)


def test_locations_render_with_a_map_link() -> None:
    lines = render_location({"latitude": 55.7558, "longitude": 37.6173, "live_period": 900})
    assert lines == [
        "  📍 55.7558, 37.6173 (live 15 мин)",
        "  https://yandex.ru/maps/?pt=37.6173,55.7558&z=14",
    ]


def texts_reaching_the_bot(emu: TelegramEmulator) -> list[str | None]:
    return [u["message"].get("text") for u in emu.pending_updates if "message" in u]


async def test_privacy_mode_shows_a_group_bot_only_what_is_meant_for_it(
    emu: TelegramEmulator, bot: Bot, group: int
) -> None:
    emu.add_user(2002, "Ольга", username="olga")
    assert not (await bot.get_me()).can_read_all_group_messages
    prompt = await bot.send_message(group, "Вопрос всем")
    emu.user_sends(USER, "просто болтаем", chat_id=group)
    emu.user_sends(USER, "/status", chat_id=group)
    emu.user_sends(USER, "/status@otherbot", chat_id=group)
    emu.user_sends(USER, "/status@logibot", chat_id=group)
    emu.user_sends(USER, "эй @logibot, где машина?", chat_id=group)
    emu.user_sends(2002, "ответ боту", chat_id=group, reply_to_message_id=prompt.message_id)
    emu.user_sends(USER, "а это в личке")
    assert texts_reaching_the_bot(emu)[-5:] == [
        "/status",
        "/status@logibot",
        "эй @logibot, где машина?",
        "ответ боту",
        "а это в личке",
    ]
    assert [m["text"] for m in emu.hidden_from_bot] == ["просто болтаем", "/status@otherbot"]


async def test_an_admin_bot_sees_everything_in_a_group(emu: TelegramEmulator, group: int) -> None:
    emu.add_bot_to_group(USER, group, as_admin=True)
    emu.user_sends(USER, "просто болтаем", chat_id=group)
    assert texts_reaching_the_bot(emu)[-1] == "просто болтаем"


async def test_a_selective_force_reply_makes_the_asked_user_answer_with_a_reply(
    emu: TelegramEmulator, bot: Bot, group: int
) -> None:
    emu.add_user(2002, "Ольга", username="olga")
    question = emu.user_sends(USER, "/track", chat_id=group)
    prompt = await bot.send_message(
        group,
        "Как назвать водителя?",
        reply_to_message_id=question["message_id"],
        reply_markup=ForceReply(selective=True),
    )
    emu.user_sends(2002, "я не в мастере", chat_id=group)  # not asked: plain text, hidden
    answer = emu.user_sends(USER, "Петров", chat_id=group)
    assert answer["reply_to_message"]["message_id"] == prompt.message_id
    assert texts_reaching_the_bot(emu)[-1] == "Петров"
    assert [m["text"] for m in emu.hidden_from_bot] == ["я не в мастере"]
    # The prompt is answered: the next plain message is plain again.
    emu.user_sends(USER, "и ещё", chat_id=group)
    assert emu.hidden_from_bot[-1]["text"] == "и ещё"


class _Transcript(io.StringIO):
    """The console's output, with an event set on every write."""

    def __init__(self) -> None:
        super().__init__()
        self.written = asyncio.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)


async def test_console_sends_a_number_as_text_unless_the_last_message_has_that_button(
    emu: TelegramEmulator, bot: Bot, group: int
) -> None:
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    out = _Transcript()
    console = asyncio.create_task(
        run_console(emu, user_id=USER, group_chat_id=group, input_stream=lines, output_stream=out)
    )

    def texts() -> list[str]:
        return [u["message"].get("text") for u in emu.pending_updates if "message" in u]

    def presses() -> list[str]:
        return [u["callback_query"]["data"] for u in emu.pending_updates if "callback_query" in u]

    async def typed(line: str) -> None:
        """Type a line and wait until the console has handled it (it echoes, then handles
        the line in the same step)."""
        echo = f"вы> {line}\n"
        seen = out.getvalue().count(echo)
        await lines.put(line)
        while True:
            out.written.clear()
            if out.getvalue().count(echo) > seen:
                return
            await out.written.wait()

    await bot.send_message(
        USER, "Алерт", reply_markup=keyboard(("Принял", "ack"), ("Тишина", "mute"))
    )
    await bot.send_location(USER, 55.75, 37.62)  # a map point after the alert: skipped
    await typed("2")
    assert presses() == ["mute"]
    await typed("5")  # no such button: the answer to something, as text
    assert texts()[-1] == "5" and "отправлено боту как текст" in out.getvalue()
    await bot.send_message(USER, "Сколько мест?")  # a question after the buttons
    await typed("1")
    assert texts()[-1] == "1" and presses() == ["mute"]
    await lines.put("/quit")
    await asyncio.wait_for(console, 2)


@pytest.mark.parametrize(
    ("how", "error", "description"),
    [
        ("unreachable", TelegramNetworkError, "unreachable (outage)"),
        ("bad_gateway", TelegramServerError, "Bad Gateway"),
    ],
)
async def test_an_outage_fails_every_method_until_telegram_comes_back(
    emu: TelegramEmulator, bot: Bot, how: Outage, error: type[Exception], description: str
) -> None:
    emu.go_down(how)
    with pytest.raises(error):
        await bot.get_me()
    with pytest.raises(error):
        await bot.get_updates(timeout=0)
    emu.come_back()
    assert (await bot.get_me()).username == "logibot"
    assert [(c.method, c.ok, c.description) for c in emu.calls] == [
        ("getMe", False, description),
        ("getUpdates", False, description),
        ("getMe", True, None),
    ]


async def test_an_outage_cuts_the_long_poll_that_is_waiting(
    emu: TelegramEmulator, bot: Bot
) -> None:
    polling = asyncio.create_task(bot.get_updates(timeout=30))
    await emu.wait_for_poller()
    emu.go_down("unreachable")
    with pytest.raises(TelegramNetworkError):
        await polling
    assert [(c.method, c.ok, c.description) for c in emu.calls] == [
        ("getUpdates", False, "unreachable (outage)")
    ]


async def test_uploads_are_kept_and_a_photo_over_ten_megabytes_is_refused(
    emu: TelegramEmulator, bot: Bot
) -> None:
    from aiogram.types import BufferedInputFile

    sent = await bot.send_document(
        USER, BufferedInputFile(b"PK\x03\x04 xlsx", filename="report.xlsx"), caption="<b>Отчёт</b>"
    )
    assert sent.document is not None and sent.document.file_name == "report.xlsx"
    assert sent.caption == "Отчёт"
    assert emu.file(sent.document.file_id) == b"PK\x03\x04 xlsx"
    photo = await bot.send_photo(USER, BufferedInputFile(b"\x89PNG small", filename="c.png"))
    assert photo.photo and emu.file(photo.photo[-1].file_id) == b"\x89PNG small"
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.send_photo(USER, BufferedInputFile(b"0" * (10 * 1024 * 1024 + 1), "big.png"))
