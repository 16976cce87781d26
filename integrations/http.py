"""What every vendor client shares, so each keeps only its own policies in its ``_request``.

- the HTTP connection's lifetime (``async with client:`` or :meth:`VendorClient.aclose`);
- the credential lock: after the vendor refuses our key/secret/password the client stops
  calling (another wrong try may lock the account, and a bad key does not heal by retrying);
  calls raise the client's ``IntegrationDisabled`` subclass without a request until an admin
  fixed it and said ``/resume <service>`` (:meth:`VendorClient.reset_auth_lock`);
- counters per vendor function for the metrics (:class:`ClientStats`);
- retries for reads only, after transient failures, with jittered backoff (tenacity), and the
  secret masked in whatever the client logs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, Self, TypeVar

import httpx
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from integrations.errors import IntegrationError
from integrations.redact import redact_url

T = TypeVar("T")


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings, built once: loading the CA bundle costs ~35 ms a client."""
    return httpx.create_ssl_context()


def transient(exc: BaseException) -> bool:
    """An upstream failure where repeating a READ is safe and may help (each service's error
    says so in ``retryable``: timeouts, 5xx, answers that are not the documented format)."""
    return isinstance(exc, IntegrationError) and exc.retryable


@dataclass
class ClientStats:
    """Per vendor function: ``calls`` (method invocations), ``errors`` (invocations that
    raised), ``retries`` (extra HTTP attempts made by the retry policy)."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)


class VendorClient:
    """Base of the vendor clients: the connection, the credential lock."""

    service: ClassVar[str] = "upstream"  # for log lines
    _http: httpx.AsyncClient
    stats: ClientStats
    # The client's own budget for the vendor, and how long a call may wait for room in it: a
    # chat handler must answer now, not in ten minutes.
    _limiter: AsyncLimiter
    _max_rate_wait: float

    def __init__(self, *, secret: str, retries: int, backoff: float) -> None:
        self._auth_locked = False
        self._secret_text = secret
        self._retries = max(0, retries)
        self._backoff = backoff

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def auth_locked(self) -> bool:
        """True after the vendor refused our credentials: no calls until :meth:`reset_auth_lock`."""
        return self._auth_locked

    def lock_auth(self) -> None:
        self._auth_locked = True

    def reset_auth_lock(self) -> None:
        """Allow calls again, e.g. after an admin fixed the credentials (``/resume <service>``)."""
        if self._auth_locked:
            logging.getLogger(f"integrations.{self.service}").warning(
                "%s: credential lock reset, calls resume", self.service
            )
        self._auth_locked = False

    # --- our own budget for the vendor ----------------------------------------------------
    async def _acquire_budget(self, name: str) -> None:
        try:
            async with asyncio.timeout(self._max_rate_wait):
                await self._limiter.acquire()
        except TimeoutError:
            error = self._budget_spent(name)
            logging.getLogger(f"integrations.{self.service}").warning("%s", error)
            raise error from None

    def _budget_spent(self, name: str) -> IntegrationError:
        """The client's RateLimited error for a call that found the budget spent."""
        raise NotImplementedError

    # --- reads retried, writes never -------------------------------------------------------
    async def _retrying(self, name: str, send: Callable[[], Awaitable[T]], *, read: bool) -> T:
        """``send()`` once; a read up to ``1 + retries`` times after transient failures. A write
        is never repeated: one that timed out may have happened, and doing it twice is worse
        than one error message."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(1 + (self._retries if read else 0)),
            wait=wait_exponential_jitter(
                multiplier=self._backoff, max=self._backoff * 8, jitter=self._backoff
            ),
            retry=retry_if_exception(transient),
            before_sleep=self._log_retry(name),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await send()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _log_retry(self, name: str) -> Callable[[RetryCallState], None]:
        def log_retry(state: RetryCallState) -> None:
            self.stats.retries[name] += 1
            error = state.outcome.exception() if state.outcome else None
            logging.getLogger(f"integrations.{self.service}").warning(
                "%s %s: attempt %d failed (%s), retrying",
                self.service,
                name,
                state.attempt_number,
                self._redact(str(error)),
            )

        return log_retry

    def _redact(self, text: str) -> str:
        """Mask secret-looking query values and, belt and braces, the secret itself."""
        text = redact_url(text)
        secret = self._secret_text
        return text.replace(secret, "***") if len(secret) >= 4 else text
