"""Errors shared by every integration.

Each integration subclasses :class:`IntegrationError` in its own ``errors.py`` with one class per
documented vendor code. Handlers never show a raw upstream answer: they show ``user_message``.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """An upstream call failed in a way a user may need to hear about.

    ``code`` is the vendor's own code (string or number as the vendor sent it), ``user_message``
    is the Russian sentence a manager understands, ``user_message_en`` its English twin.
    The exception text never contains a secret: build it from codes and vendor texts only.
    """

    integration: str = "upstream"
    default_message = "Сервис ответил ошибкой. Попробуйте позже."
    default_message_en = "The service answered with an error. Please try again later."

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | int | None = None,
        user_message: str | None = None,
        user_message_en: str | None = None,
        vendor_text: str = "",
        retryable: bool = False,
    ) -> None:
        self.code = code
        self.detail = detail
        # The vendor's own words for the error, and whether repeating a READ is safe and may help
        # (network errors, timeouts, 5xx, garbled answers); the clients retry nothing else.
        self.vendor_text = vendor_text
        self.retryable = retryable
        self.user_message = user_message or self.default_message
        self.user_message_en = user_message_en or self.default_message_en
        super().__init__(f"{self.integration}: code={code!r} {detail}".strip())

    def message_for(self, locale: str) -> str:
        return self.user_message_en if locale == "en" else self.user_message


class UpstreamUnavailable(IntegrationError):
    """Timeout, connection refused, 5xx, or an answer that is not the documented JSON."""

    default_message = "Сервис сейчас недоступен. Попробуйте через минуту."
    default_message_en = "The service is unavailable right now. Please try again in a minute."


class IntegrationDisabled(IntegrationError):
    """The integration is off: no credentials, paused by an admin, or locked after a bad key."""

    default_message = "Эта интеграция выключена. Обратитесь к администратору."
    default_message_en = "This integration is turned off. Please contact the administrator."


class RateLimited(IntegrationError):
    """Our own client-side budget for the vendor is spent for now."""

    default_message = "Слишком много запросов к сервису. Попробуйте через несколько минут."
    default_message_en = "Too many requests to the service. Please try again in a few minutes."
