"""What people type after /wagon: a wagon or container number, or a request hash."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from integrations.alta.errors import number_problem_message
from integrations.alta.numbers import NumberKind, check_number

HASH: Final = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class Target:
    """One number (``kind`` wagon/container) or one request (``request_hash``)."""

    number: str = ""
    kind: NumberKind | None = None
    request_hash: str = ""


def parse_target(text: str, locale: str) -> Target | str:
    """A number or a hash, or the sentence saying why not (in ``locale``)."""
    value = re.sub(r"[\s-]", "", text).strip()
    if HASH.fullmatch(value):
        return Target(request_hash=value.lower())
    checked = check_number(value)
    if isinstance(checked, NumberKind):
        return Target(number=value.upper(), kind=checked)
    return number_problem_message(checked, locale)
