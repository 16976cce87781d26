"""Small rendering helpers shared by handlers: usage lines, times, user labels."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.commands import CATALOGUE


def command_usage(name: str) -> str:
    spec = CATALOGUE.get(name)
    return _(spec.usage_key) if spec else f"/{name}"


async def answer_usage(message: Message, command: str) -> None:
    """Tell the user the command's syntax after bad arguments."""
    await message.answer(_("error.usage").format(usage=html.quote(command_usage(command))))


def format_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


TELEGRAM_TEXT_LIMIT = 4096


def split_lines(lines: list[str], limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Join lines into messages under ``limit`` characters, cutting only between lines.

    Every line must be balanced HTML on its own (each line opens and closes its tags), so a cut
    between lines never splits a tag. A single line longer than the limit is cut hard as plain
    text would be; our renderers never produce one.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        while len(line) > limit:
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            chunks.append(line[:limit])
            line = line[limit:]
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


async def answer_lines(message: Message, lines: list[str]) -> None:
    """Answer with as many messages as the lines need."""
    for chunk in split_lines(lines):
        await message.answer(chunk)
