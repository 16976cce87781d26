"""`logibot healthcheck`: the container's HEALTHCHECK, following HTTP_PORT.

Exit 0 when /healthz answers 200, else 1, with one line saying why (``docker inspect`` shows
it). Docker gives exit codes other than 0 and 1 no meaning, so nothing else is returned. With
HTTP_PORT=0 the endpoints are off by choice: there is nothing to ask, and a container must not
be "unhealthy" for a setting, so that is 0.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bot.config import ConfigError, load_settings

TIMEOUT_SECONDS = 4.0  # under the image's HEALTHCHECK --timeout=5s
HEALTHY, UNHEALTHY = 0, 1


def healthcheck() -> int:
    try:
        port = load_settings().http_port
    except ConfigError as exc:
        print(f"configuration problems: {'; '.join(exc.problems)}")
        return UNHEALTHY
    if port == 0:
        print("health endpoint off (HTTP_PORT=0): nothing to check")
        return HEALTHY
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, TimeoutError) as error:  # refused, timed out: the bot is not serving
        reason = getattr(error, "reason", error)
        print(f"no answer from {url}: {reason}")
        return UNHEALTHY
    try:
        body = json.loads(raw)
    except ValueError:
        print(f"{url} answered {status} with something that is not JSON")
        return UNHEALTHY
    print(summary(body))
    return HEALTHY if status == 200 else UNHEALTHY


def summary(body: dict[str, Any]) -> str:
    """``/healthz`` in one line: its status and, when not ok, what is wrong."""
    status = str(body.get("status"))
    details: list[str] = []
    startup = body.get("startup") or {}
    if startup.get("telegram") == "waiting":
        details.append(
            f"waiting for Telegram ({startup.get('attempts')} attempts, "
            f"{startup.get('seconds')} s): {startup.get('last_error')}"
        )
    if body.get("database") != "ok":
        details.append("database not answering")
    polling = body.get("telegram_polling") or {}
    if startup.get("telegram") == "ok" and not polling.get("alive"):
        error = polling.get("last_error")
        age = polling.get("seconds_since_last_poll")
        details.append(f"Telegram polling: {error or f'no answer for {age} s'}")
    return f"{status}: {'; '.join(details)}" if details else status
