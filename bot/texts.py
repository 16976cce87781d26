"""Text building shared by every handler and the alert renderer.

- One way to build formatted text: translated Telegram-HTML templates from the .po files,
  filled with values escaped by aiogram (:func:`fill` also yields the plain twin the sender falls
  back to when Telegram refuses the HTML). aiogram's ``utils.formatting`` builds text from nodes,
  not from translated templates, so it cannot carry our .po texts; this module is the small
  layer on top of ``aiogram.html`` instead.
- One length rule, Telegram's: UTF-16 code units of the text after entity parsing
  (:func:`telegram_length`), for messages (4096) and everything measured against that limit.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.commands import CATALOGUE
from integrations.errors import IntegrationError


def command_usage(name: str) -> str:
    spec = CATALOGUE.get(name)
    return _(spec.usage_key) if spec else f"/{name}"


async def answer_usage(message: Message, command: str) -> None:
    """Tell the user the command's syntax after bad arguments."""
    await message.answer(_("error.usage").format(usage=html.quote(command_usage(command))))


def error_html(exc: IntegrationError, locale: str) -> str:
    """An upstream error's sentence for an HTML message. It may quote the vendor's own words
    (Alta's ``descr``, Mobiforce's ``description``), which may hold ``<`` or ``&``: escaped here,
    once, for every reply that shows one."""
    return html.quote(exc.message_for(locale))


def format_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def format_duration(delta: timedelta) -> str:
    """``7 ч 36 мин``, ``2 ч``, ``45 мин``, ``меньше минуты``: zero parts are left out."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("duration.hours_minutes").format(hours=hours, minutes=minutes)
    if hours:
        return _("duration.hours").format(hours=hours)
    if minutes:
        return _("duration.minutes").format(minutes=minutes)
    return _("duration.under_minute")


def format_ago(moment: datetime, now: datetime) -> str:
    """How long ago: ``только что``, ``2 ч 5 мин назад``, ``3 дн. назад``. A moment a little in
    the future (clocks differ) counts as "just now"."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return _("ago.now")
    if seconds < 2 * 86400:
        return _("ago.duration").format(duration=format_duration(timedelta(seconds=seconds)))
    return _("ago.days").format(days=int(seconds // 86400))


TELEGRAM_TEXT_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    """Telegram counts length in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_text(html_text: str) -> str:
    """What Telegram shows for a Telegram-HTML text: tags dropped, entities decoded."""
    return htmllib.unescape(_TAG.sub("", html_text))


def telegram_length(html_text: str) -> int:
    """The length Telegram checks against its limits: UTF-16 units after entity parsing."""
    return utf16_len(visible_text(html_text))


def clip(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (upstream newlines would break a layout)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Rich:
    """One text in two forms: Telegram HTML and the plain text Telegram would show for it."""

    html: str
    plain: str

    @staticmethod
    def join(parts: Sequence[Rich], separator: str = "\n") -> Rich:
        return Rich(separator.join(p.html for p in parts), separator.join(p.plain for p in parts))

    @property
    def length(self) -> int:
        """Telegram's length of it (the plain twin is exactly what Telegram shows)."""
        return utf16_len(self.plain)


def fill(template: str, **values: str) -> Rich:
    """Fill a translated HTML template: values escaped for HTML, raw in the plain twin."""
    return Rich(
        template.format(**{k: html.quote(v) for k, v in values.items()}),
        visible_text(template).format(**values),
    )


def _hard_cut(line: str, limit: int) -> tuple[str, str]:
    """The longest head of ``line`` within ``limit`` (Telegram's length) and the rest."""
    cut = min(len(line), limit)
    while telegram_length(line[:cut]) > limit:
        cut -= max(1, (telegram_length(line[:cut]) - limit) // 2)
    return line[:cut], line[cut:]


def split_lines(lines: list[str], limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Join lines into messages within ``limit`` (Telegram's length), cutting only between lines.

    Every line must be balanced HTML on its own (each line opens and closes its tags), so a cut
    between lines never splits a tag. A single line longer than the limit is cut hard as plain
    text would be; our renderers never produce one.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        while telegram_length(line) > limit:
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            head, line = _hard_cut(line, limit)
            chunks.append(head)
        length = telegram_length(line)
        extra = length + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = length
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


async def answer_lines(message: Message, lines: list[str]) -> None:
    """Answer with as many messages as the lines need."""
    for chunk in split_lines(lines):
        await message.answer(chunk)
