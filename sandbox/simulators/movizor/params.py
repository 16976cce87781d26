"""How the Movizor simulator reads a call's parameters: PHP-form values (a text, a list, a
nested dict) as the service takes them, and the checks whose failure is a documented error.

Each check takes the error code to raise, because the same check has a different code in each
function that makes it (``object_add``'s bad date is error 2, ``object_edit``'s error 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from integrations.movizor.models import parse_moscow, to_moscow
from sandbox.simulators.movizor.state import SimError, SimPoint

MSISDN_RE: Final = re.compile(r"^79\d{9}$")
HHMM_RE: Final = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def as_list(value: Any) -> list[Any]:
    """A value given once or as ``name[]=…`` several times, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def items(value: Any) -> list[Any]:
    """The elements of ``name[]=…`` or ``name[key]=…`` (a dict), in order."""
    return list(value.values()) if isinstance(value, dict) else as_list(value)


def flag(value: Any) -> bool:
    return text(value).lower() not in ("", "0", "false", "no")


def tags(value: Any) -> list[str]:
    return [tag.strip() for tag in text(value).split(",") if tag.strip()]


def metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:32]: text(v)[:64] for k, v in value.items()}


def coord(value: Any) -> tuple[float, float] | None:
    parts = text(value).split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def unix_time(value: Any) -> datetime | None:
    digits = text(value)
    return datetime.fromtimestamp(int(digits), UTC) if digits.isdigit() else None


def normalize_phone(raw: str) -> str | None:
    """The document: "+7 (921) 001-02-03" and "8-921-001-02-03" are accepted when adding."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    return digits if MSISDN_RE.match(digits) else None


def pretty_phone(phone: str) -> str:
    """The document's sample names an untitled object like "(911) 111-11-15"."""
    return f"({phone[1:4]}) {phone[4:7]}-{phone[7:9]}-{phone[9:11]}"


def next_moscow_midnight(at: datetime) -> datetime:
    local = to_moscow(at)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return midnight.astimezone(UTC)


# --- checks: a documented error when they fail ---------------------------------------------------


def check_dateoff(
    params: Mapping[str, Any], at: datetime, *, past: str, too_close: str
) -> datetime | None:
    """``dateoff``: the auto-off date, at least a day ahead."""
    given = text(params.get("dateoff"))
    if not given:
        return None
    try:
        when = parse_moscow(given)
    except ValueError:
        raise SimError(past) from None
    if when <= at:
        raise SimError(past)
    if when - at < timedelta(days=1):
        raise SimError(too_close)
    return when


def check_route(params: Mapping[str, Any], *, no_coord: str) -> list[SimPoint] | None:
    """The route: one ``distance_text``/``distance_coord`` point or the ``destination`` list;
    None when neither is given."""
    if text(params.get("distance_text")):
        point = coord(params.get("distance_coord"))
        if point is None:
            raise SimError(no_coord)
        return [SimPoint(text(params.get("distance_text")), *point, planned_at=None)]
    raw = params.get("destination")
    if raw is None:
        return None
    points = []
    for item in items(raw):
        if not isinstance(item, dict):
            continue
        point = coord(item.get("coord"))
        if point is None:
            raise SimError(no_coord)
        planned = text(item.get("time"))
        try:
            planned_at = parse_moscow(planned) if planned else None
        except ValueError:
            planned_at = None
        points.append(SimPoint(text(item.get("text")), *point, planned_at=planned_at))
    return points


def check_schedule(params: Mapping[str, Any], *, bad: str) -> None:
    """``st[]``: the times of day to locate at, as HH:MM."""
    raw = params.get("st")
    if raw is None:
        return
    if any(not HHMM_RE.match(text(value)) for value in items(raw)):
        raise SimError(bad)
