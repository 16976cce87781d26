"""Serving an aiohttp app on this machine, the way every stand-in in the sandbox does."""

from __future__ import annotations

import ssl

from aiohttp import web


async def serve(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on ``host:port`` (0 = any free port), over TLS with ``ssl_context``.

    Returns the runner (``await runner.cleanup()`` stops it) and the origin it serves at,
    ``http://127.0.0.1:PORT``. No access log is written: request lines may carry keys.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
    scheme = "https" if ssl_context else "http"
    return runner, f"{scheme}://{host}:{runner.addresses[0][1]}"
