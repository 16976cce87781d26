"""Keep secrets out of URLs, exception texts and logs."""

from __future__ import annotations

import logging
import re

import httpx

# Query parameters whose values are secrets in one vendor API or another.
SECRET_QUERY_PARAMS = frozenset({"key", "api_key", "apikey", "token", "secret", "password", "pass"})

_QUERY_SECRET_RE = re.compile(
    r"(?P<name>[?&](?:" + "|".join(sorted(SECRET_QUERY_PARAMS)) + r"))=(?P<value>[^&#\s'\"]+)",
    re.IGNORECASE,
)


def redact_url(url: str | httpx.URL) -> str:
    """Return ``url`` as text with every secret query value replaced by ``***``."""
    return _QUERY_SECRET_RE.sub(r"\g<name>=***", str(url))


_BOT_TOKEN_RE = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}")


def redact_text(text: str) -> str:
    """A free text (an exception's, an upstream error) with secret query values and anything
    shaped like a Telegram bot token masked: for texts that are stored or shown, not only logged."""
    return _BOT_TOKEN_RE.sub("***", redact_url(text))


class _RedactUrlsFilter(logging.Filter):
    """httpx logs every request URL at INFO ("HTTP Request: GET …?key=…"): mask secrets there."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(record.getMessage())
        record.args = None
        return True


def redact_httpx_logs() -> None:
    """Install :class:`_RedactUrlsFilter` on httpx's logger once (a filter there sees every
    record httpx writes, whatever handlers the application configures)."""
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactUrlsFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactUrlsFilter())
