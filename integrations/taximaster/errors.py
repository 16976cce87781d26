"""Taxi-Master errors: one exception class per kind of failure, one table row per code.

TMWeb always answers HTTP 200; the outcome is ``code``: 0 is success, 1–10 (and 13/14, known to
public clients) mean the same for every request (:data:`COMMON_ERRORS`), 100 and up mean
something different per request (:data:`REQUEST_ERRORS`, keyed by ``(request, code)``: 100 is
"order already exists" for ``create_order`` but "driver not found" for ``get_driver_info``).
Codes 8 and 9 name the missing or bad parameter in ``data``; the message then names it too.

:func:`error_from_response` turns an answer into the right exception; an unknown code still
gives a :class:`TaxiMasterError` carrying the vendor's ``descr``. Handlers catch by class and
show ``exc.user_message`` (ru) or ``exc.user_message_en``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from integrations.errors import (
    IntegrationDisabled,
    IntegrationError,
    RateLimited,
    UpstreamUnavailable,
)


class TaxiMasterError(IntegrationError):
    """Base of every Taxi-Master failure.

    ``request`` is the API request that failed, ``vendor_text`` TMWeb's ``descr``, ``param``
    the parameter TMWeb named (codes 8 and 9). ``retryable`` is true only where repeating a
    *read* is safe and may help (network errors, timeouts, garbled answers).
    """

    integration = "taximaster"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | int | None = None,
        user_message: str | None = None,
        user_message_en: str | None = None,
        request: str | None = None,
        vendor_text: str = "",
        param: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(
            detail,
            code=code,
            user_message=user_message,
            user_message_en=user_message_en,
            vendor_text=vendor_text,
            retryable=retryable,
        )
        self.request = request
        self.param = param


# --- below the API --------------------------------------------------------------------------


class TaxiMasterUnavailable(TaxiMasterError, UpstreamUnavailable):
    """Timeout, network or TLS error, HTTP error, or an answer that is not TMWeb's JSON."""

    default_message = "Такси-Мастер сейчас недоступен. Попробуйте через минуту."
    default_message_en = "Taxi-Master is unavailable right now. Please try again in a minute."


class TaxiMasterUnreachable(TaxiMasterUnavailable):
    """No connection could be made (refused, unreachable, TLS handshake, connect timeout): the
    request never left, so TMWeb did nothing with it."""


class TaxiMasterOrderUnknown(TaxiMasterError):
    """``create_order`` left but no answer came back (a timeout, a dropped connection, an HTTP
    error or a garbled answer after the request went out): the order may or may not exist.
    Nothing is re-sent on its own — the document does not say which parameters TMWeb's
    duplicate check (code 100) compares, for how long, or that it is switched on at all."""

    default_message = (
        "Такси-Мастер не ответил на заказ: неизвестно, создан ли он. "
        "Сам бот заказ повторно не отправит."
    )
    default_message_en = (
        "Taxi-Master did not answer the order: it is unknown whether it was created. "
        "The bot will not send it again by itself."
    )


class TaxiMasterOrderNotSent(TaxiMasterUnavailable):
    """``create_order`` could not be sent at all (no connection, our own request budget, the
    signature lock): no order was created."""

    default_message = "Заказ не отправлен: нет связи с Такси-Мастером. Заказ не создан."
    default_message_en = "The order was not sent: no connection to Taxi-Master. No order was made."


class TaxiMasterUnsupported(TaxiMasterError):
    """A request newer than the document that this TMWeb does not know (it answered code 6,
    "unknown request", or 14, "not available to this user"). The client remembers it."""

    default_message = "Эта версия TMWeb не умеет искать заказы по телефону."
    default_message_en = "This TMWeb version cannot look orders up by phone."


class TaxiMasterDisabled(TaxiMasterError, IntegrationDisabled):
    """The client refuses to call: the secret was rejected (code 4) until ``reset_auth_lock``."""

    default_message = (
        "Такси-Мастер отключён: сервис не принял секретный ключ. "
        "Администратору нужно проверить ключ и включить интеграцию снова."
    )
    default_message_en = (
        "Taxi-Master is switched off: the service rejected the secret key. "
        "An admin must check the key and resume the integration."
    )


