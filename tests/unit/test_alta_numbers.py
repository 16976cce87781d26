"""Alta's number checks, the secret vector and the models' tolerance (no network)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum import iso6346

from integrations.alta.client import make_secret
from integrations.alta.errors import ERRORS, classify, error_from_head, number_problem_message
from integrations.alta.models import (
    ADD_TRACK_TYPE,
    LISTED_TRACK_TYPE,
    Dislocation,
    TrackMode,
    TrackRequest,
    show_rows,
)
from integrations.alta.numbers import (
    NumberKind,
    NumberProblem,
    ProblemReason,
    check_number,
    is_valid_container,
    is_valid_wagon,
    split_numbers,
    wagon_check_digit,
)

DATA = Path(__file__).parent.parent / "data" / "alta"
VECTORS = json.loads((DATA / "test_vectors.json").read_text())


def test_secret_vector_from_the_document() -> None:
    assert make_secret(VECTORS["sa"], VECTORS["password"]) == VECTORS["secret"]


def test_both_test_numbers_pass() -> None:
    assert is_valid_wagon(VECTORS["wagon"])
    assert is_valid_container(VECTORS["container"])
    assert check_number(VECTORS["wagon"]) is NumberKind.WAGON
    assert check_number(VECTORS["container"]) is NumberKind.CONTAINER


def test_changed_digit_fails_and_says_which_digit_is_right() -> None:
    problem = check_number("54676516")
    assert problem == NumberProblem(
        "54676516", ProblemReason.CHECK_DIGIT, NumberKind.WAGON, expected_check_digit="5"
    )
    assert number_problem_message(problem) == "54676516: контрольная цифра должна быть 5"
    assert number_problem_message(problem, "en") == "54676516: the check digit should be 5"
    container = check_number("AMFU8899068")
    assert isinstance(container, NumberProblem) and container.expected_check_digit == "7"


def test_mixed_list_is_split() -> None:
    parsed = split_numbers("54676515, amfu 889906-7;\n54676516  54676515\nAMFU8899067 12345 ХЗ")
    assert parsed.wagons == ["54676515"]
    assert parsed.containers == ["AMFU8899067"]
    assert [(p.number, p.reason) for p in parsed.problems] == [
        ("54676516", ProblemReason.CHECK_DIGIT),
        ("12345", ProblemReason.WAGON_LENGTH),
        ("ХЗ", ProblemReason.UNRECOGNIZED),
    ]
    assert not parsed.ok and split_numbers("54676515").ok
    for problem in parsed.problems:
        assert problem.number in number_problem_message(problem)


seven_digits = st.text(alphabet="0123456789", min_size=7, max_size=7)


@given(seven_digits)
def test_every_generated_wagon_passes(body: str) -> None:
    assert is_valid_wagon(body + str(wagon_check_digit(body)))


@given(seven_digits, st.integers(0, 7), st.integers(1, 9))
def test_any_single_digit_change_of_a_wagon_fails(body: str, position: int, shift: int) -> None:
    number = body + str(wagon_check_digit(body))
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert not is_valid_wagon(changed)


containers = st.tuples(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from("UJZ"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
).map(lambda t: t[0] + t[1] + t[2])


@given(containers)
def test_every_generated_container_passes(body: str) -> None:
    number = body + str(iso6346.calc_check_digit(body))
    assert check_number(number) is NumberKind.CONTAINER


@given(containers, st.integers(4, 10), st.integers(1, 9))
def test_any_single_digit_change_of_a_container_fails(body: str, position: int, shift: int) -> None:
    number = body + str(iso6346.calc_check_digit(body))
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    # ISO 6346's own blind spot: a weighted sum of 10 (mod 11) is written as check digit 0, so
    # a change that moves the sum between 0 and 10 (mod 11) keeps the same check digit.
    assume(position == 10 or iso6346.calc_check_digit(changed[:10]) != number[10])
    assert check_number(changed) != NumberKind.CONTAINER


def test_track_type_numberings_differ_between_add_and_track_list() -> None:
    assert ADD_TRACK_TYPE == {TrackMode.DAILY: 2, TrackMode.TRIP: 3}
    assert LISTED_TRACK_TYPE == {1: TrackMode.DAILY, 2: TrackMode.TRIP}
    rows = json.loads((DATA / "track_list.json").read_text())[1:]
    parsed = [TrackRequest.model_validate(row) for row in rows]
    assert [r.mode for r in parsed] == [TrackMode.DAILY, TrackMode.TRIP]
    assert parsed[0].vagon_count == 1 and parsed[0].on_track and parsed[0].processed
    assert parsed[0].report_ready
    assert not TrackRequest.model_validate({**rows[0], "status": "2"}).report_ready
    without_status = {k: v for k, v in rows[0].items() if k != "status"}
    assert TrackRequest.model_validate(without_status).report_ready  # tolerated, not required
    assert parsed[0].modify_date is not None and parsed[0].modify_date.hour == 21


def test_show_rows_are_read_tolerantly() -> None:
    rows = show_rows(
        [
            {
                "vagon": "54676515",
                "station": 23000,
                "station_name": "Ростов",
                "rest_distance": "1 020",
            },
            {"data": [{"number": "amfu8899067", "station": "no_data"}]},
            {
                "60123452": {
                    "st_code": "524007",
                    "oper": "Выгрузка",
                    "oper_date": "01.02.2024 10:15",
                }
            },
            "no_data",
        ]
    )
    reports = [Dislocation.from_raw(row) for row in rows]
    assert reports[0].station == "23000" and reports[0].distance_left_km == 1020.0
    assert reports[1].number == "AMFU8899067" and reports[1].no_data
    assert reports[2].number == "60123452" and reports[2].operation == "Выгрузка"
    assert reports[2].operation_at is not None and reports[2].operation_at.minute == 15
    assert reports[3].no_data and reports[0].raw["station_name"] == "Ростов"


def test_errors_are_recognised_by_documented_code_then_by_words() -> None:
    assert classify(15, "") is ERRORS["unsupported_method"]
    assert classify("15", "что угодно") is ERRORS["unsupported_method"]
    assert classify(99, "Неверный секрет") is ERRORS["auth"]
    unknown = error_from_head("show", {"status": "fail", "code": 42, "descr": "Сервер занят"})
    assert type(unknown).__name__ == "AltaError" and "Сервер занят" in unknown.user_message
    assert unknown.code == 42


def test_spaces_inside_a_number_and_between_numbers() -> None:
    """The README's rule: short digit groups join until they make 8 digits; commas, semicolons
    and new lines always separate; an 8-digit group stands alone."""
    parsed = split_numbers("5467 6515, 546 765 15\n5234 5675 52345683 AMFU 889906-7")
    assert parsed.wagons == ["54676515", "52345675", "52345683"] and not parsed.problems
    assert parsed.containers == ["AMFU8899067"]
    assert split_numbers("54676515 52345675").wagons == ["54676515", "52345675"]
    wrong = split_numbers("5467 651 52345675; 5467 65155")
    assert wrong.wagons == ["52345675"]
    assert [(p.number, p.reason) for p in wrong.problems] == [
        ("5467651", ProblemReason.WAGON_LENGTH),
        ("546765155", ProblemReason.WAGON_LENGTH),
    ]


@given(st.lists(seven_digits, min_size=1, max_size=5), st.data())
def test_any_grouping_of_wagon_numbers_reads_back(bodies: list[str], data: st.DataObject) -> None:
    numbers = [body + str(wagon_check_digit(body)) for body in bodies]
    written = []
    for number in numbers:
        cuts = sorted(data.draw(st.sets(st.integers(1, 7), max_size=3)))
        parts = [number[a:b] for a, b in zip([0, *cuts], [*cuts, 8], strict=True)]
        written.append(" ".join(parts))
    separator = data.draw(st.sampled_from([" ", ", ", "\n", "; "]))
    assert split_numbers(separator.join(written)).wagons == list(dict.fromkeys(numbers))
