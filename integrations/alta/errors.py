"""Alta errors: one exception class per kind of failure, one table row per kind of answer.

Alta's document says an error answer is ``[{"status": "error"|"fail", "descr": "…", "code": N}]``
and promises a list of codes "below" that it never gives: the ONLY documented code is
``15`` ("Указан неподдерживаемый метод"). So the table :data:`ERRORS` is keyed by a reason
name, and an answer is recognised

1. by a documented code (only 15), else
2. by the words of Alta's own ``descr`` (:attr:`ErrorSpec.pattern`: "средств", "запрос не
   найден", "авторизац"…, tried in table order: see the note above :data:`ERRORS`), else
3. as a plain :class:`AltaError` that shows the vendor's ``descr`` to the user.

The codes in the table other than 15 are the simulator's own choice (``documented=False``):
the client never trusts them, because a real Alta (or an independent stand-in) may number its
errors differently. ``test_secret`` answers ``{"status": "error"}`` with nothing else: that is
a rejected secret.

Also here: :func:`number_problem_message`, the only words of this package besides the error
messages — «54676516: контрольная цифра должна быть 5».
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from integrations.alta.numbers import NumberKind, NumberProblem, ProblemReason
from integrations.errors import (
    IntegrationDisabled,
    IntegrationError,
    RateLimited,
    UpstreamUnavailable,
)


class AltaError(IntegrationError):
    """Base of every Alta failure. ``action`` is the API method, ``vendor_text`` Alta's
    ``descr``; ``retryable`` is true only where repeating a read is safe and may help."""

    integration = "alta"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | int | None = None,
        user_message: str | None = None,
        user_message_en: str | None = None,
        action: str | None = None,
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
        self.action = action


class AltaUnavailable(AltaError, UpstreamUnavailable):
    """Timeout, network error, HTTP error, or an answer that is not Alta's JSON array."""


class AltaDisabled(AltaError, IntegrationDisabled):
    """The client refuses to call: Alta rejected the credentials earlier (``reset_auth_lock``)."""

    default_message = (
        "Альта отключена: сервис не принял логин, договор или технический пароль. "
        "Администратору нужно проверить настройки и включить её снова (/resume alta)."
    )
    default_message_en = (
        "Alta is switched off: the service rejected the login, contract or technical password. "
        "An admin must check the settings and turn it back on (/resume alta)."
    )


