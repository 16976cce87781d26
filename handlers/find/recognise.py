"""What a /find text could be, read without any call: a phone, a wagon or container number
(or one with a wrong check digit), an order id. Task numbers have no shape of their own; the
bot's Mobiforce directory knows them (handlers/find/search.py asks it)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.phones import BadPhone, normalize_phone
from handlers.movizor.parsing import is_phoneish
from handlers.taximaster.parsing import parse_order_id
from integrations.alta.numbers import NumberKind, NumberProblem, ProblemReason, check_number

# Problems worth explaining: the text has exactly a wagon's or a container's shape, so it was
# meant as one (a short number or "ABC-1" may well be a task number instead).
SHAPED_PROBLEMS = frozenset({ProblemReason.CHECK_DIGIT, ProblemReason.CONTAINER_OWNER})


class Kind(StrEnum):
    DRIVER = "d"  # Movizor, by phone
    WAGON = "w"  # Alta, a wagon or a container
    TASK = "t"  # Mobiforce, by task number
    ORDER = "o"  # Taxi-Master, by order id


SERVICE_OF: dict[Kind, str] = {
    Kind.DRIVER: "movizor",
    Kind.WAGON: "alta",
    Kind.TASK: "mobiforce",
    Kind.ORDER: "taximaster",
}


@dataclass(frozen=True)
class Candidate:
    kind: Kind
    value: str  # normalised: msisdn, upper-case number, task number, order id


@dataclass(frozen=True)
class Shapes:
    """Every reading of the text its shape allows."""

    text: str
    phone: str | None = None
    number: str | None = None  # a valid wagon or container
    number_kind: NumberKind | None = None
    problem: NumberProblem | None = None  # a wagon / container with a wrong check digit
    order_id: int | None = None


def phone_of(text: str) -> str | None:
    if not is_phoneish(text):
        return None
    try:
        return normalize_phone(text)
    except BadPhone:
        return None


def read_shapes(text: str) -> Shapes:
    text = text.strip()
    checked = check_number(text)
    number = kind = problem = None
    if isinstance(checked, NumberKind):
        number, kind = checked_value(text), checked
    elif checked.reason in SHAPED_PROBLEMS:
        problem = checked
    return Shapes(
        text=text,
        phone=phone_of(text),
        number=number,
        number_kind=kind,
        problem=problem,
        order_id=parse_order_id(text),
    )


def checked_value(text: str) -> str:
    """A number as check_number read it: without spaces and dashes, upper-case."""
    return "".join(ch for ch in text if ch not in " -").upper()


def still_valid(kind: Kind, value: str) -> str | None:
    """A pressed button's value checked again (callback data comes from the client): the
    normalised value, or None. Task numbers are checked against the directory by the caller."""
    if kind is Kind.DRIVER:
        return phone_of(value)
    if kind is Kind.WAGON:
        return checked_value(value) if isinstance(check_number(value), NumberKind) else None
    if kind is Kind.ORDER:
        order_id = parse_order_id(value)
        return str(order_id) if order_id is not None else None
    return value.strip() or None
