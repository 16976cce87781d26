"""Mobiforce errors: the document's error answer mapped to typed exceptions with ru/en messages.

The document describes ONE error shape, ``{"code": N, "description": "…"}`` with HTTP 400 or
401, and enumerates no codes (its only example is ``"code": 1``). So the exception class is
chosen by what the document does say:

* HTTP 401 -> :class:`MobiforceAuthError` (the key is wrong or revoked). The client locks
  itself; later calls raise :class:`MobiforceDisabled` without a request until
  ``reset_auth_lock()``. Both are ``IntegrationDisabled``.
* HTTP 400 -> :class:`MobiforceRejected`, refined per command where the document names the
  situation that makes that command fail (:data:`COMMAND_ERRORS`): only a draft task can be
  changed, a task needs an existing client and template, ``get-taskupdates`` answers at most
  once in five minutes.

The vendor's ``description`` is kept (``vendor_text``) and added to the Russian sentence, so a
dispatcher sees what Mobiforce said without a raw JSON. Codes are kept as given (``code``).
"""

from __future__ import annotations

import re
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

MAX_VENDOR_TEXT: Final = 200


class MobiforceError(IntegrationError):
    """Base of every Mobiforce failure.

    ``command`` is the API command that failed, ``http_status`` the HTTP status of the answer,
    ``vendor_text`` the vendor's ``description``. ``retryable`` is true only where repeating a
    *read* is safe and may help (network errors, timeouts, 5xx, garbled answers).
    """

    integration = "mobiforce"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | int | None = None,
        user_message: str | None = None,
        user_message_en: str | None = None,
        command: str | None = None,
        http_status: int | None = None,
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
        self.command = command
        self.http_status = http_status


class MobiforceUnavailable(MobiforceError, UpstreamUnavailable):
    """Timeout, network error, 5xx or an answer that is not Mobiforce's JSON."""

    default_message = "Мобифорс сейчас недоступен. Попробуйте через минуту."
    default_message_en = "Mobiforce is unavailable right now. Please try again in a minute."


class MobiforceBadAnswer(MobiforceUnavailable):
    """An answer that is JSON but not in the shape the document shows (a task whose fields do
    not parse). Repeating the call brings the same answer: it is not retried."""


class MobiforceAuthError(MobiforceError, IntegrationDisabled):
    """HTTP 401: Mobiforce refused the API key. The client stops calling until reset."""


class MobiforceDisabled(MobiforceAuthError):
    """Raised without a request while the client is locked after a 401."""

    default_message = (
        "Мобифорс отключён: сервис не принял ключ API. Администратору нужно проверить ключ "
        "и включить интеграцию снова."
    )
    default_message_en = (
        "Mobiforce is switched off: the service rejected the API key. An admin must check "
        "the key and resume the integration."
    )


class MobiforceLimitExceeded(MobiforceError, RateLimited):
    """Our own client-side request budget is spent for now."""

    default_message = "Слишком много запросов к Мобифорс. Попробуйте через минуту."
    default_message_en = "Too many requests to Mobiforce. Please try again in a minute."


class MobiforceRejected(MobiforceError):
    """HTTP 400: Mobiforce refused the request (bad data, unknown id, wrong state…)."""


class MobiforceTaskNotEditable(MobiforceRejected):
    """update-task refused: only a draft can be changed (or its client/template is unknown)."""


class MobiforceTaskNotSaved(MobiforceRejected):
    """create-task refused: the client, template or executor does not exist."""


class MobiforceTooFrequent(MobiforceRejected, RateLimited):
    """get-taskupdates asked again within five minutes."""


@dataclass(frozen=True)
class ErrorSpec:
    exc: type[MobiforceError]
    ru: str
    en: str


