"""A vendor's own words in an error reply are escaped: a ``<`` in Alta's ``descr`` or in
Mobiforce's ``description`` must not make Telegram refuse the whole answer."""

import pytest

from integrations.alta.functions import TEST_LOGIN, TEST_PASSWORD, TEST_SA
from sandbox.harness import BotHarness
from sandbox.simulators.alta.simulator import AltaSimulator
from sandbox.simulators.mobiforce.simulator import MobiforceSimulator
from tests.e2e.conftest import ADMIN

VENDOR_WORDS = "Сбой <b>шлюза</b> & код <1>"


@pytest.fixture
async def sims():
    alta, mobiforce = AltaSimulator(), MobiforceSimulator("mf-key", auto_employees=False)
    await alta.start()
    await mobiforce.start()
    yield alta, mobiforce
    await mobiforce.stop()
    await alta.stop()


@pytest.fixture
async def harness(tmp_path, sims):
    alta, mobiforce = sims
    settings = {
        "alta_login": TEST_LOGIN,
        "alta_sa": TEST_SA,
        "alta_password": TEST_PASSWORD,
        "alta_base_url": alta.base_url,
        "mobiforce_base_url": mobiforce.base_url,
        "mobiforce_api_key": "mf-key",
    }
    async with BotHarness(tmp_path, admin_ids=[ADMIN], settings=settings) as h:
        await h.app.scheduler.set_paused("alta", True, by=ADMIN)
        await h.app.scheduler.set_paused("mobiforce", True, by=ADMIN)
        await h.app.services["mobiforce"].directory.synced.wait()
        yield h
        assert not h.emu.rejected_calls(), "Telegram refused an answer"


async def test_alta_words_with_a_tag_reach_the_user_as_text(harness, sims):
    alta, _ = sims
    alta.force_error("track_list", "invalid_argument", descr=VENDOR_WORDS)
    reply = await harness.say(ADMIN, "/wagons")
    assert VENDOR_WORDS in reply["text"]  # what Telegram shows: the words, not markup
    assert "Альта ответила ошибкой" in reply["text"]


async def test_mobiforce_words_with_a_tag_reach_the_user_as_text(harness, sims):
    _, mobiforce = sims
    template = mobiforce.add_template("Доставка")
    task = mobiforce.add_task({"template": {"id": template.id}, "number": "1043"})
    mobiforce.force_error("create-comment", 400, description=VENDOR_WORDS)
    reply = await harness.say(ADMIN, f"/comment {task.id} Позвоните за час")
    assert VENDOR_WORDS in reply["text"]
    assert "Мобифорс отклонил запрос" in reply["text"]
