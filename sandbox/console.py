"""The console chat behind ``make demo``: type as an admin, see what the bot answers.

What you type goes to the Telegram emulator as if you had written it in Telegram; the bot's
messages are printed as they arrive (through an emulator listener), with the chat they went to.
Lines starting with "!" are console commands and never reach the bot.

Reading the keyboard happens on a daemon thread, so the event loop (which runs the bot and the
emulator) never blocks, and an unfinished ``input()`` cannot keep the process alive on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from sandbox.telegram_emulator import ApiCall, BotEvent, TelegramEmulator, inline_buttons

PRIVATE_LABEL = "личный чат"
MAP_URL = "https://yandex.ru/maps/?pt={lon},{lat}&z=14"
LAST_CALLS_SHOWN = 10

BANNER = """\
──────────────────────────────────────────────────────────────────────
 logibot — демо без Telegram. Вы администратор и пишете боту в личный
 чат; бот работает по-настоящему, вместо Telegram — локальный эмулятор.

   !group / !private  — перейти в рабочую группу / обратно в личный чат
   1, 2, 3 …          — нажать кнопку [N] последнего сообщения с кнопками;
                        другое число уходит боту текстом (!send N — всегда текстом)
   !help              — подсказка по консоли, !calls — последние вызовы API

 Начните с /help. Выход — /quit или Ctrl-D.
