"""A small HTTP load balancer for the failover test and bench: what stands between Telegram's
webhook and the bot's replicas in a real deployment (nginx, HAProxy, a cloud balancer).

Each request goes to the next backend in turn; one that refuses the connection (a dead
replica) is skipped for the next. The backend's answer — status, headers, body — goes back
unchanged; when no backend answers, 502 Bad Gateway (which Telegram retries).
"""

from __future__ import annotations

import itertools
import logging

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})


class LoadBalancer:
    def __init__(self, backends: list[str], *, timeout: float = 120.0) -> None:
        self.backends = list(backends)  # base URLs: http://127.0.0.1:PORT
        self.timeout = timeout
        self.forwarded: dict[str, int] = {}  # backend -> requests it answered
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        first = next(self._turn)
        for step in range(len(self.backends)):
            backend = self.backends[(first + step) % len(self.backends)]
            try:
                async with self._session.request(
                    request.method, backend + request.rel_url.path_qs, data=body, headers=headers
                ) as answer:
                    content = await answer.read()
                    kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                    self.forwarded[backend] = self.forwarded.get(backend, 0) + 1
                    return web.Response(status=answer.status, body=content, headers=kept)
            except aiohttp.ClientConnectorError:
                continue  # that replica is down: the next one
            except (aiohttp.ClientError, TimeoutError) as exc:
                # It took the request and died (or hung): its work is unknown, so it is not
                # handed to another; Telegram sends the update again after the 502.
                log.info("load balancer: %s failed mid-request (%s)", backend, exc)
                break
        return web.Response(status=502, text="Bad Gateway")
