"""What every vendor client shares, so each keeps only its own policies in its ``_request``.

- the HTTP connection's lifetime (``async with client:`` or :meth:`VendorClient.aclose`);
- the credential lock: after the vendor refuses our key/secret/password the client stops
  calling (another wrong try may lock the account, and a bad key does not heal by retrying);
  calls raise the client's ``IntegrationDisabled`` subclass without a request until an admin
  fixed it and said ``/resume <service>`` (:meth:`VendorClient.reset_auth_lock`);
- counters per vendor function for the metrics (:class:`ClientStats`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, Self

import httpx


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

    def __init__(self) -> None:
        self._auth_locked = False

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