──────────────────────────────────────────────────────────────────────"""

HELP = """\
Консоль эмулятора:
  текст          — отправить сообщение боту в текущий чат (команды: /help, …)
  N              — нажать кнопку [N] последнего сообщения бота, если у него есть
                   такая кнопка; иначе число уходит боту как текст (ответ на вопрос)
  !send ТЕКСТ    — отправить текст как есть (например, число, совпавшее с кнопкой)
  !group         — перейти в группу, !private — в личный чат
  !calls         — последние 10 вызовов Bot API (без getUpdates)
  !quit, /quit   — выход (или Ctrl-D)"""


class LineSource(Protocol):
    """Where typed lines come from; ``None`` means end of input."""

    async def read(self, prompt: str) -> str | None: ...


async def _in_daemon_thread(func: Callable[[], str | None]) -> str | None:
    """Run a blocking read on a daemon thread and await its result.

    Not ``asyncio.to_thread``: its executor threads are joined when the loop shuts down, so a
    pending ``input()`` would hang the demo on exit until someone pressed Enter.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def deliver(value: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def worker() -> None:
        value, error = None, None
        try:
            value = func()
        except BaseException as exc:  # handed over to the awaiting coroutine
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(deliver, value, error)

    threading.Thread(target=worker, name="console-input", daemon=True).start()
    return await future


class _TerminalSource:
    """Interactive typing with line editing (readline) and the prompt shown by ``input()``."""

    def __init__(self) -> None:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 - importing it is what enables line editing

    async def read(self, prompt: str) -> str | None:
        def read_line() -> str | None:
            try:
                return input(prompt)
            except EOFError:
                return None

        return await _in_daemon_thread(read_line)


class _StreamSource:
    """Lines from a file-like object (a pipe, a file, an io.StringIO)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    async def read(self, prompt: str) -> str | None:
        line = await _in_daemon_thread(self._stream.readline)
        return None if not line else line.rstrip("\r\n")


class _QueueSource:
    """Lines pushed by a test into an asyncio.Queue; putting ``None`` ends the input."""

    def __init__(self, queue: asyncio.Queue[str | None]) -> None:
        self._queue = queue

    async def read(self, prompt: str) -> str | None:
        return await self._queue.get()


def _line_source(input_stream: Any) -> LineSource:
    if input_stream is None:
        return _TerminalSource()
    if isinstance(input_stream, asyncio.Queue):
        return _QueueSource(input_stream)
    return _StreamSource(input_stream)


def _readline_buffer() -> str:
    """What the person has typed so far on the prompt line (empty without readline)."""
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()


# --------------------------------------------------------------------------------------------
# Rendering what the bot did
# --------------------------------------------------------------------------------------------


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()] or ["  "]


def render_buttons(message: dict[str, Any]) -> list[str]:
    """Inline keyboard rows as "[1] Обновить   [2] Принял", numbered across all rows."""
    markup = message.get("reply_markup") or {}
    lines: list[str] = []
    number = 0
    for row in markup.get("inline_keyboard", []):
        cells = []
        for button in row:
            number += 1
            label = f"[{number}] {button['text']}"
            if button.get("url"):
                label += f" ↗ {button['url']}"
            cells.append(label)
        if cells:
            lines.append("  " + "   ".join(cells))
    return lines


def _live_label(seconds: int) -> str:
    if seconds >= 0x7FFFFFFF:
        return "live бессрочно"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"live {seconds // 3600} ч"
    return f"live {max(1, round(seconds / 60))} мин"


def render_location(location: dict[str, Any], *, live: bool = True) -> list[str]:
    """ "📍 55.7558, 37.6173 (live 15 мин)" plus a Yandex Maps link (``pt`` is lon,lat)."""
    lat, lon = location["latitude"], location["longitude"]
    line = f"📍 {lat:.4f}, {lon:.4f}"
    if live and "live_period" in location:
        line += f" ({_live_label(int(location['live_period']))})"
    return ["  " + line, "  " + MAP_URL.format(lat=lat, lon=lon)]


def render_body(message: dict[str, Any]) -> list[str]:
    """The visible content of a message: text, location or file, then its buttons."""
    lines: list[str] = []
    if "location" in message:
        lines += render_location(message["location"])
    if "document" in message:
        lines.append(f"  📎 {message['document'].get('file_name', 'файл')}")
    if "photo" in message:
        lines.append("  🖼 фото")
    for key in ("text", "caption"):
        if message.get(key):
            lines += _indent(message[key])
    return lines + render_buttons(message)


class _Console:
    """One console session: the current chat, the input loop and the printing of bot events."""

    def __init__(
        self,
        emu: TelegramEmulator,
        *,
        user_id: int,
        group_chat_id: int,
        source: LineSource,
        out: TextIO,
        interactive: bool,
    ) -> None:
        self.emu = emu
        self.user_id = user_id
        self.group_chat_id = group_chat_id
        self.chat_id = user_id
        self.source = source
        self.out = out
        self.interactive = interactive
        self.prompt = ""

    # --- output ---------------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Print a block; on a terminal, keep the prompt and half-typed input below it."""
        if self.interactive and self.prompt:
            typed = _readline_buffer()
            blank = " " * (len(self.prompt) + len(typed))
            self.out.write(f"\r{blank}\r{text}\n{self.prompt}{typed}")
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def chat_label(self, chat_id: int | None) -> str:
        if chat_id is None:
            return "[?]"
        if chat_id == self.user_id:
            return f"[{PRIVATE_LABEL}]"
        chat = self.emu.chat(chat_id) or {}
        if chat.get("type") == "private":
            return f"[личный чат с {chat.get('first_name', chat_id)}]"
        return f"[группа «{chat.get('title', chat_id)}»]"

    def on_event(self, event: BotEvent) -> None:
        """Emulator listener: render one bot action."""
        label = self.chat_label(event.chat_id)
        bot = f"🤖 {self.emu.bot_username}"
        message = event.message or {}
        number = message.get("message_id", "?")
        if event.kind == "callback_answer":
            kind = "окно" if event.show_alert else "уведомление"
            self.write(f"{label} {bot} ({kind}): {event.text}")
        elif event.kind == "delete":
            self.write(f"{label} ✖ удалено сообщение #{number}")
        elif event.kind == "edit":
            self.write(
                "\n".join([f"{label} {bot} ✎ (изменено, #{number}):", *render_body(message)])
            )
        elif event.kind in {"live_location", "live_location_stopped"}:
            stopped = event.kind == "live_location_stopped"
            title = "трансляция геопозиции остановлена" if stopped else "геопозиция обновлена"
            location = render_location(message.get("location", {}), live=not stopped)
            lines = [f"{label} {bot} 📍 {title}:", *location]
            self.write("\n".join(lines + render_buttons(message)))
        else:
            self.write("\n".join([f"{label} {bot}:", *render_body(message)]))

    # --- input ----------------------------------------------------------------------------

    def make_prompt(self) -> str:
        where = PRIVATE_LABEL if self.chat_id == self.user_id else "группа"
        return f"[{where}] вы> "

    async def run(self) -> None:
        self.write(BANNER)
        self.emu.add_listener(self.on_event)
        try:
            while True:
                self.prompt = self.make_prompt()
                line = await self.source.read(self.prompt)
                if line is None:
                    if self.interactive:
                        self.out.write("\n")  # Ctrl-D leaves the cursor on the prompt line
                    break
                if not self.interactive:
                    self.write(f"{self.prompt}{line}")
                self.prompt = ""
                if not self.handle(line.strip()):
                    break
        finally:
            self.prompt = ""
            self.emu.remove_listener(self.on_event)
            self.write("До встречи!")

    def handle(self, line: str) -> bool:
        """Act on one typed line; False means "quit"."""
        if not line:
            return True
        if line in {"/quit", "!quit", "!exit"}:
            return False
        if line.startswith("!"):
            self.meta_command(line)
        elif line.isdigit():
            self.number(int(line))
        else:
            self.send(line)
        return True

    def meta_command(self, line: str) -> None:
        command, _, rest = line.partition(" ")
        if command == "!group":
            self.chat_id = self.emu.resolve_chat_id(self.group_chat_id)
            self.write(f"→ теперь вы пишете в {self.chat_label(self.chat_id)}")
        elif command == "!private":
            self.chat_id = self.user_id
            self.write(f"→ теперь вы пишете в [{PRIVATE_LABEL}]")
        elif command == "!help":
            self.write(HELP)
        elif command == "!calls":
            self.write(self.describe_calls())
        elif command == "!send" and rest:
            self.send(rest)
        else:
            self.write("Неизвестная команда консоли. Наберите !help.")

    def send(self, text: str) -> None:
        if self.chat_id != self.user_id:
            self.chat_id = self.emu.resolve_chat_id(self.chat_id)
        hidden = len(self.emu.hidden_from_bot)
        try:
            self.emu.user_sends(self.user_id, text, chat_id=self.chat_id)
        except ValueError as exc:
            self.write(f"(не отправлено: {exc})")
            return
        if len(self.emu.hidden_from_bot) > hidden:
            self.write(
                "(бот этого не видит: в группе с режимом приватности ему приходят только "
                "команды, ответы на его сообщения и упоминания @бота)"
            )

    def number(self, number: int) -> None:
        """A bare number presses button N of the bot's last message when it has one; otherwise
        it is text (the answer to a question such as «Сколько?»), sent as typed."""
        message = self.last_message()
        buttons = inline_buttons(message) if message is not None else []
        if not 1 <= number <= len(buttons):
            if buttons:
                self.write(
                    f"(у последнего сообщения кнопки [1]–[{len(buttons)}]: "
                    f"«{number}» отправлено боту как текст)"
                )
            self.send(str(number))
            return
        assert message is not None
        button = buttons[number - 1]
        if button.get("callback_data") is None:
            where = f": {button['url']}" if button.get("url") else ""
            self.write(f"(эту кнопку в консоли не нажать{where})")
            return
        self.write(f"→ нажата кнопка [{number}] «{button['text']}»")
        self.emu.user_presses(
            self.user_id, message["message_id"], button["callback_data"], chat_id=self.chat_id
        )

    def last_message(self) -> dict[str, Any] | None:
        """The bot's last message in this chat that a number could mean: map points (which
        often follow an alert) are skipped, they carry no buttons and ask nothing."""
        for message in reversed(self.emu.messages(self.chat_id)):
            if not message["deleted"] and "location" not in message:
                return message
        return None

    def describe_calls(self) -> str:
        calls = [call for call in self.emu.calls if call.method != "getUpdates"]
        if not calls:
            return "Вызовов Bot API пока не было."
        lines = [f"Последние вызовы Bot API (без getUpdates), всего {len(calls)}:"]
        lines += ["  " + _describe_call(call) for call in calls[-LAST_CALLS_SHOWN:]]
        return "\n".join(lines)


def _describe_call(call: ApiCall) -> str:
    outcome = "ok" if call.ok else f"{call.error_code} {call.description}"
    details = []
    if "chat_id" in call.params:
        details.append(f"chat_id={call.params['chat_id']}")
    for key in ("text", "caption", "callback_query_id", "action"):
        if key in call.params:
            value = str(call.params[key]).replace("\n", " ")
            details.append(f"{key}={value[:50]!r}" + ("…" if len(value) > 50 else ""))
    return f"{call.method} → {outcome}  {' '.join(details)}".rstrip()


async def run_console(
    emu: TelegramEmulator,
    *,
    user_id: int,
    group_chat_id: int,
    input_stream: TextIO | asyncio.Queue[str | None] | None = None,
    output_stream: TextIO | None = None,
) -> None:
    """Run the console chat until /quit or end of input.

    ``input_stream``: None reads the terminal; a file-like object is read line by line; an
    asyncio.Queue yields lines pushed by a test (``None`` ends). ``output_stream`` defaults to
    stdout. Typed lines are echoed only when not reading a terminal, so transcripts stay readable.
    """
    out = output_stream or sys.stdout
    interactive = input_stream is None and out is sys.stdout and sys.stdout.isatty()
    console = _Console(
        emu,
        user_id=user_id,
        group_chat_id=group_chat_id,
        source=_line_source(input_stream),
        out=out,
        interactive=interactive,
    )
    await console.run()
