"""Keep secrets out of URLs, exception texts and logs."""

from __future__ import annotations

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
