"""Fixtures of the Mobiforce end-to-end tests: a simulated account (get-task in the document's
shape unless a test asks for ``shape`` "rich") and the bot on it, watcher cycles by hand."""

import logging

import pytest

from sandbox.harness import BotHarness
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from tests.e2e.conftest import ADMIN
from tests.e2e.mobiforce.helpers import KEY


@pytest.fixture
def shape():
    return "document"


@pytest.fixture
async def sim(shape):
    simulator = MobiforceSimulator(KEY, auto_employees=False, task_shape=shape)
    simulator.fault_delay = 1.0
    await simulator.start()
    kind = simulator.add_field("Тип выезда", "5", ["Плановый", "Срочный"])
    photo = simulator.add_field("Фото накладной", "6")
    signed = simulator.add_field("Подпись получена", "4")
    simulator.add_template(
        "Доставка груза",
        visit_minutes=120,
        props=[(kind, True)],
        checklist=[(photo, True), (signed, False)],
    )
    simulator.add_employee("Петров Иван", "79161234501")
    simulator.add_employee("Оператор Ольга", "79035550102", mobile=False)
    simulator.add_contractor(
        "ООО «Ромашка»", "г Москва, Ленинский пр-кт, д 21", phone="74951234501"
    )
    simulator.add_contractor("ООО <Вектор> & Ко", "г Москва, Варшавское ш, д 125")
    yield simulator
    await simulator.stop()


@pytest.fixture
async def harness(tmp_path, sim, caplog):
    caplog.set_level(logging.DEBUG)
    settings = {
        "mobiforce_base_url": sim.base_url,
        "mobiforce_api_key": KEY,
        "mobiforce_close_status": "74",
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        # Watcher cycles are driven by hand (they would add calls at random moments).
        await h.app.scheduler.set_paused("mobiforce", True, by=ADMIN)
        await h.app.services["mobiforce"].directory.synced.wait()
        yield h
        assert not h.emu.rejected_calls()
    assert KEY not in caplog.text
