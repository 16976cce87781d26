"""Finding a task by the number the bot gave it, after create-task's answer was lost, against
the simulator over loopback HTTP: only documented reads, and never a guess."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from integrations.mobiforce.client import MobiforceClient
from integrations.mobiforce.errors import MobiforceUnavailable
from integrations.mobiforce.inputs import TaskInput
from integrations.mobiforce.lookup import find_numbered
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator

KEY = "mf-lookup-key"
T0 = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sim() -> AsyncIterator[MobiforceSimulator]:
    simulator = MobiforceSimulator(KEY, clock=lambda: T0)
    simulator.fault_delay = 0.5
    await simulator.start()
    simulator.add_template("Доставка")
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: MobiforceSimulator) -> AsyncIterator[MobiforceClient]:
    assert sim.base_url is not None
    async with MobiforceClient(sim.base_url, KEY, retries=0, timeout=2.0) as mobiforce:
        yield mobiforce


def template(sim: MobiforceSimulator) -> int:
    return next(iter(sim.world.templates))


@pytest.mark.parametrize("fault", ["drop", "timeout", 502])
async def test_a_task_whose_answer_was_lost_is_found_by_its_number(
    sim: MobiforceSimulator, client: MobiforceClient, fault: int | str
) -> None:
    for _ in range(3):
        sim.add_task({"template": {"id": template(sim)}})
    usn = sim.usn
    sim.fail_next("create-task", fault, after=True)  # type: ignore[arg-type]
    with pytest.raises(MobiforceUnavailable):
        await client.create_task(TaskInput(template(sim), number="TG-240513-AAAA"))
    [made] = [t for t in sim.desk.tasks.values() if t.number == "TG-240513-AAAA"]
    found = await find_numbered(client, "TG-240513-AAAA", since_usn=usn)
    assert found.task_id == made.id and found.found
    assert sim.calls_of("create-task") == 1  # looking never writes


async def test_a_task_never_made_is_absent_and_the_directory_saves_reads(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    usn = sim.usn
    others = [sim.add_task({"template": {"id": template(sim)}}).id for _ in range(5)]
    known = {others[0]: "000001", others[1]: "000002"}

    async def directory(ids: list[int]) -> dict[int, str]:
        return {i: known[i] for i in ids if i in known}

    reads = sim.calls_of("get-task")
    search = await find_numbered(client, "TG-240513-BBBB", since_usn=usn, known=directory)
    assert search.absent and not search.found
    assert sim.calls_of("get-task") - reads == 3  # the two the directory named cost no call


async def test_without_the_feed_the_task_list_is_read_to_its_end(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    for _ in range(25):
        sim.add_task({"template": {"id": template(sim)}})
    ours = sim.add_task({"template": {"id": template(sim)}, "number": "TG-240513-CCCC"})
    sim.force_error("get-updates", 400, description="неизвестная команда")
    found = await find_numbered(client, "TG-240513-CCCC", since_usn=None)
    assert found.task_id == ours.id
    sim.force_error("get-updates", 400, description="неизвестная команда")
    missing = await find_numbered(client, "TG-240513-DDDD", since_usn=None)
    assert missing.absent


async def test_when_mobiforce_cannot_tell_the_answer_is_unknown(
    sim: MobiforceSimulator, client: MobiforceClient
) -> None:
    sim.fail_next("get-updates", 503)
    sim.fail_next("get-task-list", 503)
    search = await find_numbered(client, "TG-240513-EEEE", since_usn=0)
    assert not search.checked and not search.found and not search.absent
