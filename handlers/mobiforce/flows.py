"""The conversations of the Mobiforce handlers (aiogram FSM states)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class NewTaskFlow(StatesGroup):
    """`/task new`, one state per step that waits for typed text or a button."""

    template = State()
    client = State()
    client_name = State()
    client_address = State()
    client_phone = State()
    address = State()
    executor = State()
    start = State()
    field = State()


class CommentFlow(StatesGroup):
    text = State()
