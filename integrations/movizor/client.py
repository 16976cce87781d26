"""Async client for the Movizor API: one method per documented function.

Every call goes through :meth:`MovizorClient._request`, which is where the policies live:

* **URL and method.** ``{base}/{project}/{function}/``. Reads are ``GET`` with the key in the
  query (the document's shape); writes are ``POST`` with the key and parameters in a form body,
  the document's other shape, which keeps the key out of URLs and access logs for the calls
  that matter most.
* **Timeouts** on every request (``timeout`` seconds for connect, read, write and pool).
* **Retries** (tenacity) only for reads, only after network errors, timeouts, 5xx and answers
  that are not JSON. Writes are never repeated: a write that timed out may have happened, and
  adding, charging or deleting twice is worse than one error message.
* **Rate limit.** One ``AsyncLimiter(hourly_limit, 3600)`` for all calls (Movizor allows 5000
  requests an hour per account). A call that would wait more than ``max_rate_wait`` seconds
  raises :class:`MovizorLimitExceeded` instead: a chat handler must answer now, not in ten
  minutes. Note that a leaky bucket lets a full burst through and then refills, so in a
  clock-hour it can allow more than ``hourly_limit``; Movizor's own refusal maps to the same
  exception.
* **Key lock.** After an answer that rejects the key (:class:`MovizorAuthError`) the client
  stops calling; later calls raise :class:`MovizorDisabled` (an ``IntegrationDisabled``)
  without a request until :meth:`reset_auth_lock`. Five wrong keys an hour block the key for
  the rest of the hour, so a bot retrying with a bad key would lock itself out.
* **Secrets.** No exception text or log line carries the key: URLs are passed through
  ``redact_url``, httpx errors are redacted and not chained (their tracebacks hold the URL),
  and a filter on the ``httpx`` logger masks the key in httpx's own request log lines.
* **Metrics.** :attr:`stats` counts calls, errors and retries per function.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, time
from typing import Any, Final, TypeVar
from urllib.parse import quote, urlencode

import httpx
from aiolimiter import AsyncLimiter
from pydantic import BaseModel, TypeAdapter, ValidationError

from integrations.http import ClientStats, VendorClient, shared_tls_context
from integrations.movizor.errors import (
    LIMIT_EXCEEDED,
    MovizorAuthError,
    MovizorDisabled,
    MovizorError,
    MovizorLimitExceeded,
    MovizorUnavailable,
    error_from_response,
)
from integrations.movizor.functions import FUNCTIONS, READ_FUNCTIONS, Kind
from integrations.movizor.models import (
    Ack,
    Balance,
    DeleteResult,
    DistanceSearchResult,
    Envelope,
    Event,
    ObjectInfo,
    ObjectListItem,
    ObjectPosition,
    Operator,
    Position,
    PosRequestTicket,
    RoutePoint,
    ShareCreated,
    ShareLink,
    TariffCalculation,
    format_moscow,
)
from integrations.movizor.phpform import FormValue, encode_php_form
from integrations.redact import redact_httpx_logs, redact_url

__all__ = ["MovizorClient", "MovizorStats", "encode_php_form"]

logger = logging.getLogger("integrations.movizor")

DEFAULT_BASE_URL: Final = "https://movizor.ru/api"
EVENTS_LIMIT_RANGE: Final = (10, 1000)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


MovizorStats = ClientStats  # calls, errors, retries per function


class MovizorClient(VendorClient):
    """One Movizor account (``project`` + ``key``). Use ``async with`` or call :meth:`aclose`."""

    service = "movizor"

    def __init__(
        self,
        base_url: str,
        project: str,
        key: str,
        *,
        timeout: float = 10.0,
        hourly_limit: int = 4800,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        max_rate_wait: float = 3.0,
        backoff: float = 0.5,
    ) -> None:
        if not project or not key:
            raise ValueError("Movizor project and key are required")
        self._base_url = base_url.rstrip("/")
        self._project = project
        self._key = key
        self._timeout = timeout
        self._max_rate_wait = max_rate_wait
        self._hourly_limit = hourly_limit
        self._limiter = AsyncLimiter(hourly_limit, 3600)
        super().__init__(secret=self._key, retries=retries, backoff=backoff)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=shared_tls_context(),
            follow_redirects=False,
            headers={"User-Agent": "logibot-movizor/1", "Accept": "application/json"},
        )
        self.stats = MovizorStats()
        redact_httpx_logs()

    def __repr__(self) -> str:
        return f"MovizorClient({self._base_url!r}, project={self._project!r}, key=***)"

    # --- budget -------------------------------------------------------------------------------

    @property
    def hourly_limit(self) -> int:
        return self._hourly_limit

    def has_room(self, calls: float) -> bool:
        """Whether ``calls`` more requests fit the hourly budget now: background work waits for
        room so that it never takes what the watcher and the commands need."""
        return self._limiter.has_capacity(min(calls, self._hourly_limit))

    # --- account ------------------------------------------------------------------------------

    async def balance(self) -> Balance:
        """Balance, credit and the tariffs of the account."""
        return await self._request("balance", {}, _data(Balance))

    async def tariff_calculator(self, operator: str, tariff: str | int) -> TariffCalculation:
        """Price of ``tariff`` for ``operator`` (an id like ``mts``, see :meth:`get_operator`)."""
        params = {"operator": operator, "tariff": str(tariff)}
        return await self._request("tariff_calculator", params, _data(TariffCalculation))

    async def get_operator(self, phone: str) -> Operator:
        """The mobile operator and home region of ``phone``."""
        return await self._request("get_operator", {"phone": phone}, _data(Operator))

    async def distance_search(self, query: str) -> list[DistanceSearchResult]:
        """Places (with coordinates) matching an address such as "Москва, улица Первая"."""
        return await self._request("distance_search", {"query": query}, _rows(DistanceSearchResult))

    # --- objects ------------------------------------------------------------------------------

    async def object_add(
        self,
        phone: str,
        *,
        title: str | None = None,
        tags: str | Iterable[str] | None = None,
        dateoff: datetime | None = None,
        tariff: str | int | None = None,
        package_prolong: bool | None = None,
        destination: Sequence[RoutePoint] | None = None,
        schedule_days: Collection[int] | None = None,
        schedule_times: Sequence[str | time] | None = None,
        metadata: Mapping[str, str] | None = None,
        distance_text: str | None = None,
        distance_coord: tuple[float, float] | None = None,
    ) -> Ack:
        """Start tracking ``phone``; the driver then has to confirm (status new → wait → ok).

        ``schedule_days`` are weekdays 1 (Monday) … 7 (Sunday) → ``sw1``…``sw7``;
        ``schedule_times`` are ``hh:mm`` → ``st[]``. ``distance_text``/``distance_coord`` are
        the deprecated one-point route; prefer ``destination``.
        """
        params = _object_params(
            phone,
            title=title,
            tags=tags,
            dateoff=dateoff,
            tariff=tariff,
            package_prolong=package_prolong,
            destination=destination,
            schedule_days=schedule_days,
            schedule_times=schedule_times,
            metadata=metadata,
            distance_text=distance_text,
            distance_coord=distance_coord,
        )
        return await self._request("object_add", params, _ack(Ack))

    async def object_edit(
        self,
        phone: str,
        *,
        title: str | None = None,
        tags: str | Iterable[str] | None = None,
        dateoff: datetime | None = None,
        tariff: str | int | None = None,
        activate: bool = False,
        package_prolong: bool | None = None,
        destination: Sequence[RoutePoint] | None = None,
        schedule_days: Collection[int] | None = None,
        schedule_times: Sequence[str | time] | None = None,
        metadata: Mapping[str, str] | None = None,
        distance_text: str | None = None,
        distance_coord: tuple[float, float] | None = None,
    ) -> Ack:
        """Change an object. A new ``tariff`` starts at 00:00 Moscow time unless ``activate``."""
        params = _object_params(
            phone,
            title=title,
            tags=tags,
            dateoff=dateoff,
            tariff=tariff,
            package_prolong=package_prolong,
            destination=destination,
            schedule_days=schedule_days,
            schedule_times=schedule_times,
            metadata=metadata,
            distance_text=distance_text,
            distance_coord=distance_coord,
        )
        if activate:
            params["activate"] = True
        return await self._request("object_edit", params, _ack(Ack))

    async def object_get(self, phone: str) -> ObjectInfo:
        """Status, last position, forecast, route and metadata of one phone."""
        return await self._request("object_get", {"phone": phone}, _data(ObjectInfo))

    async def object_list(self) -> list[ObjectListItem]:
        """Every phone of the account with its status."""
        return await self._request("object_list", {}, _rows(ObjectListItem))

    async def object_delete(self, phone: str) -> DeleteResult:
        """First call on a tracked phone switches it off (``disabled``); next call deletes it."""
        return await self._request("object_delete", {"phone": phone}, _ack(DeleteResult))

    async def object_reactivate(self, phone: str) -> Ack:
        """Track a switched-off or declined phone again; the driver must confirm again."""
        return await self._request("object_reactivate", {"phone": phone}, _ack(Ack))

    async def object_cancel_tariff(self, phone: str) -> Ack:
        """Cancel a tariff change scheduled for tomorrow."""
        return await self._request("object_cancel_tariff", {"phone": phone}, _ack(Ack))

    # --- positions ----------------------------------------------------------------------------

    async def pos_last(self, phone: str) -> Position:
        """The last known position (no new locate, no charge)."""
        return await self._request("pos_last", {"phone": phone}, _data(Position))

    async def pos_request(self, phone: str) -> PosRequestTicket:
        """Ask the operator to locate ``phone`` now; poll :meth:`pos_get` with the ticket id.

        Refused (:class:`MovizorTooSoon`) within 5 minutes of the previous request.
        """

        def parse(envelope: Envelope) -> PosRequestTicket:
            data = envelope.data if isinstance(envelope.data, dict) else {}
            already = envelope.code.upper() == "WAIT"
            return PosRequestTicket.model_validate({**data, "already_processing": already})

        return await self._request("pos_request", {"phone": phone}, parse)

    async def pos_get(self, request_id: str | int) -> Position:
        """Result of a request: raises :class:`MovizorRequestPending` while it is queued."""
        return await self._request("pos_get", {"id": str(request_id)}, _data(Position))

    async def pos_objects(self) -> list[ObjectPosition]:
        """The current position of every phone of the account."""
        return await self._request("pos_objects", {}, _rows(ObjectPosition))

    async def pos_list(
        self,
        phone: str,
        *,
        offset: int | None = None,
        date_start: datetime | None = None,
        date_end: datetime | None = None,
    ) -> list[Position]:
        """Position history of ``phone`` (up to 1000 rows from ``offset``), newest first."""
        params: dict[str, FormValue] = {
            "phone": phone,
            "offset": offset,
            "date_start": _unix(date_start),
            "date_end": _unix(date_end),
        }
        return await self._request("pos_list", params, _rows(Position))

    # --- events and client links ----------------------------------------------------------------

    async def events(self, *, after_id: int | None = None, limit: int | None = None) -> list[Event]:
        """Events after ``after_id`` (all recent ones without it), oldest first (the service
        lists them newest first).

        ``limit`` is clamped to the documented 10…1000. The answer is sorted by id here so a
        poller can store ``events[-1].id`` as its next ``after_id``.
        """
        if limit is not None:
            low, high = EVENTS_LIMIT_RANGE
            limit = min(max(limit, low), high)
        params: dict[str, FormValue] = {"afterid": after_id, "limit": limit}
        events = await self._request("events", params, _rows(Event))
        return sorted(events, key=lambda event: event.id)

    async def share_list(self) -> list[ShareLink]:
        """Map links given to clients."""
        return await self._request("share_list", {}, _rows(ShareLink))

    async def share_add(
        self,
        phones: Sequence[str],
        *,
        comments: str | None = None,
        client: str | None = None,
        email: str | Iterable[str] | None = None,
        dateoff: datetime | None = None,
        req_limit: int | None = None,
    ) -> ShareCreated:
        """Create a map link for a client showing ``phones``; ``email`` gets the link sent."""
        emails = email if isinstance(email, str) or email is None else " ".join(email)
        params: dict[str, FormValue] = {
            "phone": list(phones),
            "comments": comments,
            "client": client,
            "email": emails,
            "dateoff": format_moscow(dateoff, seconds=True) if dateoff else None,
            "req_limit": req_limit,
        }
        return await self._request("share_add", params, _data(ShareCreated))

    async def share_delete(self, share_key: str) -> Ack:
        """Delete a client map link."""
        return await self._request("share_delete", {"share_key": share_key}, _ack(Ack))

    # --- the one place that talks HTTP ------------------------------------------------------------

    async def _request(
        self,
        function: str,
        params: Mapping[str, FormValue],
        parse: Callable[[Envelope], T],
    ) -> T:
        self.stats.calls[function] += 1
        try:
            pairs = encode_php_form(params)
            envelope = await self._send_with_retries(function, pairs)
            try:
                return parse(envelope)
            except ValidationError as exc:
                raise MovizorUnavailable(
                    f"{function}: answer does not match the documented format "
                    f"({exc.error_count()} field errors)",
                    function=function,
                ) from None
        except MovizorError:
            self.stats.errors[function] += 1
            raise

    async def _send_with_retries(self, function: str, pairs: list[tuple[str, str]]) -> Envelope:
        return await self._retrying(
            function, lambda: self._send_once(function, pairs), read=function in READ_FUNCTIONS
        )

    async def _send_once(self, function: str, pairs: list[tuple[str, str]]) -> Envelope:
        if self.auth_locked:
            raise MovizorDisabled(
                f"{function}: not called, the key was rejected earlier",
                code="AUTH_LOCKED",
                function=function,
            )
        await self._acquire_budget(function)
        response = await self._transport(function, pairs)
        logger.debug(
            "movizor %s %s -> HTTP %s",
            response.request.method,
            redact_url(response.request.url),
            response.status_code,
        )
        return self._envelope(function, response)

    async def _transport(self, function: str, pairs: list[tuple[str, str]]) -> httpx.Response:
        """Send one request. httpx errors become :class:`MovizorUnavailable`, raised outside the
        ``except`` block on purpose: the httpx exception (whose request holds the key) must not
        ride along as ``__context__`` into a traceback."""
        url = f"{self._base_url}/{quote(self._project, safe='')}/{function}/"
        credentials = [("key", self._key)]
        try:
            if FUNCTIONS[function] is Kind.READ:
                return await self._http.get(url, params=tuple(credentials + pairs))
            return await self._http.post(
                url,
                content=urlencode(credentials + pairs),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.TimeoutException:
            reason = f"timed out after {self._timeout}s"
        except httpx.HTTPError as exc:
            reason = f"network error {type(exc).__name__}: {self._redact(str(exc))}"
        logger.warning("movizor %s: %s", function, reason)
        raise MovizorUnavailable(f"{function}: {reason}", function=function, retryable=True)

    def _envelope(self, function: str, response: httpx.Response) -> Envelope:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("result") == "error":
            raise self._vendor_error(function, payload)
        if status == 429:
            raise MovizorLimitExceeded(
                f"{function}: HTTP 429", code=LIMIT_EXCEEDED, function=function
            )
        if status >= 400:
            logger.warning("movizor %s: HTTP %s", function, status)
            raise MovizorUnavailable(
                f"{function}: HTTP {status}",
                code=status,
                function=function,
                retryable=status >= 500,
            )
        if not isinstance(payload, dict) or payload.get("result") != "success":
            kind = "not JSON" if payload is None else "not a Movizor answer"
            logger.warning("movizor %s: answer is %s (HTTP %s)", function, kind, status)
            raise MovizorUnavailable(
                f"{function}: answer is {kind}", function=function, retryable=True
            )
        try:
            return Envelope.model_validate(payload)
        except ValidationError:
            raise MovizorUnavailable(
                f"{function}: answer envelope is malformed", function=function
            ) from None

    def _vendor_error(self, function: str, payload: Mapping[str, Any]) -> MovizorError:
        error = error_from_response(function, payload)
        if isinstance(error, MovizorAuthError):
            self.lock_auth()
            logger.error(
                "movizor %s: key rejected (%s); no further calls until reset_auth_lock()",
                function,
                error.vendor_text or error.code,
            )
        else:
            logger.info("movizor %s: error %s %s", function, error.code, error.vendor_text)
        return error

    def _budget_spent(self, function: str) -> MovizorLimitExceeded:
        return MovizorLimitExceeded(
            f"{function}: client-side budget of {self._hourly_limit} requests/hour spent",
            code="CLIENT_BUDGET",
            function=function,
        )


# --- parsing helpers ----------------------------------------------------------------------------


def _data(model: type[M]) -> Callable[[Envelope], M]:
    """Parse ``data`` as one ``model``."""

    def parse(envelope: Envelope) -> M:
        return model.model_validate(envelope.data)

    return parse


def _rows(model: type[M]) -> Callable[[Envelope], list[M]]:
    """Parse ``data`` as a list of ``model``; PHP's ``null``/``{}``/keyed objects included."""
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(envelope: Envelope) -> list[M]:
        data = envelope.data
        if data in (None, "", {}):
            data = []
        elif isinstance(data, dict):
            data = list(data.values())
        return adapter.validate_python(data)

    return parse