class TaxiMasterRateLimited(TaxiMasterError, RateLimited):
    """Our own request budget for the TMWeb server is spent for now."""

    default_message = "Слишком много запросов к Такси-Мастеру. Попробуйте через минуту."
    default_message_en = "Too many requests to Taxi-Master. Please try again in a minute."


# --- common codes ---------------------------------------------------------------------------


class TaxiMasterUnknownError(TaxiMasterError):
    """Code 1: TMWeb could not say what went wrong."""


class TaxiMasterProtocolError(TaxiMasterError):
    """Codes 2, 5, 6, 7: TMWeb does not understand the request (wrong URL, version, method)."""


class TaxiMasterApiDisabled(TaxiMasterError):
    """Code 3: the API is switched off in the TMWeb settings of the dispatch service."""


class TaxiMasterSignatureError(TaxiMasterError):
    """Code 4: the secret key does not match. The client locks itself (see ``reset_auth_lock``)."""


class TaxiMasterBadParameter(TaxiMasterError):
    """Codes 8 and 9: a parameter is missing or malformed; ``param`` names it."""


class TaxiMasterMissingParameter(TaxiMasterBadParameter):
    """Code 8."""


class TaxiMasterInvalidParameter(TaxiMasterBadParameter):
    """Code 9."""


class TaxiMasterInternalError(TaxiMasterError):
    """Code 10: TMWeb failed while handling the request."""


class TaxiMasterAccessDenied(TaxiMasterError):
    """Codes 13/14 (public clients, not in the document): the ``X-User-Id`` user is unknown
    or may not use the API."""


# --- per-request codes ------------------------------------------------------------------------


class TaxiMasterNotFound(TaxiMasterError):
    """Something named in the request does not exist."""


class TaxiMasterOrderNotFound(TaxiMasterNotFound):
    pass


class TaxiMasterCrewNotFound(TaxiMasterNotFound):
    pass


class TaxiMasterDriverNotFound(TaxiMasterNotFound):
    pass


class TaxiMasterCarNotFound(TaxiMasterNotFound):
    pass


class TaxiMasterCoordsNotFound(TaxiMasterNotFound):
    pass


class TaxiMasterAddressesNotFound(TaxiMasterNotFound):
    """get_addresses_like found nothing: not a failure for a wizard, just "no match"."""


class TaxiMasterReferenceNotFound(TaxiMasterNotFound):
    """create_order / calc_order_cost: the tariff, crew group or UDS id does not exist."""


class TaxiMasterOrderExists(TaxiMasterError):
    """create_order code 100: an order with these parameters already exists.

    ``order_id`` is set when it is known (TMWeb put it in ``data``, or this client created it
    earlier); ``order_key`` identifies the parameters (see ``NewOrder.key``).
    """

    def __init__(
        self, detail: str = "", *, order_id: int | None = None, order_key: str = "", **kwargs: Any
    ) -> None:
        super().__init__(detail, **kwargs)
        self.order_id = order_id
        self.order_key = order_key


class TaxiMasterClientRefused(TaxiMasterError):
    """create_order 110–116 (public clients): the client is blocked or cannot pay this way."""


class TaxiMasterCostError(TaxiMasterError):
    """calc_order_cost: the tariff could not compute a price."""


class TaxiMasterRouteError(TaxiMasterError):
    """analyze_route: an address or the route between them was not recognised."""


# --- the tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorSpec:
    exc: type[TaxiMasterError]
    vendor_text: str  # TMWeb's own description (the simulator answers with it)
    ru: str
    en: str


def _spec(exc: type[TaxiMasterError], vendor_text: str, ru: str, en: str) -> ErrorSpec:
    return ErrorSpec(exc, vendor_text, ru, en)


_ADMIN = " Сообщите администратору."
_ADMIN_EN = " Please tell the administrator."

