"""Operations endpoints on HTTP_PORT: /healthz (JSON) and /metrics (Prometheus text).

/healthz says what is wrong (which integration fails, since when) to anyone, but the error
texts themselves (a vendor's answer, a host name, an event id) only to a request made on the
machine itself: from a loopback address and not relayed by a proxy.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import Metrics
from integrations.base import FieldValue
from storage.db import Database, utcnow

log = logging.getLogger(__name__)

# Polling answers at least every long-poll timeout (30 s); three missed rounds means it is stuck.
POLLING_STALE_SECONDS = 120
# What /healthz shows instead of an error text to a request from outside the machine.
HIDDEN = "hidden: ask /healthz on the machine itself (loopback)"
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def shown(error: str | None, with_texts: bool) -> str | None:
    """An error text as /healthz shows it: itself on loopback, else only that there is one."""
    return error if with_texts or error is None else HIDDEN


def asked_on_loopback(request: web.Request) -> bool:
    """A request from this machine itself: a loopback peer that relays no one else (a reverse
    proxy on the same host connects from loopback too, but says whom it serves)."""
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


@dataclass
class IntegrationHealth:
    """What /healthz and /status say about one integration."""

    name: str
    enabled: bool
    paused: bool = False
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    # The last system alert a cycle itself raised (e.g. events the vendor would not give):
    # kept for /status, since the cycle still counts as a success.
    notice_kind: str | None = None
    notice_fields: dict[str, FieldValue] = field(default_factory=dict)
    notice_at: datetime | None = None

    def noticed(self, kind: str, fields: dict[str, FieldValue]) -> None:
        self.notice_kind, self.notice_fields, self.notice_at = kind, dict(fields), utcnow()

    def succeeded(self) -> None:
        self.last_success = utcnow()
        self.consecutive_failures = 0

    def failed(self, error: str) -> None:
        self.last_error = error
        self.last_error_at = utcnow()
        self.consecutive_failures += 1

    def as_dict(self, *, with_texts: bool = True) -> dict[str, object]:
        """The integration's health; without ``with_texts`` no error text or notice field
        (only that there is one)."""
        error = shown(self.last_error, with_texts)
        return {
            "enabled": self.enabled,
            "paused": self.paused,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": error,
            "consecutive_failures": self.consecutive_failures,
            "notice": {
                "kind": self.notice_kind,
                "fields": self.notice_fields if with_texts else {},
                "at": self.notice_at.isoformat() if self.notice_at else None,
            }
            if self.notice_kind
            else None,
        }


@dataclass
class PollingWatch:
    """How getUpdates is doing (monotonic times), kept by the Bot API request middleware."""

    first_sent: float | None = None  # polling began: the first getUpdates went out
    last_ok: float | None = None  # the last getUpdates Telegram answered
    last_error: str | None = None  # why the latest getUpdates failed; None once one succeeds

    def sent(self) -> None:
        if self.first_sent is None:
            self.first_sent = time.monotonic()

    def answered(self) -> None:
        self.last_ok, self.last_error = time.monotonic(), None

    def failed(self, error: str) -> None:
        self.last_error = error

    @property
    def started(self) -> bool:
        return self.first_sent is not None

    def seconds_since_ok(self) -> float | None:
        """Since the last answer (or since polling began, while the first long poll waits)."""
        since = self.last_ok if self.last_ok is not None else self.first_sent
        return None if since is None else time.monotonic() - since

    def alive(self) -> bool:
        age = self.seconds_since_ok()
        return age is not None and age < POLLING_STALE_SECONDS and self.last_error is None


@dataclass
class StartupProgress:
    """Start-up until polling begins: while Telegram does not answer getMe the bot keeps trying
    (bot/startup.py) and /healthz says "starting" for ``grace_seconds``, then "fail"."""

    grace_seconds: float
    began: float = field(default_factory=time.monotonic)
    telegram_ok_at: float | None = None
    attempts: int = 0  # getMe calls so far
    last_error: str | None = None

    @property
    def telegram_ok(self) -> bool:
        return self.telegram_ok_at is not None

    def telegram_answered(self) -> None:
        self.telegram_ok_at = time.monotonic()

    def within_grace(self) -> bool:
        return time.monotonic() - self.began < self.grace_seconds

    def as_dict(self, *, with_texts: bool = True) -> dict[str, object]:
        """``seconds``: waited so far, or (once Telegram answered) how long it took."""
        until = self.telegram_ok_at if self.telegram_ok_at is not None else time.monotonic()
        return {
            "telegram": "ok" if self.telegram_ok else "waiting",
            "attempts": self.attempts,
            "last_error": shown(self.last_error, with_texts),
            "seconds": round(until - self.began, 1),
        }


@dataclass
class HealthState:
    integrations: dict[str, IntegrationHealth] = field(default_factory=dict)
    polling: PollingWatch = field(default_factory=PollingWatch)
    startup: StartupProgress = field(default_factory=lambda: StartupProgress(grace_seconds=60))
    updates: str = "polling"  # or "webhook": how updates come in (bot/webhook.py)
    role: Callable[[], str] = lambda: "leader"  # leader / standby / starting (bot/leader.py)
    webhook_set: bool = False  # webhook mode: Telegram accepted setWebhook at start

    def status(self, database_ok: bool) -> str:
        """ok, or "starting" before updates come in (within the grace), or fail.

        Updates come in by getUpdates in the leader (polling mode: a standby is healthy with its
        database alone) or by the webhook in every replica (once setWebhook went through)."""
        if not database_ok:
            return "fail"
        if self.updates == "webhook":
            receiving, started = self.webhook_set, self.webhook_set
        elif self.role() == "standby":
            return "ok"
        else:
            receiving, started = self.polling.alive(), self.polling.started
        if receiving:
            return "ok"
        if not started and self.startup.within_grace():
            return "starting"
        return "fail"


class HealthServer:
    def __init__(self, db: Database, state: HealthState, metrics: Metrics) -> None:
        self.db, self.state, self.metrics = db, state, metrics
        self.app = web.Application()
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.metrics_endpoint)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, port: int, host: str = "0.0.0.0") -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("health and metrics on port %s", self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        database_ok = await self.db.ping()
        polling = self.state.polling
        polling_age = polling.seconds_since_ok()
        with_texts = asked_on_loopback(request)
        body = {
            "status": self.state.status(database_ok),
            "role": self.state.role(),
            "updates": self.state.updates,
            "database": "ok" if database_ok else "fail",
            "startup": self.state.startup.as_dict(with_texts=with_texts),
            "telegram_polling": {
                "alive": polling.alive(),
                "seconds_since_last_poll": None if polling_age is None else round(polling_age, 1),
                "last_error": shown(polling.last_error, with_texts),
            },
            "integrations": {
                name: health.as_dict(with_texts=with_texts)
                for name, health in self.state.integrations.items()
            },
        }
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    async def metrics_endpoint(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response