class AltaRateLimited(AltaError, RateLimited):
    """Polled too often: Alta asks for no more than one ``show`` a minute."""

    default_message = "Альту можно спрашивать не чаще раза в минуту. Попробуйте чуть позже."
    default_message_en = "Alta may be asked at most once a minute. Please try again shortly."

    def __init__(self, detail: str = "", *, retry_after: float = 60.0, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class AltaAuthError(AltaError):
    """Wrong login, service account (contract) or secret."""


class AltaUnsupportedMethod(AltaError):
    """Code 15: the action is unknown to Alta (a bug on our side or an API change)."""


class AltaInvalidArgument(AltaError):
    """A parameter was refused; the bot's own checks should have caught it."""


class AltaMissingArgument(AltaInvalidArgument):
    """A required parameter was not sent."""


class AltaInvalidNumbers(AltaError):
    """Wagon or container numbers are wrong. Raised by the client itself (before any call)
    with ``problems`` filled, or from Alta's refusal."""

    def __init__(
        self, detail: str = "", *, problems: Sequence[NumberProblem] = (), **kwargs: Any
    ) -> None:
        super().__init__(detail, **kwargs)
        self.problems = list(problems)


class AltaTestNumbersOnly(AltaError):
    """The test account accepts only the documented test numbers."""


class AltaRequestNotFound(AltaError):
    """No tracking request with this hash on the account."""


class AltaNoMoney(AltaError):
    """The balance is too low."""


@dataclass(frozen=True)
class ErrorSpec:
    exc: type[AltaError]
    code: int  # Alta's code if documented, else the simulator's own number
    descr: str  # the vendor text the simulator sends
    pattern: str  # how the client recognises Alta's descr (case-insensitive regex)
    ru: str
    en: str
    documented: bool = False


UNSUPPORTED_METHOD: Final = "unsupported_method"
AUTH: Final = "auth"
TOO_FREQUENT: Final = "too_frequent"

# Table order is the order words are tried in (after the documented code): the specific
# reasons first, so an answer that merely mentions the contract («Недостаточно средств на счете
# договора») or a login («Запрос не найден для логина …») is what it is about — money, a missing
# request — and never locks the client. AUTH (which locks) needs words that clearly name the
# credentials: authorization, the secret, the password, the login, the service account, or a
# contract (the ``sa`` credential) called wrong or unknown.
ERRORS: Final[Mapping[str, ErrorSpec]] = MappingProxyType(
    {
        UNSUPPORTED_METHOD: ErrorSpec(
            AltaUnsupportedMethod,
            15,
            "Указан неподдерживаемый метод",
            r"неподдерживаем|unsupported|unknown (method|action)",
            "Альта не знает такого действия. Сообщите администратору: нужно обновить бота.",
            "Alta does not know this action. "
            "Please tell the administrator: the bot needs an update.",
            documented=True,
        ),
        "no_money": ErrorSpec(
            AltaNoMoney,
            6,
            "Недостаточно средств на счете",
            r"средств|баланс|оплат|money|funds",
            "На счёте Альты не хватает денег. Пополните баланс договора.",
            "The Alta account does not have enough money. Please top up the contract balance.",
        ),
        TOO_FREQUENT: ErrorSpec(
            AltaRateLimited,
            7,
            "Слишком частые запросы. Повторите не ранее чем через минуту",
            r"\bчаст|too (many|often|frequent)|лимит|rate limit",
            "Альту можно спрашивать не чаще раза в минуту. Попробуйте чуть позже.",
            "Alta may be asked at most once a minute. Please try again shortly.",
        ),
        "test_numbers_only": ErrorSpec(
            AltaTestNumbersOnly,
            8,
            "Для тестового аккаунта доступны только тестовые номера",
            r"тестов",
            "На тестовом договоре Альты можно ставить только вагон 54676515 "
            "и контейнер AMFU8899067.",
            "Alta's test contract accepts only wagon 54676515 and container AMFU8899067.",
        ),
        "request_not_found": ErrorSpec(
            AltaRequestNotFound,
            5,
            "Запрос не найден",
            r"запрос\w*\s+не\s+найден|не\s+найден\w*\s+запрос|нет\s+такого\s+запроса"
            r"|(hash|хэш|хеш)\w*\s+не\s+найден|request not found",
            "Такого запроса на слежении в Альте нет (возможно, он уже снят).",
            "Alta has no such tracking request (it may have been cancelled already).",
        ),
        AUTH: ErrorSpec(
            AltaAuthError,
            1,
            "Ошибка авторизации: неверный логин, сервис-аккаунт или секрет",
            r"авторизац|секрет|secret|парол|password|логин|login|authori[sz]|authenticat"
            r"|сервис-аккаунт|service.account"
            r"|(неверн|неизвестн|недействит)\w*\s+(номер\w*\s+)?договор|договор\w*\s+не\s+найден",
            "Альта не приняла логин, договор или технический пароль. Сообщите администратору.",
            "Alta refused the login, contract or technical password. "
            "Please tell the administrator.",
        ),
        "invalid_numbers": ErrorSpec(
            AltaInvalidNumbers,
            4,
            "Неверный номер вагона или контейнера",
            r"номер",
            "Альта не приняла номера вагонов или контейнеров. Проверьте их.",
            "Alta refused the wagon or container numbers. Please check them.",
        ),
        "missing_argument": ErrorSpec(
            AltaMissingArgument,
            2,
            "Не указан обязательный параметр",
            r"не указан|обязательн|required|missing",
            "Альте не хватило данных для запроса. Сообщите администратору.",
            "Alta needed more data for the request. Please tell the administrator.",
        ),
        "invalid_argument": ErrorSpec(
            AltaInvalidArgument,
            3,
            "Неверное значение параметра",
            r"неверн|некоррект|недопустим|invalid|wrong",
            "Альта не приняла параметры запроса. Проверьте время, дни и станцию.",
            "Alta refused the request settings. Please check the times, days and station.",
        ),
    }
)

# test_secret's whole answer for a wrong secret is {"status": "error"}.
TEST_SECRET_FAILED: Final = ERRORS[AUTH]

_UNKNOWN_RU = "Альта ответила ошибкой{code}: {text}"
_UNKNOWN_EN = "Alta answered with an error{code}: {text}"
_NO_TEXT_RU = "без пояснений. Попробуйте позже"
_NO_TEXT_EN = "without an explanation. Please try again later"


def normalize_code(raw: Any) -> int | None:
    """``15``, ``"15"``, ``" 15 "`` → ``15``; anything else → ``None``."""
    text = "" if raw is None else str(raw).strip()
    return int(text) if text.isdigit() else None


def classify(code: Any, descr: str) -> ErrorSpec | None:
    """The documented code first, then the words of ``descr`` (in table order)."""
    number = normalize_code(code)
    for spec in ERRORS.values():
        if spec.documented and spec.code == number:
            return spec
    for spec in ERRORS.values():
        if descr and re.search(spec.pattern, descr, re.IGNORECASE):
            return spec
    return None


def error_from_head(action: str, head: Mapping[str, Any]) -> AltaError:
    """The exception for an answer whose first element has status ``error`` or ``fail``.

    Its text holds the action, code and Alta's ``descr`` only, never the request (the secret).
    """
    code = normalize_code(head.get("code")) if head.get("code") is not None else None
    raw_code: int | str | None = code if code is not None else head.get("code")
    descr = str(head.get("descr") or head.get("message") or "").strip()
    spec = classify(raw_code, descr)
    detail = f"{action}: {descr}" if descr else action
    if spec is None:
        code_text = f" (код {raw_code})" if raw_code not in (None, "") else ""
        code_text_en = f" (code {raw_code})" if raw_code not in (None, "") else ""
        return AltaError(
            detail,
            code=raw_code,
            user_message=_UNKNOWN_RU.format(code=code_text, text=descr or _NO_TEXT_RU),
            user_message_en=_UNKNOWN_EN.format(code=code_text_en, text=descr or _NO_TEXT_EN),
            action=action,
            vendor_text=descr,
        )
    return spec.exc(
        detail,
        code=raw_code,
        user_message=spec.ru,
        user_message_en=spec.en,
        action=action,
        vendor_text=descr,
    )


# --- wrong numbers in words ---------------------------------------------------------------------

_PROBLEM_TEXTS: Final[Mapping[ProblemReason, tuple[str, str]]] = MappingProxyType(
    {
        ProblemReason.CHECK_DIGIT: (
            "{number}: контрольная цифра должна быть {digit}",
            "{number}: the check digit should be {digit}",
        ),
        ProblemReason.WAGON_LENGTH: (
            "{number}: в номере вагона 8 цифр",
            "{number}: a wagon number has 8 digits",
        ),
        ProblemReason.CONTAINER_FORMAT: (
            "{number}: номер контейнера — 4 буквы и 7 цифр (например, AMFU8899067)",
            "{number}: a container number is 4 letters and 7 digits (e.g. AMFU8899067)",
        ),
        ProblemReason.CONTAINER_OWNER: (
            "{number}: четвёртая буква номера контейнера — U, J или Z",
            "{number}: the fourth letter of a container number is U, J or Z",
        ),
        ProblemReason.UNRECOGNIZED: (
            "{number}: это не номер вагона (8 цифр) и не номер контейнера (AMFU8899067)",
            "{number}: neither a wagon number (8 digits) nor a container number (AMFU8899067)",
        ),
    }
)


def number_problem_message(problem: NumberProblem, locale: str = "ru") -> str:
    """«54676516: контрольная цифра должна быть 5» (``locale`` "en" for English)."""
    ru, en = _PROBLEM_TEXTS[problem.reason]
    template = en if locale == "en" else ru
    return template.format(number=problem.number, digit=problem.expected_check_digit or "?")


def invalid_numbers_error(problems: Sequence[NumberProblem]) -> AltaInvalidNumbers:
    """The client's own refusal (no call made), worded for the user in both languages."""
    return AltaInvalidNumbers(
        "add: numbers failed the check-digit test, nothing was sent",
        code="CLIENT_CHECK",
        user_message="\n".join(number_problem_message(p, "ru") for p in problems),
        user_message_en="\n".join(number_problem_message(p, "en") for p in problems),
        action="add",
        problems=problems,
    )


__all__ = [
    "ERRORS",
    "AltaAuthError",
    "AltaDisabled",
    "AltaError",
    "AltaInvalidArgument",
    "AltaInvalidNumbers",
    "AltaMissingArgument",
    "AltaNoMoney",
    "AltaRateLimited",
    "AltaRequestNotFound",
    "AltaTestNumbersOnly",
    "AltaUnavailable",
    "AltaUnsupportedMethod",
    "ErrorSpec",
    "NumberKind",
    "classify",
    "error_from_head",
    "invalid_numbers_error",
    "number_problem_message",
]