COMMON_ERRORS: Final[Mapping[int, ErrorSpec]] = MappingProxyType(
    {
        1: _spec(
            TaxiMasterUnknownError,
            "Неизвестная ошибка",
            "Такси-Мастер ответил неизвестной ошибкой. Попробуйте позже.",
            "Taxi-Master answered with an unknown error. Please try again later.",
        ),
        2: _spec(
            TaxiMasterProtocolError,
            "Неизвестный тип API",
            "Такси-Мастер не узнал тип API: проверьте адрес сервера." + _ADMIN,
            "Taxi-Master did not recognise the API type: check the server address." + _ADMIN_EN,
        ),
        3: _spec(
            TaxiMasterApiDisabled,
            "API отключено в настройках TMWeb",
            "API выключено в настройках TMWeb диспетчерской. Его нужно включить в ТМ2." + _ADMIN,
            "The API is switched off in the dispatch service's TMWeb settings; it must be "
            "enabled in TM2." + _ADMIN_EN,
        ),
        4: _spec(
            TaxiMasterSignatureError,
            "Не совпадает секретный ключ",
            "Такси-Мастер не принял секретный ключ: запросы остановлены до проверки ключа."
            + _ADMIN,
            "Taxi-Master rejected the secret key: requests are stopped until the key is "
            "checked." + _ADMIN_EN,
        ),
        5: _spec(
            TaxiMasterProtocolError,
            "Неподдерживаемая версия API",
            "Эта версия TMWeb не поддерживает API 1.0." + _ADMIN,
            "This TMWeb does not support API 1.0." + _ADMIN_EN,
        ),
        6: _spec(
            TaxiMasterProtocolError,
            "Неизвестное название запроса",
            "Эта версия TMWeb не знает такого запроса." + _ADMIN,
            "This TMWeb does not know this request." + _ADMIN_EN,
        ),
        7: _spec(
            TaxiMasterProtocolError,
            "Неверный тип запроса GET/POST",
            "Такси-Мастер ожидал запрос другого типа (GET/POST)." + _ADMIN,
            "Taxi-Master expected the other request type (GET/POST)." + _ADMIN_EN,
        ),
        8: _spec(
            TaxiMasterMissingParameter,
            "Не хватает входного параметра",
            "Такси-Мастеру не хватает параметра «{param}»{raw}.",
            "Taxi-Master is missing the parameter “{param}”{raw}.",
        ),
        9: _spec(
            TaxiMasterInvalidParameter,
            "Некорректный входной параметр",
            "Такси-Мастер не принял значение параметра «{param}»{raw}.",
            "Taxi-Master refused the value of the parameter “{param}”{raw}.",
        ),
        10: _spec(
            TaxiMasterInternalError,
            "Внутренняя ошибка обработки запроса",
            "Внутренняя ошибка Такси-Мастера. Попробуйте позже.",
            "Taxi-Master had an internal error. Please try again later.",
        ),
        13: _spec(
            TaxiMasterAccessDenied,
            "Пользователь не найден",
            "Пользователь TMWeb из настройки X-User-Id не найден." + _ADMIN,
            "The TMWeb user set as X-User-Id was not found." + _ADMIN_EN,
        ),
        14: _spec(
            TaxiMasterAccessDenied,
            "Пользователю запрещён доступ",
            "Пользователю TMWeb из настройки X-User-Id запрещён доступ к API." + _ADMIN,
            "The TMWeb user set as X-User-Id may not use the API." + _ADMIN_EN,
        ),
    }
)

_PAYMENT_RU = "Такси-Мастер не принял заказ: {why}. Уточните у диспетчерской."
_PAYMENT_EN = "Taxi-Master refused the order: {why}. Please check with the dispatch service."

