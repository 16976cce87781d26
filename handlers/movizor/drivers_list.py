"""/drivers: who is on tracking, 10 a page, optionally by tag."""

from __future__ import annotations

import asyncio
import math
from typing import Final

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.texts import answer_usage
from handlers.movizor.callbacks import DriversPageCb
from handlers.movizor.directory import try_learn_title
from handlers.movizor.parsing import tag_fits
from handlers.movizor.render import (
    render_driver_row,
    render_drivers_header,
)
from integrations.movizor.client import MovizorClient
from integrations.movizor.models import ObjectListItem
from storage import Repos
from storage.drivers import Driver

PAGE_SIZE: Final = 10


def has_tag(driver: Driver | None, tag: str) -> bool:
    return driver is not None and tag.casefold() in (t.casefold() for t in driver.tags)


def page_keyboard(page: int, pages: int, tag: str) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    keyboard = InlineKeyboardBuilder()
    if page > 0:
        keyboard.button(
            text=_("drivers.btn.prev"), callback_data=DriversPageCb(page=page - 1, tag=tag)
        )
    if page < pages - 1:
        keyboard.button(
            text=_("drivers.btn.next"), callback_data=DriversPageCb(page=page + 1, tag=tag)
        )
    return keyboard.as_markup()


async def drivers_page(
    movizor: MovizorClient, repos: Repos, tag: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the account's phones: status and place, titles from the directory (the
    unknown ones on this page are looked up once and remembered)."""
    objects = await movizor.object_list()
    positions = {p.phone: p for p in await movizor.pos_objects()}
    directory = await repos.drivers.many({o.phone for o in objects})
    rows = [o for o in objects if not tag or has_tag(directory.get(o.phone), tag)]
    if not rows:
        if tag:
            return _("drivers.list.empty_tag").format(tag=html.quote(tag)), None
        return _("drivers.list.empty"), None
    # By phone, not by name: titles are learnt while paging, and sorting by them would move
    # drivers between pages (shown twice, or never) between two presses of ▶.
    rows.sort(key=lambda o: o.phone)
    pages = math.ceil(len(rows) / PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    titles = await page_titles(shown, directory, movizor, repos)
    lines = [render_drivers_header(len(rows), page, pages, tag)]
    for number, item in enumerate(shown, start=page * PAGE_SIZE + 1):
        lines.append(
            render_driver_row(
                number, titles.get(item.phone), item.phone, item.status, positions.get(item.phone)
            )
        )
    return "\n".join(lines), page_keyboard(page, pages, tag)


async def page_titles(
    shown: list[ObjectListItem], directory: dict[str, Driver], movizor: MovizorClient, repos: Repos
) -> dict[str, str | None]:
    titles: dict[str, str | None] = {
        o.phone: directory[o.phone].title for o in shown if o.phone in directory
    }
    unknown = [o.phone for o in shown if not titles.get(o.phone)]
    learnt = await asyncio.gather(*(try_learn_title(p, movizor, repos) for p in unknown))
    titles.update(zip(unknown, learnt, strict=True))
    return titles


async def list_drivers(
    message: Message, command: CommandObject, movizor: MovizorClient, repos: Repos
) -> None:
    tag = (command.args or "").strip()
    if not tag_fits(tag):
        await answer_usage(message, "drivers")
        return
    text, keyboard = await drivers_page(movizor, repos, tag, 0)
    await message.answer(text, reply_markup=keyboard)


async def drivers_page_pressed(
    callback: CallbackQuery, callback_data: DriversPageCb, movizor: MovizorClient, repos: Repos
) -> None:
    text, keyboard = await drivers_page(movizor, repos, callback_data.tag, callback_data.page)
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest as exc:
            if "not modified" not in str(exc):  # the same page pressed twice is fine
                raise
    await callback.answer()
