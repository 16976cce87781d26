"""Movizor errors: one exception class per kind of failure, one table row per documented code.

Movizor numbers its errors per function: ``error_code`` "2" means "not confirmed" in
``pos_request`` but "date in the past" in ``object_add``. So the table :data:`ERRORS` is keyed by
``(function, code)`` and gives the exception class, the vendor's own English text (the simulator
answers with it) and the sentences a dispatcher sees. Codes may also be words
(``ACCESS_DENIED``, seen in the wild for a refused key): those are in :data:`WORD_ERRORS` and
apply to every function. :func:`error_from_response` turns an error answer into the right
exception; an unknown code still gives a :class:`MovizorError` carrying the vendor's text.

Handlers catch by class (``except MovizorNotConfirmed``) and show ``exc.user_message``.
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


class MovizorError(IntegrationError):
    """Base of every Movizor failure.

    ``function`` is the API function that failed, ``vendor_text`` the vendor's ``error_text``.
    ``retryable`` is true only for failures where repeating a *read* is safe and may help
    (network errors, timeouts, 5xx, garbled answers); the client retries nothing else.
    """

    integration = "movizor"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | int | None = None,
        user_message: str | None = None,
        user_message_en: str | None = None,
        function: str | None = None,
        vendor_text: str = "",
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
        self.function = function


# --- transport-level failures (also catchable as the shared integration errors) ----------------


class MovizorUnavailable(MovizorError, UpstreamUnavailable):
    """Timeout, network error, HTTP error or an answer that is not Movizor's JSON."""


class MovizorDisabled(MovizorError, IntegrationDisabled):
    """The client refuses to call: the key was rejected earlier (see ``reset_auth_lock``)."""

    default_message = (
        "Movizor отключён: сервис не принял ключ API. Администратору нужно проверить ключ."
    )
    default_message_en = (
        "Movizor is switched off: the service rejected the API key. An admin must check the key."
    )


class MovizorLimitExceeded(MovizorError, RateLimited):
    """The hourly request budget is spent (Movizor's 5000/hour, or our own lower budget)."""

    default_message = "Исчерпан часовой лимит запросов к Movizor. Попробуйте позже."
    default_message_en = "The hourly Movizor request limit is used up. Please try again later."


# --- account-wide -----------------------------------------------------------------------------


class MovizorAuthError(MovizorError):
    """Wrong project or key, or the key is blocked after too many wrong attempts this hour."""


# --- objects (tracked phones) -------------------------------------------------------------------


class MovizorNotFound(MovizorError):
    """Something named in the request does not exist on the account."""


class MovizorObjectNotFound(MovizorNotFound):
    """The phone is not on the account (or, for share_add, not active)."""


class MovizorRequestNotFound(MovizorNotFound):
    """The position request id (or its phone) is unknown."""


class MovizorShareNotFound(MovizorNotFound):
    """The client share link does not exist or was deleted."""


class MovizorInvalidPhone(MovizorError):
    """The phone number is not a valid MSISDN."""


class MovizorInvalidArgument(MovizorError):
    """A parameter we sent was refused; the bot's input checks should have caught it."""


class MovizorInvalidDateoff(MovizorInvalidArgument):
    """The auto-off date is in the past or less than a day ahead."""


class MovizorInvalidRoute(MovizorInvalidArgument):
    """The route end point has a name but no coordinates."""


class MovizorInvalidSchedule(MovizorInvalidArgument):
    """A schedule time is not hh:mm."""


class MovizorMissingArgument(MovizorInvalidArgument):
    """A required parameter was not sent."""


class MovizorTooManyUnconfirmed(MovizorError):
    """Too many phones on the account have not confirmed yet."""


class MovizorPhoneExists(MovizorError):
    """The phone is already on this account."""


class MovizorPhoneTaken(MovizorError):
    """The phone is tracked by another Movizor account."""


class MovizorPhoneBlocked(MovizorError):
    """The subscriber put the number on Movizor's block list."""


class MovizorOperatorUnknown(MovizorError):
    """Movizor could not tell which mobile operator serves the number."""


class MovizorOperatorUnsupported(MovizorError):
    """The number's operator cannot be tracked through Movizor."""


class MovizorTariffUnsupported(MovizorError):
    """The tariff is not offered for the number's operator."""


