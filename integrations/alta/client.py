"""Async client for Alta's «Поиск вагонов» JSON-API: one method per documented action.

Every call goes through :meth:`AltaClient._request`, where the policies live:

* **URL and method.** One URL (``ALTA_BASE_URL``, the document's ``…/api_v2.php``) with
  ``action=…``. Reads are ``GET`` with the parameters in the query (the document's shape);
  ``add`` and ``cancel_track`` are ``POST`` with every parameter, credentials included, in a
  form body, which keeps the secret out of URLs and access logs for the calls that cost money.
* **Authorization.** ``login`` and ``sa`` in clear, and ``secret = md5("rail_tracking:" + sa +
  ":" + md5(password))`` computed ONCE here; the password itself is never sent or stored.
* **Timeouts** on every request; **retries** (tenacity) only for reads other than ``show``,
  only after network errors, timeouts, 5xx and answers that are not JSON.
* **Once a minute, per account.** Alta's «оптимальный период опроса сервера — 1 минута» is
  kept for the whole account, not per request: one client serves one account (the watcher and
  every chat share it), and a ``show`` of ANY request sooner than ``show_interval`` seconds
  after the previous ``show`` raises :class:`AltaRateLimited` (with ``retry_after``) without a
  request. The same client-wide budget (``per_minute_limit``) paces every other call.
* **Credential lock.** Only a clear authorization signal locks the client: HTTP 401, or an
  error whose words name the login, secret, password or contract as wrong
  (:class:`AltaAuthError`; see :mod:`integrations.alta.errors` for why «договор» in a money
  error or a missing request does not count). Later calls raise :class:`AltaDisabled` (an
  ``IntegrationDisabled``) without a request until :meth:`reset_auth_lock` (``/resume alta``).
  Any other error (HTTP 403 included: Alta may block a client that polls too often) fails
  only that call.
* **Numbers are checked before ``add``**: a wrong check digit raises
  :class:`AltaInvalidNumbers` with structured problems, and nothing is sent.
* **Secrets.** No exception text or log line carries the secret: URLs go through
  ``redact_url``, httpx errors are redacted and not chained, httpx's own request log is masked.
* **Metrics.** :attr:`stats` counts calls, errors and retries per action.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import time as dtime
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import httpx
from aiolimiter import AsyncLimiter
from pydantic import BaseModel, ValidationError

from integrations.alta.errors import (
    TEST_SECRET_FAILED,
    AltaAuthError,
    AltaDisabled,
    AltaError,
    AltaInvalidArgument,
    AltaRateLimited,
    AltaUnavailable,
    error_from_head,
    invalid_numbers_error,
)
from integrations.alta.functions import ACTIONS, RETRYABLE_ACTIONS, SERVICE, Kind
from integrations.alta.models import (
    ADD_TRACK_TYPE,
    Ack,
    AddResult,
    Balance,
    CarrList,
    Dislocation,
    Envelope,
    Region,
    ShowResult,
    TrackMode,
    TrackRequest,
    show_rows,
)
from integrations.alta.numbers import split_numbers
from integrations.http import ClientStats, VendorClient, shared_tls_context
from integrations.redact import redact_httpx_logs, redact_url

__all__ = ["AltaClient", "AltaStats", "make_secret"]

logger = logging.getLogger("integrations.alta")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_TIMES_PER_DAY: Final = 3
SHOW_INTERVAL_SECONDS: Final = 60.0


def make_secret(sa: str, password: str) -> str:
    """``md5("rail_tracking:" + sa + ":" + md5(password))`` as lowercase hex (document's rule,
    verified by its own example)."""
    inner = hashlib.md5(password.encode()).hexdigest()
    return hashlib.md5(f"{SERVICE}:{sa}:{inner}".encode()).hexdigest()


AltaStats = ClientStats  # calls, errors, retries per function


class AltaClient(VendorClient):
    """One Alta contract (login + service account + technical password)."""

    service = "alta"

    def __init__(
        self,
        base_url: str,
        login: str,
        sa: str,
        password: str,
        *,
        timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.5,
        per_minute_limit: int = 30,
        max_rate_wait: float = 3.0,
        show_interval: float = SHOW_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not login or not sa or not password:
            raise ValueError("Alta login, service account and password are required")
        self._base_url = base_url
        self._login = login
        self._sa = sa
        self._secret = make_secret(sa, password)
        self._timeout = timeout
        self._per_minute_limit = per_minute_limit
        self._limiter = AsyncLimiter(per_minute_limit, 60)
        self._max_rate_wait = max_rate_wait
        self._show_interval = show_interval
        self._monotonic = monotonic
        self._last_show: float | None = None  # the account's last show, any request
        super().__init__(secret=self._secret, retries=retries, backoff=backoff)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=shared_tls_context(),
            follow_redirects=False,
            headers={"User-Agent": "logibot-alta/1", "Accept": "application/json"},
        )
        self.stats = AltaStats()
        redact_httpx_logs()

    def __repr__(self) -> str:
        return f"AltaClient({self._base_url!r}, login={self._login!r}, sa={self._sa!r}, secret=***)"

    # --- the seven actions ------------------------------------------------------------------------

    async def test_secret(self) -> bool:
        """True when Alta accepts the credentials; a rejection raises :class:`AltaAuthError`
        (and locks the client) like any other call."""
        await self._request("test_secret", {}, lambda envelope: None)
        return True

    async def add(
        self,
        numbers: str | Iterable[str],
        *,
        region: Region | str = Region.RU,
        mode: TrackMode | str = TrackMode.DAILY,
        times: Sequence[str | dtime] = ("09:00",),
        days: Collection[int] = (0, 1, 2, 3, 4, 5, 6),
        stop_station: bool | str = True,
        comment: str | None = None,
        emails: Iterable[str] | None = None,
        attach_excel: bool | None = None,
    ) -> AddResult:
        """Put wagons and/or containers on tracking; Alta answers ``hash`` for the wagons and
        ``cont_hash`` for the containers.

        ``numbers``: a list or the text a dispatcher typed; every number is checked first and a
        wrong one raises :class:`AltaInvalidNumbers` with nothing sent. ``times``: up to three
        Moscow ``HH:MM`` report times (``times_per_day`` is sent as their count). ``days``:
        0 = Sunday … 6 = Saturday. ``stop_station``: True = stop at the destination, False =
        manual, or a 5-digit ESR code to stop at.
        """
        text = numbers if isinstance(numbers, str) else " ".join(numbers)
        parsed = split_numbers(text)
        if parsed.problems:
            raise invalid_numbers_error(parsed.problems)
        if not parsed.valid:
            raise AltaInvalidArgument(
                "add: no numbers given",
                code="CLIENT_CHECK",
                user_message="Укажите номера вагонов или контейнеров.",
                user_message_en="Please give wagon or container numbers.",
                action="add",
            )
        region = Region(region)
        params: dict[str, str] = {
            "wagons": ",".join(parsed.valid),
            "state": region.state,
            "track_state": region.value,
            "track_type": str(ADD_TRACK_TYPE[TrackMode(mode)]),
            "stop_station": _stop_station_param(stop_station),
            **_schedule_params(times, days),
        }
        if comment:
            params["comment"] = comment
        if emails:
            params["emails"] = ",".join(emails)
            params["email_report_type"] = "2"  # "always 2"
            if attach_excel is not None:
                params["attach_excel"] = "1" if attach_excel else "0"
        return await self._request("add", params, _head(AddResult))

    async def show(self, request_hash: str) -> ShowResult:
        """The latest dislocation report of a request (``hash`` or ``cont_hash``).

        Before the first report every row says ``no_data`` (``ShowResult.no_data``): not an
        error. Refused with :class:`AltaRateLimited` within ``show_interval`` seconds of the
        account's previous ``show`` (of any request).
        """
        wait = self.show_wait()
        if wait > 0:
            raise AltaRateLimited(
                f"show: Alta was asked for a report {self._show_interval - wait:.0f}s ago "
                "(at most once a minute per account)",
                code="CLIENT_SHOW_INTERVAL",
                action="show",
                retry_after=wait,
            )
        self._last_show = self._monotonic()

        def parse(envelope: Envelope) -> ShowResult:
            rows = show_rows(envelope.body)
            return ShowResult(
                hash=request_hash,
                descr=envelope.descr,
                reports=[Dislocation.from_raw(row) for row in rows],
                raw=envelope.body,
            )

        return await self._request("show", {"hash": request_hash}, parse)

    def show_wait(self) -> float:
        """Seconds until the account may ask ``show`` again (0: now)."""
        if self._last_show is None:
            return 0.0
        return max(0.0, self._show_interval - (self._monotonic() - self._last_show))

    async def cancel_track(self, request_hash: str, numbers: Iterable[str] | None = None) -> Ack:
        """Stop tracking a whole request, or only ``numbers`` of it."""
        params = {"hash": request_hash}
        chosen = [n.strip().upper() for n in numbers or () if n.strip()]
        if chosen:
            params["wagons"] = ",".join(chosen)
        return await self._request("cancel_track", params, _head(Ack))

    async def track_list(self) -> list[TrackRequest]:
        """Every tracking request of the contract (one row per hash)."""
        return await self._request("track_list", {}, _rows(TrackRequest))

    async def carr_list(self, request_hash: str) -> list[str]:
        """The wagon/container numbers of one request."""

        def parse(envelope: Envelope) -> list[str]:
            numbers: list[str] = []
            for item in envelope.body:
                if isinstance(item, Mapping):
                    numbers += CarrList.model_validate(item).carrs
            return [str(n).strip().upper() for n in numbers]

        return await self._request("carr_list", {"hash": request_hash}, parse)

    async def balance(self) -> Balance:
        """Money (``balans``, roubles) and bonuses left on the contract."""
        return await self._request("balance", {}, _head(Balance))

    # --- the one place that talks HTTP ------------------------------------------------------------

    async def _request(
        self, action: str, params: Mapping[str, str], parse: Callable[[Envelope], T]
    ) -> T:
        self.stats.calls[action] += 1
        try:
            envelope = await self._send_with_retries(action, params)
            try:
                return parse(envelope)
            except (ValidationError, TypeError, ValueError):
                raise AltaUnavailable(
                    f"{action}: answer does not match the documented format", action=action
                ) from None
        except AltaError:
            self.stats.errors[action] += 1
            raise

    async def _send_with_retries(self, action: str, params: Mapping[str, str]) -> Envelope:
        return await self._retrying(
            action, lambda: self._send_once(action, params), read=action in RETRYABLE_ACTIONS
        )

    async def _send_once(self, action: str, params: Mapping[str, str]) -> Envelope:
        if self.auth_locked:
            raise AltaDisabled(
                f"{action}: not called, the credentials were rejected earlier",
                code="AUTH_LOCKED",
                action=action,
            )
        await self._acquire_budget(action)
        response = await self._transport(action, params)
        logger.debug(
            "alta %s %s -> HTTP %s",
            response.request.method,
            redact_url(response.request.url),
            response.status_code,
        )
        return self._envelope(action, response)

    async def _transport(self, action: str, params: Mapping[str, str]) -> httpx.Response:
        """Send one request. httpx errors become :class:`AltaUnavailable`, raised outside the
        ``except`` block so the httpx exception (whose request holds the secret) is not chained."""
        pairs = [
            ("action", action),
            ("login", self._login),
            ("sa", self._sa),
            ("secret", self._secret),
            *params.items(),
        ]
        try:
            if ACTIONS.get(action, Kind.READ) is Kind.READ:
                return await self._http.get(self._base_url, params=tuple(pairs))
            return await self._http.post(
                self._base_url,
                content=urlencode(pairs),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TimeoutException:
            reason = f"timed out after {self._timeout}s"
        except httpx.HTTPError as exc:
            reason = f"network error {type(exc).__name__}: {self._redact(str(exc))}"
        logger.warning("alta %s: %s", action, reason)
        raise AltaUnavailable(f"{action}: {reason}", action=action, retryable=True)

    def _envelope(self, action: str, response: httpx.Response) -> Envelope:
        status = response.status_code
        if status == 401:  # the one HTTP answer that means the credentials themselves
            raise self._vendor_error(action, {"status": "error", "descr": "HTTP 401 authorization"})
        try:
            payload = json.loads(response.content.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            payload = None
        head, body = _split(payload)
        if status >= 500:
            # The server failed, whatever its body says: a write may have happened before it
            # did (an add billed, then a 500), so this is "no answer", never a refusal.
            logger.warning("alta %s: HTTP %s", action, status)
            descr = str(head.get("descr") or "") if head else ""
            raise AltaUnavailable(
                f"{action}: HTTP {status} {descr}".strip(),
                code=status,
                action=action,
                vendor_text=descr,
                retryable=True,
            )
        if head is not None and _status(head) in ("error", "fail"):
            raise self._vendor_error(action, head)
        if status == 429:
            raise AltaRateLimited(f"{action}: HTTP 429", code=429, action=action)
        if status >= 400:
            logger.warning("alta %s: HTTP %s", action, status)
            raise AltaUnavailable(f"{action}: HTTP {status}", code=status, action=action)
        if head is None or _status(head) != "ok":
            kind = "not JSON" if payload is None else "not an Alta answer"
            logger.warning("alta %s: answer is %s (HTTP %s)", action, kind, status)
            raise AltaUnavailable(f"{action}: answer is {kind}", action=action, retryable=True)
        return Envelope(head=head, body=body)

    def _vendor_error(self, action: str, head: Mapping[str, Any]) -> AltaError:
        if action == "test_secret" and not head.get("descr") and head.get("code") is None:
            # test_secret's documented refusal is a bare {"status": "error"}.
            head = {**head, "descr": TEST_SECRET_FAILED.descr}
        error = error_from_head(action, head)
        if isinstance(error, AltaAuthError):
            self.lock_auth()
            logger.error(
                "alta %s: credentials rejected (%s); no further calls until reset_auth_lock()",
                action,
                error.vendor_text or error.code,
            )
        else:
            logger.info("alta %s: error %s %s", action, error.code, error.vendor_text)
        return error

    def _budget_spent(self, action: str) -> AltaRateLimited:
        return AltaRateLimited(
            f"{action}: client-side budget of {self._per_minute_limit} requests/minute spent",
            code="CLIENT_BUDGET",
            action=action,
        )


# --- parsing helpers ------------------------------------------------------------------------------


def _split(payload: Any) -> tuple[dict[str, Any] | None, list[Any]]:
    """``[head, *body]``; ``test_secret``'s bare object counts as a head without a body."""
    if isinstance(payload, dict) and "status" in payload:
        return payload, []
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        head: dict[str, Any] = payload[0]
        if "status" in head:
            return head, list(payload[1:])
    return None, []


