"""/healthz: error texts only for a request made on the machine itself."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import make_mocked_request

from bot.health import HIDDEN, HealthServer, HealthState, IntegrationHealth, asked_on_loopback
from bot.metrics import Metrics
from storage.db import Database

SECRET_TEXT = "MovizorUnavailable: events: host api.internal.example:8443 said no"


class _Peer:
    """The socket side of a request: who connected."""

    def __init__(self, host: str) -> None:
        self.host = host

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (self.host, 40000) if name == "peername" else default


def test_only_a_loopback_peer_that_relays_no_one_is_on_loopback():
    assert asked_on_loopback(make_mocked_request("GET", "/healthz", transport=_Peer("127.0.0.1")))
    assert asked_on_loopback(make_mocked_request("GET", "/healthz", transport=_Peer("::1")))
    assert not asked_on_loopback(
        make_mocked_request("GET", "/healthz", transport=_Peer("203.0.113.7"))
    )
    assert not asked_on_loopback(
        make_mocked_request("GET", "/healthz", transport=_Peer("10.0.0.2"))
    )
    relayed = make_mocked_request(
        "GET", "/healthz", headers={"X-Forwarded-For": "203.0.113.7"}, transport=_Peer("127.0.0.1")
    )
    assert not asked_on_loopback(relayed)


async def test_healthz_shows_error_texts_only_on_loopback(tmp_path):
    health = IntegrationHealth("movizor", enabled=True)
    health.failed(SECRET_TEXT)
    health.noticed("system.events_skipped", {"after_id": 41, "before_id": 1042})
    state = HealthState({"movizor": health})
    state.startup.last_error = SECRET_TEXT  # getMe failed at start
    state.polling.failed(SECRET_TEXT)  # and getUpdates since
    async with Database(tmp_path / "h.sqlite3") as db:
        server = HealthServer(db, state, Metrics())
        await server.start(0, host="127.0.0.1")
        try:
            url = f"http://127.0.0.1:{server.port}/healthz"
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as response:
                    local = json.loads(await response.text())
                async with session.get(url, headers={"X-Forwarded-For": "203.0.113.7"}) as resp:
                    outside_text = await resp.text()
        finally:
            await server.stop()
    assert local["integrations"]["movizor"]["last_error"] == SECRET_TEXT
    assert local["startup"]["last_error"] == local["telegram_polling"]["last_error"] == SECRET_TEXT
    assert local["integrations"]["movizor"]["notice"]["fields"]["before_id"] == 1042
    assert json.loads(outside_text)["startup"]["last_error"] == HIDDEN
    assert json.loads(outside_text)["telegram_polling"]["last_error"] == HIDDEN
    outside = json.loads(outside_text)["integrations"]["movizor"]
    assert outside["last_error"] == HIDDEN and outside["consecutive_failures"] == 1
    assert outside["notice"]["kind"] == "system.events_skipped"
    assert "api.internal" not in outside_text and "1042" not in outside_text