REQUEST_ERRORS: Final[Mapping[tuple[str, int], ErrorSpec]] = MappingProxyType(
    {
        # create_order: 100 is documented; 101–103 and 110–116 are known to public clients.
        ("create_order", 100): _spec(
            TaxiMasterOrderExists,
            "Заказ с такими параметрами уже создан",
            "Такой заказ уже создан (тот же телефон, адрес и время подачи): второй не оформлен.",
            "This order already exists (same phone, address and pickup time): "
            "no second one was placed.",
        ),
        ("create_order", 101): _spec(
            TaxiMasterReferenceNotFound,
            "Тариф не найден",
            "Тариф заказа не найден в Такси-Мастере.",
            "The order's tariff was not found in Taxi-Master.",
        ),
        ("create_order", 102): _spec(
            TaxiMasterReferenceNotFound,
            "Группа экипажа не найдена",
            "Выбранная группа экипажей не найдена в Такси-Мастере. Выберите другую.",
            "The chosen crew group was not found in Taxi-Master. Choose another one.",
        ),
        ("create_order", 103): _spec(
            TaxiMasterReferenceNotFound,
            "Служба ЕДС не найдена",
            "Служба ЕДС не найдена в Такси-Мастере.",
            "The UDS service was not found in Taxi-Master.",
        ),
        ("create_order", 110): _spec(
            TaxiMasterClientRefused,
            "Клиент заблокирован",
            _PAYMENT_RU.format(why="клиент заблокирован"),
            _PAYMENT_EN.format(why="the client is blocked"),
        ),
        ("create_order", 111): _spec(
            TaxiMasterClientRefused,
            "Не найден клиент, который может использовать собственный счет для оплаты заказов",
            _PAYMENT_RU.format(why="нет клиента, который может платить со своего счёта"),
            _PAYMENT_EN.format(why="no client may pay from its own account"),
        ),
        ("create_order", 114): _spec(
            TaxiMasterClientRefused,
            "Недостаточно средств на безналичном счете клиента в ТМ",
            _PAYMENT_RU.format(why="на безналичном счёте клиента не хватает денег"),
            _PAYMENT_EN.format(why="the client's account lacks funds"),
        ),
        ("create_order", 115): _spec(
            TaxiMasterClientRefused,
            "Отрицательный баланс на безналичном счете клиента в ТМ",
            _PAYMENT_RU.format(why="баланс безналичного счёта клиента отрицательный"),
            _PAYMENT_EN.format(why="the client's account balance is negative"),
        ),
        ("create_order", 116): _spec(
            TaxiMasterClientRefused,
            "Для клиента запрещена оплата заказа наличными",
            _PAYMENT_RU.format(why="клиенту запрещена оплата наличными"),
            _PAYMENT_EN.format(why="the client may not pay cash"),
        ),
        # calc_order_cost: the document's table lost its code column ("Тариф не найден |
        # Ошибка при расчете по тарифу"); read as 100 and 101.
        ("calc_order_cost", 100): _spec(
            TaxiMasterReferenceNotFound,
            "Тариф не найден",
            "Тариф для расчёта не найден в Такси-Мастере.",
            "The tariff for the calculation was not found in Taxi-Master.",
        ),
        ("calc_order_cost", 101): _spec(
            TaxiMasterCostError,
            "Ошибка при расчете по тарифу",
            "Такси-Мастер не смог рассчитать стоимость по тарифу.",
            "Taxi-Master could not compute the price with this tariff.",
        ),
        # get_crew_info: its section is lost in the document; 100 like its siblings.
        ("get_crew_info", 100): _spec(
            TaxiMasterCrewNotFound,
            "Экипаж не найден",
            "Экипаж не найден в Такси-Мастере.",
            "The crew was not found in Taxi-Master.",
        ),
        ("get_driver_info", 100): _spec(
            TaxiMasterDriverNotFound,
            "Водитель не найден",
            "Водитель не найден в Такси-Мастере.",
            "The driver was not found in Taxi-Master.",
        ),
        ("get_car_info", 100): _spec(
            TaxiMasterCarNotFound,
            "Автомобиль не найден",
            "Автомобиль не найден в Такси-Мастере.",
            "The car was not found in Taxi-Master.",
        ),
        ("get_crews_coords", 100): _spec(
            TaxiMasterCoordsNotFound,
            "Координаты не найдены",
            "Координаты экипажей пока неизвестны.",
            "No crew coordinates are known yet.",
        ),
        ("get_addresses_like", 100): _spec(
            TaxiMasterAddressesNotFound,
            "Подходящие адреса не найдены",
            "Таких адресов не нашлось. Введите название иначе.",
            "No such addresses were found. Try typing the name differently.",
        ),
        ("analyze_route", 100): _spec(
            TaxiMasterRouteError,
            "Адрес подачи не распознан",
            "Такси-Мастер не распознал адрес подачи.",
            "Taxi-Master did not recognise the pickup address.",
        ),
        ("analyze_route", 101): _spec(
            TaxiMasterRouteError,
            "Адрес назначения не распознан",
            "Такси-Мастер не распознал адрес назначения.",
            "Taxi-Master did not recognise the destination address.",
        ),
        ("analyze_route", 102): _spec(
            TaxiMasterRouteError,
            "Маршрут не распознан",
            "Такси-Мастер не смог построить маршрут между этими адресами.",
            "Taxi-Master could not build a route between these addresses.",
        ),
        ("get_order_state", 100): _spec(
            TaxiMasterOrderNotFound,
            "Заказ не найден",
            "Заказ не найден в Такси-Мастере.",
            "The order was not found in Taxi-Master.",
        ),
    }
)