ERRORS: Final[Mapping[int, ErrorSpec]] = MappingProxyType(
    {
        400: ErrorSpec(
            MobiforceRejected,
            "Мобифорс отклонил запрос.",
            "Mobiforce refused the request.",
        ),
        401: ErrorSpec(
            MobiforceAuthError,
            "Мобифорс не принял ключ API: ключ неверный или отозван. Сообщите администратору.",
            "Mobiforce refused the API key: it is wrong or revoked. Please tell the administrator.",
        ),
    }
)

# The situations the document names for one command; they refine an HTTP 400 of that command.
COMMAND_ERRORS: Final[Mapping[tuple[str, int], ErrorSpec]] = MappingProxyType(
    {
        ("update-task", 400): ErrorSpec(
            MobiforceTaskNotEditable,
            "Задачу изменить нельзя: Мобифорс меняет только черновики, а клиент и шаблон "
            "задачи должны существовать.",
            "The task cannot be changed: Mobiforce changes drafts only, and the task's client "
            "and template must exist.",
        ),
        ("create-task", 400): ErrorSpec(
            MobiforceTaskNotSaved,
            "Мобифорс не создал задачу: проверьте клиента, шаблон и исполнителя "
            "(новый клиент создаётся до задачи).",
            "Mobiforce did not create the task: check the client, template and executor "
            "(a new client must be created before the task).",
        ),
        ("get-taskupdates", 400): ErrorSpec(
            MobiforceTooFrequent,
            "Список изменений задач Мобифорс отдаёт не чаще раза в пять минут. Попробуйте позже.",
            "Mobiforce gives the task change list at most once in five minutes. Try later.",
        ),
    }
)

_UNKNOWN_RU = (
    "Мобифорс ответил ошибкой (HTTP {status}). Попробуйте позже или сообщите администратору."
)
_UNKNOWN_EN = (
    "Mobiforce answered with an error (HTTP {status}). Try later or tell the administrator."
)


# What a refusal says when the object is not there (the document enumerates no codes: the text
# is all there is). Anything else a 400 says is not "gone".
_GONE = re.compile(
    r"не\s+найден|не\s+существ|удал[её]н|not\s+found|does\s+not\s+exist|deleted", re.I
)


def says_gone(error: MobiforceError) -> bool:
    """Whether ``error`` is a refusal saying the object does not exist (any more)."""
    return isinstance(error, MobiforceRejected) and bool(_GONE.search(error.vendor_text))


def lookup(command: str, http_status: int) -> ErrorSpec | None:
    """The documented meaning of an error answer of ``command`` with ``http_status``."""
    return COMMAND_ERRORS.get((command, http_status)) or ERRORS.get(http_status)


def vendor_text_of(payload: Mapping[str, Any]) -> str:
    """The vendor's ``description``, one line, trimmed (it goes into a chat message)."""
    text = " ".join(str(payload.get("description") or "").split())
    if len(text) > MAX_VENDOR_TEXT:
        text = text[: MAX_VENDOR_TEXT - 1] + "…"
    return text


def error_from_response(
    command: str, http_status: int, payload: Mapping[str, Any]
) -> MobiforceError:
    """Build the exception for an error answer. Its text holds the command, the status, the
    code and the vendor's description, never anything from the request (so never the key)."""
    code = payload.get("code")
    vendor_text = vendor_text_of(payload)
    spec = lookup(command, http_status)
    detail = f"{command}: HTTP {http_status}" + (f": {vendor_text}" if vendor_text else "")
    if spec is None:
        ru, en, exc = (
            _UNKNOWN_RU.format(status=http_status),
            _UNKNOWN_EN.format(status=http_status),
            MobiforceError,
        )
    else:
        ru, en, exc = spec.ru, spec.en, spec.exc
    if vendor_text and exc is not MobiforceAuthError:
        ru += f" Ответ Мобифорс: «{vendor_text}»."
        en += f" Mobiforce said: “{vendor_text}”."
    return exc(
        detail,
        code=code if isinstance(code, str | int) else None,
        user_message=ru,
        user_message_en=en,
        command=command,
        http_status=http_status,
        vendor_text=vendor_text,
    )
