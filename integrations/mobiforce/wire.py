"""Mobiforce's answers as the client reads them: JSON that may carry the document's trailing
commas, the error object some servers send with HTTP 200, and the parsers each command's
answer goes through (one object, a list of rows, the id of a write)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from integrations.mobiforce.models import Created

M = TypeVar("M", bound=BaseModel)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")

NOT_JSON: Final = object()


def parse_json(content: bytes) -> Any:
    """JSON, tolerating the trailing commas of the document's samples; ``None`` for an empty
    body; :data:`NOT_JSON` for anything else (an HTML error page, a cut answer)."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text))
    except ValueError:
        return NOT_JSON


def looks_like_error(payload: Any) -> bool:
    """An error object sent with HTTP 200: only ``code`` and ``description``."""
    return (
        isinstance(payload, dict)
        and "description" in payload
        and "code" in payload
        and set(payload) <= {"code", "description"}
    )


def id_query(value: int | str) -> dict[str, str | int]:
    return {"id": int(value)}


def page_query(page: int) -> dict[str, str | int]:
    if page < 0:
        raise ValueError("page counts from 0")
    return {"page": int(page)}


def raw(payload: Any) -> Any:
    return payload


def created(payload: Any) -> int:
    return Created.model_validate(payload).id


def id_or(default: int) -> Callable[[Any], int]:
    """For writes on an existing object: the id from the answer, or the one we sent when the
    answer has none (the change happened; its answer is only an echo)."""

    def parse(payload: Any) -> int:
        try:
            return Created.model_validate(payload).id
        except ValidationError:
            return int(default)

    return parse


def one(model: type[M]) -> Callable[[Any], M]:
    def parse(payload: Any) -> M:
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        return model.model_validate(payload)

    return parse


def rows(model: type[M]) -> Callable[[Any], list[M]]:
    """A list of ``model``; ``null``, ``{}`` and PHP's keyed objects included."""
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(payload: Any) -> list[M]:
        if payload in (None, "", {}):
            payload = []
        elif isinstance(payload, dict):
            payload = list(payload.values())
        return adapter.validate_python(payload)

    return parse