# Parameter names as a dispatcher knows them, for codes 8 and 9.
PARAM_NAMES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "phone": ("телефон", "phone"),
        "source": ("адрес подачи", "pickup address"),
        "source_time": ("время подачи", "pickup time"),
        "dest": ("адрес назначения", "destination"),
        "customer": ("заказчик", "customer"),
        "comment": ("комментарий", "comment"),
        "crew_group_id": ("группа экипажей", "crew group"),
        "uds_id": ("служба ЕДС", "UDS service"),
        "tariff_id": ("тариф", "tariff"),
        "order_id": ("номер заказа", "order number"),
        "crew_id": ("экипаж", "crew"),
        "driver_id": ("водитель", "driver"),
        "car_id": ("автомобиль", "car"),
        "street": ("улица", "street"),
        "house": ("дом", "house"),
        "distance_city": ("километраж по городу", "city distance"),
        "distance_country": ("километраж за городом", "country distance"),
        "services": ("услуги", "services"),
        "discount_id": ("скидка", "discount"),
    }
)

_UNKNOWN_RU = (
    "Такси-Мастер ответил ошибкой (код {code}). Попробуйте позже или сообщите администратору."
)
_UNKNOWN_EN = (
    "Taxi-Master answered with an error (code {code}). Try later or tell the administrator."
)


def lookup(request: str, code: int) -> ErrorSpec | None:
    """The meaning of ``code`` for ``request``, or ``None`` if no table knows it."""
    return REQUEST_ERRORS.get((request, code)) or COMMON_ERRORS.get(code)


def documented_codes(request: str) -> list[int]:
    """Every code ``request`` may answer with: the common ones and its own."""
    own = [code for name, code in REQUEST_ERRORS if name == request]
    return sorted(set(COMMON_ERRORS) | set(own))


def param_from_data(data: Any) -> str | None:
    """The parameter TMWeb named in ``data`` for codes 8/9. The document does not show the
    shape, so accept ``"phone"``, ``{"param": "phone"}`` (any key) and ``["phone"]``."""
    if isinstance(data, str):
        return data.strip() or None
    if isinstance(data, Mapping):
        for key in ("param", "parameter", "param_name", "name", "field"):
            if isinstance(data.get(key), str) and data[key].strip():
                return str(data[key]).strip()
        texts = [value for value in data.values() if isinstance(value, str) and value.strip()]
        return texts[0].strip() if len(texts) == 1 else None
    if isinstance(data, list) and data and isinstance(data[0], str):
        return data[0].strip() or None
    return None


def error_from_response(request: str, code: int, descr: str, data: Any) -> TaxiMasterError:
    """The exception for a non-zero ``code`` answered to ``request``.

    Its text holds the request, the code, TMWeb's ``descr`` and a parameter name: never
    anything of the secret or the signature.
    """
    spec = lookup(request, code)
    param = param_from_data(data) if code in (8, 9) else None
    detail = f"{request}: {descr}" if descr else request
    if param:
        detail += f" (param {param})"
    if spec is None:
        return TaxiMasterError(
            detail,
            code=code,
            user_message=_UNKNOWN_RU.format(code=code),
            user_message_en=_UNKNOWN_EN.format(code=code),
            request=request,
            vendor_text=descr,
        )
    ru, en = spec.ru, spec.en
    if "{param}" in ru:
        if param:
            ru_name, en_name = PARAM_NAMES.get(param, (param, param))
            raw = f" ({param})" if param in PARAM_NAMES else ""
            ru, en = ru.format(param=ru_name, raw=raw), en.format(param=en_name, raw=raw)
        else:  # TMWeb did not name it: say so without an empty name
            ru = ru.replace(" «{param}»{raw}", " запроса")
            en = en.replace(" “{param}”{raw}", " of the request")
    return spec.exc(
        detail,
        code=code,
        user_message=ru,
        user_message_en=en,
        request=request,
        vendor_text=descr,
        param=param,
    )
