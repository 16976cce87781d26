"""Async client for TMWeb common_api 1.0: one method per documented request.

Every call goes through :meth:`TaxiMasterClient._send_once`, where the policies live:

* **URL and method.** ``{base_url}/common_api/1.0/<request>``; reads are ``GET`` with the
  parameters in the query string, ``create_order`` is a ``POST`` with an urlencoded body
  (:data:`~integrations.taximaster.requests.REQUESTS`).
* **Signature.** The parameters are encoded once; the very same string is sent and signed
  (``md5(params + secret)``, :func:`~integrations.taximaster.wire.sign`).
* **Outcome.** HTTP is always 200; ``code`` 0 is success, anything else a typed exception
  (:mod:`integrations.taximaster.errors`).
* **Charset.** The answer is decoded by the charset its ``Content-Type`` declares (TMWeb is a
  Windows program: ``windows-1251`` happens); undeclared, UTF-8, else Windows-1251.
* **Timeouts** on every request; **retries** (tenacity) for reads only, after network errors,
  timeouts, HTTP errors and answers that are not TMWeb's JSON.
* **create_order is sent once, never again on its own**: see
  :meth:`TaxiMasterClient.create_order`.
* **Optional requests.** ``get_current_orders`` is newer than the document: the first call
  finds out whether this server has it and the answer is remembered
  (:attr:`TaxiMasterClient.current_orders_supported`).
* **Signature lock.** After code 4 the client stops calling: later calls raise
  :class:`TaxiMasterDisabled` without a request until :meth:`reset_auth_lock`.
* **Budget.** ``requests_per_second`` for the dispatch service's server; a call that would wait
  longer than ``max_rate_wait`` raises :class:`TaxiMasterRateLimited`.
* **Secrets.** The secret never travels (only an md5 does) and never appears in an exception
  or a log line; httpx errors are not chained.
* **Metrics.** :attr:`stats` counts calls, errors and retries per request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import httpx
from aiolimiter import AsyncLimiter
from pydantic import BaseModel, TypeAdapter, ValidationError

from integrations.http import ClientStats, VendorClient
from integrations.taximaster.crews import CrewDirectory
from integrations.taximaster.errors import (
    TaxiMasterAccessDenied,
    TaxiMasterAddressesNotFound,
    TaxiMasterCoordsNotFound,
    TaxiMasterDisabled,
    TaxiMasterError,
    TaxiMasterOrderExists,
    TaxiMasterOrderNotSent,
    TaxiMasterOrderUnknown,
    TaxiMasterProtocolError,
    TaxiMasterRateLimited,
    TaxiMasterSignatureError,
    TaxiMasterUnavailable,
    TaxiMasterUnreachable,
    TaxiMasterUnsupported,
    error_from_response,
)
from integrations.taximaster.models import (
    MOSCOW,
    Address,
    CarInfo,
    CreatedOrder,
    CrewCoords,
    CrewInfo,
    CurrentOrder,
    DriverInfo,
    Envelope,
    NamedItem,
    OrderCost,
    OrderState,
    PricedItem,
    RouteAnalysis,
    Tariff,
)
from integrations.taximaster.orders import NewOrder
from integrations.taximaster.requests import READ_REQUESTS, REQUESTS, Method
from integrations.taximaster.tls import build_ssl_context
from integrations.taximaster.wire import WireValue, encode_params, sign

__all__ = ["API_PATH", "NewOrder", "TaxiMasterClient"]

logger = logging.getLogger("integrations.taximaster")

API_PATH: Final = "/common_api/1.0"
# Codes with which a server says it does not have a request (or not for this X-User-Id).
UNSUPPORTED_CODES: Final = frozenset({6, 14})

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class TaxiMasterClient(VendorClient):
    """One TMWeb server. Use ``async with`` or call :meth:`aclose`.

    ``tz`` is the dispatch service's zone: TMWeb times (``source_time``, ``coords_time``) are
    its local times. ``user_id`` is sent as ``X-User-Id`` when the server wants one.
    """

    service = "taximaster"

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        verify_tls: bool = True,
        ca_file: str | Path | None = None,
        legacy_tls: bool = False,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        requests_per_second: float = 20.0,
        max_rate_wait: float = 10.0,
        user_id: int | None = None,
        tz: ZoneInfo = MOSCOW,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url or not secret:
            raise ValueError("Taxi-Master base URL and secret are required")
        self._base_url = base_url.rstrip("/")
        if self._base_url.endswith(API_PATH):
            self._base_url = self._base_url[: -len(API_PATH)]
        self._secret = secret
        self._timeout = timeout
        self._max_rate_wait = max_rate_wait
        self._rps = requests_per_second
        self._limiter = AsyncLimiter(requests_per_second, 1.0)
        self.tz = tz
        super().__init__(secret=self._secret, retries=retries, backoff=backoff)
        # get_current_orders: None until the server was asked; then whether it has it
        self.current_orders_supported: bool | None = None
        # Who each crew is (call sign, car, driver), read once and kept a while
        self.crews = CrewDirectory(self)
        headers = {"User-Agent": "logibot-taximaster/1", "Accept": "application/json"}
        if user_id is not None:
            headers["X-User-Id"] = str(user_id)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=build_ssl_context(verify_tls=verify_tls, ca_file=ca_file, legacy_tls=legacy_tls),
            follow_redirects=False,
            headers=headers,
        )
        self.stats = ClientStats()

    def __repr__(self) -> str:
        return f"TaxiMasterClient({self._base_url!r}, secret=***)"

    # --- signature lock ---------------------------------------------------------------------

    # --- directories --------------------------------------------------------------------------

    async def ping(self) -> None:
        """Is TMWeb there? (It checks neither the secret nor the version for a ping.)"""
        await self._call("ping", {}, _ignore)

    async def get_crew_groups_list(self) -> list[NamedItem]:
        return await self._call("get_crew_groups_list", {}, _rows("crew_groups", NamedItem))

    async def get_uds_list(self) -> list[NamedItem]:
        return await self._call("get_uds_list", {}, _rows("uds", NamedItem))

    async def get_tariffs_list(self) -> list[Tariff]:
        """Every tariff; ``Tariff.active`` is False for one the server marks switched off."""
        return await self._call("get_tariffs_list", {}, _rows("tariffs", Tariff))

    async def get_services_list(self) -> list[PricedItem]:
        return await self._call("get_services_list", {}, _rows("services", PricedItem))

    async def get_discounts_list(self) -> list[PricedItem]:
        # The table names the list "services", the example "discounts": accept both.
        return await self._call(
            "get_discounts_list", {}, _rows(("discounts", "services"), PricedItem)
        )

    # --- orders -------------------------------------------------------------------------------

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        """Send ``order`` ONCE. Never re-sent here, whatever the network does.

        * TMWeb answered: the new order (code 0), or its error — :class:`TaxiMasterOrderExists`
          for code 100 (``order_id`` set only if TMWeb named it), others by the code tables.
          Nothing was created on an error but 100.
        * The request never left (no connection, our own budget, the signature lock):
          :class:`TaxiMasterOrderNotSent` (or the lock's / budget's own error) — no order.
        * It left and no usable answer came back: :class:`TaxiMasterOrderUnknown`. The order
          may exist; the caller finds out (:meth:`get_current_orders` where the server has it)
          or asks the person, before anything is sent again.
        """
        request = "create_order"
        self.stats.calls[request] += 1
        try:
            envelope = await self._send_create(request, order.body(self.tz))
            data = envelope.data if isinstance(envelope.data, dict) else {}
            if envelope.code != 0:
                error = self._vendor_error(request, envelope)
                if isinstance(error, TaxiMasterOrderExists):
                    error.order_id = _int_or_none(data.get("order_id"))
                raise error
            created = _created(data)
            if created is None:  # made, but without a readable id: as good as no answer
                raise TaxiMasterOrderUnknown(
                    f"{request}: code 0 without a readable order_id", request=request
                )
            return created
        except TaxiMasterError:
            self.stats.errors[request] += 1
            raise

    async def _send_create(self, request: str, body: str) -> Envelope:
        """One send; below-the-API failures sorted into "never left" and "left, unanswered".
        (Raised outside the ``except`` blocks, so no httpx error rides along as context.)"""
        failure: TaxiMasterError
        try:
            return await self._send_once(request, body)
        except TaxiMasterUnreachable as exc:
            failure = TaxiMasterOrderNotSent(f"{request}: not sent ({exc.detail})", request=request)
        except (TaxiMasterDisabled, TaxiMasterRateLimited):
            raise  # refused before sending: nothing left
        except TaxiMasterUnavailable as exc:
            logger.warning("taximaster create_order: sent, no answer (%s)", exc.detail)
            failure = TaxiMasterOrderUnknown(
                f"{request}: sent, no answer ({exc.detail})", code=exc.code, request=request
            )
        raise failure

    async def calc_order_cost(
        self,
        tariff_id: int,
        *,
        source_time: datetime | None = None,
        is_prior: bool | None = None,
        client_id: int | None = None,
        discount_id: int | None = None,
        disc_card_id: int | None = None,
        source_zone_id: int | None = None,
        dest_zone_id: int | None = None,
        distance_city: float | None = None,
        distance_country: float | None = None,
        source_distance_country: float | None = None,
        is_country: bool | None = None,
        waiting_minutes: int | None = None,
        is_hourly: bool | None = None,
        hourly_minutes: int | None = None,
        is_prize: bool | None = None,
        back_way: bool | None = None,
        services: Iterable[int] | None = None,
    ) -> OrderCost:
        """The price of an order with ``tariff_id`` and its breakdown (``info``)."""
        params: dict[str, WireValue] = {
            "tariff_id": tariff_id,
            "source_time": source_time,
            "is_prior": is_prior,
            "client_id": client_id,
            "discount_id": discount_id,
            "disc_card_id": disc_card_id,
            "source_zone_id": source_zone_id,
            "dest_zone_id": dest_zone_id,
            "distance_city": distance_city,
            "distance_country": distance_country,
            "source_distance_country": source_distance_country,
            "is_country": is_country,
            "waiting_minutes": waiting_minutes,
            "is_hourly": is_hourly,
            "hourly_minutes": hourly_minutes,
            "is_prize": is_prize,
            "back_way": back_way,
            "services": list(services) if services else None,
        }
        return await self._call("calc_order_cost", params, _model(OrderCost))

    async def estimate_cost(
        self,
        source: str,
        dest: str,
        tariff_id: int,
        *,
        source_time: datetime | None = None,
        services: Iterable[int] | None = None,
        discount_id: int | None = None,
    ) -> tuple[RouteAnalysis, OrderCost]:
        """``analyze_route`` then ``calc_order_cost`` with its kilometres and zones (2 calls)."""
        route = await self.analyze_route(source, dest)
        cost = await self.calc_order_cost(
            tariff_id,
            source_time=source_time,
            source_zone_id=route.source_zone_id,
            dest_zone_id=route.dest_zone_id,
            distance_city=round(route.city_dist, 3),
            distance_country=round(route.country_dist, 3),
            source_distance_country=round(route.source_country_dist, 3) or None,
            is_country=route.country_dist > 0,
            services=services,
            discount_id=discount_id,
        )
        return route, cost

    async def get_order_state(self, order_id: int) -> OrderState:
        return await self._call("get_order_state", {"order_id": order_id}, _model(OrderState))

    async def get_current_orders(self, *, phone: str | None = None) -> list[CurrentOrder]:
        """The dispatch service's current (not yet finished) orders, of one ``phone`` or all.

        Newer TMWeb only (not in the document). The first call finds out: a server that does
        not know it answers code 6 (or 14: not for this user), and from then on the client
        raises :class:`TaxiMasterUnsupported` without a request. A server that has it is
        remembered as such (:attr:`current_orders_supported`).
        """
        request = "get_current_orders"
        if self.current_orders_supported is False:
            raise TaxiMasterUnsupported(f"{request}: this server does not have it", request=request)
        try:
            rows = await self._call(request, {"phone": phone}, _rows("orders", CurrentOrder))
        except (TaxiMasterProtocolError, TaxiMasterAccessDenied) as exc:
            if exc.code not in UNSUPPORTED_CODES:
                raise
            logger.info(
                "taximaster: %s not available here (code %s), remembered", request, exc.code
            )
            self.current_orders_supported = False
            raise TaxiMasterUnsupported(
                f"{request}: code {exc.code}", code=exc.code, request=request
            ) from None
        self.current_orders_supported = True
        return rows

    # --- crews ----------------------------------------------------------------------------------

    async def get_crew_info(self, crew_id: int) -> CrewInfo:
        return await self._call("get_crew_info", {"crew_id": crew_id}, _model(CrewInfo))

    async def get_driver_info(self, driver_id: int, *, need_photo: bool = False) -> DriverInfo:
        params: dict[str, WireValue] = {"driver_id": driver_id, "need_photo": need_photo}
        return await self._call("get_driver_info", params, _model(DriverInfo))

    async def get_car_info(self, car_id: int, *, need_photo: bool = False) -> CarInfo:
        params: dict[str, WireValue] = {"car_id": car_id, "need_photo": need_photo}
        return await self._call("get_car_info", params, _model(CarInfo))

    async def get_crews_coords(self, crew_id: int | None = None) -> list[CrewCoords]:
        """Coordinates of one crew, or of every crew on line. "No coordinates" (100) is an empty
        list for all crews and :class:`TaxiMasterCoordsNotFound` for one crew."""
        try:
            return await self._call(
                "get_crews_coords", {"crew_id": crew_id}, _rows("crews_coords", CrewCoords)
            )
        except TaxiMasterCoordsNotFound:
            if crew_id is None:
                return []
            raise

    # --- addresses ------------------------------------------------------------------------------

    async def get_addresses_like(
        self,
        street: str,
        *,
        get_streets: bool = True,
        get_points: bool = True,
        get_houses: bool = False,
        house: str | None = None,
        max_addresses_count: int | None = None,
    ) -> list[Address]:
        """Streets and points whose name contains ``street``; or, with ``get_houses``, the
        houses of the street named exactly ``street`` starting with ``house``. Nothing found
        (100) is an empty list."""
        if get_houses and (get_streets or get_points):
            raise ValueError("get_houses cannot be combined with get_streets or get_points")
        params: dict[str, WireValue] = {
            "get_streets": get_streets,
            "get_points": get_points,
            "get_houses": get_houses,
            "street": street,
            "house": house if get_houses else None,
            "max_addresses_count": max_addresses_count,
        }
        try:
            return await self._call("get_addresses_like", params, _rows("addresses", Address))
        except TaxiMasterAddressesNotFound:
            return []

    async def find_houses(
        self, street: str, house: str = "", *, max_addresses_count: int | None = None
    ) -> list[Address]:
        """The houses of ``street`` (its full name) whose number starts with ``house``."""
        return await self.get_addresses_like(
            street,
            get_streets=False,
            get_points=False,
            get_houses=True,
            house=house,
            max_addresses_count=max_addresses_count,
        )

    async def analyze_route(self, source: str, dest: str) -> RouteAnalysis:
        """Coordinates, zones and kilometres (city / country) of a trip."""
        return await self._call(
            "analyze_route", {"source": source, "dest": dest}, _model(RouteAnalysis)
        )

    # --- the one place that talks HTTP ----------------------------------------------------------

    async def _call(
        self, request: str, params: Mapping[str, WireValue], parse: Callable[[Any, ZoneInfo], T]
    ) -> T:
        self.stats.calls[request] += 1
        try:
            encoded = encode_params(params, self.tz)
            envelope = await self._send_with_retries(request, encoded)
            if envelope.code != 0:
                raise self._vendor_error(request, envelope)
            try:
                return parse(envelope.data, self.tz)
            except (ValidationError, TypeError, ValueError) as exc:
                count = exc.error_count() if isinstance(exc, ValidationError) else 1
                raise TaxiMasterUnavailable(
                    f"{request}: answer does not match the documented format ({count} errors)",
                    request=request,
                ) from None
        except TaxiMasterError:
            self.stats.errors[request] += 1
            raise

    async def _send_with_retries(self, request: str, encoded: str) -> Envelope:
        return await self._retrying(
            request, lambda: self._send_once(request, encoded), read=request in READ_REQUESTS
        )

    async def _send_once(self, request: str, encoded: str) -> Envelope:
        """One HTTP exchange: ``encoded`` is sent and signed as it is. Returns the envelope
        whatever its ``code``; raises only below the API (and for the signature lock)."""
        if self.auth_locked:
            raise TaxiMasterDisabled(
                f"{request}: not called, the secret was rejected earlier",
                code="AUTH_LOCKED",
                request=request,
            )
        await self._acquire_budget(request)
        response = await self._transport(request, encoded)
        logger.debug("taximaster %s -> HTTP %s", request, response.status_code)
        return self._envelope(request, response)

    async def _transport(self, request: str, encoded: str) -> httpx.Response:
        """httpx errors become :class:`TaxiMasterUnavailable`, raised outside the ``except``
        block on purpose so the httpx exception never rides along as ``__context__``."""
        url = f"{self._base_url}{API_PATH}/{request}"
        headers = {"Signature": sign(encoded, self._secret)}
        try:
            if REQUESTS[request].method is Method.GET:
                return await self._http.get(f"{url}?{encoded}" if encoded else url, headers=headers)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return await self._http.post(url, content=encoded.encode("ascii"), headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # No connection was made: the request never left.
            reason = f"no connection ({type(exc).__name__}: {self._redact(str(exc))})"
            unreached = True
        except httpx.TimeoutException:
            reason, unreached = f"timed out after {self._timeout}s", False
        except httpx.HTTPError as exc:
            reason = f"network error {type(exc).__name__}: {self._redact(str(exc))}"
            unreached = False
        logger.warning("taximaster %s: %s", request, reason)
        error = TaxiMasterUnreachable if unreached else TaxiMasterUnavailable
        raise error(f"{request}: {reason}", request=request, retryable=True)

    def _envelope(self, request: str, response: httpx.Response) -> Envelope:
        status = response.status_code
        if status != 200:  # TMWeb always answers 200; anything else is a proxy or a crash
            logger.warning("taximaster %s: HTTP %s", request, status)
            raise TaxiMasterUnavailable(
                f"{request}: HTTP {status}", code=status, request=request, retryable=True
            )
        try:
            payload = json.loads(_decoded(response))
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "code" not in payload:
            kind = "not JSON" if payload is None else "not a TMWeb answer"
            logger.warning("taximaster %s: answer is %s", request, kind)
            raise TaxiMasterUnavailable(
                f"{request}: answer is {kind}", request=request, retryable=True
            )
        try:
            return Envelope.model_validate(payload)
        except ValidationError:
            raise TaxiMasterUnavailable(
                f"{request}: answer envelope is malformed", request=request, retryable=True
            ) from None

    def _vendor_error(self, request: str, envelope: Envelope) -> TaxiMasterError:
        error = error_from_response(request, envelope.code, envelope.descr, envelope.data)
        if isinstance(error, TaxiMasterSignatureError):
            self.lock_auth()
            logger.error(
                "taximaster %s: secret rejected (code 4); no further calls until reset_auth_lock()",
                request,
            )
        else:
            logger.info("taximaster %s: code %s %s", request, envelope.code, envelope.descr)
        return error

    def _budget_spent(self, request: str) -> TaxiMasterRateLimited:
        return TaxiMasterRateLimited(
            f"{request}: client-side budget of {self._rps} requests/s spent",
            code="CLIENT_BUDGET",
            request=request,
        )


# --- parsing helpers ------------------------------------------------------------------------------


def _ignore(data: Any, tz: ZoneInfo) -> None:
    return None


def _decoded(response: httpx.Response) -> str:
    """The body as text: by its declared charset (httpx reads ``Content-Type``); undeclared,
    UTF-8 if it is valid UTF-8, else Windows-1251 (TMWeb's own code page)."""
    if response.charset_encoding:
        return response.text
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError:
        return response.content.decode("cp1251", errors="replace")


def _created(data: dict[str, Any]) -> CreatedOrder | None:
    try:
        return CreatedOrder.model_validate(data)
    except ValidationError:
        return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        return None


def _model(model: type[M]) -> Callable[[Any, ZoneInfo], M]:
    def parse(data: Any, tz: ZoneInfo) -> M:
        return model.model_validate(data if isinstance(data, dict) else {}, context={"tz": tz})

    return parse


def _rows(names: str | tuple[str, ...], model: type[M]) -> Callable[[Any, ZoneInfo], list[M]]:
    """``data[name]`` as a list of ``model``; ``null``/``{}``/keyed objects included."""
    keys = (names,) if isinstance(names, str) else names
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(data: Any, tz: ZoneInfo) -> list[M]:
        rows: Any = None
        if isinstance(data, dict):
            rows = next((data[key] for key in keys if key in data), None)
        elif isinstance(data, list):
            rows = data
        if rows in (None, "", {}):
            rows = []
        elif isinstance(rows, dict):
            rows = list(rows.values())
        return adapter.validate_python(rows, context={"tz": tz})

    return parse
