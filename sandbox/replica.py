"""One bot replica for the failover test and bench: ``logibot run`` as production starts it
(settings from the environment, SIGTERM/SIGINT, exit code 3 when it loses the leader's lock),
plus a test source that serves a fixed, numbered stream of alerts (the same stream in every
replica: the cursor in the database says how far it went) and a two-step wizard.

    python -m sandbox.replica <alerts> <page size> <group id>...

The wizard (``/survey``: a name, then a city) keeps its step in aiogram's FSM storage, as the
product's wizards do: a step answered by another replica than the one that asked must work.
"""

from __future__ import annotations

import signal
import sys

from bot.cli import exit_quietly, serve

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, exit_quietly)  # a SIGTERM while importing is a clean exit too

import asyncio
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bot.alerts.sender import SendLimits
from bot.app import LogiBot
from bot.config import load_settings
from bot.logging_setup import setup_logging
from integrations.base import Alert, Subject
from sandbox.testsource.watcher import TestSource
from storage.chats import ChatStatus

POLL_SECONDS = 1


class Survey(StatesGroup):
    name = State()
    city = State()


def survey_router() -> Router:
    router = Router(name="survey")

    @router.message(Command("survey"))
    async def begin(message: Message, state: FSMContext) -> None:
        await state.set_state(Survey.name)
        await message.answer("Как вас зовут?")

    @router.message(Survey.name, F.text)
    async def name(message: Message, state: FSMContext) -> None:
        await state.update_data(name=message.text)
        await state.set_state(Survey.city)
        await message.answer("Из какого вы города?")

    @router.message(Survey.city, F.text)
    async def city(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await state.clear()
        await message.answer(f"Записал: {data['name']}, {message.text}")

    return router


def numbered_alert(n: int) -> Alert:
    """Alert number ``n`` of the stream (its text carries ``alert-0000n``)."""
    return Alert(
        kind="driver.late",  # any kind a group may hear (system alerts are for admins only)
        source="testsource",
        subject=Subject("test", str(n), f"alert-{n:05d}"),
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        dedupe_key=f"stream:{n}",
    )


async def main(total: int, page_size: int, groups: list[int]) -> int:
    settings = load_settings(require_token=True)
    setup_logging(settings.log_level, settings.log_format, settings.secrets())
    source = TestSource(page_size=page_size)
    source.emit(*(numbered_alert(n) for n in range(total)))
    # Durability, not flood control, is under test (the emulator runs without limits).
    fast = SendLimits(per_group_per_minute=6000, global_per_second=1000)
    admin = settings.admin_ids[0]

    async def subscribe(app: LogiBot) -> None:
        for group in groups:
            await app.repos.chats.upsert(
                group, type="supergroup", title=f"группа {group}", status=ChatStatus.APPROVED,
                added_by=admin,
            )  # fmt: skip
            await app.repos.subscriptions.add(group, 0, "area:drivers", by=admin)

    return await serve(
        lambda: LogiBot(
            settings,
            extra_routers=[survey_router()],
            extra_watchers=[(source, POLL_SECONDS)],
            send_limits=fast,
        ),
        after_start=subscribe,
    )


if __name__ == "__main__":
    alerts, page, *group_ids = sys.argv[1:]
    sys.exit(asyncio.run(main(int(alerts), int(page), [int(g) for g in group_ids])))
