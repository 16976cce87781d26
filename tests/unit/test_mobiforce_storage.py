"""The bot's Mobiforce rows on a real SQLite file: task numbers as people type them, what the
bot set on the tasks it creates and the states of a create, the keys of /tasks searches."""

from collections.abc import AsyncIterator

import pytest

from storage import Repos
from storage.db import Database
from storage.mobiforce import Entry


@pytest.fixture
async def repos(tmp_path) -> AsyncIterator[Repos]:
    async with Database(tmp_path / "bot.sqlite3") as db:
        yield Repos.on(db)


async def test_a_number_is_found_with_or_without_leading_zeros(repos):
    directory = repos.mobiforce
    await directory.add_names("task", [(1, "000023"), (2, "230"), (3, "A-17"), (4, "0023X")])
    for typed in ("23", "023", "000023", "0000023"):
        assert [e.id for e in await directory.by_number("task", typed)] == [1], typed
    assert [e.id for e in await directory.by_number("task", "a-17")] == [3]
    assert await directory.by_number("task", "0023") == (await directory.by_number("task", "23"))
    assert await directory.by_number("task", "24") == []
    assert await directory.by_number("task", "") == []


async def test_names_of_ids(repos):
    await repos.mobiforce.upsert(
        "employee", [Entry("employee", 7, "Петров Иван"), Entry("employee", 8, "Орлов")]
    )
    assert await repos.mobiforce.names("employee", [7, 9, 7]) == {7: "Петров Иван"}
    assert await repos.mobiforce.names("employee", []) == {}


async def test_a_search_is_kept_under_a_short_key(repos):
    query = "ООО «Ромашка»: склад №3 " * 5
    key = await repos.mobiforce.save_search(query)
    assert len(key.encode()) <= 12 and ":" not in key
    assert await repos.mobiforce.save_search(query) == key
    assert await repos.mobiforce.search_of(key) == query
    assert await repos.mobiforce.search_of("nope") is None


async def test_a_create_moves_through_its_states_once(repos):
    creates = repos.mobiforce_creates
    payload = {"client": "ООО «Ромашка»", "client_id": 5, "executor_id": 7}
    assert await creates.sending(
        "TG-1", chat_id=-100, thread_id=0, user_id=1, payload=payload, feed_usn=40
    )
    assert not await creates.sending(
        "TG-1", chat_id=-100, thread_id=0, user_id=1, payload={}, feed_usn=None
    )
    assert await creates.move("TG-1", ["sending"], "unknown")
    assert await creates.move("TG-1", ["unknown"], "dropped")
    assert not await creates.move("TG-1", ["unknown"], "sending")  # a second press
    record = await creates.get("TG-1")
    assert record is not None and record.state == "dropped" and record.feed_usn == 40
    [found] = await creates.turned_up({"TG-1": 1234, "000777": 5})  # it went through after all
    assert found.marker == "TG-1"
    record = await creates.get("TG-1")
    assert record is not None and (record.state, record.task_id) == ("created", 1234)
    assert await creates.turned_up({"TG-1": 1234}) == []
    assert await creates.payloads([1234, 99]) == {1234: payload}
