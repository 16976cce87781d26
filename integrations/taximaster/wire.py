"""What goes on the wire: parameter values as text, the signed bytes, TMWeb's time format.

The ``Signature`` header is ``md5(params + secret)`` where ``params`` is exactly the query
string (GET) or the urlencoded body (POST) that is sent. So the parameters are encoded ONCE
(:func:`encode_params`) and those same characters are both signed and sent; nothing may
re-encode them afterwards. Document vector: ``tariff_id=1&distance_city=10`` with secret
``1234567890`` gives ``d7b8fb11b5499b64d750b8efe53e2877``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

WireValue = str | int | float | bool | datetime | Iterable[int] | None

TIME_FORMAT = "%Y%m%d%H%M%S"


def sign(params: str, secret: str) -> str:
    """The ``Signature`` header for the exact parameter string sent."""
    return hashlib.md5((params + secret).encode("utf-8")).hexdigest()


def format_time(moment: datetime, tz: ZoneInfo) -> str:
    """An aware moment as ГГГГММДДччммсс in the dispatch service's zone ``tz``."""
    if moment.tzinfo is None:
        raise ValueError("TMWeb times must be timezone-aware")
    return moment.astimezone(tz).strftime(TIME_FORMAT)


def parse_time(text: str, tz: ZoneInfo) -> datetime | None:
    """ГГГГММДДччммсс in zone ``tz`` -> an aware datetime; anything else -> ``None``."""
    text = text.strip()
    if len(text) != 14 or not text.isdigit():
        return None
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=tz)
    except ValueError:
        return None


def format_value(value: WireValue, tz: ZoneInfo) -> str | None:
    """One parameter as text; ``None`` means "leave the parameter out"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value, tz)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a TMWeb number must be finite")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    return ";".join(str(int(item)) for item in value)  # services: "1;2;3"


def encode_params(params: Mapping[str, WireValue], tz: ZoneInfo) -> str:
    """``name=value&…`` in the given order, UTF-8 percent-encoded, ``None`` values left out."""
    pairs = [
        (name, text)
        for name, value in params.items()
        if (text := format_value(value, tz)) is not None
    ]
    return urlencode(pairs)
