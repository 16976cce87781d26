"""Where the wizards keep their step and answers (aiogram's FSM storage).

Every bot process must see the same step of a dialogue: behind a load balancer the next message
of a wizard may reach another replica, and after a failover another process altogether. So the
state lives outside the process: in our database (:class:`DatabaseStorage`, the default: one
small table, ``fsm_states``) or, when ``REDIS_URL`` is set, in Redis (aiogram's own
``RedisStorage``). Both keep the data as JSON: a wizard stores ids, texts and ISO times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey

from storage.fsm import FsmRepo


class DatabaseStorage(BaseStorage):
    """aiogram's FSM storage over the ``fsm_states`` table (storage/fsm.py)."""

    def __init__(self, repo: FsmRepo, key_builder: KeyBuilder | None = None) -> None:
        self.repo = repo
        # The bot's id and the destiny are part of the key: two bots on one database (or two
        # scenes of one bot) never share a dialogue.
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.repo.set_state(self.key_builder.build(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self.repo.state(self.key_builder.build(key))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.repo.set_data(self.key_builder.build(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self.repo.data(self.key_builder.build(key))

    async def close(self) -> None:
        """The database belongs to the app, which closes it."""


def build_fsm_storage(repo: FsmRepo, redis_url: str | None) -> BaseStorage:
    """Redis when ``REDIS_URL`` is set (the ``redis`` extra must be installed), else ours."""
    if not redis_url:
        return DatabaseStorage(repo)
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
    )
