import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.phones import BadPhone, format_phone, mask_phone, mask_phones, normalize_phone


@pytest.mark.parametrize(
    "text",
    ["+7 (999) 123-45-67", "8-999-123-45-67", "9991234567", "89991234567", "+79991234567"],
)
def test_common_formats_normalise(text):
    assert normalize_phone(text) == "79991234567"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "123",
        "abc",
        "+1 202 555 0100",
        "8-999-123-45",
        "7" * 40,
        "8-999-ABC-DE-FG",
        "9991234567x",
    ],
)
def test_malformed_phones_are_refused(text):
    with pytest.raises(BadPhone):
        normalize_phone(text)


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True))
def test_every_mobile_round_trips_through_its_display_form(national):
    try:
        msisdn = normalize_phone(national)
    except BadPhone:
        assume(False)  # a number range the numbering plan does not allocate
        return
    assert msisdn == f"7{national}"
    assert normalize_phone(f"8{national}") == msisdn
    assert normalize_phone(format_phone(msisdn)) == msisdn


@pytest.mark.parametrize(
    "raw",
    ["79123456789", "89123456789", "8 (912) 345-67-89", "+7 912 345 67 89", "9123456789"],
)
def test_every_form_is_shown_one_way(raw):
    assert format_phone(raw) == "+7 912 345-67-89"


def test_a_landline_and_a_foreign_number_are_shown_by_their_plans_and_text_as_it_came():
    assert format_phone("74951234567") == "+7 495 123-45-67"
    assert format_phone("+380501234567") == "+380 50 123 4567"
    assert format_phone("диспетчерская") == "диспетчерская"
    assert format_phone("") == ""


def test_a_masked_phone_keeps_the_code_and_the_last_two_digits():
    assert mask_phone("79123456789") == "+7 912 ***-**-89"
    assert mask_phone("8 (912) 345-67-89") == "+7 912 ***-**-89"
    assert "345" not in mask_phone("+7 912 345-67-89")


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True))
def test_a_masked_mobile_never_shows_its_middle(national):
    masked = mask_phone(f"7{national}")
    assert masked.startswith(f"+7 {national[:3]} ") and masked.endswith(national[-2:])
    assert national[3:8] not in masked.replace("-", "").replace(" ", "")


def test_phones_inside_a_text_are_masked_and_other_numbers_kept():
    text = "/locate +7 (912) 345-67-89 и 89161234501, чат -1001234567890, вагон 54676515"
    assert mask_phones(text) == (
        "/locate +7 912 ***-**-89 и +7 916 ***-**-01, чат -1001234567890, вагон 54676515"
    )
