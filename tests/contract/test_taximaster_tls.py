"""The client reaches a TMWeb that serves HTTPS with a self-signed certificate."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations.taximaster.client import TaxiMasterClient
from integrations.taximaster.errors import TaxiMasterUnavailable
from sandbox.simulators.taximaster.simulator import TaxiMasterSimulator

DATA = Path(__file__).parents[1] / "data" / "taximaster"
SECRET = "tls-secret-99"


@pytest.fixture
async def https_sim() -> AsyncIterator[TaxiMasterSimulator]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(DATA / "tmweb-test.crt", DATA / "tmweb-test.key")
    sim = TaxiMasterSimulator(SECRET)
    await sim.start(ssl_context=context)
    yield sim
    await sim.stop()


async def test_self_signed_is_refused_by_default(https_sim: TaxiMasterSimulator) -> None:
    assert https_sim.base_url and https_sim.base_url.startswith("https://")
    async with TaxiMasterClient(https_sim.base_url, SECRET, retries=0, timeout=2) as client:
        with pytest.raises(TaxiMasterUnavailable) as caught:
            await client.get_uds_list()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


async def test_ca_file_reaches_it(https_sim: TaxiMasterSimulator) -> None:
    assert https_sim.base_url
    async with TaxiMasterClient(
        https_sim.base_url, SECRET, ca_file=DATA / "tmweb-test.crt", timeout=2
    ) as client:
        assert await client.get_uds_list()


async def test_verify_off_reaches_it(https_sim: TaxiMasterSimulator) -> None:
    assert https_sim.base_url
    async with TaxiMasterClient(https_sim.base_url, SECRET, verify_tls=False, timeout=2) as client:
        assert await client.get_uds_list()
    async with TaxiMasterClient(
        https_sim.base_url, SECRET, verify_tls=False, legacy_tls=True, timeout=2
    ) as legacy:
        assert await legacy.get_uds_list()