class MovizorNoMoney(MovizorError):
    """The account balance is too low for the action."""


class MovizorDeleteTooEarly(MovizorError):
    """A just-added phone can only be deleted after a timeout or the driver's answer."""


class MovizorWrongStatus(MovizorError):
    """The object's current status does not allow the action."""


# --- positions --------------------------------------------------------------------------------


class MovizorNotConfirmed(MovizorError):
    """The driver has not (yet) agreed to be tracked."""


class MovizorTooSoon(MovizorError):
    """Less than 5 minutes since the last position request for this phone."""


class MovizorPackageNotActive(MovizorError):
    """The request package of the phone's tariff is not active yet."""


class MovizorRequestPending(MovizorError):
    """The request is still queued: ask again a little later."""


class MovizorRequestFailed(MovizorError):
    """The request finished without a result (phone off, out of coverage, …)."""


class MovizorGeocodeFailed(MovizorError):
    """The address could not be turned into coordinates."""


class MovizorTemporaryError(MovizorError):
    """Movizor says the failure is temporary; repeating the action by hand may work."""


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One documented error: what to raise, what Movizor says, what the dispatcher reads."""

    exc: type[MovizorError]
    vendor_text: str
    ru: str
    en: str


def _spec(exc: type[MovizorError], vendor_text: str, ru: str, en: str) -> ErrorSpec:
    return ErrorSpec(exc=exc, vendor_text=vendor_text, ru=ru, en=en)


# Sentences reused by several functions.
_PHONE_NOT_FOUND = _spec(
    MovizorObjectNotFound,
    "Phone not found",
    "Этого номера нет в Movizor: его не подключали или уже удалили.",
    "This number is not in Movizor: it was never added or has been deleted.",
)
_BAD_PHONE = _spec(
    MovizorInvalidPhone,
    "Incorrect phone format (79XXXXXXXXX)",
    "Номер телефона указан неверно: нужен формат 7XXXXXXXXXX.",
    "The phone number is malformed: the format is 7XXXXXXXXXX.",
)
_DATEOFF_PAST = _spec(
    MovizorInvalidDateoff,
    "Argument DATEOFF in past not allowed",
    "Дата автоматического отключения уже прошла.",
    "The automatic switch-off date is in the past.",
)
_DATEOFF_TOO_CLOSE = _spec(
    MovizorInvalidDateoff,
    "Argument DATEOFF not allowed to be less, that one day",
    "Автоматическое отключение можно назначить не раньше чем через сутки.",
    "The automatic switch-off must be at least one day ahead.",
)
_ROUTE_NO_COORD = _spec(
    MovizorInvalidRoute,
    "Argument DISTANCE_TEXT without DISTANCE_COORD",
    "Для конечной точки маршрута не указаны координаты.",
    "The route end point has no coordinates.",
)
_BAD_SCHEDULE = _spec(
    MovizorInvalidSchedule,
    "Incorrect time value in schedule",
    "В расписании указано неверное время: нужно чч:мм.",
    "The schedule has an invalid time: it must be hh:mm.",
)
_TARIFF_UNSUPPORTED = _spec(
    MovizorTariffUnsupported,
    "Operator does not support this tariff",
    "Этот тариф недоступен для оператора номера.",
    "This tariff is not available for the number's operator.",
)
_PHONE_BLOCKED = _spec(
    MovizorPhoneBlocked,
    "Phone in a block-list",
    "Номер в чёрном списке Movizor: абонент запретил отслеживание.",
    "The number is on Movizor's block list: the subscriber has forbidden tracking.",
)
_OPERATOR_UNKNOWN = _spec(
    MovizorOperatorUnknown,
    "Cannot determine information about the operator",
    "Не удалось определить оператора этого номера.",
    "Could not determine the operator of this number.",
)
_REQUEST_PENDING = _spec(
    MovizorRequestPending,
    "Request in queue",
    "Запрос ещё в очереди. Повторите через минуту.",
    "The request is still queued. Please check again in a minute.",
)
_REQUEST_FAILED = _spec(
    MovizorRequestFailed,
    "Request failed",
    "Определить местоположение не удалось: телефон выключен или вне сети.",
    "The position could not be determined: the phone is off or out of coverage.",
)

ERRORS: Final[Mapping[tuple[str, str], ErrorSpec]] = MappingProxyType(
    {
        # object_add
        ("object_add", "1"): _BAD_PHONE,
        ("object_add", "2"): _DATEOFF_PAST,
        ("object_add", "3"): _DATEOFF_TOO_CLOSE,
        ("object_add", "4"): _ROUTE_NO_COORD,
        ("object_add", "5"): _BAD_SCHEDULE,
        ("object_add", "6"): _spec(
            MovizorTooManyUnconfirmed,
            "Too many not active objects",
            "Слишком много номеров ещё не подтвердили подключение. "
            "Дождитесь ответов водителей или удалите лишние номера.",
            "Too many numbers have not confirmed yet. "
            "Wait for the drivers to answer or delete some numbers.",
        ),
        ("object_add", "7"): _spec(
            MovizorPhoneExists,
            "Phone already in your account",
            "Этот номер уже подключён на вашем договоре.",
            "This number is already on your account.",
        ),
        ("object_add", "8"): _spec(
            MovizorPhoneTaken,
            "Phone is already in another account",
            "Этот номер уже отслеживает другая компания.",
            "This number is already tracked by another company.",
        ),
        ("object_add", "9"): _PHONE_BLOCKED,
        ("object_add", "10"): _OPERATOR_UNKNOWN,
        ("object_add", "11"): _spec(
            MovizorOperatorUnsupported,
            "Operator does not supported",
            "Оператор этого номера не поддерживается Movizor.",
            "Movizor does not support this number's operator.",
        ),
        ("object_add", "12"): _TARIFF_UNSUPPORTED,
        ("object_add", "13"): _spec(
            MovizorNoMoney,
            "Not enough money for this tariff",
            "На балансе Movizor не хватает денег для этого тарифа.",
            "The Movizor balance is too low for this tariff.",
        ),
        # object_get
        ("object_get", "1"): _PHONE_NOT_FOUND,
        # object_edit
        ("object_edit", "1"): _PHONE_NOT_FOUND,
        ("object_edit", "2"): _TARIFF_UNSUPPORTED,
        ("object_edit", "3"): _DATEOFF_PAST,
        ("object_edit", "4"): _DATEOFF_TOO_CLOSE,
        ("object_edit", "5"): _ROUTE_NO_COORD,
        ("object_edit", "6"): _BAD_SCHEDULE,
        # object_delete
        ("object_delete", "1"): _PHONE_NOT_FOUND,
        ("object_delete", "2"): _spec(
            MovizorDeleteTooEarly,
            "You can delete only after 24 hours timeout, or wait accept or decline from the "
            "abonent",
            "Удалить номер можно через 24 часа после добавления или когда водитель "
            "подтвердит или отклонит подключение.",
            "The number can be deleted 24 hours after it was added, or once the driver "
            "accepts or declines.",
        ),
        ("object_delete", "3"): _spec(
            MovizorDeleteTooEarly,
            "You can delete only after 1 hur timeout, or wait accept or decline from the abonent",
            "Удалить номер можно через час после добавления или когда водитель "
            "подтвердит или отклонит подключение.",
            "The number can be deleted one hour after it was added, or once the driver "
            "accepts or declines.",
        ),
        ("object_delete", "4"): _spec(
            MovizorWrongStatus,
            "Current status does not allow to delete",
            "Сейчас номер удалить нельзя: он ещё отключается. Попробуйте чуть позже.",
            "The number cannot be deleted right now: it is still being switched off. "
            "Try again a bit later.",
        ),
        # object_reactivate
        ("object_reactivate", "1"): _PHONE_NOT_FOUND,
        ("object_reactivate", "2"): _PHONE_BLOCKED,
        ("object_reactivate", "3"): _spec(
            MovizorInvalidDateoff,
            "DATEOFF value in past not allowed",
            "Дата автоматического отключения номера уже прошла: сначала измените её.",
            "The number's automatic switch-off date has passed: change it first.",
        ),
        ("object_reactivate", "4"): _spec(
            MovizorInvalidDateoff,
            "DATEOFF value not allowed to be less, that one day",
            "До автоматического отключения номера меньше суток: сначала перенесите дату.",
            "The number switches off automatically in less than a day: move the date first.",
        ),
        ("object_reactivate", "5"): _spec(
            MovizorNoMoney,
            "Not enough money for this tariff",
            "На балансе Movizor не хватает денег для повторного подключения.",
            "The Movizor balance is too low to reconnect the number.",
        ),
        ("object_reactivate", "6"): _spec(
            MovizorWrongStatus,
            "You need disable phone or take reject status",
            "Повторно подключить можно только отключённый номер или номер, "
            "водитель которого отказался от мониторинга.",
            "Only a switched-off number, or one whose driver declined, can be reconnected.",
        ),
        ("object_reactivate", "7"): _spec(
            MovizorWrongStatus,
            "Current status does not allow do that",
            "В текущем статусе номер нельзя подключить повторно.",
            "The number cannot be reconnected in its current status.",
        ),
        # object_cancel_tariff, pos_last, pos_list
        ("object_cancel_tariff", "1"): _PHONE_NOT_FOUND,
        ("pos_last", "1"): _PHONE_NOT_FOUND,
        ("pos_list", "1"): _PHONE_NOT_FOUND,
        # pos_request (there is no code 3 in the document)
        ("pos_request", "1"): _PHONE_NOT_FOUND,
        ("pos_request", "2"): _spec(
            MovizorNotConfirmed,
            "Phone is not confirmed",
            "Номер ещё не подтвердил подключение к мониторингу.",
            "The number has not confirmed tracking yet.",
        ),
        ("pos_request", "4"): _spec(
            MovizorTooSoon,
            "Not passed 5 min timeout",
            "С прошлого запроса местоположения не прошло 5 минут. Попробуйте чуть позже.",
            "Less than 5 minutes since the last position request. Try again a bit later.",
        ),
        ("pos_request", "5"): _spec(
            MovizorPackageNotActive,
            "Please, wait while package will activated",
            "Пакет запросов по этому номеру ещё не активировался. Попробуйте позже.",
            "The request package for this number is not active yet. Try again later.",
        ),
        ("pos_request", "6"): _spec(
            MovizorNoMoney,
            "Not enough money for manual request",
            "На балансе Movizor не хватает денег для запроса местоположения.",
            "The Movizor balance is too low for a position request.",
        ),
        # pos_get
        ("pos_get", "1"): _spec(
            MovizorRequestNotFound,
            "Request or Phone not found",
            "Запрос местоположения не найден: возможно, номер уже удалён.",
            "The position request was not found: the number may have been deleted.",
        ),
        ("pos_get", "2"): _spec(
            MovizorRequestPending,
            "Request in queue",
            "Местоположение ещё определяется. Подождите немного.",
            "The position is still being determined. Please wait a little.",
        ),
        ("pos_get", "4"): _REQUEST_FAILED,
        # distance_search (codes 2 and 4 are copied from pos_get in the document)
        ("distance_search", "1"): _spec(
            MovizorGeocodeFailed,
            "Failed to process query",
            "Не удалось найти координаты по этому адресу. Уточните название.",
            "No coordinates were found for this address. Please refine it.",
        ),
        ("distance_search", "2"): _REQUEST_PENDING,
        ("distance_search", "4"): _spec(
            MovizorRequestFailed,
            "Request failed",
            "Поиск адреса не удался. Попробуйте ещё раз.",
            "The address search failed. Please try again.",
        ),
        # get_operator
        ("get_operator", "1"): _spec(
            MovizorInvalidPhone,
            "Invalid PHONE format",
            "Номер телефона указан неверно: нужен формат 7XXXXXXXXXX.",
            "The phone number is malformed: the format is 7XXXXXXXXXX.",
        ),
        ("get_operator", "2"): _spec(
            MovizorOperatorUnknown,
            "Failed to identify the operator",
            "Не удалось определить оператора этого номера.",
            "Could not determine the operator of this number.",
        ),
        # tariff_calculator
        ("tariff_calculator", "1"): _spec(
            MovizorMissingArgument,
            "Required argument OPERATOR",
            "Не указан оператор для расчёта тарифа.",
            "No operator was given for the tariff calculation.",
        ),
        ("tariff_calculator", "2"): _spec(
            MovizorMissingArgument,
            "Required argument TARIFF",
            "Не указан тариф для расчёта.",
            "No tariff was given for the calculation.",
        ),
        ("tariff_calculator", "3"): _spec(
            MovizorTariffUnsupported,
            "Operator does not support this tariff",
            "Оператор не поддерживает этот тариф.",
            "The operator does not support this tariff.",
        ),
        # share_add
        ("share_add", "1"): _spec(
            MovizorObjectNotFound,
            "Phone not found",
            "Номер не найден среди подключённых: ссылку для клиента создать нельзя.",
            "The number is not among the tracked ones: no client link can be created.",
        ),
        ("share_add", "2"): _spec(
            MovizorObjectNotFound,
            "No objects found to add",
            "Ни один из номеров сейчас не отслеживается: ссылку для клиента создать нельзя.",
            "None of the numbers is being tracked now: no client link can be created.",
        ),
        ("share_add", "3"): _spec(
            MovizorTemporaryError,
            "Unable to create share key",
            "Не удалось создать ссылку для клиента. Попробуйте ещё раз.",
            "Could not create the client link. Please try again.",
        ),
        # share_delete
        ("share_delete", "1"): _spec(
            MovizorShareNotFound,
            "Share_key not found",
            "Ссылка для клиента не найдена или уже удалена.",
            "The client link was not found or is already deleted.",
        ),
    }
)

ACCESS_DENIED: Final = "ACCESS_DENIED"
# Not in the document: the word Movizor would use for its own 5000-an-hour limit is unknown.
# The simulator answers with this one; an HTTP 429 is treated the same way.
LIMIT_EXCEEDED: Final = "LIMIT_EXCEEDED"

WORD_ERRORS: Final[Mapping[str, ErrorSpec]] = MappingProxyType(
    {
        # Seen in the wild with "Auth rate limit exceeded"; the simulator also uses it for a
        # wrong project/key, whose real answer the document does not show.
        ACCESS_DENIED: _spec(
            MovizorAuthError,
            "Wrong project or key",
            "Movizor не принял ключ API: ключ неверный или временно заблокирован. "
            "Сообщите администратору.",
            "Movizor refused the API key: it is wrong or temporarily blocked. "
            "Please tell the administrator.",
        ),
        LIMIT_EXCEEDED: _spec(
            MovizorLimitExceeded,
            "Request rate limit exceeded",
            "Исчерпан часовой лимит запросов к Movizor. Попробуйте позже.",
            "The hourly Movizor request limit is used up. Please try again later.",
        ),
    }
)

_UNKNOWN_RU = "Movizor ответил ошибкой (код {code}). Попробуйте позже или сообщите администратору."
_UNKNOWN_EN = "Movizor answered with an error (code {code}). Try later or tell the administrator."


def normalize_code(raw: Any) -> str:
    """``1``, ``"1"``, ``" 01 "`` → ``"1"``; words are upper-cased; ``None`` → ``""``."""
    text = "" if raw is None else str(raw).strip()
    if text.isdigit():
        return str(int(text))
    return text.upper()


def lookup(function: str, code: Any) -> ErrorSpec | None:
    """The documented meaning of ``code`` for ``function``, or ``None`` if undocumented."""
    normalized = normalize_code(code)
    return ERRORS.get((function, normalized)) or WORD_ERRORS.get(normalized)


def error_from_response(function: str, payload: Mapping[str, Any]) -> MovizorError:
    """Build the exception for an answer with ``"result": "error"`` from ``function``.

    The exception text holds only the function, the code and the vendor's error text, never
    anything from the request (so never the key).
    """
    code = normalize_code(payload.get("error_code"))
    vendor_text = str(payload.get("error_text") or payload.get("error_text_ru") or "").strip()
    spec = lookup(function, code)
    detail = f"{function}: {vendor_text}" if vendor_text else function
    if spec is None:
        return MovizorError(
            detail,
            code=code or None,
            user_message=_UNKNOWN_RU.format(code=code or "?"),
            user_message_en=_UNKNOWN_EN.format(code=code or "?"),
            function=function,
            vendor_text=vendor_text,
        )
    return spec.exc(
        detail,
        code=code,
        user_message=spec.ru,
        user_message_en=spec.en,
        function=function,
        vendor_text=vendor_text,
    )
