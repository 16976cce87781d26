"""Wagon and container numbers: checked before any paid call.

* A Russian (1520 mm network) wagon number has 8 digits; the last is a check digit over the
  first seven: weights 2,1,2,1,2,1,2, each product replaced by the sum of its digits, and
  check = (10 − sum mod 10) mod 10. ``54676515`` (Alta's test wagon) passes.
* A container number is ISO 6346 (4 letters, 6 digits, a check digit), checked with
  python-stdnum's maintained ``stdnum.iso6346``. ``AMFU8899067`` (Alta's test container) passes.
  It is imported at the first container checked, not when the bot starts (stdnum brings pydoc).

:func:`split_numbers` reads what a dispatcher typed into wagons, containers and problems.
The rule for spaces (README, "Wagons"):

* commas, semicolons and line breaks always separate numbers;
* spaces separate numbers too, except inside one number: digit groups shorter than a wagon
  number (8 digits) are joined with the groups after them until they make 8 digits —
  ``5467 6515`` and ``546 765 15`` are one wagon, ``54676515 52345675`` two. A run of short
  groups that does not come to exactly 8 digits is one wrong number (``5467 651`` →
  «5467651: в номере вагона 8 цифр»), never several guesses;
* a container may be written in its printed groups, with spaces or dashes: ``AMFU 889906-7``.

A problem is structured (number, reason, expected check digit); the sentence a user reads comes
from :func:`integrations.alta.errors.number_problem_message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

WAGON_WEIGHTS: Final = (2, 1, 2, 1, 2, 1, 2)
WAGON_DIGITS: Final = 8
# Always between two numbers; a space may also be inside one (see split_numbers).
_HARD_SEPARATORS = re.compile(r"[,;\n\r]+")
# "AMFU 889906 7", "AMFU-889906-7": a container written in its printed groups.
_CONTAINER_GROUPS = re.compile(r"\b([A-Za-z]{4})[\s-]?(\d{6})[\s-]?(\d)\b")


class NumberKind(StrEnum):
    WAGON = "wagon"
    CONTAINER = "container"


class ProblemReason(StrEnum):
    CHECK_DIGIT = "check_digit"  # right shape, wrong check digit
    WAGON_LENGTH = "wagon_length"  # digits only, but not 8 of them
    CONTAINER_FORMAT = "container_format"  # letters in it, but not 4 letters + 7 digits
    CONTAINER_OWNER = "container_owner"  # 4th letter is not U, J or Z (ISO 6346 category)
    UNRECOGNIZED = "unrecognized"  # neither a wagon nor a container


@dataclass(frozen=True)
class NumberProblem:
    """Why ``number`` cannot be put on tracking; ``expected_check_digit`` when that is why."""

    number: str
    reason: ProblemReason
    kind: NumberKind | None = None
    expected_check_digit: str | None = None


@dataclass
class ParsedNumbers:
    """A typed list split by kind, in the order typed, without repeats."""

    wagons: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    problems: list[NumberProblem] = field(default_factory=list)

    @property
    def valid(self) -> list[str]:
        return self.wagons + self.containers

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.valid)


def wagon_check_digit(first_seven: str) -> int:
    """The check digit of a wagon number from its first seven digits."""
    if len(first_seven) != 7 or not first_seven.isdigit():
        raise ValueError("a wagon check digit needs exactly seven digits")
    total = 0
    for digit, weight in zip(first_seven, WAGON_WEIGHTS, strict=True):
        product = int(digit) * weight
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def is_valid_wagon(number: str) -> bool:
    return len(number) == 8 and number.isdigit() and wagon_check_digit(number[:7]) == int(number[7])


def is_valid_container(number: str) -> bool:
    from stdnum import iso6346

    return iso6346.is_valid(number)


def normalize(token: str) -> str:
    """Upper-case, without the spaces and dashes people put inside a container number."""
    return re.sub(r"[\s-]", "", token).upper()


def check_number(token: str) -> NumberKind | NumberProblem:
    """The kind of a valid number, or the problem with it."""
    number = normalize(token)
    if number.isdigit():
        if len(number) != 8:
            return NumberProblem(number, ProblemReason.WAGON_LENGTH, NumberKind.WAGON)
        expected = wagon_check_digit(number[:7])
        if int(number[7]) != expected:
            return NumberProblem(number, ProblemReason.CHECK_DIGIT, NumberKind.WAGON, str(expected))
        return NumberKind.WAGON
    if re.fullmatch(r"[A-Z]{4}\d{7}", number):
        from stdnum import iso6346
        from stdnum.exceptions import ValidationError

        if number[3] not in "UJZ":
            return NumberProblem(number, ProblemReason.CONTAINER_OWNER, NumberKind.CONTAINER)
        try:
            iso6346.validate(number)
        except ValidationError:
            digit = str(iso6346.calc_check_digit(number[:10]))
            return NumberProblem(number, ProblemReason.CHECK_DIGIT, NumberKind.CONTAINER, digit)
        return NumberKind.CONTAINER
    if re.search(r"[A-Z]", number) and re.search(r"\d", number):
        return NumberProblem(number, ProblemReason.CONTAINER_FORMAT, NumberKind.CONTAINER)
    return NumberProblem(number, ProblemReason.UNRECOGNIZED)


def _join_digit_groups(words: list[str]) -> list[str]:
    """One piece's words with a wagon number's digit groups joined: a group shorter than 8
    digits takes the groups after it until they make 8 (or more: then it is one wrong number).
    A whole 8-digit group, or a word with letters, stands alone."""
    tokens: list[str] = []
    run = ""
    for word in words:
        short = word.isdigit() and len(word) < WAGON_DIGITS
        if run and not short:
            tokens.append(run)  # a run that never reached 8 digits: one wrong number
            run = ""
        if not short:
            tokens.append(word)
            continue
        run += word
        if len(run) >= WAGON_DIGITS:
            tokens.append(run)
            run = ""
    if run:
        tokens.append(run)
    return tokens


def tokens_of(text: str) -> list[str]:
    """The numbers as typed, one token each, by the rule in this module's docstring."""
    joined = _CONTAINER_GROUPS.sub(lambda m: "".join(m.groups()), text)
    tokens: list[str] = []
    for piece in _HARD_SEPARATORS.split(joined):
        tokens += _join_digit_groups(piece.split())
    return tokens


def split_numbers(text: str) -> ParsedNumbers:
    """Split a typed list into wagons, containers and problems (repeats dropped)."""
    parsed = ParsedNumbers()
    seen: set[str] = set()
    for token in tokens_of(text):
        number = normalize(token)
        if number in seen:
            continue
        seen.add(number)
        result = check_number(number)
        if result is NumberKind.WAGON:
            parsed.wagons.append(number)
        elif result is NumberKind.CONTAINER:
            parsed.containers.append(number)
        else:
            assert isinstance(result, NumberProblem)
            parsed.problems.append(result)
    return parsed


def number_kind(number: str) -> NumberKind | None:
    """``wagon``/``container`` for a valid number, else ``None`` (for a search box)."""
    result = check_number(number)
    return result if isinstance(result, NumberKind) else None