def _status(head: Mapping[str, Any]) -> str:
    return str(head.get("status") or "").strip().lower()


def _head(model: type[M]) -> Callable[[Envelope], M]:
    def parse(envelope: Envelope) -> M:
        return model.model_validate(envelope.head)

    return parse


def _rows(model: type[M]) -> Callable[[Envelope], list[M]]:
    def parse(envelope: Envelope) -> list[M]:
        rows: list[Any] = []
        for item in envelope.body:
            rows += item if isinstance(item, list) else [item]
        return [model.model_validate(row) for row in rows if isinstance(row, Mapping)]

    return parse


def _stop_station_param(stop: bool | str) -> str:
    if isinstance(stop, bool):
        return "yes" if stop else "no"
    value = stop.strip().lower()
    if value in ("yes", "no"):
        return value
    if value.isdigit() and len(value) in (5, 6):
        return value[:5]  # the document asks for the 5-digit ESR code
    raise AltaInvalidArgument(
        f"add: stop_station {stop!r} is not yes/no or a 5-digit ESR code",
        code="CLIENT_CHECK",
        user_message="Станция снятия — «да», «нет» или 5-значный код ЕСР станции.",
        user_message_en="The stop station is yes, no or a 5-digit ESR station code.",
        action="add",
    )


def _schedule_params(times: Sequence[str | dtime], days: Collection[int]) -> dict[str, str]:
    """``times`` (up to three ``HH:MM``), ``times_per_day`` (their count) and ``days``. Sent
    under their real names: the document's sample URL mangled them into ``×=``."""
    texts: list[str] = []
    for value in times:
        text = value.strftime("%H:%M") if isinstance(value, dtime) else str(value).strip()
        try:
            parsed = dtime.fromisoformat(text if len(text) > 4 else "0" + text)
        except ValueError:
            parsed = None
        if parsed is None:
            texts = []
            break
        texts.append(parsed.strftime("%H:%M"))
    unique_days = sorted(set(days))
    if (
        not texts
        or len(texts) > MAX_TIMES_PER_DAY
        or not unique_days
        or any(not 0 <= d <= 6 for d in unique_days)
    ):
        raise AltaInvalidArgument(
            f"add: schedule times={list(times)!r} days={sorted(days)!r} is not valid",
            code="CLIENT_CHECK",
            user_message="Время отчётов — от одного до трёх значений ЧЧ:ММ, дни — от 0 (вс) "
            "до 6 (сб).",
            user_message_en="Report times are one to three HH:MM values, days 0 (Sun) to 6 (Sat).",
            action="add",
        )
    texts = sorted(set(texts))
    return {
        "times": ",".join(texts),
        "times_per_day": str(len(texts)),
        "days": ",".join(str(d) for d in unique_days),
    }
