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