def _ack(model: type[M]) -> Callable[[Envelope], M]:
    """Parse the envelope itself (``code`` and ``message``) for writes without ``data``."""

    def parse(envelope: Envelope) -> M:
        return model.model_validate({"code": envelope.code, "message": envelope.message})

    return parse


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _object_params(
    phone: str,
    *,
    title: str | None,
    tags: str | Iterable[str] | None,
    dateoff: datetime | None,
    tariff: str | int | None,
    package_prolong: bool | None,
    destination: Sequence[RoutePoint] | None,
    schedule_days: Collection[int] | None,
    schedule_times: Sequence[str | time] | None,
    metadata: Mapping[str, str] | None,
    distance_text: str | None,
    distance_coord: tuple[float, float] | None,
) -> dict[str, FormValue]:
    """The parameters shared by ``object_add`` and ``object_edit``, in PHP form shape."""
    params: dict[str, FormValue] = {
        "phone": phone,
        "title": title,
        "tags": tags if isinstance(tags, str) or tags is None else ",".join(tags),
        "dateoff": format_moscow(dateoff, seconds=True) if dateoff else None,
        "tariff": tariff,
        "package_prolong": package_prolong,
        "distance_text": distance_text,
        "distance_coord": (
            f"{distance_coord[0]:.6f},{distance_coord[1]:.6f}" if distance_coord else None
        ),
        "destination": [point.to_form() for point in destination] if destination else None,
        "metadata": dict(metadata) if metadata else None,
    }
    for day in schedule_days or ():
        if not 1 <= day <= 7:
            raise ValueError(f"schedule day must be 1 (Monday) … 7 (Sunday), got {day}")
        params[f"sw{day}"] = True
    if schedule_times:
        params["st"] = [t.strftime("%H:%M") if isinstance(t, time) else t for t in schedule_times]
    return params
