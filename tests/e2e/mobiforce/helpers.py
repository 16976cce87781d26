"""What the Mobiforce end-to-end tests share: reading the emulator's messages and walking
`/task new` to its summary."""

from tests.e2e.conftest import ADMIN

KEY = "mobiforce-key-never-logged"
VIEWER = 5005
GROUP = -100700800
COLLEAGUE = 6006


def text(message: dict) -> str:
    return message.get("text", "")


def has_text(fragment: str):
    return lambda message: fragment in text(message)


def has_button(fragment: str):
    return lambda message: any(fragment in label for label in button_labels(message))


def button_labels(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def edited_to(fragment: str):
    """An editMessageText call whose text holds ``fragment``."""
    return lambda call: call.method == "editMessageText" and fragment in call.params["text"]


async def run_wizard(h, sim, chat_id=None):
    """/task new through every step; returns the summary message."""
    chat = chat_id or ADMIN
    ask = await h.say(ADMIN, "/task new", chat_id=chat_id, expect=has_button("Доставка груза"))
    h.press(ADMIN, ask, "Доставка груза")
    await h.emu.wait_for_message(chat, has_text("часть названия"))
    found = await h.say(ADMIN, "ромаш", chat_id=chat_id, expect=has_button("Ромашка"))
    h.press(ADMIN, found, "Ромашка")
    address = await h.emu.wait_for_message(chat, has_button("Адрес клиента"))
    h.press(ADMIN, address, "Адрес клиента")
    executor = await h.emu.wait_for_message(chat, has_button("Петров Иван"))
    assert "Оператор Ольга" not in button_labels(executor)  # office staff take no tasks
    h.press(ADMIN, executor, "Петров Иван")
    start = await h.emu.wait_for_message(chat, has_button("Завтра"))
    h.press(ADMIN, start, "Завтра")
    field = await h.emu.wait_for_message(chat, has_button("Срочный"))
    assert "Тип выезда" in text(field)
    h.press(ADMIN, field, "Срочный")
    summary = await h.emu.wait_for_message(chat, has_button("Создать"))
    assert "Ромашка" in text(summary) and "Петров Иван" in text(summary)
    assert "Срочный" in text(summary)
    return summary
