import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.phones import BadPhone, format_phone, normalize_phone


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
