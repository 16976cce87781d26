"""The escalation tables on both databases: one chain per open alert, each step claimed once,
news that clears it, the owed edits taken once, the chat's chain and its rota."""

from datetime import timedelta

import pytest

from storage import Repos
from storage.chats import ChatStatus
from storage.cycle import CycleWrite, commit_cycle
from storage.db import Database, utcnow
from storage.escalations import NewEscalation, Resolution

pytestmark = pytest.mark.both_databases

GROUP = -1_002_000_000_001


def new(dedupe: str, kind: str = "driver.left_route", thread: int = 0) -> NewEscalation:
    return NewEscalation(GROUP, thread, "driver:7999", kind, dedupe, "{}")


async def test_one_open_chain_per_subject_and_kind_and_each_step_claimed_once(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        now = utcnow()
        write = CycleWrite(source="t", escalations=[new("a"), new("b"), new("c", "driver.late")])
        await commit_cycle(db, write, now)
        await commit_cycle(db, CycleWrite(source="t", escalations=[new("a")]), now)  # replayed
        due = await repos.escalations.due(now)
        assert sorted(c.dedupe_key for c in due) == ["a", "c"]  # "b" came while "a" ran
        chain = next(c for c in due if c.dedupe_key == "a")
        lease = now + timedelta(minutes=2)
        assert await repos.escalations.claim(chain.id, 0, "p1", lease, now)
        assert not await repos.escalations.claim(chain.id, 0, "p2", lease, now)  # held
        assert [c.dedupe_key for c in await repos.escalations.due(now)] == ["c"]
        assert await repos.escalations.arm(chain.id, "p1", "[]", 2, now + timedelta(minutes=10))
        assert await repos.escalations.claim(chain.id, 0, "p2", lease, now + timedelta(minutes=10))
        assert not await repos.escalations.advance(chain.id, "p1", 1, now, now)  # not p1's now
        assert await repos.escalations.advance(chain.id, "p2", 1, now, now)
        assert not await repos.escalations.claim(chain.id, 0, "p3", lease, now)  # step 0 is done
        # A dead process's claim ends with its lease.
        assert await repos.escalations.claim(chain.id, 1, "p3", lease, now)
        later = lease + timedelta(seconds=1)
        assert await repos.escalations.claim(chain.id, 1, "p4", later + timedelta(minutes=2), later)
        assert await repos.escalations.advance(chain.id, "p4", 2, None, later)  # all rounds done
        done = await repos.escalations.get(chain.id)
        assert done is not None and done.state == "exhausted"


async def test_news_that_clears_it_ends_the_chain_and_owes_one_set_of_edits(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        now = utcnow()
        await commit_cycle(
            db, CycleWrite(source="t", escalations=[new("a"), new("b", thread=5)]), now
        )
        cleared = Resolution("driver:7999", ("driver.left_route",), "driver.returned_route")
        await commit_cycle(db, CycleWrite(source="t", resolutions=[cleared]), now)
        assert await repos.escalations.count_open() == 0
        owed = await repos.escalations.with_notice()
        assert {c.thread_id for c in owed} == {0, 5}
        assert all(c.closed_reason == "driver.returned_route" for c in owed)
        assert await repos.escalations.take_notice(owed[0].id)
        assert not await repos.escalations.take_notice(owed[0].id)  # taken once
        assert not await repos.escalations.close(
            owed[1].id, state="acked", by=1, reason="ack", now=now
        )


async def test_copies_the_chats_chain_and_the_rota(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        now = utcnow()
        await commit_cycle(db, CycleWrite(source="t", escalations=[new("a")]), now)
        [chain] = await repos.escalations.open_chains()
        await repos.escalations.add_copy(
            chain.id, 0, GROUP, message_id=5, text="x", error=None, now=now
        )
        await repos.escalations.add_copy(
            chain.id, 0, GROUP, message_id=6, text="y", error=None, now=now
        )
        await repos.escalations.add_copy(
            chain.id, 1, 81, message_id=None, text="", error="blocked", now=now
        )
        assert [(c.step, c.message_id) for c in await repos.escalations.copies(chain.id)] == [
            (0, 5),
            (1, None),
        ]
        copy = await repos.escalations.copy_at(GROUP, 5)
        assert copy is not None and copy.escalation_id == chain.id
        await repos.escalations.set_chain(GROUP, 0, "[1]", by=1, now=now)
        assert await repos.escalations.chain(GROUP, 7) == "[1]"  # a topic without its own
        await repos.escalations.set_chain(GROUP, 7, "[2]", by=1, now=now)
        assert await repos.escalations.chain(GROUP, 7) == "[2]"
        await repos.escalations.set_chain(GROUP, 0, None, by=1, now=now)
        assert await repos.escalations.chain(GROUP, 0) is None
        await repos.oncall.add_shift(GROUP, 0, 81, [0, 1], "09:00", "18:00", by=1, now=now)
        await repos.oncall.set_rotation(GROUP, 0, [82, 83], 0, "09:00", by=1, now=now)
        rota = await repos.oncall.of_chat(GROUP, 0)
        assert [(s.mode, s.user_id, s.days) for s in rota] == [
            ("rotation", 82, (0,)),
            ("rotation", 83, (0,)),
            ("shift", 81, (0, 1)),
        ]
        assert await repos.oncall.remove_user(GROUP, 0, 82) == 1
        await repos.oncall.set_rotation(GROUP, 0, [], 0, "09:00", by=1, now=now)
        assert [s.user_id for s in await repos.oncall.of_chat(GROUP, 0)] == [81]


async def test_a_group_that_becomes_a_supergroup_keeps_its_chains_chain_and_rota(database_url):
    async with Database(database_url) as db:
        repos = Repos.on(db)
        now = utcnow()
        old, new_id = -4004, -1004004
        await repos.chats.upsert(
            old, type="group", title="g", status=ChatStatus.APPROVED, added_by=1
        )
        chain = NewEscalation(old, 0, "driver:1", "driver.left_route", "a", "{}")
        await commit_cycle(db, CycleWrite(source="t", escalations=[chain]), now)
        await repos.escalations.set_chain(old, 0, "[1]", by=1, now=now)
        await repos.oncall.add_shift(old, 0, 81, [0], "09:00", "18:00", by=1, now=now)
        assert await repos.chats.move(old, new_id)
        [moved] = await repos.escalations.open_chains()
        assert moved.chat_id == new_id
        assert await repos.escalations.chain(new_id, 0) == "[1]"
        assert [s.user_id for s in await repos.oncall.of_chat(new_id, 0)] == [81]
        assert await repos.oncall.of_chat(old, 0) == []
